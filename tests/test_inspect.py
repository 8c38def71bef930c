"""`digits eval`, `digits predict` (test samples) and `digits show`, driven as a user would."""

from __future__ import annotations

import csv
import io
import json
import re

import numpy as np
import pytest

from digitcli import store

from conftest import flat, invoke, sha256
from oracle import OFFICIAL_TEST_SUPPORT, bundled, confusion_by_counting, keras_probabilities


@pytest.fixture(scope="module")
def scores(tiny_model):
    result = invoke("eval", "--model", str(tiny_model), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_eval_json_matches_a_second_computation(tiny_model, scores):
    """The scores against the model run through Keras instead of LiteRT, counted pair by pair."""
    labels = bundled("t10k-labels-idx1-ubyte")
    probabilities = keras_probabilities(tiny_model, bundled("t10k-images-idx3-ubyte"))
    predicted = probabilities.argmax(axis=1)
    assert scores["n"] == 10_000
    assert [c["support"] for c in scores["per_class"]] == OFFICIAL_TEST_SUPPORT
    assert [c["digit"] for c in scores["per_class"]] == list(range(10))
    assert scores["confusion"] == confusion_by_counting(labels, predicted)
    assert scores["accuracy"] == pytest.approx(np.mean(predicted == labels), abs=1e-12)
    picked = probabilities[np.arange(10_000), labels]
    assert scores["loss"] == pytest.approx(-np.log(np.clip(picked, 1e-7, 1)).mean(), rel=1e-3)
    for c in scores["per_class"]:
        hits = np.sum((predicted == c["digit"]) & (labels == c["digit"]))
        assert c["precision"] == pytest.approx(hits / max(1, np.sum(predicted == c["digit"])))
        assert c["recall"] == pytest.approx(hits / np.sum(labels == c["digit"]))


def test_eval_table_shows_the_same_numbers_as_json(tiny_model, scores):
    result = invoke("eval", "--model", str(tiny_model))
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "\x1b" not in text
    assert f"Test accuracy: {scores['accuracy']:.2%}" in text
    rows = re.findall(r"│\s+(\d)\s+│\s+([\d.]+)\s+│\s+([\d.]+)\s+│\s+([\d.]+)\s+│\s+([\d,]+)\s+│", text)
    assert len(rows) == 10
    for (digit, precision, recall, f1, support), expected in zip(rows, scores["per_class"]):
        assert int(digit) == expected["digit"]
        assert float(precision) == pytest.approx(expected["precision"], abs=5e-5)
        assert float(recall) == pytest.approx(expected["recall"], abs=5e-5)
        assert float(f1) == pytest.approx(expected["f1"], abs=5e-5)
        assert int(support.replace(",", "")) == expected["support"]
    diagonal = [int(n) for n in re.findall(r"\[(\d+)\]", text)]
    assert diagonal == [scores["confusion"][d][d] for d in range(10)]
    assert "Most frequent confusions" in text


def test_eval_limit(tiny_model):
    result = invoke("eval", "--model", str(tiny_model), "--json", "--limit", "300")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["n"] == 300


def test_predict_csv_is_reproducible_with_a_seed(tiny_model):
    first = invoke("predict", "--model", str(tiny_model), "--samples", "4", "--seed", "11", "--format", "csv")
    second = invoke("predict", "--model_path", str(tiny_model), "--samples", "4", "--seed", "11", "--format", "csv")
    assert first.exit_code == 0, first.output
    assert first.stdout == second.stdout
    rows = list(csv.DictReader(io.StringIO(first.stdout)))
    assert len(rows) == 4
    assert list(rows[0]) == ["index", "label", "prediction", "confidence", "correct", "top1", "p1", "top2", "p2", "top3", "p3"]
    labels, images = bundled("t10k-labels-idx1-ubyte"), bundled("t10k-images-idx3-ubyte")
    indices = [int(row["index"]) for row in rows]
    probabilities = keras_probabilities(tiny_model, images[indices])  # a second runtime, not the CLI's
    for row, index, p in zip(rows, indices, probabilities):
        order = np.argsort(-p, kind="stable")
        assert int(row["label"]) == labels[index]
        assert [int(row["prediction"]), int(row["top1"]), int(row["top2"]), int(row["top3"])] == [order[0], *order[:3]]
        assert float(row["confidence"]) == pytest.approx(p[order[0]], abs=1e-4)
        assert [float(row[k]) for k in ("p1", "p2", "p3")] == pytest.approx(p[order[:3]], abs=1e-4)
        assert row["correct"] == str(order[0] == labels[index])


def test_predict_jsonl_wrong_only(tiny_model):
    result = invoke("predict", "--model", str(tiny_model), "--samples", "5", "--wrong", "--seed", "1", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 5
    labels = bundled("t10k-labels-idx1-ubyte")
    predicted = keras_probabilities(tiny_model, bundled("t10k-images-idx3-ubyte")[[r["index"] for r in records]]).argmax(axis=1)
    assert [r["label"] for r in records] == labels[[r["index"] for r in records]].tolist()
    assert [r["prediction"] for r in records] == predicted.tolist()
    assert all(p != labels[r["index"]] and r["correct"] is False for r, p in zip(records, predicted))
    assert all(len(r["top"]) == 3 and r["top"][0] == [r["prediction"], r["confidence"]] for r in records)


def test_predict_table_marks_wrong_predictions_in_plain_text(tiny_model):
    result = invoke("predict", "--model", str(tiny_model), "--samples", "3", "--wrong", "--seed", "2")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("WRONG: predicted") == 3
    assert "\x1b" not in result.output and "\r" not in result.output
    assert "rerun with --seed 2 for the same images" in result.stderr


def test_predict_ascii_art(tiny_model):
    result = invoke("--ascii", "predict", "--model", str(tiny_model), "--samples", "2", "--seed", "3")
    assert result.exit_code == 0
    assert all(ord(c) < 128 for c in result.stdout)
    assert "@" in result.stdout


@pytest.mark.parametrize(
    "args,code,message",
    [
        (["predict", "--samples", "0"], 2, "Invalid value for '--samples'"),
        (["predict", "--samples", "20000"], 2, "--samples 20,000 is more than the 10,000 test images available"),
        (["predict", "--top-k", "11"], 2, "Invalid value for '--top-k'"),
        (["predict", "x.png", "--samples", "3"], 2, "--samples: only for test images; cannot be combined with image files"),
        (["predict", "--show-input"], 2, "--show-input: only for image files"),
        (["show", "samples", "--digit", "10"], 2, "Invalid value for '--digit'"),
        (["show", "samples", "--count", "-1"], 2, "Invalid value for '--count'"),
        (["show", "misclassified", "--count", "0"], 2, "Invalid value for '--count'"),
        (["eval", "--limit", "20000"], 2, "--limit 20,000 is larger than the 10,000 test images available"),
    ],
)
def test_bad_options(tiny_model, args, code, message):
    result = invoke(*args, "--model", str(tiny_model)) if args[0] != "show" or args[1] != "samples" else invoke(*args)
    assert result.exit_code == code
    assert message in flat(result.stderr)


def test_missing_default_model_says_how_to_make_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for command in (["eval"], ["predict"], ["show", "curves"], ["show", "model"], ["show", "misclassified"]):
        result = invoke(*command)
        assert result.exit_code == 1
        assert result.stderr == "Error: model file models/digits.keras does not exist (train one with `digits train`)\n"


def test_files_that_are_not_models(tmp_path):
    text = tmp_path / "notes.keras"
    text.write_text("just text")
    result = invoke("eval", "--model", str(text))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {text} is not a digits model file (expected a Keras .keras zip")
    assert text.read_text() == "just text"


def _save_plain_keras(path, input_shape, classes):
    from digitcli.backend import keras

    model = keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(), keras.layers.Dense(classes, activation="softmax")])
    model.save(path)
    return path


def test_a_keras_model_that_is_not_a_digit_classifier(tmp_path):
    path = _save_plain_keras(tmp_path / "other.keras", (5,), 3)
    before = sha256(path)
    result = invoke("eval", "--model", str(path))
    assert result.exit_code == 1
    assert result.stderr == f"Error: {path} takes inputs of shape (5,); a digit classifier takes 28x28 images\n"
    assert sha256(path) == before


def test_a_keras_model_without_our_metadata(tmp_path):
    path = _save_plain_keras(tmp_path / "plain.keras", (28, 28), 10)
    result = invoke("show", "curves", "--model", str(path))
    assert result.exit_code == 1
    assert "has no digits metadata (it was not saved by `digits train`), so it has no training history" in result.stderr
    assert "`digits eval` and `digits show model` still work with it" in result.stderr
    scored = invoke("eval", "--model", str(path), "--json", "--limit", "100")
    assert scored.exit_code == 0 and json.loads(scored.stdout)["n"] == 100
    described = invoke("show", "model", "--model", str(path))
    assert described.exit_code == 0 and "7,850" in described.stdout  # 784*10 + 10


def test_show_samples_gallery():
    result = invoke("show", "samples", "--digit", "3", "--count", "4")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("label 3") == 4
    assert "label" in result.stdout and "4 of 1,010 test images of digit 3" in result.stderr


def test_show_curves_and_model(tiny_model):
    curves = invoke("show", "curves", "--model", str(tiny_model))
    assert curves.exit_code == 0, curves.output
    first = curves.stdout.splitlines()[0]
    assert first.startswith("mlp: 1 epoch (batch 128, lr 0.001, seed 0) in ") and "on 450 training images" in first
    assert "loss" in curves.stdout and "accuracy" in curves.stdout and "\x1b" not in curves.stdout
    described = invoke("show", "model", "--model", str(tiny_model))
    assert described.exit_code == 0
    assert "101,770" in described.stdout  # 784*128+128 + 128*10+10
    assert store.read_metadata(tiny_model)["data"]["fingerprint"][:40] in described.stdout.replace("│", "").replace(" ", "").replace("\n", "")


def test_show_misclassified_most_confident_first(tiny_model):
    result = invoke("show", "misclassified", "--model", str(tiny_model), "--count", "4")
    assert result.exit_code == 0, result.output
    confidences = [float(c) for c in re.findall(r"WRONG: predicted \d\s+([\d.]+)%", result.stdout)]
    assert len(confidences) == 4
    assert confidences == sorted(confidences, reverse=True)


def test_training_stores_a_litert_form_that_predict_uses_without_tensorflow(tiny_model, tmp_path):
    assert store.read_metadata(tiny_model)["litert"] is True
    assert store.read_member(tiny_model, "model.tflite")[4:8] == b"TFL3"  # the flatbuffer's identifier
    code = (
        "import sys\nfrom digitcli.cli import app\n"
        f"try:\n    app(['predict', '--model', {str(tiny_model)!r}, '--samples', '3', '--seed', '4', '--format', 'csv'])\n"
        "except SystemExit as exc:\n    assert exc.code in (0, None), exc.code\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    lines = done.stdout.strip().splitlines()
    assert lines[-1] == "[]", done.stderr
    assert len(lines) == 1 + 3 + 1  # csv header, three records, the module list


def test_keras_fallback_says_why(tiny_model, monkeypatch):
    from digitcli import lite

    lite_csv = invoke("predict", "--model", str(tiny_model), "--samples", "3", "--seed", "4", "--format", "csv")
    monkeypatch.setattr(lite, "available", lambda: False)
    keras_csv = invoke("predict", "--model", str(tiny_model), "--samples", "3", "--seed", "4", "--format", "csv")
    assert keras_csv.exit_code == 0
    assert "Note: the LiteRT runtime (ai-edge-litert) is not installed; running the model with Keras" in keras_csv.stderr
    assert "(Keras)" in keras_csv.stderr and "(LiteRT)" in lite_csv.stderr
    for a, b in zip(csv.DictReader(io.StringIO(lite_csv.stdout)), csv.DictReader(io.StringIO(keras_csv.stdout))):
        assert a["prediction"] == b["prediction"]
        assert float(a["confidence"]) == pytest.approx(float(b["confidence"]), abs=1e-4)
