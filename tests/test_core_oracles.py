"""The plain core functions against answers worked out by hand: no model, no TensorFlow, fast.

These are the tests the mutation run (README, Development) leans on for predict.py, store.py,
evaluate.py and data.py.
"""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest

from digitcli import data, evaluate, predict, store
from digitcli.errors import BadOption, DataError, ModelFileError

from oracle import OFFICIAL_TEST_SUPPORT, bundled

# --- predict: the guesses a user reads -------------------------------------------------


def test_top_k_orders_guesses_by_probability():
    probabilities = np.array([
        [0.05, 0.10, 0.60, 0.00, 0.00, 0.20, 0.00, 0.05, 0.00, 0.00],
        [0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.30, 0.70],
    ])
    digits, confidences = predict.top_k(probabilities, 3)
    assert digits.tolist() == [[2, 5, 1], [9, 8, 0]]  # ties (the zeros) go to the smaller digit
    assert confidences.tolist() == [[0.60, 0.20, 0.10], [0.70, 0.30, 0.00]]
    assert predict.top_k(probabilities, 1)[0].tolist() == [[2], [9]]
    assert predict.top_k(probabilities, 10)[0][0].tolist() == [2, 5, 1, 0, 7, 3, 4, 6, 8, 9]


def test_choose_draws_distinct_indices_from_the_pool_repeatably():
    pool = np.array([3, 17, 42, 99, 100, 512])
    first = predict.choose(pool, 4, seed=5)
    assert len(set(first.tolist())) == 4 and set(first.tolist()) <= set(pool.tolist())
    assert predict.choose(pool, 4, seed=5).tolist() == first.tolist()
    assert sorted(predict.choose(pool, 6, seed=1).tolist()) == pool.tolist()
    draws = {tuple(predict.choose(pool, 2, seed=s).tolist()) for s in range(20)}
    assert len(draws) > 5  # another seed, other images


def test_choose_more_than_the_pool_is_a_usage_error():
    with pytest.raises(BadOption) as raised:
        predict.choose(np.arange(1234), 1235, seed=0, what="misclassified test images")
    assert str(raised.value) == "--samples 1,235 is more than the 1,234 misclassified test images available"
    with pytest.raises(BadOption) as default:
        predict.choose(np.arange(3), 4, seed=0)
    assert str(default.value) == "--samples 4 is more than the 3 test images available"


def test_probabilities_of_uint8_images_are_scaled_to_unit():
    seen = []
    classifier = predict.Classifier(Path("m"), None, "test", lambda x: seen.append(x) or np.ones((len(x), 10)))
    images = np.array([[[0, 51], [255, 102]]], dtype=np.uint8)
    assert classifier.probabilities(images).dtype == np.float32
    assert seen[0].dtype == np.float32 and seen[0].tolist() == pytest.approx(np.array([[[0.0, 0.2], [1.0, 0.4]]]))
    assert classifier.probabilities(np.zeros((0, 28, 28), np.uint8)).shape == (0, 10)
    assert len(seen) == 1  # no images, no model call


# --- evaluate: scores worked out by hand -----------------------------------------------


def test_loss_clips_a_zero_probability_like_keras():
    probabilities = np.zeros((2, 10))
    probabilities[:, 4] = 1.0
    result = evaluate.evaluate(probabilities, np.array([4, 7]))
    assert result.loss == pytest.approx((0 + -math.log(1e-7)) / 2)
    assert result.accuracy == 0.5


def test_json_holds_every_score_a_user_reads():
    probabilities = np.eye(10)[[1, 1, 2]]
    scores = evaluate.evaluate(probabilities, np.array([1, 2, 2])).to_json()
    assert list(scores) == ["accuracy", "loss", "n", "per_class", "confusion"]
    assert scores["n"] == 3 and scores["accuracy"] == pytest.approx(2 / 3)
    assert scores["per_class"][2] == {"digit": 2, "precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert scores["per_class"][1] == {"digit": 1, "precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1}
    assert scores["confusion"][2][1] == 1 and scores["confusion"][1][2] == 0
    json.dumps(scores)  # plain JSON types only


def test_top_confusions_skip_the_diagonal_and_empty_cells():
    confusion = np.diag(np.full(10, 900)).tolist()
    confusion[6][0] = 1
    assert evaluate.top_confusions(confusion, 3) == [(6, 0, 1)]
    assert evaluate.top_confusions(np.diag(np.full(10, 5)).tolist(), 3) == []


def test_most_confident_mistakes_keep_order_on_ties_and_skip_right_answers():
    probabilities = np.full((4, 10), 0.0)
    probabilities[[0, 1, 2, 3], [5, 6, 1, 7]] = [0.9, 0.9, 0.99, 0.95]
    assert evaluate.most_confident_mistakes(probabilities, np.array([0, 0, 1, 0])).tolist() == [3, 0, 1]


# --- data: the bundled copy and where data is looked for --------------------------------


def test_bundled_test_labels_are_the_official_ones():
    dataset = data.load("bundled")
    assert np.bincount(dataset.y_test).tolist() == OFFICIAL_TEST_SUPPORT
    np.testing.assert_array_equal(dataset.y_test, bundled("t10k-labels-idx1-ubyte"))
    np.testing.assert_array_equal(dataset.x_train[-1], bundled("train-images-idx3-ubyte")[-1])
    assert dataset.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]  # MNIST's first training digits


def test_a_magic_number_with_its_top_bit_set_is_named_as_written(tmp_path):
    path = tmp_path / "images"
    path.write_bytes(bytes.fromhex("80000803") + bytes(12))
    with pytest.raises(DataError) as raised:
        data.read_idx(path, images=True)
    assert str(raised.value) == f"{path} has magic number 0x80000803, not 0x00000803: it is not an MNIST image file"


def test_to_unit_scales_bytes_and_keeps_floats():
    assert data.to_unit(np.array([0, 51, 255], np.uint8)).tolist() == pytest.approx([0.0, 0.2, 1.0])
    assert data.to_unit(np.array([0.5, 2.0], np.float64)).tolist() == [0.5, 2.0]
    assert data.to_unit(np.array([1], np.uint8)).dtype == np.float32


def test_keras_home_moves_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    assert data.keras_cache_path() == tmp_path / "kh" / "datasets" / "mnist.npz"
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data.keras_cache_path() == tmp_path / ".keras" / "datasets" / "mnist.npz"


# --- store: model files built by hand ------------------------------------------------------

GOOD_META = {
    "format": "digits-model", "architecture": "mlp", "preprocessing": "scale_0_1", "trained_at": "2026-01-01",
    "train_seconds": 1.5, "test_accuracy": 0.9, "test_loss": 0.3, "versions": {}, "history": {"loss": [0.5, 0.4]},
    "training": {"batch_size": 128, "lr": 0.001, "seed": 0},
    "data": {"source": "x", "fingerprint": "ab", "n_train": 1, "n_val": 0, "n_test": 1},
}


def model_zip(path: Path, members: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def keras_members(meta=None, config=None) -> dict:
    members = {"config.json": json.dumps(config or {"class_name": "Sequential", "module": "keras"}),
               "model.weights.h5": b"\0" * 16}
    if meta is not None:
        members["digits.json"] = json.dumps(meta)
    return members


def test_metadata_and_members_of_a_hand_made_file(tmp_path):
    path = model_zip(tmp_path / "m.keras", {**keras_members(GOOD_META), "model.tflite": b"TFL3bytes"})
    assert store.check(path) == GOOD_META
    assert store.read_member(path, "model.tflite") == b"TFL3bytes"
    assert store.read_member(path, "absent") is None
    assert store.read_metadata(model_zip(tmp_path / "plain.keras", keras_members())) is None


@pytest.mark.parametrize(
    "change,problem",
    [
        (lambda m: m.pop("test_accuracy"), "test_accuracy is missing or not a finite number"),
        (lambda m: m.update(test_loss=float("nan")), "test_loss is missing or not a finite number"),
        (lambda m: m.update(architecture=3), "architecture is missing or not text"),
        (lambda m: m.update(versions=[]), "versions is missing or not an object"),
        (lambda m: m.update(training=None), "training is not an object"),
        (lambda m: m["data"].pop("n_val"), "data.n_val is missing or not a finite number"),
        (lambda m: m.update(history={"loss": [0.1, "x"]}), "history.loss is not a list of finite numbers"),
        (lambda m: m.update(history={"loss": [1e300]}), "history.loss is not a list of finite numbers"),
    ],
)
def test_damaged_metadata_is_named(tmp_path, change, problem):
    meta = json.loads(json.dumps(GOOD_META))
    change(meta)
    path = model_zip(tmp_path / "m.keras", keras_members(meta))
    with pytest.raises(ModelFileError) as raised:
        store.read_metadata(path)
    assert str(raised.value) == f"{path}: its digits.json is damaged ({problem})"


def test_metadata_of_another_format_is_refused(tmp_path):
    path = model_zip(tmp_path / "m.keras", keras_members({**GOOD_META, "format": "other"}))
    with pytest.raises(ModelFileError, match=r": its digits.json is not digits metadata$"):
        store.read_metadata(path)


@pytest.mark.parametrize(
    "node,message",
    [
        ({"class_name": "Lambda", "module": "keras.layers"}, "holds a Lambda layer, which could run code; refusing to load it"),
        ({"layers": [{"class_name": "Dense", "module": "evil.pkg"}]}, "needs custom code (evil.pkg.Dense); refusing to load it"),
        ({"class_name": "Dense", "module": "kerasx"}, "needs custom code (kerasx.Dense); refusing to load it"),
    ],
)
def test_configs_that_need_code_are_refused(tmp_path, node, message):
    path = model_zip(tmp_path / "m.keras", keras_members(config={"class_name": "Sequential", "config": node}))
    with pytest.raises(ModelFileError) as raised:
        store.check(path)
    assert str(raised.value) == f"{path} {message}"


def test_keras_submodules_are_accepted(tmp_path):
    config = {"class_name": "Sequential", "module": "keras", "config": {"layers": [{"module": "keras.layers"}]}}
    assert store.check(model_zip(tmp_path / "m.keras", keras_members(GOOD_META, config))) == GOOD_META


def test_a_zip_without_keras_members_is_named(tmp_path):
    path = model_zip(tmp_path / "m.keras", {"config.json": "{}"})
    with pytest.raises(ModelFileError) as raised:
        store.check(path)
    assert str(raised.value) == f"{path} is a zip but not a Keras model (no model.weights.h5)"


def test_the_default_path_hint_only_for_the_default_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelFileError) as default:
        store.check(store.DEFAULT_PATH)
    assert str(default.value) == "model file models/digits.keras does not exist (train one with `digits train`)"
    with pytest.raises(ModelFileError) as other:
        store.check(Path("other.keras"))
    assert str(other.value) == "model file other.keras does not exist"


def test_state_path_sits_beside_the_output():
    assert store.state_path(Path("models/digits.keras")) == Path("models/digits.keras.resume")
