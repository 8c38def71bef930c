"""`digits export`: a checked .tflite with its input contract, a SavedModel, never an overwritten file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from digitcli import data, lite, predict

from conftest import flat, invoke, sha256


@pytest.fixture(scope="module")
def test_images():
    return data.load("bundled").x_test[:200].astype(np.float32) / 255


def test_litert_export_writes_the_checked_model_and_its_input_contract(tiny_model, tmp_path, test_images):
    target = tmp_path / "apps" / "digits.tflite"
    result = invoke("export", str(tiny_model), "--format", "litert", "--output", str(target))
    assert result.exit_code == 0, result.output
    contract_file = tmp_path / "apps" / "digits.tflite.json"
    assert result.stdout == f"Wrote {target}\nWrote {contract_file}\n"
    assert "Checked against Keras on 10,000 test images: the same digit for every image" in result.stderr
    contract = json.loads(contract_file.read_text())
    assert contract["input"]["shape"] == [-1, 28, 28] and contract["input"]["dtype"] == "float32"
    assert contract["input"]["range"] == [0.0, 1.0] and contract["input"]["polarity"].startswith("white digit")
    assert "centre of mass" in contract["input"]["preparation"]
    assert contract["output"]["shape"] == [-1, 10] and contract["labels"] == [str(d) for d in range(10)]
    assert contract["sha256"] == sha256(target) and contract["checked"]["test_images"] == 10_000
    # the standalone file gives what `digits predict` gives
    expected = predict.open_classifier(tiny_model).probabilities(test_images)
    np.testing.assert_allclose(lite.LiteModel(target.read_bytes()).predict(test_images), expected, atol=1e-6)


def test_an_existing_output_is_kept_without_overwrite(tiny_model, tmp_path):
    target = tmp_path / "digits.tflite"
    target.write_bytes(b"an app's own model")
    result = invoke("export", str(tiny_model), "--format", "litert", "--output", str(target))
    assert result.exit_code == 1
    assert result.stderr == f"Error: {target} already exists; pass --overwrite to replace it, or choose another --output\n"
    assert target.read_bytes() == b"an app's own model"
    again = invoke("export", str(tiny_model), "--format", "litert", "--output", str(target), "--overwrite")
    assert again.exit_code == 0, again.output
    assert target.read_bytes()[4:8] == b"TFL3"


def test_a_bad_model_file_is_a_one_line_error(tmp_path):
    bad = tmp_path / "notes.keras"
    bad.write_text("not a model")
    result = invoke("export", str(bad), "--format", "litert", "--output", str(tmp_path / "x.tflite"))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        f"Error: {bad} is not a digits model file (expected a Keras .keras zip; legacy HDF5 files are not loaded)")
    assert not (tmp_path / "x.tflite").exists() and not (tmp_path / "x.tflite.json").exists()


def test_a_bad_format_is_a_usage_error(tiny_model, tmp_path):
    result = invoke("export", str(tiny_model), "--format", "onnx", "--output", str(tmp_path / "x"))
    assert result.exit_code == 2
    assert "Invalid value for '--format': Value error, 'onnx' is not one of 'litert', 'savedmodel'." in flat(result.stderr)


def test_savedmodel_export_serves_the_same_probabilities(tiny_model, tmp_path, test_images):
    from digitcli.backend import tf

    target = tmp_path / "serving" / "digits" / "1"
    result = invoke("export", str(tiny_model), "--format", "savedmodel", "--output", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Wrote {target}\n"
    assert (target / "saved_model.pb").is_file()
    assert [p.name for p in target.parent.iterdir()] == ["1"]  # no staging directory left behind
    serve = tf.saved_model.load(str(target)).signatures["serving_default"]
    (got,) = serve(tf.constant(test_images)).values()
    expected = predict.open_classifier(tiny_model).probabilities(test_images)
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-4)
    again = invoke("export", str(tiny_model), "--format", "savedmodel", "--output", str(target))
    assert again.exit_code == 1
    assert again.stderr == f"Error: {target} already exists; pass --overwrite to replace it, or choose another --output\n"
