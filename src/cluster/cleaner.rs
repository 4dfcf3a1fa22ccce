//! Log compaction: the log cleaner of a topic with `cleanup.policy=compact` (Kafka's
//! `LogCleaner`, `LogCleanerManager` and `Cleaner`, storage module of Kafka 4.x).
//!
//! A compacted log keeps at least the latest record of every key. Each replica's broker cleans
//! its own copy (followers too). The log is split at the *first dirty offset* (where the last
//! cleaning ended, `cleaner-offset-checkpoint`): the *clean* part before it holds at most one
//! record per key, the *dirty* part after it was written since. The cleaner may look only up to
//! the *first uncleanable offset*, the lowest of the active segment's base offset (the segment
//! being written is never cleaned), the last stable offset (never past the high watermark), and
//! the base of the first segment whose newest record is younger than `min.compaction.lag.ms`
//! (`LogCleanerManager.cleanableOffsets`).
//!
//! A log is cleaned when its dirty ratio, dirty bytes / (clean + dirty bytes), is above
//! `min.cleanable.dirty.ratio` (`grabFilthiestCompactedLog`, the filthiest first), or whatever its
//! ratio once a dirty segment began more than `max.compaction.lag.ms` ago (KIP-354, which also
//! caps `segment.ms` by it, so that the active segment rolls in time). A cleaning
//! (`Cleaner.doClean`) maps every key of the dirty part to its latest offset there, then goes
//! through the log from its start to the end of the dirty part: a record stays if no later record
//! of its key is in the map (`shouldRetainRecord`). A tombstone (null value) stays too, until
//! its batch's *delete horizon* has passed: the first cleaning that keeps a tombstone stamps its
//! batch with now + `delete.retention.ms` (KIP-534), and a cleaning after that drops it. Batches
//! keep their base and last offsets (offsets never change; readers see gaps); a batch left empty
//! goes, unless it is the last batch of an idempotent producer (its sequence state) or ends at the
//! first uncleanable offset (`BatchRetention.RETAIN_EMPTY`). The cleaned segments are then merged
//! while they fit in `segment.bytes` together (`groupSegmentsBySize`).
//!
//! Simplified: a cleaning takes no time and no I/O (Kafka's cleaner thread reads and rewrites
//! segments, throttled by `log.cleaner.io.max.bytes.per.second`); one pass cleans every log
//! above its ratio, filthiest first, then the cleaner sleeps `log.cleaner.backoff.ms`, as its
//! single thread (`log.cleaner.threads` = 1) would between idle checks. The offset map holds every
//! key (`log.cleaner.dedupe.buffer.size` never runs out).
//! Transactions: the records of aborted transactions are nobody's latest value and go
//! (`CleanedTransactionMetadata`), and the cleaner never passes the last stable offset.
//! A marker goes in a pass that meets none of its transaction's batches, once the delete horizon
//! the first such pass stamped on it has passed (unless it is its producer's last entry). A rewritten batch's size is estimated:
//! the header plus its records' bytes in proportion to the records it keeps.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::log::{Log, LogBatch};
use super::txn_index::AbortedTxn;
use crate::protocol::{BatchExtra, Compacted, ControlMarker, RecordBatch, TOMBSTONE};
use crate::sim::{SimDuration, SimTime};

/// `DefaultRecordBatch.RECORD_BATCH_OVERHEAD`.
const BATCH_HEADER_BYTES: u32 = 61;

/// A compacted topic's cleaner settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Compaction {
    /// `min.cleanable.dirty.ratio`.
    pub min_cleanable_dirty_ratio: f64,
    /// `min.compaction.lag.ms`.
    pub min_compaction_lag: SimDuration,
    /// `delete.retention.ms`.
    pub delete_retention: SimDuration,
    /// `max.compaction.lag.ms`, when set below its no-limit default.
    pub max_compaction_lag: Option<SimDuration>,
    /// `segment.bytes` and `segment.ms` (capped by `max.compaction.lag.ms`,
    /// `LogConfig.maxSegmentMs`): where the log's segments roll.
    pub segment_bytes: u64,
    pub segment_ms: u64,
}

/// `LogToClean`: one log's clean and dirty parts as the cleaner manager sees them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogToClean {
    pub first_dirty_offset: u64,
    pub first_uncleanable_offset: u64,
    /// Bytes before the first dirty offset.
    pub clean_bytes: u64,
    /// Bytes from the first dirty offset to the first uncleanable offset.
    pub cleanable_bytes: u64,
    /// `needCompactionNow`: a dirty segment began more than `max.compaction.lag.ms` ago.
    pub need_compaction_now: bool,
}

impl LogToClean {
    /// `LogToClean.cleanableRatio`: dirty bytes over clean + dirty bytes.
    pub fn cleanable_ratio(&self) -> f64 {
        let total = self.clean_bytes + self.cleanable_bytes;
        if total == 0 { 0.0 } else { self.cleanable_bytes as f64 / total as f64 }
    }

    /// Whether the cleaner would pick it (`grabFilthiestCompactedLog`: ratio above the minimum
    /// and something to clean).
    pub fn is_cleanable(&self, c: &Compaction) -> bool {
        self.cleanable_bytes > 0 && (self.need_compaction_now || self.cleanable_ratio() > c.min_cleanable_dirty_ratio)
    }
}

/// `LogCleanerManager.cleanableOffsets` and `calculateCleanableBytes` for `log` at `now`;
/// `checkpoint` is where its last cleaning ended.
pub fn log_to_clean(
    log: &Log,
    checkpoint: Option<u64>,
    high_watermark: u64,
    now: SimTime,
    c: &Compaction,
) -> LogToClean {
    let start = log.log_start_offset();
    let end = log.log_end_offset();
    // A checkpoint below the log start, or past the log end (a truncation since), starts over.
    let first_dirty = match checkpoint {
        Some(cp) if (start..=end).contains(&cp) => cp,
        _ => start,
    };
    let segments = log.segments(c.segment_bytes, c.segment_ms);
    let active_base = segments.last().map_or(end, |s| s.base_offset);
    let mut first_uncleanable = active_base.min(log.last_stable_offset(high_watermark));
    if c.min_compaction_lag > SimDuration::ZERO {
        let young = segments
            .iter()
            .filter(|s| s.base_offset < active_base && s.end_offset > first_dirty)
            .find(|s| s.largest_timestamp + c.min_compaction_lag > now);
        if let Some(s) = young {
            first_uncleanable = first_uncleanable.min(s.base_offset);
        }
    }
    let first_uncleanable = first_uncleanable.max(first_dirty);
    // `maxCompactionDelay`: the oldest first-batch time of the dirty segments that are not active.
    let need_compaction_now = c.max_compaction_lag.is_some_and(|lag| {
        segments
            .iter()
            .filter(|s| s.base_offset < active_base && s.end_offset > first_dirty)
            .any(|s| s.first_batch_timestamp + lag < now)
    });
    let (mut clean_bytes, mut cleanable_bytes) = (0, 0);
    for b in log.batches() {
        if b.end_offset() <= first_dirty {
            clean_bytes += u64::from(b.size_bytes());
        } else if b.end_offset() <= first_uncleanable {
            cleanable_bytes += u64::from(b.size_bytes());
        } else {
            break;
        }
    }
    LogToClean {
        first_dirty_offset: first_dirty,
        first_uncleanable_offset: first_uncleanable,
        clean_bytes,
        cleanable_bytes,
        need_compaction_now,
    }
}

/// What one cleaning did (`CleanerStats`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CleanerStats {
    /// The new first dirty offset (`offsetMap.latestOffset + 1`): the checkpoint.
    pub end_offset: u64,
    /// Records in the part of the log the cleaning went through (log start to `end_offset`).
    pub records_read: u64,
    pub records_removed: u64,
    /// Of the removed records, tombstones whose delete horizon had passed.
    pub tombstones_removed: u64,
    /// Bytes of that part before and after.
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Distinct keys in the dirty part (the offset map's size).
    pub keys_in_dirty: usize,
    /// Of the removed records, records of aborted transactions.
    pub aborted_records_removed: u64,
    /// Transaction markers removed: their transaction's records were gone, and their delete
    /// horizon had passed.
    pub markers_removed: u64,
    /// The offsets of the tombstones removed (their delete horizon passed): a reader not yet
    /// past one of them never sees that delete.
    pub tombstones_removed_at: Vec<u64>,
}

/// `Cleaner.doClean`: cleans `log` from its start to the end of the dirty part of `plan` at
/// `now`. Returns the statistics and the batches the cleaning removed whole.
pub fn clean(log: &mut Log, plan: &LogToClean, now: SimTime, c: &Compaction) -> (CleanerStats, Vec<LogBatch>) {
    // The data batches of aborted transactions (the log's aborted transaction index): their
    // records are no one's latest value, and go (`CleanedTransactionMetadata.onBatchRead`).
    let aborted_txns: Vec<AbortedTxn> = log.txns().aborted().to_vec();
    let aborted = |b: &LogBatch| {
        b.batch.transactional
            && b.batch.control.is_none()
            && aborted_txns.iter().any(|t| {
                t.producer == b.batch.producer && t.first_offset <= b.base_offset && b.base_offset < t.last_offset
            })
    };
    // `buildOffsetMap`: every key of the dirty part, to its latest offset there.
    let mut map: BTreeMap<u64, u64> = BTreeMap::new();
    let mut latest_offset = None;
    for b in log.batches_from(plan.first_dirty_offset) {
        if b.base_offset < plan.first_dirty_offset || b.end_offset() > plan.first_uncleanable_offset {
            break;
        }
        latest_offset = Some(b.end_offset() - 1);
        if aborted(b) {
            continue;
        }
        for (i, &key) in b.batch.keys().iter().enumerate() {
            map.insert(key & !TOMBSTONE, b.base_offset + b.batch.offset_delta(i));
        }
    }
    let Some(latest_offset) = latest_offset else {
        return (CleanerStats { end_offset: plan.first_dirty_offset, ..CleanerStats::default() }, Vec::new());
    };
    let end_offset = latest_offset + 1;
    // `lastRecordsOfActiveProducers`: each idempotent producer's last data batch keeps its header
    // (a producer with no data batch left keeps its last marker instead, for its epoch).
    let mut last_of_producer: BTreeMap<u32, u64> = BTreeMap::new();
    let mut log_last_marker: BTreeMap<u32, u64> = BTreeMap::new();
    for b in log.batches().filter(|b| b.batch.idempotent) {
        match b.batch.control {
            None => last_of_producer.insert(b.batch.producer, b.base_offset),
            Some(_) => log_last_marker.insert(b.batch.producer, b.base_offset),
        };
    }
    let mut stats = CleanerStats { end_offset, keys_in_dirty: map.len(), ..CleanerStats::default() };
    let mut removed = Vec::new();
    let (batches, size_bytes) = log.rewrite();
    let old = std::mem::take(batches);
    // `CleanedTransactionMetadata`: the producers whose transaction has batches in this pass, so
    // far (aborted ones, committed ones). A transaction's marker may go only in a pass that
    // meets none of its batches: once its records are all gone.
    let (mut aborted_seen, mut committed_seen): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
    for mut b in old {
        if b.base_offset >= end_offset {
            batches.push_back(b);
            continue;
        }
        if let Some(marker) = b.batch.control {
            let seen = match marker {
                ControlMarker::Abort => &mut aborted_seen,
                ControlMarker::Commit => &mut committed_seen,
            };
            let had_batches = seen.iter().position(|&p| p == b.batch.producer).map(|i| seen.swap_remove(i)).is_some();
            let last_of_its_producer = !last_of_producer.contains_key(&b.batch.producer)
                && log_last_marker.get(&b.batch.producer) == Some(&b.base_offset);
            match b.batch.compacted().and_then(|x| x.delete_horizon) {
                _ if had_batches || last_of_its_producer => batches.push_back(b),
                // `BatchRetention.DELETE` once its delete horizon has passed.
                Some(h) if now >= h => {
                    stats.markers_removed += 1;
                    removed.push(b);
                }
                Some(_) => batches.push_back(b),
                // The first pass that could drop it stamps its horizon (`containsMarkerForEmptyTxn`).
                None => {
                    let horizon = Some(now + c.delete_retention);
                    b.set_batch(Rc::new(filtered(&b.batch, &[0], horizon)));
                    batches.push_back(b);
                }
            }
            continue;
        }
        if b.batch.transactional {
            let seen = if aborted(&b) { &mut aborted_seen } else { &mut committed_seen };
            if !seen.contains(&b.batch.producer) {
                seen.push(b.batch.producer);
            }
        }
        let retain_empty = (b.batch.idempotent && last_of_producer.get(&b.batch.producer) == Some(&b.base_offset))
            || b.end_offset() == plan.first_uncleanable_offset;
        if b.batch.record_count() == 0 {
            // A batch an earlier pass emptied and kept: it goes once nothing keeps it.
            if retain_empty {
                batches.push_back(b);
            } else {
                removed.push(b);
            }
            continue;
        }
        if b.batch.keys().is_empty() {
            batches.push_back(b);
            continue;
        }
        stats.records_read += b.batch.record_count();
        stats.bytes_before += u64::from(b.size_bytes());
        let horizon_passed = b.batch.compacted().and_then(|x| x.delete_horizon).is_some_and(|h| now >= h);
        let mut keep = Vec::with_capacity(b.batch.keys().len());
        let mut keeps_tombstone = false;
        let discard = aborted(&b);
        if discard {
            stats.records_removed += b.batch.record_count();
            stats.aborted_records_removed += b.batch.record_count();
        }
        for (i, &key) in b.batch.keys().iter().enumerate().filter(|_| !discard) {
            let offset = b.base_offset + b.batch.offset_delta(i);
            let tombstone = key & TOMBSTONE != 0;
            let latest_for_key = map.get(&(key & !TOMBSTONE)).is_none_or(|&found| offset >= found);
            let retained = latest_for_key && (!tombstone || !horizon_passed);
            if retained {
                keep.push(i);
                keeps_tombstone |= tombstone;
            } else {
                stats.records_removed += 1;
                if tombstone && latest_for_key {
                    stats.tombstones_removed += 1;
                    stats.tombstones_removed_at.push(offset);
                }
            }
        }
        let stamp_horizon = keeps_tombstone && b.batch.compacted().and_then(|x| x.delete_horizon).is_none();
        if keep.len() == b.batch.keys().len() && !stamp_horizon {
            stats.bytes_after += u64::from(b.size_bytes());
            batches.push_back(b);
            continue;
        }
        if keep.is_empty() && !retain_empty {
            removed.push(b);
            continue;
        }
        let horizon = match b.batch.compacted() {
            Some(x) if x.delete_horizon.is_some() => x.delete_horizon,
            _ if stamp_horizon => Some(now + c.delete_retention),
            _ => None,
        };
        let batch = filtered(&b.batch, &keep, horizon);
        b.set_batch(Rc::new(batch));
        stats.bytes_after += u64::from(b.size_bytes());
        batches.push_back(b);
    }
    *size_bytes = batches.iter().map(|b| u64::from(b.size_bytes())).sum();
    merge_cleaned_segments(log, end_offset, c.segment_bytes);
    (stats, removed)
}

/// `batch` with only its records `keep` (indices, increasing), covering the same offsets.
fn filtered(batch: &RecordBatch, keep: &[usize], delete_horizon: Option<SimTime>) -> RecordBatch {
    let pick = |v: &[SimTime]| keep.iter().map(|&i| v[i]).collect::<Vec<_>>();
    let pick_u64 = |v: &[u64]| if v.is_empty() { Vec::new() } else { keep.iter().map(|&i| v[i]).collect() };
    let count = batch.record_count();
    let records_bytes = u64::from(batch.size_bytes.saturating_sub(BATCH_HEADER_BYTES));
    let kept_bytes = (records_bytes * keep.len() as u64).checked_div(count).unwrap_or(0);
    RecordBatch {
        producer: batch.producer,
        producer_epoch: batch.producer_epoch,
        base_sequence: batch.base_sequence,
        idempotent: batch.idempotent,
        record_times: pick(&batch.record_times),
        values: if batch.values.is_empty() { Vec::new() } else { keep.iter().map(|&i| batch.values[i]).collect() },
        size_bytes: BATCH_HEADER_BYTES + kept_bytes as u32,
        created: batch.created,
        allocated_bytes: batch.allocated_bytes,
        transactional: batch.transactional,
        control: batch.control,
        extra: Some(Box::new(BatchExtra {
            sources: pick_u64(batch.sources()),
            keys: pick_u64(batch.keys()),
            compacted: Some(Compacted {
                offset_deltas: keep.iter().map(|&i| batch.offset_delta(i) as u32).collect(),
                offset_count: batch.offset_count(),
                delete_horizon,
            }),
        })),
    }
}

/// `Cleaner.groupSegmentsBySize`: the segments below `end_offset`, cleaned, become one segment
/// per run of consecutive segments that fit in `segment.bytes` together.
fn merge_cleaned_segments(log: &mut Log, end_offset: u64, segment_bytes: u64) {
    let segments = log.segments(segment_bytes, u64::MAX / 2);
    let Some(rolls) = log.rolls_mut() else { return };
    let sizes: BTreeMap<u64, u64> = segments.iter().map(|s| (s.base_offset, s.size_bytes)).collect();
    let active = rolls.bases.last().copied();
    let mut merged = Vec::with_capacity(rolls.bases.len());
    let mut group_bytes = u64::MAX;
    for (i, &base) in rolls.bases.iter().enumerate() {
        let next = rolls.bases.get(i + 1).copied().unwrap_or(u64::MAX);
        let size = sizes.get(&base).copied().unwrap_or(0);
        let cleaned = next <= end_offset && Some(base) != active;
        if cleaned && !merged.is_empty() && group_bytes.saturating_add(size) <= segment_bytes {
            group_bytes += size;
            continue;
        }
        merged.push(base);
        group_bytes = if cleaned { size } else { u64::MAX };
    }
    rolls.bases = merged;
}

#[cfg(test)]
mod tests;
