"""The Ray backend on a local multi-node cluster: a head and two worker nodes,
each its own raylet process on this machine (ray.cluster_utils.Cluster)."""

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


def test_ranges_cover_the_trees_once():
    assert wf_ray.ranges(11, 3) == [(0, 4), (4, 4), (8, 3)]
    assert wf_ray.ranges(2, 5) == [(0, 1), (1, 1)]
    for n, k in [(1, 1), (200, 7), (13, 13)]:
        r = wf_ray.ranges(n, k)
        assert [f for f, _ in r] == list(np.cumsum([0] + [c for _, c in r])[:-1])
        assert sum(c for _, c in r) == n


def test_a_lost_worker_node_is_survived_with_the_same_bytes(cluster):
    c, workers = cluster
    X, y = data(rows=60_000, features=8, seed=3)
    params = dict(n_estimators=16, splitter="exact", random_state=3)
    expected = RandomForestRegressor(**params).fit(X, y).model_bytes_
    result = {}

    def fit():
        try:
            result["model"] = RandomForestRegressor(**params, backend="ray", ray_tasks=8).fit(X, y)
        except BaseException as e:  # reported below
            result["error"] = e

    fitting = threading.Thread(target=fit)
    fitting.start()
    # Both worker nodes' CPUs taken: a range is being grown on each.
    deadline = time.monotonic() + 120
    while ray.available_resources().get("CPU", 0) > 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fitting.is_alive(), "the fit ended before a node could be removed: make it longer"
    c.remove_node(workers[0], allow_graceful=False)
    workers[0] = c.add_node(num_cpus=1, object_store_memory=80 * MIB)  # for the tests after this one
    fitting.join(timeout=300)
    assert not fitting.is_alive()
    assert "error" not in result, result.get("error")
    assert result["model"].model_bytes_ == expected


def test_a_real_failure_fails_the_fit_once_with_the_components_message(cluster):
    X, y = data(rows=40_000)
    t = time.perf_counter()
    with pytest.raises(SandboxMemoryError, match="memory limit"):
        RandomForestRegressor(n_estimators=4, max_memory_mib=2, backend="ray", ray_tasks=2).fit(X, y)
    with pytest.raises(ValueError, match="max_samples"):
        RandomForestRegressor(n_estimators=4, max_samples=10**6, backend="ray").fit(X, y)
    # Not retried: each failing range ran once (a retry would meet the same error).
    assert time.perf_counter() - t < 60


def test_progress_bar_sums_the_tasks(cluster, capsys):
    X, y = data()
    RandomForestRegressor(n_estimators=9, backend="ray", ray_tasks=3, verbose=1, random_state=0).fit(X, y)
    err = capsys.readouterr().err
    assert "9/9" in err


def test_batch_prediction_over_a_ray_dataset(cluster):
    pd = pytest.importorskip("pandas")
    X, y = data()
    cols = [f"x{i}" for i in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=cols)
    model = RandomForestRegressor(n_estimators=8, random_state=0).fit(frame, y)
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
