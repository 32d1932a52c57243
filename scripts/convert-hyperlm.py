#!/usr/bin/env python3
"""Converts the Hyper Label Model checkpoint of the `hyperlm` package into JSON, once.

The package (`hyperlm==0.0.5` on PyPI, MIT) ships its pretrained weights as `checkpoint.pt`, a
torch pickle. A pickle can run code when loaded, so the library never reads it: this script loads
it once, on a machine where the package is installed, and writes every tensor as plain numbers to
`metal-runtime/src/label_model/hyper/weights.json`, which the library embeds at compile time.

    python3 -m venv venv && venv/bin/pip install torch numpy scipy hyperlm==0.0.5
    venv/bin/python scripts/convert-hyperlm.py

Each float32 weight is written as the shortest decimal that reads back as the same float32
(`repr` of the float64 it widens to), so no precision is lost.
"""
import json
import os
import sys

import torch
import hyperlm

VERSION = "0.0.5"


def main():
    pkg = os.path.dirname(os.path.realpath(hyperlm.__file__))
    path = os.path.join(pkg, "checkpoint.pt")
    from importlib.metadata import version

    if version("hyperlm") != VERSION:
        sys.exit(f"convert-hyperlm: expected hyperlm=={VERSION}, found {version('hyperlm')}")
    # The one trusted file this script exists to convert; torch >= 2.6 needs weights_only=False
    # for its optimizer state.
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    state = ckpt["model_state_dict"]
    tensors = {}
    for name, t in state.items():
        t = t.detach().to(torch.float32).contiguous()
        tensors[name] = {"shape": list(t.shape), "data": [float(x) for x in t.flatten().tolist()]}
    out = {
        "source": f"hyperlm=={VERSION} (PyPI), hyperlm/checkpoint.pt, model_state_dict",
        "license": "MIT (see LICENSE-hyperlm next to this file)",
        "tensors": tensors,
    }
    here = os.path.dirname(os.path.realpath(__file__))
    dst = os.path.join(here, "..", "metal-runtime", "src", "label_model", "hyper", "weights.json")
    with open(dst, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(tensors)} tensors to {os.path.normpath(dst)}")


if __name__ == "__main__":
    main()
