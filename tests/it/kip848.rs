//! KIP-848 consumer groups (`group.protocol=consumer`) end to end: the scale-out moves only what
//! the uniform assignor moves and stops no one else, each moving partition waits only for its
//! own owner, and a member paused past its session is fenced, refused, and joins again at epoch 0
//! (kafka-reference §4.8).

use kafkasim::report::Report;

use crate::support::{root, run};

fn bundled(name: &str) -> kafkasim::Scenario {
    crate::support::load_bundled(&root().join("scenarios").join(format!("{name}.ron")))
}

/// One row of `ownership.csv`: who owned which partition from when to when.
struct Span {
    member: String,
    partition: String,
    from_s: f64,
    to_s: Option<f64>,
}

fn spans(report: &Report) -> Vec<Span> {
    report
        .ownership_csv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Span {
                member: f[1].to_string(),
                partition: f[2].to_string(),
                from_s: f[4].parse().unwrap(),
                to_s: (!f[5].is_empty()).then(|| f[5].parse().unwrap()),
            }
        })
        .collect()
}

/// Partition-seconds without an owner between `from_s` and the end of the run, partition by
/// partition from its ownership spans.
fn unowned_after(report: &Report, from_s: f64) -> f64 {
    let end = report.scenario.duration_ms as f64 / 1000.0;
    let spans = spans(report);
    let mut partitions: Vec<&str> = spans.iter().map(|s| s.partition.as_str()).collect();
    partitions.sort_unstable();
    partitions.dedup();
    partitions
        .iter()
        .map(|p| {
            let owned: f64 = spans
                .iter()
                .filter(|s| s.partition == *p)
                .map(|s| (s.to_s.unwrap_or(end).min(end) - s.from_s.max(from_s)).max(0.0))
                .sum();
            (end - from_s) - owned
        })
        .sum()
}

#[test]
fn a_scale_out_moves_three_partitions_and_stops_no_one_else() {
    let report = run(&bundled("group-scale-out-kip848"));
    let spans = spans(&report);
    // After the start-up, exactly the 3 partitions that move end a span: one from each old member.
    let ended: Vec<&Span> = spans.iter().filter(|s| s.to_s.is_some_and(|t| t > 1.0)).collect();
    assert_eq!(ended.len(), 3, "spans ending after 1 s: {}", ended.len());
    let mut from: Vec<&str> = ended.iter().map(|s| s.member.as_str()).collect();
    from.sort_unstable();
    assert_eq!(from, ["billing-0", "billing-1", "billing-2"]);
    // Each moving partition waits for its own owner's revocation and the new member's next
    // heartbeat (250 ms), not for the group.
    for s in &ended {
        let next = spans.iter().find(|n| n.partition == s.partition && n.from_s >= s.to_s.unwrap()).unwrap();
        assert_eq!(next.member, "billing-3");
        let gap = next.from_s - s.to_s.unwrap();
        assert!(gap < 0.3, "{} unowned for {gap} s", s.partition);
    }
    // Uniform: 3 partitions each at the end.
    for m in 0..4 {
        let member = format!("billing-{m}");
        let owned = spans.iter().filter(|s| s.member == member && s.to_s.is_none()).count();
        assert_eq!(owned, 3, "{member}");
    }
    assert_eq!(report.figures["processed_twice_records"], 0.0);
    assert_eq!(report.figures["skipped_records"], 0.0);
    // No classic rebalance: group epochs move on, no join completes.
    assert!(!report.trace.contains("join complete") && report.trace.contains("group epoch"));
}

#[test]
fn the_scale_out_pauses_fewer_partition_seconds_than_eager_over_seeds() {
    // From 10 s on (the scale-out at 20 s), eager stops all 12 partitions; KIP-848 stops only the
    // 3 that move, each until the new member's next heartbeat.
    let (mut eager_total, mut kip848_total) = (0.0, 0.0);
    for seed in 1..=6 {
        let (mut e, mut k) = (bundled("group-scale-out-eager"), bundled("group-scale-out-kip848"));
        e.seed = seed;
        k.seed = seed;
        eager_total += unowned_after(&run(&e), 10.0);
        kip848_total += unowned_after(&run(&k), 10.0);
    }
    assert!(kip848_total < eager_total, "KIP-848 {kip848_total} vs eager {eager_total}");
    assert!(kip848_total > 0.0, "the moving partitions do wait for their new owner");
}

#[test]
fn a_member_paused_past_its_session_is_fenced_refused_and_rejoins_at_epoch_zero() {
    let report = run(&bundled("group-kip848-member-fenced"));
    let t = &report.trace;
    let find = |needle: &str| t.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("no {needle:?}"));
    let seconds = |line: &str| line.split_whitespace().next().unwrap().parse::<f64>().unwrap();
    // The pause starts at 15 s; the session (10 s) expires at the coordinator some time after
    // the last heartbeat before it.
    let removed = find("analytics-2 session timeout");
    assert!((24.0..26.0).contains(&seconds(removed)), "{removed}");
    // On waking at 35 s, the zombie's commit and heartbeat are refused; it loses its partitions
    // without committing and joins again with its own member id at epoch 0.
    let refused = find("analytics-2      commit failed");
    assert!(refused.contains("UNKNOWN_MEMBER_ID"), "{refused}");
    let fenced = find("analytics-2      fenced");
    assert!(seconds(fenced) >= 35.0);
    assert!(find("analytics-2      partitions lost").contains("clicks-2 clicks-5"));
    let joined: Vec<&str> = t.lines().filter(|l| l.contains("member joined") && l.contains("analytics-2")).collect();
    assert_eq!(joined.len(), 2, "joined at the start and after the fencing");
    let id = |l: &str| l.split("id=").nth(1).unwrap().to_string();
    assert_eq!(id(joined[0]), id(joined[1]), "a KIP-848 member keeps the id it made");
    // While it was away, its partitions were owned by the others: none was unowned for more than
    // a heartbeat interval after the fencing, and the others never stopped theirs.
    let spans = spans(&report);
    for p in ["clicks-2", "clicks-5"] {
        let taken = spans.iter().find(|s| s.partition == p && s.member != "analytics-2").unwrap();
        assert!(taken.from_s - seconds(removed) < 1.1, "{p} taken at {}", taken.from_s);
    }
    let others_stopped = spans
        .iter()
        .filter(|s| s.member != "analytics-2" && !["clicks-2", "clicks-5"].contains(&s.partition.as_str()))
        .filter(|s| s.to_s.is_some_and(|t| t > 1.0))
        .count();
    assert_eq!(others_stopped, 0);
    assert_eq!(report.figures["skipped_records"], 0.0);
}

#[test]
fn a_classic_group_and_a_consumer_group_assign_the_same_partitions_differently_but_both_balance() {
    // The same scenario under both protocols: both end balanced (3 partitions each).
    let classic = {
        let mut s = bundled("group-scale-out-kip848");
        s.consumer_groups[0].group_protocol = kafkasim::scenario::GroupProtocol::Classic;
        run(&s)
    };
    for report in [&classic, &run(&bundled("group-scale-out-kip848"))] {
        let spans = spans(report);
        for m in 0..4 {
            let member = format!("billing-{m}");
            assert_eq!(spans.iter().filter(|s| s.member == member && s.to_s.is_none()).count(), 3);
        }
    }
    assert!(classic.trace.contains("join complete") && !classic.trace.contains("group epoch"));
}

/// A consumer-protocol group of 3 members on 6 partitions under a fault schedule: broker crashes
/// and isolations (the coordinator among them), member pauses, and one member crash, restarted
/// at 12 s with everything else.
fn scenario(faults: &[(u64, u8, u32)], static_members: bool, range: bool) -> kafkasim::Scenario {
    let assignor = if range { "Range" } else { "Uniform" };
    let mut list = Vec::new();
    let mut crashed = None;
    // A static member shuts down (it leaves with epoch -2) rather than crashing: a crashed one
    // restarted within its session is refused its instance id, fatally, as in Kafka.
    let stop = if static_members { "Shutdown" } else { "Crash" };
    for &(at_ms, kind, target) in faults {
        let fault = match kind % 5 {
            0 => format!("Crash(Broker({}))", target % 3),
            1 => format!("Isolate(Broker({}))", target % 3),
            2 if crashed.is_none() => {
                crashed = Some(target % 3);
                format!("{stop}(Node(\"g-{}\"))", target % 3)
            }
            3 => format!("Pause(Node(\"g-{}\"), {})", target % 3, 2000 + 2000 * (target % 5)),
            _ => "Heal".to_string(),
        };
        list.push(format!("(at_ms: {at_ms}, fault: {fault})"));
    }
    list.push("(at_ms: 12000, fault: Heal)".into());
    for b in 0..3 {
        list.push(format!("(at_ms: 12000, fault: Restart(Broker({b})))"));
    }
    if let Some(m) = crashed {
        list.push(format!("(at_ms: 12000, fault: Restart(Node(\"g-{m}\")))"));
    }
    let src = format!(
        r#"Scenario(
            name: "kip848-property", description: "random faults under a KIP-848 group", seed: 7, duration_ms: 45000,
            cluster: (brokers: 3,
                      group_coordinator: (group_consumer_heartbeat_interval_ms: 500, group_consumer_session_timeout_ms: 6000),
                      replication: (replica_lag_time_max_ms: 3000, replica_socket_timeout_ms: 3000),
                      controller: (broker_heartbeat_interval_ms: 500, broker_session_timeout_ms: 2000)),
            topics: [(name: "in", partitions: 6, replication_factor: 3, min_insync_replicas: 2)],
            producers: [(name: "p", topic: "in", arrival: Poisson(per_sec: 300.0), request_timeout_ms: 1000, stop_ms: 10000)],
            consumer_groups: [(
                name: "g", topics: ["in"], members: 3, auto_offset_reset: Earliest, group_protocol: Consumer,
                max_poll_interval_ms: 10000, processing_us: 300, static_membership: {static_members},
                group_remote_assignor: {assignor},
            )],
            faults: [{faults}],
        )"#,
        faults = list.join(", ")
    );
    kafkasim::scenario::parse("kip848-property.ron", &src, &[]).unwrap_or_else(|e| panic!("{e}\n{src}"))
}

proptest::proptest! {
    // 12 cases in CI; PROPTEST_CASES=500 for a longer search.
    #![proptest_config(crate::support::proptest_config(12))]

    #[test]
    fn random_faults_leave_a_kip848_group_balanced_caught_up_and_skipping_nothing(
        faults in proptest::collection::vec((500u64..11000, 0u8..5, 0u32..15), 1..6),
        static_members in proptest::bool::ANY,
        range in proptest::bool::ANY,
    ) {
        let s = scenario(&faults, static_members, range);
        let mut sim = kafkasim::Simulation::new(&s);
        while sim.step().is_some() {
            let v = sim.check_invariants();
            proptest::prop_assert!(v.is_empty(), "{v:?} with faults {faults:?}");
        }
        let report = kafkasim::report::report_of(sim, &Default::default()).unwrap();
        proptest::prop_assert_eq!(report.figures["skipped_records"], 0.0, "faults {:?}\n{}", faults, report.summary);
        // A static member that could not leave with epoch -2 (its coordinator unreachable when
        // it closed) is refused its instance id when it comes back within its session, fatally,
        // as in Kafka. No other failure.
        let failed: Vec<&str> = report.trace.lines().filter(|l| l.contains("consumer failed")).collect();
        for l in &failed {
            proptest::prop_assert!(static_members && l.contains("UNRELEASED_INSTANCE_ID"), "{l}, faults {:?}", faults);
        }
        // Healed at 12 s: the others converge on an even share and the group reads everything.
        let g = &report.groups[0];
        proptest::prop_assert_eq!(g.lag_records, 0, "faults {:?}\n{}", faults, report.summary);
        // (A member whose close() waited out its commit to an unreachable coordinator may still
        // have been running when its restart came, and exited later: it is not running.)
        let working: Vec<_> = g
            .members
            .iter()
            .filter(|m| m.running && !failed.iter().any(|l| l.contains(&format!(" {} ", m.name))))
            .collect();
        proptest::prop_assert!(!working.is_empty());
        for m in &working {
            proptest::prop_assert_eq!(m.positions.len(), 6 / working.len(), "{} at the end, faults {:?}\n{}", m.name, faults, report.summary);
        }
        proptest::prop_assert_eq!(g.state, "Stable", "faults {:?}\n{}", faults, report.summary);
    }
}

#[test]
fn a_member_that_does_not_revoke_within_its_rebalance_timeout_is_fenced() {
    // Two members on 4 partitions; a third joins at 10 s. The uniform assignor's quotas in
    // member-id order are 2, 1, 1: g-1 must give up one of its two partitions. It has a rebalance
    // listener (`commit_on_revoke`), so it revokes at its next poll(), up to 5 s later; but it
    // pauses at 10.6 s for 20 s, after its heartbeat told it to revoke and before that poll. The
    // coordinator fences it after its rebalance timeout (max.poll.interval.ms, 6 s), long before
    // its session (30 s) would expire.
    let src = r#"Scenario(
        name: "revoke-timeout", description: "a member that cannot revoke", seed: 3, duration_ms: 30000,
        cluster: (brokers: 3, group_coordinator: (group_consumer_heartbeat_interval_ms: 500,
                                                  group_consumer_session_timeout_ms: 30000)),
        topics: [(name: "in", partitions: 4, replication_factor: 3, min_insync_replicas: 2)],
        producers: [(name: "p", topic: "in", arrival: Poisson(per_sec: 200.0))],
        consumer_groups: [(name: "g", topics: ["in"], members: 2, scale: [(at_ms: 10000, members: 3)],
                           group_protocol: Consumer, max_poll_interval_ms: 6000, auto_offset_reset: Earliest,
                           commit_on_revoke: true, poll_processing_ms: 5000)],
        faults: [(at_ms: 10600, fault: Pause(Node("g-1"), 20000))],
    )"#;
    let report = crate::support::run_inline("revoke-timeout.ron", src);
    let line = report
        .trace
        .lines()
        .find(|l| l.contains("member removed") && l.contains("did not revoke"))
        .unwrap_or_else(|| panic!("no revocation timeout:\n{}", report.trace));
    assert!(line.contains("g-1 did not revoke"), "{line}");
    let at: f64 = line.split_whitespace().next().unwrap().parse().unwrap();
    assert!((15.9..16.7).contains(&at), "fenced at {at} s: {line}");
    assert!(!report.trace.contains("g-1 session timeout"));
}

#[test]
fn static_members_restart_without_a_new_group_epoch_and_get_their_partitions_back() {
    let report = run(&bundled("group-kip848-static-rolling-restart"));
    let t = &report.trace;
    // No group epoch after the start: every restart is a replacement.
    let epochs: Vec<&str> = t.lines().filter(|l| l.contains("group epoch")).collect();
    assert!(epochs.iter().all(|l| l.split_whitespace().next().unwrap().parse::<f64>().unwrap() < 1.0), "{epochs:?}");
    assert_eq!(t.lines().filter(|l| l.contains("static member rejoined")).count(), 3);
    assert_eq!(t.lines().filter(|l| l.contains("heartbeat with epoch -2")).count(), 3);
    // Each member owns the same partitions before and after its restart.
    let spans = spans(&report);
    for m in 0..3 {
        let member = format!("analytics-{m}");
        // (Spans that ended at its close; the start-up's hand-over ended before 1 s.)
        let mut first: Vec<&str> = spans
            .iter()
            .filter(|s| s.member == member && s.to_s.is_some_and(|t| t > 1.0))
            .map(|s| s.partition.as_str())
            .collect();
        let mut last: Vec<&str> =
            spans.iter().filter(|s| s.member == member && s.to_s.is_none()).map(|s| s.partition.as_str()).collect();
        first.sort_unstable();
        last.sort_unstable();
        assert_eq!(first, last, "{member}");
        assert_eq!(last.len(), 2, "{member}");
    }
    assert_eq!(report.groups[0].state, "Stable");
}

#[test]
fn a_crashed_static_member_restarted_within_its_session_is_refused_its_instance_id() {
    // The same group, but analytics-0 crashes (no leave with epoch -2) and is back after 5 s,
    // within its 30 s session: its instance id is still held, and the Java client treats
    // UNRELEASED_INSTANCE_ID as fatal. Its partitions move only when the old session expires.
    let s = kafkasim::scenario::load(
        &root().join("scenarios/group-kip848-static-rolling-restart.ron"),
        &[(
            "faults".into(),
            r#"[(at_ms: 10000, fault: Crash(Node("analytics-0"))), (at_ms: 15000, fault: Restart(Node("analytics-0")))]"#
                .into(),
        )],
    )
    .unwrap();
    let report = run(&s);
    let t = &report.trace;
    let failed = t.lines().find(|l| l.contains("consumer failed")).unwrap_or_else(|| panic!("{t}"));
    assert!(failed.contains("analytics-0") && failed.contains("UNRELEASED_INSTANCE_ID"), "{failed}");
    let expired = t.lines().find(|l| l.contains("analytics-0 session timeout")).expect("the old session expires");
    let at: f64 = expired.split_whitespace().next().unwrap().parse().unwrap();
    assert!((39.0..41.5).contains(&at), "{expired}");
    // Then its partitions go to the other two.
    let spans = spans(&report);
    let held = spans.iter().filter(|s| s.member == "analytics-0" && s.to_s.is_some_and(|t| t > 1.0));
    for p in held.map(|s| s.partition.clone()) {
        assert!(spans.iter().any(|s| s.partition == p && s.member != "analytics-0" && s.from_s >= at), "{p}");
    }
}
