//! Memory figures: a counting global allocator (the binary installs it) for
//! the heap used by native phases, and the process's peak RSS.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// `#[global_allocator] static A: CountingAlloc = CountingAlloc;` to enable
/// [`HeapPeak`]. wasm linear memory is mapped by wasmtime, not counted here.
pub struct CountingAlloc;

fn grew(by: usize) {
    let now = CURRENT.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(now, Relaxed);
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ACTIVE.store(true, Relaxed);
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Relaxed);
            }
        }
        p
    }
}

/// Peak heap growth over a stretch of code (only with [`CountingAlloc`] installed).
pub struct HeapPeak {
    baseline: usize,
}

impl HeapPeak {
    pub fn start() -> HeapPeak {
        let baseline = CURRENT.load(Relaxed);
        PEAK.store(baseline, Relaxed);
        HeapPeak { baseline }
    }

    /// Highest heap use above the start so far; `None` without the counting allocator.
    pub fn peak(&self) -> Option<u64> {
        ACTIVE
            .load(Relaxed)
            .then(|| PEAK.load(Relaxed).saturating_sub(self.baseline) as u64)
    }
}

/// The process's peak resident set size (Linux: VmHWM), if the platform tells.
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
