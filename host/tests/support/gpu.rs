//! The GPU tests' one way of getting a device: a fresh one of their own.
//! Without an adapter they fail, unless WASM_FOREST_SKIP_GPU_TESTS=1 says to
//! skip them (`None`).

use wasm_forest::gpu::Gpu;

pub fn gpu() -> Option<Gpu> {
    match Gpu::new() {
        Ok(g) => Some(g),
        Err(e) if std::env::var_os("WASM_FOREST_SKIP_GPU_TESTS").is_some() => {
            eprintln!("skipped (WASM_FOREST_SKIP_GPU_TESTS): {e}");
            None
        }
        Err(e) => panic!(
            "no GPU adapter ({e}); install a Vulkan driver (Debian: mesa-vulkan-drivers) \
             or set WASM_FOREST_SKIP_GPU_TESTS=1"
        ),
    }
}
