#!/usr/bin/env python3
"""The Python references of the label-quality benchmark, on the same files as
`bench-label-quality`: snorkel 0.10's `LabelModel` (defaults: 100 epochs, seed 123, torch on one
thread), the Hyper Label Model package (`hyperlm==0.0.5`, `infer(L, return_probs=True)`) and,
on the binary sets, flyingsquid's `LabelModel` (the triplet method, defaults), on
the WRENCH suite (fit and scored on the same items) and the WRENCH train/test splits. Prints one
JSON line per (set, model), like `bench-label-quality`: argmax with ties broken uniformly at random
(seed 0).

    PYTHON bench/label_quality_reference.py [DATA_DIR]

DATA_DIR defaults to metal-runtime/tests/data. Needs numpy, torch, snorkel==0.10.0,
hyperlm==0.0.5 and flyingsquid with pgmpy (see ../shared's bench requirements; today's pgmpy
renamed `MarkovModel`, which flyingsquid imports, to `DiscreteMarkovNetwork`: the alias is set
here before the import). hyperlm's checkpoint is a pickle, which
torch >= 2.6 refuses by default; it is loaded here with weights_only=False, on the reference side
only.
"""
import functools
import json
import os
import sys
import time

import numpy as np
import torch

torch.set_num_threads(1)
_load = torch.load
torch.load = functools.partial(_load, weights_only=False)

SUITE = ["youtube", "sms", "trec", "imdb", "yelp", "commercial", "tennis"]
SPLITS = ["youtube", "sms", "trec"]


def read_jsonl(path):
    L, y = [], []
    with open(path) as f:
        for line in f:
            if line.strip():
                o = json.loads(line)
                L.append(o["weak_labels"])
                y.append(o["label"])
    return np.array(L, dtype=np.int64), np.array(y, dtype=np.int64)


def argmax_random_ties(probs, seed=0):
    rng = np.random.default_rng(seed)
    best = probs.max(axis=1, keepdims=True)
    ties = probs >= best - 1e-12
    noise = rng.random(probs.shape) * ties
    return noise.argmax(axis=1)


def flyingsquid_label_model():
    """flyingsquid's LabelModel, with the one rename of today's pgmpy it needs."""
    import pgmpy.models as pm

    if not hasattr(pm, "MarkovModel"):
        pm.MarkovModel = pm.DiscreteMarkovNetwork
    from flyingsquid.label_model import LabelModel

    return LabelModel


try:
    flyingsquid_label_model()
    HAVE_FLYINGSQUID = True
except ImportError:
    print("label_quality_reference: no flyingsquid; skipping it", file=sys.stderr)
    HAVE_FLYINGSQUID = False


def run(name, source, L_train, L_eval, gold, k):
    from hyperlm import HyperLabelModel
    from snorkel.labeling.model import LabelModel

    models = ["snorkel-lm", "hyperlm"] + (["flyingsquid"] if k == 2 and HAVE_FLYINGSQUID else [])
    for model in models:
        start = time.perf_counter()
        if model == "snorkel-lm":
            lm = LabelModel(cardinality=k, verbose=False)
            lm.fit(L_train, seed=123, progress_bar=False)
            fit = time.perf_counter() - start
            probs = lm.predict_proba(L_eval)
        elif model == "flyingsquid":
            # Binary only; votes in {-1, 0, +1} with 0 = abstain.
            conv = lambda X: np.where(X < 0, 0, np.where(X == 1, 1, -1)).astype(np.int64)
            lm = flyingsquid_label_model()(L_train.shape[1])
            lm.fit(conv(L_train))
            fit = time.perf_counter() - start
            probs = lm.predict_proba(conv(L_eval))  # columns: class 0, class 1
        else:
            hlm = HyperLabelModel(device="cpu")
            if L_eval is L_train:
                probs = hlm.infer(L_train, return_probs=True)
            else:
                # Transductive: run on train and eval rows together, keep the eval rows.
                probs = hlm.infer(np.vstack([L_train, L_eval]), return_probs=True)[len(L_train):]
            fit = time.perf_counter() - start
        pred = argmax_random_ties(np.asarray(probs))
        print(json.dumps({
            "name": "label_quality", "set": name, "source": source, "model": model, "impl": "python",
            "n_train": int(L_train.shape[0]), "m": int(L_train.shape[1]), "k": k,
            "accuracy": float((pred == gold).mean()), "fit_seconds": fit,
        }), flush=True)


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else "metal-runtime/tests/data"
    for name in SUITE:
        d = os.path.join(data, "wrench-suite", name)
        L = np.load(os.path.join(d, "L_train.npy")).astype(np.int64)
        y = np.load(os.path.join(d, "Y_train.npy")).astype(np.int64)
        k = json.load(open(os.path.join(d, "schema.json")))["K"]
        run(name, "wrench-suite", L, L, y, k)
    for name in SPLITS:
        d = os.path.join(data, "wrench-splits", name)
        L_train, _ = read_jsonl(os.path.join(d, "train.jsonl"))
        L_test, y_test = read_jsonl(os.path.join(d, "test.jsonl"))
        k = len(json.load(open(os.path.join(d, "source_label.json"))))
        run(name, "wrench-split", L_train, L_test, y_test, k)


if __name__ == "__main__":
    main()
