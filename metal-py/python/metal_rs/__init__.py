"""The label models of snorkel-metal for Rust, from Python.

A drop-in for snorkel 0.10's label models: change the import and keep the code.

    # from snorkel.labeling.model import LabelModel, MajorityLabelVoter
    from metal_rs import LabelModel, MajorityLabelVoter

    label_model = LabelModel(cardinality=2)
    label_model.fit(L_train, seed=123)
    probs = label_model.predict_proba(L_train)

Label matrices are NumPy integer arrays (``n × m``, ``-1`` = abstain, ``0..k-1`` = a label), or
SciPy sparse matrices, whose stored value ``v ≥ 1`` is label ``v - 1`` and whose missing entries
(and stored zeros) are abstains. ``LabelModel(model=...)`` picks any model of the crate by name
(:func:`models` lists them); the default is the crate's default label model. Task hierarchies
come in through :class:`TaskGraph`.

Errors are ``ValueError`` (bad values) or ``TypeError`` (bad types) with the crate's message.
Fitting releases the GIL.
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core

__all__ = ["LabelModel", "MajorityLabelVoter", "LFAnalysis", "TaskGraph", "models", "__version__"]
__version__ = _core.__version__

_TOL = 1e-5  # probabilities within this of the row's maximum count as tied (snorkel's tolerance)


def models() -> Dict[str, str]:
    """The label models by name (the ``model`` argument of :class:`LabelModel`), with a line on
    each."""
    return dict(_core.models())


class TaskGraph:
    """A hierarchy of classification tasks.

    ``tasks`` lists the tasks, the root first, each as ``(name, labels)`` or ``(name, labels,
    (parent_task, parent_label))``, or as a dict with keys ``name``, ``labels`` and ``parent``. A
    task other than the root applies to an item when its parent task has the given label.

        TaskGraph([
            ("Triage", ["Acute", "NonAcute"]),
            ("Acute", ["Urgent", "Emergent"], ("Triage", "Acute")),
            ("NonAcute", ["Normal", "NonUrgent"], ("Triage", "NonAcute")),
        ])

    The end labels (the columns of ``predict_proba``) are the leaves, named by their paths: here
    ``Acute/Urgent``, ``Acute/Emergent``, ``NonAcute/Normal`` and ``NonAcute/NonUrgent``.
    """

    def __init__(self, tasks: Sequence[Any]):
        defs = []
        names: List[str] = []
        labels_of: Dict[str, List[str]] = {}
        for i, task in enumerate(tasks):
            if isinstance(task, dict):
                unknown = set(task) - {"name", "labels", "parent", "description"}
                if unknown:
                    raise ValueError(f"task {i}: unknown keys {sorted(unknown)} (expected name, labels, parent)")
                name, labels, parent = task.get("name"), task.get("labels"), task.get("parent")
            elif isinstance(task, (tuple, list)) and len(task) in (2, 3):
                name, labels = task[0], task[1]
                parent = task[2] if len(task) == 3 else None
            else:
                raise TypeError(f"task {i}: expected (name, labels[, (parent, label)]) or a dict, got {task!r}")
            if not isinstance(name, str):
                raise TypeError(f"task {i}: the name must be a string, got {name!r}")
            if isinstance(labels, str) or not isinstance(labels, Iterable):
                raise TypeError(f"task {name!r}: labels must be a list of strings, got {labels!r}")
            labels = [str(label) for label in labels]
            entry: Dict[str, Any] = {"name": name, "labels": labels}
            if parent is not None:
                if not (isinstance(parent, (tuple, list)) and len(parent) == 2):
                    raise TypeError(f"task {name!r}: parent must be (task name, label name), got {parent!r}")
                p_task, p_label = parent
                if p_task not in labels_of:
                    raise ValueError(f"task {name!r}: parent task {p_task!r} is not an earlier task")
                if str(p_label) not in labels_of[p_task]:
                    raise ValueError(
                        f"task {name!r}: {p_label!r} is not a label of {p_task!r} ({labels_of[p_task]})"
                    )
                entry["parent"] = {"task": names.index(p_task), "label": labels_of[p_task].index(str(p_label))}
            defs.append(entry)
            names.append(name)
            labels_of[name] = labels
        self._graph = _core.Graph.from_json(json.dumps({"tasks": defs}))

    @classmethod
    def flat(cls, cardinality: int) -> "TaskGraph":
        """One task with ``cardinality`` classes (what ``LabelModel(cardinality=k)`` uses)."""
        k = _int("cardinality", cardinality)
        if k < 2:
            raise ValueError(f"cardinality must be at least 2, got {k}")
        graph = cls.__new__(cls)
        graph._graph = _core.Graph.flat(k)
        return graph

    @classmethod
    def _wrap(cls, core: Any) -> "TaskGraph":
        graph = cls.__new__(cls)
        graph._graph = core
        return graph

    @property
    def tasks(self) -> List[str]:
        """Task names, the root first."""
        return list(self._graph.tasks)

    @property
    def labels(self) -> Dict[str, List[str]]:
        """Each task's label names."""
        return dict(zip(self._graph.tasks, self._graph.labels))

    @property
    def end_labels(self) -> List[str]:
        """End-label names: the columns of ``predict_proba``."""
        return list(self._graph.end_labels)

    @property
    def cardinality(self) -> int:
        """Number of end labels."""
        return len(self._graph.end_labels)

    def __repr__(self) -> str:
        return f"TaskGraph({self.labels!r})"


def _int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    return int(value)


def _dense(name: str, L: Any) -> np.ndarray:
    array = np.asarray(L)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D label matrix (items × LFs), got an array of shape {array.shape}")
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must be an integer array (-1 = abstain), got dtype {array.dtype}")
    # Signed integer arrays are read in place; others (unsigned) are converted.
    if array.dtype.kind == "i" and array.dtype.itemsize <= 8 and array.dtype.isnative:
        return array
    return array.astype(np.int64)


def _is_sparse(L: Any) -> bool:
    return type(L).__module__.startswith("scipy.sparse") and hasattr(L, "tocsr")


class _Columns:
    """How the columns of a label matrix map to tasks: one task for a flat model, or one task per
    LF for a hierarchy."""

    def __init__(self, graph: TaskGraph, lf_tasks: Optional[Sequence[str]]):
        self.graph = graph
        if lf_tasks is None:
            self.lf_tasks = None
        else:
            if isinstance(lf_tasks, str):
                raise TypeError("lf_tasks must be a list of task names, one per LF column")
            tasks = graph.tasks
            for j, t in enumerate(lf_tasks):
                if t not in tasks:
                    raise ValueError(f"lf_tasks[{j}] = {t!r} is not a task of the graph ({tasks})")
            self.lf_tasks = [tasks.index(t) for t in lf_tasks]

    def matrix(self, name: str, L: Any, lf_names: Optional[Sequence[str]] = None) -> Any:
        if _is_sparse(L):
            csr = L.tocsr()
            csr.sum_duplicates()
            n, m = csr.shape
        else:
            dense = _dense(name, L)
            n, m = dense.shape
        if self.lf_tasks is None:
            if len(self.graph.tasks) > 1:
                raise ValueError("a task graph with several tasks needs lf_tasks: the task of each LF column")
            tasks = [0] * m
        else:
            tasks = self.lf_tasks
            if len(tasks) != m:
                raise ValueError(f"{name} has {m} LF columns, but lf_tasks names {len(tasks)}")
        names = [str(x) for x in lf_names] if lf_names is not None else [f"lf{j}" for j in range(m)]
        if len(names) != m:
            raise ValueError(f"{name} has {m} LF columns, but {len(names)} LF names were given")
        if _is_sparse(L):
            data = np.asarray(csr.data)
            if data.dtype == bool or not np.issubdtype(data.dtype, np.integer):
                if not np.all(np.isfinite(data)) or np.any(data != np.round(data)):
                    raise TypeError(f"{name}: a sparse label matrix must hold integers (label + 1), got {data.dtype}")
            data = data.astype(np.int64)
            if np.any(data < 0):
                i = int(np.searchsorted(csr.indptr, int(np.argmax(data < 0)), side="right") - 1)
                raise ValueError(
                    f"{name}: row {i} holds a negative value; in a sparse label matrix label v is stored as v + 1"
                )
            keep = data > 0
            rows = np.repeat(np.arange(n), np.diff(csr.indptr))[keep]
            indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))]).astype(np.int64)
            indices = np.asarray(csr.indices, dtype=np.int64)[keep]
            return _core.Matrix.from_csr(self.graph._graph, tasks, names, indptr, indices, data[keep] - 1)
        return _core.Matrix.from_dense(self.graph._graph, tasks, names, dense)


def _class_balance(class_balance: Any, Y_dev: Any, k: int) -> Optional[List[float]]:
    if class_balance is not None:
        p = np.asarray(class_balance, dtype=np.float64)
        if p.shape != (k,):
            raise ValueError(f"class_balance must have one entry per class ({k}), got shape {p.shape}")
        if not np.all(np.isfinite(p)) or np.any(p <= 0) or abs(p.sum() - 1.0) > 1e-6:
            raise ValueError(f"class_balance must be positive and sum to 1, got {p.tolist()}")
        return p.tolist()
    if Y_dev is not None:
        y = _gold("Y_dev", Y_dev, k)
        # One pseudo-count per class, so that a class missing from the dev labels keeps some mass.
        counts = np.bincount(y, minlength=k) + 1.0
        return (counts / counts.sum()).tolist()
    return None


def _gold(name: str, Y: Any, k: int, n: Optional[int] = None) -> np.ndarray:
    y = np.asarray(Y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {y.shape}")
    if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name} must hold integer labels, got dtype {y.dtype}")
    if n is not None and len(y) != n:
        raise ValueError(f"{name} has {len(y)} labels for {n} items")
    bad = np.flatnonzero((y < 0) | (y >= k))
    if len(bad):
        raise ValueError(f"{name}[{bad[0]}] = {y[bad[0]]} is not a label (0..{k - 1})")
    return y.astype(np.int64)


def _probs_to_preds(probs: np.ndarray, tie_break_policy: str, seed: Optional[int]) -> np.ndarray:
    top = probs.max(axis=1, keepdims=True)
    tied = np.abs(probs - top) < _TOL
    n_tied = tied.sum(axis=1)
    preds = np.argmax(tied, axis=1).astype(np.int64)
    ties = np.flatnonzero(n_tied > 1)
    if tie_break_policy == "abstain":
        preds[ties] = -1
    elif tie_break_policy in ("random", "true-random"):
        rng = np.random.default_rng(None if tie_break_policy == "true-random" else (0 if seed is None else seed))
        for i in ties:
            preds[i] = rng.choice(np.flatnonzero(tied[i]))
    else:
        raise ValueError(f"tie_break_policy must be 'abstain', 'random' or 'true-random', got {tie_break_policy!r}")
    return preds


_METRICS = ("accuracy", "coverage", "precision", "recall", "f1", "f1_micro", "f1_macro", "matthews_corrcoef")


def _score(preds: np.ndarray, golds: np.ndarray, metrics: Sequence[str], k: int) -> Dict[str, float]:
    if isinstance(metrics, str):
        metrics = [metrics]
    out: Dict[str, float] = {}
    voted = preds != -1
    p, g = preds[voted], golds[voted]
    for metric in metrics:
        if metric == "coverage":
            out[metric] = float(voted.mean()) if len(preds) else 0.0
        elif metric == "accuracy":
            out[metric] = float((p == g).mean()) if len(p) else 0.0
        elif metric in ("precision", "recall", "f1"):
            if k != 2:
                raise ValueError(f"metric {metric!r} is binary (positive label 1); use f1_micro or f1_macro for {k} classes")
            tp = float(np.sum((p == 1) & (g == 1)))
            prec = tp / max(np.sum(p == 1), 1)
            rec = tp / max(np.sum(g == 1), 1)
            f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
            out[metric] = float({"precision": prec, "recall": rec, "f1": f1}[metric])
        elif metric == "f1_micro":
            out[metric] = float((p == g).mean()) if len(p) else 0.0
        elif metric == "f1_macro":
            f1s = []
            for c in range(k):
                tp = np.sum((p == c) & (g == c))
                denom = np.sum(p == c) + np.sum(g == c)
                if np.sum(g == c) or np.sum(p == c):
                    f1s.append(2 * tp / denom if denom else 0.0)
            out[metric] = float(np.mean(f1s)) if f1s else 0.0
        elif metric == "matthews_corrcoef":
            c = np.zeros((k, k))
            np.add.at(c, (g, p), 1)
            t, pk, s, cor = c.sum(axis=1), c.sum(axis=0), c.sum(), np.trace(c)
            denom = np.sqrt((s**2 - pk @ pk) * (s**2 - t @ t))
            out[metric] = float((cor * s - t @ pk) / denom) if denom else 0.0
        else:
            raise ValueError(f"unknown metric {metric!r}; the metrics are: {', '.join(_METRICS)}")
    return out


# Settings of snorkel's LabelModel.fit that have no counterpart here; accepted with a warning so
# that snorkel code runs unchanged.
_SNORKEL_ONLY = {"optimizer", "optimizer_config", "lr_scheduler", "lr_scheduler_config", "log_freq"}


class _Labeler:
    """What every label model shares: prediction and scoring on label matrices."""

    _fitted: Any
    _columns: _Columns

    def _matrix(self, L: Any) -> Any:
        return self._columns.matrix("L", L, self._lf_names)

    @property
    def cardinality(self) -> int:
        """Number of end labels (classes)."""
        return self._columns.graph.cardinality

    @property
    def task_graph(self) -> TaskGraph:
        return self._columns.graph

    def predict_proba(self, L: Any) -> np.ndarray:
        """The probability of each class (end label) for each item: an ``n × k`` float64 array."""
        return self._model_for(L).predict_proba(self._matrix(L))

    def predict_task_proba(self, L: Any) -> Dict[str, np.ndarray]:
        """Per task of the graph, the probability of each of its labels (``n × k_t``; zero rows
        where the task does not apply)."""
        return dict(self._model_for(L).task_marginals(self._matrix(L)))

    def predict(
        self,
        L: Any,
        return_probs: bool = False,
        tie_break_policy: str = "abstain",
        seed: Optional[int] = None,
    ) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
        """The most probable class of each item (int64). Ties within 1e-5: ``-1`` with
        ``tie_break_policy="abstain"``, one of the tied classes drawn with ``seed`` (default 0)
        with ``"random"``, or unseeded with ``"true-random"``."""
        probs = self.predict_proba(L)
        preds = _probs_to_preds(probs, tie_break_policy, seed)
        return (preds, probs) if return_probs else preds

    def score(
        self,
        L: Any,
        Y: Any,
        metrics: Optional[Sequence[str]] = ("accuracy",),
        tie_break_policy: str = "abstain",
        seed: Optional[int] = None,
    ) -> Dict[str, float]:
        """Metrics of the predictions against gold labels ``Y``. Items predicted ``-1`` (ties
        under ``"abstain"``) count only for ``coverage``. Metrics: accuracy, coverage, precision,
        recall, f1 (binary, positive class 1), f1_micro, f1_macro, matthews_corrcoef."""
        preds = self.predict(L, tie_break_policy=tie_break_policy, seed=seed)
        golds = _gold("Y", Y, self.cardinality, len(preds))
        return _score(preds, golds, list(metrics or ["accuracy"]), self.cardinality)


class LabelModel(_Labeler):
    """A label model: learns how accurate each LF is from their votes alone, and turns the votes
    into probabilistic labels.

    ``LabelModel(cardinality=k)`` is the drop-in for snorkel's; ``model`` picks which of the
    crate's models (see :func:`models`; default: the crate's default, ``"hyper-hier"``;
    ``"mc"`` is snorkel's matrix-completion model). For a hierarchy, pass ``task_graph`` and
    ``lf_tasks``, the task each LF column votes on; the votes are then labels of that task.
    ``device`` and ``verbose`` are accepted for snorkel's sake (the fit runs on the CPU).
    """

    def __init__(
        self,
        cardinality: int = 2,
        model: str = "default",
        task_graph: Optional[TaskGraph] = None,
        lf_tasks: Optional[Sequence[str]] = None,
        lf_names: Optional[Sequence[str]] = None,
        device: str = "cpu",
        verbose: bool = True,
    ):
        if not isinstance(model, str):
            raise TypeError(f"model must be a model name, got {model!r}")
        self._options_of = _core.options_of(model)  # raises for an unknown name
        self.model = model
        if task_graph is None:
            graph = TaskGraph.flat(cardinality)
        elif isinstance(task_graph, TaskGraph):
            graph = task_graph
        else:
            raise TypeError(f"task_graph must be a metal_rs.TaskGraph, got {type(task_graph).__name__}")
        self._columns = _Columns(graph, lf_tasks)
        self._lf_names = list(lf_names) if lf_names is not None else None
        self.verbose = verbose
        self._fitted = None

    def fit(
        self,
        L_train: Any,
        Y_dev: Any = None,
        class_balance: Any = None,
        progress_bar: bool = True,
        n_epochs: Optional[int] = None,
        lr: Optional[float] = None,
        l2: Optional[float] = None,
        prec_init: Optional[float] = None,
        seed: Optional[int] = None,
        mu_eps: Optional[float] = None,
        **kwargs: Any,
    ) -> "LabelModel":
        """Learns the model from ``L_train`` (no gold labels). ``class_balance`` fixes the prior
        over classes; otherwise ``Y_dev`` (gold labels of any items) gives it, with one
        pseudo-count per class; otherwise the model learns it. ``n_epochs``, ``lr``, ``l2`` and
        ``prec_init`` (and ``mu_eps``, the clamp of ``mc``'s estimates) set the optimizer of the
        models that have one (``mc``, ``hier``...),
        ``seed`` the sample of ``hyper-hier``; a setting the chosen model does not use is
        reported with a warning. Returns ``self``."""
        unknown = set(kwargs) - _SNORKEL_ONLY
        if unknown:
            raise TypeError(f"fit() got unexpected keyword arguments {sorted(unknown)}")
        given = {"n_epochs": n_epochs, "lr": lr, "l2": l2, "prec_init": prec_init, "seed": seed, "mu_eps": mu_eps}
        # Every fit is deterministic: a seed only matters to the models that sample (hyper-hier),
        # and snorkel code passes one to every fit, so an unused seed is not reported.
        ignored = sorted(k for k, v in given.items() if v is not None and k not in self._options_of and k != "seed")
        ignored += sorted(kwargs)
        if ignored:
            warnings.warn(
                f"LabelModel(model={self.model!r}) ignores {', '.join(ignored)}",
                UserWarning,
                stacklevel=2,
            )
        options = {
            "class_balance": _class_balance(class_balance, Y_dev, self.cardinality),
            "progress": bool(progress_bar and self.verbose),
        }
        for key, value in given.items():
            if value is not None and key in self._options_of:
                options[key] = _int(key, value) if key in ("n_epochs", "seed") else float(value)
        if "seed" in options and options["seed"] < 0:
            raise ValueError(f"seed must be non-negative, got {options['seed']}")
        if "n_epochs" in options and options["n_epochs"] < 1:
            raise ValueError(
                f"n_epochs must be at least 1, got {options['n_epochs']} (0 would leave the model at its starting point)"
            )
        self._fitted = _core.fit(self.model, json.dumps(options), self._matrix(L_train))
        return self

    def _model_for(self, L: Any) -> Any:
        if self._fitted is None:
            raise ValueError("this LabelModel is not fitted yet: call fit(L_train) or load(path) first")
        return self._fitted

    def get_weights(self) -> np.ndarray:
        """The learned accuracy of each LF (``P(vote is right | the LF votes, its task applies)``)."""
        weights = self._model_for(None).lf_accuracies()
        if weights is None:
            raise ValueError(f"the {self._fitted.model} model has no learned LF accuracies")
        return weights

    def get_conditional_probs(self) -> np.ndarray:
        """snorkel's conditional probability table, for the matrix-completion models (``mc``,
        ``mc-snorkel``) on one flat task: an ``m × (k+1) × k`` array whose entry ``[j, v + 1, y]``
        is ``P(LF j votes v | Y = y)`` and ``[j, 0, y]`` the probability that it abstains."""
        table = self._model_for(None).conditional_probs()
        if table is None:
            raise ValueError(
                f"the {self.model} model on this task graph has no conditional probability table; "
                "LabelModel(model='mc') or model='mc-snorkel' on one flat task has"
            )
        return table

    def get_class_balance(self) -> Optional[np.ndarray]:
        """The prior over classes the fitted model uses (``None`` for models without one)."""
        return self._model_for(None).class_prior()

    @property
    def fit_report(self) -> Dict[str, Any]:
        """What the fit did: the model, items, distinct vote patterns, epochs, losses, seconds,
        warnings and notes."""
        return json.loads(self._model_for(None).fit_report())

    def save(self, destination: Union[str, os.PathLike]) -> None:
        """Writes the fitted model as JSON (no pickle: loading runs no code). The file holds the
        model's name and settings, the task graph, the LFs' names and tasks, and the training
        votes' distinct patterns with their counts; :meth:`load` fits the model again on them,
        which gives the same model (every fit is deterministic)."""
        text = self._model_for(None).to_json()
        path = os.fspath(destination)
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)

    def load(self, source: Union[str, os.PathLike]) -> "LabelModel":
        """Reads a model written by :meth:`save` into this object (its graph, LFs and model
        replace this object's). Returns ``self``."""
        path = os.fspath(source)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            fitted = _core.Fitted.from_json(text)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None
        saved = json.loads(text)
        graph = TaskGraph._wrap(_core.Graph.from_json(json.dumps(saved["graph"])))
        names = graph.tasks
        self._columns = _Columns(graph, [names[lf["task"]] for lf in saved["lfs"]] if len(names) > 1 else None)
        self._lf_names = [lf["name"] for lf in saved["lfs"]]
        self.model = fitted.model
        self._options_of = _core.options_of(self.model)
        self._fitted = fitted
        return self


class MajorityLabelVoter(_Labeler):
    """Majority vote: each item's class is the one most LFs vote for (hierarchical majority vote
    on a task graph). Nothing to fit."""

    def __init__(
        self,
        cardinality: int = 2,
        task_graph: Optional[TaskGraph] = None,
        lf_tasks: Optional[Sequence[str]] = None,
        **kwargs: Any,
    ):
        graph = task_graph if task_graph is not None else TaskGraph.flat(cardinality)
        self._columns = _Columns(graph, lf_tasks)
        self._lf_names = None
        self._last: Optional[Tuple[Any, Any]] = None

    def fit(self, *args: Any, **kwargs: Any) -> "MajorityLabelVoter":
        """Nothing to learn; returns ``self``."""
        return self

    def _model_for(self, L: Any) -> Any:
        return _core.fit("mv", "{}", self._matrix(L))


class LFAnalysis:
    """Coverage, overlaps and conflicts of each LF of a label matrix, and with gold labels their
    accuracy (snorkel's ``LFAnalysis``)."""

    def __init__(
        self,
        L: Any,
        lfs: Optional[Sequence[Any]] = None,
        task_graph: Optional[TaskGraph] = None,
        lf_tasks: Optional[Sequence[str]] = None,
    ):
        names = None if lfs is None else [getattr(lf, "name", lf) for lf in lfs]
        if task_graph is None:
            if _is_sparse(L):
                k = int(L.max()) if L.nnz else 2
            else:
                dense = _dense("L", L)
                k = int(dense.max()) + 1 if dense.size else 2
            task_graph = TaskGraph.flat(max(k, 2))
        self._columns = _Columns(task_graph, lf_tasks)
        self._matrix = self._columns.matrix("L", L, names)
        self._names = names
        self._without_gold: Optional[Dict[str, Any]] = None

    def _summary(self, Y: Any = None) -> Dict[str, Any]:
        if Y is None:
            # The matrix does not change: its summary is computed once.
            if self._without_gold is None:
                self._without_gold = json.loads(_core.lf_summary(self._matrix, None))
            return self._without_gold
        gold = _gold("Y", Y, self._columns.graph.cardinality, self._matrix.n_items).tolist()
        return json.loads(_core.lf_summary(self._matrix, gold))

    def _column(self, key: str, Y: Any = None) -> np.ndarray:
        """One figure of every LF, as a float64 array."""
        return np.array([lf[key] for lf in self._summary(Y)["lfs"]], dtype=np.float64)

    def lf_summary(self, Y: Any = None, est_weights: Any = None) -> Any:
        """One row per LF: ``j``, ``Polarity`` (the labels it votes), ``Coverage``, ``Overlaps``,
        ``Conflicts``, and with gold labels ``Y`` also ``Correct``, ``Incorrect`` and ``Emp.
        Acc.``; with ``est_weights`` (e.g. ``LabelModel.get_weights()``) ``Learned Weight``. A
        pandas DataFrame indexed by LF name when pandas is installed, otherwise a dict of
        columns (with the names under ``"index"``)."""
        summary = self._summary(Y)
        flat = len(self._columns.graph.tasks) == 1
        lfs = summary["lfs"]
        columns: Dict[str, List[Any]] = {
            "j": list(range(len(lfs))),
            "Polarity": [sorted(int(p) for p in lf["polarity"]) if flat else lf["polarity"] for lf in lfs],
            "Coverage": [lf["coverage"] for lf in lfs],
            "Overlaps": [lf["overlaps"] for lf in lfs],
            "Conflicts": [lf["conflicts"] for lf in lfs],
        }
        if Y is not None:
            columns["Correct"] = [lf["correct"] for lf in lfs]
            columns["Incorrect"] = [lf["incorrect"] for lf in lfs]
            columns["Emp. Acc."] = [lf["empirical_accuracy"] for lf in lfs]
        if est_weights is not None:
            w = np.asarray(est_weights, dtype=np.float64)
            if w.shape != (len(lfs),):
                raise ValueError(f"est_weights must have one entry per LF ({len(lfs)}), got shape {w.shape}")
            columns["Learned Weight"] = w.tolist()
        index = [lf["name"] for lf in lfs]
        try:
            import pandas as pd
        except ImportError:
            return {"index": index, **columns}
        return pd.DataFrame(columns, index=index)

    def _flat_task(self, what: str) -> Dict[str, Any]:
        if len(self._columns.graph.tasks) != 1:
            raise ValueError(f"{what} is defined for one flat task; for a hierarchy, lf_summary() gives each LF's figures")
        return self._summary()["tasks"][0]

    def label_coverage(self) -> float:
        """Fraction of items with at least one vote."""
        return float(self._summary()["coverage"])

    def label_overlap(self) -> float:
        """Fraction of items with votes from two LFs or more."""
        return float(self._flat_task("label_overlap")["overlaps"])

    def label_conflict(self) -> float:
        """Fraction of items with two different labels among their votes."""
        return float(self._flat_task("label_conflict")["conflicts"])

    def lf_polarities(self) -> List[List[int]]:
        """The labels each LF votes."""
        self._flat_task("lf_polarities")
        return [sorted(int(p) for p in lf["polarity"]) for lf in self._summary()["lfs"]]

    def lf_coverages(self) -> np.ndarray:
        """Each LF's fraction of items voted on."""
        return self._column("coverage")

    def lf_overlaps(self, normalize_by_coverage: bool = False) -> np.ndarray:
        """Each LF's fraction of items where it and another LF vote; with
        ``normalize_by_coverage``, as a fraction of the items it votes on."""
        overlaps = self._column("overlaps")
        return _ratio(overlaps, self._column("coverage")) if normalize_by_coverage else overlaps

    def lf_conflicts(self, normalize_by_overlaps: bool = False) -> np.ndarray:
        """Each LF's fraction of items where another LF votes a different label; with
        ``normalize_by_overlaps``, as a fraction of its overlaps."""
        conflicts = self._column("conflicts")
        return _ratio(conflicts, self._column("overlaps")) if normalize_by_overlaps else conflicts

    def lf_empirical_accuracies(self, Y: Any) -> np.ndarray:
        """Each LF's fraction of right votes against gold labels ``Y``."""
        return self._column("empirical_accuracy", Y)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0."""
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)
