"""Fixtures shared by the tests in this folder."""

import os

import pytest


@pytest.fixture(scope="module")
def cli():
    """Path of the wasm-forest binary under test (cargo test sets it)."""
    path = os.environ.get("WASM_FOREST_BIN")
    if not path:
        pytest.fail("WASM_FOREST_BIN is not set: point it at the wasm-forest binary "
                    "(cargo test sets it)")
    return path
