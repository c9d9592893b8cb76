"""The compiled part (Rust, PyO3): the wasm-forest host library. Used by the
estimator; its inputs are already validated and converted there."""

from os import PathLike
from typing import Callable, Mapping, TypedDict

import numpy as np
import numpy.typing as npt

__version__: str

class Sandbox(TypedDict):
    n_workers: int | None
    device: str  # "cpu", "gpu" or "auto"
    max_memory_mib: int | None
    timeout_s: float | None

class Params(TypedDict):
    n_estimators: int
    max_depth: int | None
    min_samples_split: int
    min_samples_leaf: int
    max_features: str  # "all", "sqrt", "log2", a count or a fraction
    bootstrap: bool
    max_samples: str | None  # a count or a fraction
    seed: int
    splitter: str  # "auto", "exact", "hist", "level" or "sklearn"

class Info(TypedDict):
    n_trees: int
    n_nodes: int
    n_leaves: int
    max_depth: int
    n_features: int
    feature_names: list[str] | None
    target_name: str | None
    n_train_rows: int
    feature_importances: list[float]  # empty for a model file of format 4
    sample_weight_total: float | None
    params: Params

def train(
    x: npt.NDArray[np.float32],
    y: npt.NDArray[np.float64],
    params: Params,
    sandbox: Sandbox,
    names: tuple[list[str] | None, str | None],
    progress: Callable[[int], object] | None = None,
    sample_weight: npt.NDArray[np.float64] | None = None,
) -> tuple[bytes, Mapping[str, float], tuple[str, str | None]]:
    """Trains in the sandbox: (model bytes, phase seconds, (device, note))."""

def grow_parts(
    x: npt.NDArray[np.float32],
    y: npt.NDArray[np.float64],
    params: Params,
    sandbox: Sandbox,
    names: tuple[list[str] | None, str | None],
    trees: tuple[int, int],
    progress: Callable[[int], object] | None = None,
    sample_weight: npt.NDArray[np.float64] | None = None,
) -> tuple[list[bytes], tuple[str, str | None]]:
    """Trees (first, count) grown as unmerged parts, and where they grew."""

def merge_parts(parts: list[bytes]) -> bytes:
    """The model bytes of parts covering every tree exactly once."""

class Model:
    """Model bytes, validated by loading them into a sandbox."""

    def __init__(self, bytes: bytes, sandbox: Sandbox) -> None: ...
    def predict(self, x: npt.NDArray[np.float32], sandbox: Sandbox) -> bytes:
        """Float64 little-endian predictions, one per row."""
    def out_of_bag(
        self,
        x: npt.NDArray[np.float32],
        sandbox: Sandbox,
        sample_weight: npt.NDArray[np.float64] | None = None,
    ) -> tuple[bytes, bytes]:
        """The training rows' out-of-bag predictions (float64 little-endian)
        and, per row, how many trees left it out (uint32 little-endian);
        ``sample_weight``: the model's training weights, if any."""
    def to_bytes(self) -> bytes: ...
    def info(self) -> Info: ...

def save_model(path: str | PathLike[str], bytes: bytes) -> None: ...
def read_model(path: str | PathLike[str]) -> bytes: ...
def default_workers() -> int: ...
