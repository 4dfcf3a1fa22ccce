//! The allocator of the `kafkasim` binary and the benchmark (the library sets none): mimalloc,
//! called through its plain `mi_malloc` entry points whenever the alignment allows.
//!
//! The `mimalloc` crate's `MiMalloc` calls `mi_malloc_aligned` for every allocation; that entry
//! point falls back to a slower generic path whenever its free block happens not to be aligned
//! or the size is above 1 KiB, about a tenth of the allocator's time here. Every mimalloc block is
//! aligned to at least a machine word, so alignments up to 8 bytes need no aligned call (the same
//! rule as std's `System` allocator with its own minimum alignment).
//! Outputs never depend on the allocator: nothing in the model orders by address.
//!
//! [`configure`] turns off mimalloc's purging of free pages (see there); `main` calls it first.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// The word alignment every mimalloc block has.
const MIN_ALIGN: usize = std::mem::size_of::<usize>();

/// `mi_option_purge_delay` in mimalloc v3's `mimalloc.h` (its 16th option, after
/// `mi_option_eager_commit_delay` = 14); the Rust bindings name no constant for it.
const MI_OPTION_PURGE_DELAY: mi::mi_option_t = 15;

/// Sets mimalloc's options for a simulator: call it first thing in `main`.
///
/// By default mimalloc gives the pages of freed memory back to the OS a second after they empty
/// (`purge_delay` = 1000 ms), and takes new ones, zeroed by the kernel, when memory is needed
/// again. A simulation frees and reallocates its buffers all the time, and a benchmark or a sweep
/// runs one simulation after another, so the process kept faulting in and zeroing pages: about
/// 4% of the time of `cargo bench -- model`. With purging off, freed pages stay with the process
/// for the next allocation. The cost is memory: the 600 s `bench-100k` run peaks at 32 MiB
/// resident instead of 28 MiB.
pub fn configure() {
    // SAFETY: `mi_option_set` only stores the value; mimalloc reads it when it would purge.
    unsafe { mi::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

/// mimalloc, with plain (unaligned) calls for word-aligned layouts.
pub struct Allocator;

// SAFETY: each method forwards to mimalloc, which returns blocks of at least `size` bytes
// aligned to at least `MIN_ALIGN`; layouts needing more go to the `_aligned` variants.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= MIN_ALIGN {
            unsafe { mi::mi_malloc(layout.size()) as *mut u8 }
        } else {
            unsafe { mi::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8 }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= MIN_ALIGN {
            unsafe { mi::mi_zalloc(layout.size()) as *mut u8 }
        } else {
            unsafe { mi::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8 }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        unsafe { mi::mi_free(ptr as *mut c_void) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= MIN_ALIGN {
            unsafe { mi::mi_realloc(ptr as *mut c_void, new_size) as *mut u8 }
        } else {
            unsafe { mi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8 }
        }
    }
}
