"""The scoring core, checked against numbers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from digitcli import evaluate

from oracle import confusion_by_counting


def probs_for(predicted: list[int], confidence: float = 0.8) -> np.ndarray:
    """Rows that put `confidence` on the predicted digit and spread the rest evenly."""
    rows = np.full((len(predicted), 10), (1 - confidence) / 9)
    rows[np.arange(len(predicted)), predicted] = confidence
    return rows


def test_scores_match_a_hand_computation():
    labels = np.array([0, 0, 1, 1, 2])
    probabilities = probs_for([0, 1, 1, 1, 0])
    result = evaluate.evaluate(probabilities, labels)
    assert result.n == 5
    assert result.accuracy == pytest.approx(3 / 5)
    # the true digit got 0.8 three times and 0.2/9 twice
    assert result.loss == pytest.approx(-(3 * math.log(0.8) + 2 * math.log(0.2 / 9)) / 5)
    assert result.confusion[0][:3] == [1, 1, 0]
    assert result.confusion[1][:3] == [0, 2, 0]
    assert result.confusion[2][:3] == [1, 0, 0]
    zero, one, two = result.per_class[:3]
    assert (zero.precision, zero.recall, zero.f1, zero.support) == pytest.approx((1 / 2, 1 / 2, 1 / 2, 2))
    assert (one.precision, one.recall, one.support) == pytest.approx((2 / 3, 1.0, 2))
    assert one.f1 == pytest.approx(2 * (2 / 3) / (2 / 3 + 1))
    # 2 is never predicted: its precision is undefined, its recall and F1 are 0
    assert (two.precision, two.recall, two.f1, two.support) == (None, 0.0, 0.0, 1)
    # 3-9: no images and never predicted: nothing is defined
    assert all((s.precision, s.recall, s.f1, s.support) == (None, None, None, 0) for s in result.per_class[3:])


def test_confusion_support_and_accuracy_agree_with_counting_pairs():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, 500)
    predicted = np.where(rng.random(500) < 0.7, labels, rng.integers(0, 10, 500))
    result = evaluate.evaluate(probs_for(predicted.tolist()), labels)
    assert result.n == 500
    assert result.confusion == confusion_by_counting(labels, predicted)
    assert [s.support for s in result.per_class] == np.bincount(labels, minlength=10).tolist()
    assert result.accuracy == pytest.approx(np.mean(predicted == labels))


def test_top_confusions_are_the_largest_off_diagonal_cells():
    confusion = np.diag(np.full(10, 50)).tolist()
    confusion[4][9], confusion[7][2], confusion[3][5] = 12, 7, 12
    assert evaluate.top_confusions(confusion, 2) == [(3, 5, 12), (4, 9, 12)]
    assert evaluate.top_confusions(confusion, 5) == [(3, 5, 12), (4, 9, 12), (7, 2, 7)]


def test_most_confident_mistakes_come_first():
    labels = np.array([1, 1, 1, 1])
    probabilities = np.vstack([probs_for([1], 0.9), probs_for([2], 0.6), probs_for([3], 0.95), probs_for([4], 0.5)])
    assert evaluate.most_confident_mistakes(probabilities, labels).tolist() == [2, 1, 3]
