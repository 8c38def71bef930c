"""The confusion matrix as a user reads it: rows are the true digit, columns the prediction.

Checked two ways that do not trust the code's own numbers: a hand-made Evaluation drawn by
render.py, and `digits eval` on a model whose every answer is known in advance.
"""

from __future__ import annotations

import io
import json
import math
import re

import numpy as np
import pytest
from rich.console import Console

from digitcli import render
from digitcli.evaluate import ClassScore, Evaluation

from conftest import invoke
from oracle import bundled, confusion_by_counting, constant_model

ROW = re.compile(r"^\s+(\d)((?:\s+[\[*]?\d+\]?){10})\s*$")


def matrix_rows(text: str) -> dict[int, list[str]]:
    """{true digit: its 10 printed cells} from a printed confusion matrix."""
    rows = {}
    for line in text.splitlines():
        match = ROW.match(line)
        if match:
            rows[int(match[1])] = match[2].split()
    return rows


def drawn(renderable) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None, legacy_windows=False)
    console.print(renderable)
    return console.file.getvalue()


def test_each_printed_row_is_a_true_digit():
    confusion = np.diag([50 + d for d in range(10)])
    confusion[9][4], confusion[5][3], confusion[4][9], confusion[2][7] = 10, 6, 1, 2  # asymmetric on purpose
    evaluation = Evaluation(n=int(confusion.sum()), accuracy=0.9, loss=0.1,
                            per_class=[ClassScore(d, 0, 0, 0, 0) for d in range(10)], confusion=confusion.tolist())
    text = drawn(render.confusion_table(evaluation, marked=[(9, 4, 10), (5, 3, 6)], width=100))
    assert "Confusion matrix (rows: true digit, columns: predicted)" in text
    rows = matrix_rows(text)
    assert sorted(rows) == list(range(10))
    assert rows[9] == ["0", "0", "0", "0", "*10", "0", "0", "0", "0", "[59]"]  # nine drawn as four, ten times
    assert rows[4] == ["0", "0", "0", "0", "[54]", "0", "0", "0", "0", "1"]
    assert rows[5][3] == "*6" and rows[3][5] == "0"
    assert rows[2][7] == "2" and rows[7][2] == "0"
    assert [rows[d][d] for d in range(10)] == [f"[{50 + d}]" for d in range(10)]


@pytest.fixture(scope="module")
def always_three(tmp_path_factory):
    """A model that answers 3 with probability 0.5 (and 0.5/9 for every other digit) for any image."""
    return constant_model(tmp_path_factory.mktemp("constant") / "three.keras", [0.5 / 9] * 3 + [0.5] + [0.5 / 9] * 6)


N = 300


def test_eval_of_a_model_whose_answers_are_known(always_three):
    labels = bundled("t10k-labels-idx1-ubyte")[:N]
    support = np.bincount(labels, minlength=10)
    threes = int(support[3])
    result = invoke("eval", "--model", str(always_three), "--limit", str(N))
    assert result.exit_code == 0, result.output
    text = result.stdout
    expected_loss = (threes * -math.log(0.5) + (N - threes) * -math.log(0.5 / 9)) / N
    assert f"Test accuracy: {threes / N:.2%} ({threes} of {N}), loss {expected_loss:.4f}" in text
    # The three commonest other digits are the most frequent confusions (ties: the smaller digit first).
    frequent = np.argsort(-np.where(np.arange(10) == 3, -1, support), kind="stable")[:3]
    rows = matrix_rows(text)
    for digit in range(10):  # every image of digit t is counted in row t, column 3
        cells = [f"[{threes if digit == 3 else 0}]" if column == digit else "0" for column in range(10)]
        if digit != 3:
            cells[3] = f"*{support[digit]}" if digit in frequent else str(support[digit])
        assert rows[digit] == cells, digit
    for digit in frequent:  # each drawn from its first image
        assert f"{digit} → 3: {support[digit]}" in text
        assert f"e.g. test image #{np.flatnonzero(labels == digit)[0]}" in text
    per_class = re.findall(r"│\s+(\d)\s+│\s+([\d.]+|n/a)\s+│\s+([\d.]+|n/a)\s+│\s+([\d.]+|n/a)\s+│\s+([\d,]+)\s+│", text)
    precision = threes / N
    assert per_class[3] == ("3", f"{precision:.4f}", "1.0000", f"{2 * precision / (precision + 1):.4f}", str(threes))
    # Never predicted: precision is undefined; F1 = 2TP / (2TP + FP + FN) = 0 / support.
    assert per_class[0] == ("0", "n/a", "0.0000", "0.0000", str(support[0]))


def test_eval_json_of_a_model_whose_answers_are_known(always_three):
    labels = bundled("t10k-labels-idx1-ubyte")[:N]
    result = invoke("eval", "--model", str(always_three), "--limit", str(N), "--json")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert scores["confusion"] == confusion_by_counting(labels, np.full(N, 3))
    assert [c["support"] for c in scores["per_class"]] == np.bincount(labels, minlength=10).tolist()
    assert scores["accuracy"] == pytest.approx(np.mean(labels == 3))
