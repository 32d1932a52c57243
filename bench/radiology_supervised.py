"""A supervised ceiling for the radiology task, independent of this project's code.

Trains scikit-learn's logistic regression and linear SVM on the **gold** labels of the 2,614 IU
X-ray training reports (word and word-pair counts, or TF-IDF of 1- to 3-grams; terms in at least 2
reports) and prints their accuracy on the 747 test reports, one JSON line per setting. Every
setting is scored on the test reports, so the best line is an optimistic bound: what a linear text
classifier reaches with perfect labels and hyperparameters picked on the test set itself. Then
the learning curve of one setting (counts of words and word pairs, logistic regression, C = 10):
the same on seeded random quarters and halves of the training reports (3 draws each, seeds 0-2).

    $cache/peers-venv/bin/python3 bench/radiology_supervised.py    # scripts/setup-peers.sh installs it
"""
import json, pathlib, random, warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

warnings.filterwarnings("ignore", category=ConvergenceWarning)
data = pathlib.Path(__file__).resolve().parent.parent / "examples" / "data" / "iu_xray"


def load(split):
    rows = [json.loads(line) for line in (data / f"{split}.jsonl").read_text().splitlines() if line]
    return [r["text"] for r in rows], [r["label"] for r in rows]


(x_train, y_train), (x_test, y_test) = load("train"), load("test")
features = {
    "counts 1-2": lambda: CountVectorizer(ngram_range=(1, 2), min_df=2),
    "tfidf 1-2": lambda: TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
    "tfidf 1-3": lambda: TfidfVectorizer(ngram_range=(1, 3), min_df=2, sublinear_tf=True),
}
for name, make in features.items():
    vec = make()
    a, b = vec.fit_transform(x_train), vec.transform(x_test)
    models = [("logistic regression", c, LogisticRegression(C=c, max_iter=3000)) for c in (1, 10, 100)]
    models += [("linear svm", c, LinearSVC(C=c)) for c in (0.1, 1)]
    for model_name, c, model in models:
        model.fit(a, y_train)
        print(json.dumps({
            "name": "radiology_supervised", "features": name, "model": model_name, "C": c,
            "train_accuracy": round(model.score(a, y_train), 4), "test_accuracy": round(model.score(b, y_test), 4),
        }), flush=True)

for n in (len(x_train) // 4, len(x_train) // 2, len(x_train)):
    scores = []
    for seed in range(3 if n < len(x_train) else 1):
        pick = sorted(random.Random(seed).sample(range(len(x_train)), n))
        vec = CountVectorizer(ngram_range=(1, 2), min_df=2)
        a = vec.fit_transform([x_train[i] for i in pick])
        model = LogisticRegression(C=10, max_iter=3000).fit(a, [y_train[i] for i in pick])
        scores.append(model.score(vec.transform(x_test), y_test))
    print(json.dumps({
        "name": "radiology_supervised_curve", "features": "counts 1-2", "model": "logistic regression", "C": 10,
        "n_train": n, "draws": len(scores), "test_accuracy_mean": round(sum(scores) / len(scores), 4),
        "test_accuracy_each": [round(v, 4) for v in scores],
    }), flush=True)
