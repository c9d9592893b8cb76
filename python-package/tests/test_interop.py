"""The Python package and the wasm-forest CLI share one model format and one
training: the same seed gives the same bytes, and files cross both ways."""

import pickle
import subprocess

import numpy as np
import pytest

from conftest import REPO
from wasm_forest import ModelFileError, RandomForestRegressor

DIABETES_MSE = "2992.4867"  # the brief's workload: 200 trees, max_depth 16, seed 42


def cli_train(cli, out, *args):
    subprocess.run(
        [cli, "train", "--train", str(REPO / "data" / "diabetes_train.csv"), "--out", str(out), *args],
        check=True,
        capture_output=True,
    )
    return out.read_bytes()


def test_fit_gives_the_cli_model_bytes(diabetes, cli, tmp_path):
    X, y, X_test, y_test = diabetes
    model = RandomForestRegressor(n_estimators=200, max_depth=16, random_state=42).fit(X, y)
    expected = cli_train(cli, tmp_path / "cli.model", "--seed", "42", "--n-estimators", "200", "--max-depth", "16")
    assert model.model_bytes_ == expected
    assert f"{np.mean((model.predict(X_test) - y_test) ** 2):.4f}" == DIABETES_MSE


@pytest.mark.parametrize("workers", [1, 3])
def test_other_parameters_and_workers_give_the_cli_bytes(diabetes, cli, tmp_path, workers):
    X, y, _, _ = diabetes
    est = RandomForestRegressor(
        n_estimators=7, max_features="sqrt", min_samples_leaf=3, max_samples=0.5,
        splitter="exact", random_state=7, n_workers=workers,
    )
    expected = cli_train(
        cli, tmp_path / "cli.model", "--seed", "7", "--n-estimators", "7", "--max-features", "sqrt",
        "--min-samples-leaf", "3", "--max-samples", "0.5", "--splitter", "exact",
    )
    assert est.fit(X, y).model_bytes_ == expected


@pytest.mark.parametrize("kw", [
    {},
    {"max_features": "sqrt", "max_samples": 0.6, "min_samples_leaf": 3},
    {"max_leaf_nodes": 24, "min_weight_fraction_leaf": 0.01},
    {"min_impurity_decrease": 20.0, "max_features": 0.5},
])
def test_splitter_sklearn_predicts_what_scikit_learn_predicts(diabetes, kw):
    """splitter="sklearn" grows scikit-learn's very trees from the same
    int random_state: every prediction equal, to the last bit."""
    from sklearn.ensemble import RandomForestRegressor as SkForest

    X, y, X_test, _ = diabetes
    ours = RandomForestRegressor(n_estimators=25, max_depth=16, random_state=3, splitter="sklearn", **kw)
    theirs = SkForest(n_estimators=25, max_depth=16, random_state=3, **kw)
    expected = theirs.fit(X, y).predict(X_test)
    np.testing.assert_array_equal(ours.fit(X, y).predict(X_test), expected)
    assert ours.n_nodes_ == sum(e.tree_.node_count for e in theirs.estimators_)
    # The same trees, so the same importances (summed in another order).
    np.testing.assert_allclose(ours.feature_importances_, theirs.feature_importances_,
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("splitter", ["exact", "hist", "auto"])
def test_leaf_limits_give_the_cli_bytes(diabetes, cli, tmp_path, splitter):
    X, y, _, _ = diabetes
    est = RandomForestRegressor(
        n_estimators=5, max_leaf_nodes=12, min_weight_fraction_leaf=0.02,
        min_impurity_decrease=1.5, splitter=splitter, random_state=4,
    )
    expected = cli_train(
        cli, tmp_path / "cli.model", "--seed", "4", "--n-estimators", "5", "--max-leaf-nodes", "12",
        "--min-weight-fraction-leaf", "0.02", "--min-impurity-decrease", "1.5", "--splitter", splitter,
    )
    assert est.fit(X, y).model_bytes_ == expected
    # Best first, 12 leaves a tree: 23 nodes each.
    assert est.n_nodes_ == 5 * 23
    loaded = RandomForestRegressor.from_bytes(expected)
    assert (loaded.max_leaf_nodes, loaded.min_weight_fraction_leaf, loaded.min_impurity_decrease) == (
        12, 0.02, 1.5)


def _with_gaps(X, rate, seed):
    """The DataFrame `X` with a `rate` of the cells of bmi, bp and s5 missing."""
    rng = np.random.default_rng(seed)
    cols = ["bmi", "bp", "s5"]
    return X.assign(**{c: X[c].mask(rng.random(len(X)) < rate) for c in cols})


@pytest.mark.parametrize("splitter", ["exact", "hist", "auto", "sklearn"])
def test_missing_values_give_the_cli_bytes_and_predictions(diabetes, cli, tmp_path, splitter):
    """NaN in X is a missing value: the estimator trains the CLI's bytes
    from the same cells left empty in a CSV, and both predict alike on rows
    with gaps."""
    X, y, X_test, _ = diabetes
    X, X_test = _with_gaps(X, 0.2, 1), _with_gaps(X_test, 0.2, 2)
    est = RandomForestRegressor(n_estimators=6, splitter=splitter, random_state=5).fit(X, y)
    train, test = tmp_path / "gaps.csv", tmp_path / "gaps_test.csv"
    X.assign(target=y).to_csv(train, index=False, na_rep="", float_format="%.17g")
    X_test.to_csv(test, index=False, na_rep="NaN", float_format="%.17g")
    model = tmp_path / "cli.model"
    subprocess.run([cli, "train", "--train", str(train), "--out", str(model), "--seed", "5",
                    "--n-estimators", "6", "--splitter", splitter], check=True, capture_output=True)
    assert est.model_bytes_ == model.read_bytes()
    out = tmp_path / "p.csv"
    subprocess.run([cli, "predict", "--model", str(model), "--input", str(test), "--out", str(out)],
                   check=True, capture_output=True)
    np.testing.assert_array_equal(est.predict(X_test), np.loadtxt(out, skiprows=1))
    if splitter == "sklearn":
        from sklearn.ensemble import RandomForestRegressor as SkForest

        theirs = SkForest(n_estimators=6, random_state=5).fit(X, y)
        np.testing.assert_array_equal(est.predict(X_test), theirs.predict(X_test))


def test_missing_values_train_alike_on_the_gpu(diabetes):
    """GPU training (splitter level) takes gaps too: the CPU's bytes."""
    X, y, _, _ = diabetes
    X = _with_gaps(X, 0.3, 3)
    on = lambda device: RandomForestRegressor(  # noqa: E731
        n_estimators=4, splitter="level", device=device, random_state=2).fit(X, y).model_bytes_
    assert on("gpu") == on("cpu")


def test_a_format_5_model_loads_with_the_leaf_limits_unset(diabetes):
    _, _, X_test, _ = diabetes
    old = REPO / "forest" / "tests" / "data"
    loaded = RandomForestRegressor.load(old / "diabetes_v5.bin", n_workers=1)
    np.testing.assert_array_equal(loaded.predict(X_test), np.loadtxt(old / "diabetes_v5_predictions.txt"))
    assert (loaded.max_leaf_nodes, loaded.min_weight_fraction_leaf, loaded.min_impurity_decrease) == (
        None, 0.0, 0.0)


def test_a_format_4_model_loads_without_importances(diabetes):
    """A model file written before importances were stored (format 4)
    still loads and predicts as it did; asking for importances says why
    there are none."""
    _, _, X_test, _ = diabetes
    old = REPO / "forest" / "tests" / "data"
    loaded = RandomForestRegressor.load(old / "diabetes_v4.bin", n_workers=1)
    expected = np.loadtxt(old / "diabetes_v4_predictions.txt")
    np.testing.assert_array_equal(loaded.predict(X_test), expected)
    with pytest.raises(AttributeError, match="model format 4"):
        loaded.feature_importances_


def test_a_python_model_predicts_in_the_cli(diabetes, cli, tmp_path):
    X, y, X_test, _ = diabetes
    model = RandomForestRegressor(n_estimators=20, random_state=1).fit(X, y)
    model.save(tmp_path / "py.model")
    out = tmp_path / "pred.csv"
    subprocess.run(
        [cli, "predict", "--model", str(tmp_path / "py.model"), "--input",
         str(REPO / "data" / "diabetes_test.csv"), "--out", str(out)],
        check=True, capture_output=True,
    )
    lines = out.read_text().split()
    assert lines[0] == "prediction" and len(lines) == 1 + len(X_test)
    np.testing.assert_allclose([float(v) for v in lines[1:]], model.predict(X_test), rtol=1e-15)


def test_a_cli_model_loads_in_python(diabetes, cli, tmp_path):
    X, y, X_test, _ = diabetes
    cli_train(cli, tmp_path / "cli.model", "--seed", "5", "--n-estimators", "10", "--max-depth", "6")
    loaded = RandomForestRegressor.load(tmp_path / "cli.model", n_workers=1)
    assert loaded.get_params()["n_estimators"] == 10
    assert loaded.get_params()["max_depth"] == 6
    assert loaded.get_params()["random_state"] == 5
    assert list(loaded.feature_names_in_) == list(X.columns)
    refit = RandomForestRegressor(**loaded.get_params()).fit(X, y)
    assert refit.model_bytes_ == loaded.model_bytes_
    np.testing.assert_array_equal(refit.predict(X_test), loaded.predict(X_test))


def test_pickle_round_trip_keeps_the_model(diabetes):
    X, y, X_test, _ = diabetes
    model = RandomForestRegressor(n_estimators=10, random_state=3).fit(X, y)
    back = pickle.loads(pickle.dumps(model))
    assert back.model_bytes_ == model.model_bytes_
    assert back.get_params() == model.get_params()
    np.testing.assert_array_equal(back.predict(X_test), model.predict(X_test))


def test_a_damaged_pickle_or_file_is_refused(diabetes, tmp_path):
    X, y, _, _ = diabetes
    model = RandomForestRegressor(n_estimators=3, random_state=3).fit(X, y)
    state = model.__getstate__()
    state["model_bytes_"] = state["model_bytes_"][:-9] + b"\x00" * 9
    broken = RandomForestRegressor.__new__(RandomForestRegressor)
    with pytest.raises(ValueError, match="invalid model"):
        broken.__setstate__(state)
    (tmp_path / "not.model").write_text("a,b\n1,2\n")
    with pytest.raises(ModelFileError, match="not.model is not a usable model"):
        RandomForestRegressor.load(tmp_path / "not.model")
    with pytest.raises(ModelFileError, match="missing.model"):
        RandomForestRegressor.load(tmp_path / "missing.model")


def test_save_keeps_a_symlink_and_replaces_its_target(diabetes, tmp_path):
    X, y, _, _ = diabetes
    model = RandomForestRegressor(n_estimators=2, random_state=0).fit(X, y)
    target = tmp_path / "models" / "current.model"
    target.parent.mkdir()
    target.write_bytes(b"old")
    link = tmp_path / "link.model"
    link.symlink_to(target)
    model.save(link)
    assert link.is_symlink()
    assert target.read_bytes() == model.model_bytes_
    assert sorted(p.name for p in target.parent.iterdir()) == ["current.model"]  # no temp file left
