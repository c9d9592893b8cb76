#!/usr/bin/env python3
"""Export scikit-learn's diabetes data, split 80/20 with random_state 42, to CSV.

    python3 python/export_diabetes.py [--out data]

Writes diabetes_train.csv (353 rows) and diabetes_test.csv (89 rows): exactly
train_test_split(*load_diabetes(return_X_y=True), test_size=0.2, random_state=42),
feature names as header, `target` last. Values are written with repr(), which
round-trips float64 exactly, so every reader sees sklearn's very numbers.
The committed CSVs were produced by this script (scikit-learn 1.9.1); a test
pins their checksums.
"""

import argparse
import csv
import os

from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split


def write(path, names, X, y):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(list(names) + ["target"])
        for row, t in zip(X, y):
            w.writerow([repr(float(v)) for v in row] + [repr(float(t))])
    os.replace(tmp, path)  # never leave a half-written CSV behind


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "data"))
    args = ap.parse_args()
    data = load_diabetes()
    X_train, X_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.2, random_state=42
    )
    os.makedirs(args.out, exist_ok=True)
    write(os.path.join(args.out, "diabetes_train.csv"), data.feature_names, X_train, y_train)
    write(os.path.join(args.out, "diabetes_test.csv"), data.feature_names, X_test, y_test)
    print(f"wrote {len(y_train)} train and {len(y_test)} test rows to {os.path.normpath(args.out)}")


if __name__ == "__main__":
    main()
