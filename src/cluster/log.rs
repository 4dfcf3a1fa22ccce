//! A replica's log: batches at offsets, each written in a leader epoch (Kafka's `UnifiedLog` and
//! `LeaderEpochFileCache`, reduced to what replication needs).
//!
//! Offsets are the ones Kafka gives: a batch of `n` records appended at log end offset `o` holds
//! `o..o+n`. The log holds batches, not records, shared (`Rc`) with the requests that carried
//! them. The epoch cache maps each leader epoch to its start offset, so `end_offset_for_epoch`
//! answers KIP-101's question "where did epoch E end?".
//!
//! Durability: every batch remembers when it was appended. A process crash keeps the page cache
//! (the whole log); a power loss keeps a batch only if the OS wrote it back
//! (`page_cache_writeback_ms` after the append) or an fsync (`log.flush.interval.ms`) ran after it.
//!
//! Simplified: truncation works on whole batches (a truncation point inside a batch drops the
//! batch; Kafka's truncation points are batch boundaries in practice); retention drops whole
//! batches from the front. Segments (`segment.bytes`, `segment.ms`) are derived from the batches
//! when retention asks for them ([`Log::segments`]), not kept as files; a compacted topic's log
//! keeps where its segments rolled instead ([`Log::keep_segments`]), as its cleaner shrinks
//! batches, and may have gaps between batches (the offsets the cleaner removed whole).

use std::collections::VecDeque;
use std::rc::Rc;

use super::txn_index::TxnIndex;
use crate::protocol::{RecordBatch, ReplicatedBatch};
use crate::sim::{SimDuration, SimTime, prefetch};

/// A batch stored in the log.
#[derive(Clone, Debug)]
pub struct LogBatch {
    pub base_offset: u64,
    /// The leader epoch the batch was first written in.
    pub epoch: u32,
    pub batch: Rc<RecordBatch>,
    /// When this replica appended it (for durability on power loss).
    pub appended_at: SimTime,
    /// `base_offset` + the batch's record count, kept inline: offset searches then never
    /// follow the `Rc` to the batch (a cache miss per probe on a long log).
    end_offset: u64,
    /// The batch's size, inline for the same reason.
    size_bytes: u32,
}

impl LogBatch {
    pub fn end_offset(&self) -> u64 {
        self.end_offset
    }

    pub fn size_bytes(&self) -> u32 {
        self.size_bytes
    }

    /// The cleaner's rewrite of this batch (same offsets, fewer records).
    pub(super) fn set_batch(&mut self, batch: Rc<RecordBatch>) {
        self.size_bytes = batch.size_bytes;
        self.batch = batch;
    }
}

/// Starts loading a batch (its reference count and header fields) into the cache. A hint: it
/// changes no result.
#[inline]
fn prefetch_batch(batch: &Rc<RecordBatch>) {
    // The `RcBox` starts two words before the value; the batch's fields span two lines.
    let value = Rc::as_ptr(batch).cast::<u8>();
    prefetch::address(value.wrapping_sub(16));
    prefetch::address(value.wrapping_add(48));
}

/// How many batches [`gallop_from_back`] looks at one by one before it gallops.
const LINEAR_FROM_BACK: usize = 4;

/// In `s`, sorted by end offset: the index of the first batch that ends after `offset`,
/// looking at the last [`LINEAR_FROM_BACK`] batches one by one (a follower or consumer that
/// keeps up asks for one of them), then galloping from there (doubling the step) and bisecting.
fn gallop_from_back(s: &[LogBatch], offset: u64) -> usize {
    // Invariant: batches `hi..` end after `offset`; batches `..lo` end at or before it.
    let mut hi = s.len();
    for _ in 0..LINEAR_FROM_BACK {
        match hi.checked_sub(1) {
            Some(last) if s[last].end_offset > offset => hi = last,
            _ => return hi,
        }
    }
    let mut step = 1;
    let lo = loop {
        if hi == 0 {
            break 0;
        }
        let probe = hi.saturating_sub(step);
        if s[probe].end_offset <= offset {
            break probe + 1;
        }
        hi = probe;
        step *= 2;
    };
    lo + s[lo..hi].partition_point(|b| b.end_offset <= offset)
}

/// As [`gallop_from_back`], galloping from the front.
fn gallop_from_front(s: &[LogBatch], offset: u64) -> usize {
    // Invariant: batches `..lo` end at or before `offset`; batches `hi..` end after it.
    let n = s.len();
    let mut lo = 0;
    let mut step = 1;
    let hi = loop {
        if lo == n {
            break n;
        }
        let probe = (lo + step - 1).min(n - 1);
        if s[probe].end_offset > offset {
            break probe;
        }
        lo = probe + 1;
        step *= 2;
    };
    lo + s[lo..hi].partition_point(|b| b.end_offset <= offset)
}

/// One partition's log on one broker.
#[derive(Debug, Default)]
pub struct Log {
    batches: VecDeque<LogBatch>,
    /// Log start offset: the first offset still held (or the LEO when empty).
    start_offset: u64,
    /// Log end offset: the offset the next record gets.
    end_offset: u64,
    /// `(epoch, start offset)`, epochs increasing (the leader-epoch checkpoint file).
    epochs: Vec<(u32, u64)>,
    /// For the checker only: the epoch runs of the log before [`Log::reset_to`] cleared the
    /// cache, as [`Log::epoch_runs`] gives them.
    runs_before_reset: Vec<(u64, u64, u32)>,
    size_bytes: u64,
    /// Open, unreplicated and aborted transactions (see [`TxnIndex`]).
    txns: TxnIndex,
    /// A compacted log's segments as they rolled ([`Log::keep_segments`]): the cleaner shrinks
    /// batches, so segments derived from them afterwards would move.
    rolls: Option<Box<SegmentRolls>>,
}

/// Where a compacted log's segments begin, kept as `UnifiedLog.maybeRoll` rolls them.
#[derive(Clone, Debug, Default)]
pub(super) struct SegmentRolls {
    segment_bytes: u64,
    segment_ms: u64,
    /// Base offsets of the segments, oldest first; the last is the active segment.
    pub(super) bases: Vec<u64>,
    /// The active segment's bytes, and its first batch's newest record time.
    active_bytes: u64,
    active_first_timestamp: SimTime,
}

impl SegmentRolls {
    /// The roll rule of [`Log::segments`], applied as each batch is appended.
    fn on_append(&mut self, base_offset: u64, size: u64, timestamp: SimTime, now: SimTime) {
        let roll = self.bases.is_empty()
            || self.active_bytes > self.segment_bytes.saturating_sub(size)
            || now.since(self.active_first_timestamp) > SimDuration::from_ms(self.segment_ms);
        if roll {
            self.bases.push(base_offset);
            self.active_bytes = 0;
            self.active_first_timestamp = timestamp;
        }
        self.active_bytes += size;
    }
}

/// A batch's newest record time (`LogSegment.largestTimestamp` counts it), or when it was
/// appended if it holds none.
fn largest_timestamp(b: &LogBatch) -> SimTime {
    b.batch.record_times.iter().copied().max().unwrap_or(b.appended_at)
}

impl Log {
    pub fn log_end_offset(&self) -> u64 {
        self.end_offset
    }

    pub fn log_start_offset(&self) -> u64 {
        self.start_offset
    }

    pub fn retained_batches(&self) -> usize {
        self.batches.len()
    }

    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// Batches in offset order.
    pub fn batches(&self) -> impl Iterator<Item = &LogBatch> {
        self.batches.iter()
    }

    /// Batches from the one holding `offset` on, in offset order.
    pub fn batches_from(&self, offset: u64) -> impl Iterator<Item = &LogBatch> {
        let first = self.first_ending_after(offset);
        self.batches.range(first..)
    }

    /// As [`Log::first_ending_after`], galloping from the front (retention trims near the log
    /// start).
    fn first_ending_after_from_front(&self, offset: u64) -> usize {
        // The deque is two slices, oldest first: the answer is in the front one unless the back
        // one starts at or before `offset`.
        let (front, back) = self.batches.as_slices();
        match back.first() {
            Some(b) if b.end_offset <= offset => front.len() + gallop_from_front(back, offset),
            _ => gallop_from_front(front, offset),
        }
    }

    /// The index of the first batch that ends after `offset` (the batch holding it, if any).
    ///
    /// Readers (followers, consumers) mostly ask for offsets near the log end, so this searches
    /// from the back, doubling the step, then bisects: O(log distance from the end) instead of
    /// O(log length) probes over a long log. The same index as `partition_point`. It searches
    /// the deque's slices directly (indexing the deque itself wraps every probe).
    fn first_ending_after(&self, offset: u64) -> usize {
        let (front, back) = self.batches.as_slices();
        match back.first() {
            Some(b) if b.end_offset <= offset => front.len() + gallop_from_back(back, offset),
            _ => gallop_from_back(front, offset),
        }
    }

    /// The epoch of the last batch (Fetch's `lastFetchedEpoch`), or the latest cached epoch.
    pub fn last_epoch(&self) -> Option<u32> {
        self.batches.back().map(|b| b.epoch).or(self.epochs.last().map(|e| e.0))
    }

    /// The latest epoch in the cache.
    pub fn latest_epoch(&self) -> Option<u32> {
        self.epochs.last().map(|e| e.0)
    }

    /// Which epoch wrote which offsets, from the epoch cache: `(first offset, end offset, epoch)`
    /// for every epoch that wrote records, in offset order. The cache is not trimmed by retention
    /// here, so it also covers offsets retention has dropped.
    pub fn epoch_runs(&self) -> Vec<(u64, u64, u32)> {
        let ends = self.epochs.iter().skip(1).map(|&(_, start)| start).chain(std::iter::once(self.end_offset));
        let runs = self.epochs.iter().zip(ends).filter(|((_, start), end)| start < end);
        self.runs_before_reset.iter().copied().chain(runs.map(|(&(e, start), end)| (start, end, e))).collect()
    }

    /// Records that `epoch` starts at `offset` (`maybeAssignEpochStartOffset`); a new leader does
    /// this at its log end offset when it takes over.
    pub fn assign_epoch(&mut self, epoch: u32, offset: u64) {
        if self.epochs.last().is_none_or(|&(e, _)| epoch > e) {
            self.epochs.push((epoch, offset));
        }
    }

    /// The partition's transactions (open, completed, aborted).
    pub fn txns(&self) -> &TxnIndex {
        &self.txns
    }

    /// The last stable offset for this high watermark: `read_committed` readers stop there.
    #[inline]
    pub fn last_stable_offset(&self, high_watermark: u64) -> u64 {
        if self.txns.is_empty() {
            return high_watermark;
        }
        self.txns.first_unstable_offset(high_watermark).map_or(high_watermark, |f| f.min(high_watermark))
    }

    /// After a truncation: the transaction state again from the retained batches.
    #[cold]
    fn rebuild_txns(&mut self) {
        self.txns.clear();
        for b in &self.batches {
            self.txns.on_append(&b.batch, b.base_offset);
        }
    }

    /// Appends a batch written in `epoch` at the log end; returns its base offset.
    ///
    /// Inline: every leader and follower append runs it, and as a call its register saves and
    /// restores cost about as much as its body (the deque's growth stays out of line in `std`).
    #[inline(always)]
    pub fn append(&mut self, epoch: u32, batch: Rc<RecordBatch>, now: SimTime) -> u64 {
        let base_offset = self.end_offset;
        self.assign_epoch(epoch, base_offset);
        self.end_offset += batch.offset_count();
        let size_bytes = batch.size_bytes;
        self.size_bytes += size_bytes as u64;
        let end_offset = self.end_offset;
        self.txns.on_append(&batch, base_offset);
        self.batches.push_back(LogBatch { base_offset, epoch, batch, appended_at: now, end_offset, size_bytes });
        prefetch::next_back_slot(&self.batches);
        if self.rolls.is_some() {
            self.roll_on_append(now);
        }
        base_offset
    }

    /// A compacted log's segment roll for the batch just appended (out of line: other logs
    /// never come here).
    #[cold]
    #[inline(never)]
    fn roll_on_append(&mut self, now: SimTime) {
        let (Some(rolls), Some(b)) = (&mut self.rolls, self.batches.back()) else { return };
        rolls.on_append(b.base_offset, u64::from(b.size_bytes), largest_timestamp(b), now);
    }

    /// A follower's append of a batch the leader holds at `base_offset`, past this log's end
    /// when the leader's cleaner removed the offsets between (`appendAsFollower` takes the
    /// leader's offsets as they are).
    #[inline(always)]
    pub fn append_at(&mut self, base_offset: u64, epoch: u32, batch: Rc<RecordBatch>, now: SimTime) -> u64 {
        if base_offset > self.end_offset {
            self.skip_to(base_offset);
        }
        self.append(epoch, batch, now)
    }

    /// The log end jumps to `offset` over offsets a leader's cleaner removed.
    #[cold]
    #[inline(never)]
    fn skip_to(&mut self, offset: u64) {
        if self.batches.is_empty() {
            self.start_offset = offset;
        }
        self.end_offset = offset;
    }

    /// Keeps this log's segment boundaries as they roll (a compacted topic's log: see
    /// [`SegmentRolls`]). Call it on an empty log.
    pub fn keep_segments(&mut self, segment_bytes: u64, segment_ms: u64) {
        self.rolls = Some(Box::new(SegmentRolls { segment_bytes, segment_ms, ..SegmentRolls::default() }));
        self.resync_rolls();
    }

    /// The kept segments after batches left the log (truncation, retention, a reset): segments
    /// wholly past the end or below the start go, and the active one is measured again.
    fn resync_rolls(&mut self) {
        let Some(rolls) = &mut self.rolls else { return };
        let (start, end) = (self.start_offset, self.end_offset);
        rolls.bases.retain(|&b| b < end);
        while rolls.bases.len() > 1 && rolls.bases[1] <= start {
            rolls.bases.remove(0);
        }
        if rolls.bases.is_empty() && !self.batches.is_empty() {
            rolls.bases.push(start);
        }
        let active = rolls.bases.last().copied().unwrap_or(u64::MAX);
        let batches = self.batches.iter().filter(|b| b.base_offset >= active);
        rolls.active_bytes = batches.clone().map(|b| u64::from(b.size_bytes)).sum();
        rolls.active_first_timestamp = batches.clone().next().map_or(SimTime::ZERO, largest_timestamp);
    }

    /// The kept segment boundaries (see [`Log::keep_segments`]), for the cleaner.
    pub(super) fn rolls_mut(&mut self) -> Option<&mut SegmentRolls> {
        self.rolls.as_deref_mut()
    }

    /// The batches, for the cleaner to rewrite in place; `size_bytes` is the log's size after.
    pub(super) fn rewrite(&mut self) -> (&mut VecDeque<LogBatch>, &mut u64) {
        (&mut self.batches, &mut self.size_bytes)
    }

    /// `LeaderEpochFileCache.endOffsetFor`: the largest cached epoch ≤ `epoch` and where it ended
    /// (the start of the next epoch, or the LEO for the latest). `None` if every cached epoch is
    /// larger (the caller then truncates to its high watermark, as Kafka does for UNDEFINED).
    pub fn end_offset_for_epoch(&self, epoch: u32) -> Option<(u32, u64)> {
        // Mostly the follower asks about the latest epoch: it ends at the LEO (no search).
        if let Some(&(latest, _)) = self.epochs.last()
            && latest <= epoch
        {
            return Some((latest, self.end_offset));
        }
        let i = self.epochs.partition_point(|&(e, _)| e <= epoch);
        if i == 0 {
            return None;
        }
        let found = self.epochs[i - 1].0;
        let end = self.epochs.get(i).map_or(self.end_offset, |&(_, start)| start);
        Some((found, end))
    }

    /// Removes every batch at or after `offset` (rounded down to a batch boundary); returns what
    /// was removed. The epoch cache forgets epochs that start at or after the new end.
    pub fn truncate_to(&mut self, offset: u64) -> Vec<LogBatch> {
        let mut removed = Vec::new();
        while let Some(b) = self.batches.back() {
            if b.end_offset() <= offset {
                break;
            }
            let b = self.batches.pop_back().expect("peeked");
            self.size_bytes -= b.size_bytes as u64;
            removed.push(b);
        }
        removed.reverse();
        if !self.txns.is_empty() || removed.iter().any(|b| b.batch.transactional) {
            self.rebuild_txns();
        }
        self.end_offset = self.batches.back().map_or(self.start_offset.min(offset), |b| b.end_offset());
        self.start_offset = self.start_offset.min(self.end_offset);
        // LeaderEpochFileCache.truncateFromEnd: forget epochs starting at or after the new end.
        let end = self.end_offset;
        self.epochs.retain(|&(_, start)| start < end);
        self.runs_before_reset.retain(|&(start, _, _)| start < end);
        if let Some(last) = self.runs_before_reset.last_mut() {
            last.1 = last.1.min(end);
        }
        self.resync_rolls();
        removed
    }

    /// Drops the batches a power loss at `now` would lose; returns them.
    pub fn lose_unwritten(
        &mut self,
        now: SimTime,
        writeback: SimDuration,
        flush_interval_ms: Option<u64>,
    ) -> Vec<LogBatch> {
        let last_flush =
            flush_interval_ms.filter(|&ms| ms > 0).map(|ms| SimTime((now.0 / (ms * 1_000_000)) * ms * 1_000_000));
        let durable = |b: &LogBatch| b.appended_at + writeback <= now || last_flush.is_some_and(|f| b.appended_at <= f);
        match self.batches.iter().position(|b| !durable(b)) {
            Some(i) => {
                let offset = self.batches[i].base_offset;
                self.truncate_to(offset)
            }
            None => Vec::new(),
        }
    }

    /// Bytes available from `offset` up to `limit` (exclusive), counting whole batches; the
    /// count may stop once it reaches `enough` (a fetch asks only whether `fetch.min.bytes` are
    /// there, and `u64::MAX` counts everything): the exact count, or at least `enough`.
    pub fn bytes_between_up_to(&self, offset: u64, limit: u64, enough: u64) -> u64 {
        let mut bytes = 0;
        for b in self.batches.iter().rev() {
            if b.end_offset() <= offset || bytes >= enough {
                break;
            }
            if b.base_offset < limit {
                bytes += b.size_bytes as u64;
            }
        }
        bytes
    }

    /// Appends to `out` the batches holding offsets from `offset` below `limit`, up to
    /// `max_bytes` (the first batch is always returned, as Kafka does so that an oversized batch
    /// cannot block a reader); returns how many.
    #[inline(always)]
    pub fn read(&self, offset: u64, limit: u64, max_bytes: u64, out: &mut Vec<ReplicatedBatch>) -> usize {
        if offset >= limit {
            // Any batch holding `offset` ends past `limit`: nothing to read (and no search).
            return 0;
        }
        // The batches from the one holding `offset` on, as the deque's two slices (one search,
        // and plain slice loops rather than a chained iterator).
        let (front, back) = self.batches.as_slices();
        let (a, b) = match back.first() {
            Some(first) if first.end_offset <= offset => (&back[gallop_from_back(back, offset)..], &[][..]),
            _ => (&front[gallop_from_back(front, offset)..], back),
        };
        // One pass: `out` is a recycled vector, which mostly has the room already.
        let mut count = 0;
        let mut bytes = 0u64;
        'read: for s in [a, b] {
            for x in s {
                let size = x.size_bytes as u64;
                if x.end_offset > limit || (count > 0 && bytes + size > max_bytes) {
                    break 'read;
                }
                bytes += size;
                count += 1;
                out.push(ReplicatedBatch {
                    base_offset: x.base_offset,
                    epoch: x.epoch,
                    aborted: false,
                    batch: x.batch.clone(),
                });
            }
        }
        count
    }

    /// The batch holding `offset`, if retained.
    pub fn batch_at(&self, offset: u64) -> Option<&LogBatch> {
        let i = self.first_ending_after(offset);
        self.batches.get(i).filter(|b| b.base_offset <= offset)
    }

    /// Drops whole batches that end at or before `offset`; returns them (as a drain: the
    /// batches go when it is dropped, and no `Vec` is built for them).
    pub fn trim_before(&mut self, offset: u64) -> std::collections::vec_deque::Drain<'_, LogBatch> {
        let k = self.first_ending_after_from_front(offset);
        // The batches that go were written seconds ago and left the cache long since; whoever
        // drops them touches each one (the reference count, the ledger's batch identity). Ask
        // for them all first, so the misses overlap instead of queueing one per batch.
        for b in self.batches.range(..k) {
            prefetch_batch(&b.batch);
        }
        if k > 0 {
            self.start_offset = self.batches[k - 1].end_offset;
            self.size_bytes -= self.batches.range(..k).map(|b| b.size_bytes as u64).sum::<u64>();
            self.txns.trim_before(self.start_offset);
            if let Some(rolls) = &mut self.rolls {
                // Whole segments went (retention deletes segments): the ones below the start.
                if k == self.batches.len() {
                    rolls.bases.clear();
                } else {
                    let start = self.start_offset;
                    let gone = rolls.bases.iter().skip(1).take_while(|&&b| b <= start).count();
                    rolls.bases.drain(..gone);
                }
            }
        }
        self.batches.drain(..k)
    }

    /// Empties the log and starts it at `offset` (a follower whose fetch offset fell below the
    /// leader's log start): `UnifiedLog.truncateFullyAndStartAt`, which also clears the leader
    /// epoch cache, so the next fetch carries no last fetched epoch. (Kept, the follower's old
    /// epochs made the leader answer with a diverging epoch below its log start, the follower
    /// truncate to it, fall out of range again, and so on for ever.)
    pub fn reset_to(&mut self, offset: u64) {
        let runs = self.epoch_runs();
        self.runs_before_reset = runs;
        self.epochs.clear();
        self.batches.clear();
        self.txns.clear();
        self.size_bytes = 0;
        self.start_offset = offset;
        self.end_offset = offset;
        if let Some(rolls) = &mut self.rolls {
            rolls.bases.clear();
        }
    }
}

/// A topic's retention settings (`retention.ms`, `retention.bytes`, `segment.bytes`,
/// `segment.ms`; -1 is unlimited).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    pub retention_ms: i64,
    pub retention_bytes: i64,
    pub segment_bytes: u64,
    pub segment_ms: u64,
}

/// A log segment as retention sees it (Kafka's `LogSegment`): offsets `base_offset..end_offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub base_offset: u64,
    pub end_offset: u64,
    pub size_bytes: u64,
    /// `LogSegment.largestTimestamp`: the newest record time in it (CreateTime).
    pub largest_timestamp: SimTime,
    /// `LogSegment.getFirstBatchTimestamp`: the newest record time of its first batch.
    pub first_batch_timestamp: SimTime,
}

/// What one retention pass deletes: every segment below `new_start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetentionDeletion {
    pub new_start: u64,
    pub segments: usize,
    /// `retention.bytes` or `retention.ms`: the first limit that deleted a segment.
    pub reason: &'static str,
}

impl Log {
    /// The log's segments, as `UnifiedLog.maybeRoll` would have rolled them while appending:
    /// a new segment before a batch that would take the active one past `segment.bytes`
    /// (`size > segment.bytes - batch size`), or once the active segment's first batch is
    /// `segment.ms` older than the batch being appended (`segment.jitter.ms` = 0).
    ///
    /// Derived from the batches, oldest first from the log start offset, rather than kept as
    /// each batch is appended: appends stay as cheap as without retention, and a pass deletes
    /// whole segments, so the log start is always where a segment began. (A follower that
    /// becomes leader derives its segments from its own log start: Kafka's followers roll their
    /// own segments too.)
    pub fn segments(&self, segment_bytes: u64, segment_ms: u64) -> Vec<Segment> {
        let mut out: Vec<Segment> = Vec::new();
        let mut first_timestamp = SimTime::ZERO;
        // A compacted log's kept boundaries: the next one not yet passed.
        let kept = self.rolls.as_ref().map(|r| r.bases.as_slice());
        let mut next_kept = 0;
        for b in &self.batches {
            let size = b.size_bytes as u64;
            let timestamp = largest_timestamp(b);
            let mut base_offset = b.base_offset;
            let roll = match (kept, out.last()) {
                (Some(bases), _) => {
                    // The last boundary at or below this batch (the cleaner may have emptied the
                    // batch a segment began with).
                    let mut passed = None;
                    while next_kept < bases.len() && bases[next_kept] <= b.base_offset {
                        passed = Some(bases[next_kept]);
                        next_kept += 1;
                    }
                    if let Some(base) = passed {
                        base_offset = base.max(self.start_offset);
                    }
                    passed.is_some() || out.is_empty()
                }
                (None, None) => true,
                (None, Some(active)) => {
                    active.size_bytes > segment_bytes.saturating_sub(size)
                        || b.appended_at.since(first_timestamp) > SimDuration::from_ms(segment_ms)
                }
            };
            if roll {
                first_timestamp = timestamp;
                out.push(Segment {
                    base_offset,
                    end_offset: b.end_offset,
                    size_bytes: 0,
                    largest_timestamp: timestamp,
                    first_batch_timestamp: timestamp,
                });
            }
            let active = out.last_mut().expect("a segment was rolled");
            active.end_offset = b.end_offset;
            active.size_bytes += size;
            active.largest_timestamp = active.largest_timestamp.max(timestamp);
        }
        out
    }

    /// `UnifiedLog.deleteOldSegments` with `cleanup.policy=delete` at `now`: first the oldest
    /// segments `retention.bytes` does not need (`deleteRetentionSizeBreachedSegments`: while the
    /// log would still hold at least `retention.bytes` without the segment), then those whose
    /// newest record is more than `retention.ms` old (`deleteRetentionMsBreachedSegments`).
    /// Either pass deletes a prefix of the segments and stops at the first one it keeps or that
    /// holds offsets at or above the high watermark (`deletableSegments`: the log start offset
    /// never passes the high watermark). Deleting every segment leaves an empty log starting at
    /// the log end (Kafka rolls a new active segment first). `None`: nothing to delete.
    pub fn retention_deletion(&self, now: SimTime, high_watermark: u64, r: &Retention) -> Option<RetentionDeletion> {
        let segments = self.segments(r.segment_bytes, r.segment_ms);
        let upper = |i: usize| segments.get(i + 1).map_or(self.end_offset, |s| s.base_offset);
        let mut deleted = 0;
        let mut reason = "";
        if r.retention_bytes >= 0 {
            let mut diff = self.size_bytes as i64 - r.retention_bytes;
            while deleted < segments.len()
                && high_watermark >= upper(deleted)
                && diff - segments[deleted].size_bytes as i64 >= 0
            {
                diff -= segments[deleted].size_bytes as i64;
                deleted += 1;
                reason = "retention.bytes";
            }
        }
        if r.retention_ms >= 0 {
            let limit = SimDuration::from_ms(r.retention_ms as u64);
            while deleted < segments.len()
                && high_watermark >= upper(deleted)
                && now.since(segments[deleted].largest_timestamp) > limit
            {
                deleted += 1;
                if reason.is_empty() {
                    reason = "retention.ms";
                }
            }
        }
        (deleted > 0).then(|| RetentionDeletion { new_start: upper(deleted - 1), segments: deleted, reason })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The base offsets `Log::read` returns.
    fn read(log: &Log, offset: u64, limit: u64, max_bytes: u64) -> Vec<u64> {
        let mut out = Vec::new();
        let n = log.read(offset, limit, max_bytes, &mut out);
        assert_eq!(n, out.len());
        out.iter().map(|b| b.base_offset).collect()
    }

    fn batch(n: usize) -> Rc<RecordBatch> {
        Rc::new(RecordBatch {
            producer: 0,
            producer_epoch: 0,
            base_sequence: 0,
            idempotent: false,
            record_times: vec![SimTime::ZERO; n],
            values: Vec::new(),
            allocated_bytes: 0,
            size_bytes: 100,
            created: SimTime::ZERO,
            transactional: false,
            control: None,
            extra: None,
        })
    }

    #[test]
    fn offsets_are_assigned_in_append_order() {
        let mut log = Log::default();
        assert_eq!(log.append(0, batch(3), SimTime::ZERO), 0);
        assert_eq!(log.append(0, batch(2), SimTime::ZERO), 3);
        assert_eq!(log.log_end_offset(), 5);
    }

    #[test]
    fn read_stops_at_the_limit_and_the_byte_cap() {
        let mut log = Log::default();
        for _ in 0..4 {
            log.append(0, batch(10), SimTime::ZERO);
        }
        assert_eq!(read(&log, 15, 40, u64::MAX), [10, 20, 30]);
        assert_eq!(read(&log, 0, 25, u64::MAX), [0, 10], "a batch reaching past the limit is not returned");
        assert_eq!(read(&log, 0, 40, 150).len(), 1, "the byte cap stops after the first batch");
        assert_eq!(read(&log, 0, 40, 1).len(), 1, "the first batch is returned even when too big");
        let mut out = Vec::new();
        log.read(0, 10, u64::MAX, &mut out);
        assert_eq!(log.read(10, 30, u64::MAX, &mut out), 2, "appends after what `out` holds");
        assert_eq!(out.iter().map(|b| b.base_offset).collect::<Vec<_>>(), [0, 10, 20]);
    }

    #[test]
    fn bytes_between_counts_whole_batches_and_may_stop_early() {
        let mut log = Log::default();
        for _ in 0..4 {
            log.append(0, batch(10), SimTime::ZERO); // offsets 0..40, one size each
        }
        let size = log.batches().next().map(|b| b.batch.size_bytes as u64).expect("a batch");
        assert_eq!(log.bytes_between_up_to(15, 40, u64::MAX), 3 * size, "the batch holding 15 counts whole");
        assert_eq!(log.bytes_between_up_to(15, 25, u64::MAX), 2 * size, "batches starting at the limit do not");
        assert_eq!(log.bytes_between_up_to(40, 40, u64::MAX), 0);
        let early = log.bytes_between_up_to(0, 40, 1);
        assert!((1..=size).contains(&early), "stops at the first batch once 1 byte is enough: {early}");
    }

    #[test]
    fn epoch_end_offsets_follow_kip_101() {
        let mut log = Log::default();
        log.append(0, batch(2), SimTime::ZERO); // epoch 0: offsets 0..2
        log.append(2, batch(3), SimTime::ZERO); // epoch 2: offsets 2..5
        log.assign_epoch(4, 5); // a new leader in epoch 4 at LEO 5
        assert_eq!(log.end_offset_for_epoch(0), Some((0, 2)));
        assert_eq!(log.end_offset_for_epoch(1), Some((0, 2)), "largest epoch ≤ 1 is 0");
        assert_eq!(log.end_offset_for_epoch(3), Some((2, 5)));
        assert_eq!(log.end_offset_for_epoch(9), Some((4, 5)));
        let removed = log.truncate_to(2);
        assert_eq!(removed.len(), 1);
        assert_eq!(log.end_offset_for_epoch(9), Some((0, 2)), "truncation forgets later epochs");
    }

    #[test]
    fn a_power_loss_keeps_only_written_back_batches() {
        let mut log = Log::default();
        log.append(0, batch(1), SimTime::from_ms(0));
        log.append(0, batch(1), SimTime::from_ms(900));
        let lost = log.lose_unwritten(SimTime::from_ms(1000), SimDuration::from_ms(500), None);
        assert_eq!(lost.len(), 1);
        assert_eq!(log.log_end_offset(), 1);
        // an fsync every 250 ms covers a batch appended before the last flush
        let mut log = Log::default();
        log.append(0, batch(1), SimTime::from_ms(740));
        log.append(0, batch(1), SimTime::from_ms(760));
        log.lose_unwritten(SimTime::from_ms(800), SimDuration::from_ms(30_000), Some(250));
        assert_eq!(log.log_end_offset(), 1, "flushed at 750 ms: the first survives");
    }

    #[test]
    fn the_search_from_the_back_finds_what_a_bisection_finds() {
        let mut log = Log::default();
        for i in 0..40 {
            log.append(0, batch(1 + i % 3), SimTime::ZERO);
        }
        log.trim_before(38);
        // More appends after the trim wrap the deque around its buffer (two slices).
        for i in 0..30 {
            log.append(0, batch(1 + i % 2), SimTime::ZERO);
        }
        assert!(!log.batches.as_slices().1.is_empty(), "the test wants a wrapped deque");
        for offset in 0..log.log_end_offset() + 3 {
            let want = log.batches.partition_point(|b| b.end_offset() <= offset);
            assert_eq!(log.first_ending_after(offset), want, "offset {offset}");
            assert_eq!(log.first_ending_after_from_front(offset), want, "offset {offset}");
            // `read` across the wrap: what a walk over the whole deque returns.
            let leo = log.log_end_offset();
            for (limit, max_bytes) in [(leo, u64::MAX), (leo.saturating_sub(4), u64::MAX), (leo, 350)] {
                let mut want = Vec::new();
                let mut bytes = 0;
                for b in log.batches.iter().filter(|b| b.end_offset() > offset) {
                    if b.end_offset() > limit || (!want.is_empty() && bytes + b.size_bytes as u64 > max_bytes) {
                        break;
                    }
                    bytes += b.size_bytes as u64;
                    want.push(b.base_offset);
                }
                assert_eq!(read(&log, offset, limit, max_bytes), want, "read({offset}, {limit}, {max_bytes})");
            }
        }
        assert_eq!(Log::default().first_ending_after(5), 0);
        assert_eq!(Log::default().first_ending_after_from_front(5), 0);
    }

    #[test]
    fn trimming_keeps_offsets() {
        let mut log = Log::default();
        for _ in 0..3 {
            log.append(0, batch(10), SimTime::ZERO);
        }
        log.trim_before(25);
        assert_eq!(log.log_start_offset(), 20);
        assert_eq!(log.append(0, batch(1), SimTime::ZERO), 30);
        assert_eq!(log.batch_at(22).map(|b| b.base_offset), Some(20));
        assert!(log.batch_at(5).is_none());
    }

    #[test]
    fn segments_roll_before_an_append_would_pass_segment_bytes_and_retention_deletes_whole_ones() {
        let mut log = Log::default();
        for i in 0..5 {
            // One record each, created as it is appended (CreateTime = append time).
            let at = SimTime::from_ms(i * 1000);
            let b = batch(1);
            let b = RecordBatch { record_times: vec![at], values: Vec::new(), ..Rc::into_inner(b).unwrap() };
            log.append(0, Rc::new(b), at);
        }
        // 100-byte batches, 250-byte segments: a third batch would make 300.
        let segments = log.segments(250, u64::MAX / 2);
        let bases: Vec<u64> = segments.iter().map(|s| s.base_offset).collect();
        assert_eq!(bases, vec![0, 2, 4]);
        assert_eq!(segments[0].size_bytes, 200);
        // segment.ms: a batch 1.5 s after the segment's first rolls a new one.
        let bases: Vec<u64> = log.segments(1 << 20, 1500).iter().map(|s| s.base_offset).collect();
        assert_eq!(bases, vec![0, 2, 4]);
        let retention =
            Retention { retention_ms: 0, retention_bytes: -1, segment_bytes: 250, segment_ms: u64::MAX / 2 };
        // Everything is old, but the high watermark (3) holds back the segment holding offset 3.
        let d = log.retention_deletion(SimTime::from_ms(10_000), 3, &retention).unwrap();
        assert_eq!((d.new_start, d.segments, d.reason), (2, 1, "retention.ms"));
        // At the log end, every segment goes (Kafka rolls an empty active segment first).
        let d = log.retention_deletion(SimTime::from_ms(10_000), 5, &retention).unwrap();
        assert_eq!(d.new_start, 5);
        // Size: 500 bytes held, 300 allowed: only the first segment may go (the second would
        // leave 100).
        let by_size = Retention { retention_ms: -1, retention_bytes: 300, ..retention };
        let d = log.retention_deletion(SimTime::from_ms(10_000), 5, &by_size).unwrap();
        assert_eq!((d.new_start, d.reason), (2, "retention.bytes"));
        assert_eq!(
            log.retention_deletion(SimTime::from_ms(10_000), 5, &Retention { retention_bytes: 500, ..by_size }),
            None
        );
    }

    #[test]
    fn a_reset_clears_the_epoch_cache_but_the_checker_keeps_the_old_runs() {
        let mut log = Log::default();
        log.append(0, batch(2), SimTime::ZERO);
        log.append(1, batch(2), SimTime::ZERO);
        log.reset_to(10);
        // `truncateFullyAndStartAt`: the next fetch carries no last fetched epoch, and no epoch
        // below the new start can be asked about.
        assert_eq!((log.last_epoch(), log.end_offset_for_epoch(0)), (None, None));
        assert_eq!((log.log_start_offset(), log.log_end_offset()), (10, 10));
        log.append(2, batch(1), SimTime::ZERO);
        assert_eq!(log.end_offset_for_epoch(2), Some((2, 11)));
        assert_eq!(log.epoch_runs(), vec![(0, 2, 0), (2, 4, 1), (10, 11, 2)]);
    }
}
