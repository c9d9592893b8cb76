"""Ray against a local fit on one machine, and Ray's fixed costs (a benchmark,
not a test; docs/performance.md has its figures).

    PYTHONPATH=<wasm_forest installed here> python3 python-package/benchmarks/ray_scaling.py

friedman1, 200 000 rows x 10 features, 100 trees, max_depth 16: a local fit
(2 sandboxed workers) and backend="ray" on local clusters of one worker node
with 2 CPUs and of two worker nodes with 1 CPU each (the head takes no
tasks), median of 3 after a warm-up, in one run. Then the cost of a task and
of a MiB of data: fits of 8 depth-1 trees, in 2 or 8 tasks, on 20 000 or
200 000 rows.
"""

import statistics
import time

import numpy as np
import ray
from ray.cluster_utils import Cluster
from sklearn.datasets import make_friedman1

from wasm_forest import RandomForestRegressor

FOREST = dict(n_estimators=100, max_depth=16, random_state=0)


def timed(make, X, y, runs=3):
    """Median seconds of `runs` fits after a warm-up, and the model bytes."""
    models, seconds = set(), []
    for i in range(runs + 1):
        t = time.perf_counter()
        model = make().fit(X, y)
        if i:
            seconds.append(time.perf_counter() - t)
        models.add(model.model_bytes_)
    return statistics.median(seconds), models, model


def cluster(worker_cpus):
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    for cpus in worker_cpus:
        c.add_node(num_cpus=cpus)
    c.wait_for_nodes()
    ray.init(address=c.address, log_to_driver=False)
    return c


def close(c):
    ray.shutdown()
    c.shutdown()


def main():
    X, y = make_friedman1(n_samples=200_000, n_features=10, noise=1.0, random_state=0)
    mib = (X.size * 4 + y.size * 8) / (1 << 20)
    print(f"friedman1 200000 x 10 ({mib:.1f} MiB as float32 X + float64 y), 100 trees, max_depth 16")
    local, bytes_local, _ = timed(lambda: RandomForestRegressor(**FOREST, n_workers=2), X, y)
    print(f"  local, 2 workers:                    {local * 1e3:8.0f} ms")
    all_bytes = set(bytes_local)
    for label, cpus in [("ray, 1 worker node x 2 CPUs", [2]), ("ray, 2 worker nodes x 1 CPU", [1, 1])]:
        c = cluster(cpus)
        try:
            s, b, m = timed(lambda: RandomForestRegressor(**FOREST, backend="ray", ray_tasks=2), X, y)
            all_bytes |= b
            phases = ", ".join(f"{k} {m.fit_time_[k] * 1e3:.0f} ms" for k in ("put", "tasks", "merge"))
            print(f"  {label}, 2 tasks: {s * 1e3:8.0f} ms  ({s / local:.2f}x local; last run: {phases})")
            if cpus == [1, 1]:
                fixed_costs(X, y)
        finally:
            close(c)
    print(f"  model bytes identical across all runs: {len(all_bytes) == 1}")


def fixed_costs(X, y):
    """Per task and per MiB: tiny forests, so that growing costs ~nothing."""
    tiny = dict(n_estimators=8, max_depth=1, random_state=0, backend="ray")
    rows = {20_000: (X[:20_000], y[:20_000]), 200_000: (X, y)}
    t = {}
    for n, (Xn, yn) in rows.items():
        for tasks in (2, 8):
            t[n, tasks] = timed(lambda: RandomForestRegressor(**tiny, ray_tasks=tasks), Xn, yn, runs=5)[0]
            print(f"    8 depth-1 trees, {n:6d} rows, {tasks} tasks: {t[n, tasks] * 1e3:6.0f} ms")
    per_task = (t[200_000, 8] - t[200_000, 2]) / 6
    mib = (180_000 * X.shape[1] * 4 + 180_000 * 8) / (1 << 20)
    per_mib = (t[200_000, 2] - t[20_000, 2]) / mib
    print(f"    => per extra task {per_task * 1e3:.0f} ms; per MiB of data (put + 2 tasks' copy-in) {per_mib * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
