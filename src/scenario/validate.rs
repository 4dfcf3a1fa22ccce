//! Cross-field checks that serde cannot do: names resolve, counts fit the cluster, numbers are in
//! range. Every problem is collected (not just the first), each with its field path and what is
//! allowed; `mod.rs` then adds file:line:column from the source map.

use std::collections::BTreeSet;

use super::error::Problem;
use super::schema::*;

/// The figures a run reports and an `expect` block may bound: (name, meaning).
pub const FIGURES: &[(&str, &str)] = &[
    ("records_produced", "records created by producers (intended sends)"),
    ("records_acked", "records acknowledged to producers"),
    ("records_failed", "records that failed to be delivered"),
    ("records_consumed", "records delivered to consumer applications"),
    ("produce_requests", "produce requests sent"),
    ("records_per_batch_mean", "mean records per produce batch"),
    ("acked_per_sec", "acknowledged records per simulated second"),
    ("consumed_per_sec", "consumed records per simulated second"),
    ("produce_requests_per_sec", "produce requests per simulated second"),
    (
        "produce_latency_p50_ms",
        "produce latency (intended send to ack), median",
    ),
    ("produce_latency_p90_ms", "produce latency, 90th percentile"),
    ("produce_latency_p99_ms", "produce latency, 99th percentile"),
    ("produce_latency_p999_ms", "produce latency, 99.9th percentile"),
    ("produce_latency_max_ms", "produce latency, maximum"),
    (
        "e2e_latency_p50_ms",
        "end-to-end latency (intended send to consumer), median",
    ),
    ("e2e_latency_p90_ms", "end-to-end latency, 90th percentile"),
    ("e2e_latency_p99_ms", "end-to-end latency, 99th percentile"),
    ("e2e_latency_p999_ms", "end-to-end latency, 99.9th percentile"),
    ("e2e_latency_max_ms", "end-to-end latency, maximum"),
    (
        "consumer_lag_max_records",
        "largest total consumer lag seen at an interval end",
    ),
    ("partition_records_max", "records in the fullest partition"),
    ("partition_records_min", "records in the emptiest partition"),
];

const MAX_BROKERS: u32 = 1_000;
const MAX_PARTITIONS: u32 = 10_000;
const MAX_MEMBERS: u32 = 1_000;
const MAX_RATE_PER_SEC: f64 = 10_000_000.0;
const MAX_LATENCY_US: u64 = 60_000_000;
const MAX_DURATION_MS: u64 = 365 * 24 * 3_600_000;

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn fail(&mut self, path: impl Into<String>, message: impl Into<String>, allowed: impl Into<String>) {
        let allowed = allowed.into();
        self.problems.push(Problem {
            path: path.into(),
            message: message.into(),
            allowed: (!allowed.is_empty()).then_some(allowed),
            line_col: None,
            span: None,
        });
    }

    fn name(&mut self, path: String, name: &str) {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            self.fail(
                path,
                format!("invalid name {name:?}"),
                "a non-empty name of letters, digits, '-', '_' and '.'",
            );
        }
    }

    fn range_u64(&mut self, path: String, value: u64, min: u64, max: u64, unit: &str) {
        if value < min || value > max {
            self.fail(
                path,
                format!("{value} is out of range"),
                format!("{min} to {max} {unit}").trim_end().to_string(),
            );
        }
    }

    fn rate(&mut self, path: String, per_sec: f64) {
        if !per_sec.is_finite() || per_sec <= 0.0 || per_sec > MAX_RATE_PER_SEC {
            self.fail(
                path,
                format!("rate {per_sec} is not allowed"),
                format!("a rate above 0 and at most {MAX_RATE_PER_SEC} records per second"),
            );
        }
    }
}

fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")
}

/// Checks everything serde cannot; returns every problem found (empty when valid).
pub fn validate(s: &Scenario) -> Vec<Problem> {
    let mut c = Checker { problems: Vec::new() };
    c.name("name".into(), &s.name);
    if s.description.trim().is_empty() {
        c.fail(
            "description",
            "the description is empty",
            "one line saying what the scenario shows",
        );
    }
    c.range_u64("duration_ms".into(), s.duration_ms, 1, MAX_DURATION_MS, "ms");
    if s.duration_ms == 0 {
        // already reported; the interval cannot be checked against a run of no length
    } else if s.sample_interval_ms == 0 || s.sample_interval_ms > s.duration_ms {
        c.fail(
            "sample_interval_ms",
            format!("{} does not fit the run", s.sample_interval_ms),
            format!("1 to duration_ms ({}) ms", s.duration_ms),
        );
    } else if s.duration_ms / s.sample_interval_ms > 1_000_000 {
        c.fail(
            "sample_interval_ms",
            "more than 1,000,000 intervals",
            "an interval of at least duration_ms / 1000000",
        );
    }

    // Cluster
    c.range_u64(
        "cluster.brokers".into(),
        s.cluster.brokers as u64,
        1,
        MAX_BROKERS as u64,
        "brokers",
    );
    c.range_u64(
        "cluster.network.latency_us".into(),
        s.cluster.network.latency_us,
        0,
        MAX_LATENCY_US,
        "µs",
    );
    c.range_u64(
        "cluster.network.jitter_us".into(),
        s.cluster.network.jitter_us,
        0,
        MAX_LATENCY_US,
        "µs",
    );

    // Node names: brokers, producers, group members share one namespace.
    let mut nodes: Vec<String> = (0..s.cluster.brokers.min(MAX_BROKERS))
        .map(|b| format!("broker-{b}"))
        .collect();
    let mut seen_producers = BTreeSet::new();
    for (i, p) in s.producers.iter().enumerate() {
        c.name(format!("producers[{i}].name"), &p.name);
        if !seen_producers.insert(p.name.as_str()) {
            c.fail(
                format!("producers[{i}].name"),
                format!("duplicate producer name {:?}", p.name),
                "a name no other producer uses",
            );
        } else if nodes.contains(&p.name) {
            c.fail(
                format!("producers[{i}].name"),
                format!("{:?} is already the name of another node", p.name),
                "a name that is not a broker's or a consumer's",
            );
        }
        nodes.push(p.name.clone());
    }
    let mut seen_groups = BTreeSet::new();
    for (i, g) in s.consumer_groups.iter().enumerate() {
        c.name(format!("consumer_groups[{i}].name"), &g.name);
        if !seen_groups.insert(g.name.as_str()) {
            c.fail(
                format!("consumer_groups[{i}].name"),
                format!("duplicate group name {:?}", g.name),
                "a name no other group uses",
            );
        }
        for m in 0..g.members.min(MAX_MEMBERS) {
            let member = format!("{}-{m}", g.name);
            if nodes.contains(&member) {
                c.fail(
                    format!("consumer_groups[{i}].name"),
                    format!("member name {member:?} clashes with another node"),
                    "a group name whose members' names are free",
                );
                break;
            }
            nodes.push(member);
        }
    }
    for (i, l) in s.cluster.links.iter().enumerate() {
        for (end, name) in [(0, &l.between.0), (1, &l.between.1)] {
            if !nodes.contains(name) {
                c.fail(
                    format!("cluster.links[{i}].between[{end}]"),
                    format!("unknown node {name:?}"),
                    "a broker (broker-0, ...), a producer's name, or a group member's name (group-0, ...)",
                );
            }
        }
        if l.between.0 == l.between.1 {
            c.fail(
                format!("cluster.links[{i}].between"),
                "a link joins two different nodes",
                "two different node names",
            );
        }
        c.range_u64(
            format!("cluster.links[{i}].latency_us"),
            l.latency_us,
            0,
            MAX_LATENCY_US,
            "µs",
        );
        c.range_u64(
            format!("cluster.links[{i}].jitter_us"),
            l.jitter_us,
            0,
            MAX_LATENCY_US,
            "µs",
        );
    }

    // Topics
    if s.topics.is_empty() {
        c.fail(
            "topics",
            "no topics",
            "at least one topic, e.g. [(name: \"orders\", partitions: 3)]",
        );
    }
    let mut topics = BTreeSet::new();
    for (i, t) in s.topics.iter().enumerate() {
        c.name(format!("topics[{i}].name"), &t.name);
        if !topics.insert(t.name.as_str()) {
            c.fail(
                format!("topics[{i}].name"),
                format!("duplicate topic {:?}", t.name),
                "a name no other topic uses",
            );
        }
        c.range_u64(
            format!("topics[{i}].partitions"),
            t.partitions as u64,
            1,
            MAX_PARTITIONS as u64,
            "partitions",
        );
        if t.replication_factor == 0 || t.replication_factor > s.cluster.brokers {
            c.fail(
                format!("topics[{i}].replication_factor"),
                format!(
                    "replication_factor {} does not fit a cluster of {} brokers",
                    t.replication_factor, s.cluster.brokers
                ),
                format!("1 to cluster.brokers ({})", s.cluster.brokers),
            );
        }
        if t.min_insync_replicas == 0 || t.min_insync_replicas > t.replication_factor.max(1) {
            c.fail(
                format!("topics[{i}].min_insync_replicas"),
                format!(
                    "min_insync_replicas {} with replication_factor {}",
                    t.min_insync_replicas, t.replication_factor
                ),
                format!("1 to replication_factor ({})", t.replication_factor),
            );
        }
    }
    let topic_names: Vec<&str> = s.topics.iter().map(|t| t.name.as_str()).collect();
    let allowed_topics = format!("a topic declared in `topics`: {}", quoted(&topic_names));

    // Producers
    for (i, p) in s.producers.iter().enumerate() {
        let at = |f: &str| format!("producers[{i}].{f}");
        if !topics.contains(p.topic.as_str()) {
            c.fail(
                at("topic"),
                format!("unknown topic {:?}", p.topic),
                allowed_topics.clone(),
            );
        }
        match &p.arrival {
            Arrival::Constant { per_sec } | Arrival::Poisson { per_sec } => c.rate(at("arrival.per_sec"), *per_sec),
        }
        match &p.key {
            Key::Uniform { keys, .. } if *keys == 0 => c.fail(at("key.keys"), "zero keys", "1 or more keys"),
            Key::OneOf(list) if list.is_empty() => c.fail(at("key"), "an empty key list", "at least one key"),
            _ => {}
        }
        c.range_u64(at("value_bytes"), p.value_bytes as u64, 0, 1_048_576, "bytes");
        c.range_u64(at("linger_ms"), p.linger_ms, 0, 3_600_000, "ms");
        c.range_u64(at("batch_size"), p.batch_size as u64, 0, 64 * 1_048_576, "bytes");
        c.range_u64(
            at("max_in_flight_requests_per_connection"),
            p.max_in_flight_requests_per_connection as u64,
            1,
            1_000,
            "requests",
        );
        c.range_u64(at("max_request_size"), p.max_request_size as u64, 1, 1 << 30, "bytes");
        if p.start_ms >= s.duration_ms {
            c.fail(
                at("start_ms"),
                format!("starts at {} ms, after the run ends", p.start_ms),
                format!("0 to duration_ms - 1 ({})", s.duration_ms.saturating_sub(1)),
            );
        }
        if let Some(stop) = p.stop_ms
            && stop <= p.start_ms
        {
            c.fail(
                at("stop_ms"),
                format!("stops at {stop} ms, not after it starts ({} ms)", p.start_ms),
                "a time after start_ms",
            );
        }
    }

    // Consumer groups
    for (i, g) in s.consumer_groups.iter().enumerate() {
        let at = |f: &str| format!("consumer_groups[{i}].{f}");
        if g.topics.is_empty() {
            c.fail(at("topics"), "the group subscribes to no topic", allowed_topics.clone());
        }
        let mut seen = BTreeSet::new();
        for (j, t) in g.topics.iter().enumerate() {
            if !topics.contains(t.as_str()) {
                c.fail(
                    format!("consumer_groups[{i}].topics[{j}]"),
                    format!("unknown topic {t:?}"),
                    allowed_topics.clone(),
                );
            } else if !seen.insert(t) {
                c.fail(
                    format!("consumer_groups[{i}].topics[{j}]"),
                    format!("topic {t:?} listed twice"),
                    "each topic once",
                );
            }
        }
        c.range_u64(at("members"), g.members as u64, 1, MAX_MEMBERS as u64, "members");
        c.range_u64(at("processing_us"), g.processing_us, 0, 60_000_000, "µs");
        c.range_u64(at("fetch_max_wait_ms"), g.fetch_max_wait_ms, 0, 3_600_000, "ms");
        c.range_u64(
            at("max_partition_fetch_bytes"),
            g.max_partition_fetch_bytes as u64,
            1,
            1 << 30,
            "bytes",
        );
    }

    // Expectations
    let figure_names: Vec<&str> = FIGURES.iter().map(|(n, _)| *n).collect();
    for (name, bound) in &s.expect {
        if !figure_names.contains(&name.as_str()) {
            c.fail(
                format!("expect.{name}"),
                format!("unknown figure {name:?}"),
                format!("one of {}", figure_names.join(", ")),
            );
        }
        let (a, b) = match *bound {
            Bound::AtLeast(a) | Bound::AtMost(a) | Bound::Exactly(a) => (a, a),
            Bound::Between(a, b) => (a, b),
        };
        if !a.is_finite() || !b.is_finite() || a > b {
            c.fail(
                format!("expect.{name}"),
                format!("bound {bound} is not a usable range"),
                "finite numbers, and Between(low, high) with low ≤ high",
            );
        }
    }

    // Charts
    let mut seen_charts = BTreeSet::new();
    for (i, ch) in s.charts.iter().enumerate() {
        if !seen_charts.insert(ch) {
            c.fail(
                format!("charts[{i}]"),
                format!("chart {ch:?} listed twice"),
                "each chart once",
            );
        }
    }
    c.problems
}
