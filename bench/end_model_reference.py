#!/usr/bin/env python3
"""Reference timing for the end-model benchmark: snorkel-metal 0.5's MTEndModel (PyTorch) trained
on the same Reuters-21578 word-count features as `bench-end-model`.

Features: the title and text of each training article (joined by a newline), lowercased, split on
non-alphanumeric characters; the vocabulary is every word occurring at least twice over the
training texts, most frequent first (ties by word), at most 20,000 words (the defaults of
metal_runtime::featurize::FeaturizerConfig); values are counts. metal takes dense inputs, so X is
a dense float32 tensor.

Network: layer_out_dims = [V, 250, 50] (identity input module, then linear + ReLU layers of 250
and 50), Adam with lr 1e-3, batch size 32, 5 epochs, no dev set, no checkpointing, no learning-rate
scheduler. Architectures:
  single  one head over the 4 end labels on the top layer (MTEndModel with K=[4])
  flat    TaskHierarchy(cardinalities=[2, 3, 3], edges=[(0, 1), (0, 2)]) (child tasks carry
          metal's N/A value), all heads on the top layer
  hier    the same task graph with the root head on layer 1 and the child heads on layer 2
          (metal's placement: parents below children)
Labels are the gold labels (training time does not depend on them).

Prints one JSON line per configuration: seconds_per_epoch is the train_model time over the
number of epochs; test_accuracy is the end-label accuracy on the test split; peak_rss_mb is the
process's peak resident set (ru_maxrss), so each
configuration runs in a fresh process (this script with --n/--arch).

Usage
  python3 end_model_reference.py [--epochs E]                  # every configuration
  python3 end_model_reference.py --n 1000|6722 --arch single|flat|hier [--epochs E]
"""
import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "examples", "data", "reuters21578")
SIZES = [1000, 6722]
ARCHS = ["single", "flat", "hier"]
BATCH_SIZE = 32
SEED = 0
TOKEN = re.compile(r"[^\W_]+")


def load(n):
    with open(os.path.join(DATA, "train.jsonl")) as f:
        articles = [json.loads(line) for line in f if line.strip()]
    if n == 1000:
        by_id = {a["id"]: a for a in articles}
        with open(os.path.join(DATA, "train_1000_ids.txt")) as f:
            articles = [by_id[line.strip()] for line in f if line.strip()]
    return articles


def featurize(texts, min_count=2, max_size=20000):
    docs = [TOKEN.findall(t.lower()) for t in texts]
    counts = Counter(w for d in docs for w in d)
    kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))[:max_size]
    index = {w: i for i, w in enumerate(kept)}
    return docs, index


def run(n, arch, epochs):
    import networkx
    import numpy

    # metal 0.5 predates networkx 2.4 and numpy 1.24.
    networkx.Graph.node = property(networkx.Graph.nodes)
    numpy.int = int
    import torch
    from metal.multitask import MTEndModel, TaskHierarchy

    articles = load(n)
    docs, index = featurize([a["title"] + "\n" + a["text"] for a in articles])
    X = torch.zeros(len(docs), len(index), dtype=torch.float32)
    for i, d in enumerate(docs):
        for w in d:
            j = index.get(w)
            if j is not None:
                X[i, j] += 1.0
    gold = [a["label"] for a in articles]
    common = dict(
        layer_out_dims=[len(index), 250, 50],
        seed=SEED,
        verbose=False,
        device="cpu",
    )
    if arch == "single":
        model = MTEndModel(K=[4], **common)
        Y = [torch.tensor([y + 1 for y in gold])]
    else:
        graph = TaskHierarchy(cardinalities=[2, 3, 3], edges=[(0, 1), (0, 2)])
        head_layers = "top" if arch == "flat" else [1, 2, 2]
        model = MTEndModel(task_graph=graph, task_head_layers=head_layers, **common)
        # 1-based labels; 3 is N/A for the child task the article is not under.
        Y = [
            torch.tensor([1 if y < 2 else 2 for y in gold]),
            torch.tensor([y + 1 if y < 2 else 3 for y in gold]),
            torch.tensor([y - 1 if y >= 2 else 3 for y in gold]),
        ]
    start = time.perf_counter()
    model.train_model(
        (X, Y),
        n_epochs=epochs,
        progress_bar=False,
        checkpoint=False,
        lr_scheduler=None,
        data_loader_config={"batch_size": BATCH_SIZE, "num_workers": 0, "shuffle": True},
        optimizer_config={"optimizer": "adam", "optimizer_common": {"lr": 1e-3}},
    )
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    accuracy = test_accuracy(model, arch, index)
    print(
        json.dumps(
            {
                "name": "end_model_epoch",
                "impl": "snorkel-metal-0.5",
                "arch": arch,
                "n_train": len(articles),
                "n_features": len(index),
                "input": "dense",
                "epochs": epochs,
                "batch_size": BATCH_SIZE,
                "torch_threads": torch.get_num_threads(),
                "seconds_per_epoch": round(seconds / epochs, 4),
                "peak_rss_mb": round(peak_mb, 1),
                "test_accuracy": round(accuracy, 4),
            }
        ),
        flush=True,
    )


def test_accuracy(model, arch, index):
    """End-label accuracy on the test split. For the task graph, the end label follows the root's
    most probable class, then the most probable of that child task's two real classes."""
    import numpy
    import torch

    with open(os.path.join(DATA, "test.jsonl")) as f:
        articles = [json.loads(line) for line in f if line.strip()]
    docs = [TOKEN.findall((a["title"] + "\n" + a["text"]).lower()) for a in articles]
    X = torch.zeros(len(docs), len(index), dtype=torch.float32)
    for i, d in enumerate(docs):
        for w in d:
            j = index.get(w)
            if j is not None:
                X[i, j] += 1.0
    probs = model.predict_proba(X)
    if arch == "single":
        pred = numpy.argmax(numpy.asarray(probs[0]), axis=1)
    else:
        root, c1, c2 = (numpy.asarray(p) for p in probs)
        corporate = numpy.argmax(root, axis=1) == 0
        pred = numpy.where(corporate, numpy.argmax(c1[:, :2], axis=1), 2 + numpy.argmax(c2[:, :2], axis=1))
    gold = numpy.array([a["label"] for a in articles])
    return float((pred == gold).mean())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, choices=SIZES)
    p.add_argument("--arch", choices=ARCHS)
    p.add_argument("--epochs", type=int, default=5)
    args = p.parse_args()
    if (args.n is None) != (args.arch is None):
        p.error("--n and --arch go together")
    if args.n is not None:
        run(args.n, args.arch, args.epochs)
        return
    for n in SIZES:
        for arch in ARCHS:
            cmd = [sys.executable, os.path.abspath(__file__), "--n", str(n), "--arch", arch, "--epochs", str(args.epochs)]
            subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
