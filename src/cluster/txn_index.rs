//! A replica's transaction state for one partition: the transactions open in it, the ones
//! completed whose marker is not yet below the high watermark, and the aborted ones (Kafka's
//! `ProducerStateManager` `ongoingTxns`/`unreplicatedTxns` and the `.txnindex` aborted
//! transaction index, kafka-reference §3.1, §6.2).
//!
//! The last stable offset (LSO) is `min(high watermark, first unstable offset)`, where the first
//! unstable offset is the first offset of the oldest transaction that is open, or completed with
//! a marker the high watermark has not passed yet (`ProducerStateManager.firstUnstableOffset`):
//! a `read_committed` consumer sees a transaction's records once its marker is committed.
//!
//! Every replica keeps it as it appends (leader or follower), so a new leader knows its open
//! transactions. Simplified: a truncation rebuilds it from the retained batches (Kafka reloads
//! producer state from a snapshot and the log); transactions whose first batch retention deleted
//! are forgotten.

use crate::protocol::{ControlMarker, RecordBatch, ReplicatedBatch};

/// An aborted transaction (`AbortedTxn`): its producer, first offset and marker offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer: u32,
    pub first_offset: u64,
    pub last_offset: u64,
}

#[derive(Clone, Debug, Default)]
pub struct TxnIndex {
    /// `(producer, first offset)` of each open transaction.
    open: Vec<(u32, u64)>,
    /// `(first offset, marker offset)` of completed transactions whose marker may still be at or
    /// above the high watermark (pruned as markers are appended).
    unreplicated: Vec<(u64, u64)>,
    /// Aborted transactions in marker order.
    aborted: Vec<AbortedTxn>,
    /// The highest high watermark a reader asked about: completed transactions whose marker is
    /// below it are stable for good (the high watermark only moves back on a truncation, which
    /// rebuilds the index).
    high_watermark_seen: std::cell::Cell<u64>,
}

impl TxnIndex {
    /// Notes a batch appended at `base` (data of an open transaction, or a marker ending one).
    #[inline]
    pub fn on_append(&mut self, batch: &RecordBatch, base: u64) {
        if !batch.transactional {
            return;
        }
        self.on_transactional_append(batch, base);
    }

    #[inline(never)]
    fn on_transactional_append(&mut self, batch: &RecordBatch, base: u64) {
        let open = self.open.iter().position(|&(p, _)| p == batch.producer);
        match (batch.control, open) {
            (None, None) => self.open.push((batch.producer, base)),
            (None, Some(_)) => {}
            (Some(marker), Some(i)) => {
                let (_, first) = self.open.remove(i);
                let stable = self.high_watermark_seen.get();
                self.unreplicated.retain(|&(_, m)| m >= stable);
                self.unreplicated.push((first, base));
                if marker == ControlMarker::Abort {
                    self.aborted.push(AbortedTxn { producer: batch.producer, first_offset: first, last_offset: base });
                }
            }
            // A marker with no open transaction (a retried WriteTxnMarkers): nothing to end.
            (Some(_), None) => {}
        }
    }

    /// The first offset a `read_committed` reader may not read yet, if any (below the high
    /// watermark or not).
    pub fn first_unstable_offset(&self, high_watermark: u64) -> Option<u64> {
        self.high_watermark_seen.set(self.high_watermark_seen.get().max(high_watermark));
        let open = self.open.iter().map(|&(_, first)| first);
        let unreplicated = self.unreplicated.iter().filter(|&&(_, m)| m >= high_watermark).map(|&(first, _)| first);
        open.chain(unreplicated).min()
    }

    /// Whether any transaction is open (for the summary).
    pub fn open_transactions(&self) -> usize {
        self.open.len()
    }

    /// `UnifiedLog.collectAbortedTransactions(from, upper)`: the aborted transactions whose
    /// records may lie in `[from, upper)`, as `(producer, first offset)`.
    pub fn aborted_between(&self, from: u64, upper: u64, out: &mut Vec<(u32, u64)>) {
        out.extend(
            self.aborted
                .iter()
                .filter(|a| a.last_offset >= from && a.first_offset < upper)
                .map(|a| (a.producer, a.first_offset)),
        );
    }

    pub fn aborted(&self) -> &[AbortedTxn] {
        &self.aborted
    }

    /// Whether there is anything to rebuild or forget.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty() && self.unreplicated.is_empty() && self.aborted.is_empty()
    }

    /// Retention moved the log start: aborted transactions that ended below it go (the index
    /// segments go with their log segments).
    pub fn trim_before(&mut self, log_start: u64) {
        self.aborted.retain(|a| a.last_offset >= log_start);
        self.unreplicated.retain(|&(_, m)| m >= log_start);
    }

    pub fn clear(&mut self) {
        *self = TxnIndex::default();
    }
}

/// Marks the batches of aborted transactions among `batches` (read in offset order), given the
/// aborted transactions that overlap them as `(producer, first offset)`: the Java consumer's rule
/// (`CompletedFetch.nextFetchedRecord`). An aborted transaction's producer counts as aborted from
/// the batch holding its first offset until its ABORT marker; its transactional batches in
/// between are aborted.
pub fn mark_aborted(aborted: &[(u32, u64)], batches: &mut [ReplicatedBatch]) {
    if aborted.is_empty() {
        return;
    }
    // `(first offset, producer)`, latest first (the next one is popped from the end).
    let mut pending: Vec<(u64, u32)> = aborted.iter().map(|&(producer, first)| (first, producer)).collect();
    pending.sort_unstable_by(|a, b| b.cmp(a));
    // Producers whose aborted transaction has begun and not yet met its marker.
    let mut producers: Vec<u32> = Vec::new();
    for b in batches.iter_mut().filter(|b| b.batch.transactional) {
        // `consumeAbortedTransactionsUpTo(batch.lastOffset())`
        let last = b.base_offset + b.batch.record_count().max(1) - 1;
        while let Some(&(first, producer)) = pending.last()
            && first <= last
        {
            pending.pop();
            producers.push(producer);
        }
        let i = producers.iter().position(|&p| p == b.batch.producer);
        match (b.batch.control, i) {
            (Some(ControlMarker::Abort), Some(i)) => {
                producers.swap_remove(i);
            }
            (None, Some(_)) => b.aborted = true,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimTime;

    fn data(producer: u32, records: usize) -> RecordBatch {
        RecordBatch {
            producer,
            producer_epoch: 0,
            base_sequence: 0,
            idempotent: true,
            record_times: vec![SimTime::ZERO; records],
            values: Vec::new(),
            size_bytes: 100,
            created: SimTime::ZERO,
            allocated_bytes: 0,
            transactional: true,
            control: None,
            extra: None,
        }
    }

    #[test]
    fn the_oldest_open_transaction_bounds_the_stable_offset() {
        let mut ix = TxnIndex::default();
        ix.on_append(&data(0, 10), 0); // producer 0 opens at 0
        ix.on_append(&data(1, 10), 10); // producer 1 opens at 10
        ix.on_append(&data(0, 10), 20);
        assert_eq!(ix.first_unstable_offset(0), Some(0));
        // Producer 0 commits at 30: until the high watermark passes its marker it still holds.
        ix.on_append(&RecordBatch::marker(0, 0, 0, ControlMarker::Commit, SimTime::ZERO), 30);
        assert_eq!(ix.first_unstable_offset(30), Some(0), "the marker at 30 is not committed yet");
        assert_eq!(ix.first_unstable_offset(31), Some(10), "then producer 1's open one holds it");
        ix.on_append(&RecordBatch::marker(1, 0, 0, ControlMarker::Abort, SimTime::ZERO), 31);
        assert_eq!(ix.first_unstable_offset(32), None);
        assert_eq!(ix.aborted(), &[AbortedTxn { producer: 1, first_offset: 10, last_offset: 31 }]);
        let mut out = Vec::new();
        ix.aborted_between(0, 12, &mut out);
        assert_eq!(out, vec![(1, 10)]);
        out.clear();
        ix.aborted_between(32, 40, &mut out);
        assert!(out.is_empty(), "the transaction ended at 31");
    }

    #[test]
    fn batches_between_an_aborted_first_offset_and_its_marker_are_aborted() {
        use std::rc::Rc;
        let at = |base_offset, batch: RecordBatch| ReplicatedBatch {
            base_offset,
            epoch: 0,
            aborted: false,
            batch: Rc::new(batch),
        };
        let abort = |p| RecordBatch::marker(p, 0, 0, ControlMarker::Abort, SimTime::ZERO);
        // Producer 0 aborts [0, 30); producer 1 commits its batch at 10; a plain batch at 20.
        let mut batches = vec![
            at(0, data(0, 10)),
            at(10, data(1, 10)),
            at(20, RecordBatch { transactional: false, ..data(0, 10) }),
            at(30, abort(0)),
            at(31, data(0, 5)), // producer 0's next transaction: not aborted
        ];
        mark_aborted(&[(0, 0)], &mut batches);
        let marked: Vec<bool> = batches.iter().map(|b| b.aborted).collect();
        assert_eq!(marked, vec![true, false, false, false, false]);
    }

    #[test]
    fn plain_batches_and_stray_markers_change_nothing() {
        let mut ix = TxnIndex::default();
        ix.on_append(&RecordBatch { transactional: false, ..data(0, 5) }, 0);
        ix.on_append(&RecordBatch::marker(3, 0, 0, ControlMarker::Abort, SimTime::ZERO), 5);
        assert!(ix.is_empty());
    }
}
