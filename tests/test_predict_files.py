"""`digits predict IMAGE...`: files, directories, stdin, formats and per-file errors."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from digitcli import data, predict, preprocess
from digitcli.cli import app

from conftest import flat, invoke
from oracle import keras_probabilities


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Four MNIST test digits drawn as dark ink on large white images, plus a subfolder."""
    folder = tmp_path_factory.mktemp("images")
    dataset = data.load("bundled")
    for i in range(4):
        Image.fromarray(255 - dataset.x_test[i]).resize((300, 300), Image.BILINEAR).save(folder / f"d{i}.png")
    (folder / "sub").mkdir()
    stroke = Image.new("L", (200, 260), 255)
    ImageDraw.Draw(stroke).line([(100, 30), (100, 230)], fill=0, width=10)
    stroke.save(folder / "sub" / "one.jpg")
    (folder / "notes.txt").write_text("not an image, and not picked up from a directory")
    return folder


def test_a_directory_is_predicted_in_sorted_order_as_csv(tiny_model, images):
    result = invoke("predict", str(images), "--model", str(tiny_model), "--format", "csv", "--top-k", "2")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["path", "prediction", "confidence", "top1", "p1", "top2", "p2"]
    assert [r[0] for r in rows[1:]] == [str(images / f"d{i}.png") for i in range(4)]
    probabilities = keras_probabilities(tiny_model, np.stack([preprocess.load(images / f"d{i}.png") for i in range(4)]))
    for row, p in zip(rows[1:], probabilities):  # the same prepared images through Keras instead of LiteRT
        order = np.argsort(-p, kind="stable")
        assert [int(row[1]), int(row[3]), int(row[5])] == [order[0], order[0], order[1]]
        assert [float(row[2]), float(row[4]), float(row[6])] == pytest.approx(p[[order[0], order[0], order[1]]], abs=1e-4)


def test_recursive_jsonl(tiny_model, images):
    result = invoke("predict", str(images), "--recursive", "--model", str(tiny_model), "--format", "jsonl")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["path"] for r in records][-1] == str(images / "sub" / "one.jpg")
    assert len(records) == 5
    assert all(set(r) == {"path", "prediction", "confidence", "top"} and len(r["top"]) == 3 for r in records)


def test_failed_files_are_reported_and_the_others_still_predicted(tiny_model, images, tmp_path):
    (tmp_path / "fake.png").write_text("text")
    (tmp_path / "empty.png").write_bytes(b"")
    Image.new("L", (64, 64), 255).save(tmp_path / "blank.png")
    good = images / "d0.png"
    args = [str(good), str(tmp_path / "fake.png"), str(tmp_path / "missing.png"), str(tmp_path / "empty.png"),
            str(tmp_path / "blank.png"), "--model", str(tiny_model), "--format", "csv"]
    result = invoke("predict", *args)
    assert result.exit_code == 1
    assert [row[0] for row in csv.reader(io.StringIO(result.stdout))][1:] == [str(good)]
    errors = result.stderr.splitlines()
    assert len(errors) == 4 and all(line.startswith("Error: ") for line in errors)
    assert errors[0].startswith(f"Error: {tmp_path / 'fake.png'}: ")
    assert errors[1].startswith(f"Error: {tmp_path / 'missing.png'}: ")
    assert "Traceback" not in result.output


def test_a_directory_without_images_is_an_error(tiny_model, tmp_path):
    (tmp_path / "readme.txt").write_text("x")
    result = invoke("predict", str(tmp_path), "--model", str(tiny_model))
    assert result.exit_code == 1
    assert result.stderr == f"Error: {tmp_path}: no images found (--recursive looks in subdirectories)\n"


def test_standard_input_and_show_input(tiny_model, images):
    result = CliRunner().invoke(app, ["predict", "-", "--show-input", "--model", str(tiny_model)],
                                input=(images / "d1.png").read_bytes())
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[14] .strip() == "-"  # the caption under 14 rows of art names the file
    assert any("█" in line for line in lines[:14])
    assert lines[15].startswith("predicted ")


def test_table_lists_each_file(tiny_model, images):
    args = ["predict", str(images / "d2.png"), str(images / "sub" / "one.jpg"), "--model", str(tiny_model)]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})  # wide enough not to fold the paths
    assert result.exit_code == 0
    assert str(images / "d2.png") in result.stdout and "one.jpg" in result.stdout
    assert "\x1b" not in result.stdout


def test_many_files_take_one_model_call(tiny_model, images, tmp_path, monkeypatch):
    for i in range(30):
        (tmp_path / f"copy{i:02}.png").write_bytes((images / f"d{i % 4}.png").read_bytes())
    calls = []
    original = predict.Classifier.probabilities

    def counting(self, x):
        calls.append(len(x))
        return original(self, x)

    monkeypatch.setattr(predict.Classifier, "probabilities", counting)
    result = invoke("predict", str(tmp_path), "--model", str(tiny_model), "--format", "jsonl")
    assert result.exit_code == 0
    assert calls == [30]
    predictions = [json.loads(line)["prediction"] for line in result.stdout.splitlines()]
    assert predictions[:4] == predictions[4:8]  # the same images give the same answers


def test_file_options_clash_with_sample_options(tiny_model, images):
    result = invoke("predict", str(images), "--wrong", "--model", str(tiny_model))
    assert result.exit_code == 2
    assert "--wrong: only for test images; cannot be combined with image files" in flat(result.stderr)


def test_standard_input_is_read_once_and_show_input_needs_the_table(tiny_model, images):
    result = CliRunner().invoke(app, ["predict", "-", "-", "--model", str(tiny_model), "--format", "csv"],
                                input=(images / "d1.png").read_bytes())
    assert result.exit_code == 1
    assert result.stderr == "Error: -: standard input holds one image and was already read\n"
    assert len(result.stdout.splitlines()) == 2  # the header and the one image
    clash = invoke("predict", str(images / "d1.png"), "--show-input", "--format", "csv", "--model", str(tiny_model))
    assert clash.exit_code == 2
    assert "--show-input draws beside the table; it cannot be combined with --format csv" in flat(clash.stderr)
