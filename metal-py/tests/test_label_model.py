"""Fitting, prediction, bad input, persistence, sparse matrices and hierarchies."""

import json
import os
import threading
import time

import numpy as np
import pytest

import metal_rs
from metal_rs import LabelModel, MajorityLabelVoter, TaskGraph
from metal_rs import _core

from conftest import simulate


def test_learns_lf_accuracies_and_beats_majority_vote():
    accs = [0.95, 0.9, 0.6, 0.55, 0.55, 0.55, 0.55]
    L, y = simulate(20000, accs, k=2, coverage=0.6, seed=3)
    for model in ("default", "mc", "hier"):
        lm = LabelModel(cardinality=2, model=model).fit(L, seed=0, progress_bar=False)
        learned = lm.get_weights()
        assert learned.shape == (len(accs),) and learned.dtype == np.float64
        assert np.abs(learned - accs).mean() < 0.05, (model, learned)
        ours = lm.score(L, y)["accuracy"]
        mv = MajorityLabelVoter(cardinality=2).score(L, y, tie_break_policy="random")["accuracy"]
        assert ours > mv + 0.02, (model, ours, mv)


def test_conditional_probs_are_snorkels_table(multiclass):
    L, _ = multiclass
    m, k = L.shape[1], 4
    for model in ("mc", "mc-snorkel"):
        lm = LabelModel(cardinality=k, model=model).fit(L)
        table = lm.get_conditional_probs()
        assert table.shape == (m, k + 1, k) and table.dtype == np.float64
        # Each LF's column over abstain and its k votes is a distribution given the class.
        assert np.allclose(table.sum(axis=1), 1.0)
        assert np.all(table >= -1e-12)
        # The LFs vote on about 70 % of the items (conftest's coverage), whatever the class.
        assert np.allclose(table[:, 0, :], 0.3, atol=0.05)
    with pytest.raises(ValueError, match="no conditional probability table"):
        LabelModel(cardinality=k, model="hier").fit(L).get_conditional_probs()


def test_same_seed_same_result(multiclass):
    L, _ = multiclass
    a = LabelModel(cardinality=4).fit(L, seed=5).predict_proba(L)
    b = LabelModel(cardinality=4).fit(L, seed=5).predict_proba(L)
    assert np.array_equal(a, b)


def test_class_balance_and_dev_labels(binary):
    L, y = binary
    lm = LabelModel(cardinality=2, model="mc").fit(L, class_balance=[0.3, 0.7])
    assert np.allclose(lm.get_class_balance(), [0.3, 0.7])
    lm = LabelModel(cardinality=2, model="mc").fit(L, Y_dev=np.array([0, 0, 0, 1]))
    # One pseudo-count per class: (3 + 1, 1 + 1) / 6.
    assert np.allclose(lm.get_class_balance(), [4 / 6, 2 / 6])


@pytest.mark.parametrize(
    "L, error, message",
    [
        (np.array([0, 1, -1]), ValueError, "2-D label matrix"),
        (np.zeros((3, 2, 2), dtype=int), ValueError, "2-D label matrix"),
        (np.array([[0.0, 1.0]]), TypeError, "integer array"),
        (np.array([[True, False]]), TypeError, "integer array"),
        (np.array([["a", "b"]]), TypeError, "integer array"),
        (np.array([[0, 1], [1, 2]]), ValueError, "item 1"),
        (np.array([[0, -2]]), ValueError, "-2"),
    ],
)
def test_bad_label_matrices_raise_with_the_reason(L, error, message):
    with pytest.raises(error, match=message):
        LabelModel(cardinality=2).fit(L)


def test_bad_arguments_raise(binary):
    L, y = binary
    with pytest.raises(ValueError, match="unknown model 'snorkel'; the models are: default, hyper-hier, mc"):
        LabelModel(model="snorkel")
    with pytest.raises(TypeError, match="cardinality must be an integer"):
        LabelModel(cardinality=2.0)
    for k in (1, 0, -3):
        with pytest.raises(ValueError, match="cardinality must be at least 2"):
            LabelModel(cardinality=k)
    with pytest.raises(ValueError, match="more than the 1048576 labels"):
        LabelModel(cardinality=10**9)
    with pytest.raises(ValueError, match="not fitted yet"):
        LabelModel().predict_proba(L)
    with pytest.raises(ValueError, match="not fitted yet"):
        LabelModel().get_weights()
    with pytest.raises(TypeError, match="unexpected keyword arguments \\['epochs'\\]"):
        LabelModel().fit(L, epochs=3)
    with pytest.raises(ValueError, match="one entry per class"):
        LabelModel().fit(L, class_balance=[1.0])
    with pytest.raises(ValueError, match="sum to 1"):
        LabelModel().fit(L, class_balance=[0.5, 0.6])
    with pytest.raises(ValueError, match="Y_dev\\[0\\] = 2 is not a label"):
        LabelModel().fit(L, Y_dev=np.array([2, 0]))
    with pytest.raises(ValueError, match="n_epochs|epoch"):
        LabelModel(model="mc").fit(L, n_epochs=0)
    lm = LabelModel(cardinality=2, model="mc").fit(L)
    with pytest.raises(ValueError, match="tie_break_policy"):
        lm.predict(L, tie_break_policy="first")
    with pytest.raises(ValueError, match="LF columns|LFs"):
        lm.predict_proba(L[:, :3])
    with pytest.raises(ValueError, match="labels for"):
        lm.score(L, y[:10])
    with pytest.raises(ValueError, match="unknown metric 'auc'"):
        lm.score(L, y, metrics=["auc"])
    with pytest.raises(ValueError, match="binary"):
        LabelModel(cardinality=3, model="mv").fit(L).score(L, y, metrics=["f1"])


def test_save_and_load_give_the_same_model(tmp_path, multiclass):
    L, _ = multiclass
    for model in ("default", "mc", "hier", "triplet"):
        lm = LabelModel(cardinality=4, model=model, lf_names=[f"lf{j}" for j in range(L.shape[1])]).fit(L, seed=3)
        path = tmp_path / f"{model}.json"
        lm.save(path)
        assert os.listdir(tmp_path).count(f"{model}.json") == 1
        assert not [f for f in os.listdir(tmp_path) if ".tmp" in f]
        saved = json.loads(path.read_text())  # plain JSON: loading it runs no code
        assert saved["model"] == lm.model.replace("default", "hyper-hier")
        loaded = LabelModel().load(path)
        assert loaded.cardinality == 4
        assert np.array_equal(loaded.predict_proba(L), lm.predict_proba(L))
        if model != "triplet":  # FlyingSquid's method keeps no accuracies for 4 classes
            assert np.array_equal(loaded.get_weights(), lm.get_weights())


def test_load_rejects_what_is_not_a_saved_model(tmp_path, binary):
    L, _ = binary
    path = tmp_path / "model.json"
    LabelModel(cardinality=2, model="mc").fit(L).save(path)
    saved = json.loads(path.read_text())
    cases = {
        "garbage.json": "{not json",
        "pickle.pkl": "\x80\x04\x95",
        "extra.json": json.dumps({**saved, "command": "rm -rf /"}),
        "version.json": json.dumps({**saved, "version": 99}),
        "counts.json": json.dumps({**saved, "counts": saved["counts"][:-1]}),
        "label.json": json.dumps({**saved, "patterns": [[[0, 7]]] + saved["patterns"][1:]}),
    }
    for name, text in cases.items():
        bad = tmp_path / name
        bad.write_text(text)
        with pytest.raises(ValueError, match=name):
            LabelModel().load(bad)
    with pytest.raises(ValueError, match="not fitted"):
        LabelModel().save(tmp_path / "unfitted.json")
    assert not (tmp_path / "unfitted.json").exists()


def test_sparse_matrices_give_the_dense_result(multiclass):
    sparse = pytest.importorskip("scipy.sparse")
    L, _ = multiclass
    dense = LabelModel(cardinality=4, model="mc").fit(L)
    stored = L + 1  # label v is stored as v + 1; abstains are missing entries
    for make in (sparse.csr_matrix, sparse.csc_matrix, sparse.coo_matrix, sparse.csr_array):
        S = make(stored)
        lm = LabelModel(cardinality=4, model="mc").fit(S)
        assert np.array_equal(lm.predict_proba(S), dense.predict_proba(L))
        assert np.array_equal(lm.predict_proba(L), dense.predict_proba(L))
    with pytest.raises(ValueError, match="row 0 holds a negative value"):
        LabelModel(cardinality=4).fit(sparse.csr_matrix(np.array([[-1, 1]])))
    with pytest.raises(TypeError, match="integers"):
        LabelModel(cardinality=4).fit(sparse.csr_matrix(np.array([[0.5, 1.0]])))


def hierarchy():
    graph = TaskGraph([
        ("Triage", ["Acute", "NonAcute"]),
        {"name": "Acute", "labels": ["Urgent", "Emergent"], "parent": ("Triage", "Acute")},
        ("NonAcute", ["Normal", "NonUrgent"], ("Triage", "NonAcute")),
    ])
    # Gold end labels 0..3 = Urgent, Emergent, Normal, NonUrgent; three LFs per task.
    rng = np.random.default_rng(4)
    n = 4000
    y = rng.integers(0, 4, size=n)
    root = y // 2
    cols, tasks = [], []
    for task, truth, active in (("Triage", root, np.ones(n, bool)), ("Acute", y % 2, root == 0),
                                ("NonAcute", y % 2, root == 1)):
        for acc in (0.9, 0.8, 0.7):
            vote = (rng.random(n) < 0.7) & active
            col = np.where(rng.random(n) < acc, truth, 1 - truth)
            cols.append(np.where(vote, col, -1))
            tasks.append(task)
    return graph, np.stack(cols, axis=1), tasks, y


def test_hierarchies_give_end_label_and_per_task_probabilities():
    graph, L, tasks, y = hierarchy()
    assert graph.end_labels == ["Acute/Urgent", "Acute/Emergent", "NonAcute/Normal", "NonAcute/NonUrgent"]
    assert graph.tasks == ["Triage", "Acute", "NonAcute"]
    for model in ("default", "hier", "mv"):
        lm = LabelModel(model=model, task_graph=graph, lf_tasks=tasks).fit(L, seed=0)
        assert lm.cardinality == 4
        probs = lm.predict_proba(L)
        assert probs.shape == (len(y), 4)
        per_task = lm.predict_task_proba(L)
        assert list(per_task) == graph.tasks
        assert np.allclose(per_task["Triage"], probs.reshape(-1, 2, 2).sum(axis=2))
        assert lm.score(L, y)["accuracy"] > 0.8
    mv = MajorityLabelVoter(task_graph=graph, lf_tasks=tasks)
    assert mv.predict_proba(L).shape == (len(y), 4)
    with pytest.raises(ValueError, match="needs lf_tasks"):
        LabelModel(task_graph=graph).fit(L)
    with pytest.raises(ValueError, match="lf_tasks\\[0\\] = 'Triag' is not a task"):
        LabelModel(task_graph=graph, lf_tasks=["Triag"] + tasks[1:])
    with pytest.raises(ValueError, match="has 9 LF columns, but lf_tasks names 8"):
        LabelModel(task_graph=graph, lf_tasks=tasks[:8]).fit(L)
    with pytest.raises(ValueError, match="parent task 'Acute' is not an earlier task"):
        TaskGraph([("Triage", ["a", "b"]), ("X", ["c", "d"], ("Acute", "a"))])
    with pytest.raises(ValueError, match="'c' is not a label of 'Triage'"):
        TaskGraph([("Triage", ["a", "b"]), ("X", ["c", "d"], ("Triage", "c"))])


def test_hierarchy_save_and_load(tmp_path):
    graph, L, tasks, _ = hierarchy()
    lm = LabelModel(task_graph=graph, lf_tasks=tasks).fit(L, seed=0)
    lm.save(tmp_path / "h.json")
    loaded = LabelModel().load(tmp_path / "h.json")
    assert loaded.task_graph.end_labels == graph.end_labels
    assert np.array_equal(loaded.predict_proba(L), lm.predict_proba(L))


def test_fit_releases_the_gil():
    # 100 LFs with 4 labels: each of the 2,000 epochs works on a 400 × 400 table (about 1 s).
    L, _ = simulate(50000, [0.7] * 100, k=4, coverage=0.3, seed=6)
    graph = TaskGraph.flat(4)
    matrix = _core.Matrix.from_dense(graph._graph, [0] * L.shape[1], [f"lf{j}" for j in range(L.shape[1])], L)
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    thread = threading.Thread(target=tick)
    thread.start()
    time.sleep(0.05)
    start = time.perf_counter()
    _core.fit("mc-snorkel", '{"n_epochs": 2000}', matrix)
    end = time.perf_counter()
    stop.set()
    thread.join()
    assert end - start > 0.2, "the fit is too short to tell"
    # The other thread ran during the middle of the fit: the fit did not hold the GIL.
    middle = [t for t in ticks if start + 0.25 * (end - start) < t < end - 0.25 * (end - start)]
    assert middle, f"no tick during a {end - start:.2f} s fit"


def test_models_lists_every_model():
    names = metal_rs.models()
    assert {"hyper-hier", "mc", "mv", "hier", "triplet", "hyper"} <= set(names)
    for name in names:
        LabelModel(model=name)
