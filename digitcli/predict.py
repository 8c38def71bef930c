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


def open_classifier(path: Path, runtime: str = "auto", threads: int | None = None) -> Classifier:
    """A Classifier for a model file; `runtime` is auto, litert or keras.

    `threads` caps LiteRT's threads: a server predicting a few images per request
    runs faster on one, which never waits for idle helper threads to wake.
    """
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
                model = lite.LiteModel(flatbuffer, threads)
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


def top_k(probabilities: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k most likely digits per row and their probabilities, most likely first."""
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(probabilities, order, axis=1)


@dataclass
class FileResult:
    """One image's outcome: the input the model saw and its top guesses, or why it has none."""

    name: str
    image: np.ndarray | None = None  # (28, 28) float32 in [0, 1], as prepared for the model
    digits: np.ndarray | None = None  # the top k digits, most likely first
    probabilities: np.ndarray | None = None  # their probabilities
    error: str | None = None
    notes: list[str] = field(default_factory=list)  # what the user may want to know, e.g. a second digit

    def record(self, key: str = "path") -> dict:
        """The JSON record `digits predict --format jsonl` writes and the web API returns."""
        if self.error is not None:
            return {key: self.name, "error": self.error}
        top = [[int(d), float(p)] for d, p in zip(self.digits, self.probabilities)]
        record = {key: self.name, "prediction": top[0][0], "confidence": top[0][1], "top": top}
        if self.notes:
            record["notes"] = list(self.notes)
        return record


def predict_sources(classifier: Classifier, items: list[tuple[str, object]], k: int, pool: bool = False) -> list[FileResult]:
    """Prepare each (name, path or bytes) the MNIST way, then predict them all in one batched call.

    With `pool`, many files are prepared on a pool of processes started for them (`digits predict
    FOLDER`); otherwise in this process (the Python API: no re-run of a caller's unguarded script).
    A file that cannot be read or holds no digit gets its error and no guess; the others still get results.
    """
    from . import batch

    return predictions(classifier, [name for name, _ in items], batch.prepare_all([source for _, source in items], pool=pool), k)


def predictions(classifier: Classifier, names: list[str], prepared: list, k: int) -> list[FileResult]:
    """The results for files already prepared (`batch.Result`s, however prepared), from one batched model call."""
    results = [FileResult(name, image=p.array, error=p.error, notes=p.notes) for name, p in zip(names, prepared)]
    good = [result for result in results if result.error is None]
    if good:
        digits, probabilities = top_k(classifier.probabilities(np.stack([r.image for r in good])), k)
        for result, d, p in zip(good, digits, probabilities):
            result.digits, result.probabilities = d, p
    return results


def choose(pool: np.ndarray, count: int, seed: int, what: str = "test images") -> np.ndarray:
    """`count` distinct indices drawn from `pool`, the same for the same seed.

    Nested: the first N of `count` N+1 are those of `count` N (the head of one
    seeded shuffle of the pool), so asking for more images only adds some.
    """
    if count > len(pool):
        raise BadOption(f"--samples {count:,} is more than the {len(pool):,} {what} available")
    return np.asarray(pool)[np.random.default_rng(seed).permutation(len(pool))[:count]]
