//! The ledger of acknowledged batches and the truncations that removed records, and the
//! end-of-run verdicts, named as Jepsen's Kafka and queue checkers name them: *lost write*
//! (acknowledged, absent from the log after recovery), *duplicate* (appended twice), *reordered*,
//! *unobserved* (acknowledged and still in the log, but no consumer read it) and *inconsistent
//! offset* (one offset of a partition held two different records over time: a truncated record
//! whose offset a different record took, or replicas that disagree).

use std::collections::{BTreeMap, VecDeque};

use crate::cluster::Log;
use crate::protocol::RecordBatch;
use crate::sim::{SimTime, prefetch};

/// Identity of a batch: producer, producer epoch, base sequence.
pub type BatchId = (u32, u16, u64);

/// An acknowledged batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AckedBatch {
    pub offset: u64,
    pub records: u64,
    pub acked_at: SimTime,
    /// The broker that acknowledged it and its leader epoch then.
    pub leader: u32,
    pub leader_epoch: u32,
    pub acks: &'static str,
}

/// A truncation that removed records from a replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TruncationEvent {
    pub at: SimTime,
    pub partition: u32,
    pub broker: u32,
    pub to_offset: u64,
    pub records_removed: u64,
    pub reason: &'static str,
    /// The batches it removed (to name the cause of each lost write).
    pub batches: Vec<BatchId>,
    /// Where those batches were: `(base offset, offsets each covered)`, in the order of `batches`.
    pub ranges: Vec<(u64, u64)>,
}

/// What the end-of-run check found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Verdicts {
    /// Acknowledged records absent from the partition's final log.
    pub lost_records: u64,
    /// Acknowledged records whose partition has no leader at the end (neither lost nor readable).
    pub unavailable_records: u64,
    /// Records appended more than once (the same batch at two offsets of the final log).
    pub duplicate_records: u64,
    /// Offsets where two replicas of a partition hold different batches.
    pub diverged_offsets: u64,
    /// Jepsen's *inconsistent offsets*: offsets that held two different records over time (a
    /// replica truncated a record and a different one took its offset on some replica, or the
    /// replicas disagree at the end), each offset counted once.
    pub inconsistent_offsets: u64,
    /// Per partition, where the acknowledged batches still in the final log are: `(base offset,
    /// records)` in offset order (for *unobserved*, see [`Verdicts::unobserved_from`]).
    pub acked_in_log: Vec<Vec<(u64, u64)>>,
    /// Per partition, the final leader's log as `(first offset, end offset, leader epoch)` runs
    /// of batches written in one epoch (empty for a partition without a leader): which record
    /// each offset holds, for consumers that processed another record at the same offset.
    pub final_epochs: Vec<Vec<(u64, u64, u32)>>,
    /// Records that sit after records their producer sent later (per partition and producer, a
    /// batch whose sequence is below one already seen earlier in the log), duplicates excepted.
    pub reordered_records: u64,
    /// Compacted partitions: keys whose latest acknowledged record holds a value (not a
    /// tombstone), which compaction must keep, and how many of those records the final log
    /// lacks (`(partition, key, offset)` for the first few).
    pub compacted_keys_checked: u64,
    pub compacted_keys_missing: u64,
    pub compacted_missing_examples: Vec<(u32, u64, u64)>,
    /// The first lost batches: `(partition, batch)`.
    pub lost_examples: Vec<(u32, AckedBatch)>,
    /// Lost writes grouped by what removed them: `(cause, records, first lost (partition, batch))`,
    /// largest first.
    pub lost_by_cause: Vec<(String, u64, (u32, AckedBatch))>,
}

/// One partition's acknowledged batches, in `BatchId` order: per producer and epoch, its
/// batches by base sequence. Acknowledgements come nearly in sequence order and retention
/// retires from the front, so both touch the ends of a short, contiguous queue (a `BTreeMap`
/// over every batch walked a deep tree, a cache miss per level, on every ack and retirement).
#[derive(Clone, Debug, Default)]
struct Ledger {
    /// Indexed by producer (producer ids are small and dense): its epochs, increasing, each
    /// with its batches by base sequence. (Indexing, not searching, finds a producer: every
    /// acknowledgement and every retired batch does this.)
    producers: Vec<Vec<(u16, BySequence)>>,
}

/// One producer epoch's acknowledged batches: `(base sequence, ack)`, increasing.
type BySequence = VecDeque<(u64, AckedBatch)>;

impl Ledger {
    fn queue(&self, id: &BatchId) -> Option<&BySequence> {
        let epochs = self.producers.get(id.0 as usize)?;
        let i = epochs.binary_search_by_key(&id.1, |e| e.0).ok()?;
        Some(&epochs[i].1)
    }

    /// Records `ack` unless the batch is already there (the first acknowledgement stays).
    fn insert(&mut self, id: BatchId, ack: AckedBatch) {
        let producer = id.0 as usize;
        if self.producers.len() <= producer {
            self.producers.resize_with(producer + 1, Vec::new);
        }
        let epochs = &mut self.producers[producer];
        let i = match epochs.binary_search_by_key(&id.1, |e| e.0) {
            Ok(i) => i,
            Err(i) => {
                epochs.insert(i, (id.1, VecDeque::new()));
                i
            }
        };
        let q = &mut epochs[i].1;
        if q.back().is_none_or(|last| last.0 < id.2) {
            q.push_back((id.2, ack));
            prefetch::next_back_slot(q);
            return;
        }
        let j = q.partition_point(|e| e.0 < id.2);
        if q[j].0 != id.2 {
            q.insert(j, (id.2, ack));
        }
    }

    fn remove(&mut self, id: &BatchId) {
        let Some(epochs) = self.producers.get_mut(id.0 as usize) else { return };
        let Ok(i) = epochs.binary_search_by_key(&id.1, |e| e.0) else { return };
        let q = &mut epochs[i].1;
        if q.front().is_some_and(|first| first.0 == id.2) {
            q.pop_front();
        } else if let Ok(j) = q.binary_search_by_key(&id.2, |e| e.0) {
            q.remove(j);
        }
    }

    fn contains(&self, id: &BatchId) -> bool {
        self.queue(id).is_some_and(|q| q.binary_search_by_key(&id.2, |e| e.0).is_ok())
    }

    fn len(&self) -> usize {
        self.producers.iter().flatten().map(|(_, q)| q.len()).sum()
    }

    /// Every batch in `BatchId` order.
    fn iter(&self) -> impl Iterator<Item = (BatchId, &AckedBatch)> {
        self.producers.iter().enumerate().flat_map(|(producer, epochs)| {
            epochs.iter().flat_map(move |(epoch, q)| q.iter().map(move |(seq, a)| ((producer as u32, *epoch, *seq), a)))
        })
    }
}

/// Acknowledged batches by partition, and truncations.
#[derive(Debug, Default)]
pub struct History {
    acked: Vec<Ledger>,
    pub truncations: Vec<TruncationEvent>,
    /// Per partition, whether a truncation removed records from it (then retention checks what
    /// it drops against the truncated batches).
    truncated_partitions: Vec<bool>,
    /// `(partition, offset)`: offsets where retention dropped a batch other than the one a
    /// truncation removed there (so the final logs no longer show the reuse).
    reused: std::collections::BTreeSet<(u32, u64)>,
    /// Per partition (empty until retention deletes something): batches retention deleted
    /// whose acknowledgement may still be on its way, see [`History::deleted_by_retention`].
    deleted_by_retention: Vec<DeletedByRetention>,
    /// Per partition: the end of the highest batch retired so far, and the most recently
    /// retired batches (see [`History::retired`]).
    recently_retired: Vec<RecentlyRetired>,
    /// How long after its creation a batch may still be acknowledged: the longest
    /// `delivery.timeout.ms` of any producer.
    late_ack_horizon: crate::sim::SimDuration,
    /// Compacted partitions: each key's latest acknowledged record, `(partition, key) →
    /// (offset, tombstone)` (the guarantee compaction keeps: the latest value of every key).
    latest_by_key: BTreeMap<(u32, u64), (u64, bool)>,
    /// Compacted partitions: records of open transactions, `(partition, producer) → (key,
    /// offset, tombstone)`, which become the latest of their keys if their transaction commits.
    pending_txn_keys: BTreeMap<(u32, u32), Vec<KeyedRecord>>,
}

/// A compacted partition's record as the ledger tracks it: `(key, offset, tombstone)`.
type KeyedRecord = (u64, u64, bool);

/// The last [`RecentlyRetired::KEPT`] batches retired from a partition: an idempotent producer's
/// retry answered as a duplicate may reach the producer after the leader retired the batch (every
/// replica and group had it), and that acknowledgement is of a safe batch, not a lost one.
#[derive(Debug, Default, Clone)]
struct RecentlyRetired {
    /// The end offset of the highest batch retired: an acknowledgement below it may be late.
    below: u64,
    ids: Vec<BatchId>,
    next: usize,
}

impl RecentlyRetired {
    const KEPT: usize = 1024;

    fn push(&mut self, id: BatchId, end: u64) {
        self.below = self.below.max(end);
        if self.ids.len() < Self::KEPT {
            self.ids.push(id);
        } else {
            self.ids[self.next] = id;
        }
        self.next = (self.next + 1) % Self::KEPT;
    }

    /// Whether the batch acknowledged at `offset` is one just retired (checked only below what
    /// was retired, so the usual acknowledgement costs one comparison).
    fn holds(&self, offset: u64, id: &BatchId) -> bool {
        offset < self.below && self.ids.contains(id)
    }
}

/// Batches a partition's retention deleted, kept until no acknowledgement of them can come:
/// `delivery.timeout.ms` after their creation the producer has given up on them.
#[derive(Debug, Default)]
struct DeletedByRetention {
    ids: std::collections::BTreeSet<BatchId>,
    /// `(created, id)` in deletion order (about creation order), to forget them in time.
    order: VecDeque<(SimTime, BatchId)>,
}

impl History {
    pub fn new(partitions: usize) -> History {
        History {
            acked: vec![Ledger::default(); partitions],
            truncations: Vec::new(),
            truncated_partitions: vec![false; partitions],
            reused: Default::default(),
            deleted_by_retention: Vec::new(),
            recently_retired: vec![RecentlyRetired::default(); partitions],
            late_ack_horizon: crate::sim::SimDuration::from_ms(120_000),
            latest_by_key: BTreeMap::new(),
            pending_txn_keys: BTreeMap::new(),
        }
    }

    /// The longest `delivery.timeout.ms` of the run's producers (see
    /// [`History::deleted_by_retention`]).
    pub fn set_late_ack_horizon(&mut self, horizon: crate::sim::SimDuration) {
        self.late_ack_horizon = horizon;
    }

    /// Identity of a batch: producer, producer epoch, base sequence.
    pub fn id(b: &RecordBatch) -> BatchId {
        (b.producer, b.producer_epoch, b.base_sequence)
    }

    /// A producer heard that `batch` was written to `partition` at `offset`.
    pub fn acked(&mut self, partition: u32, batch: &RecordBatch, ack: AckedBatch) {
        let id = Self::id(batch);
        if !batch.keys().is_empty() {
            self.note_keys(partition, batch, ack.offset);
        }
        if self.deleted_by_retention.get(partition as usize).is_some_and(|d| d.ids.contains(&id)) {
            return; // committed, then deleted by retention before this (late) acknowledgement
        }
        if self.recently_retired[partition as usize].holds(ack.offset, &id) {
            return; // a duplicate's answer that arrived after the leader retired the batch
        }
        self.acked[partition as usize].insert(id, ack);
    }

    /// A compacted partition's batch was acknowledged at `offset`: its records are now the latest
    /// of their keys, unless a later offset already is.
    /// A transaction's records count once its COMMIT marker is written ([`History::txn_marker`]).
    #[cold]
    fn note_keys(&mut self, partition: u32, batch: &RecordBatch, offset: u64) {
        let records = batch.keys().iter().enumerate().map(|(i, &key)| {
            (key & !crate::protocol::TOMBSTONE, offset + batch.offset_delta(i), key & crate::protocol::TOMBSTONE != 0)
        });
        if batch.transactional {
            self.pending_txn_keys.entry((partition, batch.producer)).or_default().extend(records);
            return;
        }
        for (key, at, tombstone) in records {
            self.note_latest(partition, key, at, tombstone);
        }
    }

    fn note_latest(&mut self, partition: u32, key: u64, at: u64, tombstone: bool) {
        let entry = self.latest_by_key.entry((partition, key)).or_insert((at, tombstone));
        if at >= entry.0 {
            *entry = (at, tombstone);
        }
    }

    /// A leader wrote `producer`'s COMMIT (`committed`) or ABORT marker into `partition`: the
    /// records its transaction wrote there are the latest of their keys, or never were.
    pub fn txn_marker(&mut self, partition: u32, producer: u32, committed: bool) {
        let Some(records) = self.pending_txn_keys.remove(&(partition, producer)) else { return };
        if committed {
            for (key, at, tombstone) in records {
                self.note_latest(partition, key, at, tombstone);
            }
        }
    }

    /// A leader's retention (or a replica's log cleaner) deleted these batches (below its high watermark: committed). They
    /// leave the ledger as [`History::retired`] ones do, and an acknowledgement that arrives
    /// later does not bring them back: an idempotent producer that retried a batch whose
    /// answer it missed gets the old offset back as a duplicate, even after retention deleted
    /// the batch. Remembered until `delivery_timeout` after their creation, when the producer
    /// has given up on them.
    pub fn deleted_by_retention<'a>(
        &mut self,
        partition: u32,
        batches: impl Iterator<Item = (u64, &'a RecordBatch)> + Clone,
        now: SimTime,
    ) {
        let delivery_timeout = self.late_ack_horizon;
        let p = partition as usize;
        if self.deleted_by_retention.len() <= p {
            self.deleted_by_retention.resize_with(self.acked.len(), DeletedByRetention::default);
        }
        let deleted = &mut self.deleted_by_retention[p];
        while let Some(&(created, id)) = deleted.order.front() {
            if created + delivery_timeout >= now {
                break;
            }
            deleted.order.pop_front();
            deleted.ids.remove(&id);
        }
        for (_, b) in batches.clone() {
            deleted.ids.insert(Self::id(b));
            deleted.order.push_back((b.created, Self::id(b)));
        }
        self.retire(partition, batches, false);
    }

    /// The leader dropped these batches (with their base offsets) by retention after every
    /// replica and group had them: they are safe. (By identity, not offset: after a truncation an
    /// offset can be reused by another batch, and the lost one must stay in the ledger.)
    pub fn retired<'a>(&mut self, partition: u32, batches: impl Iterator<Item = (u64, &'a RecordBatch)>) {
        self.retire(partition, batches, true);
    }

    /// `remember`: keep the batches among the recently retired (retention keeps its own, longer).
    fn retire<'a>(&mut self, partition: u32, batches: impl Iterator<Item = (u64, &'a RecordBatch)>, remember: bool) {
        let acked = &mut self.acked[partition as usize];
        let truncated = self.truncated_partitions[partition as usize];
        let recent = &mut self.recently_retired[partition as usize];
        for (base, b) in batches {
            let id = Self::id(b);
            acked.remove(&id);
            if remember {
                recent.push(id, base + b.offset_count());
            }
            if truncated {
                // As `inconsistent_offsets` compares truncated batches with the final logs: the
                // same batch at the same offset is the same records; anything else reused them.
                let end = base + b.offset_count();
                for t in self.truncations.iter().filter(|t| t.partition == partition) {
                    for (tid, &(tbase, records)) in t.batches.iter().zip(&t.ranges) {
                        if (tbase, *tid) != (base, id) {
                            self.reused.extend((base.max(tbase)..end.min(tbase + records)).map(|o| (partition, o)));
                        }
                    }
                }
            }
        }
    }

    /// A replica truncated its log.
    pub fn truncated(&mut self, event: TruncationEvent) {
        if event.records_removed > 0 {
            self.truncated_partitions[event.partition as usize] = true;
            self.truncations.push(event);
        }
    }

    /// Acknowledged batches still tracked (for memory accounting).
    pub fn tracked(&self) -> usize {
        self.acked.iter().map(Ledger::len).sum()
    }

    /// Checks every partition: `final_logs[p]` is the leader's log (or `None` if offline), and
    /// `replica_logs[p]` every replica's log, for divergence.
    pub fn verdicts(&self, final_logs: &[Option<&Log>], replica_logs: &[Vec<&Log>]) -> Verdicts {
        let mut v = Verdicts {
            acked_in_log: vec![Vec::new(); self.acked.len()],
            final_epochs: vec![Vec::new(); self.acked.len()],
            ..Verdicts::default()
        };
        let mut causes: Vec<(String, u64, (u32, AckedBatch))> = Vec::new();
        for (p, acked) in self.acked.iter().enumerate() {
            let Some(log) = final_logs[p] else {
                v.unavailable_records += acked.iter().map(|(_, a)| a.records).sum::<u64>();
                continue;
            };
            v.final_epochs[p] = log.epoch_runs();
            for b in log.batches() {
                if acked.contains(&Self::id(&b.batch)) {
                    v.acked_in_log[p].push((b.base_offset, b.batch.offset_count()));
                }
            }
            let mut present: BTreeMap<BatchId, u32> = BTreeMap::new();
            // Highest sequence seen so far per (producer, producer epoch).
            let mut highest: BTreeMap<(u32, u16), u64> = BTreeMap::new();
            // Transaction markers are no producer's records.
            for b in log.batches().filter(|b| b.batch.control.is_none()) {
                let id = Self::id(&b.batch);
                *present.entry(id).or_default() += 1;
                if present[&id] > 1 {
                    v.duplicate_records += b.batch.record_count();
                    continue;
                }
                let top = highest.entry((b.batch.producer, b.batch.producer_epoch)).or_insert(0);
                if b.batch.base_sequence < *top {
                    v.reordered_records += b.batch.record_count();
                }
                // (Sequences follow offsets: a cleaned batch keeps its original range.)
                *top = (*top).max(b.batch.base_sequence + b.batch.offset_count());
            }
            for (id, a) in acked.iter() {
                if !present.contains_key(&id) {
                    v.lost_records += a.records;
                    if v.lost_examples.len() < 5 {
                        v.lost_examples.push((p as u32, a.clone()));
                    }
                    let cause = self.cause(p as u32, &id, a);
                    match causes.iter_mut().find(|(c, _, _)| *c == cause) {
                        Some(entry) => entry.1 += a.records,
                        None => causes.push((cause, a.records, (p as u32, a.clone()))),
                    }
                }
            }
        }
        // Compaction keeps the latest value of every key: the final log must hold it, or a later
        // record of the key (one written whose acknowledgement never came).
        let mut in_log: BTreeMap<(u32, u64), u64> = BTreeMap::new();
        let partitions: std::collections::BTreeSet<u32> = self.latest_by_key.keys().map(|&(p, _)| p).collect();
        for p in partitions {
            for b in final_logs[p as usize].into_iter().flat_map(|log| log.batches()) {
                for (i, &key) in b.batch.keys().iter().enumerate() {
                    in_log.insert((p, key & !crate::protocol::TOMBSTONE), b.base_offset + b.batch.offset_delta(i));
                }
            }
        }
        for (&(p, key), &(offset, tombstone)) in &self.latest_by_key {
            let Some(log) = final_logs[p as usize] else { continue };
            if tombstone || offset < log.log_start_offset() {
                continue; // a delete may go after delete.retention.ms; retention may delete too
            }
            v.compacted_keys_checked += 1;
            if in_log.get(&(p, key)).is_none_or(|&o| o < offset) {
                v.compacted_keys_missing += 1;
                if v.compacted_missing_examples.len() < 5 {
                    v.compacted_missing_examples.push((p, key, offset));
                }
            }
        }
        for (p, logs) in replica_logs.iter().enumerate() {
            v.diverged_offsets += diverged_offsets(logs);
            v.inconsistent_offsets += self.inconsistent_offsets(p as u32, logs);
        }
        causes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.lost_by_cause = causes;
        v
    }

    /// Offsets of partition `p` that held two different records over time: where a truncated
    /// batch was, and another batch (or the same one at another offset) is now on a replica or
    /// was truncated too; and where the replicas disagree at the end.
    fn inconsistent_offsets(&self, p: u32, logs: &[&Log]) -> u64 {
        // Every (batch, base offset) seen at each offset range: truncated ones, then final ones.
        let mut seen: Vec<(u64, u64, BatchId)> = Vec::new();
        for t in self.truncations.iter().filter(|t| t.partition == p) {
            for (id, &(base, records)) in t.batches.iter().zip(&t.ranges) {
                seen.push((base, records, *id));
            }
        }
        let mut offsets: std::collections::BTreeSet<u64> = std::collections::BTreeSet::new();
        let mut mark = |a: (u64, u64, BatchId), b: (u64, u64, BatchId)| {
            if (a.0, a.2) != (b.0, b.2) {
                offsets.extend(a.0.max(b.0)..(a.0 + a.1).min(b.0 + b.1));
            }
        };
        for (i, &a) in seen.iter().enumerate() {
            for &b in &seen[i + 1..] {
                mark(a, b);
            }
            for log in logs {
                for b in log.batches_from(a.0).take_while(|b| b.base_offset < a.0 + a.1) {
                    mark(a, (b.base_offset, b.batch.offset_count(), Self::id(&b.batch)));
                }
            }
        }
        // Reused offsets whose new records retention has since dropped (seen as they went).
        offsets.extend(self.reused.range((p, 0)..=(p, u64::MAX)).map(|&(_, o)| o));
        // Replicas that disagree at the end (each offset once, whichever pair disagrees).
        for (i, a) in logs.iter().enumerate() {
            for b in &logs[i + 1..] {
                for x in a.batches() {
                    let end = x.end_offset();
                    for y in b.batches_from(x.base_offset).take_while(|y| y.base_offset < end) {
                        if (x.base_offset, Self::id(&x.batch)) != (y.base_offset, Self::id(&y.batch)) {
                            offsets.extend(x.base_offset.max(y.base_offset)..end.min(y.end_offset()));
                        }
                    }
                }
            }
        }
        offsets.len() as u64
    }

    /// What removed an acknowledged batch: every truncation that took a copy of it after the
    /// acknowledgement, in time order (`power loss on broker-1 at 1.3 s → truncated on broker-0
    /// at 10.0 s (diverging epoch)`).
    fn cause(&self, partition: u32, id: &BatchId, a: &AckedBatch) -> String {
        let chain: Vec<String> = self
            .truncations
            .iter()
            .filter(|t| t.partition == partition && t.at >= a.acked_at && t.batches.contains(id))
            .map(|t| format!("removed from broker-{} at {} s ({})", t.broker, t.at, t.reason))
            .collect();
        if chain.is_empty() {
            format!(
                "acknowledged by broker-{} (epoch {}) but absent from the final leader's log",
                a.leader, a.leader_epoch
            )
        } else {
            chain.join(" → ")
        }
    }
}

impl Verdicts {
    /// Jepsen's *unobserved*: acknowledged records still in partition `p`'s final log at or after
    /// `position`, the furthest any consumer of the partition got (records below it were
    /// delivered to a consumer; those above it, never).
    pub fn unobserved_from(&self, p: u32, position: u64) -> u64 {
        self.acked_in_log[p as usize]
            .iter()
            .map(|&(base, records)| (base + records).saturating_sub(position.max(base)))
            .sum()
    }
}

/// Offsets held by at least two replicas with different batches there.
fn diverged_offsets(logs: &[&Log]) -> u64 {
    let mut diverged = 0;
    for (i, a) in logs.iter().enumerate() {
        for b in &logs[i + 1..] {
            for batch in a.batches() {
                if let Some(other) = b.batch_at(batch.base_offset)
                    && (other.base_offset != batch.base_offset || !RecordBatch::same_batch(&other.batch, &batch.batch))
                {
                    diverged += batch.batch.offset_count().min(other.end_offset() - batch.base_offset);
                }
            }
        }
    }
    diverged
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;
    use crate::cluster::Log;

    fn batch(producer: u32, base_sequence: u64, records: usize) -> Rc<RecordBatch> {
        Rc::new(RecordBatch {
            producer,
            producer_epoch: 0,
            base_sequence,
            idempotent: false,
            record_times: vec![SimTime::ZERO; records],
            values: Vec::new(),
            allocated_bytes: 0,
            size_bytes: 100,
            created: SimTime::ZERO,
            transactional: false,
            control: None,
            extra: None,
        })
    }

    fn ack(offset: u64, records: u64) -> AckedBatch {
        AckedBatch { offset, records, acked_at: SimTime::ZERO, leader: 0, leader_epoch: 0, acks: "1" }
    }

    /// A synthetic history with one of each anomaly planted: the checker names each one.
    #[test]
    fn planted_anomalies_are_each_reported_by_name() {
        let (a, b, c, d) = (batch(0, 0, 2), batch(0, 2, 3), batch(0, 5, 1), batch(0, 6, 4));
        let mut history = History::new(1);
        for (batch, offset) in [(&a, 0), (&b, 2), (&c, 5), (&d, 6)] {
            history.acked(0, batch, ack(offset, batch.record_count()));
        }
        // The final log: `a`, then `c` before `b` (reordered), `c` again (duplicate), and `d`
        // missing (lost).
        let mut log = Log::default();
        log.append(0, a.clone(), SimTime::ZERO);
        log.append(0, c.clone(), SimTime::ZERO);
        log.append(0, b.clone(), SimTime::ZERO);
        log.append(0, c.clone(), SimTime::ZERO);
        // A second replica that disagrees at offsets 2..5 (diverged): b where the final log has c
        // at 2, and b at 2..5 where the final log has b at 3..6.
        let mut other = Log::default();
        other.append(0, a.clone(), SimTime::ZERO);
        other.append(0, b.clone(), SimTime::ZERO);
        // A third replica once held another producer's batch `e` at offsets 6..8 and truncated
        // it; the final log's second `c` took offset 6 (an inconsistent offset), nothing took 7.
        let e = batch(1, 0, 2);
        history.truncated(truncation(2, &e, 6));
        let v = history.verdicts(&[Some(&log)], &[vec![&log, &other]]);
        assert_eq!(v.lost_records, 4, "d is lost");
        assert_eq!(v.duplicate_records, 1, "c appears twice");
        assert_eq!(v.reordered_records, 3, "b comes after c, which its producer sent later");
        assert!(v.diverged_offsets > 0, "the replicas disagree");
        assert_eq!(v.inconsistent_offsets, 4, "offsets 2, 3, 4 (replicas disagree) and 6 (e, then c)");
        assert_eq!(v.lost_examples[0].1.offset, 6);
        // A consumer that got to offset 3 never saw b (3..6) or the second c (6).
        assert_eq!(v.unobserved_from(0, 3), 4);
        assert_eq!(v.unobserved_from(0, 7), 0);
        // And a clean history reports nothing.
        let mut clean = Log::default();
        for x in [&a, &b, &c, &d] {
            clean.append(0, x.clone(), SimTime::ZERO);
        }
        let mut clean_history = History::new(1);
        for (batch, offset) in [(&a, 0), (&b, 2), (&c, 5), (&d, 6)] {
            clean_history.acked(0, batch, ack(offset, batch.record_count()));
        }
        let v = clean_history.verdicts(&[Some(&clean)], &[vec![&clean, &clean]]);
        assert_eq!((v.lost_records, v.duplicate_records, v.reordered_records, v.diverged_offsets), (0, 0, 0, 0));
        assert_eq!(v.inconsistent_offsets, 0);
        assert_eq!(v.unobserved_from(0, 0), 10, "every record, if no consumer read any");
    }

    /// A truncation of partition 0 on `broker` that removed `batch` from offset `base`.
    fn truncation(broker: u32, batch: &RecordBatch, base: u64) -> TruncationEvent {
        TruncationEvent {
            at: SimTime::ZERO,
            partition: 0,
            broker,
            to_offset: base,
            records_removed: batch.record_count(),
            reason: "test",
            batches: vec![History::id(batch)],
            ranges: vec![(base, batch.record_count())],
        }
    }

    /// After an unclean election new records (a later epoch) take truncated offsets; retention
    /// may drop them before the end, and the reuse was seen as they went.
    #[test]
    fn offsets_reused_in_a_later_epoch_are_inconsistent_after_retention() {
        let (a, b, c) = (batch(0, 0, 2), batch(0, 2, 3), batch(1, 0, 4));
        let mut history = History::new(1);
        history.truncated(truncation(0, &b, 2));
        let mut leader = Log::default();
        leader.append(0, a, SimTime::ZERO);
        leader.append(1, c, SimTime::ZERO); // offsets 2..6, epoch 1
        let dropped: Vec<_> = leader.trim_before(6).collect();
        history.retired(0, dropped.iter().map(|b| (b.base_offset, &*b.batch)));
        assert_eq!(leader.epoch_runs(), vec![(0, 2, 0), (2, 6, 1)]);
        let v = history.verdicts(&[Some(&leader)], &[vec![&leader]]);
        assert_eq!(v.inconsistent_offsets, 3, "offsets 2, 3, 4: b's, then c's");
        assert_eq!(v.final_epochs, vec![vec![(0, 2, 0), (2, 6, 1)]]);
    }

    /// A follower that truncates a batch and fetches the same batch back to the same offsets
    /// (KIP-101's high-watermark truncation, when nothing diverged) reuses no offset.
    #[test]
    fn a_batch_truncated_and_fetched_back_at_the_same_offset_is_consistent() {
        let (a, b) = (batch(0, 0, 2), batch(0, 2, 3));
        let mut history = History::new(1);
        history.truncated(truncation(1, &b, 2));
        let mut log = Log::default();
        log.append(0, a.clone(), SimTime::ZERO);
        log.append(0, b.clone(), SimTime::ZERO);
        assert_eq!(history.verdicts(&[Some(&log)], &[vec![&log, &log]]).inconsistent_offsets, 0);
        // Had another batch taken offset 2 instead, all three offsets would be inconsistent.
        let mut other = Log::default();
        other.append(0, a.clone(), SimTime::ZERO);
        other.append(0, batch(2, 0, 5), SimTime::ZERO);
        assert_eq!(history.verdicts(&[Some(&other)], &[vec![&other]]).inconsistent_offsets, 3);
    }

    #[test]
    fn a_partition_without_a_leader_makes_records_unavailable_not_lost() {
        let a = batch(0, 0, 2);
        let mut history = History::new(1);
        history.acked(0, &a, ack(0, 2));
        let v = history.verdicts(&[None], &[vec![]]);
        assert_eq!((v.lost_records, v.unavailable_records), (0, 2));
    }

    #[test]
    fn retired_batches_leave_the_ledger_by_identity() {
        let (a, b) = (batch(0, 0, 2), batch(0, 2, 2));
        let mut history = History::new(1);
        history.acked(0, &a, ack(0, 2));
        history.acked(0, &b, ack(2, 2));
        history.retired(0, [(0, &*a)].into_iter());
        assert_eq!(history.tracked(), 1);
    }

    #[test]
    fn a_duplicate_answered_after_the_leader_retired_the_batch_is_not_a_lost_write() {
        let mut history = History::new(1);
        let (a, b) = (batch(0, 0, 5), batch(0, 5, 5));
        // Every replica and group had both batches: the leader retires them; then the answer
        // to an idempotent retry of the first (a duplicate, with its old offset) arrives.
        history.retired(0, [(0, &*a), (5, &*b)].into_iter());
        history.acked(0, &a, ack(0, 5));
        assert_eq!(history.tracked(), 0);
        // A new batch at an offset above what was retired is tracked as usual.
        let c = batch(0, 10, 5);
        history.acked(0, &c, ack(10, 5));
        assert_eq!(history.tracked(), 1);
        // Only the most recent batches are remembered.
        let many: Vec<_> = (0..RecentlyRetired::KEPT as u64).map(|i| batch(1, i * 5, 5)).collect();
        history.retired(0, many.iter().enumerate().map(|(i, b)| (100 + i as u64 * 5, &**b)));
        history.acked(0, &a, ack(0, 5));
        assert_eq!(history.tracked(), 2, "the first batch was forgotten");
    }

    #[test]
    fn an_acknowledgement_after_retention_deleted_the_batch_is_not_a_lost_write() {
        let mut history = History::new(1);
        let b = batch(0, 0, 5);
        // Retention deletes the batch (committed), then the producer's retry is answered as a
        // duplicate with the old offset.
        history.deleted_by_retention(0, std::iter::once((0, &*b)), SimTime::from_ms(10_000));
        history.acked(0, &b, ack(0, 5));
        assert_eq!(history.tracked(), 0, "nothing to find in the final log");
        let empty = Log::default();
        assert_eq!(history.verdicts(&[Some(&empty)], &[vec![&empty]]).lost_records, 0);
        // After the longest delivery.timeout.ms no acknowledgement can come any more: forgotten.
        history.set_late_ack_horizon(crate::sim::SimDuration::from_ms(1000));
        let other = batch(0, 5, 5);
        history.deleted_by_retention(0, std::iter::once((5, &*other)), SimTime::from_ms(10_000));
        history.acked(0, &b, ack(0, 5));
        assert_eq!(history.tracked(), 1, "the first batch's id was let go");
    }
}
