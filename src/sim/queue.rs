//! The event queue: a 4-ary min-heap ordered by `(time, seq)`.
//!
//! **Tie rule.** Every scheduled event gets `seq`, a global insertion counter. Events due at the
//! same instant run in the order they were scheduled (lower `seq` first). Nothing else (node id,
//! event kind, memory address) ever breaks a tie, so a run is a pure function of its inputs.
//!
//! Why 4-ary: a pop visits half as many levels as a binary heap, and the four children of a node
//! sit next to each other in memory. Entries move into a hole (one move per level) rather than
//! being swapped, and a pop sinks the hole to the bottom before placing the last entry, as
//! `std::collections::BinaryHeap` does. The payload is stored inline next to its key (no boxing), and
//! the key is compared as one `u128` (time in the high half, seq in the low), a single integer
//! compare.

use super::time::SimTime;

struct Entry<T> {
    /// `time << 64 | seq`, in two halves: ordering by this integer is ordering by `(time, seq)`.
    /// (Two `u64`s rather than one `u128`: a `u128` would align the entry to 16 bytes and pad a
    /// 24-byte payload to a 48-byte entry; this one takes 40, and the queue moves entries.)
    time: u64,
    seq: u64,
    payload: T,
}

impl<T> Entry<T> {
    #[inline(always)]
    fn key(&self) -> u128 {
        ((self.time as u128) << 64) | self.seq as u128
    }
}

/// A min-priority queue of `T` keyed by `(SimTime, seq)`.
///
/// In front of the heap sits one slot holding an entry earlier than every entry in the heap.
/// A handler often schedules the very next event (pop, then push something sooner than all
/// else); that entry waits in the slot and the next pop takes it without touching the heap. The
/// slot keeps the entry's own key, so the pop order is exactly the heap's order.
pub struct EventQueue<T> {
    /// Invariant: when `Some`, its key is smaller than every key in `heap`.
    front: Option<Entry<T>>,
    heap: Vec<Entry<T>>,
    next_seq: u64,
}

impl<T> Default for EventQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> EventQueue<T> {
    pub fn new() -> Self {
        EventQueue { front: None, heap: Vec::with_capacity(1024), next_seq: 0 }
    }

    pub fn len(&self) -> usize {
        self.heap.len() + usize::from(self.front.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.front.is_none() && self.heap.is_empty()
    }

    /// How many events were ever scheduled (the next `seq`).
    pub fn scheduled(&self) -> u64 {
        self.next_seq
    }

    /// Schedules `payload` at `time`; returns its `seq`.
    pub fn push(&mut self, time: SimTime, payload: T) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = Entry { time: time.0, seq, payload };
        let key = entry.key();
        let entry = match &self.front {
            // Earlier than the slot (and so than the heap): it takes the slot, the old slot
            // entry goes to the heap.
            Some(front) if key < front.key() => self.front.replace(entry).expect("front is Some"),
            Some(_) => entry,
            None if self.heap.first().is_none_or(|top| key < top.key()) => {
                self.front = Some(entry);
                return seq;
            }
            None => entry,
        };
        self.heap.push(entry);
        self.sift_up(self.heap.len() - 1);
        seq
    }

    /// The time of the earliest event, if any.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.front.as_ref().or(self.heap.first()).map(|e| SimTime(e.time))
    }

    /// Removes the earliest event: `(time, seq, payload)`.
    pub fn pop(&mut self) -> Option<(SimTime, u64, T)> {
        if let Some(front) = self.front.take() {
            return Some((SimTime(front.time), front.seq, front.payload));
        }
        let mut top = self.heap.pop()?;
        if !self.heap.is_empty() {
            // The former last entry goes to the root and sinks; `top` is the old root.
            std::mem::swap(&mut top, &mut self.heap[0]);
            self.sift_down_to_bottom();
        }
        Some((SimTime(top.time), top.seq, top.payload))
    }

    /// Moves the entry at `i` up to its place: parents move down into the hole, and the entry is
    /// written once at the end (one move per level instead of a swap).
    fn sift_up(&mut self, mut i: usize) {
        let ptr = self.heap.as_mut_ptr();
        // SAFETY: `i < len` (the caller just pushed it). The entry is read out, leaving a hole
        // that is always filled by moving another entry into it (each slot is written exactly once
        // after being vacated), and the entry is written back into the final hole. Nothing in
        // between can panic (only `u128` comparisons), so no entry is dropped twice or leaked.
        unsafe {
            let entry = std::ptr::read(ptr.add(i));
            while i > 0 {
                let parent = (i - 1) / 4;
                if entry.key() >= (*ptr.add(parent)).key() {
                    break;
                }
                std::ptr::copy_nonoverlapping(ptr.add(parent), ptr.add(i), 1);
                i = parent;
            }
            std::ptr::write(ptr.add(i), entry);
        }
    }

    /// Sinks the root: the hole first goes all the way down along the smallest children (without
    /// comparing against the sinking entry, which usually belongs near the bottom anyway), then
    /// the entry rises from there to its place. This is what `std::collections::BinaryHeap::pop`
    /// does, on four children per node.
    fn sift_down_to_bottom(&mut self) {
        let n = self.heap.len();
        let ptr = self.heap.as_mut_ptr();
        let mut hole = 0;
        // SAFETY: as in `sift_up`: every index is `< n`, each vacated slot is refilled exactly
        // once, and the entry read from the root is written into the final hole. No panics.
        unsafe {
            let entry = std::ptr::read(ptr);
            loop {
                let first = 4 * hole + 1;
                if first >= n {
                    break;
                }
                let best = if first + 4 <= n {
                    // Four children: a two-round tournament (independent compares the CPU can
                    // overlap, rather than a chain of three). Keys are unique, so no ties.
                    let k = |c: usize| (*ptr.add(c)).key();
                    let (a, ka) = if k(first + 1) < k(first) { (first + 1, k(first + 1)) } else { (first, k(first)) };
                    let (b, kb) =
                        if k(first + 3) < k(first + 2) { (first + 3, k(first + 3)) } else { (first + 2, k(first + 2)) };
                    if kb < ka { b } else { a }
                } else {
                    let mut best = first;
                    let mut best_key = (*ptr.add(first)).key();
                    for c in first + 1..n {
                        let k = (*ptr.add(c)).key();
                        if k < best_key {
                            best = c;
                            best_key = k;
                        }
                    }
                    best
                };
                std::ptr::copy_nonoverlapping(ptr.add(best), ptr.add(hole), 1);
                hole = best;
            }
            while hole > 0 {
                let parent = (hole - 1) / 4;
                if entry.key() >= (*ptr.add(parent)).key() {
                    break;
                }
                std::ptr::copy_nonoverlapping(ptr.add(parent), ptr.add(hole), 1);
                hole = parent;
            }
            std::ptr::write(ptr.add(hole), entry);
        }
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
        /// the front slot and the heap together never change the order.
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

    #[test]
    fn peek_time_reports_the_earliest_event() {
        let mut q = EventQueue::new();
        assert_eq!(q.peek_time(), None);
        q.push(SimTime(9), ());
        q.push(SimTime(3), ());
        assert_eq!(q.peek_time(), Some(SimTime(3)));
    }
}
