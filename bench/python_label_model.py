#!/usr/bin/env python3
"""snorkel 0.10's LabelModel against metal_rs's, in one Python process on the same label matrix.

Loads a problem folder's L_train.npy (n × m, -1 = abstain) once, then fits, one after the other,
our default ``LabelModel(cardinality=k)``, ``model="mc"`` (the matrix-completion model with a
learned class balance), ``model="mc-snorkel"`` (the same with snorkel's settings) and snorkel's
``LabelModel(cardinality=k).fit(L, seed=0)`` (its defaults: 100 epochs of SGD), each called the
way a user calls it (the array conversion is inside the fit). For each it prints one JSON line: the fit's seconds, the peak resident memory the fit
added above what the process held before it (Linux: the peak is reset through
/proc/self/clear_refs before each fit and read from VmHWM), and the test accuracy when the folder
has L_test.npy and Y_test.npy. Every fit runs on `--threads` threads (torch.set_num_threads for
snorkel, RAYON_NUM_THREADS for ours, set before either is imported).

Usage: python_label_model.py PROBLEM_DIR [--threads N] [--only default,mc,mc-snorkel,snorkel]
"""
import argparse
import json
import os
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("problem")
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--only", default="default,mc,mc-snorkel,snorkel")
args = parser.parse_args()
os.environ["RAYON_NUM_THREADS"] = str(args.threads)
os.environ["OMP_NUM_THREADS"] = str(args.threads)

import numpy as np  # noqa: E402


def rss_mb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak():
    # Writing 5 resets the peak resident set (VmHWM) to the current one.
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


L = np.load(os.path.join(args.problem, "L_train.npy"))
schema = json.load(open(os.path.join(args.problem, "schema.json")))
k = int(schema["K"])
test = None
if os.path.exists(os.path.join(args.problem, "Y_test.npy")):
    test = (np.load(os.path.join(args.problem, "L_test.npy")), np.load(os.path.join(args.problem, "Y_test.npy")))

fits = {}
if "snorkel" in args.only:
    import torch
    from snorkel.labeling.model import LabelModel as SnorkelLabelModel

    torch.set_num_threads(args.threads)

    def fit_snorkel():
        model = SnorkelLabelModel(cardinality=k, verbose=False)
        model.fit(L, seed=0, progress_bar=False)
        return model

    fits["snorkel"] = fit_snorkel
import metal_rs  # noqa: E402

for name in ("mc", "mc-snorkel", "default"):
    fits[name] = (lambda model: lambda: metal_rs.LabelModel(cardinality=k, model=model).fit(L, seed=0, progress_bar=False))(name)

SYSTEMS = {"snorkel": "snorkel 0.10.0 LabelModel", "mc": "metal_rs LabelModel(model='mc')",
           "mc-snorkel": "metal_rs LabelModel(model='mc-snorkel')",
           "default": "metal_rs LabelModel() (hyper-hier)"}
for name in args.only.split(","):
    if name not in fits:
        sys.exit(f"unknown system {name!r} (snorkel, default, mc, mc-snorkel)")
    before = rss_mb("VmRSS")
    reset_peak()
    start = time.perf_counter()
    fitted = fits[name]()
    seconds = time.perf_counter() - start
    peak = rss_mb("VmHWM") - before
    line = {
        "name": "python_label_model",
        "system": SYSTEMS[name],
        "problem": os.path.basename(os.path.normpath(args.problem)),
        "n": int(L.shape[0]),
        "m": int(L.shape[1]),
        "k": k,
        "threads": args.threads,
        "fit_seconds": round(seconds, 3),
        "fit_peak_mb": round(peak, 1),
    }
    if test is not None:
        # Ties broken at random with a fixed seed, the same way for every system.
        probs = fitted.predict_proba(test[0])
        preds = metal_rs._probs_to_preds(probs, "random", 0)
        line["test_accuracy"] = round(float((preds == test[1]).mean()), 4)
    print(json.dumps(line), flush=True)
    del fitted
