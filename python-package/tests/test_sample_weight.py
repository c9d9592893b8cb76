"""``fit(X, y, sample_weight=...)`` as scikit-learn >= 1.9 weighs rows: with
``splitter="sklearn"`` the very trees, predictions and out-of-bag figures
of scikit-learn; the CLI's ``--weight`` column gives the same bytes; integer
weights are repeated rows and zero weights dropped rows (without
bootstrap); the other splitters' error stays near scikit-learn's."""

import math
import subprocess

import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor as SkForest

from conftest import REPO
from wasm_forest import RandomForestRegressor


def _weights(n, kind, seed=0):
    rng = np.random.RandomState(seed)
    if kind == "integer":
        return rng.randint(0, 4, n).astype(np.float64)
    w = rng.uniform(0.1, 3.0, n)
    w[rng.rand(n) < 0.1] = 0.0
    return w


# Heavy rows are drawn by every one of a few trees: both sides warn alike.
@pytest.mark.filterwarnings("ignore:Some inputs do not have OOB scores")
@pytest.mark.parametrize("kw", [
    {},
    {"bootstrap": False, "max_features": "sqrt"},
    {"max_samples": 0.5, "min_weight_fraction_leaf": 0.02},
], ids=["defaults", "no-bootstrap", "max_samples-fraction"])
def test_splitter_sklearn_fits_scikit_learns_weighted_forest(diabetes, kw):
    X, y, X_test, _ = diabetes
    w = _weights(len(y), "real", 1)
    oob = kw.get("bootstrap", True)
    ours = RandomForestRegressor(
        n_estimators=30, random_state=3, splitter="sklearn", oob_score=oob, **kw
    ).fit(X, y, sample_weight=w)
    theirs = SkForest(n_estimators=30, random_state=3, oob_score=oob, **kw).fit(
        X, y, sample_weight=w
    )
    np.testing.assert_array_equal(ours.predict(X_test), theirs.predict(X_test))
    np.testing.assert_allclose(ours.feature_importances_, theirs.feature_importances_,
                               rtol=0, atol=1e-12)
    if oob:
        # The draws in proportion to the weights: the same rows left out.
        np.testing.assert_array_equal(ours.oob_prediction_, theirs.oob_prediction_)
        assert math.isclose(ours.oob_score_, theirs.oob_score_, rel_tol=0, abs_tol=1e-12)


def _repeated(X, y, w):
    idx = np.repeat(np.arange(len(y)), w.astype(int))
    return X.iloc[idx], y.iloc[idx]


@pytest.mark.parametrize("splitter", ["exact", "sklearn"])
def test_integer_weights_are_repeated_rows(diabetes, splitter):
    X, y, X_test, _ = diabetes
    w = _weights(len(y), "integer", 2)
    kw = {"n_estimators": 8, "bootstrap": False, "splitter": splitter, "random_state": 4}
    weighted = RandomForestRegressor(**kw).fit(X, y, sample_weight=w)
    repeated = RandomForestRegressor(**kw).fit(*_repeated(X, y, w))
    np.testing.assert_array_equal(weighted.predict(X_test), repeated.predict(X_test))


@pytest.mark.parametrize("splitter", ["exact", "auto", "sklearn"])
def test_zero_weights_are_dropped_rows(diabetes, splitter):
    X, y, X_test, _ = diabetes
    keep = np.random.RandomState(5).rand(len(y)) > 0.2
    kw = {"n_estimators": 8, "bootstrap": False, "max_features": 0.5, "splitter": splitter,
          "random_state": 6}
    weighted = RandomForestRegressor(**kw).fit(X, y, sample_weight=keep.astype(float))
    dropped = RandomForestRegressor(**kw).fit(X[keep], y[keep])
    assert weighted.model_bytes_ != dropped.model_bytes_  # the row count differs
    np.testing.assert_array_equal(weighted.predict(X_test), dropped.predict(X_test))


@pytest.mark.filterwarnings("ignore:Some inputs do not have OOB scores")
def test_the_cli_weight_column_gives_the_same_bytes(diabetes, cli, tmp_path):
    X, y, X_test, _ = diabetes
    w = _weights(len(y), "real", 7)
    est = RandomForestRegressor(n_estimators=6, random_state=8, oob_score=True)
    est.fit(X, y, sample_weight=w)
    train = tmp_path / "weighted.csv"
    X.assign(target=y, w=w).to_csv(train, index=False, float_format="%.17g")
    model = tmp_path / "cli.model"
    done = subprocess.run(
        [cli, "train", "--train", str(train), "--target", "target", "--weight", "w", "--out",
         str(model), "--seed", "8", "--n-estimators", "6", "--oob-score"],
        check=True, capture_output=True, text=True,
    )
    assert est.model_bytes_ == model.read_bytes()
    assert "weighted by 'w'" in done.stdout
    assert f"oob_score_): {est.oob_score_:.4f};" in done.stdout
    assert est._loaded.info()["sample_weight_total"] == pytest.approx(w.sum(), rel=1e-15)


def test_gpu_training_takes_weights_with_bootstrap(diabetes):
    """With bootstrap the weights choose the draws, and a tree weighs its
    rows by their draw counts, which the GPU's histograms hold: the CPU's
    bytes. Without bootstrap, splitter level refuses real weights."""
    X, y, _, _ = diabetes
    w = _weights(len(y), "real", 9)
    on = lambda device: RandomForestRegressor(  # noqa: E731
        n_estimators=4, splitter="level", device=device, random_state=2
    ).fit(X, y, sample_weight=w).model_bytes_
    assert on("gpu") == on("cpu")
    with pytest.raises(ValueError, match="splitter level .* takes sample weights only with bootstrap"):
        RandomForestRegressor(n_estimators=2, splitter="level", bootstrap=False).fit(
            X, y, sample_weight=w)


def test_bad_weights_get_scikit_learns_errors(diabetes):
    X, y, _, _ = diabetes
    est = RandomForestRegressor(n_estimators=2)
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        est.fit(X, y, sample_weight=np.r_[-1.0, np.ones(len(y) - 1)])
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(5,\), expected \(353,\)"):
        est.fit(X, y, sample_weight=np.ones(5))
    with pytest.raises(ValueError, match="Sample weights must contain at least one non-zero"):
        est.fit(X, y, sample_weight=np.zeros(len(y)))


def test_other_splitters_err_as_scikit_learn_does_with_weights(diabetes):
    """Their own draws and searches: test MSE, mean of 5 seeds, within 3% of
    scikit-learn's on the same weighted data (the spread of one seed's MSE
    is about 2%; the mean of five, under 1%)."""
    X, y, X_test, y_test = diabetes
    w = _weights(len(y), "real", 10)

    def mse(make):
        return np.mean([np.mean((make(s).fit(X, y, sample_weight=w).predict(X_test) - y_test) ** 2)
                        for s in range(5)])

    theirs = mse(lambda s: SkForest(n_estimators=100, random_state=s))
    for splitter in ["exact", "hist", "auto", "level"]:
        ours = mse(lambda s: RandomForestRegressor(n_estimators=100, random_state=s,
                                                   splitter=splitter))
        assert abs(ours / theirs - 1) < 0.03, (splitter, ours, theirs)
