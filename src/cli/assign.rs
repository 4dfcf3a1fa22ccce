//! `kafkasim assign`: the assignment Kafka's client-side assignors produce.

use std::collections::BTreeMap;

use clap::Args;
use kafkasim::group::assignor::{Strategy, Subscription, TopicPartition, assign as run_assignor, format_assignment};

use super::{EXIT_BAD_INPUT, EXIT_OK};

/// Print the assignment a Kafka assignor produces: one line per member, partitions sorted.
#[derive(Args, Debug)]
#[command(
    after_help = "Example:\n  kafkasim assign --strategy range --topic orders:6 --topic payments:2 \\\n      --member c1:orders,payments --member c2:orders\n  kafkasim assign --strategy cooperative-sticky --topic orders:3 --member c1:orders --member c2:orders \\\n      --owned c1:orders-0,orders-1,orders-2"
)]
pub struct AssignArgs {
    /// range, roundrobin, sticky or cooperative-sticky.
    #[arg(long)]
    strategy: String,
    /// A topic and its partition count: NAME:PARTITIONS (repeat).
    #[arg(long = "topic", required = true)]
    topics: Vec<String>,
    /// A member and its subscription: ID:TOPIC[,TOPIC...] (repeat). ID may be ID@INSTANCE for a
    /// static member with group.instance.id INSTANCE.
    #[arg(long = "member", required = true)]
    members: Vec<String>,
    /// A member's previously owned partitions (sticky assignors): ID:TOPIC-P[,TOPIC-P...].
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
    let strategy: Strategy = args.strategy.parse().map_err(|_| {
        format!("unknown strategy {:?}; allowed: range, roundrobin, sticky, cooperative-sticky", args.strategy)
    })?;
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
    Ok(format_assignment(&run_assignor(strategy, &topics, &members)))
}
