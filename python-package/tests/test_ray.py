"""The Ray backend on a local multi-node cluster: a head and two worker nodes,
each its own raylet process on this machine (ray.cluster_utils.Cluster)."""

import os
import threading
import time

import numpy as np
import pytest

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

import wasm_forest.ray as wf_ray  # noqa: E402
from wasm_forest import RandomForestRegressor, SandboxMemoryError  # noqa: E402

MIB = 1 << 20


@pytest.fixture(scope="module")
def cluster():
    # The head takes no tasks: every range is grown on a worker node.
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "object_store_memory": 80 * MIB})
    workers = [c.add_node(num_cpus=1, object_store_memory=80 * MIB) for _ in range(2)]
    c.wait_for_nodes()
    ray.init(address=c.address, log_to_driver=False)
    yield c, workers
    ray.shutdown()
    c.shutdown()


def data(rows=2_000, features=6, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(size=(rows, features))
    return X, 10 * np.sin(3 * X[:, 0]) + X @ rng.normal(size=features) + rng.normal(size=rows)


def test_the_cluster_has_two_worker_nodes(cluster):
    alive = [n for n in ray.nodes() if n["Alive"]]
    assert len(alive) == 3
    assert sorted(n["Resources"].get("CPU", 0) for n in alive) == [0, 1, 1]


@pytest.mark.parametrize("seed", [0, 7, 42])
@pytest.mark.parametrize("tasks", [1, 2, 5])
def test_ray_gives_the_local_bytes(cluster, seed, tasks):
    X, y = data(seed=seed)
    params = dict(n_estimators=11, max_depth=8, max_features="sqrt", random_state=seed)
    local = RandomForestRegressor(**params).fit(X, y)
    on_ray = RandomForestRegressor(**params, backend="ray", ray_tasks=tasks).fit(X, y)
    assert on_ray.model_bytes_ == local.model_bytes_
    assert set(on_ray.fit_time_) >= {"put", "tasks", "merge", "total"}


@pytest.mark.parametrize("bootstrap", [True, False])
def test_ray_takes_sample_weights_and_gives_the_local_bytes(cluster, bootstrap):
    # The weights go to the tasks with the data: with bootstrap they choose
    # each tree's draws, without it they weigh the rows.
    X, y = data(seed=3)
    w = np.random.RandomState(4).uniform(0.0, 3.0, len(y))
    w[::7] = 0.0
    params = dict(n_estimators=9, max_depth=8, bootstrap=bootstrap, random_state=5)
    local = RandomForestRegressor(**params).fit(X, y, sample_weight=w)
    on_ray = RandomForestRegressor(**params, backend="ray", ray_tasks=3).fit(
        X, y, sample_weight=w)
    assert on_ray.model_bytes_ == local.model_bytes_
    unweighted = RandomForestRegressor(**params, backend="ray", ray_tasks=3).fit(X, y)
    assert unweighted.model_bytes_ != on_ray.model_bytes_


def test_ranges_cover_the_trees_once():
    assert wf_ray.ranges(11, 3) == [(0, 4), (4, 4), (8, 3)]
    assert wf_ray.ranges(2, 5) == [(0, 1), (1, 1)]
    for n, k in [(1, 1), (200, 7), (13, 13)]:
        r = wf_ray.ranges(n, k)
        assert [f for f, _ in r] == list(np.cumsum([0] + [c for _, c in r])[:-1])
        assert sum(c for _, c in r) == n


def node_growing_a_range(workers):
    """The worker node whose worker process is running a `_grow_range` task
    (Ray titles the process after the task), found through /proc."""
    raylets = {p.pid: w for w in workers for name, p in w.live_processes() if name == "raylet"}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"_grow_range" not in f.read():
                    continue
            with open(f"/proc/{pid}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        if parent in raylets:
            return raylets[parent]
    return None


def test_a_lost_worker_node_is_survived_with_the_same_bytes(cluster):
    c, workers = cluster
    X, y = data(rows=100_000, features=8, seed=3)
    params = dict(n_estimators=16, splitter="exact", random_state=3)
    expected = RandomForestRegressor(**params).fit(X, y).model_bytes_
    result = {}

    def fit():
        try:
            result["model"] = RandomForestRegressor(**params, backend="ray", ray_tasks=4).fit(X, y)
        except BaseException as e:  # reported below
            result["error"] = e

    fitting = threading.Thread(target=fit)
    fitting.start()
    removed = None
    deadline = time.monotonic() + 120
    while removed is None and fitting.is_alive() and time.monotonic() < deadline:
        removed = node_growing_a_range(workers)
        time.sleep(0.05)
    assert removed is not None, "no range was seen growing before the fit ended: make it longer"
    time.sleep(0.3)  # its start is logged
    removed_at, lost_node = time.time(), removed.node_id
    c.remove_node(removed, allow_graceful=False)
    i = workers.index(removed)
    workers[i] = c.add_node(num_cpus=1, object_store_memory=80 * MIB)  # for the tests after this one
    fitting.join(timeout=300)
    assert not fitting.is_alive()
    assert "error" not in result, result.get("error")
    model = result["model"]
    assert model.model_bytes_ == expected
    # The timeline, for the record (pytest -s), and what it must show.
    t0 = model.ray_log_[0]["time"]
    for e in model.ray_log_:
        print(f"{e['time'] - t0:7.2f} s  {e['event']:5}  trees {e['trees']}  node {e['node'][:8]}")
    print(f"{removed_at - t0:7.2f} s  node {lost_node[:8]} removed; fit done in {model.fit_time_['total']:.2f} s")
    starts = {}
    for e in model.ray_log_:
        if e["event"] == "start":
            starts.setdefault(e["trees"], []).append(e["node"])
    ended = {e["trees"] for e in model.ray_log_ if e["event"] == "end"}
    assert sorted(ended) == wf_ray.ranges(16, 4), "every range grown to its end"
    retried = [r for r, nodes in starts.items() if len(nodes) > 1]
    assert retried and all(starts[r][0] == lost_node for r in retried), starts


def test_a_real_failure_fails_the_fit_once_with_the_components_message(cluster):
    X, y = data(rows=40_000)
    t = time.perf_counter()
    with pytest.raises(SandboxMemoryError, match="memory limit") as failed:
        RandomForestRegressor(n_estimators=4, max_memory_mib=2, backend="ray", ray_tasks=2).fit(X, y)
    # Not retried: no range started twice (a retry would meet the same error).
    starts = [e["trees"] for e in failed.value.ray_log if e["event"] == "start"]
    assert starts and len(starts) == len(set(starts)), failed.value.ray_log
    with pytest.raises(ValueError, match="max_samples"):
        RandomForestRegressor(n_estimators=4, max_samples=1e30, backend="ray").fit(X, y)
    assert time.perf_counter() - t < 60


def test_progress_bar_sums_the_tasks(cluster, capsys):
    X, y = data()
    RandomForestRegressor(n_estimators=9, backend="ray", ray_tasks=3, verbose=1, random_state=0).fit(X, y)
    err = capsys.readouterr().err
    assert "9/9" in err


def test_batch_prediction_over_a_ray_dataset(cluster):
    pd = pytest.importorskip("pandas")
    X, y = data(rows=200_000)
    cols = [f"x{i}" for i in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=cols)
    model = RandomForestRegressor(n_estimators=8, max_depth=12, random_state=0).fit(frame, y)
    ds = ray.data.from_pandas(frame.assign(row=np.arange(len(frame))))
    out = wf_ray.predict_dataset(model, ds).to_pandas().sort_values("row")
    np.testing.assert_array_equal(out["prediction"].to_numpy(), model.predict(frame))
    assert list(out.columns[: len(cols)]) == cols  # the rows' columns stay beside the prediction


def test_batch_prediction_streams_more_than_a_node_holds(cluster, tmp_path):
    """240 MB of rows through nodes whose object stores hold 80 MB each: the
    blocks are generated, predicted and written as they stream."""
    X, y = data(features=4)
    model = RandomForestRegressor(n_estimators=5, max_depth=6, random_state=0).fit(X, y)
    rows, cols = 5_000_000, ["a", "b", "c", "d"]

    def features(batch):
        rng = np.random.default_rng(int(batch["id"][0]))
        n = len(batch["id"])
        return {"id": batch["id"], **{c: rng.uniform(size=n) for c in cols}}

    ds = ray.data.range(rows, override_num_blocks=50).map_batches(features, batch_format="numpy")
    predicted = wf_ray.predict_dataset(model, ds, feature_columns=cols, batch_size=100_000)
    predicted.write_parquet(str(tmp_path))
    back = ray.data.read_parquet(str(tmp_path))
    assert back.count() == rows
    first = back.filter(expr="id < 1000").to_pandas().sort_values("id")
    x = first[cols].to_numpy()
    np.testing.assert_array_equal(first["prediction"].to_numpy(), model.predict(x))
