//! Builds the guest component for wasm32-wasip2 and hands its path to the host
//! (`include_bytes!(env!("WASM_FOREST_COMPONENT"))`), so one `cargo build` or
//! `cargo run` produces a self-contained host binary.
//!
//! The guest is built by a nested cargo with its own target directory (the
//! outer cargo holds the lock on the main one) and the `guest` profile, which
//! is optimised whatever the host's profile.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    for dir in ["guest", "forest", "wit"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.toml").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.lock").display()
    );
    println!("cargo:rerun-if-env-changed=WASM_FOREST_GUEST_RUSTFLAGS");

    // Next to the main target dir, whatever it is (OUT_DIR = <target>/<profile>/build/<pkg>/out).
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    let target_dir = out_dir
        .ancestors()
        .nth(4)
        .map(|p| p.join("wasm-guest"))
        .unwrap_or_else(|| root.join("target/wasm-guest"));

    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args([
            "build",
            "--package",
            "wasm-forest-guest",
            "--package",
            "wasm-forest-chaos-guest",
            "--target",
            "wasm32-wasip2",
            "--profile",
            "guest",
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    if env::var_os("CARGO_NET_OFFLINE").is_some() {
        cmd.arg("--offline");
    }
    // The outer build's flags are for the host, not for wasm.
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_")
            && key != "CARGO_HOME"
            && key != "CARGO_NET_OFFLINE"
            && key != "CARGO_MAKEFLAGS"
            || [
                "RUSTFLAGS",
                "RUSTC_WORKSPACE_WRAPPER",
                "TARGET",
                "HOST",
                "PROFILE",
                "OUT_DIR",
                "OPT_LEVEL",
                "DEBUG",
                "NUM_JOBS",
            ]
            .contains(&key.as_ref())
        {
            cmd.env_remove(key.as_ref());
        }
    }
    let rustflags = env::var("WASM_FOREST_GUEST_RUSTFLAGS").unwrap_or_default();
    cmd.env(
        "CARGO_ENCODED_RUSTFLAGS",
        rustflags
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("\x1f"),
    );

    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("could not run cargo to build the guest component: {e}"));
    if !status.success() {
        panic!(
            "building the guest component failed (see the cargo output above).\n\
             If the wasm32-wasip2 target is missing, install it with:\n    rustup target add wasm32-wasip2"
        );
    }
    let wasm = target_dir.join("wasm32-wasip2/guest/wasm_forest_guest.wasm");
    assert!(
        wasm.exists(),
        "the guest build reported success but {} is missing",
        wasm.display()
    );
    println!("cargo:rustc-env=WASM_FOREST_COMPONENT={}", wasm.display());
    // The command component for the plain wasmtime CLI (guest/src/bin/forest-cli.rs).
    let cli = target_dir.join("wasm32-wasip2/guest/forest-cli.wasm");
    println!(
        "cargo:rustc-env=WASM_FOREST_CLI_COMPONENT={}",
        cli.display()
    );
    // A misbehaving component for the sandbox tests (see guest/chaos).
    let chaos = target_dir.join("wasm32-wasip2/guest/wasm_forest_chaos_guest.wasm");
    println!(
        "cargo:rustc-env=WASM_FOREST_CHAOS_COMPONENT={}",
        chaos.display()
    );
}
