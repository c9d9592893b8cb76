#!/usr/bin/env python3
"""The Python reference for wasm-forest: scikit-learn (CPU) and, where available,
RAPIDS cuML (GPU) RandomForestRegressor on the very CSVs the host uses.

    python3 python/reference.py --system sklearn-1 --train data/diabetes_train.csv \
        --test data/diabetes_test.csv --json out.json

Systems: sklearn-1 (n_jobs=1), sklearn-all (n_jobs=-1), cuml (GPU; FIL inference), and
wasm-py: this project's own Python package (wasm_forest, python-package/) where it is
installed, i.e. the sandboxed forest as a Python user calls it.
Each system runs one warm-up fit+predict, then --repeat timed ones. It prints
[TRAINING] / [INFERENCE] status lines and writes its figures as JSON: per-iteration
seconds for train and predict, the MSE, and the process's peak RSS (run one
system per process for a per-system figure; the host does).

With --serve it loads the data and then takes commands on standard input, one
a line, so that the host can interleave its runs with the other systems' (on a
shared machine, runs close in time see the same load): `fit` fits a fresh model,
`predict` predicts the test set with the last one, `done` ends. Every answer,
like the final result, is one line `@@ <json>`; other lines are the log.
"""

import argparse
import json
import os
import resource
import sys
import time

import numpy as np

SYSTEMS = ("sklearn-1", "sklearn-all", "cuml", "wasm-py")


def load_csv(path, target):
    with open(path) as f:
        header = f.readline().strip().split(",")
    # Empty cells and NaN (the host's missing values) read as NaN.
    data = np.genfromtxt(path, delimiter=",", skip_header=1, ndmin=2, filling_values=np.nan)
    t = header.index(target) if target else len(header) - 1
    X = np.delete(data, t, axis=1)
    return X, data[:, t], [h for i, h in enumerate(header) if i != t]


def parse_max_features(v):
    if v in ("all", None):
        return 1.0
    if v in ("sqrt", "log2"):
        return v
    return float(v) if "." in v or "e" in v.lower() else int(v)


def parse_max_samples(v):
    if v is None:
        return None
    return float(v) if "." in v or "e" in v.lower() else int(v)


def peak_rss_bytes():
    # Linux: VmHWM belongs to this process image alone. ru_maxrss is not usable
    # there: it keeps the parent's peak across fork + exec (a Rust host's, say).
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


def cuml_unavailable_reason():
    """None if cuML can run here, else why not."""
    try:
        import cuml  # noqa: F401
        import cupy
    except ImportError as e:
        return f"cuML is not installed ({e.name} does not import)"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "no CUDA GPU is visible"
    except Exception as e:  # CUDA driver missing or broken
        return f"CUDA is not usable ({e})"
    return None


def wasm_py_unavailable_reason():
    """None if the wasm_forest package imports, else why not."""
    try:
        import wasm_forest  # noqa: F401
    except ImportError as e:
        return f"wasm_forest is not installed ({e}; pip install ./python-package)"
    return None


def unavailable_reason(system):
    if system == "cuml":
        return cuml_unavailable_reason()
    if system == "wasm-py":
        return wasm_py_unavailable_reason()
    return None


def sklearn_params(a):
    """The hyperparameters in scikit-learn's names (wasm_forest takes them too)."""
    return dict(
        n_estimators=a.n_estimators,
        max_depth=a.max_depth,
        random_state=a.seed,
        min_samples_split=a.min_samples_split,
        min_samples_leaf=a.min_samples_leaf,
        max_features=parse_max_features(a.max_features),
        bootstrap=a.bootstrap,
        max_samples=parse_max_samples(a.max_samples),
        min_weight_fraction_leaf=a.min_weight_fraction_leaf,
        max_leaf_nodes=a.max_leaf_nodes,
        min_impurity_decrease=a.min_impurity_decrease,
    )


def make_model(system, a):
    common = dict(n_estimators=a.n_estimators, max_depth=a.max_depth, random_state=a.seed)
    if system == "wasm-py":
        from wasm_forest import RandomForestRegressor

        return RandomForestRegressor(**sklearn_params(a), splitter=a.splitter, n_workers=a.workers, device="cpu")
    if system == "cuml":
        from cuml.ensemble import RandomForestRegressor

        mf = parse_max_features(a.max_features)
        if a.min_weight_fraction_leaf:
            raise ValueError("cuML's RandomForestRegressor has no min_weight_fraction_leaf")
        return RandomForestRegressor(
            **common,
            max_features=mf,
            bootstrap=a.bootstrap,
            min_samples_split=a.min_samples_split,
            min_samples_leaf=a.min_samples_leaf,
            max_leaves=-1 if a.max_leaf_nodes is None else a.max_leaf_nodes,
            min_impurity_decrease=a.min_impurity_decrease,
            n_streams=1,  # reproducible with a fixed random_state
        )
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(**sklearn_params(a), n_jobs=1 if system == "sklearn-1" else -1)


class Reference:
    """One system's data and models: fit and predict, timed."""

    def __init__(self, system, a):
        self.system, self.a = system, a
        X_train, y_train, self.names = load_csv(a.train, a.target)
        X_test, self.y_test, _ = load_csv(a.test, a.target)
        if system == "cuml":
            # cuML works in float32, like the trees of both other systems.
            X_train, X_test = X_train.astype(np.float32), X_test.astype(np.float32)
            y_train = y_train.astype(np.float32)
            self.device, label = "gpu", "cuML RandomForestRegressor (GPU, FIL inference)"
        elif system == "wasm-py":
            self.device, label = "cpu", "wasm_forest RandomForestRegressor (in the wasm sandbox, from Python)"
        else:
            self.device = "cpu"
            label = f"scikit-learn RandomForestRegressor (CPU, n_jobs={1 if system == 'sklearn-1' else -1})"
        self.X_train, self.y_train, self.X_test = X_train, y_train, X_test
        self.model, self.pred = None, None
        print(f"[TRAINING] {label}: {a.n_estimators} estimators, max_depth {a.max_depth}")
        print(f"[TRAINING] Starting training on {self.device.upper()}...")

    def fit(self):
        self.model = make_model(self.system, self.a)
        t = time.perf_counter()
        self.model.fit(self.X_train, self.y_train)
        return time.perf_counter() - t

    def predict(self):
        t = time.perf_counter()
        self.pred = np.asarray(self.model.predict(self.X_test), dtype=np.float64)
        return time.perf_counter() - t

    def result(self, train_s, predict_s):
        """The figures as JSON, after the closing status lines."""
        print("[TRAINING] Completed.")
        device = self.device.upper()
        mse = float(np.mean((self.pred - self.y_test) ** 2))
        print(f"[INFERENCE] Prediction on the test set ({device})...")
        print(f"[INFERENCE] Samples: {len(self.y_test)}")
        print(f"[INFERENCE] Mean Squared Error ({device}): {mse:.4f}")
        import sklearn

        version = f"scikit-learn {sklearn.__version__}"
        if self.system == "cuml":
            import cuml

            version = f"cuML {cuml.__version__}"
        elif self.system == "wasm-py":
            import wasm_forest

            version = f"wasm_forest {wasm_forest.__version__}"
        return {
            "system": self.system,
            "device": self.device,
            "library": version,
            "n_train": int(len(self.y_train)),
            "n_test": int(len(self.y_test)),
            "n_features": int(self.X_train.shape[1]),
            "feature_names": self.names,
            "train_s": train_s,
            "predict_s": predict_s,
            "mse": mse,
            # The last predictions, so that the host can tell whether its
            # model is the same as this one (max |difference|).
            "predictions": self.pred.tolist(),
            "peak_rss_bytes": peak_rss_bytes(),
            "cpu_count": os.cpu_count(),
        }


def run(system, a):
    ref = Reference(system, a)
    train_s, predict_s = [], []
    for i in range(a.repeat + 1):  # iteration 0 is the warm-up
        fit = ref.fit()
        inf = ref.predict()
        if i > 0:
            train_s.append(fit)
            predict_s.append(inf)
    return ref.result(train_s, predict_s)


def serve(system, a, commands=sys.stdin, out=sys.stdout):
    """The command loop of --serve (see the module's docstring)."""

    def answer(obj):
        print("@@ " + json.dumps(obj), file=out, flush=True)

    ref = Reference(system, a)
    answer({"ready": True})
    train_s, predict_s = [], []
    for line in commands:
        cmd = line.strip()
        if cmd == "fit":
            train_s.append(ref.fit())
            answer({"train_s": train_s[-1]})
        elif cmd == "predict":
            if ref.model is None:
                answer({"error": "predict before fit"})
                continue
            predict_s.append(ref.predict())
            answer({"predict_s": predict_s[-1]})
        elif cmd == "done":
            break
        else:
            answer({"error": f"unknown command {cmd!r} (fit, predict, done)"})
    if ref.pred is None:
        answer({"system": system, "error": "done before any predict"})
        return
    answer(ref.result(train_s, predict_s))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--system", choices=SYSTEMS, default="sklearn-1")
    ap.add_argument("--train", default="data/diabetes_train.csv")
    ap.add_argument("--test", default="data/diabetes_test.csv")
    ap.add_argument("--target", default=None, help="target column (default: the last one)")
    ap.add_argument("--n-estimators", type=int, default=200)
    ap.add_argument("--max-depth", type=lambda v: None if v.lower() == "none" else int(v), default=16)
    ap.add_argument("--min-samples-split", type=int, default=2)
    ap.add_argument("--min-samples-leaf", type=int, default=1)
    ap.add_argument("--max-features", default="all")
    ap.add_argument("--bootstrap", type=lambda v: v.lower() == "true", default=True)
    ap.add_argument("--max-samples", default=None)
    ap.add_argument("--min-weight-fraction-leaf", type=float, default=0.0)
    ap.add_argument("--max-leaf-nodes", type=lambda v: None if v.lower() == "none" else int(v), default=None)
    ap.add_argument("--min-impurity-decrease", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--splitter", default="auto", help="wasm-py only")
    ap.add_argument("--workers", type=int, default=None, help="wasm-py only (default: the host's)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", default=None, help="write the figures here")
    ap.add_argument("--serve", action="store_true", help="take fit/predict/done commands on stdin")
    a = ap.parse_args(argv)

    reason = unavailable_reason(a.system)
    if reason:
        print(f"[SKIP] {a.system}: {reason}")
        result = {"system": a.system, "skipped": reason}
        if a.serve:
            print("@@ " + json.dumps(result), flush=True)
        if a.json:
            write_json(a.json, result)
        return 0
    if a.serve:
        serve(a.system, a)
        return 0
    result = run(a.system, a)
    if a.json:
        write_json(a.json, result)
    return 0


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
