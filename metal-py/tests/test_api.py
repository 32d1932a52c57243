"""The API mirrors snorkel 0.10's: the same argument names, positions and defaults, and outputs of
the same shapes and dtypes.

SNORKEL holds snorkel 0.10.0's signatures (``snorkel.labeling.model.LabelModel``,
``MajorityLabelVoter`` and ``snorkel.labeling.LFAnalysis``); where snorkel itself is installed, the
test also reads them from it.
"""

import inspect

import numpy as np
import pytest

import metal_rs
from metal_rs import LabelModel, LFAnalysis, MajorityLabelVoter

# (class, method) -> snorkel's parameters after `self`, with their defaults (inspect.Parameter.empty
# for none). Our methods may take more parameters after these.
EMPTY = inspect.Parameter.empty
SNORKEL = {
    ("LabelModel", "__init__"): [("cardinality", 2)],
    ("LabelModel", "fit"): [("L_train", EMPTY), ("Y_dev", None), ("class_balance", None), ("progress_bar", True)],
    ("LabelModel", "predict_proba"): [("L", EMPTY)],
    ("LabelModel", "predict"): [("L", EMPTY), ("return_probs", False), ("tie_break_policy", "abstain")],
    ("LabelModel", "score"): [("L", EMPTY), ("Y", EMPTY), ("metrics", ["accuracy"]), ("tie_break_policy", "abstain")],
    ("LabelModel", "save"): [("destination", EMPTY)],
    ("LabelModel", "load"): [("source", EMPTY)],
    ("LabelModel", "get_weights"): [],
    ("LabelModel", "get_conditional_probs"): [],
    ("MajorityLabelVoter", "__init__"): [("cardinality", 2)],
    ("MajorityLabelVoter", "predict_proba"): [("L", EMPTY)],
    ("MajorityLabelVoter", "predict"): [("L", EMPTY), ("return_probs", False), ("tie_break_policy", "abstain")],
    ("LFAnalysis", "__init__"): [("L", EMPTY), ("lfs", None)],
    ("MajorityLabelVoter", "score"): [("L", EMPTY), ("Y", EMPTY), ("metrics", ["accuracy"]),
                                      ("tie_break_policy", "abstain")],
    ("LFAnalysis", "lf_summary"): [("Y", None), ("est_weights", None)],
    ("LFAnalysis", "label_coverage"): [],
    ("LFAnalysis", "label_overlap"): [],
    ("LFAnalysis", "label_conflict"): [],
    ("LFAnalysis", "lf_polarities"): [],
    ("LFAnalysis", "lf_coverages"): [],
    ("LFAnalysis", "lf_overlaps"): [("normalize_by_coverage", False)],
    ("LFAnalysis", "lf_conflicts"): [("normalize_by_overlaps", False)],
    ("LFAnalysis", "lf_empirical_accuracies"): [("Y", EMPTY)],
}
# snorkel's fit(**kwargs) settings, which ours takes by name.
SNORKEL_FIT_KWARGS = ["n_epochs", "lr", "l2", "optimizer", "optimizer_config", "lr_scheduler",
                      "lr_scheduler_config", "prec_init", "seed", "log_freq", "mu_eps"]
OURS = {"LabelModel": LabelModel, "MajorityLabelVoter": MajorityLabelVoter, "LFAnalysis": LFAnalysis}


def params(fn):
    return [p for p in inspect.signature(fn).parameters.values() if p.name != "self"]


def normalize(default):
    # A tuple default is our immutable spelling of snorkel's list default.
    return list(default) if isinstance(default, tuple) else default


@pytest.mark.parametrize("cls, method", sorted(SNORKEL))
def test_signature_matches_snorkel(cls, method):
    ours = [p for p in params(getattr(OURS[cls], method)) if p.kind is not p.VAR_KEYWORD]
    theirs = SNORKEL[(cls, method)]
    assert [p.name for p in ours[: len(theirs)]] == [name for name, _ in theirs]
    for p, (name, default) in zip(ours, theirs):
        assert normalize(p.default) == default, f"{cls}.{method}({name}=...)"
    # Anything beyond snorkel's parameters has a default, so snorkel calls stay valid.
    assert all(p.default is not EMPTY for p in ours[len(theirs):])


def test_signatures_against_installed_snorkel():
    model = pytest.importorskip("snorkel.labeling.model")
    labeling = pytest.importorskip("snorkel.labeling")
    theirs = {"LabelModel": model.LabelModel, "MajorityLabelVoter": model.MajorityLabelVoter,
              "LFAnalysis": labeling.LFAnalysis}
    for (cls, method), recorded in SNORKEL.items():
        got = [(p.name, p.default) for p in params(getattr(theirs[cls], method))
               if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
        assert got == recorded, f"snorkel's {cls}.{method}"


def test_fit_takes_snorkels_keyword_settings(binary):
    L, _ = binary
    accepted = {"n_epochs": 50, "lr": 0.01, "l2": 0.0, "prec_init": 0.7, "seed": 123, "mu_eps": 0.01}
    LabelModel(cardinality=2, model="mc").fit(L, **accepted)
    with pytest.warns(UserWarning, match="ignores"):
        LabelModel(cardinality=2, model="mc").fit(L, optimizer="adam", log_freq=10)
    fit_params = {p.name for p in params(LabelModel.fit)}
    for name in SNORKEL_FIT_KWARGS:
        assert name in fit_params or name in metal_rs._SNORKEL_ONLY, name


@pytest.mark.parametrize("model", sorted(metal_rs.models()))
def test_every_model_outputs_snorkels_shapes_and_dtypes(model, multiclass):
    L, y = multiclass
    n, k = L.shape[0], 4
    lm = LabelModel(cardinality=k, model=model).fit(L, seed=0, progress_bar=False)
    probs = lm.predict_proba(L)
    assert probs.shape == (n, k) and probs.dtype == np.float64
    assert np.allclose(probs.sum(axis=1), 1.0)
    preds = lm.predict(L)
    assert preds.shape == (n,) and preds.dtype == np.int64
    assert set(np.unique(preds)) <= {-1, 0, 1, 2, 3}
    preds2, probs2 = lm.predict(L, return_probs=True)
    assert np.array_equal(preds, preds2) and np.array_equal(probs, probs2)
    scores = lm.score(L, y, metrics=["accuracy", "coverage", "f1_micro"])
    assert set(scores) == {"accuracy", "coverage", "f1_micro"}
    assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in scores.values())


def test_majority_label_voter_matches_a_hand_count():
    L = np.array([[0, 0, 1], [1, 1, -1], [0, 1, -1], [-1, -1, -1], [2, 2, 0]])
    mv = MajorityLabelVoter(cardinality=3)
    assert mv.predict(L).tolist() == [0, 1, -1, -1, 2]
    probs = mv.predict_proba(L)
    assert probs.shape == (5, 3) and probs.dtype == np.float64
    assert np.allclose(probs[1], [0, 1, 0])
    assert np.allclose(probs[3], [1 / 3, 1 / 3, 1 / 3])
    # A tie broken at random with a seed is one of the tied classes, the same for the same seed.
    tied = mv.predict(L, tie_break_policy="random", seed=7)
    assert tied[2] in (0, 1) and tied.tolist() == mv.predict(L, tie_break_policy="random", seed=7).tolist()


def test_lf_summary_has_snorkels_columns(binary):
    pd = pytest.importorskip("pandas")
    L, y = binary
    lfs = [f"lf_{j}" for j in range(L.shape[1])]
    summary = LFAnalysis(L, lfs).lf_summary()
    assert isinstance(summary, pd.DataFrame)
    assert list(summary.columns) == ["j", "Polarity", "Coverage", "Overlaps", "Conflicts"]
    assert list(summary.index) == lfs
    weights = LabelModel(cardinality=2, model="mc").fit(L).get_weights()
    full = LFAnalysis(L, lfs).lf_summary(Y=y, est_weights=weights)
    assert list(full.columns) == ["j", "Polarity", "Coverage", "Overlaps", "Conflicts", "Correct", "Incorrect",
                                  "Emp. Acc.", "Learned Weight"]
    # The figures, counted here by hand.
    voted = L != -1
    assert np.allclose(full["Coverage"], voted.mean(axis=0))
    overlaps = (voted & (voted.sum(axis=1, keepdims=True) > 1)).mean(axis=0)
    assert np.allclose(full["Overlaps"], overlaps)
    conflicts = [np.mean(voted[:, j] & np.array([len(set(r[r != -1])) > 1 for r in L])) for j in range(L.shape[1])]
    assert np.allclose(full["Conflicts"], conflicts)
    correct = ((L == y[:, None]) & voted).sum(axis=0)
    assert full["Correct"].tolist() == correct.tolist()
    assert full["Incorrect"].tolist() == (voted.sum(axis=0) - correct).tolist()
    assert np.allclose(full["Emp. Acc."], correct / voted.sum(axis=0))
    assert full["Polarity"].tolist() == [[0, 1]] * L.shape[1]
    analysis = LFAnalysis(L)
    assert analysis.label_coverage() == pytest.approx(voted.any(axis=1).mean())
    assert analysis.label_overlap() == pytest.approx((voted.sum(axis=1) > 1).mean())
    conflicted = np.array([len(set(r[r != -1])) > 1 for r in L])
    assert analysis.label_conflict() == pytest.approx(conflicted.mean())
    assert np.allclose(analysis.lf_overlaps(normalize_by_coverage=True), overlaps / voted.mean(axis=0))
    assert np.allclose(analysis.lf_conflicts(normalize_by_overlaps=True), np.array(conflicts) / overlaps)
    assert analysis.lf_polarities() == [[0, 1]] * L.shape[1]
    assert np.allclose(analysis.lf_empirical_accuracies(y), correct / voted.sum(axis=0))
