//! Log compaction (`cleanup.policy=compact`): what the log cleaner keeps, what a reader of the
//! compacted log gets, and that the latest value of every key survives leader changes.

use crate::support::{root, run, run_checking_invariants};

/// `scenarios/compaction-changelog.ron` with `set` overrides.
fn changelog(set: &[(&str, &str)]) -> kafkasim::Scenario {
    let set: Vec<(String, String)> = set.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    kafkasim::scenario::load(&root().join("scenarios/compaction-changelog.ron"), &set).unwrap_or_else(|e| panic!("{e}"))
}

/// Records the members of group `g` processed.
fn processed(report: &kafkasim::Report, g: usize) -> u64 {
    report.groups[g].members.iter().map(|m| m.records_consumed).sum()
}

#[test]
fn a_late_reader_restores_every_key_from_the_compacted_log() {
    // The producer stops at 30 s; by 40 s, when "restore" starts from the earliest offset, the
    // log no longer changes (its last segment stays active: nothing rolls it).
    let report = run(&changelog(&[("producers[0].stop_ms", "30000"), ("expect", "{}")]));
    let f = &report.figures;
    let produced = f["records_produced"];
    assert_eq!(produced, 7500.0);
    // The live reader got every update; the late one exactly what the compacted log holds.
    assert_eq!(processed(&report, 0) as f64, produced);
    let in_log = f["compacted_log_records"];
    assert_eq!(processed(&report, 1) as f64, in_log, "{}", report.summary);
    assert!(in_log < produced / 4.0, "{in_log} records left of {produced}");
    // It read to the log end passing over the gaps, skipping no record the log holds, and the
    // log holds the latest value of every key.
    assert_eq!(report.groups[1].lag_records, 0);
    assert_eq!(f["skipped_records"], 0.0, "{}", report.summary);
    assert_eq!(f["compacted_keys_missing"], 0.0);
    assert!(report.summary.contains("The latest value of every key is in the final log"));
    let passed = f["records_produced"] as u64 - in_log as u64;
    assert!(
        report.summary.contains(&format!(
            "Group restore processed {in_log} records of compacted partitions and passed over {passed} offsets"
        )),
        "{}",
        report.summary
    );
    // At least one record per key the log still holds, and few more.
    let keys = f["compacted_log_keys"];
    assert!(keys > 800.0 && in_log >= keys && in_log < keys + 1500.0, "{keys} keys, {in_log} records");
}

#[test]
fn without_segment_rolls_the_cleaner_never_cleans_the_active_segment() {
    // segment.ms at Kafka's default of 7 days: the one segment is active for the whole run.
    let report = run(&changelog(&[("topics[0].segment_ms", "604800000"), ("expect", "{}")]));
    let f = &report.figures;
    assert_eq!(f["compaction_cleanings"], 0.0);
    assert_eq!(f["compacted_log_records"], f["records_produced"]);
    assert!(!report.trace.contains("log cleaner"));
}

#[test]
fn tombstones_go_only_after_delete_retention() {
    let short = run(&changelog(&[]));
    let day = run(&changelog(&[("topics[0].delete_retention_ms", "86400000"), ("expect", "{}")]));
    assert!(short.figures["tombstones_removed_by_compaction"] >= 1.0);
    assert_eq!(day.figures["tombstones_removed_by_compaction"], 0.0);
    // A key whose tombstone went is gone from the log altogether; kept for a day, every key ever
    // written is still there, as its latest value or its delete.
    let (keys_day, keys_short) = (day.figures["compacted_log_keys"], short.figures["compacted_log_keys"]);
    assert!(keys_day > keys_short, "{keys_day} keys with tombstones kept a day, {keys_short} with 10 s");
}

#[test]
fn a_higher_dirty_ratio_cleans_less_often() {
    let eager = run(&changelog(&[("topics[0].min_cleanable_dirty_ratio", "0.2"), ("expect", "{}")]));
    let lazy = run(&changelog(&[("topics[0].min_cleanable_dirty_ratio", "0.8"), ("expect", "{}")]));
    let (e, l) = (eager.figures["compaction_cleanings"], lazy.figures["compaction_cleanings"]);
    assert!(e > l && l >= 1.0, "{e} cleanings at 0.2, {l} at 0.8");
    for r in [&eager, &lazy] {
        assert_eq!(r.figures["compacted_keys_missing"], 0.0);
    }
}

#[test]
fn max_compaction_lag_cleans_whatever_the_dirty_ratio() {
    // A ratio of 0.99: only the very first cleaning (nothing clean yet, ratio 1) passes it.
    let lazy = [("topics[0].min_cleanable_dirty_ratio", "0.99"), ("expect", "{}")];
    let never = run(&changelog(&lazy));
    assert_eq!(never.figures["compaction_cleanings"], 1.0, "{}", never.summary);
    // With max.compaction.lag.ms = 5 s, a dirty segment waits about that long, plus the
    // cleaner's 2 s backoff: the log stays small.
    let lagged = run(&changelog(&[lazy[0], lazy[1], ("topics[0].max_compaction_lag_ms", "5000")]));
    let f = &lagged.figures;
    assert!(f["compaction_cleanings"] >= 8.0, "{}", lagged.summary);
    assert!(lagged.trace.contains("max.compaction.lag.ms passed"));
    assert!(f["compacted_log_records_max"] < never.figures["compacted_log_records_max"] / 3.0);
    assert_eq!(f["compacted_keys_missing"], 0.0);
    // It also caps segment.ms: with segments of 7 days, it still rolls every 5 s.
    let rolled = run(&changelog(&[
        ("topics[0].segment_ms", "604800000"),
        ("topics[0].max_compaction_lag_ms", "5000"),
        ("expect", "{}"),
    ]));
    assert!(rolled.figures["compaction_cleanings"] >= 5.0, "{}", rolled.summary);
}

#[test]
fn compact_delete_also_deletes_old_segments_by_retention() {
    // cleanup.policy=compact,delete with retention.bytes = 150 kB: the oldest segments go once the
    // log would still hold that much without them, latest values or not. (By retention.ms they
    // would rarely go here: the cleaner merges the cleaned segments into one, which holds the
    // latest values of keys updated a moment ago, so its newest record is never old.)
    let report = run(&changelog(&[
        ("topics[0].cleanup_policy", "CompactDelete"),
        ("topics[0].retention_bytes", "150000"),
        ("cluster.replication.log_retention_check_interval_ms", "1000"),
        ("consumer_groups", "[(name: \"cache\", topics: [\"profiles\"], members: 1, processing_us: 100)]"),
        ("expect", "{}"),
    ]));
    let f = &report.figures;
    assert!(f["records_deleted_by_retention"] > 0.0 && f["compaction_cleanings"] > 0.0, "{}", report.summary);
    assert!(report.partitions[0].log_start_offset > 0);
    assert!(report.summary.contains("cleanup_policy=CompactDelete"));
    assert!(report.summary.contains("## Retention") && report.summary.contains("## Log compaction"));
    // Retention took keys with it: fewer keys are left than with compaction alone.
    let compact_only = run(&changelog(&[("expect", "{}")]));
    assert!(f["compacted_log_keys"] < compact_only.figures["compacted_log_keys"], "{}", report.summary);
}

#[test]
fn aborted_transactions_records_are_removed_and_never_taken_for_latest_values() {
    // A Kafka Streams changelog under exactly-once: the producer is transactional, and aborts
    // three transactions in ten. The restore group reads read_committed.
    let report = run(&changelog(&[
        ("producers[0].transactions", "Some((commit_interval_ms: 100, abort_probability: 0.3))"),
        ("consumer_groups[1].isolation_level", "ReadCommitted"),
        ("expect", "{}"),
    ]));
    let f = &report.figures;
    assert!(f["aborted_records_produced"] > 1000.0 && f["compaction_cleanings"] > 5.0, "{}", report.summary);
    assert!(report.trace.contains("of aborted transactions),"), "{}", report.summary);
    // Markers outlive their transactions' records, then go too.
    assert!(report.trace.contains(" transaction markers),"), "{}", report.summary);
    // Every key's latest *committed* value is in the log: the check counts a transaction's
    // records only once its COMMIT marker is written.
    assert!(f["compacted_log_keys"] > 800.0);
    for figure in ["compacted_keys_missing", "lost_records", "skipped_records"] {
        assert_eq!(f[figure], 0.0, "{figure}\n{}", report.summary);
    }
}

#[test]
fn followers_clean_their_own_copies_and_a_new_leader_keeps_every_key() {
    // broker-0 leads profiles-0; it crashes at 30 s and broker-1 or broker-2 takes over.
    let report = run(&changelog(&[("faults", "[(at_ms: 30000, fault: Crash(Broker(0)))]"), ("expect", "{}")]));
    let cleanings_by = |broker: &str, after_s: f64| {
        report
            .trace
            .lines()
            .filter(|l| l.contains(" log cleaner ") && l.contains(broker))
            .any(|l| l.split_whitespace().next().and_then(|t| t.parse::<f64>().ok()).is_some_and(|t| t > after_s))
    };
    assert!(cleanings_by("broker-0", 0.0));
    assert!(cleanings_by("broker-1", 31.0) || cleanings_by("broker-2", 31.0), "{}", report.summary);
    let f = &report.figures;
    for figure in ["compacted_keys_missing", "lost_records", "diverged_offsets", "skipped_records"] {
        assert_eq!(f[figure], 0.0, "{figure}\n{}", report.summary);
    }
}

#[test]
fn compaction_settings_are_checked() {
    let cases = [
        ("producers[0].key", "Null", "Compacted topic cannot accept message without key"),
        ("topics[0].retention_ms", "1000", "cleanup_policy: CompactDelete"),
        ("topics[0].min_cleanable_dirty_ratio", "1.5", "a ratio from 0 to 1"),
        ("producers[0].tombstone_fraction", "1.0", "0 to below 1"),
        ("charts", "[Compaction(topic: \"profiles\", partition: 1)]", "no partition profiles-1 of a compacted topic"),
    ];
    for (field, value, message) in cases {
        let set = vec![(field.to_string(), value.to_string())];
        let e = kafkasim::scenario::load(&root().join("scenarios/compaction-changelog.ron"), &set).unwrap_err();
        assert!(e.to_string().contains(message), "{field}={value}: {e}");
    }
}

/// The changelog on 2 partitions under random broker crashes, restarts and isolations; its
/// producer transactional or not.
fn faulty(faults: &[(u64, u8, u32)], ratio: f64, segment_ms: u64, transactional: bool) -> kafkasim::Scenario {
    let mut list: Vec<String> = faults
        .iter()
        .map(|&(at_ms, kind, target)| {
            let fault = match kind % 3 {
                0 => format!("Crash(Broker({}))", target % 3),
                1 => format!("Isolate(Broker({}))", target % 3),
                _ => format!("Restart(Broker({}))", target % 3),
            };
            format!("(at_ms: {at_ms}, fault: {fault})")
        })
        .collect();
    list.push("(at_ms: 12000, fault: Heal)".into());
    for b in 0..3 {
        list.push(format!("(at_ms: 12000, fault: Restart(Broker({b})))"));
    }
    let transactions = if transactional { "Some((commit_interval_ms: 200, abort_probability: 0.3))" } else { "None" };
    let set = [
        ("duration_ms", "25000".to_string()),
        ("producers[0].transactions", transactions.into()),
        ("topics[0].partitions", "2".into()),
        ("topics[0].min_cleanable_dirty_ratio", ratio.to_string()),
        ("topics[0].segment_ms", segment_ms.to_string()),
        ("producers[0].stop_ms", "11000".into()),
        ("producers[0].request_timeout_ms", "1000".into()),
        ("consumer_groups[1].start_ms", "15000".into()),
        (
            "cluster.replication",
            "(log_cleaner_backoff_ms: 500, replica_lag_time_max_ms: 3000, replica_socket_timeout_ms: 3000)".into(),
        ),
        ("cluster.controller", "(broker_heartbeat_interval_ms: 500, broker_session_timeout_ms: 2000)".into()),
        ("faults", format!("[{}]", list.join(", "))),
        ("expect", "{}".into()),
        ("charts", "[]".into()),
    ];
    let set: Vec<(String, String)> = set.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    kafkasim::scenario::load(&root().join("scenarios/compaction-changelog.ron"), &set).unwrap_or_else(|e| panic!("{e}"))
}

proptest::proptest! {
    // 8 cases in CI; PROPTEST_CASES=200 for a longer search.
    #![proptest_config(crate::support::proptest_config(8))]

    #[test]
    fn under_random_broker_faults_compaction_keeps_every_keys_latest_value(
        faults in proptest::collection::vec((500u64..11000, 0u8..3, 0u32..3), 1..5),
        ratio in 0.1f64..0.9,
        segment_ms in 300u64..3000,
        transactional in proptest::bool::ANY,
    ) {
        let report = run_checking_invariants(&faulty(&faults, ratio, segment_ms, transactional));
        proptest::prop_assert!(report.is_ok(), "{:?} with faults {faults:?}", report.err());
        let report = report.unwrap();
        let f = &report.figures;
        // (Not `inconsistent_offsets`: an isolated leader appends records no one else gets, and
        // once it follows again their offsets hold other records, as in Kafka.)
        for figure in ["compacted_keys_missing", "lost_records", "skipped_records", "diverged_offsets"] {
            proptest::prop_assert_eq!(f[figure], 0.0, "{} with faults {:?}\n{}", figure, faults, report.summary);
        }
        // The late reader read every partition to its end.
        proptest::prop_assert_eq!(report.groups[1].lag_records, 0, "faults {:?}\n{}", faults, report.summary);
    }
}

#[test]
fn a_replica_rebuilds_its_producer_state_from_batches_the_cleaner_emptied() {
    // Found by the property test: broker-2 crashes at 3 s and, back as a follower, truncates and
    // rebuilds its producers' state from its log, where the cleaner had emptied a producer's last
    // batch (kept, `RETAIN_EMPTY`). Its last sequence is the batch header's, not its records'.
    let report = run_checking_invariants(&faulty(&[(3004, 0, 2)], 0.1, 2858, true)).unwrap();
    for figure in ["compacted_keys_missing", "lost_records", "skipped_records", "diverged_offsets"] {
        assert_eq!(report.figures[figure], 0.0, "{figure}\n{}", report.summary);
    }
}

#[test]
fn the_stepper_shows_each_cleaning_shrink_the_log() {
    let mut stepper = kafkasim::stepper::Stepper::new(&changelog(&[]));
    let mut ok = |command: &str| stepper.command(command).unwrap_or_else(|e| panic!("{command}: {e}")).text;
    ok("until 9s");
    let before = ok("partitions profiles-0");
    assert!(before.contains("records") && before.contains("cleaned to"), "{before}");
    let reply = ok("find log cleaner");
    assert!(reply.contains("profiles-0 cleaned offsets 1500..2000"), "{reply}");
    // The row's records and checkpoint columns: fewer records, the checkpoint at 2000.
    let cells = |table: &str| -> (u64, String) {
        let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
        // partition, leader, epoch, ISR (3 cells: "[0," "1," "2]"), log start, hw, log end, records, cleaned to
        (row[9].parse().unwrap(), row[10].to_string())
    };
    let (records_before, cleaned_before) = cells(&before);
    let (records_after, cleaned_after) = cells(&ok("partitions profiles-0"));
    assert_eq!((cleaned_before.as_str(), cleaned_after.as_str()), ("1500", "2000"));
    assert!(records_after < records_before, "{records_before} → {records_after}");
}

#[test]
fn a_reader_further_behind_than_delete_retention_misses_deletes() {
    let path = root().join("scenarios/compaction-slow-reader-misses-deletes.ron");
    let load = |set: &[(&str, &str)]| {
        let set: Vec<(String, String)> = set.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        kafkasim::scenario::load(&path, &set).unwrap()
    };
    let report = run(&load(&[]));
    let missed = report.figures["deletes_missed_by_groups"];
    assert!(missed >= 1.0, "{}", report.summary);
    // Only the slow group: the summary names it, not the one that keeps up.
    assert!(report.summary.contains(&format!("Group reporting was behind when {missed} tombstones went")));
    assert!(!report.summary.contains("Group cache was behind"));
    // Kept for a minute, the tombstones outlast its lag: it sees every delete.
    let patient = run(&load(&[("topics[0].delete_retention_ms", "60000"), ("expect", "{}")]));
    assert_eq!(patient.figures["deletes_missed_by_groups"], 0.0, "{}", patient.summary);
    // Slower still, it misses more.
    let slower = run(&load(&[("consumer_groups[1].processing_us", "20000"), ("expect", "{}")]));
    assert!(slower.figures["deletes_missed_by_groups"] > missed);
}
