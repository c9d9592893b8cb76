//! Builds the guest component for wasm32-wasip2 and hands its path to the host
//! (`include_bytes!(env!("WASM_FOREST_COMPONENT"))`), so one `cargo build` or
//! `cargo run` produces a self-contained host binary.
//!
//! The guest is built by a nested cargo with its own target directory (the
//! outer cargo holds the lock on the main one) and the `guest` profile, which
//! is optimised whatever the host's profile.

use std::env;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The target the guest is built for.
const GUEST_TARGET: &str = "wasm32-wasip2";

/// Is `target`'s standard library installed for the rustc cargo uses? rustc
/// prints the directory it would look in whether or not it exists, so the
/// directory is checked for `core`.
fn target_installed(target: &str) -> bool {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(out) = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", target])
        .output()
    else {
        // No rustc to ask: let the guest build say what is wrong.
        return true;
    };
    let libdir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    out.status.success()
        && std::fs::read_dir(&libdir).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with("libcore-") && name.ends_with(".rlib")
            })
        })
}

fn main() {
    // First thing: without the target the nested build would compile the
    // guest's host-side dependencies for minutes before failing.
    if !target_installed(GUEST_TARGET) {
        println!(
            "cargo::error=the {GUEST_TARGET} target (the Rust standard library for WebAssembly \
             components) is not installed for this toolchain; install it with: \
             rustup target add {GUEST_TARGET}"
        );
        return;
    }
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    for dir in ["guest", "forest", "cli-common", "wit"] {
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
    // Two builds, because features unify across the packages of one build:
    // the command component's dependencies turn on `std` features (serde's,
    // through csv) that would link std into the no_std library.
    for packages in [
        &["wasm-forest-guest", "wasm-forest-chaos-guest"][..],
        &["wasm-forest-cli-guest"],
    ] {
        build_guest(&cargo, &root, &target_dir, packages);
    }
    let wasm = target_dir.join("wasm32-wasip2/guest/wasm_forest_guest.wasm");
    assert!(
        wasm.exists(),
        "the guest build reported success but {} is missing",
        wasm.display()
    );
    println!("cargo:rustc-env=WASM_FOREST_COMPONENT={}", wasm.display());
    // The command component for the plain wasmtime CLI (guest/cli).
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

/// Builds `packages` for the guest target with the `guest` profile.
fn build_guest(cargo: &OsStr, root: &Path, target_dir: &Path, packages: &[&str]) {
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root).arg("build");
    for package in packages {
        cmd.args(["--package", package]);
    }
    cmd.args(["--target", GUEST_TARGET, "--profile", "guest"])
        .arg("--target-dir")
        .arg(target_dir);
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
}
