"""The package and the command line `metal label-model` give the same probabilities on the same
problem file.

The command line binary is ``$METAL_BIN``, or ``target/release/metal`` of the checkout these tests
are in (``cargo build --release -p metal-cli``; ``scripts/test-python.sh`` builds it).
"""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from metal_rs import LabelModel, TaskGraph

REPO = Path(__file__).resolve().parents[2]
METAL = Path(os.environ.get("METAL_BIN", REPO / "target" / "release" / "metal"))

pytestmark = pytest.mark.skipif(not METAL.is_file(), reason=f"no metal binary at {METAL}")


def metal(*args):
    done = subprocess.run([str(METAL), *map(str, args)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module", params=["flat", "tree"])
def problem(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param) / "problem"
    shape = ["--shape", "flat", "--k", "3", "--lfs-per-task", "8"] if request.param == "flat" else \
        ["--shape", "tree", "--spec", "2:2,2", "--lfs-per-task", "4"]
    metal("generate", out, *shape, "--n-train", "4000", "--n-test", "200", "--seed", "11")
    return out


def graph_of(schema):
    """The task graph and the LFs' tasks of a problem's schema.json, as a Python user writes them."""
    tasks = schema["tasks"]
    names = [t["name"] for t in tasks]
    defs = []
    for t in tasks:
        # Label names such that the end labels' names (their paths) are schema.json's.
        labels = [f"{t['name']}={v}" for v in range(t["cardinality"])]
        if t["parent"] is None:
            defs.append((t["name"], labels))
        else:
            parent = names[t["parent"]]
            defs.append((t["name"], labels, (parent, f"{parent}={t['parent_value']}")))
    lf_tasks = [names[t] for t in schema["lf_task"]] if len(tasks) > 1 else None
    return TaskGraph(defs), lf_tasks


# (model, the command line's --class-balance, the package's class_balance). The command line
# learns the class balance of every model by default; the package keeps each model's own default
# (learned, but uniform for triplet), or takes the balance given.
CASES = [
    ("hyper-hier", "learned", None),
    ("mc", "learned", None),
    ("mc", "uniform", "uniform"),
    ("mc-snorkel", "learned", None),
    ("hier", "learned", None),
    ("hier-paper", "learned", None),
    ("triplet", "uniform", None),
    ("mv", "learned", None),
    ("hyper", "learned", None),
]


@pytest.mark.parametrize("model, cli_balance, balance", CASES)
def test_probabilities_equal_the_command_lines(problem, model, cli_balance, balance, tmp_path):
    out = tmp_path / "probs.npy"
    line = json.loads(metal("label-model", "--problem", problem, "--model", model, "--seed", "0", "--threads", "1",
                            "--class-balance", cli_balance, "--out", out))
    theirs = np.load(out)
    schema = json.loads((problem / "schema.json").read_text())
    graph, lf_tasks = graph_of(schema)
    L = np.load(problem / "L_train.npy")
    if balance == "uniform":
        balance = np.full(graph.cardinality, 1 / graph.cardinality)
    lm = LabelModel(model=model, task_graph=graph, lf_tasks=lf_tasks)
    lm.fit(L, class_balance=balance, seed=0, progress_bar=False)
    ours = lm.predict_proba(L)
    # Columns in schema.json's end-label order.
    if len(schema["tasks"]) > 1:
        ours = ours[:, [graph.end_labels.index(e["name"]) for e in schema["end_labels"]]]
    assert ours.shape == theirs.shape == (line["n_train"], line["k"])
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)
