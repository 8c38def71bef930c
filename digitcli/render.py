"""Rich renderables for what `eval`, `predict` and `show` draw.

Colour only ever adds emphasis: every mark that matters (a wrong prediction,
a diagonal cell, a frequent confusion) is also written in plain characters,
so the output reads the same with NO_COLOR or in a file.
"""

from __future__ import annotations

import numpy as np
from rich import box
from rich.columns import Columns
from rich.console import Group
from rich.table import Table
from rich.text import Text

from . import art
from .evaluate import Evaluation

CARD_WIDTH = 28  # the width of the art; captions are kept as short


def digit_card(image: np.ndarray, caption: list[tuple[str, str]], unicode: bool) -> Text:
    """A digit drawn as text with caption lines under it; each caption line is (text, style)."""
    card = Text("\n".join(art.draw(image, unicode)), style="bright_white")
    for line, style in caption:
        card.append("\n")
        card.append(line, style=style)
    return card


def gallery(cards: list[Text]) -> Columns:
    """Cards side by side as the width allows, one per row on a narrow terminal."""
    return Columns(cards, width=CARD_WIDTH, padding=(1, 2))


def guesses(digits: np.ndarray, probabilities: np.ndarray) -> str:
    return "  ".join(f"{d}:{p:.1%}" for d, p in zip(digits, probabilities))


def prediction_caption(index, label, digits, probabilities, unicode: bool) -> list[tuple[str, str]]:
    """Caption lines for one prediction; `label` is None when the truth is unknown."""
    predicted, confidence = int(digits[0]), float(probabilities[0])
    head = f"#{index}" if label is None else f"#{index}  true {label}"
    lines = [(head, "bold")]
    if label is None:
        lines.append((f"predicted {predicted}  {confidence:.1%}", "bold"))
    elif predicted == label:
        lines.append((f"{'✓' if unicode else 'OK'} predicted {predicted}  {confidence:.1%}", "bold green"))
    else:
        lines.append((f"{'✗' if unicode else 'X'} WRONG: predicted {predicted}  {confidence:.1%}", "bold red"))
    if len(digits) > 1:
        lines.append((f"next: {guesses(digits[1:], probabilities[1:])}", "dim"))
    return lines


def file_table(names: list[str], digits: np.ndarray, probabilities: np.ndarray) -> Table:
    table = Table()
    table.add_column("file", overflow="fold")
    table.add_column("prediction", justify="right", style="bold")
    table.add_column("confidence", justify="right")
    table.add_column("next guesses")
    for name, d, p in zip(names, digits, probabilities):
        table.add_row(name, str(d[0]), f"{p[0]:.1%}", guesses(d[1:], p[1:]))
    return table


def per_class_table(evaluation: Evaluation) -> Table:
    table = Table(title="Per class", title_justify="left")
    for name in ("digit", "precision", "recall", "F1", "support"):
        table.add_column(name, justify="right")
    for score in evaluation.per_class:
        table.add_row(
            str(score.digit), f"{score.precision:.4f}", f"{score.recall:.4f}", f"{score.f1:.4f}", f"{score.support:,}"
        )
    return table


def confusion_table(evaluation: Evaluation, marked: list[tuple[int, int, int]]) -> Group:
    """Counts with rows true and columns predicted; `marked` cells get a '*' and red."""
    marked_cells = {(t, p) for t, p, _ in marked}
    # Title and legend sit outside the table: a justified title would stretch it past the width.
    title = Text("Confusion matrix (rows: true digit, columns: predicted)", style="italic")
    legend = Text("[n] correct   *n most frequent confusions", style="dim")
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 0, 0, 1))  # fits 80 columns with 4-digit counts
    table.add_column("true", justify="right", style="bold")
    for digit in range(10):
        table.add_column(str(digit), justify="right", no_wrap=True)
    for t, row in enumerate(evaluation.confusion):
        cells = []
        for p, count in enumerate(row):
            if t == p:
                cells.append(Text(f"[{count}]", style="bold green"))
            elif (t, p) in marked_cells:
                cells.append(Text(f"*{count}", style="bold red"))
            else:
                cells.append(Text(str(count), style="dim" if count == 0 else ""))
        table.add_row(str(t), *cells)
    return Group(title, table, legend)


def layers_table(layers: list[tuple[str, str, str, int]], total: int) -> Table:
    table = Table(title="Layers", title_justify="left")
    for name, justify in (("layer", "left"), ("type", "left"), ("output shape", "left"), ("parameters", "right")):
        table.add_column(name, justify=justify)
    for name, kind, shape, params in layers:
        table.add_row(name, kind, shape, f"{params:,}")
    table.add_section()
    table.add_row("total", "", "", f"{total:,}", style="bold")
    return table


def model_table(rows: list[tuple[str, str]], title: str) -> Table:
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    return table

