#!/usr/bin/env python3
"""From a label matrix to predictions and scores, on the WRENCH youtube spam data.

The votes of 10 labeling functions on YouTube comments (HAM = 0, SPAM = 1, -1 = abstain) come
with the data (examples/data/youtube). The script analyses the LFs, fits the label model on the
training votes alone, and scores its predictions on the test split, next to majority vote and
to snorkel's matrix-completion model (with snorkel's settings) run by this package. It is snorkel code with one changed
import:

    # from snorkel.labeling.model import LabelModel, MajorityLabelVoter
    # from snorkel.labeling import LFAnalysis
    from metal_rs import LabelModel, MajorityLabelVoter, LFAnalysis

Usage: python examples/youtube.py [DATA_DIR] [--save model.json]
"""

import argparse
import json
import os
import sys
import tempfile

import numpy as np

from metal_rs import LabelModel, LFAnalysis, MajorityLabelVoter

HERE = os.path.dirname(os.path.abspath(__file__))
LFS = ["keyword_my", "keyword_subscribe", "keyword_link", "keyword_please", "keyword_song",
       "regex_check_out", "short_comment", "has_person_nlp", "textblob_polarity", "textblob_subjectivity"]


def load(path):
    """The label matrix (n × 10, -1 = abstain) and the gold labels of one split."""
    L, Y = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            L.append(record["weak_labels"])
            Y.append(record["label"])
    return np.array(L, dtype=np.int64), np.array(Y, dtype=np.int64)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=os.path.join(HERE, "data", "youtube"))
    parser.add_argument("--save", help="where to write the fitted label model (JSON)")
    args = parser.parse_args()

    L_train, Y_train = load(os.path.join(args.data, "train.jsonl"))
    L_valid, Y_valid = load(os.path.join(args.data, "valid.jsonl"))
    L_test, Y_test = load(os.path.join(args.data, "test.jsonl"))
    print(f"youtube: {len(L_train)} training, {len(L_valid)} validation, {len(L_test)} test comments; "
          f"{L_train.shape[1]} LFs")

    # The LFs on the training votes, with their accuracy against the validation labels.
    print(LFAnalysis(L_train, lfs=LFS).lf_summary())
    print(LFAnalysis(L_valid, lfs=LFS).lf_summary(Y=Y_valid)[["Coverage", "Correct", "Incorrect", "Emp. Acc."]])

    # Scores on every test comment (a comment without a vote gets the class balance, and a tie
    # is broken at random with a fixed seed), and accuracy on the comments with a vote.
    covered_test = (L_test != -1).any(axis=1)

    def scores(model):
        on_all = model.score(L_test, Y_test, metrics=["accuracy", "f1"], tie_break_policy="random", seed=0)
        on_covered = model.score(L_test[covered_test], Y_test[covered_test], tie_break_policy="random", seed=0)
        return on_all["accuracy"], on_all["f1"], on_covered["accuracy"]

    results = {"majority vote": scores(MajorityLabelVoter(cardinality=2))}

    # The default label model, fit on the training votes alone (no gold label).
    label_model = LabelModel(cardinality=2, verbose=False)
    label_model.fit(L_train, seed=123)
    results["LabelModel()"] = scores(label_model)

    # The same, with the class balance estimated from the 120 validation labels.
    with_dev = LabelModel(cardinality=2, verbose=False).fit(L_train, Y_dev=Y_valid, seed=123)
    results["LabelModel(), Y_dev"] = scores(with_dev)

    # snorkel's matrix-completion model with snorkel's settings, from this package.
    snorkel_model = LabelModel(cardinality=2, model="mc-snorkel", verbose=False)
    snorkel_model.fit(L_train, n_epochs=100, lr=0.01, seed=123)
    results["model='mc-snorkel'"] = scores(snorkel_model)

    print(f"\n{'test split':<24}{'accuracy':>10}{'f1':>8}   accuracy on the {int(covered_test.sum())} with a vote")
    for name, (accuracy, f1, covered) in results.items():
        print(f"{name:<24}{accuracy:>10.3f}{f1:>8.3f}{covered:>10.3f}")

    # Probabilistic labels for the training items: what an end model trains on.
    probs = label_model.predict_proba(L_train)
    covered = (L_train != -1).any(axis=1)
    print(f"\ntraining labels: {probs.shape[0]} × {probs.shape[1]} probabilities, {int((~covered).sum())} items "
          f"without a vote at the class balance {np.round(label_model.get_class_balance(), 3).tolist()}")
    print("learned LF accuracies:", dict(zip(LFS, np.round(label_model.get_weights(), 3).tolist())))

    # Saved as JSON (no pickle); loading gives the same probabilities.
    path = args.save or os.path.join(tempfile.mkdtemp(), "youtube-label-model.json")
    label_model.save(path)
    loaded = LabelModel().load(path)
    same = np.array_equal(loaded.predict_proba(L_test), label_model.predict_proba(L_test))
    print(f"saved to {path}; loaded model gives the same probabilities: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
