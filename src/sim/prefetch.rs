//! Cache hints for the simulator's long-lived queues. Not a Kafka concept: a log or a ledger
//! keeps seconds of batches in a ring (`VecDeque`), so the slot its next append writes was last
//! used seconds ago and has left the caches. Asking for that slot right after an append lets the
//! miss overlap other work instead of stalling the next append. Hints change no result, and do
//! nothing off x86-64.

use std::collections::VecDeque;

/// Starts loading the slot `q`'s next `push_back` will write (if it does not reallocate).
#[inline]
pub fn next_back_slot<T>(q: &VecDeque<T>) {
    let (front, back) = q.as_slices();
    let (slice, len) = if back.is_empty() { (front, front.len()) } else { (back, back.len()) };
    // One past the last element: the next slot unless the ring wraps there (then the hint is
    // wasted, never wrong). Wrapping arithmetic: the address may be past the allocation.
    let next = slice.as_ptr().wrapping_add(len).cast::<u8>();
    address(next);
    address(next.wrapping_add(std::mem::size_of::<T>().saturating_sub(1)));
}

/// Starts loading the cache line holding `at` into the first-level cache.
#[inline]
#[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))]
pub fn address(at: *const u8) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch never faults and writes nothing, whatever the address.
        #[allow(unused_unsafe)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(at.cast::<i8>());
        }
    }
}
