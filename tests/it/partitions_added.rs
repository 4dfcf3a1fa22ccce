//! Partitions added to a topic during the run (`CreatePartitions`, `kafka-topics.sh --alter
//! --partitions`): keys move as murmur2 says, clients see the new partitions only when their
//! metadata refreshes, a classic group's leader rejoins, a KIP-848 coordinator reassigns on its
//! own, `Latest` skips what the new partitions got first, and moved keys can be read out of order.

use kafkasim::client::partitioner::partition_for_key;

use crate::support::{first_line_at, root, run, run_checking_invariants};

fn scenario(file: &str, set: &[(&str, &str)]) -> kafkasim::Scenario {
    let set: Vec<(String, String)> = set.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    kafkasim::scenario::load(&root().join("scenarios").join(file), &set).unwrap_or_else(|e| panic!("{e}"))
}

const KEYS_MOVE: &str = "partitions-added-keys-move.ron";
const KIP848: &str = "partitions-added-kip848-key-order.ron";

/// Records the run's final logs hold on `orders-p` (its high watermark).
fn records_on(report: &kafkasim::Report, p: u32) -> u64 {
    report.partitions.iter().find(|v| v.name == format!("orders-{p}")).map_or(0, |v| v.high_watermark)
}

#[test]
fn keys_move_as_murmur2_says_and_latest_skips_what_the_new_partitions_got_first() {
    let report = run(&scenario(KEYS_MOVE, &[("expect", "{}")]));
    let f = &report.figures;
    // Keys "key-0" to "key-199": those whose partition for 6 differs from that for 3.
    let moved = (0..200)
        .filter(|k| {
            let key = format!("key-{k}");
            partition_for_key(key.as_bytes(), 3) != partition_for_key(key.as_bytes(), 6)
        })
        .count();
    assert_eq!(f["keys_moved_partition"], moved as f64);
    assert_eq!(f["partitions_created"], 3.0);
    // The producer saw the new partitions at its 30 s refresh, the group's leader at 300 s.
    let producer_saw = first_line_at(&report, &["checkout", "now has 6 partitions"]).unwrap();
    assert!((30.0..30.1).contains(&producer_saw), "{producer_saw}");
    let rejoin = first_line_at(&report, &["cached metadata has changed"]).unwrap();
    assert!((300.0..300.1).contains(&rejoin), "{rejoin}");
    // Every record on the new partitions is either one the group read or one it skipped by
    // starting at the end; none was written before the producer knew of them (there is no
    // fetch of records the producer never sent there).
    let on_new: u64 = (3..6).map(|p| records_on(&report, p)).sum();
    let processed_new: u64 = report.groups[0]
        .members
        .iter()
        .flat_map(|m| &m.positions)
        .filter(|(p, _)| ["orders-3", "orders-4", "orders-5"].contains(&p.as_str()))
        .map(|(_, position)| *position)
        .sum();
    assert_eq!(processed_new, on_new, "the group read the new partitions to their end");
    let missed = f["new_partition_records_missed"];
    assert!(missed > 0.0 && missed < on_new as f64, "{missed} of {on_new}");
    // About 270 s of the new partitions' traffic (about half of 50/s) was never read.
    assert!((5000.0..8000.0).contains(&missed), "{missed}");
    // Classic: one rebalance to start, one when the leader noticed.
    assert_eq!(f["rebalances"], 2.0);
    assert_eq!(f["skipped_records"], 0.0, "skips after the first position only");
    assert!(report.summary.contains("## Partitions added"), "{}", report.summary);
    assert!(
        report.summary.contains(&format!("| checkout | 30.001000 s | 3 → 6 | {moved} of 200 |")),
        "{}",
        report.summary
    );
}

#[test]
fn earliest_reads_what_latest_skips() {
    let report = run(&scenario(KEYS_MOVE, &[("consumer_groups[0].auto_offset_reset", "Earliest"), ("expect", "{}")]));
    let f = &report.figures;
    assert_eq!(f["new_partition_records_missed"], 0.0);
    assert_eq!(f["records_consumed"], f["records_acked"], "{}", report.summary);
}

#[test]
fn a_shorter_metadata_max_age_narrows_the_window_latest_loses() {
    let default = run(&scenario(KEYS_MOVE, &[("expect", "{}")]));
    let short = run(&scenario(KEYS_MOVE, &[("consumer_groups[0].metadata_max_age_ms", "40000"), ("expect", "{}")]));
    let (a, b) = (default.figures["new_partition_records_missed"], short.figures["new_partition_records_missed"]);
    // The leader notices at 40 s instead of 300 s: 10 s of the new partitions' records, not 270 s.
    assert!(b > 0.0 && b * 10.0 < a, "{b} with 40 s against {a} with 5 minutes");
    let rejoin = first_line_at(&short, &["cached metadata has changed"]).unwrap();
    assert!((40.0..40.1).contains(&rejoin), "{rejoin}");
}

#[test]
fn only_the_classic_leader_watches_the_metadata() {
    // The follower member sees the new count too, but only the leader (which assigned) rejoins.
    let report = run(&scenario(KEYS_MOVE, &[("expect", "{}")]));
    let rejoins: Vec<&str> = report.trace.lines().filter(|l| l.contains("cached metadata has changed")).collect();
    assert_eq!(rejoins.len(), 1, "{rejoins:?}");
    let saw = report.trace.lines().filter(|l| l.contains("metadata") && l.contains("orders now has 6")).count();
    assert_eq!(saw, 3, "the producer and both members");
}

#[test]
fn a_kip848_coordinator_assigns_the_new_partitions_within_a_heartbeat() {
    let report = run(&scenario(KIP848, &[("expect", "{}")]));
    let f = &report.figures;
    assert_eq!(f["new_partition_records_missed"], 0.0);
    assert_eq!(f["rebalances"], 3.0, "two joins, then one epoch for the new partitions");
    // Assigned within one heartbeat interval (1 s) of their creation at 10 s.
    for p in 3..6 {
        let at = first_line_at(&report, &["assigned", &format!("orders-{p}")])
            .or_else(|| first_line_at(&report, &["reconciled", &format!("{p}")]));
        let at = at.unwrap_or_else(|| panic!("orders-{p} never assigned:\n{}", report.summary));
        assert!((10.0..11.1).contains(&at), "orders-{p} at {at}");
    }
}

#[test]
fn moved_keys_are_read_out_of_order_only_behind_a_backlog() {
    // Behind (160 records/s processed against 200 produced): the new partitions' records of a
    // moved key overtake the same key's backlog on its old partition.
    let behind = run(&scenario(KIP848, &[("expect", "{}")]));
    let inversions = behind.figures["key_order_violations"];
    assert!(inversions >= 100.0, "{inversions}");
    assert!(behind.summary.contains("Records processed after a later record of their key"), "{}", behind.summary);
    // Keeping up (1 ms per record), the old partitions hold no backlog when keys move: only
    // records already in flight then (sent a few ms before the producer's refresh at 30 s,
    // fetched just after the moved key's next record) can be overtaken.
    let keeping_up = run(&scenario(KIP848, &[("consumer_groups[0].processing_us", "1000"), ("expect", "{}")]));
    let few = keeping_up.figures["key_order_violations"];
    assert!(few <= 5.0, "{few}\n{}", keeping_up.summary);
    if few > 0.0 {
        let line = keeping_up.summary.lines().find(|l| l.contains("The first:")).unwrap();
        assert!(line.contains("processed at 30."), "{line}");
    }
    // Without new partitions, nothing moves however far behind the group is.
    let no_change = run(&scenario(KIP848, &[("faults", "[]"), ("expect", "{}")]));
    assert_eq!(no_change.figures["keys_moved_partition"], 0.0);
    assert_eq!(no_change.figures["partitions_created"], 0.0);
}

#[test]
fn the_controller_refuses_partitions_it_cannot_replicate() {
    // broker-2 crashes at 1 s and is fenced at its session timeout (9 s): at 10 s only two
    // brokers are active, fewer than the replication factor of 3. Kafka refuses the request.
    let report = run(&scenario(
        KIP848,
        &[
            (
                "faults",
                "[(at_ms: 1000, fault: Crash(Broker(2))), (at_ms: 12000, fault: CreatePartitions(\"orders\", 6))]",
            ),
            ("expect", "{}"),
        ],
    ));
    let refused = report.faults.iter().find(|f| f.fault.contains("create partitions")).unwrap();
    assert!(!refused.fired);
    assert!(
        refused
            .touched
            .contains("the target replication factor of 3 cannot be reached because only 2 broker(s) are active"),
        "{}",
        refused.touched
    );
    assert_eq!(report.figures["partitions_created"], 0.0);
    assert_eq!(report.partitions.len(), 3, "the topic keeps its 3 partitions");
}

#[test]
fn new_partitions_are_replicated_and_survive_a_leader_crash() {
    // orders-3's leader (broker-0) crashes after the producer has written to it: a follower in
    // the ISR takes over, and no acknowledged record is lost.
    let report = run(&scenario(
        KIP848,
        &[
            (
                "faults",
                "[(at_ms: 10000, fault: CreatePartitions(\"orders\", 6)), (at_ms: 40000, fault: Crash(LeaderOf(\"orders\", 3)))]",
            ),
            ("expect", "{}"),
        ],
    ));
    let f = &report.figures;
    assert!(records_on(&report, 3) > 0);
    assert_eq!(f["lost_records"], 0.0, "{}", report.summary);
    let crash = report.faults.iter().find(|f| f.fault.contains("crash")).unwrap();
    assert!(crash.fired && crash.touched.contains("broker-0"), "{}", crash.touched);
    let orders3 = report.partitions.iter().find(|v| v.name == "orders-3").unwrap();
    assert_ne!(orders3.leader, "broker-0");
    assert_eq!(orders3.leader_epoch, 1);
}

#[test]
fn by_duration_starts_new_partitions_at_the_records_of_that_long_ago() {
    // KIP-1106's remedy: the group notices at about 303 s. Five minutes back reaches before the
    // partitions existed: nothing is missed.
    let all = run(&scenario(
        KEYS_MOVE,
        &[("consumer_groups[0].auto_offset_reset", "ByDuration(ms: 300000)"), ("expect", "{}")],
    ));
    assert_eq!(all.figures["new_partition_records_missed"], 0.0, "{}", all.summary);
    assert_eq!(all.figures["records_consumed"], all.figures["records_acked"]);
    // One minute back: the group starts orders-3 at the first record created at or after
    // 303.005 − 60 = 243.005 s. The leader's log ended below it at 243.0 s and above it at 243.1 s.
    let minute = run(&scenario(
        KEYS_MOVE,
        &[("consumer_groups[0].auto_offset_reset", "ByDuration(ms: 60000)"), ("expect", "{}")],
    ));
    let line = minute.trace.lines().find(|l| l.contains("offset reset") && l.contains("orders-3")).unwrap();
    assert!(line.starts_with("    303.005000") && line.contains("ByDuration(ms: 60000)"), "{line}");
    let reset: u64 = line.split("→ ").nth(1).and_then(|r| r.split_whitespace().next()).unwrap().parse().unwrap();
    let leader_at = |time: &str, column: usize| -> u64 {
        let row = minute
            .offsets_csv
            .lines()
            .find(|l| l.starts_with(&format!("{time},orders-3,")) && l.split(',').nth(4) == Some("true"))
            .unwrap();
        row.split(',').nth(column).unwrap().parse().unwrap()
    };
    let (end_before, end_after) = (leader_at("243.000", 6), leader_at("243.100", 6));
    assert!(end_before <= reset && reset <= end_after, "{end_before} ≤ {reset} ≤ {end_after}");
    let missed = minute.figures["new_partition_records_missed"];
    let latest = run(&scenario(KEYS_MOVE, &[("expect", "{}")])).figures["new_partition_records_missed"];
    assert!(0.0 < missed && missed < latest, "{missed} by duration, {latest} from the end");
}

/// A keyed topic of 3 partitions on 3 brokers (acks=all, min ISR 2) grows to `total` at
/// `grow_at` ms, possibly twice, under broker crashes and restarts, read by two groups from the
/// start: one classic, one KIP-848, both from `Earliest` and with a short metadata max age.
fn growing(grow_at: u64, total: u32, again: bool, faults: &[(u64, u8, u32)]) -> kafkasim::Scenario {
    let mut list = vec![format!("(at_ms: {grow_at}, fault: CreatePartitions(\"orders\", {total}))")];
    if again {
        list.push(format!("(at_ms: {}, fault: CreatePartitions(\"orders\", {}))", grow_at + 2500, total + 2));
    }
    for &(at, kind, b) in faults {
        list.push(match kind {
            0 => format!("(at_ms: {at}, fault: Crash(Broker({b})))"),
            1 => format!("(at_ms: {at}, fault: Restart(Broker({b})))"),
            _ => format!("(at_ms: {at}, fault: Isolate(Broker({b})))"),
        });
    }
    list.push("(at_ms: 12500, fault: Heal)".into());
    for b in 0..3 {
        list.push(format!("(at_ms: 13000, fault: Restart(Broker({b})))"));
    }
    let src = format!(
        r#"Scenario(
    name: "growing", description: "property test", seed: 5, duration_ms: 100000,
    cluster: (brokers: 3, group_coordinator: (group_initial_rebalance_delay_ms: 0)),
    topics: [(name: "orders", partitions: 3, replication_factor: 3, min_insync_replicas: 2)],
    producers: [(name: "checkout", topic: "orders", arrival: Poisson(per_sec: 300.0), key: Uniform(keys: 60),
                 acks: All, metadata_max_age_ms: 1500, stop_ms: Some(15000))],
    consumer_groups: [
        (name: "classic", topics: ["orders"], members: 2, auto_offset_reset: Earliest, metadata_max_age_ms: 2000),
        (name: "modern", topics: ["orders"], members: 2, auto_offset_reset: Earliest, group_protocol: Consumer),
    ],
    faults: [{}],
)"#,
        list.join(", ")
    );
    kafkasim::scenario::parse("growing.ron", &src, &[]).unwrap_or_else(|e| panic!("{e}"))
}

proptest::proptest! {
    // 8 cases in CI; PROPTEST_CASES=200 for a longer search.
    #![proptest_config(crate::support::proptest_config(8))]

    #[test]
    fn growing_a_topic_under_broker_faults_loses_and_skips_nothing(
        grow_at in 500u64..9000,
        total in 4u32..9,
        again in proptest::bool::ANY,
        faults in proptest::collection::vec((500u64..11000, 0u8..3, 0u32..3), 0..4),
    ) {
        let report = run_checking_invariants(&growing(grow_at, total, again, &faults));
        proptest::prop_assert!(report.is_ok(), "{:?} growing at {grow_at} to {total} with faults {faults:?}", report.err());
        let report = report.unwrap();
        let f = &report.figures;
        let created = report.faults.iter().filter(|x| x.fault.contains("create partitions") && x.fired).count();
        // Every creation that fired made its partitions; a refused one (too few active brokers)
        // made none, and says why.
        for x in report.faults.iter().filter(|x| x.fault.contains("create partitions") && !x.fired) {
            proptest::prop_assert!(x.touched.contains("cannot be reached"), "{}", x.touched);
        }
        let expected = match (created, again) {
            (0, _) => 3,
            (1, false) => total,
            (1, true) => if report.faults.iter().any(|x| x.fault.contains(&format!("to {}", total + 2)) && x.fired) { total + 2 } else { total },
            _ => total + 2,
        };
        proptest::prop_assert_eq!(report.partitions.len() as u32, expected, "{}", report.summary);
        proptest::prop_assert_eq!(f["partitions_created"], f64::from(expected - 3));
        // Both groups read from the earliest offset: they skip nothing, on old or new partitions,
        // and (the producer stops at 15 s, everything heals at 13 s, and a request to an isolated
        // leader gives up after request.timeout.ms, 30 s, and a member cut off from its
        // coordinator is fenced after its 45 s session) read every partition to its end.
        for figure in ["lost_records", "skipped_records", "new_partition_records_missed"] {
            proptest::prop_assert_eq!(f[figure], 0.0, "{} with faults {:?}\n{}", figure, faults, report.summary);
        }
        for g in &report.groups {
            proptest::prop_assert_eq!(g.lag_records, 0, "group {} faults {:?}\n{}", g.name, faults, report.summary);
            let owned: usize = g.members.iter().map(|m| m.positions.len()).sum();
            proptest::prop_assert_eq!(owned as u32, expected, "group {} owns every partition\n{}", g.name, report.summary);
        }
    }
}

#[test]
fn a_join_parked_at_a_coordinator_that_gives_the_group_up_is_answered() {
    // classic's coordinator, broker-2, crashes at 2 s, just as the leader rejoins for the new
    // partition: broker-0 takes the group over and parks the leader's JoinGroup, waiting for the
    // other member. At 13 s broker-2 is back and the group moves to it again. broker-0, still
    // up, answers the JoinGroup it parked with NOT_COORDINATOR (`onGroupUnloaded`), and the
    // leader joins at broker-2. (Unanswered, the leader would wait on, and the rebalance would
    // complete without it only when broker-2 expires its session, 45 s later.)
    let report = run(&growing(500, 4, false, &[(2001, 0, 2)]));
    let times = |parts: &[&str]| -> Vec<f64> {
        report
            .trace
            .lines()
            .filter(|l| parts.iter().all(|p| l.contains(p)))
            .filter_map(|l| l.split_whitespace().next()?.parse::<f64>().ok())
            .collect()
    };
    let moved_back = times(&["broker-2", "group=classic loaded"]).into_iter().find(|&t| t > 12.0).unwrap();
    assert!((13.0..20.0).contains(&moved_back), "{moved_back}");
    let joined = times(&["join complete", "group=classic"])
        .into_iter()
        .find(|&t| t > 2.0)
        .unwrap_or_else(|| panic!("no rebalance completed after the rejoin\n{}", report.summary));
    assert!(joined < moved_back + 1.0, "joined at {joined}, the group moved at {moved_back}");
}

#[test]
fn the_stepper_shows_the_new_partitions_once_created() {
    let mut stepper = kafkasim::stepper::Stepper::new(&scenario(KEYS_MOVE, &[]));
    let mut ok = |command: &str| stepper.command(command).unwrap_or_else(|e| panic!("{command}: {e}")).text;
    ok("until 19s");
    let before = ok("partitions");
    assert!(before.contains("orders-2") && !before.contains("orders-3"), "{before}");
    let reply = ok("find create_partitions");
    assert!(reply.contains("orders now has 6 partitions (was 3)"), "{reply}");
    ok("until 21s");
    let after = ok("partitions");
    assert!((3..6).all(|p| after.contains(&format!("orders-{p}"))), "{after}");
}

#[test]
fn a_kip848_group_learns_of_new_partitions_from_its_own_coordinator() {
    let lines = |report: &kafkasim::Report, part: &str| -> Vec<(f64, String)> {
        report
            .trace
            .lines()
            .filter(|l| l.contains(part))
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                Some((w.next()?.parse().ok()?, w.next()?.to_string()))
            })
            .collect()
    };
    // The group's coordinator applies the creation and bumps the group epoch itself.
    let report = run(&scenario(KIP848, &[("expect", "{}")]));
    let loaded = lines(&report, "group=billing loaded");
    let grew = lines(&report, "group_metadata");
    assert_eq!(grew.len(), 1, "{grew:?}");
    assert_eq!(grew[0].1, loaded[0].1, "the coordinator: {loaded:?}");
    // Cut off from everyone at 9 s, the coordinator never learns of the partitions created at
    // 10 s, and nobody else updates the group for it: the group takes the new count when
    // another broker takes it over (the members give up on the old one after request.timeout.ms).
    let faults = "[(at_ms: 9000, fault: Isolate(Broker(0))), (at_ms: 10000, fault: CreatePartitions(\"orders\", 6))]";
    let isolated = run(&scenario(KIP848, &[("faults", faults), ("expect", "{}")]));
    let loaded = lines(&isolated, "group=billing loaded");
    let grew = lines(&isolated, "group_metadata");
    assert_eq!(loaded[0].1, "broker-0");
    assert_eq!(grew.len(), 1, "{grew:?}");
    let takeover = loaded.iter().find(|(t, _)| *t > 10.0).expect("another broker takes the group over");
    assert_eq!(&grew[0], takeover, "{grew:?} {loaded:?}");
    // Too late this time: the producer wrote to them from 30 s, and `Latest` starts at their end.
    assert!(takeover.0 > 30.0);
    assert!(isolated.figures["new_partition_records_missed"] > 0.0, "{}", isolated.summary);
}
