"""Running a saved model: the light LiteRT runtime where the file has it, Keras otherwise.

Prediction through LiteRT never imports TensorFlow, so `digits predict`
answers in a fraction of TensorFlow's start-up time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from . import lite, store
from .data import to_unit
from .errors import BadOption, ModelFileError

LITE_MEMBER = "model.tflite"
BATCH = 1024


@dataclass
class Classifier:
    path: Path
    meta: dict | None
    runtime: str  # "LiteRT" or "Keras"
    run: Callable[[np.ndarray], np.ndarray]  # float32 (n, 28, 28) in [0, 1] -> (n, 10)
    notices: list[str] = field(default_factory=list)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(n, 10) probabilities for uint8 images or floats already in [0, 1]."""
        x = to_unit(images)
        if len(x) == 0:
            return np.zeros((0, 10), np.float32)
        return np.asarray(self.run(x), dtype=np.float32)


def open_classifier(path: Path, runtime: str = "auto") -> Classifier:
    """A Classifier for a model file; `runtime` is auto, litert or keras."""
    meta = store.check(path)
    notices = []
    if runtime != "keras":
        flatbuffer = store.read_member(path, LITE_MEMBER)
        if flatbuffer is None:
            notices.append(f"{path} has no LiteRT form; running it with Keras, which starts slower")
        elif not lite.available():
            notices.append("the LiteRT runtime (ai-edge-litert) is not installed; running the model with Keras")
        else:
            try:
                model = lite.LiteModel(flatbuffer)
            except ImportError as exc:  # installed but broken
                notices.append(f"the LiteRT runtime failed to load ({exc}); running the model with Keras")
            except ModelFileError as exc:
                raise ModelFileError(f"{path}: {exc}") from None
            else:
                return Classifier(path, meta, "LiteRT", lambda x: model.predict(x, batch_size=BATCH))
    model, meta = store.load(path)
    shape = tuple(model.input_shape[1:])

    def run(x: np.ndarray) -> np.ndarray:
        return model.predict(x.reshape((len(x), *shape)), batch_size=BATCH, verbose=0)

    return Classifier(path, meta, "Keras", run, notices)


def prepare_files(items: list[tuple[str, Path | bytes]]) -> tuple[list[str], list[np.ndarray], list[str]]:
    """Each (name, path or bytes) image prepared as MNIST was (`preprocess.load`).

    Returns the names that could be prepared, their (28, 28) arrays, and one
    "name: problem" line for each that could not; one bad file never stops the others.
    """
    from . import preprocess
    from .errors import ImageError

    names, arrays, failures = [], [], []
    for name, source in items:
        try:
            arrays.append(preprocess.load(source, name))
            names.append(name)
        except ImageError as exc:
            failures.append(f"{name}: {exc}")
    return names, arrays, failures


def top_k(probabilities: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k most likely digits per row and their probabilities, most likely first."""
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(probabilities, order, axis=1)


def choose(pool: np.ndarray, count: int, seed: int, what: str = "test images") -> np.ndarray:
    """`count` distinct indices drawn from `pool`, the same for the same seed.

    Nested: the first N of `count` N+1 are those of `count` N (the head of one
    seeded shuffle of the pool), so asking for more images only adds some.
    """
    if count > len(pool):
        raise BadOption(f"--samples {count:,} is more than the {len(pool):,} {what} available")
    return np.asarray(pool)[np.random.default_rng(seed).permutation(len(pool))[:count]]
