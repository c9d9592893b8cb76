"""Paired timing of two wasm-forest binaries (e.g. before and after a change):
`compare --no-python --no-gpu` run with each, the order alternated per pair
(ABBA), and per system the median and IQR of the per-pair ratios after/before
of the training and prediction medians.

    python3 python/abba_compare.py BEFORE_BIN AFTER_BIN PAIRS [compare flags...]
"""
import json, subprocess, sys, statistics as st, tempfile, os
before, after, pairs, extra = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
def run(binary):
    with tempfile.TemporaryDirectory() as d:
        j = os.path.join(d, "c.json")
        subprocess.run([binary, "compare", "--no-python", "--no-gpu", "--json", j,
                        "--model-out", os.path.join(d, "m.bin"), *extra],
                       check=True, capture_output=True, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        r = json.load(open(j))
        get = lambda s: next(x for x in r["systems"] if x["system"] == s)
        return {k: get(k)["train_median_s"] for k in ("wasm", "native")} | \
               {k + "_p": get(k)["predict_median_s"] for k in ("wasm", "native")}
ratios = {k: [] for k in ("wasm", "native", "wasm_p", "native_p")}
meds = {"before": {k: [] for k in ratios}, "after": {k: [] for k in ratios}}
for i in range(pairs):
    order = [before, after] if i % 2 == 0 else [after, before]
    res = {b: run(b) for b in order}
    for k in ratios:
        ratios[k].append(res[after][k] / res[before][k])
        meds["before"][k].append(res[before][k]); meds["after"][k].append(res[after][k])
    print(i, {k: round(v[-1], 3) for k, v in ratios.items()}, flush=True)
for k, v in ratios.items():
    q = st.quantiles(v, n=4)
    print(f"{k}: median ratio {st.median(v):.3f} (IQR {q[0]:.3f}-{q[2]:.3f}); medians of runs "
          f"{st.median(meds['before'][k])*1e3:.2f} -> {st.median(meds['after'][k])*1e3:.2f} ms")
