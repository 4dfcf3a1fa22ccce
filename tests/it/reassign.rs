//! Partition reassignment (`Reassign`, KIP-455, `kafka-reassign-partitions.sh --execute`): new
//! replicas copy the whole log before the old ones go, the controller completes a reassignment
//! only once every target replica is in the ISR (at once when none is added), a leader it
//! removes gives way to the first target replica in the ISR, removed replicas delete their copy
//! (a down one when it comes back), an added replica that is down holds it open, and
//! `--additional` replaces a reassignment in progress.

use kafkasim::sim::SimTime;

use crate::support::{bundled_with, first_line_at, root, run, run_checking_invariants};

fn bundled(set: &[(&str, &str)]) -> kafkasim::Scenario {
    bundled_with("reassign-partition-moves-leader.ron", set)
}

/// A 3-broker cluster, `orders` with 2 partitions at replication factor 2 (orders-0 on [0, 1],
/// orders-1 on [1, 2]), a producer with acks=all, a group reading from the earliest offset, and
/// these faults.
fn small(faults: &str, extra_cluster: &str) -> kafkasim::Scenario {
    let src = format!(
        r#"Scenario(
    name: "reassign", description: "test", seed: 3, duration_ms: 60000,
    cluster: (brokers: 4{extra_cluster}),
    topics: [(name: "orders", partitions: 2, replication_factor: 2, min_insync_replicas: 1)],
    producers: [(name: "checkout", topic: "orders", arrival: Poisson(per_sec: 200.0), acks: All, stop_ms: Some(50000))],
    consumer_groups: [(name: "billing", topics: ["orders"], members: 1, auto_offset_reset: Earliest)],
    faults: [{faults}],
)"#
    );
    kafkasim::scenario::parse("reassign.ron", &src, &[]).unwrap_or_else(|e| panic!("{e}"))
}

fn partition<'a>(sim: &'a [kafkasim::sim::PartitionView], name: &str) -> &'a kafkasim::sim::PartitionView {
    sim.iter().find(|p| p.name == name).unwrap()
}

/// `(log start, log end)` of `partition` on `broker`, if it holds a log of it.
fn log_of(sim: &kafkasim::Simulation, broker: usize, partition: &str) -> Option<(u64, u64)> {
    sim.brokers()[broker].logs.iter().find(|l| l.0 == partition).map(|l| (l.1, l.2))
}

#[test]
fn the_new_replica_copies_the_whole_log_before_the_old_leader_goes() {
    let s = bundled(&[]);
    let mut sim = kafkasim::Simulation::new(&s);
    sim.run_until(SimTime::from_ms(40_200));
    // Under way: the target first, then the replica being removed; the ISR and the leader have
    // not changed, so clients see nothing yet; broker-3 is copying from offset 0.
    let views = sim.partitions();
    let p0 = partition(&views, "orders-0");
    assert_eq!(p0.replicas, vec![3, 1, 0]);
    assert_eq!(p0.isr, vec![0, 1]);
    assert_eq!(p0.leader, "broker-0");
    let (start, copied) = log_of(&sim, 3, "orders-0").expect("broker-3 holds a replica");
    assert_eq!(start, 0, "a new replica copies the log from its start");
    assert!(copied > 0 && copied < p0.log_end_offset, "copying: {copied} of {}", p0.log_end_offset);
    sim.run();
    let views = sim.partitions();
    let p0 = partition(&views, "orders-0");
    assert_eq!(p0.replicas, vec![3, 1]);
    assert_eq!(p0.isr, vec![3, 1]);
    assert_eq!(p0.leader, "broker-3", "the leader was the replica removed: the first target replica leads");
    assert_eq!(p0.leader_epoch, 1);
    assert_eq!(log_of(&sim, 3, "orders-0"), Some((0, p0.log_end_offset)), "the whole log, from offset 0");
    assert_eq!(log_of(&sim, 0, "orders-0"), None, "broker-0 deleted its copy");

    let report = run(&s);
    let f = &report.figures;
    assert_eq!(f["reassignments_completed"], 1.0);
    assert_eq!(f["lost_records"], 0.0);
    assert_eq!(f["diverged_offsets"], 0.0);
    // The copy cannot beat the 100 Mbit/s link it crosses: 40 s of 1,500 records/s of 1 kB.
    let (bytes, took_ms) = (f["reassignment_bytes_copied"], f["reassignment_time_max_ms"]);
    assert!(bytes > 40.0 * 1500.0 * 1000.0 / 3.0 * 0.9, "{bytes} bytes");
    assert!(took_ms >= bytes * 8.0 / 100e6 * 1000.0, "{bytes} bytes in {took_ms} ms");
    assert!(took_ms < 5000.0, "{took_ms} ms");
    // The completion is the ISR change that brought broker-3 in, proposed by the leader once it
    // caught up; only then did the producer's requests to broker-0 fail and move.
    let proposed = first_line_at(&report, &["broker-0", "isr_expand_proposed", "orders-0"]).unwrap();
    let completed = first_line_at(&report, &["reassignment_completed", "orders-0"]).unwrap();
    assert!(proposed > 40.0 && completed >= proposed && completed - proposed < 0.01, "{proposed} {completed}");
    let deleted = first_line_at(&report, &["broker-0", "stop_replica", "log deleted"]).unwrap();
    assert!(deleted >= completed, "{deleted} {completed}");
    assert!(report.summary.contains("## Reassignments"), "{}", report.summary);
    assert!(report.summary.contains("| orders-0 | [0, 1] → [3, 1] | 40.000000 |"), "{}", report.summary);
    assert!(report.summary.contains("broker-0 → broker-3"), "{}", report.summary);
    assert!(report.events_csv.contains("reassignment_completed,orders-0,replicas [3 1]"), "{}", report.events_csv);
}

#[test]
fn a_reassignment_that_adds_no_replica_completes_at_once() {
    // Dropping a follower: done in the same instant, the leader stays, its epoch goes up (which
    // fences the removed replica), and broker-1 deletes its copy. Reordering: done at once too;
    // the new first replica takes over only at the next preferred-leader check.
    let report = run(&small(
        r#"(at_ms: 10000, fault: Reassign("orders", 0, [0])), (at_ms: 12000, fault: Reassign("orders", 1, [2, 1]))"#,
        ", controller: (leader_imbalance_check_interval_ms: 5000)",
    ));
    let started = first_line_at(&report, &["reassignment_started", "orders-0"]).unwrap();
    let completed = first_line_at(&report, &["reassignment_completed", "orders-0"]).unwrap();
    assert_eq!(started, completed);
    let p0 = report.partitions.iter().find(|p| p.name == "orders-0").unwrap();
    assert_eq!(
        (p0.replicas.clone(), p0.isr.clone(), p0.leader.as_str(), p0.leader_epoch),
        (vec![0], vec![0], "broker-0", 1)
    );
    assert!(first_line_at(&report, &["broker-1", "stop_replica", "orders-0"]).is_some_and(|t| t >= 10.0));
    let p1 = report.partitions.iter().find(|p| p.name == "orders-1").unwrap();
    assert_eq!(p1.replicas, vec![2, 1]);
    assert_eq!(p1.leader, "broker-2", "the preferred-leader check moved it");
    let preferred = first_line_at(&report, &["election", "orders-1 Preferred"]).unwrap();
    assert!(preferred > 12.0 && preferred <= 17.1, "{preferred}");
    assert_eq!(p1.leader_epoch, 1, "a reorder alone bumps no leader epoch");
    let f = &report.figures;
    assert_eq!(f["reassignments_completed"], 2.0);
    assert_eq!(f["reassignment_time_max_ms"], 0.0);
    assert_eq!(f["reassignment_bytes_copied"], 0.0);
    assert_eq!(f["lost_records"], 0.0);
}

#[test]
fn an_added_replica_that_is_down_holds_the_reassignment_open_until_it_returns() {
    let faults = r#"(at_ms: 5000, fault: Crash(Broker(3))), (at_ms: 10000, fault: Reassign("orders", 0, [3, 1]))"#;
    let open = run(&small(faults, ""));
    assert_eq!(open.figures["reassignments_completed"], 0.0);
    let p0 = open.partitions.iter().find(|p| p.name == "orders-0").unwrap();
    assert_eq!((p0.replicas.clone(), p0.leader.as_str()), (vec![3, 1, 0], "broker-0"), "still under way");
    assert!(
        open.summary
            .contains("orders-0 still reassigning at the end: broker-3 had copied up to offset 0 of the leader's"),
        "{}",
        open.summary
    );
    // A second reassignment of the same partition is refused while this one runs, as the tool
    // refuses it without --additional.
    let twice = run(&small(&format!(r#"{faults}, (at_ms: 20000, fault: Reassign("orders", 0, [2, 1]))"#), ""));
    let refused = twice.faults.iter().find(|f| f.fault.contains("[2, 1]")).unwrap();
    assert!(
        !refused.fired && refused.touched.contains("Cannot execute because there is an existing partition assignment"),
        "{refused:?}"
    );

    let back = run(&small(&format!(r#"{faults}, (at_ms: 30000, fault: Restart(Broker(3)))"#), ""));
    assert_eq!(back.figures["reassignments_completed"], 1.0);
    let completed = first_line_at(&back, &["reassignment_completed", "orders-0"]).unwrap();
    assert!(completed > 30.0 && completed < 35.0, "{completed}");
    assert_eq!(back.figures["lost_records"], 0.0);
}

#[test]
fn a_removed_replica_that_was_down_deletes_its_copy_when_it_returns() {
    // broker-1 (orders-0's follower) crashes; the operator moves orders-0 from [0, 1] to [0, 2].
    // The controller fences broker-1 and drops it from the ISR, so broker-2's catching up
    // completes the move. broker-1 comes back with its old copy and deletes it when its first
    // heartbeat brings the metadata that no longer names it.
    let s = small(
        r#"(at_ms: 5000, fault: Crash(Broker(1))), (at_ms: 20000, fault: Reassign("orders", 0, [0, 2])), (at_ms: 40000, fault: Restart(Broker(1)))"#,
        "",
    );
    let mut sim = kafkasim::Simulation::new(&s);
    sim.run_until(SimTime::from_ms(39_000));
    assert!(log_of(&sim, 1, "orders-0").is_some_and(|(_, end)| end > 0), "the down broker still has its copy");
    sim.run();
    assert_eq!(log_of(&sim, 1, "orders-0"), None);
    assert!(log_of(&sim, 1, "orders-1").is_some_and(|(_, end)| end > 0), "its other replica stays");
    let views = sim.partitions();
    assert_eq!(partition(&views, "orders-0").replicas, vec![0, 2]);
}

/// Up to three reassignments of random targets at random times, a broker that crashes and comes
/// back, maybe a replication throttle and maybe a cancellation, in a 4-broker cluster: the invariants hold after every event (in-sync replicas
/// hold the leader's log below the high watermark), nothing acknowledged is lost, every
/// reassignment that fired completes or was cancelled (all brokers are back by then), a partition
/// never cancelled ends on the target of its last one, and exactly its replicas hold a log of it.
fn reassigning(
    moves: &[(u64, u32, Vec<u32>)],
    crash: Option<(u64, u32)>,
    throttle: Option<u64>,
    cancel: Option<(u64, u32)>,
) -> kafkasim::Scenario {
    let mut faults: Vec<String> =
        moves.iter().map(|(at, p, to)| format!("(at_ms: {at}, fault: Reassign(\"orders\", {p}, {to:?}))")).collect();
    if let Some((at, p)) = cancel {
        faults.push(format!("(at_ms: {at}, fault: CancelReassignment(\"orders\", {p}))"));
    }
    if let Some((at, b)) = crash {
        faults.push(format!("(at_ms: {at}, fault: Crash(Broker({b})))"));
        faults.push(format!("(at_ms: {}, fault: Restart(Broker({b})))", at + 4000));
    }
    let throttle =
        throttle.map_or(String::new(), |t| {
            // Both sides, as `kafka-reassign-partitions.sh --throttle` sets them.
            format!(
                ", replication: (leader_replication_throttled_rate: Some({t}), follower_replication_throttled_rate: Some({t}))"
            )
        });
    small(&faults.join(", "), &format!(", network: (latency_us: 500, bandwidth_mbps: 20){throttle}"))
}

proptest::proptest! {
    // 8 cases in CI; PROPTEST_CASES=200 for a longer search.
    #![proptest_config(crate::support::proptest_config(8))]

    #[test]
    fn reassignments_under_a_crash_lose_nothing_and_end_on_their_targets(
        moves in proptest::collection::vec(
            (2000u64..25000, 0u32..2, proptest::sample::subsequence(vec![0u32, 1, 2, 3], 1..=3), proptest::bool::ANY),
            1..4,
        ),
        crash in proptest::option::of((2000u64..25000, 0u32..4)),
        // Each partition takes about 10 kB/s; a throttle leaves room for its in-sync follower
        // and for a new replica to catch up.
        throttle in proptest::option::of(50_000u64..200_000),
        cancel in proptest::option::of((2000u64..25000, 0u32..2)),
    ) {
        let mut moves: Vec<(u64, u32, Vec<u32>)> = moves
            .into_iter()
            .map(|(at, p, mut to, reverse)| {
                if reverse {
                    to.reverse();
                }
                (at, p, to)
            })
            .collect();
        // In time order, so the last that fired is the last listed.
        moves.sort_by_key(|m| m.0);
        let s = reassigning(&moves, crash, throttle, cancel);
        let report = run_checking_invariants(&s);
        proptest::prop_assert!(report.is_ok(), "{:?} moves {moves:?} crash {crash:?}", report.err());
        let report = report.unwrap();
        proptest::prop_assert_eq!(report.figures["lost_records"], 0.0, "{}", report.summary);
        for p in 0..2u32 {
            let name = format!("orders-{p}");
            let fired: Vec<&kafkasim::sim::FaultRecord> =
                report.faults.iter().filter(|f| f.fired && f.fault.contains(&format!("reassign {name} "))).collect();
            let view = report.partitions.iter().find(|v| v.name == name).unwrap();
            let cancelled = report.faults.iter().any(|f| f.fired && f.fault == format!("cancel the reassignment of {name}"));
            if let Some(last) = fired.last().filter(|_| !cancelled) {
                let target = moves.iter().find(|m| last.fault == format!("reassign {name} to brokers {:?}", m.2)).unwrap();
                proptest::prop_assert_eq!(&view.replicas, &target.2, "{}", report.summary);
            }
            proptest::prop_assert!(!report.summary.contains("still reassigning"), "{}", report.summary);
        }
        let mut sim = kafkasim::Simulation::new(&s);
        sim.run();
        let views = sim.partitions();
        for (b, broker) in sim.brokers().iter().enumerate() {
            for v in &views {
                let holds = broker.logs.iter().any(|l| l.0 == v.name);
                proptest::prop_assert_eq!(holds, v.replicas.contains(&(b as u32)), "broker-{} {}: {:?}", b, v.name, v.replicas);
            }
        }
    }
}

#[test]
fn a_throttle_below_what_the_partition_needs_holds_the_reassignment_open() {
    let load = |set: &[(&str, &str)]| {
        let set: Vec<(String, String)> = set.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let path = root().join("scenarios/reassign-throttle-too-low.ron");
        run(&kafkasim::scenario::load(&path, &set).unwrap_or_else(|e| panic!("{e}")))
    };
    let low = load(&[]);
    let f = &low.figures;
    assert_eq!(f["reassignments_completed"], 0.0);
    // Only the replica being added is throttled: the in-sync follower keeps up, the leader and
    // the ISR never change, and clients see nothing.
    assert_eq!(f["isr_shrinks"], 0.0);
    assert_eq!(f["leader_elections"], 0.0);
    assert_eq!(f["produce_errors"], 0.0);
    let p0 = low.partitions.iter().find(|p| p.name == "orders-0").unwrap();
    assert_eq!(p0.replicas, vec![3, 1, 0]);
    let broker3 = p0.replica_offsets.iter().find(|r| r.0 == 3).unwrap().2;
    assert!(broker3 < p0.log_end_offset / 2, "broker-3 at {broker3} of {}", p0.log_end_offset);
    // What it copied in 80 s, with the in-sync follower's 500 kB/s counted against the same
    // 600 kB/s: the first burst a young rate allows, then little.
    let copied = f["reassignment_bytes_copied"];
    assert!(copied < 600_000.0 * 80.0 / 2.0, "{copied} bytes");
    assert!(low.summary.contains("leader_replication_throttled_rate=600000 B/s"), "{}", low.summary);

    // Above the write rate, with room for the in-sync follower too, it completes, later than
    // the unthrottled 1.6 s.
    const LEADER: &str = "cluster.replication.leader_replication_throttled_rate";
    const FOLLOWER: &str = "cluster.replication.follower_replication_throttled_rate";
    let enough = load(&[(LEADER, "1500000"), (FOLLOWER, "1500000")]);
    assert_eq!(enough.figures["reassignments_completed"], 1.0);
    let took = enough.figures["reassignment_time_max_ms"];
    assert!((5000.0..40000.0).contains(&took), "{took} ms");
    // Unthrottled, the same move takes the link's time.
    let free = load(&[(LEADER, "None"), (FOLLOWER, "None")]);
    assert!(free.figures["reassignment_time_max_ms"] < 2500.0, "{}", free.summary);

    // The follower's throttle alone counts only broker-3's own fetches: 600 kB/s against the
    // partition's 500 kB/s of new records, so broker-3 gains slowly: further than with the
    // leader's throttle, not all the way, and no faster than the rate (after the first burst
    // a young rate allows, about ten seconds' worth).
    let follower = load(&[(LEADER, "None")]);
    let f = &follower.figures;
    assert_eq!(f["reassignments_completed"], 0.0);
    let copied = f["reassignment_bytes_copied"];
    assert!(copied > 2.0 * low.figures["reassignment_bytes_copied"], "{copied} bytes");
    assert!(copied <= 600_000.0 * 90.0 + 1_048_576.0, "{copied} bytes");
    assert!(follower.summary.contains("follower_replication_throttled_rate=600000 B/s"));
}

#[test]
fn a_throttled_partition_is_left_out_of_a_response_that_carries_others() {
    // Five partitions over four brokers: broker-0 leads orders-0 [0, 1] and orders-4 [0, 2].
    // Adding broker-2 to orders-0 and broker-1 to orders-4 puts, in each follower's fetch from
    // broker-0, one partition it is throttled on next to one it is in sync on (in both orders).
    // The throttle binds (the copies take longer than without it), and the in-sync partitions'
    // batches still arrive whole: the invariants hold after every event.
    let scenario = |throttle: &str| {
        let src = format!(
            r#"Scenario(
    name: "reassign-mixed", description: "test", seed: 9, duration_ms: 120000,
    cluster: (brokers: 4, replication: (leader_replication_throttled_rate: {throttle})),
    topics: [(name: "orders", partitions: 5, replication_factor: 2, min_insync_replicas: 1)],
    producers: [(name: "checkout", topic: "orders", arrival: Poisson(per_sec: 500.0), value_bytes: 1000, acks: All)],
    faults: [(at_ms: 60000, fault: Reassign("orders", 0, [0, 1, 2])), (at_ms: 60000, fault: Reassign("orders", 4, [0, 2, 1]))],
)"#
        );
        kafkasim::scenario::parse("reassign-mixed.ron", &src, &[]).unwrap_or_else(|e| panic!("{e}"))
    };
    let throttled = run_checking_invariants(&scenario("Some(700000)")).unwrap_or_else(|e| panic!("{e}"));
    let free = run_checking_invariants(&scenario("None")).unwrap_or_else(|e| panic!("{e}"));
    for report in [&throttled, &free] {
        assert_eq!(report.figures["reassignments_completed"], 2.0, "{}", report.summary);
        assert_eq!(report.figures["lost_records"], 0.0);
        assert_eq!(report.figures["isr_shrinks"], 0.0, "in-sync followers are never throttled");
    }
    let (slow, fast) = (throttled.figures["reassignment_time_max_ms"], free.figures["reassignment_time_max_ms"]);
    assert!(slow > 3.0 * fast, "throttled {slow} ms, unthrottled {fast} ms");
}

#[test]
fn cancelling_a_reassignment_reverts_to_the_replicas_it_was_removing() {
    // The throttled move that would never finish, cancelled at 100 s (`--cancel`): broker-3
    // leaves and deletes its partial copy; the replicas are [3, 1, 0] without broker-3, in that
    // order (`PartitionReassignmentRevert`), so broker-1 is now the preferred leader, while
    // broker-0 keeps leading; the ISR keeps its own order.
    let set = [(
        "faults",
        r#"[(at_ms: 40000, fault: Reassign("orders", 0, [3, 1])), (at_ms: 100000, fault: CancelReassignment("orders", 0)), (at_ms: 110000, fault: CancelReassignment("orders", 0))]"#,
    )];
    let set: Vec<(String, String)> = set.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let s = kafkasim::scenario::load(&root().join("scenarios/reassign-throttle-too-low.ron"), &set).unwrap();
    let mut sim = kafkasim::Simulation::new(&s);
    sim.run();
    let views = sim.partitions();
    let p0 = partition(&views, "orders-0");
    assert_eq!((p0.replicas.clone(), p0.isr.clone(), p0.leader.as_str()), (vec![1, 0], vec![0, 1], "broker-0"));
    assert_eq!(log_of(&sim, 3, "orders-0"), None, "broker-3 deleted what it had copied");
    let report = run(&s);
    let faults: Vec<(bool, &str)> = report.faults.iter().map(|f| (f.fired, f.touched.as_str())).collect();
    assert!(faults[1].0 && faults[1].1.contains("cancelled: [3] leave"), "{faults:?}");
    assert!(!faults[2].0 && faults[2].1.contains("no reassignment of orders-0 is in progress"), "{faults:?}");
    assert!(report.summary.contains("| cancelled at 100.000000 |"), "{}", report.summary);
    assert!(!report.summary.contains("still reassigning"), "{}", report.summary);
    assert_eq!(report.figures["reassignments_completed"], 0.0);
    assert_eq!(report.figures["lost_records"], 0.0);
}

#[test]
fn a_cancel_that_would_need_an_unclean_election_is_refused() {
    // orders-0 [0, 1] moves to [2, 3] while broker-3 is down: broker-2 copies the log and joins
    // the ISR, but the move cannot complete. Then broker-0 and broker-1 crash; once they are
    // fenced the ISR is [2], a replica the cancel would take away. Reverting would leave an
    // empty ISR, an unclean election the topic does not allow: refused, in Kafka's words.
    let faults = r#"(at_ms: 5000, fault: Crash(Broker(3))), (at_ms: 10000, fault: Reassign("orders", 0, [2, 3])),
        (at_ms: 20000, fault: Crash(Broker(0))), (at_ms: 20000, fault: Crash(Broker(1))),
        (at_ms: 40000, fault: CancelReassignment("orders", 0))"#;
    let report = run(&small(faults, ""));
    let cancel = report.faults.iter().find(|f| f.fault.contains("cancel")).unwrap();
    assert!(!cancel.fired, "{cancel:?}");
    assert!(
        cancel.touched.contains(
            "Unable to revert partition assignment for orders-0 because it would require an unclean leader election."
        ),
        "{cancel:?}"
    );
    let p0 = report.partitions.iter().find(|p| p.name == "orders-0").unwrap();
    assert_eq!((p0.replicas.clone(), p0.isr.clone(), p0.leader.as_str()), (vec![2, 3, 0, 1], vec![2], "broker-2"));
}

#[test]
fn an_additional_reassignment_replaces_the_one_in_progress() {
    // orders-0 [0, 1] → [3, 1] cannot complete (broker-3 is down); at 20 s the operator sends
    // [2, 1] with --additional. Against the current replicas [3, 1, 0] that adds broker-2 and
    // removes brokers 0 and 3: the replicas become [2, 1, 0, 3], broker-2 copies the log and
    // the move completes on [2, 1] with broker-2 leading. broker-3, never started, holds nothing.
    let faults = r#"(at_ms: 5000, fault: Crash(Broker(3))), (at_ms: 10000, fault: Reassign("orders", 0, [3, 1])),
        (at_ms: 20000, fault: ReassignAdditional("orders", 0, [2, 1]))"#;
    let s = small(faults, "");
    let mut sim = kafkasim::Simulation::new(&s);
    sim.run_until(SimTime::from_ms(20_001));
    let views = sim.partitions();
    let p0 = partition(&views, "orders-0");
    assert_eq!(p0.replicas, vec![2, 1, 0, 3], "the new target, then the replicas being removed");
    assert_eq!(p0.leader, "broker-0");
    sim.run();
    let views = sim.partitions();
    let p0 = partition(&views, "orders-0");
    assert_eq!((p0.replicas.clone(), p0.isr.clone(), p0.leader.as_str()), (vec![2, 1], vec![2, 1], "broker-2"));
    assert_eq!(log_of(&sim, 0, "orders-0"), None, "broker-0 deleted its copy");
    assert_eq!(log_of(&sim, 2, "orders-0").map(|l| l.0), Some(0), "broker-2 copied from offset 0");

    let report = run_checking_invariants(&s).unwrap();
    assert_eq!(report.figures["reassignments_completed"], 1.0);
    assert!(report.summary.contains("| [0, 1] → [3, 1] | 10.000000 | replaced at 20.000000 |"), "{}", report.summary);
    assert!(report.summary.contains("| orders-0 | [3, 1, 0] → [2, 1] | 20.000000 |"), "{}", report.summary);
    let started = first_line_at(&report, &["reassignment_started", "replacing the reassignment in progress"]);
    assert_eq!(started, Some(20.0));
    assert_eq!(report.figures["lost_records"], 0.0);
}

#[test]
fn an_additional_reassignment_back_to_the_old_replicas_completes_at_once() {
    // The operator rolls back a move that cannot finish by asking for the old replicas: against
    // [3, 1, 0] that removes broker-3 and adds nobody; broker-0 and broker-1 are in the ISR, so
    // the controller completes it in the same change. (Kafka keeps the old addingReplicas when
    // the new list is empty; they go with the completion.)
    let faults = r#"(at_ms: 5000, fault: Crash(Broker(3))), (at_ms: 10000, fault: Reassign("orders", 0, [3, 1])),
        (at_ms: 20000, fault: ReassignAdditional("orders", 0, [0, 1]))"#;
    let report = run(&small(faults, ""));
    let back = first_line_at(&report, &["reassignment_completed", "orders-0"]);
    assert_eq!(back, Some(20.0));
    assert_eq!(report.figures["reassignments_completed"], 1.0);
    assert_eq!(report.figures["reassignment_time_max_ms"], 0.0);
    let p0 = report.partitions.iter().find(|p| p.name == "orders-0").unwrap();
    assert_eq!((p0.replicas.clone(), p0.leader.as_str()), (vec![0, 1], "broker-0"));
}
