//! A global allocator that counts the bytes live on the heap, so a bench can say what a synced
//! cache holds per registration, and the allocations each thread makes, so it can say how many
//! one lookup costs (background tasks on other threads are not counted). A bench binary
//! installs it with `#[global_allocator] static ALLOCATOR: Counting = Counting;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting.
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Allocations (and reallocations) made by this thread; const-initialized, so reading it
    /// never allocates.
    static MADE_HERE: Cell<usize> = const { Cell::new(0) };
}

fn count_one_here() {
    // `try_with`: a thread being torn down has no counter left; its allocations are not ours.
    let _ = MADE_HERE.try_with(|made| made.set(made.get() + 1));
}

// SAFETY: every call is forwarded to the system allocator unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        count_one_here();
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        count_one_here();
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// True when [`Counting`] is the process's allocator (the counters move).
pub fn installed() -> bool {
    let before = allocations_here();
    std::hint::black_box(Box::new(0_u64));
    allocations_here() != before
}

/// Bytes allocated and not freed yet, by everything in the process.
pub fn live_bytes() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Allocations made so far by the calling thread.
pub fn allocations_here() -> usize {
    MADE_HERE.with(Cell::get)
}
