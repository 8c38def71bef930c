"""A small Python API for notebooks and programs, on the command line's own code paths.

    import digitcli

    model = digitcli.load("models/digits.keras")
    model.predict(images)                      # MNIST-like (n, 28, 28) arrays -> (n,) digits
    model.probabilities(images)                # -> (n, 10)
    model.predict_files(["three.png", "seven.jpg"])

The model runs exactly as in `digits predict` (`predict.open_classifier`: the stored LiteRT form,
else Keras) and image files are prepared exactly as there (`preprocess.load`). Errors are the
domain errors of `digitcli.errors`, each with the message the command line would print.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import predict as core
from . import store
from .errors import ImageError

SIDE = 28


@dataclass(frozen=True)
class FilePrediction:
    path: str
    digit: int
    confidence: float  # the probability of `digit`
    probabilities: np.ndarray  # (10,), one per digit


class Model:
    """A saved digits model, ready to predict. Make one with `digitcli.load(path)`."""

    def __init__(self, classifier: core.Classifier):
        self._classifier = classifier
        self.path: Path = classifier.path
        self.runtime: str = classifier.runtime  # "LiteRT" or "Keras"
        self.metadata: dict | None = classifier.meta  # training options, history, test accuracy; None if not ours

    def __repr__(self) -> str:
        return f"<digits model {self.path} ({self.runtime})>"

    def probabilities(self, images) -> np.ndarray:
        """(n, 10) float32 probabilities for MNIST-like images.

        `images` is one (28, 28) image or a stack (n, 28, 28): white digits on black, uint8 0-255 or
        floats in [0, 1], as MNIST's own arrays (and `preprocess.load`'s results) are.
        """
        return self._classifier.probabilities(_as_stack(images))

    def predict(self, images) -> np.ndarray:
        """The most likely digit for each image, as an (n,) int array."""
        return self.probabilities(images).argmax(axis=1)

    def predict_files(self, paths) -> list[FilePrediction]:
        """Predict image files (PNG, JPEG, BMP, GIF, TIFF, WebP), prepared as `digits predict` prepares them.

        All files are prepared first, then go through the model in one call. A file that cannot be
        read or holds no digit raises ImageError naming it (and how many others failed).
        """
        names = [os.fspath(path) for path in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)]
        results = core.predict_sources(self._classifier, [(name, Path(name)) for name in names], k=10)
        failures = [f"{result.name}: {result.error}" for result in results if result.error is not None]
        if failures:
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            raise ImageError(failures[0] + more)
        predictions = []
        for result in results:
            probabilities = np.empty(10, np.float32)
            probabilities[result.digits] = result.probabilities  # back from most-likely-first to digit order
            predictions.append(FilePrediction(result.name, int(result.digits[0]), float(result.probabilities[0]), probabilities))
        return predictions


def load(path: str | os.PathLike | None = None, runtime: str = "auto") -> Model:
    """Open a model file written by `digits train` (or a plain Keras digit classifier); by default
    the one `digits train` writes, models/digits.keras.

    `runtime` is "auto" (the stored LiteRT form where there is one, else Keras, as the command
    line does) or "keras". Notes the command line would print (such as falling back to Keras)
    are warnings. Raises ModelFileError for a missing, damaged or unsafe file.
    """
    if runtime not in ("auto", "keras"):
        raise ValueError(f"runtime must be 'auto' or 'keras', not {runtime!r}")
    classifier = core.open_classifier(store.DEFAULT_PATH if path is None else Path(path), runtime)
    for notice in classifier.notices:
        warnings.warn(notice, stacklevel=2)
    return Model(classifier)


def _as_stack(images) -> np.ndarray:
    array = np.asarray(images)
    if array.ndim == 2:
        array = array[np.newaxis]
    if array.ndim != 3 or array.shape[1:] != (SIDE, SIDE):
        raise ValueError(
            f"images must be (28, 28) or (n, 28, 28) MNIST-like arrays, not {array.shape}; "
            "for photos and scans use predict_files, which prepares them"
        )
    return array
