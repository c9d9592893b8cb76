"""`wasm-forest importance` against scikit-learn's own
`sklearn.inspection.permutation_importance` on the same model: the same
shuffles (numpy's, from the same seed) and the same predictions, so the
same importances, to rounding (numpy sums R²'s squares pairwise)."""

import json
import subprocess

import numpy as np
import pytest
from sklearn.inspection import permutation_importance

from wasm_forest import RandomForestRegressor

from conftest import REPO


@pytest.mark.parametrize("repeats, seed", [(5, 42), (3, 0)])
def test_importance_is_scikit_learns_permutation_importance(cli, diabetes, tmp_path, repeats, seed):
    X, y, X_test, y_test = diabetes
    model = tmp_path / "m.bin"
    RandomForestRegressor(n_estimators=50, max_depth=8, random_state=1).fit(X, y).save(model)
    out = tmp_path / "importance.json"
    run = subprocess.run(
        [cli, "importance", "--model", model, "--input", REPO / "data" / "diabetes_test.csv",
         "--repeats", str(repeats), "--seed", str(seed), "--json", out, "--workers", "2"],
        capture_output=True, text=True, check=True,
    )
    ours = json.loads(out.read_text())
    theirs = permutation_importance(
        RandomForestRegressor.load(model), X_test, y_test, n_repeats=repeats, random_state=seed
    )
    by_name = {row["feature"]: row for row in ours["importances"]}
    assert list(by_name) == sorted(by_name, key=lambda f: -by_name[f]["mean"])
    for i, name in enumerate(X.columns):
        row = by_name[name]
        np.testing.assert_allclose(row["importances"], theirs.importances[i], rtol=0, atol=1e-12)
        np.testing.assert_allclose(row["mean"], theirs.importances_mean[i], rtol=0, atol=1e-12)
        np.testing.assert_allclose(row["std"], theirs.importances_std[i], rtol=0, atol=1e-12)
    # The printed table: ranked, mean ± std, one line per feature.
    lines = run.stdout.splitlines()
    assert lines[0].startswith(f"Permutation importance on {REPO / 'data' / 'diabetes_test.csv'} (89 rows;")
    top = max(by_name.values(), key=lambda r: r["mean"])
    assert lines[1].split() == [top["feature"], f"{top['mean']:.4f}", "±", f"{top['std']:.4f}"]
    assert len(lines) == 1 + 10 + 1
