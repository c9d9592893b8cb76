//! What std provides a wasm32-wasip2 program, for the `no_std` library: the C
//! library's string functions, its malloc as the global allocator, the
//! canonical ABI's `cabi_realloc` and a panic handler. None of it imports
//! anything from the host.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr;

// wasi-libc, as std links it. Besides these, compiler_builtins leaves memcpy,
// memmove, memset and memcmp to it on this target.
#[link(name = "c")]
unsafe extern "C" {
    fn malloc(size: usize) -> *mut u8;
    fn calloc(n: usize, size: usize) -> *mut u8;
    fn realloc(ptr: *mut u8, size: usize) -> *mut u8;
    fn aligned_alloc(align: usize, size: usize) -> *mut u8;
    fn free(ptr: *mut u8);
}

/// std's allocator on wasm32-wasip2, wasi-libc's malloc, called as std's
/// `System` calls it: the same heap as before the library dropped std. (The
/// dlmalloc crate, std's allocator on wasm32-unknown-unknown, was no faster
/// and took more memory.)
#[global_allocator]
static ALLOCATOR: LibcMalloc = LibcMalloc;

struct LibcMalloc;

/// The alignment malloc always gives (std's value for wasm32).
const MIN_ALIGN: usize = 8;

// SAFETY: malloc, calloc, realloc and aligned_alloc return null or a block of
// at least the size asked for, aligned to MIN_ALIGN or as asked; free takes
// any of them.
unsafe impl GlobalAlloc for LibcMalloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= MIN_ALIGN && layout.align() <= layout.size() {
            unsafe { malloc(layout.size()) }
        } else {
            unsafe { aligned_alloc(layout.align(), layout.size()) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= MIN_ALIGN && layout.align() <= layout.size() {
            return unsafe { calloc(layout.size(), 1) };
        }
        let block = unsafe { self.alloc(layout) };
        if !block.is_null() {
            unsafe { ptr::write_bytes(block, 0, layout.size()) };
        }
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, _layout: Layout) {
        unsafe { free(block) }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= MIN_ALIGN && layout.align() <= new_size {
            return unsafe { realloc(block, new_size) };
        }
        // SAFETY: `layout.align()` is a valid alignment, and the caller
        // guarantees `new_size` rounded up to it does not overflow.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            unsafe {
                ptr::copy_nonoverlapping(block, new, layout.size().min(new_size));
                self.dealloc(block, layout);
            }
        }
        new
    }
}

/// The canonical ABI's allocation entry point, which wit-bindgen leaves to
/// the C library on wasm32-wasip2. The host allocates export arguments with
/// it and Rust frees them, so it goes through the global allocator.
#[unsafe(no_mangle)]
unsafe extern "C" fn cabi_realloc(
    old_ptr: *mut u8,
    old_len: usize,
    align: usize,
    new_len: usize,
) -> *mut u8 {
    if new_len == 0 {
        return align as *mut u8;
    }
    // SAFETY: the canonical ABI passes a power-of-two alignment, and either
    // no old block or one this function returned with `old_len` and `align`.
    let block = unsafe {
        if old_len == 0 {
            alloc::alloc::alloc(Layout::from_size_align_unchecked(new_len, align))
        } else {
            let old = Layout::from_size_align_unchecked(old_len, align);
            alloc::alloc::realloc(old_ptr, old, new_len)
        }
    };
    if block.is_null() {
        core::arch::wasm32::unreachable()
    }
    block
}

/// A panic is a bug (bad input comes back as a `forest-error`): trap at once,
/// as there is no stderr to print its message to.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
