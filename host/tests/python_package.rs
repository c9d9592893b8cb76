//! Builds the Python package (python-package/, maturin + PyO3) as a wheel,
//! installs it into a directory of its own under target/, and runs its tests
//! (pytest: scikit-learn's estimator checks, the CLI interop, the sandbox's
//! limits) against the `wasm-forest` binary cargo built for this run.
//!
//! Needs python3 with python-package/requirements-test.txt installed;
//! without it the test is skipped with the reason printed, unless
//! WASM_FOREST_REQUIRE_PYTHON=1 (CI sets it) makes that a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "support/python.rs"]
mod support;
use support::python;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn run(cmd: &mut Command, what: &str) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// Builds the wheel (maturin, this build's profile, in the workspace's
/// target directory, so the host library's compiled dependencies are
/// reused) and unpacks it into a fresh site directory; returns that
/// directory.
fn install_wheel() -> PathBuf {
    let target = repo().join("target").join("python-package");
    let wheels = target.join("wheels");
    let site = target.join("site");
    let _ = std::fs::remove_dir_all(&wheels);
    let _ = std::fs::remove_dir_all(&site);
    let mut build = Command::new(python());
    build
        .args(["-m", "maturin", "build", "--out"])
        .arg(&wheels)
        .current_dir(repo().join("python-package"));
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    run(&mut build, "maturin build");
    let wheel = std::fs::read_dir(&wheels)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .expect("maturin wrote no wheel");
    run(
        Command::new(python())
            .args(["-m", "pip", "install", "--quiet", "--no-deps", "--target"])
            .arg(&site)
            .arg(&wheel),
        "pip install the wheel",
    );
    site
}

#[test]
fn python_package_tests() {
    let modules = "sklearn, numpy, pandas, pytest, tqdm, maturin, ray.data";
    let hint = "pip install -r python-package/requirements-test.txt";
    if !support::available("python_package_tests", modules, hint) {
        return;
    }
    let site = install_wheel();
    compare_runs_the_package(&site);
    let out = Command::new(python())
        .args(["-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"])
        .arg("python-package/tests")
        .current_dir(repo())
        .env("PYTHONPATH", &site)
        .env("WASM_FOREST_BIN", env!("CARGO_BIN_EXE_wasm-forest"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "python package tests failed");
    let summary = text.lines().last().unwrap_or_default();
    assert!(summary.contains(" passed"), "no test passed: {summary}");
    for skip in text.lines().filter(|l| l.starts_with("SKIPPED")) {
        assert!(
            allowed_skip(skip),
            "a test was skipped: {skip}\n(only scikit-learn's array-API check, which needs \
             SCIPY_ARRAY_API=1 and an estimator that declares array-API support, may be)"
        );
    }
}

/// `compare` runs the package as its `wasm-py` system when the Python it
/// starts imports it: the same model as the `wasm` row, so the same MSE.
fn compare_runs_the_package(site: &Path) {
    let dir = tempfile_dir();
    let json = dir.join("compare.json");
    run(
        Command::new(env!("CARGO_BIN_EXE_wasm-forest"))
            .args([
                "compare",
                "--repeat",
                "1",
                "--n-estimators",
                "10",
                "--no-gpu",
                "--json",
            ])
            .arg(&json)
            .arg("--model-out")
            .arg(dir.join("m.bin"))
            .current_dir(repo())
            .env("PYTHONPATH", site),
        "wasm-forest compare with wasm_forest importable",
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let mse = |system: &str| {
        report["systems"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["system"] == system)
            .unwrap_or_else(|| panic!("no {system} row in {report}"))["mse"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(mse("wasm-py"), mse("wasm"));
}

fn tempfile_dir() -> PathBuf {
    let dir = repo().join("target").join("python-package").join("compare");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Skips that are not ours to run: scikit-learn skips its array-API check
/// unless SCIPY_ARRAY_API is set; the GPU test where the machine is
/// declared GPU-less, as the Rust GPU tests do.
fn allowed_skip(line: &str) -> bool {
    line.contains("SCIPY_ARRAY_API is not set")
        || (line.contains("no GPU adapter")
            && std::env::var("WASM_FOREST_SKIP_GPU_TESTS").is_ok_and(|v| v == "1"))
}
