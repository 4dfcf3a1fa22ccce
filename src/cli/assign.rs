//! `kafkasim assign`: the assignment Kafka's client-side assignors produce, and the coordinator's
//! `uniform` assignor of KIP-848 groups.

use std::collections::BTreeMap;

use clap::Args;
use kafkasim::group::assignor::{Strategy, Subscription, TopicPartition, assign as run_assignor, format_assignment};
use kafkasim::group::consumer_protocol::{RemoteAssignor, server_assignment};

use super::{EXIT_BAD_INPUT, EXIT_OK};

/// Print the assignment a Kafka assignor produces: one line per member, partitions sorted.
#[derive(Args, Debug)]
#[command(
    after_help = "Example:\n  kafkasim assign --strategy range --topic orders:6 --topic payments:2 \\\n      --member c1:orders,payments --member c2:orders\n  kafkasim assign --strategy cooperative-sticky --topic orders:3 --member c1:orders --member c2:orders \\\n      --owned c1:orders-0,orders-1,orders-2\n  kafkasim assign --strategy uniform --topic orders:6 --member c1:orders --member c2:orders --member c3:orders \\\n      --owned c1:orders-0,orders-1,orders-2 --owned c2:orders-3,orders-4,orders-5\n  kafkasim assign --strategy range --server --topic a:3 --topic b:3 --member c1:a,b --member c2:a,b"
)]
pub struct AssignArgs {
    /// range, roundrobin, sticky or cooperative-sticky (client-side, classic protocol), or
    /// uniform (the group coordinator's, KIP-848; every member subscribes to the same topics).
    #[arg(long)]
    strategy: String,
    /// Run the KIP-848 group coordinator's assignor of that name (uniform or range) instead of
    /// the client's; `--strategy uniform` implies it.
    #[arg(long)]
    server: bool,
    /// A topic and its partition count: NAME:PARTITIONS (repeat).
    #[arg(long = "topic", required = true)]
    topics: Vec<String>,
    /// A member and its subscription: ID:TOPIC[,TOPIC...] (repeat). ID may be ID@INSTANCE for a
    /// static member with group.instance.id INSTANCE.
    #[arg(long = "member", required = true)]
    members: Vec<String>,
    /// A member's previously owned partitions (sticky assignors; uniform: its previous target):
    /// ID:TOPIC-P[,TOPIC-P...].
    #[arg(long = "owned")]
    owned: Vec<String>,
}

pub fn assign(args: AssignArgs) -> u8 {
    match build(&args) {
        Ok(text) => {
            print!("{text}");
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_BAD_INPUT
        }
    }
}

fn build(args: &AssignArgs) -> Result<String, String> {
    let server = match (args.strategy.as_str(), args.server) {
        ("uniform", _) => Some(RemoteAssignor::Uniform),
        ("range", true) => Some(RemoteAssignor::Range),
        (s, true) => return Err(format!("unknown server assignor {s:?}; allowed with --server: uniform, range")),
        _ => None,
    };
    let strategy: Option<Strategy> = match server {
        Some(_) => None,
        None => Some(args.strategy.parse().map_err(|_| {
            format!(
                "unknown strategy {:?}; allowed: range, roundrobin, sticky, cooperative-sticky, uniform",
                args.strategy
            )
        })?),
    };
    let mut topics = BTreeMap::new();
    for t in &args.topics {
        let (name, n) = t.rsplit_once(':').ok_or_else(|| format!("--topic {t:?}: expected NAME:PARTITIONS"))?;
        let n: u32 = n.parse().map_err(|_| format!("--topic {t:?}: {n:?} is not a partition count"))?;
        if name.is_empty() || n == 0 {
            return Err(format!("--topic {t:?}: a name and at least 1 partition"));
        }
        topics.insert(name.to_string(), n);
    }
    let mut members = Vec::new();
    for m in &args.members {
        let (id, subs) = m.split_once(':').ok_or_else(|| format!("--member {m:?}: expected ID:TOPIC[,TOPIC...]"))?;
        let (id, instance) = match id.split_once('@') {
            Some((id, inst)) => (id, Some(inst.to_string())),
            None => (id, None),
        };
        if id.is_empty() || members.iter().any(|s: &Subscription| s.member_id == id) {
            return Err(format!("--member {m:?}: a member id, each once"));
        }
        let subscribed: Vec<String> = subs.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect();
        for t in &subscribed {
            if !topics.contains_key(t) {
                return Err(format!("--member {m:?}: topic {t:?} was not given with --topic"));
            }
        }
        members.push(Subscription {
            member_id: id.to_string(),
            group_instance_id: instance,
            topics: subscribed,
            owned_partitions: Vec::new(),
            generation: None,
        });
    }
    for o in &args.owned {
        let (id, parts) =
            o.split_once(':').ok_or_else(|| format!("--owned {o:?}: expected ID:TOPIC-P[,TOPIC-P...]"))?;
        let member = members
            .iter_mut()
            .find(|s| s.member_id == id)
            .ok_or_else(|| format!("--owned {o:?}: no --member {id:?}"))?;
        for p in parts.split(',').filter(|s| !s.is_empty()) {
            let (topic, n) =
                p.rsplit_once('-').ok_or_else(|| format!("--owned {o:?}: {p:?} is not TOPIC-PARTITION"))?;
            let partition: u32 = n.parse().map_err(|_| format!("--owned {o:?}: {p:?} is not TOPIC-PARTITION"))?;
            member.owned_partitions.push(TopicPartition { topic: topic.to_string(), partition });
        }
        member.generation = Some(1);
    }
    match (strategy, server) {
        (Some(strategy), _) => Ok(format_assignment(&run_assignor(strategy, &topics, &members))),
        (None, server) => server_side(server.unwrap_or_default(), &topics, &members),
    }
}

/// A KIP-848 group coordinator's assignor (homogeneous subscriptions): partitions numbered
/// topic by topic, in name order.
fn server_side(
    assignor: RemoteAssignor,
    topics: &BTreeMap<String, u32>,
    members: &[Subscription],
) -> Result<String, String> {
    let subscribed = &members[0].topics;
    if members.iter().any(|m| {
        let (mut a, mut b) = (m.topics.clone(), subscribed.clone());
        a.sort();
        b.sort();
        a != b
    }) {
        return Err(format!(
            "{}: kafkasim models the homogeneous case; give every member the same topics",
            assignor.kafka_name()
        ));
    }
    let mut first = BTreeMap::new();
    let mut n = 0;
    let mut ranges = Vec::new();
    for (name, &count) in topics {
        first.insert(name.clone(), n);
        if subscribed.contains(name) {
            ranges.push(n..n + count);
        }
        n += count;
    }
    let global = |tp: &TopicPartition| first.get(&tp.topic).map(|f| f + tp.partition);
    let previous: Vec<(String, Vec<u32>)> =
        members.iter().map(|m| (m.member_id.clone(), m.owned_partitions.iter().filter_map(global).collect())).collect();
    let name = |p: u32| {
        let (topic, f) = first.iter().rev().find(|(_, f)| **f <= p).expect("partition of a topic");
        TopicPartition { topic: topic.clone(), partition: p - f }
    };
    let out: BTreeMap<String, Vec<TopicPartition>> = server_assignment(assignor, ranges, &previous)
        .into_iter()
        .map(|(id, parts)| (id, parts.into_iter().map(name).collect()))
        .collect();
    Ok(format_assignment(&out))
}
