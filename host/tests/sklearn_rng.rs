//! Splitter `sklearn` against scikit-learn itself (python/test_sklearn_rng.py,
//! pytest): the forest crate's port through its `sklearn_trees` example, node
//! for node, and this binary's `train --splitter sklearn` in the sandbox,
//! prediction for prediction. Without python3 + scikit-learn + pytest it is
//! skipped with the reason printed, unless WASM_FOREST_REQUIRE_PYTHON=1 (CI
//! sets it) makes that a failure.

use std::path::PathBuf;
use std::process::Command;

#[path = "support/cli.rs"]
mod cli;
#[path = "support/python.rs"]
mod support;
use cli::repo;

/// Builds the `sklearn_trees` example in this build's profile; its path.
fn example() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args([
            "build",
            "-q",
            "-p",
            "wasm-forest-core",
            "--example",
            "sklearn_trees",
        ])
        .current_dir(repo());
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    if profile == "release" {
        build.arg("--release");
    }
    let status = build.status().expect("cargo runs");
    assert!(
        status.success(),
        "building the sklearn_trees example failed"
    );
    // The binary's directory is the target directory's profile folder.
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_wasm-forest"));
    bin.parent()
        .unwrap()
        .join("examples")
        .join(format!("sklearn_trees{}", std::env::consts::EXE_SUFFIX))
}

#[test]
fn splitter_sklearn_grows_scikit_learns_trees() {
    let hint = "pip install -r python/requirements.txt pytest";
    if !support::available(
        "splitter_sklearn_grows_scikit_learns_trees",
        "sklearn, numpy, pytest",
        hint,
    ) {
        return;
    }
    let example = example();
    let envs = [("SKLEARN_TREES_BIN", example.as_os_str())];
    support::pytest("python/test_sklearn_rng.py", &envs, 64);
}
