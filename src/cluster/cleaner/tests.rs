use super::*;
use crate::protocol::record_key;

/// `s` seconds into the run.
fn secs(s: u64) -> SimTime {
    SimTime::from_ms(s * 1000)
}

fn settings() -> Compaction {
    Compaction {
        min_cleanable_dirty_ratio: 0.5,
        min_compaction_lag: SimDuration::ZERO,
        delete_retention: SimDuration::from_ms(10_000),
        max_compaction_lag: None,
        segment_bytes: 1 << 30,
        // A segment rolls at the first append more than a second after it began.
        segment_ms: 1_000,
    }
}

fn key(name: &str) -> u64 {
    record_key(name.as_bytes(), false)
}

/// A batch of one idempotent producer: `(key, tombstone)` per record, 100 bytes a record.
fn batch(producer: u32, sequence: u64, records: &[(&str, bool)], at: SimTime) -> Rc<RecordBatch> {
    Rc::new(RecordBatch {
        producer,
        producer_epoch: 0,
        base_sequence: sequence,
        idempotent: true,
        record_times: vec![at; records.len()],
        values: Vec::new(),
        size_bytes: 61 + 100 * records.len() as u32,
        created: at,
        allocated_bytes: 0,
        transactional: false,
        control: None,
        extra: Some(Box::new(BatchExtra {
            keys: records.iter().map(|&(k, tombstone)| record_key(k.as_bytes(), tombstone)).collect(),
            ..BatchExtra::default()
        })),
    })
}

fn compacted_log() -> Log {
    let mut log = Log::default();
    let c = settings();
    log.keep_segments(c.segment_bytes, c.segment_ms);
    log
}

/// Appends one batch of producer 0 at `at_s` seconds.
fn append(log: &mut Log, records: &[(&str, bool)], at_s: u64) {
    let at = secs(at_s);
    let sequence = log.log_end_offset();
    log.append(0, batch(0, sequence, records, at), at);
}

/// Every record the log holds: `(offset, key)`.
fn records(log: &Log) -> Vec<(u64, u64)> {
    log.batches()
        .flat_map(|b| {
            b.batch
                .keys()
                .iter()
                .enumerate()
                .map(move |(i, &k)| (b.base_offset + b.batch.offset_delta(i), k & !TOMBSTONE))
        })
        .collect()
}

fn clean_at(log: &mut Log, checkpoint: Option<u64>, at_s: u64) -> (LogToClean, CleanerStats, Vec<LogBatch>) {
    let now = secs(at_s);
    let plan = log_to_clean(log, checkpoint, log.log_end_offset(), now, &settings());
    let (stats, removed) = clean(log, &plan, now, &settings());
    (plan, stats, removed)
}

#[test]
fn the_latest_record_of_each_key_stays_at_its_offset_and_the_active_segment_is_untouched() {
    let mut log = compacted_log();
    append(&mut log, &[("a", false), ("b", false)], 0); // offsets 0, 1
    append(&mut log, &[("a", false), ("c", false)], 2); // 2, 3 (new segment)
    append(&mut log, &[("b", false)], 4); // 4 (new segment)
    append(&mut log, &[("a", false)], 6); // 5: the active segment
    let (plan, stats, removed) = clean_at(&mut log, None, 7);
    // The active segment (from offset 5) is never cleaned.
    assert_eq!((plan.first_dirty_offset, plan.first_uncleanable_offset), (0, 5));
    assert_eq!(stats.end_offset, 5);
    // a@0 and b@1 are superseded; a@2, c@3, b@4 are the latest below 5; a@5 stays uncleaned.
    assert_eq!(records(&log), vec![(2, key("a")), (3, key("c")), (4, key("b")), (5, key("a"))]);
    assert_eq!((stats.records_read, stats.records_removed), (5, 2));
    // The first batch lost both records and went; offsets did not move.
    assert_eq!(removed.iter().map(|b| b.base_offset).collect::<Vec<_>>(), vec![0]);
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (0, 6));
    // Readers skip the gap: a fetch from offset 0 gets the batch at 2 first.
    let mut out = Vec::new();
    log.read(0, 6, u64::MAX, &mut out);
    assert_eq!(out.iter().map(|b| b.base_offset).collect::<Vec<_>>(), vec![2, 4, 5]);
}

#[test]
fn a_log_is_cleaned_only_when_its_dirty_part_is_above_the_ratio() {
    let mut log = compacted_log();
    for (i, k) in ["a", "b", "c", "d"].iter().enumerate() {
        append(&mut log, &[(k, false)], 2 * i as u64);
    }
    append(&mut log, &[("e", false)], 10); // active
    let (_, stats, _) = clean_at(&mut log, None, 11);
    assert_eq!(stats.end_offset, 4);
    // Nothing new since: no dirty bytes, not cleanable.
    let plan = log_to_clean(&log, Some(4), 5, secs(12), &settings());
    assert_eq!(plan.cleanable_bytes, 0);
    assert!(!plan.is_cleanable(&settings()));
    // One dirty record against four clean ones: 1/5 of the bytes, below 0.5.
    append(&mut log, &[("a", false)], 12); // rolls: the segment holding offset 4 is now closed
    let plan = log_to_clean(&log, Some(4), 6, secs(13), &settings());
    assert_eq!((plan.first_dirty_offset, plan.first_uncleanable_offset), (4, 5));
    assert!((plan.cleanable_ratio() - 0.2).abs() < 1e-9, "{plan:?}");
    assert!(!plan.is_cleanable(&settings()));
    let eager = Compaction { min_cleanable_dirty_ratio: 0.1, ..settings() };
    assert!(plan.is_cleanable(&eager));
}

#[test]
fn a_tombstone_outlives_the_cleaning_that_first_keeps_it_by_delete_retention() {
    let mut log = compacted_log();
    append(&mut log, &[("a", false), ("b", false)], 0);
    append(&mut log, &[("a", true)], 2); // delete a
    append(&mut log, &[("c", false)], 4); // active
    let (_, stats, _) = clean_at(&mut log, None, 5);
    // a's value goes; its tombstone stays, its batch stamped with a horizon 10 s on.
    assert_eq!(records(&log), vec![(1, key("b")), (2, key("a")), (3, key("c"))]);
    assert_eq!(stats.tombstones_removed, 0);
    let horizon = log.batch_at(2).unwrap().batch.compacted().unwrap().delete_horizon;
    assert_eq!(horizon, Some(secs(15)));
    // More writes, cleaned at 10 s: before the horizon the tombstone stays.
    append(&mut log, &[("d", false)], 6);
    append(&mut log, &[("e", false)], 8);
    let (_, stats, _) = clean_at(&mut log, Some(3), 9);
    assert_eq!(stats.tombstones_removed, 0);
    assert!(records(&log).contains(&(2, key("a"))));
    // At 16 s, past it, the next cleaning drops it.
    append(&mut log, &[("f", false)], 16);
    let (_, stats, _) = clean_at(&mut log, Some(stats.end_offset), 17);
    assert_eq!(stats.tombstones_removed, 1);
    assert!(!records(&log).iter().any(|&(_, k)| k == key("a")));
}

#[test]
fn a_batch_emptied_by_the_cleaner_keeps_its_header_if_it_is_its_producers_last() {
    let mut log = compacted_log();
    append(&mut log, &[("a", false)], 0);
    // Producer 1's only batch, superseded by producer 0's next record.
    let at = secs(1);
    log.append(0, batch(1, 0, &[("b", false)], at), at);
    append(&mut log, &[("b", false)], 2);
    append(&mut log, &[("c", false)], 4); // active
    let (_, stats, removed) = clean_at(&mut log, None, 5);
    assert_eq!(stats.records_removed, 1);
    assert!(removed.is_empty(), "producer 1's last batch stays, empty");
    let kept = log.batch_at(1).unwrap();
    assert_eq!((kept.batch.record_count(), kept.batch.offset_count(), kept.size_bytes()), (0, 1, 61));
}

#[test]
fn min_compaction_lag_keeps_young_segments_dirty() {
    let mut log = compacted_log();
    append(&mut log, &[("a", false)], 0);
    append(&mut log, &[("a", false)], 2);
    append(&mut log, &[("a", false)], 4);
    append(&mut log, &[("a", false)], 6); // active
    let lagged = Compaction { min_compaction_lag: SimDuration::from_ms(3_500), ..settings() };
    let plan = log_to_clean(&log, None, 4, secs(7), &lagged);
    // The segment whose newest record is from 4 s is younger than 3.5 s at 7 s.
    assert_eq!(plan.first_uncleanable_offset, 2);
}

#[test]
fn cleaned_segments_merge_while_they_fit_in_segment_bytes() {
    let mut log = compacted_log();
    for i in 0..6 {
        append(&mut log, &[("a", false), ("b", false)], 2 * i);
    }
    assert_eq!(log.segments(1 << 30, 1_000).len(), 6);
    clean_at(&mut log, None, 13);
    let segments = log.segments(1 << 30, 1_000);
    // Five cleaned segments (two records left in the last of them) become one; the active one stays.
    assert_eq!(segments.iter().map(|s| s.base_offset).collect::<Vec<_>>(), vec![0, 10]);
    assert_eq!(records(&log), vec![(8, key("a")), (9, key("b")), (10, key("a")), (11, key("b"))]);
}

#[test]
fn record_keys_mark_tombstones_in_the_top_bit_only() {
    let (value, tombstone) = (record_key(b"user-1", false), record_key(b"user-1", true));
    assert_eq!(value | TOMBSTONE, tombstone);
    assert_eq!(value & TOMBSTONE, 0);
    assert_ne!(record_key(b"user-1", false), record_key(b"user-2", false));
}

#[test]
fn max_compaction_lag_cleans_a_log_below_its_dirty_ratio() {
    let mut log = compacted_log();
    for i in 0..4 {
        append(&mut log, &[(["a", "b", "c", "d"][i], false)], 2 * i as u64);
    }
    append(&mut log, &[("e", false)], 8); // active
    let (_, stats, _) = clean_at(&mut log, None, 9);
    assert_eq!(stats.end_offset, 4);
    // Two dirty segments (e from 8 s, a from 10 s) against four clean records: ratio 1/3.
    append(&mut log, &[("a", false)], 10);
    append(&mut log, &[("f", false)], 12); // active
    let lagged = Compaction { max_compaction_lag: Some(SimDuration::from_ms(5_000)), ..settings() };
    let at = |s: u64| log_to_clean(&log, Some(4), 6, secs(s), &lagged);
    // The oldest dirty segment's first batch is from 8 s: at 13 s not yet more than 5 s old.
    assert!(!at(13).need_compaction_now && !at(13).is_cleanable(&lagged));
    assert!((at(14).cleanable_ratio() - 1.0 / 3.0).abs() < 1e-9, "{:?}", at(14));
    assert!(at(14).need_compaction_now && at(14).is_cleanable(&lagged));
    // Without the lag, the same log waits for its ratio.
    assert!(!log_to_clean(&log, Some(4), 6, secs(14), &settings()).is_cleanable(&settings()));
}

#[test]
fn an_aborted_transactions_records_are_no_ones_latest_value_and_go() {
    use crate::protocol::ControlMarker;
    let mut log = compacted_log();
    append(&mut log, &[("a", false)], 0); // offset 0: a's committed value
    // Producer 1's transaction writes a and b at 2 s, then aborts (marker at offset 3).
    let at = secs(2);
    let txn =
        RecordBatch { transactional: true, ..Rc::into_inner(batch(1, 0, &[("a", false), ("b", false)], at)).unwrap() };
    log.append(0, Rc::new(txn), at);
    let abort = RecordBatch::marker(1, 0, 0, ControlMarker::Abort, secs(3));
    log.append(0, Rc::new(abort), secs(3));
    append(&mut log, &[("c", false)], 4); // 4
    append(&mut log, &[("d", false)], 6); // 5: active
    let (_, stats, removed) = clean_at(&mut log, None, 7);
    // a@0 stays: the aborted a@1 is not its latest value. The aborted batch goes (producer 1's
    // last batch: its header stays, empty); the marker stays.
    assert_eq!(records(&log), vec![(0, key("a")), (4, key("c")), (5, key("d"))]);
    assert_eq!((stats.records_removed, stats.aborted_records_removed), (2, 2));
    assert!(removed.is_empty());
    assert_eq!(log.batch_at(1).unwrap().batch.record_count(), 0);
    assert!(log.batch_at(3).unwrap().batch.control.is_some());
}

#[test]
fn a_marker_goes_once_its_transactions_records_are_gone_and_its_horizon_has_passed() {
    use crate::protocol::ControlMarker;
    let mut log = compacted_log();
    // Producer 1 commits a transaction writing a (offset 0; marker at 1), then producer 0
    // overwrites a.
    let txn = RecordBatch { transactional: true, ..Rc::into_inner(batch(1, 0, &[("a", false)], secs(0))).unwrap() };
    log.append(0, Rc::new(txn), secs(0));
    log.append(0, Rc::new(RecordBatch::marker(1, 0, 0, ControlMarker::Commit, secs(0))), secs(0));
    append(&mut log, &[("a", false)], 2); // 2
    append(&mut log, &[("b", false)], 4); // 3
    append(&mut log, &[("c", false)], 6); // 4: active
    // The first pass meets the transaction's batch (emptied but kept: producer 1's last data
    // batch), so the marker stays, without a horizon.
    let (_, stats, _) = clean_at(&mut log, None, 7);
    assert_eq!(stats.markers_removed, 0);
    assert!(log.batch_at(1).unwrap().batch.compacted().is_none());
    // Producer 1 writes again (another key), so its old batch is no longer its last: the next
    // pass drops the emptied batch, but met it, so the marker stays as it was.
    let at = secs(8);
    log.append(0, batch(1, 1, &[("z", false)], at), at); // 5
    append(&mut log, &[("d", false)], 10); // 6: active
    let (_, stats, removed) = clean_at(&mut log, Some(4), 11);
    assert_eq!(stats.markers_removed, 0);
    assert_eq!(removed.iter().map(|b| b.base_offset).collect::<Vec<_>>(), vec![0]);
    let horizon = |log: &Log| log.batch_at(1).unwrap().batch.compacted().and_then(|c| c.delete_horizon);
    assert_eq!(horizon(&log), None);
    // The pass after meets no batch of the transaction: it stamps the marker's horizon, 10 s on.
    append(&mut log, &[("e", false)], 12); // 7: active
    let (_, stats, _) = clean_at(&mut log, Some(6), 13);
    assert_eq!(stats.markers_removed, 0);
    assert_eq!(horizon(&log), Some(secs(13) + SimDuration::from_ms(10_000)));
    // Past the horizon, the marker goes.
    append(&mut log, &[("f", false)], 24); // 8: active
    let (_, stats, removed) = clean_at(&mut log, Some(7), 25);
    assert_eq!(stats.markers_removed, 1);
    assert!(removed.iter().any(|b| b.base_offset == 1 && b.batch.control.is_some()));
    assert!(log.batch_at(1).is_none());
}
