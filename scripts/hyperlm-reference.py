#!/usr/bin/env python3
"""Probabilities of the Python Hyper Label Model (`hyperlm==0.0.5`) on a label matrix, for
checking the library's port against it.

    venv/bin/python scripts/hyperlm-reference.py L_train.npy OUT.npy

Writes `HyperLabelModel().infer(L, return_probs=True)` as float64 (n × k) and prints one JSON line
with the inference time. Loading the package's checkpoint (a pickle) needs weights_only=False on
torch >= 2.6; this script runs only on the reference side, never in the library.
"""
import functools
import json
import sys
import time

import numpy as np
import torch

torch.load = functools.partial(torch.load, weights_only=False)
torch.set_num_threads(int(__import__("os").environ.get("HYPERLM_THREADS", "1")))
from hyperlm import HyperLabelModel  # noqa: E402


def main():
    src, dst = sys.argv[1], sys.argv[2]
    L = np.load(src).astype(np.int64)
    model = HyperLabelModel(device="cpu")
    start = time.perf_counter()
    probs = model.infer(L, return_probs=True)
    secs = time.perf_counter() - start
    np.save(dst, np.asarray(probs, dtype=np.float64))
    print(json.dumps({"name": "hyperlm_reference", "matrix": src, "n": int(L.shape[0]), "seconds": secs}))


if __name__ == "__main__":
    main()
