//! The event queue: pops events in `(time, seq)` order.
//!
//! **Tie rule.** Every scheduled event gets `seq`, a global insertion counter. Events due at the
//! same instant run in the order they were scheduled (lower `seq` first). Nothing else (node id,
//! event kind, memory address) ever breaks a tie, so a run is a pure function of its inputs.
//!
//! **How.** A timing wheel (a calendar queue) in front of a heap. Most events of a Kafka model
//! are due within a few milliseconds (network latency, `linger.ms`, the next record), so the
//! wheel covers the next [`HORIZON_NS`] in [`BUCKETS`] buckets of [`BUCKET_NS`] each: a push
//! appends to its bucket, a pop takes the smallest `(time, seq)` of the first non-empty bucket
//! (a bitmap finds it), which holds a few events at most. Events further out (request timeouts,
//! heartbeats, the next fault) wait in a 4-ary heap and move into the wheel as its window
//! reaches them. A push and a pop cost a few dozen instructions instead of a heap's
//! logarithmic sifting; the order is exactly that of one heap keyed by `(time, seq)`, which the
//! tests check against a sorted map.

mod heap;

use heap::{Entry, Heap};

use super::time::SimTime;

/// Width of a wheel bucket in ns (a power of two): 16.4 µs.
pub const BUCKET_NS: u64 = 1 << BUCKET_BITS;
const BUCKET_BITS: u32 = 14;
/// Buckets in the wheel (a power of two).
pub const BUCKETS: usize = 1024;
/// How far ahead of the current bucket's start the wheel reaches: 16.8 ms.
pub const HORIZON_NS: u64 = BUCKET_NS * BUCKETS as u64;
const WORDS: usize = BUCKETS / 64;

/// A min-priority queue of `T` keyed by `(SimTime, seq)`.
pub struct EventQueue<T> {
    /// `buckets[i]` holds, unordered, the events due in the one window slot that maps to `i`.
    buckets: Vec<Vec<Entry<T>>>,
    /// Bit `i` set: `buckets[i]` is not empty.
    occupied: [u64; WORDS],
    /// The current bucket: every event in the wheel is due at or after `cursor_start`, and
    /// before `cursor_start + HORIZON_NS`.
    cursor: usize,
    /// Start of the current bucket's time slot (a multiple of `BUCKET_NS`).
    cursor_start: u64,
    /// Events in the wheel.
    in_wheel: usize,
    /// Events due at or after the wheel's horizon.
    overflow: Heap<T>,
    next_seq: u64,
}

impl<T> Default for EventQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> EventQueue<T> {
    pub fn new() -> Self {
        EventQueue {
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            occupied: [0; WORDS],
            cursor: 0,
            cursor_start: 0,
            in_wheel: 0,
            overflow: Heap::new(),
            next_seq: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.in_wheel + self.overflow.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many events were ever scheduled (the next `seq`).
    pub fn scheduled(&self) -> u64 {
        self.next_seq
    }

    /// Schedules `payload` at `time`; returns its `seq`.
    pub fn push(&mut self, time: SimTime, payload: T) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.insert(Entry { time: time.0, seq, payload });
        seq
    }

    /// The time of the earliest event, if any.
    pub fn peek_time(&self) -> Option<SimTime> {
        if self.in_wheel == 0 {
            return self.overflow.peek().map(|e| SimTime(e.time));
        }
        let bucket = &self.buckets[self.next_occupied()];
        bucket.iter().map(Entry::key).min().map(|key| SimTime((key >> 64) as u64))
    }

    /// Removes the earliest event: `(time, seq, payload)`.
    pub fn pop(&mut self) -> Option<(SimTime, u64, T)> {
        self.pop_until(SimTime(u64::MAX))
    }

    /// Removes the earliest event if it is due at or before `limit` (a peek and a pop in one).
    /// Inlined into the event loop: as a call it saved and restored eight registers per event
    /// (1.3% of the benchmark's instructions).
    #[inline(always)]
    pub fn pop_until(&mut self, limit: SimTime) -> Option<(SimTime, u64, T)> {
        if self.in_wheel == 0 {
            // Nothing within the horizon: the wheel jumps to the earliest far event.
            let time = self.overflow.peek()?.time;
            if time > limit.0 {
                return None;
            }
            self.cursor_start = time & !(BUCKET_NS - 1);
            self.cursor = Self::index(time);
            self.migrate();
        }
        // The cursor may move past `limit`: the wheel keeps its order (an event scheduled
        // before the cursor's bucket later still goes first, into the cursor's bucket).
        let next = self.next_occupied();
        if next != self.cursor {
            let steps = (next + BUCKETS - self.cursor) % BUCKETS;
            self.cursor = next;
            self.cursor_start += steps as u64 * BUCKET_NS;
            self.migrate();
        }
        let bucket = &mut self.buckets[self.cursor];
        let mut best = 0;
        let mut best_key = bucket[0].key();
        for (i, e) in bucket.iter().enumerate().skip(1) {
            let key = e.key();
            if key < best_key {
                (best, best_key) = (i, key);
            }
        }
        if (best_key >> 64) as u64 > limit.0 {
            return None;
        }
        let entry = bucket.swap_remove(best);
        if bucket.is_empty() {
            self.occupied[self.cursor / 64] &= !(1 << (self.cursor % 64));
        }
        self.in_wheel -= 1;
        Some((SimTime(entry.time), entry.seq, entry.payload))
    }

    /// Whether the wheel's window covers `time` (a time at or after `cursor_start`). Written as a
    /// difference: near the end of time, the window's end passes `u64::MAX`.
    #[inline(always)]
    fn within_window(&self, time: u64) -> bool {
        time.wrapping_sub(self.cursor_start) < HORIZON_NS
    }

    /// The bucket a time maps to (meaningful for times within the window).
    fn index(time: u64) -> usize {
        (time >> BUCKET_BITS) as usize & (BUCKETS - 1)
    }

    /// Puts an entry in the wheel if the window covers it, else in the overflow heap.
    fn insert(&mut self, entry: Entry<T>) {
        let i = if self.within_window(entry.time) {
            Self::index(entry.time)
        } else if entry.time < self.cursor_start {
            // An event due before the current bucket's start (never scheduled by the engine,
            // which schedules nothing in the past) is still the earliest: the current bucket.
            self.cursor
        } else {
            self.overflow.push(entry);
            return;
        };
        self.buckets[i].push(entry);
        self.occupied[i / 64] |= 1 << (i % 64);
        self.in_wheel += 1;
    }

    /// Moves far events the window now reaches from the heap into the wheel.
    #[inline]
    fn migrate(&mut self) {
        // Events in the heap are never due before `cursor_start`: they were beyond the window
        // when pushed, and the cursor never passes the earliest event.
        if self.overflow.peek().is_some_and(|e| self.within_window(e.time)) {
            self.migrate_all();
        }
    }

    #[inline(never)]
    fn migrate_all(&mut self) {
        while self.overflow.peek().is_some_and(|e| self.within_window(e.time)) {
            let entry = self.overflow.pop().expect("peeked");
            self.insert(entry);
        }
    }

    /// The first non-empty bucket from the cursor on, in window order (the wheel is not empty).
    fn next_occupied(&self) -> usize {
        let (word, bit) = (self.cursor / 64, self.cursor % 64);
        let here = self.occupied[word] & (!0u64 << bit);
        if here != 0 {
            return word * 64 + here.trailing_zeros() as usize;
        }
        for k in 1..=WORDS {
            let w = (word + k) % WORDS;
            let bits = self.occupied[w];
            if bits != 0 {
                return w * 64 + bits.trailing_zeros() as usize;
            }
        }
        unreachable!("next_occupied on an empty wheel")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_at_the_same_time_pop_in_scheduling_order() {
        let mut q = EventQueue::new();
        q.push(SimTime(5), "b");
        q.push(SimTime(1), "a");
        q.push(SimTime(5), "c");
        q.push(SimTime(5), "d");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, _, p)| p)).collect();
        assert_eq!(order, ["a", "b", "c", "d"]);
    }

    #[test]
    fn pops_in_time_then_seq_order_like_a_sorted_list() {
        // A cheap deterministic generator: times with many collisions.
        let mut q = EventQueue::new();
        let mut expected = Vec::new();
        let mut x: u64 = 12345;
        for i in 0..5000u64 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let t = (x >> 33) % 300;
            q.push(SimTime(t), i);
            expected.push((t, i));
            if i % 7 == 0 {
                // interleave pops with pushes, as the engine does
                let (time, seq, p) = q.pop().unwrap();
                expected.sort();
                let (et, ei) = expected.remove(0);
                assert_eq!((time.0, p), (et, ei));
                assert_eq!(seq, p);
            }
        }
        expected.sort();
        for (et, ei) in expected {
            let (time, _, p) = q.pop().unwrap();
            assert_eq!((time.0, p), (et, ei));
        }
        assert!(q.pop().is_none());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, failure_persistence: None, ..Default::default() })]

        /// Any interleaving of pushes and pops behaves like a sorted map keyed by (time, seq):
        /// the wheel and its overflow heap together never change the order.
        #[test]
        fn matches_a_sorted_reference(ops in proptest::collection::vec((0u64..50, proptest::bool::ANY), 1..400)) {
            let mut q = EventQueue::new();
            let mut reference = std::collections::BTreeMap::new();
            for (i, (t, pop)) in ops.into_iter().enumerate() {
                if pop {
                    let want = reference.pop_first().map(|((t, seq), v)| (SimTime(t), seq, v));
                    proptest::prop_assert_eq!(q.pop(), want);
                } else {
                    let seq = q.push(SimTime(t), i);
                    reference.insert((t, seq), i);
                }
                proptest::prop_assert_eq!(q.len(), reference.len());
                proptest::prop_assert_eq!(q.peek_time(), reference.keys().next().map(|&(t, _)| SimTime(t)));
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, failure_persistence: None, ..Default::default() })]

        /// As the engine uses it: events scheduled from the current time on, some due within a
        /// bucket, some across the wheel, some far beyond its horizon (and a few in the past,
        /// which the engine never schedules). The order is a sorted map's.
        #[test]
        fn the_wheel_pops_like_a_sorted_map(ops in proptest::collection::vec((0u8..8, 0u64..1 << 40), 1..600)) {
            let mut q = EventQueue::new();
            let mut reference = std::collections::BTreeMap::new();
            let mut now = 0u64;
            for (i, (kind, r)) in ops.into_iter().enumerate() {
                let time = match kind {
                    0 => {
                        let want = reference.pop_first().map(|((t, seq), v)| (SimTime(t), seq, v));
                        if let Some((t, _, _)) = want {
                            now = t.0;
                        }
                        proptest::prop_assert_eq!(q.pop(), want);
                        continue;
                    }
                    1 => {
                        // Run until a limit, as `Simulation::run_until` does; time moves to it.
                        let limit = now + r % (3 * HORIZON_NS);
                        while let Some(((t, seq), v)) = reference.first_key_value().map(|(k, v)| (*k, *v)) {
                            if t > limit {
                                break;
                            }
                            reference.pop_first();
                            proptest::prop_assert_eq!(q.pop_until(SimTime(limit)), Some((SimTime(t), seq, v)));
                        }
                        proptest::prop_assert_eq!(q.pop_until(SimTime(limit)), None);
                        now = limit;
                        continue;
                    }
                    2 => now + r % BUCKET_NS,              // the same or the next bucket
                    3 => now + r % (HORIZON_NS / 2),       // within the wheel
                    4 => now + r % (2 * HORIZON_NS),       // around the horizon
                    5 => now + r % 5_000_000_000,          // far beyond it
                    6 => now.saturating_sub(r % 100_000),  // in the past
                    _ => now,                              // now
                };
                let seq = q.push(SimTime(time), i);
                reference.insert((time, seq), i);
                proptest::prop_assert_eq!(q.len(), reference.len());
                proptest::prop_assert_eq!(q.peek_time(), reference.keys().next().map(|&(t, _)| SimTime(t)));
            }
            while let Some(((t, seq), v)) = reference.pop_first() {
                proptest::prop_assert_eq!(q.pop(), Some((SimTime(t), seq, v)));
            }
            proptest::prop_assert!(q.pop().is_none());
        }
    }

    #[test]
    fn far_events_wait_beyond_the_horizon_and_come_back_in_order() {
        let mut q = EventQueue::new();
        q.push(SimTime(3 * HORIZON_NS + 5), "far");
        q.push(SimTime(3 * HORIZON_NS + 5), "far, scheduled later");
        q.push(SimTime(7), "near");
        q.push(SimTime(u64::MAX), "never");
        assert_eq!(q.len(), 4);
        assert_eq!(q.pop().map(|e| e.2), Some("near"));
        // The wheel is empty: it jumps to the far events.
        assert_eq!(q.peek_time(), Some(SimTime(3 * HORIZON_NS + 5)));
        assert_eq!(q.pop().map(|e| e.2), Some("far"));
        q.push(SimTime(3 * HORIZON_NS + 5), "due now, scheduled last");
        assert_eq!(q.pop().map(|e| e.2), Some("far, scheduled later"));
        assert_eq!(q.pop().map(|e| e.2), Some("due now, scheduled last"));
        assert_eq!(q.pop().map(|e| e.2), Some("never"));
        assert!(q.pop().is_none());
    }

    #[test]
    fn peek_time_reports_the_earliest_event() {
        let mut q = EventQueue::new();
        assert_eq!(q.peek_time(), None);
        q.push(SimTime(9), ());
        q.push(SimTime(3), ());
        assert_eq!(q.peek_time(), Some(SimTime(3)));
    }
}
