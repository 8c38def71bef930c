"""README sentences that had no test of their own, each checked against an independent count."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from digitcli.cli import app

from conftest import invoke
from oracle import bundled


def test_evaluate_is_eval_under_its_old_name(tiny_model):
    args = ["--model", str(tiny_model), "--json", "--limit", "200"]
    new, old = invoke("eval", *args), invoke("evaluate", *args)
    assert new.exit_code == old.exit_code == 0
    assert new.stdout == old.stdout


def test_show_samples_train_shows_training_images():
    result = invoke("show", "samples", "--train", "--digit", "5", "--count", "3")
    assert result.exit_code == 0, result.output
    fives = int(np.sum(bundled("train-labels-idx1-ubyte") == 5))
    assert result.stderr.splitlines()[-1] == f"3 of {fives:,} training images of digit 5"
    assert result.stdout.count("label 5") == 3


def test_cards_sit_side_by_side_when_the_terminal_is_wide_enough(tiny_model):
    args = ["predict", "--model", str(tiny_model), "--samples", "3", "--seed", "7"]
    wide = CliRunner().invoke(app, args, env={"COLUMNS": "120"})
    narrow = CliRunner().invoke(app, args, env={"COLUMNS": "40"})
    assert wide.exit_code == narrow.exit_code == 0
    captions = lambda text: [line.count("true ") for line in text.splitlines() if "true " in line]  # noqa: E731
    assert captions(wide.stdout) == [3]  # one row of three cards
    assert captions(narrow.stdout) == [1, 1, 1]  # one card per row
