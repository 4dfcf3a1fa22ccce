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
