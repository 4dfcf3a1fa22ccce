//! The scenarios bundled with kafkasim (the files in `scenarios/`), compiled into the binary so
//! `kafkasim list` and `kafkasim run NAME` work from anywhere.

/// `(file name, RON source)` of every bundled scenario, in file-name order.
pub const SCENARIOS: &[(&str, &str)] = &[
    ("acks-all-broker-crash.ron", include_str!("../scenarios/acks-all-broker-crash.ron")),
    ("acks1-leader-crash.ron", include_str!("../scenarios/acks1-leader-crash.ron")),
    ("arrivals-constant-vs-poisson.ron", include_str!("../scenarios/arrivals-constant-vs-poisson.ron")),
    ("bench-100k.ron", include_str!("../scenarios/bench-100k.ron")),
    ("buffer-memory-exhausted.ron", include_str!("../scenarios/buffer-memory-exhausted.ron")),
    ("bursty-arrivals.ron", include_str!("../scenarios/bursty-arrivals.ron")),
    ("group-commit-before-processing.ron", include_str!("../scenarios/group-commit-before-processing.ron")),
    ("group-coordinator-failover.ron", include_str!("../scenarios/group-coordinator-failover.ron")),
    ("group-duplicates-after-crash.ron", include_str!("../scenarios/group-duplicates-after-crash.ron")),
    ("group-offsets-expire.ron", include_str!("../scenarios/group-offsets-expire.ron")),
    ("group-rolling-restart-dynamic.ron", include_str!("../scenarios/group-rolling-restart-dynamic.ron")),
    ("group-rolling-restart-static.ron", include_str!("../scenarios/group-rolling-restart-static.ron")),
    ("group-scale-out-cooperative.ron", include_str!("../scenarios/group-scale-out-cooperative.ron")),
    ("group-scale-out-eager.ron", include_str!("../scenarios/group-scale-out-eager.ron")),
    ("group-static-member-pause.ron", include_str!("../scenarios/group-static-member-pause.ron")),
    ("group-zombie-poll-timeout.ron", include_str!("../scenarios/group-zombie-poll-timeout.ron")),
    ("isr-shrink-clean-election.ron", include_str!("../scenarios/isr-shrink-clean-election.ron")),
    ("isr-shrink-unclean-election.ron", include_str!("../scenarios/isr-shrink-unclean-election.ron")),
    ("keyed-partitions.ron", include_str!("../scenarios/keyed-partitions.ron")),
    ("kip101-scenario1-hw-truncation.ron", include_str!("../scenarios/kip101-scenario1-hw-truncation.ron")),
    ("kip101-scenario1-leader-epoch.ron", include_str!("../scenarios/kip101-scenario1-leader-epoch.ron")),
    ("kip101-scenario2-hw-truncation.ron", include_str!("../scenarios/kip101-scenario2-hw-truncation.ron")),
    ("kip101-scenario2-leader-epoch.ron", include_str!("../scenarios/kip101-scenario2-leader-epoch.ron")),
    ("kip279-fast-failover-kip101-only.ron", include_str!("../scenarios/kip279-fast-failover-kip101-only.ron")),
    ("kip279-fast-failover-leader-epoch.ron", include_str!("../scenarios/kip279-fast-failover-leader-epoch.ron")),
    ("kip320-truncation-detected.ron", include_str!("../scenarios/kip320-truncation-detected.ron")),
    ("kip320-truncation-skipped.ron", include_str!("../scenarios/kip320-truncation-skipped.ron")),
    ("kip966-eligible-leader-replicas.ron", include_str!("../scenarios/kip966-eligible-leader-replicas.ron")),
    ("kip966-last-replica-standing.ron", include_str!("../scenarios/kip966-last-replica-standing.ron")),
    ("linger-tradeoff.ron", include_str!("../scenarios/linger-tradeoff.ron")),
    ("min-isr-not-met.ron", include_str!("../scenarios/min-isr-not-met.ron")),
    ("quickstart.ron", include_str!("../scenarios/quickstart.ron")),
    ("quota-throttled-consumer.ron", include_str!("../scenarios/quota-throttled-consumer.ron")),
    ("quota-throttled-producer.ron", include_str!("../scenarios/quota-throttled-producer.ron")),
    ("retention-slow-consumer.ron", include_str!("../scenarios/retention-slow-consumer.ron")),
    ("retries-with-idempotence.ron", include_str!("../scenarios/retries-with-idempotence.ron")),
    ("retries-without-idempotence.ron", include_str!("../scenarios/retries-without-idempotence.ron")),
    ("rolling-restart-controlled.ron", include_str!("../scenarios/rolling-restart-controlled.ron")),
    ("rolling-restart-crash.ron", include_str!("../scenarios/rolling-restart-crash.ron")),
    ("split-brain-acks1.ron", include_str!("../scenarios/split-brain-acks1.ron")),
    ("stream-bursty-arrivals.ron", include_str!("../scenarios/stream-bursty-arrivals.ron")),
    ("stream-falling-behind.ron", include_str!("../scenarios/stream-falling-behind.ron")),
    ("stream-late-data-counted.ron", include_str!("../scenarios/stream-late-data-counted.ron")),
    ("stream-late-data-dropped.ron", include_str!("../scenarios/stream-late-data-dropped.ron")),
    ("stream-micro-batch-trigger.ron", include_str!("../scenarios/stream-micro-batch-trigger.ron")),
    ("stream-min-max.ron", include_str!("../scenarios/stream-min-max.ron")),
    ("stream-moving-average.ron", include_str!("../scenarios/stream-moving-average.ron")),
    ("stream-query-restart.ron", include_str!("../scenarios/stream-query-restart.ron")),
    ("stream-three-producers.ron", include_str!("../scenarios/stream-three-producers.ron")),
    ("stream-values.ron", include_str!("../scenarios/stream-values.ron")),
    ("zipf-hot-partition.ron", include_str!("../scenarios/zipf-hot-partition.ron")),
];

/// The source of a bundled scenario by name (`quickstart`) or file name (`quickstart.ron`).
pub fn find(name: &str) -> Option<(&'static str, &'static str)> {
    let file = if name.ends_with(".ron") { name.to_string() } else { format!("{name}.ron") };
    SCENARIOS.iter().find(|(f, _)| *f == file).copied()
}
