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

/// A rolling restart of the application: each dynamic member's close() sends LeaveGroup and its
/// new process joins afresh, two rebalances per instance; static members (KIP-345) neither
/// leave nor rejoin as new members, so no rebalance, but their partitions wait while they are
/// away. Nothing is processed twice or skipped either way (close() commits first).
#[test]
fn a_rolling_restart_rebalances_dynamic_members_twice_each_and_static_members_never() {
    // Each scenario against itself without the redeploy: how many generations the restarts add.
    let run = |name: &str, redeploy: bool| {
        let mut s = bundled(name);
        if !redeploy {
            s.faults.clear();
        }
        kafkasim::run(&s, &RunOptions::default()).unwrap()
    };
    let added_generations = |name: &str| run(name, true).groups[0].generation - run(name, false).groups[0].generation;
    assert_eq!(added_generations("group-rolling-restart-dynamic"), 6);
    assert_eq!(added_generations("group-rolling-restart-static"), 0);
    let (dynamic, static_) = (run("group-rolling-restart-dynamic", true), run("group-rolling-restart-static", true));
    let f = |r: &kafkasim::Report, name: &str| r.figures[name];
    assert_eq!(dynamic.summary.matches("left the group").count(), 3, "{}", dynamic.summary);
    // Eager dynamic members stop the whole group at each rebalance; a static member's absence
    // stops only its own two partitions (for longer: 5 s each).
    assert_eq!(most_unowned_at_once(&dynamic, 6), 6);
    assert_eq!(most_unowned_at_once(&static_, 6), 2);
    assert!(f(&static_, "paused_partition_seconds") >= 29.0, "{}", static_.summary);
    for r in [&dynamic, &static_] {
        assert_eq!(f(r, "processed_twice_records"), 0.0);
        assert_eq!(f(r, "skipped_records"), 0.0);
        assert_eq!(r.trace.matches("closed: the process exits").count(), 3, "{}", r.trace);
    }
}

/// The most partitions without an owner at one instant after the first assignment, from
/// `ownership.csv` (`group,member,partition,generation,from_s,to_s`; a span owns `[from, to)`).
fn most_unowned_at_once(report: &kafkasim::Report, partitions: usize) -> usize {
    let spans: Vec<(f64, f64)> = report
        .ownership_csv
        .lines()
        .skip(1)
        .map(|row| {
            let cols: Vec<&str> = row.split(',').collect();
            // A span still open at the end has no `to_s`.
            (cols[4].parse().unwrap(), cols[5].parse().unwrap_or(f64::INFINITY))
        })
        .collect();
    let first = spans.iter().map(|s| s.0).fold(f64::MAX, f64::min);
    // The count only grows where a span ends, so look just there.
    spans
        .iter()
        .map(|s| s.1)
        .filter(|&t| t >= first && t.is_finite())
        .map(|t| partitions - spans.iter().filter(|s| s.0 <= t && t < s.1).count())
        .max()
        .unwrap_or(0)
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

/// A group under random member crashes, restarts and scale changes (no pauses, so no member can
/// be a zombie that still thinks it owns a partition).
fn random_group(cooperative: bool, commit: &str, events: &[(u64, u8, u32)]) -> kafkasim::Scenario {
    let mut faults = Vec::new();
    let mut scale = Vec::new();
    let mut last_scale = 0;
    for &(at, kind, member) in events {
        let m = format!("g-{}", member % 3);
        match kind {
            0 => faults.push(format!("(at_ms: {at}, fault: Crash(Node(\"{m}\")))")),
            1 => faults.push(format!("(at_ms: {at}, fault: Restart(Node(\"{m}\")))")),
            _ if at > last_scale => {
                scale.push(format!("(at_ms: {at}, members: {})", 1 + member));
                last_scale = at;
            }
            _ => {}
        }
    }
    let strategy = if cooperative { "[CooperativeSticky]" } else { "[Range]" };
    let src = format!(
        r#"Scenario(
            name: "random-group", description: "members come and go", seed: 5, duration_ms: 60000,
            cluster: (brokers: 3, group_coordinator: (group_initial_rebalance_delay_ms: 0)),
            topics: [(name: "t", partitions: 6, replication_factor: 3, min_insync_replicas: 2)],
            producers: [(name: "p", topic: "t", arrival: Poisson(per_sec: 200.0), key: Uniform(keys: 100), acks: All)],
            consumer_groups: [(name: "g", topics: ["t"], members: 3, scale: [{}],
                partition_assignment_strategy: {strategy}, commit: {commit}, auto_offset_reset: Earliest,
                session_timeout_ms: 6000, heartbeat_interval_ms: 1000, processing_us: 2000)],
            faults: [{}],
        )"#,
        scale.join(", "),
        faults.join(", ")
    );
    kafkasim::scenario::parse("random-group.ron", &src, &[]).unwrap_or_else(|e| panic!("{e}\n{src}"))
}

proptest::proptest! {
    #![proptest_config(crate::support::proptest_config(12))]

    /// Kafka's group guarantees under member failures: no partition is owned by two members at
    /// once, committing after processing never skips a record (at-least-once), and once the
    /// members settle every partition has exactly one running owner.
    #[test]
    fn members_coming_and_going_never_share_a_partition_nor_skip_a_record(
        cooperative in proptest::bool::ANY,
        after_processing in proptest::bool::ANY,
        events in proptest::collection::vec((1000u64..40000, 0u8..3, 0u32..4), 0..6),
    ) {
        let commit = if after_processing { "AfterProcessing" } else { "Auto" };
        let s = random_group(cooperative, commit, &events);
        let report = kafkasim::run(&s, &RunOptions::default()).unwrap();
        let ctx = format!("cooperative={cooperative} commit={commit} events={events:?}");
        proptest::prop_assert_eq!(report.figures["skipped_records"], 0.0, "{}\n{}", ctx, report.summary);
        // ownership.csv: group,member,partition,generation,from_s,to_s
        let mut spans: Vec<(String, String, f64, f64)> = report
            .ownership_csv
            .lines()
            .skip(1)
            .map(|l| {
                let c: Vec<&str> = l.split(',').collect();
                let to = if c[5].is_empty() { f64::INFINITY } else { c[5].parse().unwrap() };
                (c[2].to_string(), c[1].to_string(), c[4].parse().unwrap(), to)
            })
            .collect();
        spans.sort_by(|a, b| a.0.cmp(&b.0).then(a.2.total_cmp(&b.2)));
        for w in spans.windows(2) {
            if w[0].0 == w[1].0 {
                proptest::prop_assert!(w[0].3 <= w[1].2, "{} owned by {} until {} and by {} from {}: {}", w[0].0, w[0].1, w[0].3, w[1].1, w[1].2, ctx);
            }
        }
        // Quiet for the last 20 s: every partition has one running owner at the end.
        let g = &report.groups[0];
        if g.members.iter().any(|m| m.running) {
            let mut owned: Vec<&str> = g.members.iter().filter(|m| m.running).flat_map(|m| m.positions.iter().map(|(p, _)| p.as_str())).collect();
            owned.sort();
            proptest::prop_assert_eq!(owned, vec!["t-0", "t-1", "t-2", "t-3", "t-4", "t-5"], "{}\n{}", ctx, report.summary);
        }
    }
}

/// The chart data `kafkasim run` snapshots for `file` (the series as text).
fn chart_text(report: &kafkasim::Report, file: &str) -> String {
    report.chart_data.iter().find(|(f, _)| f == file).map(|(_, d)| d.clone()).unwrap_or_else(|| panic!("no {file}"))
}

/// A bar of the rebalance timeline: `(member, from, to, label)`.
type TimelineBar = (String, f64, f64, String);

/// The rebalance timeline's bars, and its strip's notes.
fn timeline(text: &str) -> (Vec<TimelineBar>, Vec<String>) {
    let (mut bars, mut notes) = (Vec::new(), Vec::new());
    let mut member = String::new();
    for line in text.lines() {
        if let Some(m) = line.strip_prefix("# row ") {
            member = m.to_string();
        } else if let Some(n) = line.strip_prefix("# strip note ") {
            notes.push(n.splitn(3, ' ').nth(2).unwrap().to_string());
        } else if line.starts_with('#') {
            member.clear();
        } else if !member.is_empty() {
            // "6.004 20.873 lane 0 orders-0 · gen 1"
            let f: Vec<&str> = line.splitn(5, ' ').collect();
            bars.push((member.clone(), f[0].parse().unwrap(), f[1].parse().unwrap(), f[4].to_string()));
        }
    }
    (bars, notes)
}

#[test]
fn the_rebalance_timeline_shows_eager_ending_every_bar_and_cooperative_only_the_moving_ones() {
    let draw = |name: &str| {
        let report = kafkasim::run(&bundled(name), &RunOptions::default()).unwrap();
        assert!(report.charts.iter().any(|(f, png)| f == "rebalances-billing.png" && !png.is_empty()));
        timeline(&chart_text(&report, "rebalances-billing.png"))
    };
    let end = 40.0;
    for (name, moved) in [("group-scale-out-eager", 12), ("group-scale-out-cooperative", 3)] {
        let (bars, notes) = draw(name);
        let members: std::collections::BTreeSet<&str> = bars.iter().map(|b| b.0.as_str()).collect();
        assert_eq!(members.len(), 4, "{name}: a row with bars for each of the 4 members");
        // Every partition is owned at the end, by exactly one bar.
        assert_eq!(bars.iter().filter(|b| b.2 == end).count(), 12, "{name}");
        // Bars that end before the run does: the partitions given up at the scale-out.
        assert_eq!(bars.iter().filter(|b| b.2 < end).count(), moved, "{name}");
        // The new member's bars start after it joined at 20 s.
        assert!(bars.iter().filter(|b| b.0 == "billing-3").all(|b| b.1 > 20.0), "{name}");
        // All the partitions that moved were without an owner at once, before the new assignment.
        assert_eq!(notes, vec![format!("{moved} unowned")], "{name}");
    }
    // Eager: after the scale-out every bar belongs to the new generation; cooperative: the 9
    // partitions that stayed keep the bars of the first generation.
    let (eager, _) = draw("group-scale-out-eager");
    assert!(eager.iter().filter(|b| b.2 == end).all(|b| b.3.ends_with("gen 2")));
    let (cooperative, _) = draw("group-scale-out-cooperative");
    assert_eq!(cooperative.iter().filter(|b| b.2 == end && b.3.ends_with("gen 1")).count(), 9);
}

#[test]
fn the_offsets_chart_draws_each_groups_committed_offset_and_position() {
    let report = kafkasim::run(&bundled("group-zombie-poll-timeout"), &RunOptions::default()).unwrap();
    let text = chart_text(&report, "offsets-orders-0.png");
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("# series ") {
            series.push((name.to_string(), Vec::new()));
        } else if !line.starts_with('#') {
            let (x, y) = line.split_once(' ').unwrap();
            series.last_mut().unwrap().1.push((x.parse().unwrap(), y.parse().unwrap()));
        }
    }
    let points = |name: &str| -> Vec<(f64, f64)> {
        series.iter().filter(|(n, _)| n == name).flat_map(|(_, p)| p.clone()).collect()
    };
    let hw = points("high watermark (leader)");
    let (committed, position) = (points("fulfilment committed"), points("fulfilment position"));
    assert!(!committed.is_empty() && !position.is_empty());
    // Neither passes the high watermark: a consumer only reads (and commits) what is committed.
    for (x, y) in committed.iter().chain(&position) {
        let h = hw.iter().find(|p| p.0 == *x).map(|p| p.1).unwrap();
        assert!(*y <= h, "at {x}: {y} above the high watermark {h}");
    }
    // The zombie's partition is taken over from the last commit: the position goes back.
    assert!(position.windows(2).any(|w| w[1].1 < w[0].1), "the position rewinds to the committed offset");
    // While the partition has no owner the position line has a gap (a second series, not in the legend).
    assert!(series.iter().filter(|(n, _)| n == "fulfilment position").count() >= 2);
}

#[test]
fn smaller_polls_or_a_longer_poll_interval_cure_the_zombie() {
    // S17's fixes: the same slow consumer with max.poll.records 100, or max.poll.interval.ms 60 s.
    let zombie = bundled("group-zombie-poll-timeout");
    assert!(figure(&zombie, "commit_failures") >= 1.0);
    let mut small = zombie.clone();
    small.consumer_groups[0].max_poll_records = 100; // 100 × 50 ms = 5 s per poll < 15 s
    let mut patient = zombie.clone();
    patient.consumer_groups[0].max_poll_interval_ms = 60_000;
    for fixed in [small, patient] {
        let report = kafkasim::run(&fixed, &RunOptions::default()).unwrap();
        assert_eq!(report.figures["commit_failures"], 0.0, "{}", report.summary);
        assert_eq!(report.figures["processed_twice_records"], 0.0, "{}", report.summary);
        assert_eq!(report.figures["rebalances"], 1.0, "{}", report.summary);
    }
}

#[test]
fn auto_offset_reset_none_leaves_a_partition_without_a_committed_offset_unread() {
    let mut s = bundled("group-duplicates-after-crash");
    s.faults.clear();
    s.consumer_groups[0].auto_offset_reset = AutoOffsetReset::None;
    let report = kafkasim::run(&s, &RunOptions::default()).unwrap();
    // A new group has no committed offsets: every partition raises NoOffsetForPartitionException.
    assert_eq!(report.figures["records_consumed"], 0.0);
    assert_eq!(report.trace.matches("NoOffsetForPartitionException").count(), 6, "{}", report.trace);
}
