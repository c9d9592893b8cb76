"""Tests of reference.py (stdlib unittest; run: python3 -m unittest discover -s python)."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
from sklearn.ensemble import RandomForestRegressor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import reference  # noqa: E402

TRAIN = os.path.join(ROOT, "data", "diabetes_train.csv")
TEST = os.path.join(ROOT, "data", "diabetes_test.csv")


def run_reference(*args):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "r.json")
        proc = subprocess.run(
            [sys.executable, os.path.join(HERE, "reference.py"), "--train", TRAIN, "--test", TEST,
             "--json", out, *args],
            capture_output=True, text=True, check=True,
        )
        with open(out) as f:
            return proc.stdout, json.load(f)


class ReferenceTest(unittest.TestCase):
    def test_same_mse_as_scikit_learn_run_directly(self):
        stdout, r = run_reference("--system", "sklearn-1", "--n-estimators", "20", "--repeat", "1", "--seed", "3")
        tr = np.loadtxt(TRAIN, delimiter=",", skiprows=1)
        te = np.loadtxt(TEST, delimiter=",", skiprows=1)
        m = RandomForestRegressor(n_estimators=20, max_depth=16, random_state=3, n_jobs=1).fit(tr[:, :-1], tr[:, -1])
        direct = float(np.mean((m.predict(te[:, :-1]) - te[:, -1]) ** 2))
        self.assertEqual(r["mse"], direct)
        self.assertEqual((r["n_train"], r["n_test"], r["n_features"]), (353, 89, 10))
        self.assertEqual(len(r["train_s"]), 1)
        self.assertGreater(r["peak_rss_bytes"], 10 << 20)
        self.assertIn("[INFERENCE] Samples: 89", stdout)
        self.assertIn(f"[INFERENCE] Mean Squared Error (CPU): {direct:.4f}", stdout)

    def test_all_cores_gives_the_same_model(self):
        _, one = run_reference("--system", "sklearn-1", "--n-estimators", "10", "--repeat", "1")
        _, all_ = run_reference("--system", "sklearn-all", "--n-estimators", "10", "--repeat", "1")
        self.assertEqual(one["mse"], all_["mse"])

    def test_hyperparameters_are_passed_through(self):
        self.assertEqual(reference.parse_max_features("all"), 1.0)
        self.assertEqual(reference.parse_max_features("sqrt"), "sqrt")
        self.assertEqual(reference.parse_max_features("3"), 3)
        self.assertEqual(reference.parse_max_features("0.5"), 0.5)
        self.assertEqual(reference.parse_max_samples("0.5"), 0.5)
        _, r1 = run_reference("--n-estimators", "5", "--repeat", "1", "--max-features", "sqrt", "--max-samples", "0.5")
        _, r2 = run_reference("--n-estimators", "5", "--repeat", "1")
        self.assertNotEqual(r1["mse"], r2["mse"])

    def test_serve_mode_answers_each_command_and_gives_the_same_model(self):
        cmds = "fit\npredict\nfit\npredict\nnonsense\ndone\n"
        proc = subprocess.run(
            [sys.executable, os.path.join(HERE, "reference.py"), "--train", TRAIN, "--test", TEST,
             "--system", "sklearn-1", "--n-estimators", "10", "--serve"],
            input=cmds, capture_output=True, text=True, check=True,
        )
        answers = [json.loads(l[3:]) for l in proc.stdout.splitlines() if l.startswith("@@ ")]
        self.assertEqual(answers[0], {"ready": True})
        self.assertEqual([sorted(a) for a in answers[1:5]], [["train_s"], ["predict_s"]] * 2)
        self.assertIn("unknown command", answers[5]["error"])
        final = answers[6]
        self.assertEqual((len(final["train_s"]), len(final["predict_s"])), (2, 2))
        _, batch = run_reference("--system", "sklearn-1", "--n-estimators", "10", "--repeat", "1")
        self.assertEqual(final["mse"], batch["mse"])
        self.assertIn("[INFERENCE] Samples: 89", proc.stdout)

    def test_cuml_runs_or_is_skipped_with_a_reason(self):
        reason = reference.cuml_unavailable_reason()
        stdout, r = run_reference("--system", "cuml", "--n-estimators", "10", "--repeat", "1")
        if reason is None:
            self.assertEqual(r["device"], "gpu")
            self.assertLess(abs(r["mse"] - 3000) / 3000, 0.2)
        else:
            print(f"\n[cuml test] cuML branch not exercised: {reason}", file=sys.stderr)
            self.assertEqual(r, {"system": "cuml", "skipped": reason})
            self.assertIn(f"[SKIP] cuml: {reason}", stdout)


if __name__ == "__main__":
    unittest.main()
