#!/usr/bin/env python3
"""The LF-application reference: snorkel 0.10's PandasLFApplier on the fifteen regular-expression
LFs of bench/lfapply/reuters21578_lfs.py, with their preparation as a memoized snorkel
preprocessor, applied to the first N rows of a JSON-lines file read again from its start until N
rows are read (what `bench-lfapply --rows N` reads). Prints one JSON line with the time and
items/s of the application itself (the DataFrame is built before the clock starts) and the
process's peak resident set; `--matrix-out L.npy` saves the label matrix (int8, -1 = abstain) for
`bench-lfapply --check`.

Usage: lfapply_reference.py N [--file train.jsonl] [--matrix-out L.npy]
"""
import argparse
import json
import os
import resource
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "lfapply"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from snorkel.labeling import PandasLFApplier, labeling_function  # noqa: E402
from snorkel.preprocess import preprocessor  # noqa: E402

import reuters21578_lfs as reference  # noqa: E402


def rows_of(path, n):
    """The first n lines of the file read again and again, as (title, text) pairs."""
    out = []
    while len(out) < n:
        before = len(out)
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                record = json.loads(line)
                out.append((record["title"], record["text"]))
                if len(out) == n:
                    break
        if len(out) == before:
            sys.exit(f"{path}: no rows")
    return out


@preprocessor(memoize=True, memoize_key=lambda x: x.name)
def prepared(x):
    # The reference's preparation (lowercased headline, text and body), once per row.
    x.prepared = reference.prepare({"title": x.title, "text": x.text})
    return x


def as_snorkel_lf(lf):
    @labeling_function(name=lf.name, pre=[prepared])
    def vote(x):
        label = lf.fn(x.prepared)
        return -1 if label is None else label

    return vote


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", type=int)
    parser.add_argument("--file", default=os.path.join(here, "..", "examples", "data", "reuters21578", "train.jsonl"))
    parser.add_argument("--matrix-out")
    args = parser.parse_args()
    rows = rows_of(args.file, args.rows)
    frame = pd.DataFrame({"title": [t for t, _ in rows], "text": [x for _, x in rows]})
    applier = PandasLFApplier([as_snorkel_lf(lf) for lf in reference.LFS])
    start = time.perf_counter()
    matrix = applier.apply(frame, progress_bar=False)
    seconds = time.perf_counter() - start
    if args.matrix_out:
        np.save(args.matrix_out, matrix.astype(np.int8))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({
        "name": "apply_lfs_stream", "impl": "snorkel-0.10-pandas", "rows": len(rows), "threads": 1,
        "n_lfs": len(reference.LFS), "n_votes": int((matrix >= 0).sum()), "seconds": round(seconds, 4),
        "items_per_second": round(len(rows) / seconds), "peak_rss_mb": round(peak_mb, 1),
    }))


if __name__ == "__main__":
    main()
