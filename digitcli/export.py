"""Standalone forms of a model for other programs: LiteRT for phone apps, a SavedModel for TF Serving.

Each form is checked against the Keras model on the whole test set (the
same digit for every image, probabilities within lite.PROB_TOLERANCE) before
anything is written, and is written atomically: a temporary name beside the
output, then a rename. An existing output is only replaced when asked.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import lite, store
from .data import to_unit
from .errors import OutputError

FORMATS = ("litert", "savedmodel")
CONTRACT_SUFFIX = ".json"  # the input contract sits beside the .tflite as PATH.json

INPUT_CONTRACT = {
    "shape": [-1, 28, 28],
    "dtype": "float32",
    "range": [0.0, 1.0],
    "polarity": "white digit (1.0) on black (0.0), like MNIST",
    "preparation": (
        "crop to the ink, scale so the longer side is 20 px keeping the aspect ratio (antialiased), "
        "place in the 28x28 field with the centre of mass at its centre (as MNIST was made; "
        "`digits predict --show-input` shows the result for any image)"
    ),
}
OUTPUT_CONTRACT = {"shape": [-1, 10], "dtype": "float32", "meaning": "probabilities of the digits 0-9 (index = digit), summing to 1"}


@dataclass
class Exported:
    paths: list[Path]  # what was written, the model form first
    checked: int  # test images compared with Keras
    max_difference: float  # the largest probability difference found


def contract_path(output: Path) -> Path:
    return output.with_name(output.name + CONTRACT_SUFFIX)


def targets(form: str, output: Path) -> list[Path]:
    return [output, contract_path(output)] if form == "litert" else [output]


def check_targets(form: str, output: Path, overwrite: bool) -> None:
    """Fail before the slow part when the output could not or must not be written."""
    for path in targets(form, output):
        if path.exists() and not overwrite:
            raise OutputError(f"{path} already exists; pass --overwrite to replace it, or choose another --output")
        if path.is_dir() and form == "litert":
            raise OutputError(f"{path} is a directory; give a file path such as {path / 'digits.tflite'}")
        if path.is_dir() and any(path.iterdir()) and not (path / "saved_model.pb").exists():
            raise OutputError(f"{path} is a directory that holds no SavedModel; refusing to replace it")
        if path.exists() and not path.is_dir() and form == "savedmodel":
            raise OutputError(f"{path} is a file; a SavedModel is a directory, give a new path")
    parent = output.parent
    existing = next(p for p in (parent, *parent.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK):
        raise OutputError(f"cannot write to directory {existing}")


def export(model_path: Path, form: str, output: Path, overwrite: bool, x_test: np.ndarray) -> Exported:
    """Write `form` of the model at `model_path` to `output`, checked on `x_test` (uint8 or [0, 1])."""
    check_targets(form, output, overwrite)
    model, meta = store.load(model_path)
    x = to_unit(x_test).reshape((-1, 28, 28))
    expected = np.asarray(model.predict(x.reshape((len(x), *model.input_shape[1:])), batch_size=1024, verbose=0))
    output.parent.mkdir(parents=True, exist_ok=True)
    if form == "litert":
        return _litert(model, model_path, meta, output, x, expected)
    return _savedmodel(model, output, x, expected)


def _litert(model, model_path: Path, meta: dict | None, output: Path, x: np.ndarray, expected: np.ndarray) -> Exported:
    flatbuffer = store.read_member(model_path, "model.tflite")
    if flatbuffer is None:  # a plain Keras file, or one saved without the runtime: convert it now
        flatbuffer = lite.export(model, x, expected)
    try:
        got = lite.LiteModel(flatbuffer).predict(x)
    except Exception as exc:  # the stored form does not even run
        raise lite.LiteExportError(f"{model_path}: its LiteRT form does not run: {exc}") from None
    difference = lite.check_agreement(expected, got)
    contract = {
        "format": "digits-litert",
        "model": output.name,
        "sha256": hashlib.sha256(flatbuffer).hexdigest(),
        "source": str(model_path),
        "input": INPUT_CONTRACT,
        "output": OUTPUT_CONTRACT,
        "labels": [str(d) for d in range(10)],
        "checked": {"test_images": len(x), "same_digit": True, "max_probability_difference": difference},
        "test_accuracy": meta.get("test_accuracy") if meta else None,
    }
    _write_file(output, flatbuffer)
    _write_file(contract_path(output), (json.dumps(contract, indent=2) + "\n").encode())
    return Exported([output, contract_path(output)], len(x), difference)


def _savedmodel(model, output: Path, x: np.ndarray, expected: np.ndarray) -> Exported:
    from .backend import tf

    staging = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}."))
    try:
        target = staging / "model"
        try:
            model.export(str(target), format="tf_saved_model", verbose=False)
            served = tf.saved_model.load(str(target)).signatures["serving_default"]
            (result,) = served(tf.constant(x.reshape((len(x), *model.input_shape[1:])))).values()
        except Exception as exc:  # TensorFlow raises many types
            raise lite.LiteExportError(f"cannot export a SavedModel: {str(exc).splitlines()[0]}") from None
        difference = lite.check_agreement(expected, np.asarray(result), what="SavedModel")
        if output.exists():  # --overwrite of an earlier SavedModel (checked above)
            shutil.rmtree(output)
        os.replace(target, output)
    except OSError as exc:
        raise OutputError(f"cannot write {output}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Exported([output], len(x), difference)


def _write_file(path: Path, content: bytes) -> None:
    """Atomically, as model files are: a temporary file beside it, then a rename; never half a file."""
    tmp = None
    try:
        fd, tmp = store.temporary_beside(path)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
