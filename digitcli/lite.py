"""A LiteRT (TFLite) form of a model, so prediction never pays for TensorFlow.

Importing TensorFlow takes seconds; the `ai-edge-litert` runtime takes a
fraction of that. At train time `export` converts the Keras model and checks
the result against Keras on the test set; at prediction time `LiteModel` runs
it. Only `export` imports Keras: this module alone, and `LiteModel`, never do.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import DigitsError, ModelFileError, first_line
from .quiet import quiet_stderr

RUNTIME = "ai_edge_litert"
SIDE = 28
CLASSES = 10
PROB_TOLERANCE = 1e-4  # float32 kernels differ from TF's by ~1e-7; 1e-4 leaves room, catches real drift
MAX_THREADS = 4  # a digit net gains nothing past a few threads


class LiteExportError(DigitsError):
    """The LiteRT form could not be made or disagrees with Keras; the model is stored without it."""


def available() -> bool:
    """Whether the LiteRT runtime is installed, without importing it."""
    return importlib.util.find_spec(RUNTIME) is not None


def export(model, x_check: np.ndarray, expected: np.ndarray | None = None) -> bytes:
    """A .tflite flatbuffer of `model`, checked against Keras on `x_check`.

    `x_check` is float32 (n, 28, 28) in [0, 1]; `expected` may carry the Keras
    probabilities for it when the caller already has them (saves one pass).
    Raises LiteExportError if conversion fails or any prediction disagrees.
    """
    from .backend import tf

    # Builtin ops only: the standalone runtime has no TensorFlow (Flex) kernels,
    # so a model needing them must fail here, not at prediction time.
    builtins_only = {"supported_ops": {tf.lite.OpsSet.TFLITE_BUILTINS}}
    with tempfile.TemporaryDirectory() as tmpdir:
        target = Path(tmpdir) / "model.tflite"
        try:
            # Keras freezes its variables through a SavedModel; converting a
            # concrete function directly leaves them as uninitialised resources.
            model.export(str(target), format="litert", verbose=False, target_spec=builtins_only)
        except Exception as exc:  # the converter raises many types
            raise LiteExportError(f"cannot convert the model to LiteRT: {first_line(exc)}") from None
        flatbuffer = target.read_bytes()

    x_check = _as_images(x_check)
    if expected is None:
        expected = model.predict(x_check, batch_size=1024, verbose=0)
    try:
        got = LiteModel(flatbuffer).predict(x_check)
    except (ModelFileError, RuntimeError, ValueError) as exc:
        raise LiteExportError(f"the LiteRT model does not run: {first_line(exc)}") from None
    check_agreement(np.asarray(expected), got)
    return flatbuffer


def check_agreement(expected: np.ndarray, got: np.ndarray, what: str = "LiteRT") -> float:
    """The largest probability difference; LiteExportError unless every argmax matches and all are within tolerance."""
    if expected.shape != got.shape:
        raise LiteExportError(f"{what} gives outputs of shape {got.shape}, Keras {expected.shape}")
    mismatches = int(np.count_nonzero(expected.argmax(axis=1) != got.argmax(axis=1)))
    max_diff = float(np.max(np.abs(expected - got), initial=0.0))
    if mismatches or not max_diff <= PROB_TOLERANCE:  # `not <=` also catches NaN
        raise LiteExportError(
            f"the {what} model disagrees with Keras: {mismatches:,} of {len(got):,} predicted digits differ, "
            f"probabilities by up to {max_diff:.2g} (tolerance {PROB_TOLERANCE:g})"
        )
    return max_diff


class LiteModel:
    """A LiteRT flatbuffer taking float32 (n, 28, 28) images, giving (n, 10) probabilities."""

    def __init__(self, flatbuffer: bytes):
        from ai_edge_litert.interpreter import Interpreter

        try:
            self._interpreter = Interpreter(model_content=flatbuffer, num_threads=_threads())
        except ValueError as exc:
            raise ModelFileError(f"its LiteRT model is unreadable: {first_line(exc)}") from None
        inputs = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        if (
            len(inputs) != 1
            or len(outputs) != 1
            or inputs[0]["dtype"] != np.float32
            or tuple(inputs[0]["shape_signature"][1:]) != (SIDE, SIDE)
            or tuple(outputs[0]["shape_signature"][1:]) != (CLASSES,)
        ):
            raise ModelFileError("its LiteRT model is not a digit classifier taking 28x28 float images")
        self._input = inputs[0]["index"]
        self._output = outputs[0]["index"]
        self._batch = None  # the batch size the tensors are allocated for

    def predict(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Probabilities (n, 10) float32, run `batch_size` images at a time."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        x = _as_images(x)
        result = np.empty((len(x), CLASSES), dtype=np.float32)
        for start in range(0, len(x), batch_size):
            batch = x[start : start + batch_size]
            self._allocate(len(batch))
            self._interpreter.set_tensor(self._input, batch)
            self._interpreter.invoke()
            result[start : start + len(batch)] = self._interpreter.get_tensor(self._output)
        return result

    def _allocate(self, batch: int) -> None:
        # Resizing re-plans every tensor: do it when the batch size changes
        # (at most twice a call: full batches, then the rest), never per image.
        if batch == self._batch:
            return
        self._interpreter.resize_tensor_input(self._input, [batch, SIDE, SIDE], strict=True)
        with quiet_stderr():  # the runtime announces its XNNPACK delegate on fd 2
            self._interpreter.allocate_tensors()
        self._batch = batch


def _as_images(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 3 or x.shape[1:] != (SIDE, SIDE):
        raise ValueError(f"expected images of shape (n, {SIDE}, {SIDE}), got {x.shape}")
    return x


def _threads() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_THREADS))
