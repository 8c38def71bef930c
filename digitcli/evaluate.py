"""Scoring predictions: accuracy, loss, per-class scores and the confusion matrix.

Everything here works from probabilities and labels alone, so it does not
care which runtime produced the predictions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

CLASSES = 10
EPSILON = 1e-7  # Keras clips probabilities the same way before the log in its loss


@dataclass
class ClassScore:
    """One digit's scores; None where a score is undefined (0/0), never a made-up 0."""

    digit: int
    precision: float | None  # undefined when the digit is never predicted
    recall: float | None  # undefined when the digit has no images
    f1: float | None  # undefined when both are: no images and never predicted
    support: int


@dataclass
class Evaluation:
    n: int
    accuracy: float
    loss: float
    per_class: list[ClassScore]
    confusion: list[list[int]]  # rows: true digit, columns: predicted digit

    def to_json(self) -> dict:
        return {
            "accuracy": self.accuracy,
            "loss": self.loss,
            "n": self.n,
            "per_class": [asdict(score) for score in self.per_class],
            "confusion": self.confusion,
        }


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    return np.bincount(labels.astype(int) * CLASSES + predicted.astype(int), minlength=CLASSES * CLASSES).reshape(
        CLASSES, CLASSES
    )


def evaluate(probabilities: np.ndarray, labels: np.ndarray) -> Evaluation:
    labels = np.asarray(labels).astype(int)
    predicted = probabilities.argmax(axis=1)
    matrix = confusion_matrix(labels, predicted)
    true_positive = np.diag(matrix).astype(float)
    predicted_count = matrix.sum(axis=0)
    support = matrix.sum(axis=1)
    precision = _ratio(true_positive, predicted_count)
    recall = _ratio(true_positive, support)
    # 2TP / (2TP + FP + FN): the harmonic mean of the two, and 0 (not undefined) when one of them is.
    f1 = _ratio(2 * true_positive, predicted_count + support)
    picked = np.clip(probabilities[np.arange(len(labels)), labels], EPSILON, 1.0)
    return Evaluation(
        n=len(labels),
        accuracy=float(true_positive.sum() / len(labels)),
        loss=float(-np.log(picked).mean()),
        per_class=[ClassScore(d, precision[d], recall[d], f1[d], int(support[d])) for d in range(CLASSES)],
        confusion=matrix.tolist(),
    )


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> list[float | None]:
    return [float(n / d) if d > 0 else None for n, d in zip(numerator, denominator)]


def top_confusions(confusion: list[list[int]], count: int) -> list[tuple[int, int, int]]:
    """The most frequent (true, predicted, count) mistakes, largest first."""
    cells = [(n, t, p) for t, row in enumerate(confusion) for p, n in enumerate(row) if t != p and n > 0]
    cells.sort(key=lambda cell: (-cell[0], cell[1], cell[2]))
    return [(t, p, n) for n, t, p in cells[:count]]


def most_confident_mistakes(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Indices of the wrongly predicted images, most confident mistake first."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    return wrong[np.argsort(-probabilities[wrong, predicted[wrong]], kind="stable")]
