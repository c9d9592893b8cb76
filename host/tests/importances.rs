//! Feature importances against scikit-learn's own (python/test_importances.py,
//! pytest, through this binary's `train` and `info --json`). Without python3 +
//! scikit-learn + pandas + pytest it is skipped with the reason printed,
//! unless WASM_FOREST_REQUIRE_PYTHON=1 (CI sets it) makes that a failure.

#[path = "support/python.rs"]
mod support;

#[test]
fn importances_agree_with_scikit_learns() {
    let hint = "pip install -r python/requirements.txt pytest";
    let test = "importances_agree_with_scikit_learns";
    if !support::available(test, "sklearn, numpy, pandas, pytest", hint) {
        return;
    }
    support::pytest("python/test_importances.py", &[], 8);
}
