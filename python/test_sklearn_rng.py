"""The `forest::sklearn` port grows scikit-learn's very trees.

Runs the `sklearn_trees` example (its path in SKLEARN_TREES_BIN, built with
`cargo build -p wasm-forest-core --release --example sklearn_trees`) and
`sklearn.ensemble.RandomForestRegressor` with the same `random_state` and
keywords on the same CSV files, and compares node for node: the tree seeds,
node counts, the tree shape (which nodes are leaves, right children),
features, thresholds (ours is the largest float32 not above scikit-learn's
float64 threshold, so every float32 input is routed alike; +inf where only
the missing values go right), where each split sends missing values
(`missing_go_to_left`), node values and the forest's test predictions
(within 1e-9 relative). Some data sets miss values (NaN, `nan` in the CSV
files) in training and test rows alike.

    SKLEARN_TREES_BIN=target/release/examples/sklearn_trees \
        python3 -m pytest python/test_sklearn_rng.py

Set SKLEARN_RNG_REPORT=<file> to append one line per case (the largest
prediction difference) to that file.
"""

import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_friedman1, make_friedman2, make_friedman3
from sklearn.ensemble import RandomForestRegressor

DATA = Path(__file__).resolve().parent.parent / "data"
REL = 1e-9
# On x86-64 scikit-learn's compiled trees do plain IEEE double arithmetic (no
# fused multiply-add), as the port does: there node values and predictions
# must agree to the last bit, which shows that rows are summed in the same
# order. Elsewhere only the 1e-9 bound is asserted.
BITWISE = platform.machine().lower() in ("x86_64", "amd64")


@pytest.fixture(scope="module")
def binary():
    path = os.environ.get("SKLEARN_TREES_BIN")
    if not path:
        pytest.fail(
            "SKLEARN_TREES_BIN is not set: build the example with "
            "`cargo build -p wasm-forest-core --release --example sklearn_trees` "
            "and point SKLEARN_TREES_BIN at it"
        )
    if not os.access(path, os.X_OK):
        pytest.fail(f"SKLEARN_TREES_BIN={path} is not an executable file")
    return path


def _write(path, x, y):
    header = ",".join([f"x{i}" for i in range(x.shape[1])] + ["target"])
    # %.17g round-trips every float64, so both sides read the same numbers.
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", header=header,
               comments="", fmt="%.17g")


def _split(x, y, n_train):
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


def _friedman(make, **kw):
    x, y = make(n_samples=400, random_state=0, **kw)
    return _split(x, y, 300)


def _rounded():
    # Many repeated values: features rounded to one decimal (11 distinct
    # values each), integer-valued columns and a target with ties.
    x, y = make_friedman1(n_samples=400, noise=1.0, random_state=1)
    x = np.round(x, 1)
    x[:, 5] = np.floor(x[:, 5] * 3)
    y = np.round(y)
    return _split(x, y, 300)


def _constant():
    # A constant column, near-constant ones (two float32 values closer than
    # FEATURE_THRESHOLD = 1e-7; 1 and the next float32, 1.19e-7 apart, are
    # "constant" only because 1 + 1e-7 rounds up in float32 arithmetic), a
    # binary one (constant below any split on it) and informative columns.
    rng = np.random.RandomState(2)
    n = 400
    informative = rng.rand(n, 3)
    constant = np.full(n, 0.25)
    near = np.where(rng.rand(n) < 0.5, 0.01, 0.01 + 5e-8)
    binary = (rng.rand(n) < 0.3).astype(float)
    one_ulp = np.where(rng.rand(n) < 0.5, 1.0, float(np.nextafter(np.float32(1), np.float32(2))))
    x = np.column_stack([informative[:, 0], constant, near, binary,
                         informative[:, 1], one_ulp, informative[:, 2]])
    assert np.float32(0.01) != np.float32(0.01 + 5e-8)
    y = 3 * x[:, 0] + 2 * x[:, 3] + np.sin(6 * x[:, 4]) + 0.1 * rng.randn(n)
    return _split(x, y, 300)


def _ties():
    # Few distinct feature values (ties everywhere) and targets of very
    # different magnitudes: the order a sort leaves tied rows in changes the
    # rounding of every sum over them, so an order unlike scikit-learn's
    # shows in the node values' last bits.
    rng = np.random.RandomState(3)
    n = 400
    x = rng.randint(0, 4, size=(n, 5)).astype(float)
    x[:, 4] = rng.randint(0, 2, size=n) * 0.5
    y = rng.randn(n) * 10.0 ** rng.uniform(-3, 3, size=n) + x[:, 0]
    return _split(x, y, 300)


def _diabetes():
    return tuple(_load(DATA / f"diabetes_{part}.csv") for part in ("train", "test"))


def _with_missing(make, features, fraction, seed):
    """`make()`'s split with a `fraction` of the values of `features` (in
    training and test rows alike) replaced by NaN, drawn from
    RandomState(seed)."""
    (xtr, ytr), (xte, yte) = make()
    x = np.vstack([xtr, xte])
    rng = np.random.RandomState(seed)
    for f in features:
        x[rng.rand(len(x)) < fraction, f] = np.nan
    assert np.isnan(x[: len(xtr), features]).any(axis=0).all()
    return (x[: len(xtr)], ytr), (x[len(xtr):], yte)


def _all_missing():
    # A feature missing in every row (constant wherever it is drawn; the
    # depth-first builder's children then know it) beside informative ones
    # that miss 20% of theirs.
    (xtr, ytr), (xte, yte) = _with_missing(
        lambda: _friedman(make_friedman1, noise=1.0), [0, 3], 0.2, 31)
    xtr[:, 2], xte[:, 2] = np.nan, np.nan
    return (xtr, ytr), (xte, yte)


def _present_constant():
    # Features whose present values are all equal, missing in some rows: not
    # constant (a split sends the missing ones apart, threshold +inf), and
    # the target depends on whether they are missing. Column 5 has a single
    # present value in training.
    rng = np.random.RandomState(32)
    n = 400
    x = rng.rand(n, 6)
    x[:, 1] = np.where(rng.rand(n) < 0.3, np.nan, 0.5)
    x[:, 3] = np.where(rng.rand(n) < 0.6, np.nan, -2.0)
    x[:, 5] = np.nan
    x[[7, 300], 5] = 1.0
    x[rng.rand(n) < 0.1, 4] = np.nan
    y = (3 * x[:, 0] + 2 * np.isnan(x[:, 1]) - np.isnan(x[:, 3]) + np.nan_to_num(x[:, 4])
         + 0.1 * rng.randn(n))
    return _split(x, y, 300)


DATASETS = {
    "friedman1": lambda: _friedman(make_friedman1, noise=1.0),
    "friedman2": lambda: _friedman(make_friedman2, noise=5.0),
    "friedman3": lambda: _friedman(make_friedman3, noise=0.1),
    "rounded": _rounded,
    "constant": _constant,
    "ties": _ties,
    # Missing values: 10% or 50% of some features, MCAR.
    "diabetes_nan10": lambda: _with_missing(_diabetes, [0, 2, 3, 8], 0.1, 21),
    "diabetes_nan50": lambda: _with_missing(_diabetes, [1, 2, 6, 8, 9], 0.5, 22),
    "friedman1_nan10": lambda: _with_missing(
        lambda: _friedman(make_friedman1, noise=1.0), [0, 1, 3, 7], 0.1, 23),
    "friedman1_nan50": lambda: _with_missing(
        lambda: _friedman(make_friedman1, noise=1.0), [1, 3, 4, 5], 0.5, 24),
    "all_missing": _all_missing,
    "present_constant": _present_constant,
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """name -> (train csv, test csv)."""
    out = {"diabetes": (DATA / "diabetes_train.csv", DATA / "diabetes_test.csv")}
    root = tmp_path_factory.mktemp("sklearn_rng")
    for name, make in DATASETS.items():
        (xtr, ytr), (xte, yte) = make()
        out[name] = (root / f"{name}_train.csv", root / f"{name}_test.csv")
        _write(out[name][0], xtr, ytr)
        _write(out[name][1], xte, yte)
    return out


def _load(path):
    a = np.loadtxt(path, delimiter=",", skiprows=1)
    return a[:, :-1], a[:, -1]


def _flag(value):
    if value is None:
        return "none"
    if isinstance(value, float):
        return repr(value)  # "1.0" and "0.5" are fractions to both sides
    return str(value)


# (data set, random_state, n_estimators, RandomForestRegressor keywords)
CASES = [
    ("diabetes", 0, 30, {}),
    ("diabetes", 7, 20, {"bootstrap": False, "max_features": "sqrt"}),
    ("diabetes", 1, 30, {"max_features": 3, "min_samples_leaf": 5}),
    ("diabetes", 2, 30, {"max_features": 0.5, "max_samples": 0.3, "max_depth": 16}),
    ("diabetes", 3, 20, {"max_features": "log2", "min_samples_split": 10}),
    ("diabetes", 4294967295, 20, {"max_features": 1.0, "max_samples": 150}),
    ("friedman1", 0, 30, {}),
    ("friedman1", 11, 20, {"bootstrap": False, "max_features": "sqrt", "max_depth": 16}),
    ("friedman1", 12, 20, {"bootstrap": False, "max_features": 1.0, "min_samples_leaf": 5}),
    ("friedman2", 5, 30, {"max_samples": 0.7, "min_samples_leaf": 5}),
    ("friedman2", 6, 20, {"max_features": 2, "max_depth": 16}),
    ("friedman3", 9, 30, {"max_features": 0.3, "max_depth": 16}),
    ("friedman3", 10, 20, {"bootstrap": False, "max_features": 0.6}),
    ("rounded", 4, 30, {}),
    ("rounded", 13, 30, {"bootstrap": False, "max_features": 2}),
    ("rounded", 14, 30, {"max_features": "sqrt", "min_samples_leaf": 5, "max_samples": 0.8}),
    ("constant", 8, 30, {}),
    ("constant", 15, 30, {"bootstrap": False, "max_features": 1}),
    ("constant", 16, 30, {"max_features": 2, "max_depth": 16, "min_samples_leaf": 5}),
    ("constant", 17, 20, {"max_features": 0.5, "max_samples": 0.559}),
    ("ties", 18, 30, {}),
    ("ties", 19, 30, {"bootstrap": False, "max_features": 2}),
    ("ties", 20, 30, {"max_features": "sqrt", "max_depth": 16, "min_samples_leaf": 5}),
    # The leaf limits: scikit-learn's min_weight_leaf from the bootstrap
    # counts, min_impurity_decrease's test, and best-first growth (its
    # frontier's ties included: "ties" and "rounded" have many).
    ("diabetes", 21, 20, {"min_weight_fraction_leaf": 0.02}),
    ("diabetes", 22, 20, {"bootstrap": False, "min_weight_fraction_leaf": 0.1,
                          "max_features": 0.5}),
    ("diabetes", 23, 20, {"min_impurity_decrease": 30.0}),
    ("diabetes", 24, 20, {"max_leaf_nodes": 20}),
    ("diabetes", 25, 20, {"max_leaf_nodes": 2, "max_features": "sqrt"}),
    ("friedman1", 26, 20, {"max_leaf_nodes": 50, "min_weight_fraction_leaf": 0.01,
                           "max_depth": 6}),
    ("friedman2", 27, 20, {"max_leaf_nodes": 30, "min_impurity_decrease": 50.0}),
    ("rounded", 28, 20, {"max_leaf_nodes": 40, "bootstrap": False, "max_features": 3}),
    ("ties", 29, 20, {"max_leaf_nodes": 64, "max_features": 2}),
    ("constant", 30, 20, {"max_leaf_nodes": 16, "min_weight_fraction_leaf": 0.05}),
    # Missing values: both searches (missing right, then left), the split
    # that sends only them right, and where partitions leave them.
    ("diabetes_nan10", 31, 30, {}),
    ("diabetes_nan10", 32, 20, {"bootstrap": False, "max_features": "sqrt"}),
    ("diabetes_nan50", 33, 30, {"max_features": "sqrt"}),
    ("diabetes_nan50", 34, 20, {"bootstrap": False, "max_features": 1.0}),
    ("diabetes_nan50", 35, 20, {"min_samples_leaf": 5}),
    ("friedman1_nan10", 36, 30, {}),
    ("friedman1_nan10", 37, 20, {"bootstrap": False, "max_features": "sqrt", "max_depth": 16}),
    ("friedman1_nan50", 38, 30, {"max_features": "sqrt", "min_samples_leaf": 5}),
    ("friedman1_nan50", 39, 20, {"bootstrap": False}),
    ("all_missing", 40, 30, {}),
    ("all_missing", 41, 30, {"bootstrap": False, "max_features": "sqrt"}),
    ("present_constant", 42, 30, {}),
    ("present_constant", 43, 30, {"bootstrap": False, "max_features": "sqrt"}),
    ("diabetes_nan10", 44, 20, {"max_leaf_nodes": 30}),
    ("friedman1_nan50", 45, 20, {"max_leaf_nodes": 40, "bootstrap": False,
                                 "max_features": "sqrt"}),
    ("diabetes_nan10", 46, 20, {"min_weight_fraction_leaf": 0.02, "max_features": "sqrt"}),
    # Sample weights (see _sample_weight): with bootstrap they choose the
    # draws (scikit-learn >= 1.9), without they weigh the rows; a row of
    # weight 0 takes no part.
    ("diabetes", 47, 30, {"sample_weight": "real"}),
    ("diabetes", 48, 20, {"sample_weight": "real", "bootstrap": False, "max_features": "sqrt"}),
    ("diabetes", 49, 20, {"sample_weight": "integer", "max_samples": 0.5}),
    ("friedman1", 50, 20, {"sample_weight": "integer", "bootstrap": False,
                           "min_weight_fraction_leaf": 0.05}),
    ("diabetes_nan10", 51, 20, {"sample_weight": "real", "bootstrap": False,
                                "min_impurity_decrease": 10.0}),
    ("rounded", 52, 20, {"sample_weight": "real", "bootstrap": False, "max_leaf_nodes": 30}),
]


def _sample_weight(kind, n):
    """Weights for n training rows: "integer" 0 to 3, "real" uniform in
    [0.1, 3) with a tenth of them 0."""
    rng = np.random.RandomState(2026)
    if kind == "integer":
        return rng.randint(0, 4, n).astype(np.float64)
    w = rng.uniform(0.1, 3.0, n)
    w[rng.rand(n) < 0.1] = 0.0
    return w


def _flags(kw):
    names = {
        "max_depth": "--max-depth",
        "min_samples_split": "--min-samples-split",
        "min_samples_leaf": "--min-samples-leaf",
        "max_features": "--max-features",
        "bootstrap": "--bootstrap",
        "max_samples": "--max-samples",
        "min_weight_fraction_leaf": "--min-weight-fraction-leaf",
        "min_impurity_decrease": "--min-impurity-decrease",
        "max_leaf_nodes": "--max-leaf-nodes",
    }
    out = []
    for key, value in kw.items():
        out += [names[key], "true" if value is True else "false" if value is False else _flag(value)]
    return out


def _run(binary, train, test, seed, n_estimators, kw, trees=True, weights=None):
    cmd = [binary, "--train", str(train), "--test", str(test), "--seed", str(seed),
           "--n-estimators", str(n_estimators), *_flags(kw)]
    if trees:
        cmd.append("--trees")
    with tempfile.TemporaryDirectory() as tmp:
        if weights is not None:
            path = Path(tmp) / "sample_weight.txt"
            np.savetxt(path, weights, fmt="%.17g")
            cmd += ["--sample-weight", str(path)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _float32_at_most(t):
    f = np.float32(t)
    if float(f) > t:
        f = np.nextafter(f, np.float32(-np.inf))
    return int(np.array(f, dtype=np.float32).view(np.uint32))


class _PreOrder:
    """A scikit-learn tree's arrays in pre-order, left child first: the
    depth-first builder numbers its nodes so already; the best-first one
    numbers them as it makes them, and ours are renumbered."""

    def __init__(self, t):
        order, stack = [], [0]
        while stack:
            j = stack.pop()
            order.append(j)
            if t.children_left[j] != -1:
                stack += [t.children_right[j], t.children_left[j]]
        new = np.empty(t.node_count, dtype=np.int64)
        new[order] = np.arange(t.node_count)
        order = np.asarray(order)
        left, right = t.children_left[order], t.children_right[order]
        self.children_left = np.where(left == -1, -1, new[left])
        self.children_right = np.where(right == -1, -1, new[right])
        self.feature = t.feature[order]
        self.threshold = t.threshold[order]
        self.missing_go_to_left = t.missing_go_to_left[order].astype(bool)
        self.value = t.value[order]
        self.node_count = t.node_count


def _compare_tree(i, est, ours):
    t = _PreOrder(est.tree_)
    n = t.node_count
    leaf = t.children_left == -1
    right = np.asarray(ours["right"])
    assert np.array_equal(right == -1, leaf), f"tree {i}: leaves differ"
    inner = np.flatnonzero(~leaf)
    assert np.array_equal(t.children_left[inner], inner + 1), f"tree {i}"
    assert np.array_equal(right[inner], t.children_right[inner]), f"tree {i}: right children"
    feature = np.asarray(ours["feature"])
    assert np.array_equal(feature[inner], t.feature[inner]), f"tree {i}: features"
    bits = [_float32_at_most(float(t.threshold[j])) for j in inner]
    assert np.array_equal(np.asarray(ours["threshold_bits"])[inner], bits), f"tree {i}: thresholds"
    # A leaf's direction is whatever scikit-learn's node array held: only
    # the splits' are compared.
    missing_left = np.asarray(ours["missing_left"], dtype=bool)
    assert np.array_equal(missing_left[inner], t.missing_go_to_left[inner]), \
        f"tree {i}: missing_go_to_left"
    assert not missing_left[leaf].any(), f"tree {i}: a leaf with a missing-value direction"
    value = t.value[:, 0, 0]
    np.testing.assert_allclose(np.asarray(ours["value"]), value, rtol=REL, atol=0,
                               err_msg=f"tree {i}: node values")
    if BITWISE:
        assert np.array_equal(np.asarray(ours["value"]), value), f"tree {i}: node value bits"
    assert len(right) == n


def _report(line):
    path = os.environ.get("SKLEARN_RNG_REPORT")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


def _check(binary, files, name, seed, n_estimators, kw, trees=True):
    train, test = files[name]
    xtr, ytr = _load(train)
    xte, yte = _load(test)
    kw = dict(kw)
    kind = kw.pop("sample_weight", None)
    weights = None if kind is None else _sample_weight(kind, len(ytr))
    forest = RandomForestRegressor(n_estimators=n_estimators, random_state=seed,
                                   criterion="squared_error", **kw).fit(xtr, ytr,
                                                                        sample_weight=weights)
    expected = forest.predict(xte)
    ours = _run(binary, train, test, seed, n_estimators, kw, trees, weights)
    assert ours["tree_seeds"] == [e.random_state for e in forest.estimators_]
    assert ours["node_counts"] == [e.tree_.node_count for e in forest.estimators_]
    if trees:
        for i, (est, tree) in enumerate(zip(forest.estimators_, ours["trees"])):
            _compare_tree(i, est, tree)
    # The same trees, so the same importances (the same sums, added in
    # another order).
    np.testing.assert_allclose(ours["importances"], forest.feature_importances_, rtol=0,
                               atol=1e-12)
    got = np.asarray(ours["predictions"])
    np.testing.assert_allclose(got, expected, rtol=REL, atol=0)
    if BITWISE:
        assert np.array_equal(got, expected), "prediction bits"
    diff = float(np.max(np.abs(got - expected)))
    mse = float(np.mean((expected - yte) ** 2))
    _report(json.dumps({"data": name, "seed": seed, "n_estimators": n_estimators, "params": kw,
                        "nodes": int(sum(ours["node_counts"])), "max_abs_diff": diff,
                        "sklearn_mse": mse, "ours_mse": ours["mse"],
                        "ours_seconds": ours["seconds"]}))
    return ours, mse


@pytest.mark.parametrize(
    "name,seed,n_estimators,kw", CASES,
    ids=[f"{c[0]}-s{c[1]}-{'-'.join(f'{k}={v}' for k, v in c[3].items()) or 'defaults'}"
         for c in CASES])
def test_same_trees_as_sklearn(binary, files, name, seed, n_estimators, kw):
    _check(binary, files, name, seed, n_estimators, kw)


def test_diabetes_seed_42_benchmark(binary, files):
    """The benchmark forest: 200 trees, max_depth 16, random_state 42."""
    ours, mse = _check(binary, files, "diabetes", 42, 200, {"max_depth": 16})
    assert abs(mse - 2975.71) < 0.01, mse
    assert ours["mse"] == pytest.approx(mse, rel=REL)


# -- the product path: `wasm-forest train --splitter sklearn` in the sandbox --

CLI_CASES = [
    ("diabetes", 42, 200, {"max_depth": 16}),
    ("friedman1", 11, 20, {"bootstrap": False, "max_features": "sqrt", "max_depth": 16}),
    ("constant", 17, 20, {"max_features": 0.5, "max_samples": 0.559}),
    ("ties", 20, 30, {"max_features": "sqrt", "max_depth": 16, "min_samples_leaf": 5}),
]


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("name,seed,n_estimators,kw", CLI_CASES,
                         ids=[f"{c[0]}-s{c[1]}" for c in CLI_CASES])
def test_cli_splitter_sklearn_predicts_as_sklearn(cli, files, tmp_path, workers, name, seed,
                                                  n_estimators, kw):
    """The model trained in the sandbox (any worker count) and its
    predictions, read back from `wasm-forest predict`, are scikit-learn's."""
    train, test = files[name]
    xtr, ytr = _load(train)
    xte, _ = _load(test)
    theirs = RandomForestRegressor(n_estimators=n_estimators, random_state=seed, **kw)
    expected = theirs.fit(xtr, ytr).predict(xte)
    model, out = tmp_path / "m.bin", tmp_path / "p.csv"
    run = lambda *args: subprocess.run([cli, "--workers", str(workers), *args],  # noqa: E731
                                       capture_output=True, text=True, timeout=300)
    done = run("train", "--train", str(train), "--out", str(model), "--splitter", "sklearn",
               "--seed", str(seed), "--n-estimators", str(n_estimators), *_flags(kw))
    assert done.returncode == 0, done.stderr
    done = run("info", "--json", str(model))
    assert done.returncode == 0, done.stderr
    importances = [f["importance"] for f in json.loads(done.stdout)["feature_importances"]]
    np.testing.assert_allclose(importances, theirs.feature_importances_, rtol=0, atol=1e-12)
    done = run("predict", "--model", str(model), "--input", str(test), "--out", str(out))
    assert done.returncode == 0, done.stderr
    got = np.loadtxt(out, delimiter=",", skiprows=1)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=REL, atol=0)
    if BITWISE:
        # `predict` prints the shortest text that reads back as the same f64.
        assert np.array_equal(got, expected), float(np.max(np.abs(got - expected)))
