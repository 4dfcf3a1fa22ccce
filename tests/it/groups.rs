//! Consumer groups end to end: eager versus cooperative rebalancing, static membership, the
//! coordinator's placement, offset expiry and auto.offset.reset (kafka-reference §4).

use kafkasim::report::RunOptions;
use kafkasim::scenario::AutoOffsetReset;

use crate::support::root;

fn bundled(name: &str) -> kafkasim::Scenario {
    crate::support::load_bundled(&root().join("scenarios").join(format!("{name}.ron")))
}

fn figure(s: &kafkasim::Scenario, name: &str) -> f64 {
    kafkasim::run(s, &RunOptions::default()).unwrap().figures[name]
}

#[test]
fn cooperative_rebalancing_pauses_fewer_partition_seconds_than_eager() {
    let eager = bundled("group-scale-out-eager");
    let cooperative = bundled("group-scale-out-cooperative");
    // The bundled pair, same seed: strictly fewer with cooperative.
    let (e, c) = (figure(&eager, "paused_partition_seconds"), figure(&cooperative, "paused_partition_seconds"));
    assert!(c < e, "cooperative {c} vs eager {e}");
    // And in total over other seeds (a single run depends on where each member is in its poll
    // loop when it learns of the rebalance).
    let (mut eager_total, mut cooperative_total) = (0.0, 0.0);
    for seed in 1..=6 {
        let (mut e, mut c) = (eager.clone(), cooperative.clone());
        e.seed = seed;
        c.seed = seed;
        eager_total += figure(&e, "paused_partition_seconds");
        cooperative_total += figure(&c, "paused_partition_seconds");
    }
    assert!(cooperative_total < eager_total, "cooperative {cooperative_total} vs eager {eager_total}");
}

#[test]
fn eager_revokes_everything_and_cooperative_only_what_moves() {
    let revoked = |name: &str| {
        let report = kafkasim::run(&bundled(name), &RunOptions::default()).unwrap();
        let lines: Vec<String> = report.trace.lines().filter(|l| l.contains(" revoked ")).map(String::from).collect();
        // Count the partitions named in the revocations.
        let partitions: usize = lines
            .iter()
            .map(|l| l.split("partitions=[").nth(1).unwrap().split(']').next().unwrap().split_whitespace().count())
            .sum();
        (partitions, report.figures["rebalances"])
    };
    let (eager_revoked, eager_rebalances) = revoked("group-scale-out-eager");
    let (cooperative_revoked, cooperative_rebalances) = revoked("group-scale-out-cooperative");
    // 3 members own all 12 partitions and give them all back.
    assert_eq!(eager_revoked, 12);
    // 12 partitions over 4 members: 3 move, one from each old member, in two rebalances.
    assert_eq!(cooperative_revoked, 3);
    assert_eq!(cooperative_rebalances, eager_rebalances + 1.0);
}

#[test]
fn a_dynamic_member_paused_past_its_session_is_evicted_where_a_static_one_is_not() {
    let static_member = bundled("group-static-member-pause");
    assert_eq!(figure(&static_member, "rebalances"), 1.0);
    let mut dynamic = static_member.clone();
    dynamic.consumer_groups[0].static_membership = false;
    dynamic.consumer_groups[0].session_timeout_ms = 10_000;
    // Evicted after 10 s of silence, then rejoining when the pause ends: two more rebalances.
    assert!(figure(&dynamic, "rebalances") >= 3.0);
}

#[test]
fn restarting_after_offset_expiry_with_earliest_skips_nothing() {
    let latest = bundled("group-offsets-expire");
    assert!(figure(&latest, "skipped_records") > 0.0);
    let mut earliest = latest.clone();
    earliest.consumer_groups[0].auto_offset_reset = AutoOffsetReset::Earliest;
    assert_eq!(figure(&earliest, "skipped_records"), 0.0);
    // The retained log is read again from its start.
    assert!(figure(&earliest, "processed_twice_records") > 0.0);
}

#[test]
fn the_coordinator_is_the_leader_of_the_groups_offsets_partition() {
    // Java: abs("billing".hashCode()) % 50 = abs(-109829509) % 50 = 9; "payments" → 13.
    assert_eq!(kafkasim::group::coordinator::offsets_partition_for("billing", 50), 9);
    assert_eq!(kafkasim::group::coordinator::offsets_partition_for("payments", 50), 13);
    // With 3 brokers, partition 9 of __consumer_offsets is led by broker 9 % 3 = 0.
    let report = kafkasim::run(&bundled("quickstart"), &RunOptions::default()).unwrap();
    assert_eq!(report.groups[0].coordinator.as_deref(), Some("broker-0"));
}

#[test]
fn the_coordinator_moves_with_the_offsets_partition_without_a_rebalance() {
    let report = kafkasim::run(&bundled("group-coordinator-failover"), &RunOptions::default()).unwrap();
    // broker-0 led __consumer_offsets partition 9 and crashed; another replica coordinates now.
    let coordinator = report.groups[0].coordinator.clone().unwrap();
    assert_ne!(coordinator, "broker-0");
    assert!(report.trace.contains(&format!("{coordinator:<16} coordinator        group=billing loaded")));
    assert_eq!(report.figures["rebalances"], 1.0);
    assert_eq!(report.figures["processed_twice_records"], 0.0);
}

#[test]
fn a_static_member_restarting_within_its_session_gets_its_partitions_back_without_a_rebalance() {
    use kafkasim::scenario::{Fault, FaultAt, Target};
    let mut s = bundled("group-static-member-pause");
    let member = Target::Node("analytics-2".into());
    s.faults = vec![
        FaultAt { at_ms: 15_000, fault: Fault::Crash(member.clone()) },
        FaultAt { at_ms: 25_000, fault: Fault::Restart(member) },
    ];
    let report = kafkasim::run(&s, &RunOptions::default()).unwrap();
    assert_eq!(report.figures["rebalances"], 1.0, "KIP-345: same instance id, no rebalance");
    assert!(report.trace.contains("static member rejoined"));
    let view = &report.groups[0];
    let restarted = view.members.iter().find(|m| m.name == "analytics-2").unwrap();
    assert!(restarted.running && !restarted.positions.is_empty(), "it owns partitions again: {restarted:?}");
    // A dynamic member restarting is a new member: its old one is removed, then it joins.
    s.consumer_groups[0].static_membership = false;
    s.consumer_groups[0].session_timeout_ms = 10_000;
    assert!(figure(&s, "rebalances") >= 2.0);
}
