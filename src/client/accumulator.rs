//! The producer's `RecordAccumulator`: per-partition queues of batches being filled.
//!
//! Follows kafka-reference §2.3 (`RecordAccumulator.append`/`tryAppend`, `MemoryRecordsBuilder`):
//! a record goes into the last batch of its partition if `hasRoomFor` (the first record always
//! fits; otherwise the batch's estimated size plus the record must stay within its write limit,
//! `max(batch.size, the record's upper bound)`), else a new batch is opened. A partition's first
//! batch is *sendable* when it is full (or another batch queues behind it) or when `linger.ms`
//! has passed since it was opened.
//!
//! Sizes are Kafka's magic-v2 sizes: a 61-byte batch header plus `DefaultRecord.sizeInBytes` per
//! record (zigzag varints, no headers). A first batch is also sendable while the `BufferPool` has
//! waiters or a `flush()` is in progress (`flushInProgress`). Simplified: compression is applied
//! when a batch is drained (the size estimate ignores it); the write limit's upper bound is
//! approximated as the record size + 14 bytes.

use std::collections::VecDeque;
use std::rc::Rc;

use crate::protocol::RecordBatch;
use crate::sim::{SimDuration, SimTime};

/// `DefaultRecordBatch.RECORD_BATCH_OVERHEAD`: the v2 batch header, in bytes.
pub const RECORD_BATCH_OVERHEAD: u32 = 61;

/// Varint bytes of a `BITS`-bit value by its leading zeros: one per 7 bits up to the highest set
/// bit. A table, as every record sizes three or four varints (one load instead of a division).
const fn varint_bytes<const BITS: usize, const N: usize>() -> [u32; N] {
    let mut table = [0; N];
    let mut zeros = 0;
    while zeros < BITS {
        table[zeros] = 1 + (BITS - 1 - zeros) as u32 / 7;
        zeros += 1;
    }
    table[BITS] = 1; // zero (never looked up: the value is or-ed with 1)
    table
}
const VARINT_BYTES: [u32; 33] = varint_bytes::<32, 33>();
const VARLONG_BYTES: [u32; 65] = varint_bytes::<64, 65>();

/// `ByteUtils.sizeOfVarint`: bytes of a zigzag-encoded 32-bit varint (from `leading_zeros`
/// rather than Kafka's loop, with the same results).
fn size_of_varint(v: i32) -> u32 {
    let z = ((v << 1) ^ (v >> 31)) as u32;
    VARINT_BYTES[(z | 1).leading_zeros() as usize]
}

/// `ByteUtils.sizeOfVarlong`: bytes of a zigzag-encoded 64-bit varint.
fn size_of_varlong(v: i64) -> u32 {
    let z = ((v << 1) ^ (v >> 63)) as u64;
    VARLONG_BYTES[(z | 1).leading_zeros() as usize]
}

/// `DefaultRecord.sizeInBytes` with no headers: the bytes one record takes in a v2 batch.
/// `key_bytes` is `None` for a null key.
pub fn record_size_bytes(offset_delta: u32, timestamp_delta_ms: u64, key_bytes: Option<u32>, value_bytes: u32) -> u32 {
    sized_record(offset_delta, timestamp_delta_ms, record_fields(key_bytes, value_bytes))
}

/// The part of a record's `DefaultRecord` body that is the same wherever it lands in a batch:
/// attributes, key, value and header count (the offset and timestamp deltas are not). A record
/// computes it once for every placement it tries.
#[inline]
pub fn record_fields(key_bytes: Option<u32>, value_bytes: u32) -> u32 {
    let field = |len: Option<u32>| match len {
        None => 1, // a null key or value is the varint -1
        Some(n) => size_of_varint(n as i32) + n,
    };
    1 // attributes
        + field(key_bytes)
        + field(Some(value_bytes))
        + size_of_varint(0) // header count
}

/// [`record_size_bytes`] from the record's [`record_fields`].
#[inline]
fn sized_record(offset_delta: u32, timestamp_delta_ms: u64, fields: u32) -> u32 {
    let body = fields + size_of_varint(offset_delta as i32) + size_of_varlong(timestamp_delta_ms as i64);
    size_of_varint(body as i32) + body
}

/// A batch being filled (Kafka's `ProducerBatch`), or a sent batch waiting to be retried.
#[derive(Debug)]
pub struct OpenBatch {
    pub created: SimTime,
    pub record_times: Vec<SimTime>,
    /// Record values (when the producer draws them).
    pub values: Vec<i64>,
    /// The input record of each record, for a consume-transform-produce output (else empty).
    pub sources: Vec<u64>,
    /// Each record's key entry, for a compacted topic (see [`RecordBatch::keys`]). Boxed: one
    /// word in every other batch.
    pub keys: Option<Box<Vec<u64>>>,
    /// Estimated bytes written so far (header included).
    pub size_bytes: u32,
    /// `max(batch.size, upper bound of the first record)`.
    pub write_limit: u32,
    /// A batch that was sent and failed: it keeps its sequence and is never appended to.
    pub sealed: Option<Rc<RecordBatch>>,
    /// Attempts so far and when the next one may go (`retry.backoff.ms`).
    pub attempts: u32,
    pub retry_at: SimTime,
}

impl OpenBatch {
    /// `ProducerBatch.isFull`: it holds records and reached its write limit (or was sent).
    pub fn is_full(&self) -> bool {
        self.sealed.is_some() || (!self.record_times.is_empty() && self.size_bytes >= self.write_limit)
    }
}

/// What an append did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    /// A new batch was opened for the record.
    pub new_batch: bool,
    /// Bytes the record added (with the header, when it opened a batch).
    pub bytes: u32,
}

/// Where a record goes in its partition ([`Accumulator::place`]), with its size there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Into the last batch (`tryAppend` succeeds); the record takes `record_bytes` there.
    Last { record_bytes: u32 },
    /// Into a new batch, as its first record (offset and timestamp deltas 0).
    New { record_bytes: u32 },
}

/// Per-partition deques of batches.
#[derive(Debug)]
pub struct Accumulator {
    deques: Vec<VecDeque<OpenBatch>>,
    /// When each partition's first batch becomes sendable by time (linger or retry backoff),
    /// `SimTime::MAX` for an empty deque: kept up to date by every method that changes a front,
    /// so [`Accumulator::next_linger_deadline`] reads one value per partition.
    front_deadlines: Vec<SimTime>,
    /// Whether each partition's first batch is sendable whatever the time: a batch being filled
    /// that is full or has company. Kept with `front_deadlines`, so that [`Accumulator::sendable`]
    /// (asked for every partition of every broker on each sender pass) reads two values instead
    /// of the deque.
    front_ready: Vec<bool>,
    /// The earliest deadline written to `front_deadlines` since
    /// [`Accumulator::next_linger_deadline`] last looked (`SimTime::MAX`: none; `ZERO` before
    /// the first look, so that one always scans).
    new_deadlines_min: SimTime,
    /// `max(1, batch.size)`, as `KafkaProducer` uses it.
    batch_size: u32,
    linger: SimDuration,
    /// `BufferPool` has waiters: every first batch is sendable (`RecordAccumulator.ready`).
    pub exhausted: bool,
    /// A `flush()` is in progress (`RecordAccumulator.flushInProgress`): every first batch is
    /// sendable.
    pub flushing: bool,
}

impl Accumulator {
    pub fn new(partitions: usize, batch_size: u32, linger_ms: u64) -> Accumulator {
        Accumulator {
            deques: (0..partitions).map(|_| VecDeque::new()).collect(),
            front_deadlines: vec![SimTime::MAX; partitions],
            front_ready: vec![false; partitions],
            new_deadlines_min: SimTime::ZERO,
            batch_size: batch_size.max(1),
            linger: SimDuration::from_ms(linger_ms),
            exhausted: false,
            flushing: false,
        }
    }

    pub fn partitions(&self) -> usize {
        self.deques.len()
    }

    pub fn linger(&self) -> SimDuration {
        self.linger
    }

    /// Recomputes `front_deadlines[p]` and `front_ready[p]` after `p`'s first batch changed.
    #[inline]
    fn refresh_front(&mut self, p: usize) {
        let deque = &self.deques[p];
        let (deadline, ready) = match deque.front() {
            None => (SimTime::MAX, false),
            Some(b) if b.sealed.is_some() => (b.retry_at, false),
            Some(b) => (b.created + self.linger, deque.len() > 1 || b.is_full()),
        };
        (self.front_deadlines[p], self.front_ready[p]) = (deadline, ready);
        self.new_deadlines_min = self.new_deadlines_min.min(deadline);
    }

    /// Appends one record to partition `p` at `t` (a new batch is created then, and lingers
    /// from then); `created` is the record's intended send time, from which latency counts.
    pub fn append(
        &mut self,
        p: usize,
        t: SimTime,
        created: SimTime,
        key_bytes: Option<u32>,
        value_bytes: u32,
    ) -> Appended {
        let placement = self.place(p, t, record_fields(key_bytes, value_bytes));
        self.append_placed(p, t, created, placement)
    }

    /// Where a record with these [`record_fields`] appended to `p` at `t` goes
    /// (`MemoryRecordsBuilder.hasRoomFor` on the last batch), and its size there: computed once,
    /// for both [`Accumulator::new_batch_bytes`] and [`Accumulator::append_placed`].
    // Always inline: once per record, and its callers keep the partition's deque at hand.
    #[inline(always)]
    pub fn place(&self, p: usize, t: SimTime, fields: u32) -> Placement {
        if let Some(last) = self.deques[p].back()
            && !last.is_full()
        {
            let delta_ms = t.since(last.created).as_nanos() / 1_000_000;
            let size = sized_record(last.record_times.len() as u32, delta_ms, fields);
            if last.size_bytes + size <= last.write_limit {
                return Placement::Last { record_bytes: size };
            }
        }
        Placement::New { record_bytes: sized_record(0, 0, fields) }
    }

    /// [`Accumulator::append`] with the placement [`Accumulator::place`] gave for `p` at `t`
    /// (nothing changed in between).
    pub fn append_placed(&mut self, p: usize, t: SimTime, created: SimTime, placement: Placement) -> Appended {
        let deque = &mut self.deques[p];
        let size = match placement {
            Placement::Last { record_bytes } => {
                let only = deque.len() == 1;
                let last = deque.back_mut().expect("placed into the last batch");
                last.size_bytes += record_bytes;
                last.record_times.push(created);
                if only && last.is_full() {
                    self.front_ready[p] = true; // the first batch just filled up
                }
                return Appended { new_batch: false, bytes: record_bytes };
            }
            Placement::New { record_bytes } => record_bytes,
        };
        let upper_bound = RECORD_BATCH_OVERHEAD + size + 14;
        // Room for a few records from the start: `vec![created]` would reallocate on the second.
        let mut record_times = Vec::with_capacity(8);
        record_times.push(created);
        deque.push_back(OpenBatch {
            created: t,
            record_times,
            values: Vec::new(),
            sources: Vec::new(),
            keys: None,
            size_bytes: RECORD_BATCH_OVERHEAD + size,
            write_limit: self.batch_size.max(upper_bound),
            sealed: None,
            attempts: 0,
            retry_at: SimTime::ZERO,
        });
        match deque.len() {
            // A new first batch: it lingers from `t` (it was opened with room to spare, so it
            // is not full).
            1 => {
                let deadline = t + self.linger;
                (self.front_deadlines[p], self.front_ready[p]) = (deadline, false);
                self.new_deadlines_min = self.new_deadlines_min.min(deadline);
            }
            // Company for the first batch: one being filled becomes sendable (a retry waits
            // for its backoff, as before).
            2 => self.refresh_front(p),
            _ => {}
        }
        Appended { new_batch: true, bytes: RECORD_BATCH_OVERHEAD + size }
    }

    /// Attaches a value to the record just appended to `p` (it is always in the last batch).
    pub fn push_value(&mut self, p: usize, value: i64) {
        if let Some(last) = self.deques[p].back_mut() {
            last.values.push(value);
        }
    }

    /// Records the key entry of the record just appended to partition `p`.
    pub fn push_key(&mut self, p: usize, key: u64) {
        if let Some(last) = self.deques[p].back_mut() {
            last.keys.get_or_insert_with(Box::default).push(key);
        }
    }

    /// Records the input record of the record just appended to partition `p`.
    pub fn push_source(&mut self, p: usize, source: u64) {
        if let Some(last) = self.deques[p].back_mut() {
            last.sources.push(source);
        }
    }

    /// Bytes a new batch for a record of `record_bytes` (as [`Placement::New`] gives it) takes
    /// from `buffer.memory`: `max(batch.size, the record's upper bound)`, as
    /// `RecordAccumulator.append` allocates.
    pub fn new_batch_bytes(&self, record_bytes: u32) -> u32 {
        self.batch_size.max(RECORD_BATCH_OVERHEAD + record_bytes + 14)
    }

    /// Whether a record would go into `p`'s last batch (`tryAppend` succeeds) rather than open
    /// a new one.
    pub fn fits(&self, p: usize, t: SimTime, key_bytes: Option<u32>, value_bytes: u32) -> bool {
        matches!(self.place(p, t, record_fields(key_bytes, value_bytes)), Placement::Last { .. })
    }

    /// `RecordAccumulator.partitionReady`: the first batch of `p` is full, has company, or
    /// lingered; a retried batch once its backoff has passed.
    #[inline]
    pub fn sendable(&self, p: usize, now: SimTime) -> bool {
        if self.exhausted || self.flushing {
            // Every first batch but a retry still backing off.
            return self.deques[p].front().is_some_and(|first| first.sealed.is_none() || now >= first.retry_at);
        }
        // A first batch being filled: full or with company (`front_ready`), or lingered
        // (`created + linger`, as batches are never created after `now`); a retry: its backoff
        // passed; none: `SimTime::MAX`, never reached.
        self.front_ready[p] || now >= self.front_deadlines[p]
    }

    /// The size of `p`'s first batch if a drain at `now` may take it: `None` when `p` has no
    /// batch or its first is a retry still backing off (one look at the front for both).
    #[inline]
    pub fn drainable_size(&self, p: usize, now: SimTime) -> Option<u32> {
        let first = self.deques[p].front()?;
        if first.sealed.is_some() && now < first.retry_at {
            return None;
        }
        Some(first.size_bytes)
    }

    /// Puts a failed batch back at the front of its partition (`RecordAccumulator.reenqueue`),
    /// in sequence order among other retries.
    pub fn reenqueue(&mut self, p: usize, batch: Rc<RecordBatch>, attempts: u32, retry_at: SimTime) {
        let deque = &mut self.deques[p];
        let at = deque
            .iter()
            .position(|b| b.sealed.as_ref().is_none_or(|s| s.base_sequence > batch.base_sequence))
            .unwrap_or(deque.len());
        deque.insert(
            at,
            OpenBatch {
                created: batch.created,
                record_times: Vec::new(),
                values: Vec::new(),
                sources: Vec::new(),
                keys: None,
                size_bytes: batch.size_bytes,
                write_limit: batch.size_bytes,
                sealed: Some(batch),
                attempts,
                retry_at,
            },
        );
        self.refresh_front(p);
    }

    /// Removes every retry (sealed batch) of `p`, in order: `(batch, attempts, retry_at)`.
    pub fn take_sealed(&mut self, p: usize) -> Vec<(Rc<RecordBatch>, u32, SimTime)> {
        let deque = &mut self.deques[p];
        let mut out = Vec::new();
        let mut keep = VecDeque::with_capacity(deque.len());
        for b in deque.drain(..) {
            match b.sealed {
                Some(batch) => out.push((batch, b.attempts, b.retry_at)),
                None => keep.push_back(b),
            }
        }
        *deque = keep;
        self.refresh_front(p);
        out
    }

    /// Whether a retry of `p` from `epoch` waits with a sequence below `sequence`.
    pub fn has_earlier_retry(&self, p: usize, epoch: u16, sequence: u64) -> bool {
        self.deques[p]
            .iter()
            .filter_map(|b| b.sealed.as_ref())
            .any(|s| s.producer_epoch == epoch && s.base_sequence < sequence)
    }

    /// Removes batches created at or before `deadline` (delivery timeout); returns them.
    pub fn expire(&mut self, deadline: SimTime) -> Vec<(usize, OpenBatch)> {
        let mut out = Vec::new();
        for (p, deque) in self.deques.iter_mut().enumerate() {
            while deque.front().is_some_and(|b| b.created <= deadline) {
                out.push((p, deque.pop_front().expect("front")));
            }
        }
        for p in 0..self.deques.len() {
            self.refresh_front(p);
        }
        out
    }

    /// Whether partition `p`'s last batch is full or absent (the uniform sticky partitioner's
    /// `allBatchesFull` switch condition).
    pub fn last_batch_full(&self, p: usize) -> bool {
        self.deques[p].back().is_none_or(|b| b.is_full())
    }

    /// Whether `p` has a batch waiting.
    pub fn has_batch(&self, p: usize) -> bool {
        !self.deques[p].is_empty()
    }

    /// Number of batches queued for `p` (the adaptive partitioner's queue size).
    pub fn queue_len(&self, p: usize) -> usize {
        self.deques[p].len()
    }

    /// Removes the first batch of `p`.
    pub fn take_first(&mut self, p: usize) -> Option<OpenBatch> {
        let first = self.deques[p].pop_front();
        self.refresh_front(p);
        first
    }

    /// The earliest time a first batch becomes sendable (linger or retry backoff), among those
    /// that are not yet. Resets [`Accumulator::earliest_new_deadline`].
    pub fn next_linger_deadline(&mut self, now: SimTime) -> Option<SimTime> {
        self.new_deadlines_min = SimTime::MAX;
        // (`SimTime::MAX` marks an empty deque: no deadline.) Deadlines already passed count as
        // `MAX` too, so the minimum is a plain fold over raw `u64`s the compiler can vectorise.
        let earliest =
            self.front_deadlines.iter().fold(u64::MAX, |min, d| min.min(if d.0 > now.0 { d.0 } else { u64::MAX }));
        (earliest != u64::MAX).then_some(SimTime(earliest))
    }

    /// The earliest deadline a first batch got since [`Accumulator::next_linger_deadline`] last
    /// looked (`SimTime::MAX`: none). When the producer armed its linger timer from that look
    /// and the timer has not fired since, every deadline seen then is at or after the timer or
    /// already passed; so if this one is not before the timer, no deadline still ahead is.
    #[inline]
    pub fn earliest_new_deadline(&self) -> SimTime {
        self.new_deadlines_min
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_sizes_match_kafka_default_record() {
        // Varints are zigzag-encoded (ByteUtils.writeVarint), so 64..8191 take 2 bytes.
        // Null key, 100-byte value, first record: body = 1 (attributes) + 1 (offset delta 0)
        // + 1 (timestamp delta 0) + 1 (null key) + (2 + 100) (value) + 1 (no headers) = 107,
        // plus a 2-byte length varint.
        assert_eq!(record_size_bytes(0, 0, None, 100), 109);
        // a 5-byte key adds (1 + 5) instead of 1
        assert_eq!(record_size_bytes(0, 0, Some(5), 100), 114);
        // offset delta 64 needs a 2-byte varint
        assert_eq!(record_size_bytes(64, 0, None, 100), 110);
        // a timestamp delta of 64 ms needs a 2-byte varlong
        assert_eq!(record_size_bytes(0, 64, None, 100), 110);
        // small records: 10-byte value, body = 1 + 1 + 1 + 1 + 11 + 1 = 16, 1-byte length
        assert_eq!(record_size_bytes(0, 0, None, 10), 17);
    }

    #[test]
    fn varint_sizes_match_kafkas_loop() {
        // ByteUtils.sizeOfVarint / sizeOfVarlong, as Kafka writes them
        let looped = |mut z: u64| {
            let mut n = 1;
            while z >= 0x80 {
                z >>= 7;
                n += 1;
            }
            n
        };
        for shift in 0..64 {
            for v in
                [1i64 << shift, (1i64 << shift).wrapping_sub(1), (1i64 << shift).wrapping_neg(), i64::MAX, i64::MIN]
            {
                assert_eq!(size_of_varlong(v), looped(((v << 1) ^ (v >> 63)) as u64), "{v}");
                let w = v as i32;
                assert_eq!(size_of_varint(w), looped(((w << 1) ^ (w >> 31)) as u32 as u64), "{w}");
            }
        }
    }

    #[test]
    fn a_batch_fills_to_batch_size_then_a_new_one_opens() {
        let mut acc = Accumulator::new(1, 1000, 5);
        let mut opened = 0;
        for i in 0..20 {
            if acc.append(0, SimTime(i), SimTime(i), None, 100).new_batch {
                opened += 1;
            }
        }
        // 61 + 8 × 109 = 933 ≤ 1000 < 933 + 109: 8 records per batch
        assert_eq!(acc.deques[0].front().unwrap().record_times.len(), 8);
        assert_eq!(opened, 3);
        assert!(acc.sendable(0, SimTime(20)), "a batch with company is sendable");
    }

    #[test]
    fn linger_makes_a_lone_batch_sendable() {
        let mut acc = Accumulator::new(1, 16_384, 5);
        acc.append(0, SimTime::from_ms(10), SimTime::from_ms(10), None, 100);
        assert!(!acc.sendable(0, SimTime::from_ms(14)));
        assert!(acc.sendable(0, SimTime::from_ms(15)));
        assert_eq!(acc.next_linger_deadline(SimTime::from_ms(10)), Some(SimTime::from_ms(15)));
    }

    #[test]
    fn new_first_batch_deadlines_are_tracked_until_the_next_look() {
        let mut acc = Accumulator::new(2, 16_384, 5);
        assert_eq!(acc.earliest_new_deadline(), SimTime::ZERO, "the first look always scans");
        assert_eq!(acc.next_linger_deadline(SimTime::ZERO), None);
        assert_eq!(acc.earliest_new_deadline(), SimTime::MAX);
        acc.append(0, SimTime::from_ms(1), SimTime::from_ms(1), None, 100);
        acc.append(1, SimTime::from_ms(2), SimTime::from_ms(2), None, 100);
        acc.append(0, SimTime::from_ms(3), SimTime::from_ms(3), None, 100); // not a new first batch
        assert_eq!(acc.earliest_new_deadline(), SimTime::from_ms(6));
        assert_eq!(acc.next_linger_deadline(SimTime::from_ms(3)), Some(SimTime::from_ms(6)));
        assert_eq!(acc.earliest_new_deadline(), SimTime::MAX);
        acc.take_first(0); // partition 0 empties: no deadline
        assert_eq!(acc.earliest_new_deadline(), SimTime::MAX);
        acc.take_first(1);
        acc.append(1, SimTime::from_ms(4), SimTime::from_ms(4), None, 100);
        assert_eq!(acc.earliest_new_deadline(), SimTime::from_ms(9));
    }

    #[test]
    fn batch_size_zero_means_one_record_per_batch() {
        let mut acc = Accumulator::new(1, 0, 5);
        assert!(acc.append(0, SimTime(0), SimTime(0), None, 10).new_batch);
        assert!(acc.append(0, SimTime(1), SimTime(1), None, 10).new_batch);
    }
}
