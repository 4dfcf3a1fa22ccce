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
    (
        "accumulator_wait_mean_ms",
        "mean time a record waits in the accumulator (intended send to its batch leaving in a request)",
    ),
    ("acked_per_sec", "acknowledged records per simulated second"),
    ("consumed_per_sec", "consumed records per simulated second"),
    ("produce_requests_per_sec", "produce requests per simulated second"),
    ("produce_latency_p50_ms", "produce latency (intended send to ack), median"),
    ("produce_latency_p90_ms", "produce latency, 90th percentile"),
    ("produce_latency_p99_ms", "produce latency, 99th percentile"),
    ("produce_latency_p999_ms", "produce latency, 99.9th percentile"),
    ("produce_latency_max_ms", "produce latency, maximum"),
    ("e2e_latency_p50_ms", "end-to-end latency (intended send to consumer), median"),
    ("e2e_latency_p90_ms", "end-to-end latency, 90th percentile"),
    ("e2e_latency_p99_ms", "end-to-end latency, 99th percentile"),
    ("e2e_latency_p999_ms", "end-to-end latency, 99.9th percentile"),
    ("e2e_latency_max_ms", "end-to-end latency, maximum"),
    ("consumer_lag_max_records", "largest total consumer lag seen at an interval end"),
    ("partition_records_max", "records in the fullest partition"),
    ("partition_records_min", "records in the emptiest partition"),
    ("lost_records", "Jepsen's lost write: acknowledged records absent from their partition's final log"),
    ("unavailable_records", "acknowledged records whose partition has no leader at the end"),
    ("duplicate_records", "Jepsen's duplicate: records appended more than once to a partition's final log"),
    (
        "reordered_records",
        "Jepsen's reordered: records in a partition's final log after records their producer sent later",
    ),
    (
        "unobserved_records",
        "Jepsen's unobserved: acknowledged records still in the final log that no consumer group reading their topic got to (needs a consumer group)",
    ),
    (
        "inconsistent_offsets",
        "Jepsen's inconsistent offsets: partition offsets that held two different records over time (truncated and reused, or replicas disagreeing)",
    ),
    ("diverged_offsets", "offsets where two replicas of a partition hold different records"),
    ("truncated_records", "records removed from replicas by truncation"),
    ("records_deleted_by_retention", "records leaders deleted with their segments by retention.ms or retention.bytes"),
    ("compaction_cleanings", "cleanings of compacted partitions by their leaders' log cleaners"),
    (
        "records_removed_by_compaction",
        "records leaders' log cleaners removed: superseded by a later record of their key, or tombstones past delete.retention.ms",
    ),
    (
        "tombstones_removed_by_compaction",
        "tombstones leaders' log cleaners removed once delete.retention.ms had passed",
    ),
    ("compacted_log_records", "records the leaders of compacted partitions hold at the end"),
    ("compacted_log_keys", "distinct keys in the leaders' logs of compacted partitions at the end"),
    ("compacted_log_tombstones", "tombstones in the leaders' logs of compacted partitions at the end"),
    (
        "compacted_log_records_max",
        "the most records each compacted partition's leader log held at any sample, summed over partitions",
    ),
    ("partitions_created", "partitions an operator's CreatePartitions added during the run"),
    ("reassignments_completed", "partition reassignments (Reassign) the controller completed"),
    ("reassignment_time_max_ms", "the longest completed reassignment, from its start to its completion (ms)"),
    ("reassignment_bytes_copied", "bytes the replicas that reassignments added appended until each completed"),
    (
        "nic_busy_max_pct",
        "the busiest interval of any broker's network interface: % of it spent sending (0 without nic_mbps)",
    ),
    ("nic_wait_max_ms", "the longest a message waited for a broker's network interface (ms; 0 without nic_mbps)"),
    ("controller_elections", "times another controller of the quorum became the active one (0 with one controller)"),
    (
        "controller_unavailable_ms",
        "time without an active controller: from losing one to electing the next (ms; 0 with one controller)",
    ),
    (
        "keys_moved_partition",
        "keys whose partition changed when a producer saw more partitions (summed over producers)",
    ),
    (
        "new_partition_records_missed",
        "records on partitions created during the run that a group's first position there passed over (summed over groups)",
    ),
    (
        "key_order_violations",
        "records a group processed after a later record of their key from the same producer (topics that gain partitions, or compacted)",
    ),
    (
        "deletes_missed_by_groups",
        "tombstones a leader's cleaner removed before a group reading the partition got to them (summed over groups)",
    ),
    (
        "compacted_keys_missing",
        "keys whose latest acknowledged value is absent from its compacted partition's final log (compaction must keep it)",
    ),
    ("retention_segments_deleted", "log segments leaders deleted by retention"),
    ("unreplicated_records", "records above the high watermark at the end (written, not committed), summed"),
    ("offline_partition_seconds", "seconds partitions spent without a leader, summed"),
    ("leader_elections", "leader changes (online, unclean, preferred, or to no leader)"),
    ("unclean_elections", "leaders elected from outside the ISR"),
    ("elr_elections", "leaders elected from the eligible leader replicas with an empty ISR (KIP-966)"),
    ("isr_shrinks", "ISR changes that removed replicas"),
    ("isr_expansions", "ISR changes that added replicas"),
    ("produce_errors", "records that met a produce error (each attempt counts)"),
    ("not_enough_replicas_errors", "records rejected with NOT_ENOUGH_REPLICAS"),
    ("rebalances", "consumer group rebalances started (PreparingRebalance entered)"),
    ("processed_twice_records", "extra processings of records a group had already processed (duplicate processing)"),
    ("skipped_records", "records a group never processed although it read past them (skipped processing)"),
    (
        "paused_partition_seconds",
        "seconds partitions spent with no owner in their group, from its first assignment, summed",
    ),
    ("commit_failures", "offset commits the coordinator refused (CommitFailedException and the like)"),
    ("offsets_expired", "committed offsets deleted by offsets.retention.minutes"),
    ("offset_resets", "positions set by auto.offset.reset (no committed offset, or out of range)"),
    (
        "truncations_detected",
        "positions moved back because the log was truncated below them (KIP-320, detect_truncation)",
    ),
    ("stream_batches", "micro-batches stream queries completed (no-data batches included)"),
    ("stream_batches_behind", "micro-batches that ran longer than their trigger interval (falling behind)"),
    ("stream_query_failures", "stream queries stopped by failOnDataLoss (the offsets they would read next were gone)"),
    ("stream_late_rows", "rows stream queries dropped as late (at or below the watermark)"),
    (
        "stream_window_delay_max_ms",
        "the longest a window's count took to be written after the window ended (watermark, trigger, batch)",
    ),
    ("producer_retries", "batches sent again after an error"),
    (
        "produce_throttle_time_avg_ms",
        "the throttle time of produce responses on average, 0 for responses within the quota (Kafka's produce-throttle-time-avg)",
    ),
    ("produce_throttle_time_max_ms", "the longest throttle time of a produce response (produce-throttle-time-max)"),
    ("throttled_produce_responses", "produce responses that said the client exceeded its producer_byte_rate quota"),
    (
        "throttled_fetch_responses",
        "consumer fetches answered empty because the member exceeded its consumer_byte_rate quota",
    ),
    ("fetch_throttle_time_max_ms", "the longest throttle time of a consumer fetch (fetch-throttle-time-max)"),
    ("producer_app_cpu_ms", "CPU time producers' application threads spent in send() (with `cpu` costs), summed"),
    ("producer_sender_cpu_ms", "CPU time producers' Sender threads spent building requests (with `cpu` costs), summed"),
    ("flushes", "producer flush() calls that completed"),
    ("flush_time_max_ms", "the longest producer flush(), from the call to every earlier record done"),
    ("transactions_committed", "transactions whose COMMIT markers were all written"),
    ("transactions_aborted", "transactions whose ABORT markers were all written (by the producer or on timeout)"),
    (
        "transactions_timed_out",
        "transactions the coordinator aborted because they were open longer than transaction.timeout.ms",
    ),
    (
        "transaction_end_time_max_ms",
        "the longest commitTransaction()/abortTransaction() call, from the call (which flushes) to the coordinator's answer",
    ),
    ("aborted_records_produced", "records producers appended in transactions that were aborted"),
    ("aborted_records_skipped", "records of aborted transactions that read_committed members skipped"),
    ("producers_fenced", "transactional producers fenced (PRODUCER_FENCED or INVALID_PRODUCER_EPOCH) and stopped"),
    (
        "output_records",
        "records of groups' outputs (`output`) that a read_committed reader sees at the end: outside transactions or committed",
    ),
    (
        "output_duplicates",
        "visible output records of an input record that already had one: the input was processed and written twice",
    ),
    (
        "output_missing",
        "input records below their group's committed offset with no visible output record (exactly-once and at-least-once: 0)",
    ),
];

const MAX_BROKERS: u32 = 1_000;
/// The most controllers a quorum may have here (Kafka sets no bound; real quorums have 3 or 5).
const MAX_CONTROLLERS: u64 = 9;
const MAX_PARTITIONS: u32 = 10_000;
const MAX_MEMBERS: u32 = 1_000;
const MAX_RATE_PER_SEC: f64 = 10_000_000.0;
const MAX_LATENCY_US: u64 = 60_000_000;
const MAX_DURATION_MS: u64 = 365 * 24 * 3_600_000;
const MAX_VALUE_BYTES: u64 = 1_048_576;
const MAX_ZIPF_KEYS: u64 = 1_000_000;
const MAX_MMPP_STATES: usize = 100;
const MAX_SCHEDULE_STEPS: usize = 100_000;

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
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.') {
            self.fail(path, format!("invalid name {name:?}"), "a non-empty name of letters, digits, '-', '_' and '.'");
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

/// The arrival process: rates, periods and lists in range.
fn arrival(c: &mut Checker, at: &dyn Fn(&str) -> String, a: &Arrival) {
    match a {
        Arrival::Constant { per_sec } | Arrival::Poisson { per_sec } => c.rate(at("arrival.per_sec"), *per_sec),
        Arrival::OnOff { on_ms, off_ms, per_sec, .. } => {
            c.rate(at("arrival.per_sec"), *per_sec);
            if *on_ms == 0 {
                c.fail(
                    at("arrival.on_ms"),
                    "an on-period of 0 ms: the producer would never send",
                    format!("1 to {MAX_DURATION_MS} ms"),
                );
            } else {
                c.range_u64(at("arrival.on_ms"), *on_ms, 1, MAX_DURATION_MS, "ms");
            }
            c.range_u64(at("arrival.off_ms"), *off_ms, 0, MAX_DURATION_MS, "ms");
        }
        Arrival::Mmpp { rates, mean_dwell_ms } => {
            if rates.len() < 2 || rates.len() > MAX_MMPP_STATES {
                c.fail(
                    at("arrival.rates"),
                    format!("{} states", rates.len()),
                    format!("2 to {MAX_MMPP_STATES} states (one rate each); one state is Poisson"),
                );
            } else if mean_dwell_ms.len() != rates.len() {
                c.fail(
                    at("arrival.mean_dwell_ms"),
                    format!("{} mean dwell times for {} rates", mean_dwell_ms.len(), rates.len()),
                    "one mean dwell time per state: as many as `rates`",
                );
            }
            for (k, r) in rates.iter().enumerate() {
                if !r.is_finite() || *r < 0.0 || *r > MAX_RATE_PER_SEC {
                    c.fail(
                        at(&format!("arrival.rates[{k}]")),
                        format!("rate {r} is not allowed"),
                        format!("0 to {MAX_RATE_PER_SEC} records per second"),
                    );
                }
            }
            if rates.iter().all(|r| *r <= 0.0) {
                c.fail(at("arrival.rates"), "every state is silent", "at least one rate above 0");
            }
            for (k, d) in mean_dwell_ms.iter().enumerate() {
                if !d.is_finite() || *d < 0.001 || *d > MAX_DURATION_MS as f64 {
                    c.fail(
                        at(&format!("arrival.mean_dwell_ms[{k}]")),
                        format!("mean dwell {d} ms is not allowed"),
                        format!("0.001 to {MAX_DURATION_MS} ms"),
                    );
                }
            }
        }
        Arrival::Schedule { steps, .. } => {
            if steps.is_empty() || steps.len() > MAX_SCHEDULE_STEPS {
                c.fail(
                    at("arrival.steps"),
                    format!("{} steps", steps.len()),
                    format!("1 to {MAX_SCHEDULE_STEPS} steps, e.g. [(at_ms: 0, per_sec: 100.0)]"),
                );
            }
            for (k, st) in steps.iter().enumerate() {
                if !st.per_sec.is_finite() || st.per_sec < 0.0 || st.per_sec > MAX_RATE_PER_SEC {
                    c.fail(
                        at(&format!("arrival.steps[{k}].per_sec")),
                        format!("rate {} is not allowed", st.per_sec),
                        format!("0 to {MAX_RATE_PER_SEC} records per second"),
                    );
                }
                c.range_u64(at(&format!("arrival.steps[{k}].at_ms")), st.at_ms, 0, MAX_DURATION_MS, "ms");
                if k > 0 && st.at_ms <= steps[k - 1].at_ms {
                    c.fail(
                        at(&format!("arrival.steps[{k}].at_ms")),
                        format!("at_ms {} is not after the previous step's {}", st.at_ms, steps[k - 1].at_ms),
                        "steps in increasing at_ms order",
                    );
                }
            }
            if !steps.is_empty() && steps.iter().all(|st| st.per_sec <= 0.0) {
                c.fail(at("arrival.steps"), "every step has rate 0", "at least one rate above 0");
            }
        }
        // The file was read and checked row by row when the scenario was loaded.
        Arrival::Replay { .. } => {}
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
        c.fail("description", "the description is empty", "one line saying what the scenario shows");
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
        c.fail("sample_interval_ms", "more than 1,000,000 intervals", "an interval of at least duration_ms / 1000000");
    }

    // Cluster
    c.range_u64("cluster.brokers".into(), s.cluster.brokers as u64, 1, MAX_BROKERS as u64, "brokers");
    c.range_u64("cluster.network.latency_us".into(), s.cluster.network.latency_us, 0, MAX_LATENCY_US, "µs");
    c.range_u64("cluster.network.jitter_us".into(), s.cluster.network.jitter_us, 0, MAX_LATENCY_US, "µs");
    if let Some(b) = s.cluster.network.bandwidth_mbps {
        c.range_u64("cluster.network.bandwidth_mbps".into(), b, 1, 1_000_000, "Mbit/s");
    }
    if let Some(b) = s.cluster.network.nic_mbps {
        c.range_u64("cluster.network.nic_mbps".into(), b, 1, 1_000_000, "Mbit/s");
    }

    // Node names: brokers, producers, group members share one namespace.
    let mut nodes: Vec<String> = (0..s.cluster.brokers.min(MAX_BROKERS)).map(|b| format!("broker-{b}")).collect();
    // (A quorum out of range has its own error; its controllers are then no valid targets.)
    let controllers = if s.cluster.controller.quorum_voters as u64 <= MAX_CONTROLLERS {
        s.cluster.controller.node_names()
    } else {
        Vec::new()
    };
    nodes.extend(controllers.iter().cloned());
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
        let most = g.scale.iter().map(|x| x.members).fold(g.members, u32::max);
        for m in 0..most.min(MAX_MEMBERS) {
            let member = format!("{}-{m}", g.name);
            if nodes.contains(&member) {
                c.fail(
                    format!("consumer_groups[{i}].name"),
                    format!("member name {member:?} clashes with another node"),
                    "a group name whose members' names are free",
                );
                break;
            }
            if g.output.is_some() {
                // The member's producer (see `pipeline`) is a node faults may target.
                nodes.push(crate::scenario::pipeline::output_producer_name(&member));
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
        c.range_u64(format!("cluster.links[{i}].latency_us"), l.latency_us, 0, MAX_LATENCY_US, "µs");
        c.range_u64(format!("cluster.links[{i}].jitter_us"), l.jitter_us, 0, MAX_LATENCY_US, "µs");
    }

    // Topics
    if s.topics.is_empty() {
        c.fail("topics", "no topics", "at least one topic, e.g. [(name: \"orders\", partitions: 3)]");
    }
    let mut topics = BTreeSet::new();
    for (i, t) in s.topics.iter().enumerate() {
        c.name(format!("topics[{i}].name"), &t.name);
        if !topics.insert(t.name.as_str()) {
            c.fail(format!("topics[{i}].name"), format!("duplicate topic {:?}", t.name), "a name no other topic uses");
        }
        c.range_u64(format!("topics[{i}].partitions"), t.partitions as u64, 1, MAX_PARTITIONS as u64, "partitions");
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
    for (i, t) in s.topics.iter().enumerate() {
        // Kafka's own bounds: `retention.ms` and `retention.bytes` at least -1 (unlimited),
        // `segment.bytes` at least 1 MiB (KIP-1030) and an int, `segment.ms` at least 1.
        for (field, value) in [("retention_ms", t.retention_ms), ("retention_bytes", t.retention_bytes)] {
            if value < -1 {
                c.fail(format!("topics[{i}].{field}"), format!("{value} is out of range"), "-1 (unlimited) or more");
            }
        }
        c.range_u64(format!("topics[{i}].segment_bytes"), t.segment_bytes, 1_048_576, i32::MAX as u64, "bytes");
        if t.segment_ms < 1 {
            c.fail(format!("topics[{i}].segment_ms"), format!("{} is out of range", t.segment_ms), "1 ms or more");
        }
        if !(0.0..=1.0).contains(&t.min_cleanable_dirty_ratio) {
            c.fail(
                format!("topics[{i}].min_cleanable_dirty_ratio"),
                format!("ratio {}", t.min_cleanable_dirty_ratio),
                "a ratio from 0 to 1 (Kafka's range)",
            );
        }
        c.range_u64(format!("topics[{i}].min_compaction_lag_ms"), t.min_compaction_lag_ms, 0, i64::MAX as u64, "ms");
        c.range_u64(format!("topics[{i}].delete_retention_ms"), t.delete_retention_ms, 0, i64::MAX as u64, "ms");
        c.range_u64(format!("topics[{i}].max_compaction_lag_ms"), t.max_compaction_lag_ms, 1, i64::MAX as u64, "ms");
        if t.min_compaction_lag_ms > t.max_compaction_lag_ms {
            // `LogConfig.validateValues`: "conflict topic config setting min.compaction.lag.ms >
            // max.compaction.lag.ms".
            c.fail(
                format!("topics[{i}].max_compaction_lag_ms"),
                format!(
                    "max_compaction_lag_ms {} below min_compaction_lag_ms {}",
                    t.max_compaction_lag_ms, t.min_compaction_lag_ms
                ),
                format!("at least min_compaction_lag_ms ({})", t.min_compaction_lag_ms),
            );
        }
        if t.cleanup_policy == CleanupPolicy::Compact
            && (t.retention_ms != DEFAULT_RETENTION_MS || t.retention_bytes != -1)
        {
            // Kafka ignores them under `compact` alone: say so rather than run something else.
            let field = if t.retention_ms != DEFAULT_RETENTION_MS { "retention_ms" } else { "retention_bytes" };
            c.fail(
                format!("topics[{i}].{field}"),
                format!("{field} on a topic with cleanup_policy Compact, which never deletes by time or size"),
                "cleanup_policy: CompactDelete (compaction and retention), or leave it out",
            );
        }
    }
    let topic_names: Vec<&str> = s.topics.iter().map(|t| t.name.as_str()).collect();
    let allowed_topics = format!("a topic declared in `topics`: {}", quoted(&topic_names));

    // Producers
    for (i, p) in s.producers.iter().enumerate() {
        let at = |f: &str| format!("producers[{i}].{f}");
        if !topics.contains(p.topic.as_str()) {
            c.fail(at("topic"), format!("unknown topic {:?}", p.topic), allowed_topics.clone());
        }
        arrival(&mut c, &at, &p.arrival);
        if let Partitioner::Explicit(partition) = p.partitioner
            && let Some(t) = s.topics.iter().find(|t| t.name == p.topic)
            && partition >= t.partitions
        {
            c.fail(
                at("partitioner"),
                format!("{} has no partition {partition}", t.name),
                format!("Explicit(0) to Explicit({})", t.partitions.saturating_sub(1)),
            );
        }
        match &p.key {
            Key::Uniform { keys, .. } if *keys == 0 => c.fail(at("key.keys"), "zero keys", "1 or more keys"),
            Key::OneOf(list) if list.is_empty() => c.fail(at("key"), "an empty key list", "at least one key"),
            Key::Zipf { keys, s, .. } => {
                c.range_u64(at("key.keys"), *keys as u64, 1, MAX_ZIPF_KEYS, "keys");
                if !s.is_finite() || *s <= 0.0 || *s > 100.0 {
                    c.fail(
                        at("key.s"),
                        format!("Zipf exponent {s} is not allowed"),
                        "a number above 0 and at most 100 (about 1 is typical)",
                    );
                }
            }
            _ => {}
        }
        match p.value_size {
            None | Some(ValueSize::Fixed(_)) => {}
            Some(ValueSize::Uniform { min_bytes, max_bytes }) => {
                if min_bytes > max_bytes {
                    c.fail(
                        at("value_size"),
                        format!("min_bytes {min_bytes} is above max_bytes {max_bytes}"),
                        "min_bytes ≤ max_bytes",
                    );
                }
            }
            Some(ValueSize::LogNormal { median_bytes, sigma }) => {
                c.range_u64(at("value_size.median_bytes"), median_bytes as u64, 1, MAX_VALUE_BYTES, "bytes");
                if !sigma.is_finite() || !(0.0..=10.0).contains(&sigma) {
                    c.fail(
                        at("value_size.sigma"),
                        format!("sigma {sigma} is not allowed"),
                        "a number from 0 to 10 (1 is already a long tail)",
                    );
                }
            }
        }
        match p.value_size {
            Some(ValueSize::Fixed(b)) => c.range_u64(at("value_size"), b as u64, 0, MAX_VALUE_BYTES, "bytes"),
            Some(ValueSize::Uniform { max_bytes, .. }) => {
                c.range_u64(at("value_size.max_bytes"), max_bytes as u64, 0, MAX_VALUE_BYTES, "bytes")
            }
            _ => {}
        }
        c.range_u64(at("value_bytes"), p.value_bytes as u64, 0, MAX_VALUE_BYTES, "bytes");
        if let Some(Payload::UniformInt { min, max }) = &p.payload
            && min > max
        {
            c.fail(at("payload"), format!("min {min} is above max {max}"), "UniformInt(min: a, max: b) with a ≤ b");
        }
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
        if let Some(rate) = g.consumer_byte_rate {
            c.range_u64(at("consumer_byte_rate"), rate, 1, 1_000_000_000_000, "bytes per second");
        }
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
        c.range_u64(at("members"), g.members as u64, 0, MAX_MEMBERS as u64, "members");
        if g.members == 0 && g.scale.is_empty() {
            c.fail(at("members"), "a group with no members and no scale-up", "1 or more members, or a scale entry");
        }
        let mut last_at = None;
        for (j, x) in g.scale.iter().enumerate() {
            c.range_u64(
                format!("consumer_groups[{i}].scale[{j}].members"),
                x.members as u64,
                0,
                MAX_MEMBERS as u64,
                "members",
            );
            if x.at_ms > s.duration_ms {
                c.fail(
                    format!("consumer_groups[{i}].scale[{j}].at_ms"),
                    format!("{} ms is after the run ends", x.at_ms),
                    format!("0 to duration_ms ({})", s.duration_ms),
                );
            }
            if last_at.is_some_and(|l| x.at_ms <= l) {
                c.fail(
                    format!("consumer_groups[{i}].scale[{j}].at_ms"),
                    format!("{} ms is not after the previous entry", x.at_ms),
                    "entries in increasing at_ms order",
                );
            }
            last_at = Some(x.at_ms);
        }
        if g.partition_assignment_strategy.is_empty() {
            c.fail(
                at("partition_assignment_strategy"),
                "no strategy",
                "one or more of Range, RoundRobin, Sticky, CooperativeSticky",
            );
        }
        if g.group_protocol == GroupProtocol::Consumer {
            validate_consumer_protocol(g, &at, &mut c);
        } else if g.group_remote_assignor != RemoteAssignor::default() {
            c.fail(
                at("group_remote_assignor"),
                "a server-side assignor is for group_protocol Consumer",
                "group_protocol: Consumer, or partition_assignment_strategy for a classic group",
            );
        }
        let gc = &s.cluster.group_coordinator;
        if g.session_timeout_ms < gc.group_min_session_timeout_ms
            || g.session_timeout_ms > gc.group_max_session_timeout_ms
        {
            // The coordinator answers INVALID_SESSION_TIMEOUT (kafka-reference §4.3).
            c.fail(
                at("session_timeout_ms"),
                format!("{} ms is outside the brokers' group.min/max.session.timeout.ms: JoinGroup would fail with INVALID_SESSION_TIMEOUT", g.session_timeout_ms),
                format!("{} to {} ms", gc.group_min_session_timeout_ms, gc.group_max_session_timeout_ms),
            );
        }
        if g.heartbeat_interval_ms == 0 || g.heartbeat_interval_ms >= g.session_timeout_ms {
            c.fail(
                at("heartbeat_interval_ms"),
                format!("{} ms with session_timeout_ms {}", g.heartbeat_interval_ms, g.session_timeout_ms),
                "1 ms to below session_timeout_ms (Kafka advises at most a third of it)",
            );
        }
        c.range_u64(at("max_poll_interval_ms"), g.max_poll_interval_ms, 1, i32::MAX as u64, "ms");
        c.range_u64(at("max_poll_records"), g.max_poll_records as u64, 1, 1_000_000, "records");
        c.range_u64(at("auto_commit_interval_ms"), g.auto_commit_interval_ms, 1, 3_600_000_000, "ms");
        c.range_u64(at("poll_processing_ms"), g.poll_processing_ms, 0, 3_600_000, "ms");
        c.range_u64(at("processing_us"), g.processing_us, 0, 60_000_000, "µs");
        if let Some(max) = g.processing_us_max
            && (max < g.processing_us || max > 60_000_000)
        {
            c.fail(
                at("processing_us_max"),
                if max < g.processing_us {
                    format!("{max} µs is below processing_us ({} µs): the range is empty", g.processing_us)
                } else {
                    format!("{max} µs is more than a minute per record")
                },
                format!("processing_us ({}) to 60000000 µs", g.processing_us),
            );
        }
        c.range_u64(at("fetch_max_wait_ms"), g.fetch_max_wait_ms, 0, 3_600_000, "ms");
        c.range_u64(at("max_partition_fetch_bytes"), g.max_partition_fetch_bytes as u64, 1, 1 << 30, "bytes");
        if let Some(o) = &g.output {
            validate_output(&mut c, s, i, o, &allowed_topics);
        }
        if let Some(q) = &g.stream {
            // One query, one driver: the model runs it in one member that never scales.
            if g.members != 1 || !g.scale.is_empty() {
                c.fail(
                    at("stream"),
                    format!(
                        "a stream query in a group of {} members{}",
                        g.members,
                        if g.scale.is_empty() { "" } else { " that scales" }
                    ),
                    "members: 1 and no scale (the query is one member, as a Spark query is one driver)",
                );
            }
            if !matches!(g.commit, CommitMode::Auto | CommitMode::AfterProcessing) {
                c.fail(
                    at("commit"),
                    format!(
                        "{:?} with a stream query, which commits after each batch (after its checkpoint)",
                        g.commit
                    ),
                    "leave `commit` out, or AfterProcessing",
                );
            }
            c.range_u64(at("stream.trigger_ms"), q.trigger_ms, 0, 3_600_000, "ms");
            c.range_u64(at("stream.window_ms"), q.window_ms, 1, 86_400_000, "ms");
            c.range_u64(at("stream.watermark_delay_ms"), q.watermark_delay_ms, 0, 86_400_000, "ms");
            if let Some(m) = q.max_offsets_per_trigger {
                c.range_u64(at("stream.max_offsets_per_trigger"), m, 1, u64::from(u32::MAX), "records");
            }
        }
    }

    // Producers: Kafka 4.x config validation (ProducerConfig.postProcessAndValidateIdempotenceConfigs)
    for (i, p) in s.producers.iter().enumerate() {
        let at = |f: &str| format!("producers[{i}].{f}");
        if !(0.0..1.0).contains(&p.tombstone_fraction) {
            c.fail(at("tombstone_fraction"), format!("share {}", p.tombstone_fraction), "0 to below 1");
        }
        if let Some(t) = s.topics.iter().find(|t| t.name == p.topic && t.cleanup_policy.compacts()) {
            let replay_keys_every_row = matches!(&p.arrival, Arrival::Replay { records, .. }
                if records.rows.iter().all(|r| r.key.is_some()));
            if p.key == Key::Null && !replay_keys_every_row {
                // `LogValidator.validateKey`: "Compacted topic cannot accept message without key".
                c.fail(
                    at("key"),
                    format!("records without a key to compacted topic {:?}: Kafka rejects every one (INVALID_RECORD, \"Compacted topic cannot accept message without key\")", t.name),
                    "a key: Fixed, Uniform, OneOf or Zipf",
                );
            }
        }
        if let Some(rate) = p.producer_byte_rate {
            c.range_u64(at("producer_byte_rate"), rate, 1, 1_000_000_000_000, "bytes per second");
        }
        let idempotent = p.enable_idempotence.unwrap_or(p.acks == Acks::All && p.retries > 0);
        if p.enable_idempotence == Some(true) && p.acks != Acks::All {
            c.fail(at("enable_idempotence"), "idempotence needs acks=all: a batch the leader alone acknowledged can be lost, and with it the sequence the broker tracks", "acks: All, or enable_idempotence: false");
        }
        if p.enable_idempotence == Some(true) && p.retries == 0 {
            c.fail(
                at("enable_idempotence"),
                "idempotence needs retries > 0",
                "retries of 1 or more, or enable_idempotence: false",
            );
        }
        if idempotent && p.max_in_flight_requests_per_connection > 5 {
            c.fail(
                at("max_in_flight_requests_per_connection"),
                format!("{} requests in flight with idempotence: brokers keep only the last 5 batches per producer to detect duplicates (Kafka 4.x rejects this even when idempotence is left at its default)", p.max_in_flight_requests_per_connection),
                "at most 5, or enable_idempotence: false",
            );
        }
        if let Some(t) = &p.transactions {
            if !idempotent {
                c.fail(
                    at("transactions"),
                    "a transactional producer must be idempotent (KafkaProducer: \"Cannot set a transactional.id without also enabling idempotence\")",
                    "acks: All, retries above 0 and enable_idempotence left unset or true",
                );
            }
            c.range_u64(at("transactions.commit_interval_ms"), t.commit_interval_ms, 1, MAX_DURATION_MS, "ms");
            if !(0.0..=1.0).contains(&t.abort_probability) {
                c.fail(
                    at("transactions.abort_probability"),
                    format!("probability {}", t.abort_probability),
                    "a probability from 0 to 1",
                );
            }
            let max = s.cluster.transaction_coordinator.transaction_max_timeout_ms;
            if t.transaction_timeout_ms == 0 || t.transaction_timeout_ms > max {
                // The coordinator answers InitProducerId with INVALID_TRANSACTION_TIMEOUT.
                c.fail(
                    at("transactions.transaction_timeout_ms"),
                    format!("{} ms is out of range (INVALID_TRANSACTION_TIMEOUT)", t.transaction_timeout_ms),
                    format!("1 to cluster.transaction_coordinator.transaction_max_timeout_ms ({max} ms)"),
                );
            }
        }
        if p.delivery_timeout_ms < p.linger_ms + p.request_timeout_ms {
            c.fail(
                at("delivery_timeout_ms"),
                format!(
                    "{} ms is less than linger_ms + request_timeout_ms ({} ms)",
                    p.delivery_timeout_ms,
                    p.linger_ms + p.request_timeout_ms
                ),
                "at least linger_ms + request_timeout_ms (KafkaProducer.configureDeliveryTimeout)",
            );
        }
        c.range_u64(at("request_timeout_ms"), p.request_timeout_ms, 1, 3_600_000, "ms");
        c.range_u64(at("max_block_ms"), p.max_block_ms, 0, 3_600_000, "ms");
        if p.buffer_memory < p.batch_size as u64 {
            c.fail(
                at("buffer_memory"),
                format!("{} bytes cannot hold one batch of batch_size {}", p.buffer_memory, p.batch_size),
                "at least batch_size bytes",
            );
        }
        c.range_u64(at("retry_backoff_ms"), p.retry_backoff_ms, 0, 3_600_000, "ms");
        c.range_u64(at("retry_backoff_max_ms"), p.retry_backoff_max_ms, 0, 3_600_000, "ms");
        for (k, &ms) in p.flush_at_ms.iter().enumerate() {
            let path = at(&format!("flush_at_ms[{k}]"));
            if ms >= s.duration_ms {
                c.fail(
                    path,
                    format!("flush() at {ms} ms, when the run is over"),
                    format!("0 to duration_ms - 1 ({}) ms", s.duration_ms.saturating_sub(1)),
                );
            } else if k > 0 && ms <= p.flush_at_ms[k - 1] {
                c.fail(
                    path,
                    format!("flush() at {ms} ms is not after the previous one ({} ms)", p.flush_at_ms[k - 1]),
                    "times in increasing order",
                );
            }
        }
        if let Some(cpu) = &p.cpu {
            if !(1..=2).contains(&cpu.cores) {
                c.fail(
                    at("cpu.cores"),
                    format!("{} cores", cpu.cores),
                    "1 (send() and the Sender share a core) or 2 (a core each)",
                );
            }
            c.range_u64(at("cpu.per_record_ns"), cpu.per_record_ns, 0, 1_000_000_000, "ns");
            c.range_u64(at("cpu.request_us"), cpu.request_us, 0, 1_000_000, "µs");
            c.range_u64(at("cpu.per_batch_us"), cpu.per_batch_us, 0, 1_000_000, "µs");
            c.range_u64(at("cpu.per_kib_ns"), cpu.per_kib_ns, 0, 1_000_000_000, "ns");
            if let Some(ns) = cpu.compression_per_kib_ns {
                c.range_u64(at("cpu.compression_per_kib_ns"), ns, 0, 1_000_000_000, "ns");
            }
        }
    }

    // Cluster settings
    let gc = &s.cluster.group_coordinator;
    if gc.group_consumer_heartbeat_interval_ms == 0
        || gc.group_consumer_heartbeat_interval_ms >= gc.group_consumer_session_timeout_ms
    {
        c.fail(
            "cluster.group_coordinator.group_consumer_heartbeat_interval_ms",
            format!(
                "{} ms with group_consumer_session_timeout_ms {}",
                gc.group_consumer_heartbeat_interval_ms, gc.group_consumer_session_timeout_ms
            ),
            "1 ms to below group_consumer_session_timeout_ms",
        );
    }
    let r = &s.cluster.replication;
    let t = &s.cluster.transaction_coordinator;
    let at = |f: &str| format!("cluster.transaction_coordinator.{f}");
    c.range_u64(
        at("transaction_state_log_num_partitions"),
        t.transaction_state_log_num_partitions as u64,
        1,
        10_000,
        "partitions",
    );
    c.range_u64(
        at("transaction_state_log_replication_factor"),
        t.transaction_state_log_replication_factor as u64,
        1,
        32_767,
        "replicas",
    );
    c.range_u64(at("transaction_max_timeout_ms"), t.transaction_max_timeout_ms, 1, i32::MAX as u64, "ms");
    c.range_u64(
        at("transaction_abort_timed_out_transaction_cleanup_interval_ms"),
        t.transaction_abort_timed_out_transaction_cleanup_interval_ms,
        1,
        i32::MAX as u64,
        "ms",
    );
    c.range_u64("cluster.replication.replica_lag_time_max_ms".into(), r.replica_lag_time_max_ms, 2, 3_600_000, "ms");
    c.range_u64("cluster.replication.replica_fetch_backoff_ms".into(), r.replica_fetch_backoff_ms, 0, 3_600_000, "ms");
    c.range_u64(
        "cluster.replication.replica_socket_timeout_ms".into(),
        r.replica_socket_timeout_ms,
        1,
        3_600_000,
        "ms",
    );
    c.range_u64(
        "cluster.replication.replica_fetch_wait_max_ms".into(),
        r.replica_fetch_wait_max_ms,
        0,
        3_600_000,
        "ms",
    );
    c.range_u64(
        "cluster.replication.replica_high_watermark_checkpoint_interval_ms".into(),
        r.replica_high_watermark_checkpoint_interval_ms,
        1,
        3_600_000,
        "ms",
    );
    c.range_u64(
        "cluster.replication.log_retention_check_interval_ms".into(),
        r.log_retention_check_interval_ms,
        1,
        3_600_000,
        "ms",
    );
    if let Some(rate) = r.leader_replication_throttled_rate {
        // Kafka takes any positive long; 0 would stop every reassignment before it starts.
        c.range_u64(
            "cluster.replication.leader_replication_throttled_rate".into(),
            rate,
            1,
            i64::MAX as u64,
            "bytes/s",
        );
    }
    if let Some(rate) = r.follower_replication_throttled_rate {
        c.range_u64(
            "cluster.replication.follower_replication_throttled_rate".into(),
            rate,
            1,
            i64::MAX as u64,
            "bytes/s",
        );
    }
    c.range_u64("cluster.broker_cpu.request_us".into(), s.cluster.broker_cpu.request_us, 0, 1_000_000, "µs");
    c.range_u64("cluster.broker_cpu.per_kib_us".into(), s.cluster.broker_cpu.per_kib_us, 0, 1_000_000, "µs");
    let k = &s.cluster.controller;
    c.range_u64(
        "cluster.controller.broker_heartbeat_interval_ms".into(),
        k.broker_heartbeat_interval_ms,
        1,
        3_600_000,
        "ms",
    );
    if k.broker_session_timeout_ms <= k.broker_heartbeat_interval_ms {
        c.fail(
            "cluster.controller.broker_session_timeout_ms",
            format!(
                "{} ms is not longer than the heartbeat interval ({} ms): every broker would be fenced",
                k.broker_session_timeout_ms, k.broker_heartbeat_interval_ms
            ),
            "longer than broker_heartbeat_interval_ms (Kafka: 9000 vs 2000)",
        );
    }
    c.range_u64("cluster.controller.quorum_voters".into(), k.quorum_voters as u64, 1, MAX_CONTROLLERS, "controllers");
    for (field, ms) in [
        ("quorum_fetch_timeout_ms", k.quorum_fetch_timeout_ms),
        ("quorum_election_timeout_ms", k.quorum_election_timeout_ms),
        ("quorum_election_backoff_max_ms", k.quorum_election_backoff_max_ms),
    ] {
        c.range_u64(format!("cluster.controller.{field}"), ms, 1, 3_600_000, "ms");
    }
    c.range_u64(
        "cluster.controller.leader_imbalance_check_interval_ms".into(),
        k.leader_imbalance_check_interval_ms,
        1,
        u64::MAX,
        "ms",
    );

    // Faults
    let partition_exists = |topic: &str, p: u32| p < s.partitions_ever(topic);
    for (i, f) in s.faults.iter().enumerate() {
        if f.at_ms > s.duration_ms {
            c.fail(
                format!("faults[{i}].at_ms"),
                format!("{} ms is after the run ends", f.at_ms),
                format!("0 to duration_ms ({})", s.duration_ms),
            );
        }
        let mut targets: Vec<(String, &Target)> = Vec::new();
        let base = format!("faults[{i}].fault");
        match &f.fault {
            Fault::Crash(t) | Fault::PowerLoss(t) | Fault::Restart(t) | Fault::Isolate(t) | Fault::SlowDisk(t, _) => {
                targets.push((format!("{base}[0]"), t))
            }
            Fault::Shutdown(t) => {
                targets.push((format!("{base}[0]"), t));
                // Brokers and consumers stop gracefully; producers and the controller do not.
                let stoppable = match t {
                    Target::Controller => false,
                    // (An unknown name has its own error below.)
                    Target::Node(name) => {
                        !name.starts_with("controller") && !s.producers.iter().any(|p| &p.name == name)
                    }
                    _ => true,
                };
                if !stoppable {
                    c.fail(
                        format!("{base}[0]"),
                        "a graceful shutdown of a node that is neither a broker nor a consumer",
                        "a broker (Broker(n), Node(\"broker-n\"), LeaderOf, FollowerOf, FollowerOutOfIsr) or a group member (Node(\"billing-0\"))",
                    );
                }
            }
            Fault::SlowProcessing(t, _) => targets.push((format!("{base}[0]"), t)),
            Fault::SlowNic(t, mbps) => {
                targets.push((format!("{base}[0]"), t));
                if *mbps > 1_000_000 {
                    c.fail(
                        format!("{base}[1]"),
                        format!("{mbps} Mbit/s is out of range"),
                        "1 to 1000000 Mbit/s, or 0 to restore",
                    );
                }
            }
            Fault::Pause(t, ms) => {
                targets.push((format!("{base}[0]"), t));
                if *ms == 0 {
                    c.fail(format!("{base}[1]"), "a pause of 0 ms", "a pause of 1 ms or more");
                }
            }
            Fault::CutOff(t, others) => {
                targets.push((format!("{base}[0]"), t));
                targets.extend(others.iter().enumerate().map(|(j, o)| (format!("{base}[1][{j}]"), o)));
                if others.is_empty() {
                    c.fail(format!("{base}[1]"), "cut off from nobody", "at least one node");
                }
            }
            Fault::Split(groups) => {
                if groups.len() < 2 {
                    c.fail(base.clone(), "a split needs two sides", "two or more groups of nodes");
                }
                for (g, members) in groups.iter().enumerate() {
                    targets.extend(members.iter().enumerate().map(|(j, m)| (format!("{base}[0][{g}][{j}]"), m)));
                }
            }
            Fault::CutLink(a, b) | Fault::SlowLink(a, b, _) => {
                targets.push((format!("{base}[0]"), a));
                targets.push((format!("{base}[1]"), b));
            }
            Fault::DropMessages(a, b, fraction) => {
                targets.push((format!("{base}[0]"), a));
                targets.push((format!("{base}[1]"), b));
                if !(0.0..=1.0).contains(fraction) {
                    c.fail(format!("{base}[2]"), format!("fraction {fraction}"), "a fraction from 0 to 1");
                }
            }
            Fault::Heal => {}
            Fault::CreatePartitions(topic, total) => match s.topics.iter().find(|t| &t.name == topic) {
                None => c.fail(format!("{base}[0]"), format!("unknown topic {topic:?}"), allowed_topics.clone()),
                Some(t) => {
                    // The count it has when this fires: its own, raised by earlier ones (in time order;
                    // one at the same time listed earlier counts as earlier).
                    let current = s
                        .faults
                        .iter()
                        .enumerate()
                        .filter(|&(j, g)| g.at_ms < f.at_ms || (g.at_ms == f.at_ms && j < i))
                        .filter_map(|(_, g)| match &g.fault {
                            Fault::CreatePartitions(x, n) if x == topic => Some(*n),
                            _ => None,
                        })
                        .fold(t.partitions, u32::max);
                    // Kafka's messages (`ReplicationControlManager.createPartitions`, INVALID_PARTITIONS).
                    if *total < current {
                        c.fail(
                            format!("{base}[1]"),
                            format!("the topic {topic} currently has {current} partition(s); {total} would not be an increase"),
                            format!("more than {current} (a topic's partitions can only be added, never removed)"),
                        );
                    } else if *total == current {
                        c.fail(
                            format!("{base}[1]"),
                            format!("topic {topic} already has {current} partition(s)"),
                            format!("more than {current}"),
                        );
                    } else if *total > 10_000 {
                        c.fail(
                            format!("{base}[1]"),
                            format!("{total} partitions"),
                            "at most 10000 partitions per topic",
                        );
                    }
                    if s.consumer_groups.iter().any(|g| g.output.as_ref().is_some_and(|o| &o.topic == topic)) {
                        c.fail(
                            format!("{base}[0]"),
                            format!("{topic} is a consume-transform-produce group's output topic"),
                            "a topic no group writes to (an output's partition follows its input partition, for a fixed count)",
                        );
                    }
                }
            },
            Fault::CancelReassignment(topic, p)
            | Fault::Reassign(topic, p, _)
            | Fault::ReassignAdditional(topic, p, _) => {
                if !s.topics.iter().any(|t| &t.name == topic) {
                    c.fail(format!("{base}[0]"), format!("unknown topic {topic:?}"), allowed_topics.clone());
                } else if !partition_exists(topic, *p) {
                    c.fail(
                        format!("{base}[1]"),
                        format!("no partition {topic}-{p}"),
                        format!("a partition number below {}", s.partitions_ever(topic)),
                    );
                }
                if let Fault::Reassign(_, _, replicas) | Fault::ReassignAdditional(_, _, replicas) = &f.fault {
                    validate_reassignment_target(&mut c, &base, replicas, s.cluster.brokers);
                }
            }
        }
        for (path, t) in targets {
            match t {
                Target::Broker(b) if *b >= s.cluster.brokers => c.fail(
                    path,
                    format!("no broker-{b}"),
                    format!("Broker(0) to Broker({})", s.cluster.brokers.saturating_sub(1)),
                ),
                Target::Node(name) if !nodes.contains(name) => c.fail(
                    path,
                    format!("unknown node {name:?}"),
                    match controllers.is_empty() {
                        true => "a broker (broker-0, ...), a producer's name, or a group member's name (group-0, ...)"
                            .to_string(),
                        false => format!(
                            "a broker (broker-0, ...), {}, a producer's name, or a group member's name (group-0, ...)",
                            controllers.join(", ")
                        ),
                    },
                ),
                Target::LeaderOf(topic, p) | Target::FollowerOf(topic, p) | Target::FollowerOutOfIsr(topic, p)
                    if !partition_exists(topic, *p) =>
                {
                    c.fail(
                        path,
                        format!("no partition {topic}-{p}"),
                        allowed_topics.clone() + " and a partition number below its count",
                    )
                }
                _ => {}
            }
        }
    }

    // Expectations
    let figure_names: Vec<&str> = FIGURES.iter().map(|(n, _)| *n).collect();
    for (name, bound) in &s.expect {
        if name == "unobserved_records" && s.consumer_groups.is_empty() {
            c.fail(
                format!("expect.{name}"),
                "unobserved records are not applicable without a consumer group: no record can be observed",
                "a consumer group reading the topic, or no bound on unobserved_records",
            );
        }
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
            c.fail(format!("charts[{i}]"), format!("chart {ch:?} listed twice"), "each chart once");
        }
        if let Chart::StreamMovingAverage { window: 0 } = ch {
            c.fail(format!("charts[{i}].window"), "a moving average over 0 values", "a window of 1 or more values");
        }
        if matches!(
            ch,
            Chart::StreamValues
                | Chart::StreamMinMax
                | Chart::StreamArrivals
                | Chart::StreamMovingAverage { .. }
                | Chart::StreamProducers
        ) && (s.producers.iter().all(|p| p.payload.is_none()) || s.consumer_groups.is_empty())
        {
            c.fail(
                format!("charts[{i}]"),
                "a streaming chart needs values to stream",
                "a producer with a `payload` and a consumer group reading its topic",
            );
        }
        if *ch == Chart::Network && !s.has_limited_nics() {
            c.fail(
                format!("charts[{i}]"),
                "a network chart with unlimited network interfaces (nothing to draw)",
                "cluster.network.nic_mbps set, e.g. `network: (nic_mbps: 1000)`, or a SlowNic fault",
            );
        }
        if let Chart::Offsets { topic, partition } = ch
            && !s.topics.iter().any(|t| &t.name == topic && *partition < s.partitions_ever(topic))
        {
            c.fail(
                format!("charts[{i}]"),
                format!("no partition {topic}-{partition} to chart"),
                allowed_topics.clone() + " and a partition number below its count",
            );
        }
        if let Chart::Compaction { topic, partition } = ch
            && !s
                .topics
                .iter()
                .any(|t| &t.name == topic && *partition < s.partitions_ever(topic) && t.cleanup_policy.compacts())
        {
            let compacted: Vec<&str> =
                s.topics.iter().filter(|t| t.cleanup_policy.compacts()).map(|t| t.name.as_str()).collect();
            c.fail(
                format!("charts[{i}]"),
                format!("no partition {topic}-{partition} of a compacted topic to chart"),
                if compacted.is_empty() {
                    "a topic with cleanup_policy Compact or CompactDelete (this scenario has none)".to_string()
                } else {
                    format!("a partition of a compacted topic: {}", quoted(&compacted))
                },
            );
        }
        // A chart of one group: it must name a group that has what the chart draws.
        let (group, needs_stream) = match ch {
            Chart::MicroBatches { group } => (group, true),
            Chart::Rebalances { group } => (group, false),
            _ => continue,
        };
        let fits = |g: &&ConsumerGroup| !needs_stream || g.stream.is_some();
        if !s.consumer_groups.iter().filter(fits).any(|g| &g.name == group) {
            let names: Vec<&str> = s.consumer_groups.iter().filter(fits).map(|g| g.name.as_str()).collect();
            let (what, kind) = match needs_stream {
                true => ("stream query", "a consumer group with `stream`"),
                false => ("consumer group", "a group declared in `consumer_groups`"),
            };
            c.fail(
                format!("charts[{i}]"),
                format!("no {what} {group:?} to chart"),
                if names.is_empty() {
                    format!("{kind} (this scenario has none)")
                } else {
                    format!("{kind}: {}", quoted(&names))
                },
            );
        }
    }
    c.problems
}

/// A consume-transform-produce group's `output` (Kafka Streams' settings and checks).
fn validate_output(c: &mut Checker, s: &Scenario, i: usize, o: &GroupOutput, allowed_topics: &str) {
    let g = &s.consumer_groups[i];
    let at = |f: &str| format!("consumer_groups[{i}].output.{f}");
    if !s.topics.iter().any(|t| t.name == o.topic) {
        c.fail(at("topic"), format!("unknown topic {:?}", o.topic), allowed_topics);
    } else if s.topics.iter().any(|t| t.name == o.topic && t.cleanup_policy.compacts()) {
        c.fail(
            at("topic"),
            format!(
                "compacted topic {:?}: an output's records carry no keys, and a compacted topic takes none without",
                o.topic
            ),
            "a topic with cleanup_policy Delete",
        );
    } else if g.topics.contains(&o.topic) {
        c.fail(
            at("topic"),
            format!("the group reads {:?} and would write every record back into it, forever", o.topic),
            "a topic the group does not read",
        );
    }
    if g.stream.is_some() {
        c.fail(
            format!("consumer_groups[{i}].stream"),
            "a group with both a stream query and an output",
            "one of them: `stream` (a Spark query) or `output` (a Kafka Streams application)",
        );
    }
    if g.commit != CommitMode::Auto {
        c.fail(
            format!("consumer_groups[{i}].commit"),
            format!("{:?} in a group with an output, which commits as Kafka Streams does", g.commit),
            "leave `commit` out: the group commits every output.commit_interval_ms",
        );
    }
    let interval = o.commit_interval_ms();
    c.range_u64(at("commit_interval_ms"), interval, 1, MAX_DURATION_MS, "ms");
    c.range_u64(at("value_bytes"), o.value_bytes as u64, 0, MAX_VALUE_BYTES, "bytes");
    if o.exactly_once() {
        let max = s.cluster.transaction_coordinator.transaction_max_timeout_ms;
        c.range_u64(
            at("transaction_timeout_ms"),
            o.transaction_timeout_ms,
            1,
            max,
            "ms (up to transaction_max_timeout_ms)",
        );
        if o.transaction_timeout_ms <= interval {
            // StreamsConfig: a transaction stays open for a whole commit interval.
            c.fail(
                at("transaction_timeout_ms"),
                format!(
                    "transaction.timeout.ms {} ms is not above commit.interval.ms {interval} ms: every transaction would time out",
                    o.transaction_timeout_ms
                ),
                format!("more than {interval} ms"),
            );
        }
    }
    for m in 0..crate::scenario::pipeline::member_slots(g) {
        let name = crate::scenario::pipeline::output_producer_name(&format!("{}-{m}", g.name));
        if let Some(j) = s.producers.iter().position(|p| p.name == name) {
            c.fail(
                format!("producers[{j}].name"),
                format!(
                    "{name:?} is the name of the producer of member {}-{m}, which writes the group's output",
                    g.name
                ),
                "another name",
            );
        }
    }
}

/// A group with `group_protocol: Consumer` (KIP-848): the classic-only settings must stay at
/// their defaults (Kafka's consumer configs: "not supported when group.protocol is set to
/// consumer"; the brokers' `group_consumer_*` settings apply), and a stream processor's group
/// stays classic.
fn validate_consumer_protocol(g: &ConsumerGroup, at: &dyn Fn(&str) -> String, c: &mut Checker) {
    let classic_only = "leave it out: under group_protocol Consumer the brokers' cluster.group_coordinator.group_consumer_* settings and the server assignor (group_remote_assignor) apply";
    if g.partition_assignment_strategy != default_strategies() {
        c.fail(at("partition_assignment_strategy"), "is a classic-protocol setting", classic_only);
    }
    if g.session_timeout_ms != default_session_timeout_ms() {
        c.fail(at("session_timeout_ms"), "is a classic-protocol setting", classic_only);
    }
    if g.heartbeat_interval_ms != default_heartbeat_interval_ms() {
        c.fail(at("heartbeat_interval_ms"), "is a classic-protocol setting", classic_only);
    }
    if g.stream.is_some() || g.output.is_some() {
        let field = if g.stream.is_some() { "stream" } else { "output" };
        c.fail(
            at(field),
            "a stream processor's group runs the classic protocol here (Kafka Streams has its own, KIP-1071)",
            "group_protocol Classic",
        );
    }
}

/// `ReplicationControlManager.validateManualPartitionAssignment` for a reassignment's target
/// (`base` is the fault's path): the brokers in id order, so the message names the lowest
/// offender, in Kafka's words.
fn validate_reassignment_target(c: &mut Checker, base: &str, replicas: &[u32], brokers: u32) {
    let mut sorted = replicas.to_vec();
    sorted.sort_unstable();
    let allowed = format!("broker ids from 0 to {}, each once", brokers.saturating_sub(1));
    let message = if sorted.is_empty() {
        "The manual partition assignment includes an empty replica list.".to_string()
    } else if let Some(b) = sorted.iter().find(|&&b| b >= brokers) {
        format!("The manual partition assignment includes broker {b}, but no such broker is registered.")
    } else if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        format!("The manual partition assignment includes the broker {} more than once.", w[0])
    } else {
        return;
    };
    c.fail(format!("{base}[2]"), message, allowed);
}
