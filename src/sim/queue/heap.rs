//! The overflow of the event queue: a 4-ary min-heap ordered by `(time, seq)`, for events
//! beyond the timing wheel's horizon (and the reference the wheel is tested against).
//!
//! Why 4-ary: a pop visits half as many levels as a binary heap, and the four children of a node
//! sit next to each other in memory. Entries move into a hole (one move per level) rather than
//! being swapped, and a pop sinks the hole to the bottom before placing the last entry, as
//! `std::collections::BinaryHeap` does. The payload is stored inline next to its key (no
//! boxing), and the key is compared as one `u128` (time in the high half, seq in the low), a
//! single integer compare.

pub(super) struct Entry<T> {
    /// `time << 64 | seq`, in two halves: ordering by this integer is ordering by `(time, seq)`.
    /// (Two `u64`s rather than one `u128`: a `u128` would align the entry to 16 bytes and pad a
    /// 24-byte payload to a 48-byte entry; this one takes 40, and the queue moves entries.)
    pub time: u64,
    pub seq: u64,
    pub payload: T,
}

impl<T> Entry<T> {
    #[inline(always)]
    pub fn key(&self) -> u128 {
        ((self.time as u128) << 64) | self.seq as u128
    }
}

/// A min-heap of entries keyed by `(time, seq)`; the caller assigns the `seq`s.
pub(super) struct Heap<T> {
    heap: Vec<Entry<T>>,
}

impl<T> Heap<T> {
    pub fn new() -> Self {
        Heap { heap: Vec::with_capacity(256) }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn push(&mut self, entry: Entry<T>) {
        self.heap.push(entry);
        self.sift_up(self.heap.len() - 1);
    }

    /// The earliest entry.
    pub fn peek(&self) -> Option<&Entry<T>> {
        self.heap.first()
    }

    /// Removes the earliest entry.
    pub fn pop(&mut self) -> Option<Entry<T>> {
        let mut top = self.heap.pop()?;
        if !self.heap.is_empty() {
            // The former last entry goes to the root and sinks; `top` is the old root.
            std::mem::swap(&mut top, &mut self.heap[0]);
            self.sift_down_to_bottom();
        }
        Some(top)
    }

    /// Moves the entry at `i` up to its place: parents move down into the hole, and the entry is
    /// written once at the end (one move per level instead of a swap).
    fn sift_up(&mut self, i: usize) {
        let ptr = self.heap.as_mut_ptr();
        // SAFETY: `i < len` (the caller just pushed it): the entry is read out, leaving the hole
        // `rise` expects.
        unsafe {
            let entry = std::ptr::read(ptr.add(i));
            Self::rise(ptr, i, entry);
        }
    }

    /// Writes `entry` into the hole at `hole` or, while it is smaller than the hole's parent,
    /// moves the parent down into the hole and goes up a level.
    ///
    /// # Safety
    /// `hole` indexes the heap, its slot is vacated (its entry was moved out and is not dropped
    /// there), and `entry` is owned by the caller. Each vacated slot is then refilled exactly
    /// once and `entry` is written into the final hole; nothing in between can panic (only key
    /// comparisons), so no entry is dropped twice or leaked.
    unsafe fn rise(ptr: *mut Entry<T>, mut hole: usize, entry: Entry<T>) {
        unsafe {
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

    /// Sinks the root: the hole first goes all the way down along the smallest children (without
    /// comparing against the sinking entry, which usually belongs near the bottom anyway), then
    /// the entry rises from there to its place. This is what `std::collections::BinaryHeap::pop`
    /// does, on four children per node.
    fn sift_down_to_bottom(&mut self) {
        let n = self.heap.len();
        let ptr = self.heap.as_mut_ptr();
        let mut hole = 0;
        // SAFETY: every index is `< n`; the root's entry is read out, each slot the hole leaves
        // is refilled by the child moved up from below, and `rise` places the entry in the final
        // hole. No panics.
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
            Self::rise(ptr, hole, entry);
        }
    }
}
