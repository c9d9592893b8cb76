"""Shared fixtures: the repository's diabetes CSVs and the wasm-forest CLI
binary (host/tests/python_package.rs passes the one cargo built as
WASM_FOREST_BIN)."""

import os
import pathlib
import shutil

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def diabetes():
    """(X_train, y_train, X_test, y_test) as pandas objects, read from the
    CSVs the CLI reads."""
    pd = pytest.importorskip("pandas")
    train = pd.read_csv(REPO / "data" / "diabetes_train.csv")
    test = pd.read_csv(REPO / "data" / "diabetes_test.csv")
    return (
        train.drop(columns="target"),
        train["target"],
        test.drop(columns="target"),
        test["target"],
    )


@pytest.fixture(scope="session")
def cli():
    """Path of the wasm-forest binary."""
    path = os.environ.get("WASM_FOREST_BIN") or shutil.which("wasm-forest")
    for build in ("release", "debug"):
        candidate = REPO / "target" / build / "wasm-forest"
        if path is None and candidate.exists():
            path = str(candidate)
    assert path, "no wasm-forest binary: set WASM_FOREST_BIN or run `cargo build` first"
    return path


@pytest.fixture
def small():
    """A small regression problem."""
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(200, 4))
    y = 10 * X[:, 0] + np.sin(6 * X[:, 1]) + 0.1 * rng.normal(size=200)
    return X, y
