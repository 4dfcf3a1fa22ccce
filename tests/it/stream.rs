//! The Spark-like stream processor (a consumer group with `stream`): the trigger against
//! latency, falling behind, the watermark against late data, and recovery from the checkpoint.

use std::collections::BTreeMap;

use kafkasim::Simulation;
use kafkasim::metrics::StreamBatch;
use kafkasim::report::RunOptions;

use crate::support::root;

fn bundled(name: &str) -> kafkasim::Scenario {
    crate::support::load_bundled(&root().join("scenarios").join(format!("{name}.ron")))
}

/// Every micro-batch of a run, in the order they started.
fn batches(scenario: &kafkasim::Scenario) -> Vec<StreamBatch> {
    let mut sim = Simulation::new(scenario);
    sim.run();
    sim.recorder().groups.stream_batches.clone()
}

/// The count written for each window (start in ms) by batches that completed.
fn window_counts(batches: &[StreamBatch]) -> BTreeMap<u64, u64> {
    let mut out = BTreeMap::new();
    for b in batches.iter().filter(|b| !b.aborted) {
        for &(start, _, count) in &b.emitted {
            assert!(out.insert(start.as_nanos() / 1_000_000, count).is_none(), "window {start} written twice");
        }
    }
    out
}

/// The same for a run with crashes, where a batch that wrote its windows but crashed before
/// its commit landed runs again and writes them again (at-least-once output): each rewrite must
/// carry the same count (an idempotent sink then holds one row per window).
fn window_counts_rewritten_alike(batches: &[StreamBatch]) -> Result<BTreeMap<u64, u64>, String> {
    let mut out = BTreeMap::new();
    for b in batches.iter().filter(|b| !b.aborted) {
        for &(start, _, count) in &b.emitted {
            if let Some(before) = out.insert(start.as_nanos() / 1_000_000, count)
                && before != count
            {
                return Err(format!("window {start} written with {before}, then with {count}"));
            }
        }
    }
    Ok(out)
}

#[test]
fn a_shorter_trigger_interval_cuts_latency_and_runs_more_batches() {
    let slow = bundled("stream-micro-batch-trigger");
    let mut fast = slow.clone();
    fast.consumer_groups[0].stream.as_mut().unwrap().trigger_ms = 100;
    let run = |s: &kafkasim::Scenario| kafkasim::run(s, &RunOptions::default()).unwrap().figures;
    let (a, b) = (run(&slow), run(&fast));
    // A record waits half an interval on average for its batch: about 450 ms less at 100 ms.
    let saved = a["e2e_latency_p50_ms"] - b["e2e_latency_p50_ms"];
    assert!((300.0..600.0).contains(&saved), "p50 {} → {}", a["e2e_latency_p50_ms"], b["e2e_latency_p50_ms"]);
    assert!(b["stream_batches"] > 8.0 * a["stream_batches"], "{} vs {}", b["stream_batches"], a["stream_batches"]);
    // Every record is still counted once: the same windows, the same counts.
    let mut fast_windows = window_counts(&batches(&fast));
    let slow_windows = window_counts(&batches(&slow));
    fast_windows.retain(|w, _| slow_windows.contains_key(w));
    assert_eq!(fast_windows, slow_windows);
}

#[test]
fn a_query_slower_than_its_trigger_falls_further_behind_with_every_batch() {
    let b: Vec<StreamBatch> =
        batches(&bundled("stream-falling-behind")).into_iter().filter(|b| b.input_rows > 0).collect();
    assert!(b.len() >= 6);
    for pair in b.windows(2) {
        // Each batch starts as soon as the last one ends, with more rows, and takes longer.
        assert!(pair[1].start.as_nanos() - pair[0].end.as_nanos() < 2_000_000, "{pair:?}");
        assert!(pair[1].input_rows > pair[0].input_rows);
        assert!(pair[1].end.since(pair[1].start) > pair[0].end.since(pair[0].start));
    }
}

/// The two late-data scenarios differ only in the watermark delay: what the 2 s one drops as
/// late is exactly what the 15 s one counts in those windows.
#[test]
fn a_short_watermark_drops_the_late_rows_that_a_long_one_counts() {
    let dropped = batches(&bundled("stream-late-data-dropped"));
    let counted = batches(&bundled("stream-late-data-counted"));
    let late: u64 = dropped.iter().map(|b| b.late_rows).sum();
    assert!(late >= 500, "{late}");
    assert_eq!(counted.iter().map(|b| b.late_rows).sum::<u64>(), 0);
    let (d, c) = (window_counts(&dropped), window_counts(&counted));
    let missing: u64 = c.iter().filter_map(|(w, n)| d.get(w).map(|m| n - m)).sum();
    assert_eq!(missing, late, "the late rows are the ones missing from their windows");
    // The long watermark writes every window later: by its delay.
    let delay = |b: &[StreamBatch]| {
        let first = b.iter().find(|b| !b.emitted.is_empty()).unwrap();
        first.end.since(first.emitted[0].1).as_nanos() / 1_000_000
    };
    assert!(delay(&counted) >= delay(&dropped) + 13_000, "{} vs {}", delay(&counted), delay(&dropped));
}

#[test]
fn a_crashed_query_replays_its_batch_from_the_checkpoint_and_counts_every_window_exactly() {
    let crashed = bundled("stream-query-restart");
    let mut whole = crashed.clone();
    whole.faults.clear();
    let (c, w) = (batches(&crashed), batches(&whole));
    let aborted: Vec<&StreamBatch> = c.iter().filter(|b| b.aborted).collect();
    assert_eq!(aborted.len(), 1);
    // The batch id that did not finish runs again (and is the next one that completes), over the
    // same range: the offset log kept it.
    let after = c.iter().skip_while(|b| !b.aborted).find(|b| !b.aborted).unwrap();
    assert_eq!(after.id, aborted[0].id);
    assert_eq!(after.input_rows, aborted[0].input_rows);
    assert_eq!(after.emitted, aborted[0].emitted, "the replay writes what the first attempt would have");
    // Every window both runs wrote has the same count: the state came back from the checkpoint.
    let (cw, ww) = (window_counts(&c), window_counts(&w));
    let shared: Vec<u64> = cw.keys().filter(|k| ww.contains_key(k)).copied().collect();
    assert!(shared.len() >= 12, "{shared:?}");
    for k in shared {
        assert_eq!(cw[&k], ww[&k], "window at {k} ms");
    }
    let report = kafkasim::run(&crashed, &RunOptions::default()).unwrap();
    assert!(report.figures["processed_twice_records"] > 0.0, "rows of the aborted batch run twice");
    assert_eq!(report.figures["skipped_records"], 0.0);
}

proptest::proptest! {
    #![proptest_config(crate::support::proptest_config(8))]

    /// Exactly-once state under any crash: whenever the query crashes and however long it is
    /// down, every window it writes has the count a run without the crash writes. (The
    /// watermark delay is far above the producer's latency, so no row is late in either run.)
    #[test]
    fn crashes_at_any_moment_leave_every_window_count_exact(
        trigger_ms in proptest::sample::select(vec![0u64, 200, 1000]),
        watermark_delay_ms in proptest::sample::select(vec![500u64, 2000]),
        crashes in proptest::collection::vec((2_000u64..14_000, 300u64..4_000), 1..3),
    ) {
        let mut whole = bundled("stream-query-restart");
        whole.faults.clear();
        let q = whole.consumer_groups[0].stream.as_mut().unwrap();
        (q.trigger_ms, q.watermark_delay_ms) = (trigger_ms, watermark_delay_ms);
        let mut crashed = whole.clone();
        let mut at = 0;
        for &(crash, down) in &crashes {
            at = at.max(crash);
            let restart = at + down;
            let node = || kafkasim::scenario::Target::Node("counts-0".into());
            crashed.faults.push(kafkasim::scenario::FaultAt { at_ms: at, fault: kafkasim::scenario::Fault::Crash(node()) });
            crashed.faults.push(kafkasim::scenario::FaultAt { at_ms: restart, fault: kafkasim::scenario::Fault::Restart(node()) });
            at = restart + 1;
        }
        let ctx = format!("trigger={trigger_ms} delay={watermark_delay_ms} crashes={crashes:?}");
        let (w, c) = (batches(&whole), batches(&crashed));
        proptest::prop_assert_eq!(c.iter().chain(&w).map(|b| b.late_rows).sum::<u64>(), 0, "{}", ctx);
        let ww = window_counts(&w);
        let cw = window_counts_rewritten_alike(&c).map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{ctx}: {e}")))?;
        let shared: Vec<u64> = cw.keys().filter(|k| ww.contains_key(k)).copied().collect();
        proptest::prop_assert!(shared.len() >= 3, "{}: {:?}", ctx, shared);
        for k in shared {
            proptest::prop_assert_eq!(cw[&k], ww[&k], "{}: window at {} ms", ctx, k);
        }
    }
}

/// A query down for longer than its topic's retention restarts from its checkpoint, whose
/// offsets retention has deleted: with `failOnDataLoss` (Spark's default) it fails; without, it
/// reads on from the earliest offset left and skips what was lost.
#[test]
fn a_query_whose_checkpoint_offsets_were_deleted_fails_unless_fail_on_data_loss_is_off() {
    let src = std::fs::read_to_string(crate::support::root().join("scenarios/retention-slow-consumer.ron")).unwrap();
    let run = |fail_on_data_loss: bool| {
        let set: Vec<(String, String)> = [
            ("consumer_groups[0].processing_us", "100".to_string()),
            ("consumer_groups[0].session_timeout_ms", "10000".to_string()),
            (
                "consumer_groups[0].stream",
                format!("Some((trigger_ms: 1000, window_ms: 1000, fail_on_data_loss: {fail_on_data_loss}))"),
            ),
            ("expect", "{}".to_string()),
            ("charts", "[]".to_string()),
            (
                "faults",
                "[(at_ms: 5000, fault: Crash(Node(\"analytics-0\"))), (at_ms: 20000, fault: Restart(Node(\"analytics-0\")))]"
                    .to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let s = kafkasim::scenario::parse("retention-slow-consumer.ron", &src, &set).unwrap();
        kafkasim::run(&s, &kafkasim::RunOptions::default()).unwrap()
    };
    let fails = run(true);
    assert_eq!(fails.figures["stream_query_failures"], 1.0);
    assert!(fails.trace.contains("failOnDataLoss=true"));
    assert!(fails.summary.contains("The query failed at 20."));
    // It processed what it read before the crash, nothing after.
    let batches_before_crash = fails.figures["stream_batches"];
    assert_eq!(fails.figures["skipped_records"], 0.0, "it fails rather than skip");
    let reads_on = run(false);
    assert_eq!(reads_on.figures["stream_query_failures"], 0.0);
    assert!(reads_on.figures["skipped_records"] > 10_000.0, "what retention deleted meanwhile is skipped");
    assert!(reads_on.figures["stream_batches"] > batches_before_crash + 10.0, "and the query carries on");
}
