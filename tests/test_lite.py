"""The LiteRT form of a model: export, agreement with Keras, batching, no TensorFlow at prediction."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from digitcli import data, lite, models
from digitcli.errors import ModelFileError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def images():
    """300 training images to fit on and 50 test images to compare on, float32 in [0, 1]."""
    mnist = data.load("bundled")
    x_train = mnist.x_train[:300].astype(np.float32) / 255
    x_test = mnist.x_test[:50].astype(np.float32) / 255
    return x_train, mnist.y_train[:300], x_test


@pytest.fixture(scope="module", params=["mlp", "cnn"])
def exported(request, images):
    """(keras model, its checked flatbuffer) for each architecture, fitted for one epoch."""
    from digitcli.backend import keras

    keras.utils.set_random_seed(0)
    x_train, y_train, x_test = images
    model = models.build(request.param, 0.001)
    model.fit(x_train, y_train, epochs=1, batch_size=64, verbose=0)
    return model, lite.export(model, x_test)


def test_lite_agrees_with_keras(exported, images):
    model, flatbuffer = exported
    x = images[2]
    expected = model.predict(x, verbose=0)
    got = lite.LiteModel(flatbuffer).predict(x)
    assert flatbuffer[4:8] == b"TFL3"  # the flatbuffer's file identifier
    assert got.shape == (50, 10)
    assert got.dtype == np.float32
    assert np.array_equal(got.argmax(axis=1), expected.argmax(axis=1))
    assert np.max(np.abs(got - expected)) <= 1e-4
    np.testing.assert_allclose(got.sum(axis=1), np.ones(50), atol=1e-5)


def test_any_batch_size_gives_the_same_probabilities(exported, images):
    _, flatbuffer = exported
    x = images[2]
    runner = lite.LiteModel(flatbuffer)
    whole = runner.predict(x)  # 50 images, fewer than the default batch of 1024
    sizes = []
    resize = runner._interpreter.resize_tensor_input
    runner._interpreter.resize_tensor_input = lambda index, shape, strict: (
        sizes.append(shape[0]), resize(index, shape, strict=strict))
    partial = runner.predict(x, batch_size=16)  # 16, 16, 16, then 2
    single = runner.predict(x[:3], batch_size=1)
    assert sizes == [16, 2, 1]  # resized when the batch size changes, not per batch or image
    np.testing.assert_allclose(partial, whole, atol=1e-6)
    np.testing.assert_allclose(single, whole[:3], atol=1e-6)
    assert runner.predict(x[:0]).shape == (0, 10)


def test_prediction_does_not_import_tensorflow_or_keras(exported, images, tmp_path):
    model, flatbuffer = exported
    (tmp_path / "model.tflite").write_bytes(flatbuffer)
    np.save(tmp_path / "x.npy", images[2][:5])
    code = (
        "import sys\nimport numpy as np\nfrom digitcli.lite import LiteModel\n"
        f"runner = LiteModel(open({str(tmp_path / 'model.tflite')!r}, 'rb').read())\n"
        f"print(runner.predict(np.load({str(tmp_path / 'x.npy')!r})).argmax(axis=1).tolist())\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    digits, imported = done.stdout.strip().splitlines()
    assert digits == str(model.predict(images[2][:5], verbose=0).argmax(axis=1).tolist())
    assert imported == "[]"
    assert done.stderr == ""  # the runtime's delegate notice stays off the user's terminal


@pytest.fixture(scope="module")
def mlp(images):
    """An untrained mlp: conversion and agreement do not depend on training."""
    from digitcli.backend import keras

    keras.utils.set_random_seed(1)
    return models.build("mlp", 0.001)


def test_export_refuses_a_lite_model_that_drifts(mlp, images, monkeypatch):
    predict = lite.LiteModel.predict
    monkeypatch.setattr(lite.LiteModel, "predict", lambda self, x: predict(self, x) + 0.0003)
    with pytest.raises(lite.LiteExportError) as caught:
        lite.export(mlp, images[2])
    assert str(caught.value) == (
        "the LiteRT model disagrees with Keras: 0 of 50 predicted digits differ, "
        "probabilities by up to 0.0003 (tolerance 0.0001)"
    )


def test_export_refuses_a_lite_model_that_predicts_other_digits(mlp, images, monkeypatch):
    predict = lite.LiteModel.predict
    # Moving each row's probabilities one class along changes every predicted digit.
    monkeypatch.setattr(lite.LiteModel, "predict", lambda self, x: np.roll(predict(self, x), 1, axis=1))
    with pytest.raises(lite.LiteExportError, match=r"^the LiteRT model disagrees with Keras: 50 of 50 predicted "
                                                   r"digits differ, probabilities by up to 0\.\d+ \(tolerance"):
        lite.export(mlp, images[2])


def test_export_reports_a_failed_conversion(mlp, images, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("op FlexFoo is neither a custom op nor a flex op\nmore detail")

    monkeypatch.setattr(mlp, "export", fail)
    with pytest.raises(lite.LiteExportError) as caught:
        lite.export(mlp, images[2])
    assert str(caught.value) == "cannot convert the model to LiteRT: op FlexFoo is neither a custom op nor a flex op"


def test_export_compares_with_given_keras_probabilities(mlp, images):
    x = images[2]
    expected = mlp.predict(x, verbose=0)
    assert lite.LiteModel(lite.export(mlp, x, expected=expected)).predict(x).shape == (50, 10)
    wrong = expected.copy()
    wrong[7] = wrong[7, ::-1]  # reversing a row moves its largest probability to another digit
    with pytest.raises(lite.LiteExportError, match=r": 1 of 50 predicted digits differ"):
        lite.export(mlp, x, expected=wrong)


def test_available_follows_whether_the_runtime_is_installed(monkeypatch):
    assert lite.available() is True
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ai_edge_litert" else real(name, *a))
    assert lite.available() is False


def test_unreadable_flatbuffer_is_a_model_file_error():
    with pytest.raises(ModelFileError, match=r"^its LiteRT model is unreadable: "):
        lite.LiteModel(b"not a flatbuffer at all")


def test_predict_rejects_images_of_another_shape(mlp, images):
    runner = lite.LiteModel(lite.export(mlp, images[2]))
    with pytest.raises(ValueError) as caught:
        runner.predict(np.zeros((2, 784), np.float32))
    assert str(caught.value) == "expected images of shape (n, 28, 28), got (2, 784)"
