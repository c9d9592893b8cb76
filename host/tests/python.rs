//! Runs the Python reference's own tests (python/test_reference.py) as part of
//! `cargo test`. Without python3 + scikit-learn they are skipped with the
//! reason printed, unless WASM_FOREST_REQUIRE_PYTHON=1 (CI sets it) makes that
//! a failure.

use std::path::Path;
use std::process::Command;

#[path = "support/python.rs"]
mod support;
use support::python;

#[test]
fn python_reference_tests() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let hint = "pip install -r python/requirements.txt";
    if !support::available("python_reference_tests", "sklearn, numpy", hint) {
        return;
    }
    let out = Command::new(python())
        .args(["-m", "unittest", "discover", "-s", "python", "-v"])
        .current_dir(repo)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    eprintln!("{text}");
    assert!(
        out.status.success(),
        "python reference tests failed:\n{text}"
    );
    assert!(
        text.contains("Ran 5 tests"),
        "expected the 5 reference tests to run:\n{text}"
    );
}
