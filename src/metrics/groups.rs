//! What consumer groups did, recorded for the checker, the summary and the charts: which member
//! owned which partition when (with its generation), which offsets were processed how often,
//! commits and their failures, and committed offset and lag over time.
//!
//! Processed records are kept as disjoint ranges per group and partition, so memory follows the
//! number of gaps and re-processed stretches, not the number of records. A record is known by its
//! offset *and* the leader epoch its batch was written in: after an unclean election a new record
//! can take a truncated one's offset (in a later epoch), and processing it is neither a duplicate
//! nor proof that the group saw the record it replaced.

use crate::sim::SimTime;

/// A member owned a partition from `from` to `to` (`None`: still at the end of the run).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnershipSpan {
    pub group: u32,
    /// The member's index in its group (`billing-2` is 2).
    pub member: u32,
    pub partition: u32,
    pub generation: i32,
    pub from: SimTime,
    pub to: Option<SimTime>,
}

/// Disjoint, sorted, half-open ranges of offsets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeSet {
    pub ranges: Vec<(u64, u64)>,
}

impl RangeSet {
    /// Adds `[a, b)`; returns the sub-ranges that were already present.
    pub fn insert(&mut self, a: u64, b: u64) -> Vec<(u64, u64)> {
        if a >= b {
            return Vec::new();
        }
        // Fast path: appending at (or after) the end.
        if let Some(last) = self.ranges.last_mut() {
            if a == last.1 {
                last.1 = b;
                return Vec::new();
            }
            if a > last.1 {
                self.ranges.push((a, b));
                return Vec::new();
            }
        } else {
            self.ranges.push((a, b));
            return Vec::new();
        }
        let mut overlap = Vec::new();
        let (mut lo, mut hi) = (a, b);
        let mut kept = Vec::with_capacity(self.ranges.len() + 1);
        for &(x, y) in &self.ranges {
            if y < lo || x > hi {
                kept.push((x, y));
            } else {
                if x.max(a) < y.min(b) {
                    overlap.push((x.max(a), y.min(b)));
                }
                lo = lo.min(x);
                hi = hi.max(y);
            }
        }
        kept.push((lo, hi));
        kept.sort_unstable();
        self.ranges = kept;
        overlap
    }

    pub fn len(&self) -> u64 {
        self.ranges.iter().map(|(a, b)| b - a).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// How many offsets of `[a, b)` are in the set.
    pub fn covered(&self, a: u64, b: u64) -> u64 {
        self.ranges.iter().map(|&(x, y)| y.min(b).saturating_sub(x.max(a))).sum()
    }

    /// The first `n` offsets of `[a, b)` not in the set.
    pub fn gaps(&self, a: u64, b: u64, n: usize) -> Vec<u64> {
        let mut out = Vec::new();
        let mut at = a;
        for &(x, y) in &self.ranges {
            while at < x.min(b) && out.len() < n {
                out.push(at);
                at += 1;
            }
            at = at.max(y);
        }
        while at < b && out.len() < n {
            out.push(at);
            at += 1;
        }
        out
    }
}

/// Bits of a record key below the epoch: offsets stay below 2^40 (a trillion records).
const EPOCH_SHIFT: u32 = 40;

/// A record's key in [`Processed`]: its leader epoch, then its offset, in one `u64`, so that the
/// records of one epoch are contiguous keys and ranges of different epochs never merge.
pub fn record_key(epoch: u32, offset: u64) -> u64 {
    debug_assert!(offset < 1 << EPOCH_SHIFT, "offset {offset} too large for a record key");
    ((epoch as u64) << EPOCH_SHIFT) | offset
}

/// The `(epoch, offset)` of a record key.
pub fn split_key(key: u64) -> (u32, u64) {
    ((key >> EPOCH_SHIFT) as u32, key & ((1 << EPOCH_SHIFT) - 1))
}

/// A range of record keys (never spanning epochs) as `(epoch, first offset, end offset)`.
pub fn split_range((a, b): (u64, u64)) -> (u32, u64, u64) {
    let (epoch, from) = split_key(a);
    (epoch, from, from + (b - a))
}

/// One group's processing of one partition.
#[derive(Clone, Debug, Default)]
pub struct Processed {
    pub group: u32,
    pub partition: u32,
    /// Records processed at least once, as ranges of [`record_key`]s.
    pub once: RangeSet,
    /// Records processed more than once, as ranges of [`record_key`]s.
    pub again: RangeSet,
    /// Extra processings (a record processed three times counts two).
    pub duplicates: u64,
    /// Where the group first started reading the partition (its first position); gaps after it
    /// are skips.
    pub first_position: Option<u64>,
    /// Offsets of a compacted partition the group passed over because the log cleaner had
    /// removed their records (plain offsets: which epoch wrote them, the reader cannot know).
    pub compacted_away: RangeSet,
}

impl Processed {
    /// The offsets processed at least once, whatever record each held.
    pub fn offsets(&self) -> RangeSet {
        let mut offsets = RangeSet::default();
        let mut ranges: Vec<(u64, u64)> =
            self.once.ranges.iter().map(|&r| split_range(r)).map(|(_, a, b)| (a, b)).collect();
        ranges.sort_unstable();
        for (a, b) in ranges {
            offsets.insert(a, b);
        }
        offsets
    }

    /// The furthest offset processed (its end), if any.
    pub fn furthest(&self) -> Option<u64> {
        self.once.ranges.iter().map(|&r| split_range(r).2).max()
    }

    /// Skipped records: offsets between the first position and the furthest offset processed
    /// that were never processed, plus, where the partition's final log holds a record the group
    /// never processed at an offset it did process (in another epoch: the record it saw there
    /// was truncated, this one took its place), those records. `final_epochs`: the final log's
    /// `(first offset, end offset, epoch)` runs (empty when unknown).
    pub fn skipped(&self, final_epochs: &[(u64, u64, u32)]) -> (u64, u64) {
        let offsets = self.offsets();
        let start = self.first_position.unwrap_or(0);
        let end = offsets.ranges.last().map_or(start, |r| r.1);
        let mut passed = offsets.clone();
        for &(a, b) in &self.compacted_away.ranges {
            passed.insert(a, b);
        }
        let gaps = end.saturating_sub(start) - passed.covered(start, end);
        let mut replaced = 0;
        for &(a, b, epoch) in final_epochs {
            let (a, b) = (a.max(start), b.min(end));
            if a >= b {
                continue;
            }
            let seen_here = offsets.covered(a, b);
            let seen_this = self.once.covered(record_key(epoch, a), record_key(epoch, b));
            replaced += seen_here - seen_this.min(seen_here);
        }
        (gaps, replaced)
    }

    /// The stretches [`Processed::skipped`] counts as replaced: `(first offset, end offset,
    /// epoch)` of final-log records whose offsets the group processed only in other epochs.
    pub fn replaced_stretches(&self, final_epochs: &[(u64, u64, u32)]) -> Vec<(u64, u64, u32)> {
        let offsets = self.offsets();
        let start = self.first_position.unwrap_or(0);
        let end = offsets.ranges.last().map_or(start, |r| r.1);
        let mut stretches = Vec::new();
        for &(a, b, epoch) in final_epochs {
            let (a, b) = (a.max(start), b.min(end));
            // The offsets of [a, b) processed as records of this epoch.
            let this: Vec<(u64, u64)> = self
                .once
                .ranges
                .iter()
                .map(|&r| split_range(r))
                .filter(|r| r.0 == epoch)
                .map(|r| (r.1.max(a), r.2.min(b)))
                .filter(|r| r.0 < r.1)
                .collect();
            for &(x, y) in &offsets.ranges {
                // [x, y) ∩ [a, b) minus `this` (both sorted and disjoint).
                let (x, y) = (x.max(a), y.min(b));
                let mut at = x;
                for &(s, e) in this.iter().filter(|r| r.1 > x && r.0 < y) {
                    if s > at {
                        stretches.push((at, s.min(y), epoch));
                    }
                    at = at.max(e);
                }
                if at < y {
                    stretches.push((at, y, epoch));
                }
            }
        }
        stretches
    }
}

/// A stretch of offsets one member processed in one generation, contiguously: the unit in which
/// the summary explains duplicates and skips. Runs follow ownership changes, not records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessingRun {
    pub group: u32,
    pub partition: u32,
    pub member: u32,
    pub generation: i32,
    /// The leader epoch the records were written in.
    pub epoch: u32,
    /// Offsets `[from, to)`.
    pub from: u64,
    pub to: u64,
    /// When its first and last records were processed.
    pub first_at: SimTime,
    pub last_at: SimTime,
}

/// A commit, successful or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitRecord {
    pub at: SimTime,
    pub group: u32,
    pub member: u32,
    /// `None`: accepted; else Kafka's error name.
    pub error: Option<&'static str>,
}

/// A group's committed offset, position and lag on one partition at the end of an interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupOffsetSample {
    pub interval: u32,
    pub group: u32,
    pub partition: u32,
    pub committed: Option<u64>,
    /// The owner's position (`None`: unowned or not yet known).
    pub position: Option<u64>,
    pub high_watermark: u64,
}

/// Everything recorded about consumer groups.
#[derive(Clone, Debug, Default)]
pub struct GroupRecords {
    pub spans: Vec<OwnershipSpan>,
    pub processed: Vec<Processed>,
    pub runs: Vec<ProcessingRun>,
    pub commits: Vec<CommitRecord>,
    pub offsets: Vec<GroupOffsetSample>,
    /// Positions reset by `auto.offset.reset`: `(time, group, partition, from, to)`.
    pub resets: Vec<(SimTime, u32, u32, Option<u64>, u64)>,
    /// Stream queries stopped by `failOnDataLoss`: `(time, group, partition out of range)`.
    pub stream_failures: Vec<(SimTime, u32, u32)>,
    /// Positions moved back by KIP-320 truncation detection: `(time, group, partition, from,
    /// to, epoch)`: the leader's `epoch` ended at `to`, below the position `from`.
    pub truncations_detected: Vec<(SimTime, u32, u32, u64, u64, u32)>,
    /// Stream queries' micro-batches, in the order they started.
    pub stream_batches: Vec<StreamBatch>,
    /// `slots[group][partition]`: where that partition's records are, so that a processing step
    /// (every few records) finds them without searching.
    slots: Vec<Vec<Option<Slot>>>,
}

/// One micro-batch of a stream query (a group with `stream`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamBatch {
    pub group: u32,
    pub id: u64,
    pub start: SimTime,
    /// When its rows were processed and its windows written out (a no-data batch: its fixed
    /// cost after the start).
    pub end: SimTime,
    /// The watermark it ran with.
    pub watermark: Option<SimTime>,
    pub input_rows: u64,
    /// Rows at or below the watermark, dropped.
    pub late_rows: u64,
    /// Windows it emitted: `(start, end, count)`.
    pub emitted: Vec<(SimTime, SimTime, u64)>,
    /// The query crashed before the batch ended: nothing of it was written, and the restarted
    /// query runs it again from the checkpoint.
    pub aborted: bool,
}

/// Where one group's records of one partition are in [`GroupRecords`].
#[derive(Clone, Copy, Debug)]
struct Slot {
    /// Its index in `processed`.
    processed: usize,
    /// Its last run's index in `runs`.
    last_run: Option<usize>,
}

impl GroupRecords {
    pub fn own(&mut self, group: u32, member: u32, partition: u32, generation: i32, now: SimTime) {
        self.spans.push(OwnershipSpan { group, member, partition, generation, from: now, to: None });
    }

    pub fn release(&mut self, group: u32, member: u32, partition: u32, now: SimTime) {
        if let Some(s) = self
            .spans
            .iter_mut()
            .rev()
            .find(|s| s.group == group && s.member == member && s.partition == partition && s.to.is_none())
        {
            s.to = Some(now);
        }
    }

    /// The slot of `(group, partition)`, made on first use.
    fn slot(&mut self, group: u32, partition: u32) -> &mut Slot {
        let (g, p) = (group as usize, partition as usize);
        if !matches!(self.slots.get(g).and_then(|s| s.get(p)), Some(Some(_))) {
            self.add_slot(group, partition);
        }
        self.slots[g][p].as_mut().expect("made above")
    }

    /// A copy of the slot of `(group, partition)`, made on first use (one lookup when it exists).
    fn slot_copy(&mut self, group: u32, partition: u32) -> Slot {
        match self.slots.get(group as usize).and_then(|s| s.get(partition as usize)) {
            Some(&Some(slot)) => slot,
            _ => *self.slot(group, partition),
        }
    }

    #[cold]
    fn add_slot(&mut self, group: u32, partition: u32) {
        let (g, p) = (group as usize, partition as usize);
        if self.slots.len() <= g {
            self.slots.resize_with(g + 1, Vec::new);
        }
        if self.slots[g].len() <= p {
            self.slots[g].resize(p + 1, None);
        }
        // `processed` stays sorted by group and partition: entries after the new one move up.
        let i = self
            .processed
            .binary_search_by_key(&(group, partition), |e| (e.group, e.partition))
            .expect_err("a partition without a slot has no entry");
        self.processed.insert(i, Processed { group, partition, ..Processed::default() });
        for s in self.slots.iter_mut().flatten().flatten() {
            if s.processed >= i {
                s.processed += 1;
            }
        }
        self.slots[g][p] = Some(Slot { processed: i, last_run: None });
    }

    /// A member processed offsets `[run.from, run.to)` of `run.partition`, contiguously, in one
    /// or more steps: the first step's last record at `run.first_at`, the last step's at
    /// `run.last_at` (one step: the same time). It continues the partition's last run if that
    /// is the same member's in the same generation and ends where this one starts, else it
    /// starts a new one. Recording contiguous steps at once is the same as one after another.
    #[inline]
    pub fn processed(&mut self, run: ProcessingRun) {
        let slot = self.slot_copy(run.group, run.partition);
        let (first, end, epoch) = (run.from, run.to, run.epoch);
        match slot.last_run.map(|r| &mut self.runs[r]) {
            Some(r)
                if r.member == run.member
                    && r.generation == run.generation
                    && r.to == first
                    && r.epoch == run.epoch =>
            {
                r.to = end;
                r.last_at = run.last_at;
            }
            _ => self.start_run(run),
        }
        let (first, end) = (record_key(epoch, first), record_key(epoch, end));
        let e = &mut self.processed[slot.processed];
        // Most steps go on where the last one ended: the last range grows, nothing is repeated
        // (what `RangeSet::insert` does first, without building its list of overlaps).
        if let Some(last) = e.once.ranges.last_mut()
            && last.1 == first
            && end > first
        {
            last.1 = end;
            return;
        }
        Self::insert_processed(e, first, end);
    }

    /// `run` starts a new processing run of its partition.
    #[inline(never)]
    fn start_run(&mut self, run: ProcessingRun) {
        let (group, partition) = (run.group, run.partition);
        self.runs.push(run);
        let last_run = Some(self.runs.len() - 1);
        self.slot(group, partition).last_run = last_run;
    }

    /// Offsets `[first, end)` processed, some perhaps again.
    #[inline(never)]
    fn insert_processed(e: &mut Processed, first: u64, end: u64) {
        for (a, b) in e.once.insert(first, end) {
            e.duplicates += b - a;
            e.again.insert(a, b);
        }
    }

    /// The group has a position on the partition (its first one is the baseline for skips).
    /// Whether the group has processed the record at `offset` of `partition` written in leader
    /// epoch `epoch`.
    pub fn was_processed(&self, group: u32, partition: u32, epoch: u32, offset: u64) -> bool {
        let key = record_key(epoch, offset);
        let Some(&Some(slot)) = self.slots.get(group as usize).and_then(|s| s.get(partition as usize)) else {
            return false;
        };
        let ranges = &self.processed[slot.processed].once.ranges;
        // The ranges are sorted and disjoint: the one starting at or before `key`.
        let i = ranges.partition_point(|r| r.0 <= key);
        i > 0 && key < ranges[i - 1].1
    }

    /// A member's position passed offsets `[from, to)` (of leader epoch `epoch`) that the
    /// application never gets: transaction markers, and records of aborted transactions under
    /// `read_committed`. They count as seen, not skipped; passing them again is no duplicate.
    pub fn passed_over(&mut self, group: u32, partition: u32, epoch: u32, from: u64, to: u64) {
        let i = self.slot(group, partition).processed;
        self.processed[i].once.insert(record_key(epoch, from), record_key(epoch, to));
    }

    /// A member passed over `from..to` of a compacted partition: the cleaner removed them.
    pub fn compacted_away(&mut self, group: u32, partition: u32, from: u64, to: u64) {
        let i = self.slot(group, partition).processed;
        self.processed[i].compacted_away.insert(from, to);
    }

    pub fn position_known(&mut self, group: u32, partition: u32, offset: u64) {
        let i = self.slot(group, partition).processed;
        self.processed[i].first_position.get_or_insert(offset);
    }

    /// Records skipped by the group (see [`Processed::skipped`], both kinds together);
    /// `final_epochs[p]`: partition `p`'s final log as `(first offset, end offset, epoch)` runs.
    pub fn skipped(&self, group: u32, final_epochs: &[Vec<(u64, u64, u32)>]) -> u64 {
        self.processed
            .iter()
            .filter(|p| p.group == group)
            .map(|p| {
                let (gaps, replaced) = p.skipped(final_epochs.get(p.partition as usize).map_or(&[], Vec::as_slice));
                gaps + replaced
            })
            .sum()
    }

    pub fn duplicates(&self, group: u32) -> u64 {
        self.processed.iter().filter(|p| p.group == group).map(|p| p.duplicates).sum()
    }

    /// Partition-seconds in `[from, to]` during which a partition of `partitions` had no owner.
    pub fn unowned_seconds(&self, group: u32, partitions: &[u32], from: SimTime, to: SimTime) -> f64 {
        let mut total = 0u64;
        for &p in partitions {
            let mut owned = RangeSet::default();
            let mut spans: Vec<(u64, u64)> = self
                .spans
                .iter()
                .filter(|s| s.group == group && s.partition == p)
                .map(|s| (s.from.0.max(from.0), s.to.unwrap_or(to).0.min(to.0)))
                .filter(|(a, b)| a < b)
                .collect();
            spans.sort_unstable();
            for (a, b) in spans {
                owned.insert(a, b);
            }
            total += (to.0 - from.0) - owned.covered(from.0, to.0);
        }
        total as f64 / 1e9
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_set_reports_overlaps_and_merges() {
        let mut s = RangeSet::default();
        assert!(s.insert(0, 10).is_empty());
        assert!(s.insert(10, 20).is_empty());
        assert!(s.insert(30, 40).is_empty());
        assert_eq!(s.insert(15, 35), vec![(15, 20), (30, 35)]);
        assert_eq!(s.ranges, vec![(0, 40)]);
        assert_eq!(s.len(), 40);
        assert_eq!(s.gaps(0, 45, 10), vec![40, 41, 42, 43, 44]);
    }

    #[test]
    fn skips_and_duplicates_are_counted_from_the_first_position() {
        let mut g = GroupRecords::default();
        g.position_known(0, 3, 100);
        let t = SimTime::ZERO;
        let run = |member, generation, from, to| ProcessingRun {
            group: 0,
            partition: 3,
            member,
            generation,
            epoch: 0,
            from,
            to,
            first_at: t,
            last_at: t,
        };
        g.processed(run(0, 1, 100, 150));
        g.processed(run(1, 2, 120, 170)); // 30 processed again
        g.processed(run(1, 2, 200, 210)); // 170..200 skipped
        assert_eq!(g.duplicates(0), 30);
        assert_eq!(g.skipped(0, &[]), 30);
        assert_eq!(g.duplicates(1), 0);
        // Member 0 in generation 1, then member 1 in generation 2 (two stretches).
        let runs: Vec<(u32, i32, u64, u64)> = g.runs.iter().map(|r| (r.member, r.generation, r.from, r.to)).collect();
        assert_eq!(runs, vec![(0, 1, 100, 150), (1, 2, 120, 170), (1, 2, 200, 210)]);
    }

    #[test]
    fn a_record_is_known_by_offset_and_epoch() {
        let mut g = GroupRecords::default();
        g.position_known(0, 0, 0);
        let t = SimTime::ZERO;
        let run = |epoch, from, to| ProcessingRun {
            group: 0,
            partition: 0,
            member: 0,
            generation: 1,
            epoch,
            from,
            to,
            first_at: t,
            last_at: t,
        };
        // Offsets 0..50 in epoch 0; a truncation at 10 and new records in epoch 1 from there;
        // the group goes on at 50 in epoch 1 (skipping epoch 1's 10..50), then re-reads 10..20.
        g.processed(run(0, 0, 50));
        g.processed(run(1, 50, 80));
        let final_epochs = vec![vec![(0, 10, 0), (10, 80, 1)]];
        assert_eq!(g.skipped(0, &final_epochs), 40, "10..50 of epoch 1 were never read");
        assert_eq!(g.skipped(0, &[]), 0, "by offset alone nothing is missing");
        g.processed(run(1, 10, 20));
        assert_eq!(g.skipped(0, &final_epochs), 30);
        assert_eq!(g.processed[0].replaced_stretches(&final_epochs[0]), vec![(20, 50, 1)]);
        assert_eq!(g.duplicates(0), 0, "other records at the same offsets are not duplicates");
        g.processed(run(1, 15, 25));
        assert_eq!(g.duplicates(0), 5, "15..20 of epoch 1 again");
        let p = &g.processed[0];
        assert_eq!(p.furthest(), Some(80));
        assert_eq!(p.offsets().ranges, vec![(0, 80)]);
        assert_eq!(split_range(p.again.ranges[0]), (1, 15, 20));
    }

    #[test]
    fn unowned_time_is_what_no_span_covers() {
        let mut g = GroupRecords::default();
        let s = |x: u64| SimTime(x * 1_000_000_000);
        g.own(0, 0, 7, 1, s(0));
        g.release(0, 0, 7, s(4));
        g.own(0, 1, 7, 2, s(6));
        assert!((g.unowned_seconds(0, &[7], s(0), s(10)) - 2.0).abs() < 1e-9);
        assert!((g.unowned_seconds(0, &[7, 8], s(0), s(10)) - 12.0).abs() < 1e-9);
    }
}
