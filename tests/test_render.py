"""What eval, predict and show draw, as text a user reads, from hand-made inputs (no model)."""

from __future__ import annotations

import io

import numpy as np
from rich.console import Console

from digitcli import render
from digitcli.evaluate import ClassScore, Evaluation


def drawn(renderable, width: int = 100) -> list[str]:
    console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
    console.print(renderable)
    return [line.rstrip() for line in console.file.getvalue().splitlines()]


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip("│┃ ").replace("┃", "│").split("│")]


def test_captions_of_a_right_a_wrong_and_an_unlabelled_prediction():
    digits, probabilities = np.array([7, 2, 1]), np.array([0.98765, 0.0123, 0.0004])
    assert render.prediction_caption(12, 7, digits, probabilities, unicode=True) == [
        ("#12  true 7", "bold"),
        ("✓ predicted 7  98.8%", "bold green"),
        ("next: 2:1.2%  1:0.0%", "dim"),
    ]
    assert render.prediction_caption(12, 3, digits, probabilities, unicode=False)[:2] == [
        ("#12  true 3", "bold"),
        ("X WRONG: predicted 7  98.8%", "bold red"),
    ]
    assert render.prediction_caption(12, 3, digits, probabilities, unicode=True)[1][0] == "✗ WRONG: predicted 7  98.8%"
    assert render.prediction_caption(12, 7, digits, probabilities, unicode=False)[1][0] == "OK predicted 7  98.8%"
    assert render.prediction_caption("a.png", None, digits[:1], probabilities[:1], unicode=True) == [
        ("#a.png", "bold"),
        ("predicted 7  98.8%", "bold"),
    ]


def test_a_card_is_the_drawing_then_its_caption():
    image = np.zeros((28, 28), np.uint8)
    image[:, :14] = 255  # left half lit
    lines = render.digit_card(image, [("first", "bold"), ("second", "dim")], unicode=True).plain.split("\n")
    assert lines[:14] == ["█" * 14 + " " * 14] * 14
    assert lines[14:] == ["first", "second"]
    assert render.digit_card(image, [], unicode=False).plain.split("\n")[0] == "@" * 14 + " " * 14


def test_file_table_rows():
    lines = drawn(render.file_table(["a.png", "b/c.jpg"], np.array([[3, 8], [1, 7]]), np.array([[0.9, 0.05], [0.6, 0.3]])))
    rows = [cells(line) for line in lines if "│" in line or "┃" in line]
    assert rows[0] == ["file", "prediction", "confidence", "next guesses"]
    assert rows[1:] == [["a.png", "3", "90.0%", "8:5.0%"], ["b/c.jpg", "1", "60.0%", "7:30.0%"]]


def test_a_long_path_is_folded_whole_never_cut():
    name = "scans/" + "very-long-folder-name/" * 4 + "seven.png"
    lines = drawn(render.file_table([name], np.array([[7, 1]]), np.array([[0.9, 0.1]])), width=60)
    column = "".join(cells(line)[0] for line in lines if "│" in line)
    assert column == name and "…" not in "".join(lines)


def test_per_class_table_rows():
    scores = [ClassScore(d, 0.5, 0.25, 1 / 3, 1000 + d) for d in range(10)]
    evaluation = Evaluation(n=10_045, accuracy=0.25, loss=1.0, per_class=scores, confusion=np.eye(10, dtype=int).tolist())
    lines = drawn(render.per_class_table(evaluation))
    assert lines[0] == "Per class"
    rows = [cells(line) for line in lines if "│" in line or "┃" in line]
    assert rows[0] == ["digit", "precision", "recall", "F1", "support"]
    assert rows[1] == ["0", "0.5000", "0.2500", "0.3333", "1,000"]
    assert rows[10] == ["9", "0.5000", "0.2500", "0.3333", "1,009"]


def test_layers_and_model_tables():
    lines = drawn(render.layers_table([("dense", "Dense", "(10,)", 7850), ("flatten", "Flatten", "(784,)", 0)], 7850))
    rows = [cells(line) for line in lines if "│" in line or "┃" in line]
    assert lines[0] == "Layers"
    assert rows == [["layer (type)", "output shape", "parameters"], ["dense (Dense)", "(10,)", "7,850"],
                    ["flatten (Flatten)", "(784,)", "0"], ["total", "", "7,850"]]
    lines = drawn(render.model_table([("architecture", "mlp"), ("LiteRT form", "yes")], "m.keras"))
    assert lines[0] == "m.keras"
    assert [cells(line) for line in lines if "│" in line] == [["architecture", "mlp"], ["LiteRT form", "yes"]]


def test_the_gallery_fits_as_many_cards_as_the_width_allows():
    cards = [render.digit_card(np.zeros((28, 28), np.uint8), [(f"card {i}", "bold")], unicode=True) for i in range(3)]
    wide = [line for line in drawn(render.gallery(cards), width=100) if "card" in line]
    narrow = [line for line in drawn(render.gallery(cards), width=40) if "card" in line]
    assert wide == ["card 0" + " " * 24 + "card 1" + " " * 24 + "card 2"]  # 28 columns each, 2 apart
    assert narrow == ["card 0", "card 1", "card 2"]
