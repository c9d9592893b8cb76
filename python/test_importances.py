"""Feature importances of the sandboxed forest against scikit-learn's own
`feature_importances_` (pytest; host/tests/importances.rs runs it with
WASM_FOREST_BIN pointing at the wasm-forest binary).

- Without bootstrap and with every feature examined, `exact` grows
  scikit-learn's trees wherever no two splits tie, so the importances agree
  to 1e-6. Ties do occur in small nodes, where two features can cut the
  same rows into the same two groups (on this data with 5-row leaves: a
  node of 11 rows, cut alike by features 1 and 5; each side keeps the one
  its random order meets first), so the leaves here hold 10 rows or more.
- With bootstrap the trees are drawn differently, so the forests differ;
  over 5 seeds each, the mean importances must agree within 4 standard
  errors of the difference of two means of 5 (computed from both sides'
  spread over the seeds). Measured on diabetes, 100 trees: every splitter
  within 1.5 standard errors (0.003 at most), so 4 leaves room without
  letting a systematic bias through (a bias of 0.01 on bmi, sd 0.007, is
  2.3 standard errors).
"""

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_friedman1
from sklearn.ensemble import RandomForestRegressor

REPO = Path(__file__).resolve().parent.parent


def _importances(cli, tmp_path, train, *flags, workers=2):
    model = tmp_path / "m.bin"
    done = subprocess.run([cli, "--workers", str(workers), "train", "--train", str(train),
                           "--out", str(model), *flags],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([cli, "info", "--json", str(model)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return np.array([f["importance"] for f in json.loads(done.stdout)["feature_importances"]])


@pytest.fixture(scope="module")
def friedman(tmp_path_factory):
    x, y = make_friedman1(n_samples=400, n_features=10, noise=1.0, random_state=0)
    path = tmp_path_factory.mktemp("data") / "friedman1.csv"
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(10)])
    frame["target"] = y
    frame.to_csv(path, index=False, float_format="%.9g")
    back = pd.read_csv(path)
    return path, back.drop(columns="target").values, back["target"].values


NO_BOOTSTRAP = ["--bootstrap", "false", "--max-features", "all", "--max-depth", "6",
                "--min-samples-leaf", "10", "--n-estimators", "3", "--seed", "1"]


@pytest.mark.parametrize("splitter", ["exact", "auto", "sklearn"])
def test_importances_are_sklearns_where_no_split_ties(cli, tmp_path, friedman, splitter):
    path, x, y = friedman
    theirs = RandomForestRegressor(n_estimators=3, bootstrap=False, max_features=1.0,
                                   max_depth=6, min_samples_leaf=10, random_state=1).fit(x, y)
    ours = _importances(cli, tmp_path, path, *NO_BOOTSTRAP, "--splitter", splitter)
    np.testing.assert_allclose(ours, theirs.feature_importances_, rtol=0, atol=1e-6)


@pytest.mark.parametrize("splitter", ["exact", "hist", "auto", "level"])
def test_importances_with_bootstrap_agree_within_the_spread_over_seeds(cli, tmp_path, splitter):
    train = REPO / "data" / "diabetes_train.csv"
    frame = pd.read_csv(train)
    x, y = frame.drop(columns="target").values, frame["target"].values
    seeds = range(5)
    theirs = np.array([RandomForestRegressor(n_estimators=100, max_depth=16, random_state=s)
                       .fit(x, y).feature_importances_ for s in seeds])
    ours = np.array([_importances(cli, tmp_path, train, "--n-estimators", "100", "--max-depth",
                                  "16", "--seed", str(s), "--splitter", splitter)
                     for s in seeds])
    se = np.sqrt(ours.var(axis=0, ddof=1) / 5 + theirs.var(axis=0, ddof=1) / 5)
    diff = np.abs(ours.mean(axis=0) - theirs.mean(axis=0))
    assert np.all(diff <= 4 * se), f"|difference| {diff} > 4 × standard error {se}"


def test_importances_do_not_depend_on_the_worker_count(cli, tmp_path, friedman):
    path, _, _ = friedman
    flags = ["--n-estimators", "7", "--seed", "3", "--splitter", "hist"]
    one = _importances(cli, tmp_path, path, *flags, workers=1)
    for workers in (2, 3):
        assert np.array_equal(_importances(cli, tmp_path, path, *flags, workers=workers), one)
