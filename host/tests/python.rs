//! Runs the Python reference's own tests (python/test_reference.py) as part of
//! `cargo test`. Without python3 + scikit-learn they are skipped with the
//! reason printed, unless WASM_FOREST_REQUIRE_PYTHON=1 (CI sets it) makes that
//! a failure.

use std::path::Path;
use std::process::Command;

fn python() -> String {
    std::env::var("WASM_FOREST_PYTHON").unwrap_or_else(|_| "python3".into())
}

#[test]
fn python_reference_tests() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let probe = Command::new(python())
        .args(["-c", "import sklearn, numpy"])
        .output();
    let missing = match &probe {
        Err(e) => Some(format!("{} cannot be run: {e}", python())),
        Ok(o) if !o.status.success() => Some(format!(
            "scikit-learn does not import: {}",
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or_default()
        )),
        Ok(_) => None,
    };
    if let Some(reason) = missing {
        assert!(
            std::env::var("WASM_FOREST_REQUIRE_PYTHON").is_err(),
            "WASM_FOREST_REQUIRE_PYTHON is set but {reason}"
        );
        eprintln!(
            "SKIPPED python_reference_tests: {reason} (pip install -r python/requirements.txt)"
        );
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
