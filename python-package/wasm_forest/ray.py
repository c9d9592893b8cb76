"""Training and batch prediction on a Ray cluster (``pip install
./python-package[ray]``).

Every tree depends only on the data, the parameters and its index, so a
forest splits into ranges of trees grown anywhere: each Ray task grows one
range in its own sandbox, from the data placed once in Ray's object store,
and returns the range's part bytes; the driver merges the parts with the
host's merge (validated, every tree exactly once). The result is the very
model bytes of a local fit with the same seed, whatever the number of nodes,
tasks or retries. Scheduling, data movement and retries are Ray's.

    import ray, wasm_forest.ray
    ray.init()                                   # or RAY_ADDRESS=..., as Ray users do
    model = RandomForestRegressor(n_estimators=500, random_state=0, backend="ray").fit(X, y)
    predicted = wasm_forest.ray.predict_dataset(model, ray.data.read_parquet(...))

The cluster is whatever ``ray.init()`` connects to: an existing one named by
``RAY_ADDRESS`` or started with ``ray start``, else a local one.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Sequence

import numpy as np
import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from . import _native

# Ray retries a task whose worker or node died this many times. A task that
# fails for a reason of its own (bad parameters, a sandbox limit) is not
# retried: the same range would fail the same way.
DEFAULT_MAX_RETRIES = 3


def ranges(n_trees: int, n_tasks: int) -> list[tuple[int, int]]:
    """``n_trees`` split into ``n_tasks`` contiguous (first, count) ranges of
    sizes differing by at most one (fewer when there are fewer trees)."""
    n_tasks = max(1, min(n_tasks, n_trees))
    base, extra = divmod(n_trees, n_tasks)
    out, first = [], 0
    for i in range(n_tasks):
        count = base + (i < extra)
        out.append((first, count))
        first += count
    return out


def _connect() -> None:
    if not ray.is_initialized():
        ray.init(log_to_driver=False)


@ray.remote(num_cpus=0)
class _Tracker:
    """What the tasks of each fit report: trees grown so far (a retried range
    counts again from zero, so each range keeps its highest report) and when
    each attempt at a range started and ended, on which node. One per driver
    and cluster, reused by its fits (starting an actor costs a process)."""

    def __init__(self) -> None:
        self.done: dict[str, dict[int, int]] = {}
        self.log: dict[str, list[dict[str, Any]]] = {}

    def report(self, fit: str, first: int, done: int) -> None:
        ranges = self.done.setdefault(fit, {})
        ranges[first] = max(ranges.get(first, 0), done)

    def event(self, fit: str, what: str, trees: tuple[int, int], node: str, at: float) -> None:
        self.log.setdefault(fit, []).append({"event": what, "trees": tuple(trees), "node": node, "time": at})

    def total(self, fit: str) -> int:
        return sum(self.done.get(fit, {}).values())

    def take(self, fit: str) -> list[dict[str, Any]]:
        """The fit's log, in time order; the fit is forgotten."""
        self.done.pop(fit, None)
        return sorted(self.log.pop(fit, []), key=lambda e: e["time"])


_TRACKER: tuple[str, Any] | None = None  # (session, handle)


def _tracker() -> Any:
    """This driver's tracker, on the driver's node: the log outlives any
    worker node lost meanwhile."""
    global _TRACKER
    context = ray.get_runtime_context()
    # A new ray.init (another cluster, or the same one again) is a new
    # driver node id: handles of the old session must not be reused.
    session = f"{context.get_node_id()}/{context.get_job_id()}"
    if _TRACKER is None or _TRACKER[0] != session:
        here = NodeAffinitySchedulingStrategy(context.get_node_id(), soft=False)
        _TRACKER = (session, _Tracker.options(scheduling_strategy=here).remote())
    return _TRACKER[1]


@ray.remote(num_cpus=1)
def _grow_range(data, params, sandbox, names, trees, track):
    tracker, fit = track
    node = ray.get_runtime_context().get_node_id()
    tracker.event.remote(fit, "start", trees, node, time.time())
    x, y, w = data  # zero-copy views of the object store's arrays
    report = lambda done: tracker.report.remote(fit, trees[0], done)  # noqa: E731
    parts, placement = _native.grow_parts(x, y, params, sandbox, names, tuple(trees), report, w)
    tracker.event.remote(fit, "end", trees, node, time.time())
    return [bytes(p) for p in parts], placement


def train(
    x: np.ndarray,
    y: np.ndarray,
    params: dict[str, Any],
    sandbox: dict[str, Any],
    names: tuple[list[str] | None, str | None],
    *,
    n_tasks: int | None = None,
    max_retries: int = DEFAULT_MAX_RETRIES,
    bar: Any = None,
    sample_weight: np.ndarray | None = None,
) -> tuple[bytes, dict[str, float], tuple[str, str | None], list[dict[str, Any]]]:
    """The estimator's ``fit`` with ``backend="ray"``: model bytes, phase
    seconds (``put``: data into the object store; ``tasks``: the ranges
    grown; ``merge``), where the trees grew ("gpu" if every task's did) and
    the tasks' log (each attempt's start and end: node, time)."""
    t0 = time.perf_counter()
    _connect()
    if n_tasks is None:
        n_tasks = max(1, int(ray.cluster_resources().get("CPU", 1)))
    data = ray.put((x, y, sample_weight))
    t1 = time.perf_counter()
    track = (_tracker(), uuid.uuid4().hex)
    # Each task is one sandboxed instance on one CPU that Ray gave it.
    task_sandbox = {**sandbox, "n_workers": 1}
    grow = _grow_range.options(max_retries=max_retries, retry_exceptions=False)
    work = ranges(params["n_estimators"], n_tasks)
    refs = [grow.remote(data, params, task_sandbox, names, r, track) for r in work]
    results = _gather(refs, track, bar)
    if bar is not None:
        # Every range is in; the tasks' last reports may still be on their way.
        bar.update(params["n_estimators"] - bar.n)
    t2 = time.perf_counter()
    model = _native.merge_parts([p for parts, _ in results for p in parts])
    t3 = time.perf_counter()
    devices = {device for _, (device, _) in results}
    notes = sorted({note for _, (_, note) in results if note})
    placement = ("gpu" if devices == {"gpu"} else "cpu", "; ".join(notes) or None)
    phases = {"put": t1 - t0, "tasks": t2 - t1, "merge": t3 - t2}
    log = ray.get(track[0].take.remote(track[1]))
    return model, phases, placement, log


def _gather(refs: list[Any], track: Any, bar: Any) -> list[Any]:
    """The tasks' results in range order; the first task error is raised as
    the component raised it (the others are cancelled)."""
    pending, results = list(refs), {}
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=len(pending), timeout=0.2)
            for ref in done:  # each fetched once; a task's error is raised here
                results[ref] = ray.get(ref)
            if bar is not None:
                bar.update(ray.get(track[0].total.remote(track[1])) - bar.n)
        return [results[ref] for ref in refs]
    except ray.exceptions.RayTaskError as e:
        for ref in pending:
            ray.cancel(ref)
        log = ray.get(track[0].take.remote(track[1]))
        cause = e.cause if isinstance(e.cause, BaseException) else None
        if cause is not None:
            cause.ray_log = log  # the attempts so far: a retry would show here
            raise cause from None
        raise


class _BatchPredictor:
    """One per Ray Data worker: the model loaded once, in a sandbox."""

    def __init__(self, model_bytes: bytes, columns: Sequence[str], output: str, sandbox: dict[str, Any]):
        self.model = _native.Model(model_bytes, sandbox)
        self.columns, self.output, self.sandbox = list(columns), output, sandbox

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        x = np.column_stack([np.asarray(batch[c], dtype=np.float32) for c in self.columns])
        if np.isinf(x).any():
            raise ValueError("a batch has infinite feature values (or values beyond float32's range)")
        raw = self.model.predict(np.ascontiguousarray(x), self.sandbox)
        batch[self.output] = np.frombuffer(raw, dtype="<f8").copy()
        return batch


def predict_dataset(
    model: Any,
    dataset: Any,
    *,
    feature_columns: Sequence[str] | None = None,
    output_column: str = "prediction",
    batch_size: int = 8192,
    concurrency: int | tuple[int, int] | None = None,
    device: str = "cpu",
) -> Any:
    """``dataset`` (a ``ray.data.Dataset``) with a column ``output_column``
    of predictions beside each row's columns. Lazy and streamed, as Ray Data
    is: blocks flow through the workers, so the data may be larger than any
    one worker's memory (write the result with ``write_parquet`` & co.).

    ``model`` is a fitted :class:`RandomForestRegressor` or model-file
    bytes; ``feature_columns`` defaults to the names the model was trained
    with. Each worker (``concurrency``: a count or a (min, max) pool)
    loads the model once.
    """
    model_bytes = getattr(model, "model_bytes_", None) or bytes(model)
    info = _native.Model(model_bytes, {"n_workers": 1, "device": "cpu", "max_memory_mib": None, "timeout_s": None}).info()
    columns = list(feature_columns) if feature_columns is not None else info["feature_names"]
    if columns is None:
        raise ValueError("the model has no feature names: pass feature_columns")
    if len(columns) != info["n_features"]:
        raise ValueError(f"{len(columns)} feature columns for a model of {info['n_features']} features")
    _connect()
    if concurrency is None:
        concurrency = (1, max(1, int(ray.cluster_resources().get("CPU", 1))))
    sandbox = {"n_workers": 1, "device": device, "max_memory_mib": None, "timeout_s": None}
    return dataset.map_batches(
        _BatchPredictor,
        fn_constructor_kwargs={"model_bytes": model_bytes, "columns": columns, "output": output_column, "sandbox": sandbox},
        batch_size=batch_size,
        batch_format="numpy",
        concurrency=concurrency,
        num_cpus=1,
    )
