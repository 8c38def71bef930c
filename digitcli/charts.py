"""Learning curves drawn with plotext, as text."""

from __future__ import annotations

import re

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Distinct markers keep the two curves apart without colour too.
SERIES = (("", "train", "hd", "cyan"), ("val_", "validation", "x", "orange"))


def curves(history: dict[str, list[float]], width: int, color: bool) -> str:
    """Loss and accuracy per epoch, train and validation, side by side."""
    panel_width = (min(width, 120) - 2) // 2  # two panels and a gap of two columns
    panels = [_chart(history, metric, panel_width, color) for metric in ("loss", "accuracy")]
    left, right = (panel.splitlines() for panel in panels)
    pad = max(len(_strip(line)) for line in left)
    return "\n".join(a + " " * (pad - len(_strip(a))) + "  " + b for a, b in zip(left, right))


def _chart(history: dict[str, list[float]], metric: str, width: int, color: bool) -> str:
    import plotext as plt

    epochs = list(range(1, len(history.get(metric, [])) + 1))
    plt.clear_figure()
    plt.theme("clear")
    plt.plotsize(width, 17)
    plt.title(metric)
    plt.xlabel("epoch")
    for prefix, label, marker, colour in SERIES:
        values = history.get(prefix + metric)
        if values:
            plt.plot(epochs, values, label=label, marker=marker, color=colour if color else None)
    plt.xticks(_ticks(epochs))
    chart = plt.build()
    plt.clear_figure()
    return chart if color else _strip(chart)


def _strip(text: str) -> str:
    return ANSI.sub("", text)


def _ticks(epochs: list[int]) -> list[int]:
    if len(epochs) <= 8:
        return epochs
    step = -(-len(epochs) // 6)
    return epochs[::step] + ([epochs[-1]] if (len(epochs) - 1) % step else [])


# One marker and colour per compared model, in --model order.
MODEL_STYLES = (("hd", "cyan"), ("x", "orange"), ("dot", "green"), ("+", "magenta"))


def lines(x: list[float], series: dict[str, list[float]], title: str, xlabel: str, width: int, color: bool) -> str:
    """One line per named series over the same x values, e.g. accuracy against rotation angle."""
    import plotext as plt

    plt.clear_figure()
    plt.theme("clear")
    plt.plotsize(min(width, 120), 17)
    plt.title(title)
    plt.xlabel(xlabel)
    for i, (label, values) in enumerate(series.items()):
        marker, colour = MODEL_STYLES[i % len(MODEL_STYLES)]
        plt.plot(x, values, label=label, marker=marker, color=colour if color else None)
    plt.xticks(x)
    chart = plt.build()
    plt.clear_figure()
    return chart if color else _strip(chart)
