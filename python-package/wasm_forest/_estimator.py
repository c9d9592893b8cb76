"""The scikit-learn estimator. Inputs are checked with scikit-learn's own
validation utilities; training and prediction run in the WebAssembly sandbox
(``_native``), with the GIL released."""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _native

# scikit-learn's forests draw tree seeds below this (np.iinfo(np.int32).max).
_MAX_INT = np.iinfo(np.int32).max


class RandomForestRegressor(RegressorMixin, BaseEstimator):
    """A random forest of regression trees, trained and run in a WebAssembly
    sandbox, with scikit-learn's ``RandomForestRegressor`` semantics (CART
    trees, squared error, bootstrap).

    Parameters
    ----------
    n_estimators, max_depth, min_samples_split, min_samples_leaf,
    min_weight_fraction_leaf, max_features, max_leaf_nodes,
    min_impurity_decrease, bootstrap, max_samples
        As in :class:`sklearn.ensemble.RandomForestRegressor`, with its
        defaults (``max_leaf_nodes`` grows trees best first; not with
        ``splitter="level"``).
    oob_score : bool or callable
        As in scikit-learn: after fitting, each training row is predicted (in
        the sandbox) by the trees whose bootstrap sample left it out, giving
        ``oob_prediction_`` and ``oob_score_`` (R², or ``oob_score(y,
        oob_prediction_)`` for a callable). Needs ``bootstrap=True``.
    random_state : int, RandomState instance or None
        An int is the seed itself: ``random_state=42`` gives the very model
        bytes of ``wasm-forest train --seed 42``. ``None`` or a
        ``RandomState`` draws the seed from numpy, as scikit-learn draws its
        trees' seeds. The same seed, data and parameters give the same model
        whatever ``n_workers``.
    splitter : {"auto", "exact", "hist", "level", "sklearn"}
        How splits are searched: ``exact`` sorts each node's values,
        ``hist`` bins them (the same trees as ``exact`` on data with few
        distinct values, much faster on large data), ``auto`` picks by data
        size, ``level`` grows trees a level at a time, the splitter that
        can train on the GPU (its trees differ from ``hist``'s in ties).
        ``sklearn`` grows scikit-learn's own trees, its random numbers
        included: with an int ``random_state`` the model predicts what
        ``sklearn.ensemble.RandomForestRegressor`` with that
        ``random_state`` predicts (float32 features, as scikit-learn's
        trees take them).
    n_workers : int or None
        Sandboxed instances training (or predicting) side by side; ``None``
        is the host's default (the number of cores).
    device : {"auto", "cpu", "gpu"}
        Where histograms (``splitter="level"``) and predictions are
        computed: ``gpu`` lends the host's GPU to the component through its
        import, ``auto`` uses it only on a hardware adapter and for large
        enough work. The model bytes do not depend on it.
    max_memory_mib : int or None
        Memory cap of each sandboxed instance; beyond it the call raises
        :class:`wasm_forest.SandboxMemoryError`. ``None`` sizes it from the
        data.
    timeout_s : float or None
        Wall-clock budget of each call into the sandbox; beyond it the call
        raises :class:`wasm_forest.SandboxTimeout`. ``None``: no limit, and
        the sandboxed code runs without the checks a limit needs (faster).
    verbose : int
        ``1`` or more shows a progress bar (tqdm) of the trees grown.
    backend : {"local", "ray"}
        ``ray`` grows ranges of trees as Ray tasks on the cluster
        ``ray.init()`` connects to (``RAY_ADDRESS``, ``ray start``), each in
        a sandbox of its own, and merges them here: the same model bytes as
        ``local`` (see :mod:`wasm_forest.ray`; needs the ``ray`` extra).
    ray_tasks : int or None
        Ranges (tasks) the trees are split into with ``backend="ray"``;
        ``None``: the cluster's CPU count.

    Attributes
    ----------
    model_bytes_ : bytes
        The model file (what :meth:`save` writes).
    n_features_in_, feature_names_in_
        As in scikit-learn.
    seed_ : int
        The seed the trees were grown from.
    n_nodes_, n_leaves_, max_depth_reached_ : int
        Over all trees.
    feature_importances_ : ndarray of shape (n_features_in_,)
        Impurity-based importances, as scikit-learn's (stored in the
        model, computed while training).
    oob_score_ : float
        With ``oob_score``: the out-of-bag score.
    oob_prediction_ : ndarray of shape (n_samples,)
        With ``oob_score``: each training row's out-of-bag prediction (0 for
        a row every tree drew, with a warning, as scikit-learn has it).
    training_device_ : str
        ``"cpu"`` or ``"gpu"`` (where ``splitter="level"`` built its
        histograms); why the CPU served, if it did, is in
        ``training_note_``.
    ray_log_ : list of dict
        With ``backend="ray"``: every attempt at a range of trees, its
        ``start`` and ``end`` events with the node and the time (a range
        started twice was retried by Ray).
    fit_time_ : dict of str to float
        Seconds of the last :meth:`fit`, by phase: ``validate`` (checking
        and converting X and y), ``runtime`` (compiling the component, or
        loading it from the compile cache: the first fit of a process
        only), then in the sandbox ``instantiate`` (starting the instances),
        ``copy_in`` (handing them the data), ``grow`` (growing the trees;
        these three are the slowest worker's) and ``merge`` (joining the
        workers' parts), ``sandbox`` (all of the sandboxed training, wall
        clock), ``load`` (validating the model for prediction) and
        ``total``.
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "max_depth": [Interval(Integral, 1, None, closed="left"), None],
        "min_samples_split": [
            Interval(Integral, 2, None, closed="left"),
            Interval(RealNotInt, 0.0, 1.0, closed="right"),
        ],
        "min_samples_leaf": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0.0, 1.0, closed="neither"),
        ],
        "max_features": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0.0, 1.0, closed="right"),
            StrOptions({"sqrt", "log2"}),
            None,
        ],
        "min_weight_fraction_leaf": [Interval(Real, 0.0, 0.5, closed="both")],
        "max_leaf_nodes": [Interval(Integral, 2, None, closed="left"), None],
        "min_impurity_decrease": [Interval(Real, 0.0, None, closed="left")],
        "bootstrap": ["boolean"],
        "oob_score": ["boolean", callable],
        "max_samples": [
            None,
            Interval(RealNotInt, 0.0, None, closed="neither"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "random_state": ["random_state"],
        "splitter": [StrOptions({"auto", "exact", "hist", "level", "sklearn"})],
        "n_workers": [Interval(Integral, 1, None, closed="left"), None],
        "device": [StrOptions({"auto", "cpu", "gpu"})],
        "max_memory_mib": [Interval(Integral, 1, 4096, closed="both"), None],
        "timeout_s": [Interval(Real, 0.0, None, closed="neither"), None],
        "verbose": ["verbose"],
        "backend": [StrOptions({"local", "ray"})],
        "ray_tasks": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        n_estimators: int = 100,
        *,
        max_depth: int | None = None,
        min_samples_split: int | float = 2,
        min_samples_leaf: int | float = 1,
        min_weight_fraction_leaf: float = 0.0,
        max_features: int | float | str | None = 1.0,
        max_leaf_nodes: int | None = None,
        min_impurity_decrease: float = 0.0,
        bootstrap: bool = True,
        oob_score: bool | Callable[[np.ndarray, np.ndarray], float] = False,
        max_samples: int | float | None = None,
        random_state: int | np.random.RandomState | None = None,
        splitter: str = "auto",
        n_workers: int | None = None,
        device: str = "auto",
        max_memory_mib: int | None = None,
        timeout_s: float | None = None,
        verbose: int = 0,
        backend: str = "local",
        ray_tasks: int | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_features = max_features
        self.max_leaf_nodes = max_leaf_nodes
        self.min_impurity_decrease = min_impurity_decrease
        self.bootstrap = bootstrap
        self.oob_score = oob_score
        self.max_samples = max_samples
        self.random_state = random_state
        self.splitter = splitter
        self.n_workers = n_workers
        self.device = device
        self.max_memory_mib = max_memory_mib
        self.timeout_s = timeout_s
        self.verbose = verbose
        self.backend = backend
        self.ray_tasks = ray_tasks

    # -- fitting -----------------------------------------------------------

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> RandomForestRegressor:
        """Grows the forest on ``X`` (n_samples × n_features; numpy, pandas
        or lists; float64 or float32, converted to float32 as scikit-learn's
        trees do) and ``y`` (n_samples).

        ``sample_weight`` (n_samples, each 0 or positive; ``None``: all 1)
        weighs the rows as scikit-learn >= 1.9 does: with ``bootstrap``, rows
        are drawn in proportion to their weight (a float ``max_samples`` is
        a fraction of the total weight) and each tree weighs a row by its
        draws; without, each tree weighs a row by its weight. A row of weight
        0 takes no part. ``splitter="level"`` (and so ``device="gpu"``) takes
        weights only with ``bootstrap``.

        Raises ``ValueError`` for bad data or parameters (the component's
        message), :class:`wasm_forest.SandboxError` and its subclasses when
        the sandbox stops the call.
        """
        t0 = time.perf_counter()
        self._validate_params()
        if self.device == "gpu" and self.splitter != "level":
            raise ValueError(
                "device='gpu' trains with splitter='level' only (the splitter that "
                f"builds its histograms on the GPU); got splitter={self.splitter!r}"
            )
        if self.oob_score and not self.bootstrap:
            # scikit-learn's words.
            raise ValueError("Out of bag estimation only available if bootstrap=True")
        target_name = getattr(y, "name", None)
        # NaN in X is a missing value (scikit-learn's trees take them too);
        # y must be complete.
        X, y = validate_data(
            self,
            X,
            y,
            dtype=[np.float64, np.float32],
            y_numeric=True,
            multi_output=False,
            ensure_all_finite="allow-nan",
        )
        x32 = _as_float32(X)
        y64 = np.ascontiguousarray(y, dtype=np.float64)
        if sample_weight is not None:
            # As scikit-learn's forests: checked, float64; None stays None
            # (all-1 weights would draw the bootstrap another way).
            sample_weight = np.ascontiguousarray(
                _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
            )
        names = getattr(self, "feature_names_in_", None)
        names = (
            [str(n) for n in names] if names is not None else None,
            target_name if isinstance(target_name, str) else None,
        )
        params = self._native_params(x32.shape[0])
        validate = time.perf_counter() - t0
        bar = self._progress_bar(params["n_estimators"])
        try:
            model, phases, (device, note) = self._train(x32, y64, sample_weight, params, names, bar)
        finally:
            if bar is not None:
                bar.close()
        t = time.perf_counter()
        self._set_model(model)
        self.seed_ = params["seed"]
        self.training_device_ = device
        self.training_note_ = note
        self.fit_time_ = {"validate": validate, **phases}
        self.fit_time_["load"] = time.perf_counter() - t
        t = time.perf_counter()
        self._set_oob(x32, y64, sample_weight)
        if self.oob_score:
            self.fit_time_["oob"] = time.perf_counter() - t
        self.fit_time_["total"] = time.perf_counter() - t0
        return self

    def _set_oob(self, x32: np.ndarray, y64: np.ndarray, weights: np.ndarray | None) -> None:
        """``oob_prediction_`` and ``oob_score_``, predicted in the sandbox
        (or neither, without ``oob_score``)."""
        for name in ("oob_prediction_", "oob_score_"):
            self.__dict__.pop(name, None)  # of an earlier fit
        if not self.oob_score:
            return
        raw, counts = self._loaded.out_of_bag(x32, self._sandbox(), weights)
        if (np.frombuffer(counts, dtype="<u4") == 0).any():
            # scikit-learn's warning; those rows count as predicted 0.
            warnings.warn(
                "Some inputs do not have OOB scores. This probably means too few trees "
                "were used to compute any reliable OOB estimates.",
                UserWarning,
            )
        self.oob_prediction_ = np.frombuffer(raw, dtype="<f8").astype(np.float64)
        score = self.oob_score if callable(self.oob_score) else r2_score
        self.oob_score_ = score(y64, self.oob_prediction_)

    def _train(self, x32, y64, weights, params, names, bar):
        if self.backend == "ray":
            from . import ray as wf_ray

            model, phases, placement, self.ray_log_ = wf_ray.train(
                x32,
                y64,
                params,
                self._sandbox(),
                names,
                n_tasks=self.ray_tasks,
                bar=bar,
                sample_weight=weights,
            )
            return model, phases, placement
        self.__dict__.pop("ray_log_", None)  # of an earlier fit on Ray
        progress = None if bar is None else (lambda done: bar.update(done - bar.n))
        return _native.train(x32, y64, params, self._sandbox(), names, progress, weights)

    def _native_params(self, n_samples: int) -> dict[str, Any]:
        """The hyperparameters in the forest crate's spelling, fractions of
        samples turned into counts as scikit-learn turns them."""
        split, leaf = self.min_samples_split, self.min_samples_leaf
        if not isinstance(split, Integral):
            split = max(2, math.ceil(split * n_samples))
        if not isinstance(leaf, Integral):
            leaf = max(1, math.ceil(leaf * n_samples))
        return {
            "n_estimators": int(self.n_estimators),
            "max_depth": None if self.max_depth is None else int(self.max_depth),
            "min_samples_split": int(split),
            "min_samples_leaf": int(leaf),
            "max_features": _max_features_text(self.max_features),
            "bootstrap": bool(self.bootstrap),
            "max_samples": None if self.max_samples is None else _count_or_fraction(self.max_samples),
            "seed": self._seed(),
            "splitter": self.splitter,
            "min_weight_fraction_leaf": float(self.min_weight_fraction_leaf),
            "max_leaf_nodes": None if self.max_leaf_nodes is None else int(self.max_leaf_nodes),
            "min_impurity_decrease": float(self.min_impurity_decrease),
        }

    def _seed(self) -> int:
        """An int is the seed itself (the CLI's ``--seed``); otherwise one is
        drawn as scikit-learn's forests draw their trees' seeds."""
        if isinstance(self.random_state, Integral):
            check_random_state(self.random_state)  # scikit-learn's range checks
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(_MAX_INT))

    def _sandbox(self) -> dict[str, Any]:
        return {
            "n_workers": self.n_workers,
            "device": self.device,
            "max_memory_mib": self.max_memory_mib,
            "timeout_s": None if self.timeout_s is None else float(self.timeout_s),
        }

    def _progress_bar(self, total: int) -> Any:
        if not self.verbose:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=total, desc="training trees", unit="tree")

    def _set_model(self, model_bytes: bytes) -> None:
        """Loads (so validates) the model and sets the fitted attributes."""
        self._loaded = _native.Model(model_bytes, self._sandbox())
        info = self._loaded.info()
        self.model_bytes_ = bytes(model_bytes)
        self.n_nodes_ = info["n_nodes"]
        self.n_leaves_ = info["n_leaves"]
        self.max_depth_reached_ = info["max_depth"]
        self.n_features_in_ = info["n_features"]
        self._importances = np.asarray(info["feature_importances"], dtype=np.float64)

    @property
    def feature_importances_(self) -> np.ndarray:
        """Impurity-based feature importances, as scikit-learn's: each
        split's weighted squared-error decrease summed per feature, each
        tree's normalised to 1, averaged over the trees and normalised
        again. Stored in the model; a model file of format 4 has none."""
        check_is_fitted(self)
        if self._importances.size == 0:
            raise AttributeError(
                "feature_importances_: this model was saved by a wasm-forest that did not "
                "store importances (model format 4); fit it again"
            )
        return self._importances.copy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # NaN is a missing value, handled at each split (see `fit`).
        tags.input_tags.allow_nan = True
        return tags

    # -- prediction --------------------------------------------------------

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets for the rows of ``X`` (float64)."""
        check_is_fitted(self)
        X = validate_data(
            self, X, reset=False, dtype=[np.float64, np.float32], ensure_all_finite="allow-nan"
        )
        raw = self._loaded.predict(_as_float32(X), self._sandbox())
        return np.frombuffer(raw, dtype="<f8").astype(np.float64)

    # -- model files and pickle --------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the model file, as ``wasm-forest train --model-out`` does
        (replaced atomically; ``wasm-forest predict --model`` reads it)."""
        check_is_fitted(self)
        _native.save_model(os.fspath(path), self.model_bytes_)

    @classmethod
    def load(cls, path: str | os.PathLike[str], **params: Any) -> RandomForestRegressor:
        """A fitted estimator from a model file (``wasm-forest train`` writes
        them), validated in the sandbox. ``params`` sets the sandbox's
        (``n_workers``, ``device``, ...); the hyperparameters are the
        model's."""
        return cls.from_bytes(_native.read_model(os.fspath(path)), **params)

    @classmethod
    def from_bytes(cls, model_bytes: bytes, **params: Any) -> RandomForestRegressor:
        """:meth:`load` from the bytes of a model file."""
        est = cls(**params)
        est._validate_params()
        est._set_model(model_bytes)
        info = est._loaded.info()
        est.set_params(**_sklearn_params(info["params"]))
        est.seed_ = info["params"]["seed"]
        if info["feature_names"] is not None:
            est.feature_names_in_ = np.asarray(info["feature_names"], dtype=object)
        return est

    def __getstate__(self) -> dict[str, Any]:
        # A copy: BaseEstimator may hand back the live __dict__ itself.
        state = dict(super().__getstate__())
        state.pop("_loaded", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if "model_bytes_" in state:
            # Validated again: a pickle is a file like any other.
            self._loaded = _native.Model(state["model_bytes_"], self._sandbox())


def _as_float32(X: np.ndarray) -> np.ndarray:
    """X as C-contiguous float32; values that overflow float32 are refused,
    not turned into infinities (NaN, a missing value, stays)."""
    with np.errstate(over="ignore"):  # refused below, with the cell named
        x32 = np.ascontiguousarray(X, dtype=np.float32)
    if np.isinf(x32).any():
        row, col = np.argwhere(np.isinf(x32))[0]
        raise ValueError(
            f"X[{row}, {col}] = {float(X[row, col])!r} is beyond float32's range "
            "(the forest splits on float32 values, as scikit-learn's trees do)"
        )
    return x32


def _max_features_text(m: Any) -> str:
    if m is None or (isinstance(m, Real) and not isinstance(m, Integral) and m == 1.0):
        return "all"
    if isinstance(m, str):
        return m
    return _count_or_fraction(m)


def _count_or_fraction(v: Any) -> str:
    return str(int(v)) if isinstance(v, Integral) else repr(float(v))


def _number(text: str) -> int | float:
    return float(text) if any(c in text for c in ".eE") else int(text)


def _sklearn_params(p: dict[str, Any]) -> dict[str, Any]:
    """A model's hyperparameters as the estimator's."""
    mf = p["max_features"]
    return {
        "n_estimators": p["n_estimators"],
        "max_depth": p["max_depth"],
        "min_samples_split": p["min_samples_split"],
        "min_samples_leaf": p["min_samples_leaf"],
        "max_features": 1.0 if mf == "all" else mf if mf in ("sqrt", "log2") else _number(mf),
        "bootstrap": p["bootstrap"],
        "max_samples": None if p["max_samples"] is None else _number(p["max_samples"]),
        "random_state": p["seed"],
        "splitter": p["splitter"],
        "min_weight_fraction_leaf": p["min_weight_fraction_leaf"],
        "max_leaf_nodes": p["max_leaf_nodes"],
        "min_impurity_decrease": p["min_impurity_decrease"],
    }
