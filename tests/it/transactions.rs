//! Transactions (KIP-98): what `read_committed` members see of committed and aborted
//! transactions, what waiting for the commit costs them, a transaction left open by a crashed
//! producer (it holds the last stable offset until the coordinator aborts it on its timeout), a
//! zombie producer fenced by that abort, and a coordinator that fails mid-run.

use kafkasim::report::RunOptions;
use kafkasim::scenario::Fault;

use crate::support::{root, run};

fn bundled(name: &str) -> kafkasim::Scenario {
    let mut s = crate::support::load_bundled(&root().join(format!("scenarios/{name}.ron")));
    s.expect.clear();
    s
}

/// Records a group's members processed.
fn processed(report: &kafkasim::Report, group: &str) -> u64 {
    let g = report.groups.iter().find(|g| g.name == group).unwrap();
    g.members.iter().map(|m| m.records_consumed).sum()
}

/// The p50 end-to-end latency of a group, in ms, from the summary's latency table.
fn group_p50_ms(report: &kafkasim::Report, group: &str) -> f64 {
    let prefix = format!("| end-to-end, group {group}");
    let row = report.summary.lines().find(|l| l.starts_with(&prefix)).unwrap();
    row.split('|').nth(3).unwrap().trim().parse().unwrap()
}

/// A group's lag (records behind the high watermark, over its partitions) at the interval
/// ending at `t_s`, from `group_offsets.csv`.
fn lag_at(report: &kafkasim::Report, group: &str, t_s: f64) -> u64 {
    report
        .group_offsets_csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f[1] == group && (f[0].parse::<f64>().unwrap() - t_s).abs() < 1e-6)
        .map(|f| f[6].parse::<u64>().unwrap())
        .sum()
}

/// When a trace line of `what` was written, in s.
pub(crate) fn traced_at(report: &kafkasim::Report, what: &str) -> Option<f64> {
    report.trace.lines().find(|l| l.contains(what)).map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
}

#[test]
fn read_committed_never_sees_an_aborted_record_and_read_uncommitted_sees_them_all() {
    // Every transaction aborted.
    let mut s = bundled("transactions-read-committed");
    s.producers[0].transactions.as_mut().unwrap().abort_probability = 1.0;
    let report = run(&s);
    let acked = report.figures["records_acked"];
    assert_eq!(processed(&report, "payouts"), 0, "read_committed processes no aborted record");
    assert!(processed(&report, "dashboard") as f64 > 0.97 * acked, "read_uncommitted processes them");
    // Every aborted record was skipped, except the last transaction's, still open at the end.
    let skipped = report.figures["aborted_records_skipped"];
    assert_eq!(skipped, report.figures["aborted_records_produced"]);
    assert!(skipped > 0.95 * acked, "{skipped} of {acked} skipped");
    assert_eq!(report.figures["transactions_committed"], 0.0);
    // Passing over aborted records and markers is no skip (no data was lost).
    assert_eq!(report.figures["skipped_records"], 0.0);
}

#[test]
fn with_nothing_aborted_read_committed_gets_every_record_and_skips_none() {
    let mut s = bundled("transactions-read-committed");
    s.producers[0].transactions.as_mut().unwrap().abort_probability = 0.0;
    let report = run(&s);
    let acked = report.figures["records_acked"] as u64;
    let committed = processed(&report, "payouts");
    // All but the last transaction's records (100 ms at 2,000/s) and those being processed.
    assert!(committed + 400 >= acked && committed <= acked, "{committed} of {acked}");
    assert_eq!(processed(&report, "dashboard"), acked);
    assert_eq!(report.figures["aborted_records_skipped"], 0.0);
    assert_eq!(report.figures["transactions_aborted"], 0.0);
    assert_eq!(report.figures["skipped_records"], 0.0, "markers are passed over, not skipped");
    assert_eq!(report.figures["processed_twice_records"], 0.0);
}

#[test]
fn the_default_scenario_skips_exactly_what_the_producer_aborted() {
    let report = run(&bundled("transactions-read-committed"));
    let aborted = report.figures["aborted_records_produced"];
    assert!(aborted > 1000.0);
    assert_eq!(report.figures["aborted_records_skipped"], aborted);
    // The read_uncommitted group processed the aborted records too: the difference between the
    // two groups is the aborted records plus the last open transaction.
    let difference = processed(&report, "dashboard") as f64 - processed(&report, "payouts") as f64;
    assert!(difference >= aborted && difference < aborted + 400.0, "{difference} against {aborted} aborted");
}

#[test]
fn read_committed_latency_follows_the_commit_interval_and_read_uncommitted_does_not_wait() {
    let mut p50 = Vec::new();
    for interval in [50, 400] {
        let mut s = bundled("transactions-read-committed");
        s.producers[0].transactions.as_mut().unwrap().commit_interval_ms = interval;
        let report = run(&s);
        let committed = group_p50_ms(&report, "payouts");
        let uncommitted = group_p50_ms(&report, "dashboard");
        // A record waits for the end of its transaction: on average half the interval.
        assert!(
            committed > 0.35 * interval as f64 && committed < 0.65 * interval as f64 + 15.0,
            "interval {interval} ms: read_committed p50 {committed} ms"
        );
        assert!(uncommitted < 15.0, "interval {interval} ms: read_uncommitted p50 {uncommitted} ms");
        p50.push(committed);
    }
    assert!(p50[1] > 4.0 * p50[0], "{p50:?}");
}

#[test]
fn a_crashed_producers_open_transaction_blocks_read_committed_until_its_timeout() {
    let s = bundled("transactions-hanging");
    let report = run(&s);
    // Crash at 3.05 s; transaction.timeout.ms 10 s, checked every second.
    let aborted = traced_at(&report, "txn_timeout").expect("the coordinator aborts the transaction");
    assert!((13.05..=14.1).contains(&aborted), "aborted at {aborted} s");
    assert_eq!(report.figures["transactions_timed_out"], 1.0);
    // Meanwhile the plain producer (300 records/s) wrote on, below the same last stable offset:
    // the read_committed group read none of it.
    let stalled = lag_at(&report, "payouts", 13.9);
    let expected = 300.0 * (13.9 - 3.05);
    assert!(stalled as f64 > 0.9 * expected, "lag {stalled} at 13.9 s against {expected} written since the crash");
    // The read_uncommitted group never waited.
    for t in [5.0, 9.0, 13.9] {
        assert!(lag_at(&report, "dashboard", t) < 100, "read_uncommitted lag at {t} s");
    }
    // Once the ABORT markers are written, read_committed catches up.
    assert!(lag_at(&report, "payouts", 16.0) < 100);
    assert_eq!(report.figures["lost_records"], 0.0);

    // A longer timeout holds the last stable offset longer.
    let mut longer = s.clone();
    longer.producers[0].transactions.as_mut().unwrap().transaction_timeout_ms = 15_000;
    let longer = run(&longer);
    let aborted = traced_at(&longer, "txn_timeout").unwrap();
    assert!((18.05..=19.1).contains(&aborted), "aborted at {aborted} s");
}

#[test]
fn a_paused_producer_comes_back_fenced_as_a_zombie() {
    let mut s = bundled("transactions-hanging");
    // A 12 s pause (a long GC) instead of a crash: the coordinator aborts its transaction at
    // about 14 s and bumps its epoch; at 15.05 s the producer wakes up and is fenced.
    s.faults[0].fault = Fault::Pause(kafkasim::scenario::Target::Node("ledger".into()), 12_000);
    let report = run(&s);
    assert_eq!(report.figures["transactions_timed_out"], 1.0);
    assert_eq!(report.figures["producers_fenced"], 1.0);
    let fenced = traced_at(&report, "ProducerFencedException").expect("the producer is fenced");
    assert!((15.05..15.2).contains(&fenced), "fenced at {fenced} s");
    // After that only the plain producer's records are acknowledged.
    let acked_after: Vec<f64> = report
        .metrics_csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f[0].parse::<f64>().unwrap() > 16.0)
        .map(|f| f[2].parse().unwrap())
        .collect();
    let header: Vec<&str> = report.metrics_csv.lines().next().unwrap().split(',').collect();
    assert_eq!(header[2], "acked_per_sec");
    let mean = acked_after.iter().sum::<f64>() / acked_after.len() as f64;
    assert!((mean - 300.0).abs() < 30.0, "{mean} records/s acknowledged after the fencing");
    // The zombie's writes after the pause are refused, not appended: nothing lost, nothing twice.
    assert_eq!(report.figures["lost_records"], 0.0);
    assert_eq!(report.figures["duplicate_records"], 0.0);
    assert_eq!(report.figures["processed_twice_records"], 0.0);
}

#[test]
fn transactions_go_on_after_their_coordinator_fails() {
    let mut s = bundled("transactions-read-committed");
    s.duration_ms = 20_000;
    s.producers[0].transactions.as_mut().unwrap().abort_probability = 0.0;
    // Find the coordinator from a first run's detailed trace.
    let detailed = RunOptions { trace: kafkasim::sim::TraceLevel::All, ..RunOptions::default() };
    let first = kafkasim::run(&s, &detailed).unwrap();
    let line = first.trace.lines().find(|l| l.contains("transaction coordinator is broker-")).unwrap();
    let coordinator: u32 = line.rsplit("broker-").next().unwrap().trim().parse().unwrap();
    // Stop it at 3 s (a controlled shutdown: its partitions get new leaders at once, so only the
    // coordinator moves), start it again at 12 s.
    let at = |ms, fault| kafkasim::scenario::FaultAt { at_ms: ms, fault };
    s.faults = vec![
        at(3_000, Fault::Shutdown(kafkasim::scenario::Target::Broker(coordinator))),
        at(12_000, Fault::Restart(kafkasim::scenario::Target::Broker(coordinator))),
    ];
    let report = kafkasim::run(&s, &detailed).unwrap();
    let commits: Vec<(f64, String)> = report
        .trace
        .lines()
        .filter(|l| l.contains("txn_complete") && l.contains("CompleteCommit"))
        .map(|l| {
            let mut f = l.split_whitespace();
            (f.next().unwrap().parse().unwrap(), f.next().unwrap().to_string())
        })
        .collect();
    // The producer finds the next coordinator, which completes the transaction in progress and
    // the following ones, about one every 100 ms while the first is down.
    let meanwhile: Vec<&(f64, String)> = commits.iter().filter(|(t, _)| (3.6..12.0).contains(t)).collect();
    assert!(meanwhile.len() > 70, "{} commits while the coordinator was down", meanwhile.len());
    assert!(meanwhile.iter().all(|(_, b)| *b != format!("broker-{coordinator}")));
    let first_after = commits.iter().find(|(t, _)| *t > 3.0).unwrap().0;
    assert!(first_after < 4.0, "the transaction in progress completed at {first_after} s");
    assert_eq!(report.figures["lost_records"], 0.0);
    assert_eq!(report.figures["duplicate_records"], 0.0);
    assert_eq!(report.figures["producers_fenced"], 0.0);
    // The read_committed group is not left behind.
    assert!(lag_at(&report, "payouts", 19.9) < 1000, "lag {}", lag_at(&report, "payouts", 19.9));
}
