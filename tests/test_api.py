"""The Python API (`digitcli.load`): the same predictions as the command line, from the same code."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import digitcli
from digitcli import data, lite
from digitcli.errors import ImageError, ModelFileError

from conftest import invoke


@pytest.fixture(scope="module")
def test_set():
    dataset = data.load("bundled", need_train=False)
    return dataset.x_test, dataset.y_test


def test_importing_digitcli_loads_nothing_heavy():
    code = "import sys, digitcli; print(sorted({'numpy', 'tensorflow', 'keras', 'PIL', 'typer', 'rich'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout == "[]\n", done.stderr


def test_predict_gives_the_command_lines_predictions(tiny_model, test_set):
    x_test, _ = test_set
    model = digitcli.load(tiny_model)
    assert (model.runtime, model.path) == ("LiteRT", tiny_model)
    assert repr(model) == f"<digits model {tiny_model} (LiteRT)>"
    assert model.metadata["architecture"] == "mlp"
    shown = invoke("predict", "--model", str(tiny_model), "--samples", "25", "--seed", "3", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(shown.stdout)))
    chosen = [int(row["index"]) for row in rows]
    digits = model.predict(x_test[chosen])
    assert digits.dtype.kind == "i" and digits.tolist() == [int(row["prediction"]) for row in rows]
    probabilities = model.probabilities(x_test[chosen])
    assert probabilities.shape == (25, 10)
    assert [f"{p:.6f}" for p in probabilities.max(axis=1)] == [row["confidence"] for row in rows]
    # one image alone, and floats in [0, 1], are the same images
    assert model.predict(x_test[chosen[0]]).tolist() == [digits[0]]
    np.testing.assert_allclose(model.probabilities(x_test[chosen] / 255.0), probabilities, atol=1e-6)


def test_predict_files_prepares_images_as_the_command_line_does(tiny_model, test_set, tmp_path):
    x_test, _ = test_set
    paths = []
    for i in range(3):  # dark ink on a large white page, as a scan would be
        paths.append(tmp_path / f"d{i}.png")
        Image.fromarray(255 - x_test[i]).resize((280, 280), Image.BILINEAR).save(paths[-1])
    shown = invoke("predict", *map(str, paths), "--model", str(tiny_model), "--format", "jsonl")
    records = [json.loads(line) for line in shown.stdout.splitlines()]
    results = digitcli.load(tiny_model).predict_files(paths)
    assert [r.path for r in results] == [str(p) for p in paths]
    assert [r.digit for r in results] == [rec["prediction"] for rec in records]
    assert [r.confidence for r in results] == pytest.approx([rec["confidence"] for rec in records], abs=1e-6)
    assert all(r.probabilities.shape == (10,) and r.confidence == r.probabilities.max() for r in results)
    assert digitcli.load(tiny_model).predict_files(str(paths[0]))[0].digit == results[0].digit


def test_errors_carry_the_command_lines_messages(tiny_model, tmp_path):
    missing = tmp_path / "nothing.keras"
    with pytest.raises(ModelFileError) as raised:
        digitcli.load(missing)
    assert f"Error: {raised.value}\n" == invoke("eval", "--model", str(missing)).stderr
    (tmp_path / "fake.png").write_text("text")
    model = digitcli.load(tiny_model)
    with pytest.raises(ImageError, match=r"^.*missing\.png: file does not exist \(and 1 more\)$"):
        model.predict_files([tmp_path / "missing.png", tmp_path / "fake.png"])
    with pytest.raises(ValueError, match=r"images must be \(28, 28\) or \(n, 28, 28\) MNIST-like arrays, not \(2, 32, 32\)"):
        model.predict(np.zeros((2, 32, 32), np.uint8))
    with pytest.raises(ValueError, match="runtime must be 'auto' or 'keras', not 'gpu'"):
        digitcli.load(tiny_model, runtime="gpu")


def test_keras_runs_the_same_model_and_a_fallback_is_a_warning(tiny_model, test_set, monkeypatch):
    x = test_set[0][:64]
    lite_probabilities = digitcli.load(tiny_model).probabilities(x)
    keras_model = digitcli.load(tiny_model, runtime="keras")
    assert keras_model.runtime == "Keras"
    np.testing.assert_allclose(keras_model.probabilities(x), lite_probabilities, atol=1e-4)
    monkeypatch.setattr(lite, "available", lambda: False)
    with pytest.warns(UserWarning, match=r"^the LiteRT runtime \(ai-edge-litert\) is not installed; running the model with Keras$"):
        assert digitcli.load(tiny_model).runtime == "Keras"
