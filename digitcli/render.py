"""Rich renderables for what `eval`, `predict` and `show` draw.

Colour only ever adds emphasis: every mark that matters (a wrong prediction,
a diagonal cell, a frequent confusion) is also written in plain characters,
so the output reads the same with NO_COLOR or in a file.
"""

from __future__ import annotations

import numpy as np
from rich import box
from rich.columns import Columns
from rich.console import Console, Group
from rich.measure import Measurement
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
        table.add_row(str(score.digit), *(_score(v) for v in (score.precision, score.recall, score.f1)), f"{score.support:,}")
    return table


def _score(value: float | None) -> Text:
    """A score to four places, or n/a where it is undefined (a digit with no images, or never predicted)."""
    return Text("n/a", style="dim") if value is None else Text(f"{value:.4f}")


def confusion_table(evaluation: Evaluation, marked: list[tuple[int, int, int]], width: int) -> Group:
    """Counts with rows true and columns predicted; `marked` cells get a '*' and red.

    Counts are never cut: where the ten columns do not fit `width` (four-digit
    counts need up to 79 columns), the predicted digits are shown in two halves.
    """
    # Title and legend sit outside the table: a justified title would stretch it past the width.
    title = Text("Confusion matrix (rows: true digit, columns: predicted)", style="italic")
    legend = Text("[n] correct   *n most frequent confusions", style="dim")
    cells = _confusion_cells(evaluation.confusion, {(t, p) for t, p, _ in marked})
    whole = _confusion_part(cells, range(10))
    if _needed_width(whole) <= width:
        return Group(title, whole, legend)
    return Group(title, _confusion_part(cells, range(5)), Text(""), _confusion_part(cells, range(5, 10)), legend)


def _confusion_cells(confusion: list[list[int]], marked_cells: set[tuple[int, int]]) -> list[list[Text]]:
    rows = []
    for t, row in enumerate(confusion):
        cells = []
        for p, count in enumerate(row):
            if t == p:
                cells.append(Text(f"[{count}]", style="bold green"))
            elif (t, p) in marked_cells:
                cells.append(Text(f"*{count}", style="bold red"))
            else:
                cells.append(Text(str(count), style="dim" if count == 0 else ""))
        rows.append(cells)
    return rows


def _needed_width(renderable) -> int:
    """The columns `renderable` takes when nothing constrains it."""
    console = Console(width=1000)
    return Measurement.get(console, console.options, renderable).maximum


def _confusion_part(cells: list[list[Text]], predicted: range) -> Table:
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 0, 0, 1), show_edge=False)
    table.add_column("true", justify="right", style="bold", no_wrap=True)
    for digit in predicted:
        table.add_column(str(digit), justify="right", no_wrap=True)
    for t, row in enumerate(cells):
        table.add_row(str(t), *(row[p] for p in predicted))
    return table


def layers_table(layers: list[tuple[str, str, str, int]], total: int) -> Table:
    """One row per layer; name and type share a column, as in Keras' summary, so that a narrow
    terminal breaks `batch_normalization_1 (BatchNormalization)` between the two, not inside a name."""
    table = Table(title="Layers", title_justify="left")
    table.add_column("layer (type)")
    table.add_column("output shape", no_wrap=True)
    table.add_column("parameters", justify="right", no_wrap=True)
    for name, kind, shape, params in layers:
        table.add_row(f"{name} ({kind})", shape, f"{params:,}")
    table.add_section()
    table.add_row("total", "", f"{total:,}", style="bold")
    return table


def model_table(rows: list[tuple[str, str]], title: str) -> Table:
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    return table

