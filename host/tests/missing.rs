//! Missing values: test MSE against scikit-learn's on the same data with
//! gaps (python/test_missing.py, pytest, through this binary's `train` and
//! `predict`). Without python3 + scikit-learn + pandas + pytest it is
//! skipped with the reason printed, unless WASM_FOREST_REQUIRE_PYTHON=1 (CI
//! sets it) makes that a failure.

#[path = "support/python.rs"]
mod support;

#[test]
fn mse_with_missing_values_is_scikit_learns() {
    let hint = "pip install -r python/requirements.txt pytest";
    let test = "mse_with_missing_values_is_scikit_learns";
    if !support::available(test, "sklearn, numpy, pandas, pytest", hint) {
        return;
    }
    support::pytest("python/test_missing.py", &[], 4);
}
