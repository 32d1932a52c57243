"""Shared fixtures: small label matrices with known gold labels."""

import numpy as np
import pytest


def simulate(n, accuracies, k=2, coverage=0.7, seed=0):
    """A label matrix of ``len(accuracies)`` conditionally independent LFs, each voting on a share
    ``coverage`` of the items and right with its accuracy (wrong votes uniform over the other
    classes), and the gold labels."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, size=n)
    m = len(accuracies)
    L = np.full((n, m), -1, dtype=np.int64)
    for j, acc in enumerate(accuracies):
        votes = rng.random(n) < coverage
        right = rng.random(n) < acc
        wrong = (y + rng.integers(1, k, size=n)) % k
        L[votes, j] = np.where(right, y, wrong)[votes]
    return L, y


@pytest.fixture
def binary():
    return simulate(2000, [0.9, 0.8, 0.75, 0.7, 0.65], k=2, seed=1)


@pytest.fixture
def multiclass():
    return simulate(3000, [0.85, 0.8, 0.7, 0.6, 0.6, 0.55], k=4, seed=2)
