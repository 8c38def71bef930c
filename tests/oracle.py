"""Second ways to compute what `digits` computes, for tests to check it against.

Nothing here calls the code under test: MNIST is read straight from the bundled IDX
files with gzip and numpy, and models whose every answer is known are built by hand.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
from pathlib import Path

import numpy as np

import digitcli

BUNDLED = Path(digitcli.__file__).parent / "mnist"

# The official MNIST test set's digits 0-9, as published (and shown in the README's eval output).
OFFICIAL_TEST_SUPPORT = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def bundled(name: str) -> np.ndarray:
    """One bundled IDX file (e.g. 't10k-labels-idx1-ubyte') as uint8: (n, 28, 28) images or (n,) labels."""
    raw = gzip.decompress((BUNDLED / f"{name}.gz").read_bytes())
    if "images" in name:
        return np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)
    return np.frombuffer(raw, np.uint8, offset=8)


def confusion_by_counting(labels, predicted) -> list[list[int]]:
    """The confusion matrix, rows true, counted one pair at a time."""
    matrix = [[0] * 10 for _ in range(10)]
    for true, guess in zip(np.asarray(labels).tolist(), np.asarray(predicted).tolist()):
        matrix[true][guess] += 1
    return matrix


def constant_model(path: Path, probabilities) -> Path:
    """A plain Keras digit classifier that gives every image the same `probabilities`."""
    from digitcli.backend import keras

    probabilities = np.asarray(probabilities, dtype="float64")
    model = keras.Sequential([
        keras.Input((28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax", kernel_initializer="zeros",
                           bias_initializer=keras.initializers.Constant(np.log(probabilities).tolist())),
    ])
    model.save(path)
    return path


def keras_probabilities(model_path: Path, images: np.ndarray) -> np.ndarray:
    """A model file's probabilities for images (uint8, or floats in [0, 1]), through Keras itself rather than the LiteRT form."""
    from digitcli.backend import keras

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "model.keras"  # Keras picks its loader by extension and ignores extra members
        shutil.copyfile(model_path, copy)
        model = keras.saving.load_model(copy, compile=False)
    x = images.astype("float32") / 255.0 if images.dtype == np.uint8 else images.astype("float32")
    return np.asarray(model.predict(x, batch_size=2048, verbose=0))
