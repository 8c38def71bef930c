"""Help and tables read whole at 60 and 80 columns; undefined scores read n/a; one number format."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from conftest import invoke
from digitcli import evaluate, render
from digitcli.cli import app
from digitcli.card import training_options
from digitcli.ui import plural

DIGITS = str(Path(sys.executable).with_name("digits"))
COMMANDS = [[], ["train"], ["eval"], ["predict"], ["show"], ["show", "samples"], ["show", "curves"],
            ["show", "misclassified"], ["show", "model"], ["tune"], ["robustness"], ["serve"], ["draw"], ["export"]]


@pytest.mark.parametrize("width", [60, 80])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "digits")
def test_help_fits_the_width_with_whole_option_names(command, width):
    # The terminal's width, as click takes it from $COLUMNS (CliRunner would force 80 otherwise).
    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=width)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"Usage: digits {' '.join(command)}".rstrip())
    assert max(len(line) for line in lines) <= width
    assert "…" not in result.stdout and "..." not in result.stdout.replace("[ARGS]...", "").replace("[IMAGE]...", "")
    assert "<bool>" not in result.stdout


def test_help_follows_the_real_terminal_width():
    env = {**os.environ, "COLUMNS": "60"}
    shown = subprocess.run([DIGITS, "train", "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert max(len(line) for line in shown.stdout.splitlines()) <= 60
    assert "  --batch-size, --batch_size <int range>\n" in shown.stdout


def test_help_names_every_spelling_of_an_option_and_flags_take_no_value():
    help_text = CliRunner().invoke(app, ["train", "--help"], terminal_width=60).stdout
    assert "  --batch-size, --batch_size <int range>\n" in help_text
    assert "  -o, --output, --model_output <path>\n" in help_text
    assert re.search(r"^  --overwrite +Replace an existing", help_text, re.M)
    commands = CliRunner().invoke(app, ["--help"], terminal_width=60).stdout
    assert commands.endswith(
        "Commands:\n"
        "  train       Train a model on MNIST and save it.\n"
        "  tune        Search hyperparameters, then train the best.\n"
        "  eval        Score a model on the test set.\n"
        "  predict     Predict test images or your own image files.\n"
        "  robustness  Accuracy on tilted, noisy, distorted digits.\n"
        "  serve       A page to draw digits on, and a JSON API.\n"
        "  draw        A terminal drawing pad that reads your digit.\n"
        "  export      Write a model as LiteRT or a SavedModel.\n"
        "  show        Look at the data, curves, mistakes or a model.\n"
    )


def matrix_rows(stdout: str) -> dict[int, list[int]]:
    """true digit -> counts, joining the halves a narrow terminal shows."""
    rows: dict[int, list[int]] = {}
    section = stdout.split("Confusion matrix")[1].split("[n] correct")[0]
    for line in section.splitlines():
        cells = line.split()
        if cells and cells[0].isdigit() and len(cells) > 1:
            rows.setdefault(int(cells[0]), []).extend(int(c.strip("[]*")) for c in cells[1:])
    return rows


@pytest.mark.parametrize("width,halves", [(60, 2), (80, 1)])
def test_eval_keeps_every_count_of_the_confusion_matrix_whole(tiny_model, width, halves):
    env = {**os.environ, "COLUMNS": str(width)}
    shown = subprocess.run([DIGITS, "eval", "--model", str(tiny_model)], capture_output=True, text=True, env=env, timeout=120)
    assert shown.returncode == 0, shown.stderr
    tables = shown.stdout[shown.stdout.index("Per class") : shown.stdout.index("[n] correct")]
    assert max(len(line) for line in tables.splitlines()) <= width
    assert "…" not in shown.stdout
    assert len(re.findall(r"^ *true ", shown.stdout, re.M)) == halves
    scores = json.loads(invoke("eval", "--model", str(tiny_model), "--json").stdout)
    assert matrix_rows(shown.stdout) == dict(enumerate(scores["confusion"]))


@pytest.mark.parametrize("width,halves", [(60, 2), (78, 2), (79, 1), (80, 1)])
def test_four_digit_counts_stay_whole_at_any_width_from_60(width, halves):
    # The default model's matrix on the full test set, as in the README: four diagonals of four digits.
    confusion = [
        [975, 0, 1, 0, 1, 0, 2, 1, 0, 0], [0, 1131, 2, 0, 0, 0, 1, 1, 0, 0], [1, 0, 1027, 2, 0, 0, 0, 2, 0, 0],
        [0, 1, 0, 1008, 0, 1, 0, 0, 0, 0], [0, 0, 1, 0, 978, 0, 1, 0, 1, 1], [0, 0, 0, 6, 0, 885, 1, 0, 0, 0],
        [0, 2, 1, 0, 1, 1, 952, 0, 1, 0], [0, 1, 2, 0, 3, 0, 0, 1022, 0, 0], [1, 0, 5, 0, 0, 0, 0, 0, 967, 1],
        [0, 0, 1, 1, 10, 1, 0, 6, 3, 987],
    ]
    result = evaluate.Evaluation(n=10_000, accuracy=0.9932, loss=0.0233, per_class=[], confusion=confusion)
    console = Console(width=width, file=io.StringIO(), color_system=None)
    console.print(render.confusion_table(result, [(9, 4, 10)], console.width))
    text = console.file.getvalue()
    assert max(len(line) for line in text.splitlines()) <= width
    assert "…" not in text and "[1131]" in text and "*10" in text
    assert len(re.findall(r"^ *true ", text, re.M)) == halves
    assert matrix_rows(text) == dict(enumerate(confusion))


def test_undefined_scores_read_n_a_and_null(tiny_model):
    scores = json.loads(invoke("eval", "--model", str(tiny_model), "--limit", "5", "--json").stdout)
    table = invoke("eval", "--model", str(tiny_model), "--limit", "5").stdout
    rows = {int(r[0]): r[1:] for r in (line.strip("│ ").split(" │ ") for line in table.splitlines()) if r[0].isdigit()}
    assert sorted(rows) == list(range(10))
    for score in scores["per_class"]:
        if score["support"] == 0:  # test labels 7, 2, 1, 0, 4: the other digits have no images
            assert score["recall"] is None
        shown = [f"{score[k]:.4f}" if score[k] is not None else "n/a" for k in ("precision", "recall", "f1")]
        assert [c.strip() for c in rows[score["digit"]]] == [*shown, str(score["support"])]
    assert sum(s["recall"] is None for s in scores["per_class"]) == 5
    assert any(cells[0].strip() == "n/a" for cells in rows.values())


def test_counts_read_1_epoch_and_15_epochs(tiny_model):
    assert (plural(1, "epoch"), plural(15, "epoch"), plural(1000, "image")) == ("1 epoch", "15 epochs", "1,000 images")
    assert invoke("show", "curves", "--model", str(tiny_model)).stdout.startswith("mlp: 1 epoch (batch 128, lr 0.001, seed 0)")


def test_an_unset_limit_reads_all():
    assert training_options({"epochs": 15, "limit": None, "seed": 0}) == "epochs 15, limit all, seed 0"
    assert training_options({"epochs": 15, "limit": 500}) == "epochs 15, limit 500"
