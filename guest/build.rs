//! The component's shadow stack lives in its linear memory, so it counts
//! against every instance's memory. Rust's default for wasm is 1 MiB; this
//! crate keeps little on it (trees are grown with explicit stacks, large
//! buffers are on the heap), and 256 KiB leaves it ample room while keeping
//! a training worker's memory close to its data. A guest that overflows it
//! traps; the host reports that as a failed call.
fn main() {
    println!("cargo:rustc-link-arg-cdylib=-zstack-size=262144");
}
