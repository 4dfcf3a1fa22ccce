//! Topic retention (`retention.ms`, `retention.bytes`, `segment.bytes`): what leaders delete, in
//! whole segments and never past the high watermark, and what it does to a consumer that falls
//! behind (OFFSET_OUT_OF_RANGE, then `auto.offset.reset`).

use kafkasim::scenario::AutoOffsetReset;

use crate::support::{root, run};

fn slow_consumer() -> kafkasim::Scenario {
    crate::support::load_bundled(&root().join("scenarios/retention-slow-consumer.ron"))
}

/// `(time s, log start offset, log end offset)` of the leader of `clicks-0` at every sample.
fn leader_offsets(report: &kafkasim::Report) -> Vec<(f64, u64, u64)> {
    leader_offsets_and_hw(report).into_iter().map(|(t, start, end, _)| (t, start, end)).collect()
}

/// As [`leader_offsets`], with the high watermark.
fn leader_offsets_and_hw(report: &kafkasim::Report) -> Vec<(f64, u64, u64, u64)> {
    let mut lines = report.offsets_csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (t, leader, start, end) = (col("time_s"), col("leader"), col("log_start_offset"), col("log_end_offset"));
    let hw = col("high_watermark");
    let num = |s: &str| s.parse::<u64>().unwrap();
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f[leader] == "true")
        .map(|f| (f[t].parse().unwrap(), num(f[start]), num(f[end]), num(f[hw])))
        .collect()
}

#[test]
fn time_retention_deletes_whole_segments_once_their_newest_record_is_older_than_retention_ms() {
    let report = run(&slow_consumer());
    // 2,000 records/s of about 516 bytes on the wire: a 1 MiB segment holds 2,030 records, so it
    // rolls about every second. The first segment's newest record is from about 1.0 s; the
    // check at 6 s finds it 4.98 s old (kept), the one at 7 s 5.98 s (deleted).
    let deletions: Vec<&str> = report.trace.lines().filter(|l| l.contains(" retention ")).collect();
    assert!(deletions[0].trim_start().starts_with("7.000000"), "{}", deletions[0]);
    assert!(deletions[0].contains("deleted 1 segment (offsets 0..2029, 2030 records"), "{}", deletions[0]);
    let offsets = leader_offsets(&report);
    let mut last_start = 0;
    for &(t, start, end) in &offsets {
        // Whole segments only: the log start moves in steps of one segment's records.
        assert_eq!(start % 2030, 0, "log start {start} at {t} s is not a segment boundary");
        assert!(start >= last_start, "the log start never moves back");
        last_start = start;
        // What is kept is at most retention.ms + one check interval + one segment's span old:
        // 2,000 records/s × (5 + 1 + ~1) s.
        assert!(end - start <= 2000 * 7 + 2030, "{} records kept at {t} s", end - start);
        // ... and nothing younger than retention.ms is deleted.
        if t >= 6.0 {
            let produced_5s_ago = ((t - 5.0) * 2000.0) as u64;
            assert!(start <= produced_5s_ago, "log start {start} at {t} s passed records not yet 5 s old");
        }
    }
    assert!(last_start > 60_000, "retention kept deleting to the end of the run: {last_start}");
}

#[test]
fn a_consumer_slower_than_retention_skips_what_was_deleted_and_one_that_keeps_up_loses_nothing() {
    let report = run(&slow_consumer());
    let f = &report.figures;
    assert!(f["offset_resets"] >= 5.0, "it falls off again and again: {}", f["offset_resets"]);
    // Every record is either consumed or skipped by a reset; none twice.
    assert_eq!(f["processed_twice_records"], 0.0);
    assert!(f["skipped_records"] > 10_000.0);
    assert!(f["records_deleted_by_retention"] >= f["skipped_records"]);
    assert!(report.summary.contains("fell off the log"), "the summary says why");
    // The same consumer, fast enough (0.2 ms a record: 5,000/s): retention deletes just as much,
    // but only what it has read.
    let mut fast = slow_consumer();
    fast.consumer_groups[0].processing_us = 200;
    fast.expect.clear();
    let fast = run(&fast);
    assert!(fast.figures["records_deleted_by_retention"] >= f["records_deleted_by_retention"]);
    assert_eq!(fast.figures["offset_resets"], 1.0, "only the first, with no committed offset");
    assert_eq!(fast.figures["skipped_records"], 0.0);
    // And without retention (`retention.ms` = -1) the slow one is merely behind.
    let mut forever = slow_consumer();
    forever.topics[0].retention_ms = -1;
    forever.expect.clear();
    let forever = run(&forever);
    assert_eq!(forever.figures["records_deleted_by_retention"], 0.0);
    assert_eq!(forever.figures["skipped_records"], 0.0);
    assert!(!forever.trace.contains(" retention "));
    assert!(forever.figures["consumer_lag_max_records"] > 35_000.0);
}

#[test]
fn auto_offset_reset_latest_skips_to_the_end_not_to_the_log_start() {
    let mut latest = slow_consumer();
    latest.consumer_groups[0].auto_offset_reset = AutoOffsetReset::Latest;
    latest.expect.clear();
    let latest = run(&latest);
    let earliest = run(&slow_consumer());
    // Latest jumps over everything retained as well: it skips more, and falls off less often.
    assert!(latest.figures["skipped_records"] > earliest.figures["skipped_records"]);
    assert!(latest.figures["offset_resets"] < earliest.figures["offset_resets"]);
}

#[test]
fn size_retention_keeps_at_least_retention_bytes_and_less_than_one_more_segment() {
    let mut s = slow_consumer();
    s.topics[0].retention_ms = -1;
    s.topics[0].retention_bytes = 3 * 1_048_576;
    s.expect.clear();
    let report = run(&s);
    assert!(report.trace.contains("retention.bytes breached"));
    let per_record = 1_048_576.0 / 2030.0;
    let deleted_any = leader_offsets(&report).iter().any(|&(_, start, _)| start > 0);
    assert!(deleted_any);
    for (t, start, end) in leader_offsets(&report) {
        let kept_bytes = (end - start) as f64 * per_record;
        if start > 0 {
            // `deleteRetentionSizeBreachedSegments`: a segment goes only if the log still holds
            // retention.bytes without it.
            assert!(kept_bytes >= 3.0 * 1_048_576.0 - 2.0 * per_record, "{kept_bytes} bytes kept at {t} s");
        }
        // Between checks (1 s, about 1 MB) the log grows past the limit by up to a segment and
        // a second's records.
        assert!(kept_bytes <= 5.0 * 1_048_576.0 + 2000.0 * per_record, "{kept_bytes} bytes kept at {t} s");
    }
}

#[test]
fn retention_never_deletes_at_or_above_the_high_watermark() {
    // retention.ms = 0: every closed segment is due at once. But a follower crashes at 10 s and
    // stays in the ISR until the controller fences it (broker.session.timeout.ms, at 17.5 s
    // here): the high watermark stops meanwhile, the leader's log keeps growing, and retention
    // must stop at the high watermark too.
    let src = std::fs::read_to_string(root().join("scenarios/retention-slow-consumer.ron")).unwrap();
    let set: Vec<(String, String)> = [
        ("topics[0].retention_ms", "0"),
        ("expect", "{}"),
        ("consumer_groups", "[]"),
        ("charts", "[]"),
        (
            "faults",
            "[(at_ms: 10000, fault: Crash(Node(\"broker-2\"))), (at_ms: 20000, fault: Restart(Node(\"broker-2\")))]",
        ),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let s = kafkasim::scenario::parse("retention-slow-consumer.ron", &src, &set).unwrap();
    assert_eq!(s.topics[0].retention_ms, 0);
    let report = run(&s);
    let mut stalled = 0;
    for (t, start, end, hw) in leader_offsets_and_hw(&report) {
        assert!(start <= hw, "log start {start} passed the high watermark {hw} at {t} s");
        if t > 10.5 && t < 17.4 {
            // The high watermark stopped (the producer's 5 requests in flight wait for the
            // crashed follower): the records above it stay, however old they get.
            assert!(hw < 20_300 && end > hw, "at {t} s: high watermark {hw}, log end {end}");
            assert_eq!(start, hw, "at {t} s everything below the high watermark is gone, nothing above");
            stalled += 1;
        }
    }
    assert!(stalled > 60, "{stalled} samples while the high watermark stood still");
    let offsets = leader_offsets(&report);
    // Once the follower is back and caught up, retention.ms = 0 keeps only the newest segments.
    let &(_, start, end) = offsets.last().unwrap();
    assert!(end - start < 2 * 2030 + 2000, "{} records kept at the end", end - start);
}
