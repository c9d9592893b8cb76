//! The component's shadow stack lives in its linear memory, so it counts
//! against every instance's memory. Rust's default for wasm is 1 MiB; this
//! crate keeps little on it (trees are grown with explicit stacks, large
//! buffers are on the heap), and 256 KiB leaves it ample room while keeping
//! a training worker's memory close to its data. A guest that overflows it
//! traps; the host reports that as a failed call.
//!
//! And no WASI adapter: the library imports nothing from
//! wasi_snapshot_preview1, so the adapter would add no code, but
//! wasm-component-ld would still merge the adapter's WASI package versions
//! (whatever the toolchain ships) into the component's imports, turning the
//! `wasi:clocks@0.2.0` of wit/ into a newer version than embedders need.
fn main() {
    println!("cargo:rustc-link-arg-cdylib=-zstack-size=262144");
    println!("cargo:rustc-link-arg-cdylib=--wasi-adapter=none");
}
