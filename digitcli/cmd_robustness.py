"""`digits robustness`: accuracy under rotation, slant, size, stroke width, blur, noise and distortion."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from .ui import DEFAULT_MODEL_PATH, DataOption, err, out, say, user_errors


def robustness(
    model: Annotated[
        Optional[list[Path]],
        typer.Option("--model", "--model_path", "-m", metavar="PATH", help="Model file to score; repeat to compare models side by side.",
                     show_default=str(DEFAULT_MODEL_PATH)),
    ] = None,
    data: DataOption = None,
    limit: Annotated[
        Optional[int], typer.Option("--limit", min=1, help="Use the first N test images only.", show_default="all")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random transforms (noise, directions, elastic fields).")] = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print only a JSON array of rows {model, condition, severity, accuracy, n}.")
    ] = False,
) -> None:
    """Score models on the test set under a seeded sweep of transforms: rotation, shear, scale,
    translation, thinner and thicker strokes, blur, Gaussian noise, salt and pepper, elastic distortion."""
    with user_errors():
        from . import robustness as core
        from .cmd_eval import load_test_set, open_model

        paths = model or [DEFAULT_MODEL_PATH]
        classifiers = {str(path): open_model(path) for path in paths}  # every file checked before any work
        _, images, labels = load_test_set(data, limit)
        steps = len(core.conditions()) * len(classifiers)
        probabilities = {name: c.probabilities for name, c in classifiers.items()}
        with _progress(steps) as advance:
            rows = core.sweep(probabilities, images, labels, seed, on_step=advance)
        if as_json:
            say(out, json.dumps([row.to_json() for row in rows]))
            return
        for name, classifier in classifiers.items():
            say(out, f"Model: {name} ({classifier.runtime})")
        out.print(_table(rows, list(classifiers)))
        _chart(rows, list(classifiers))


@contextmanager
def _progress(total: int):
    """Yield a function that advances a progress bar on stderr; on a terminal only, so logs stay clean."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .progress import wants_live

    if not wants_live(err):
        yield lambda: None
        return
    with Progress(TextColumn("conditions"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as progress:
        task = progress.add_task("sweep", total=total)
        yield lambda: progress.advance(task)


def _severity(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _table(rows, models: list[str]):
    from rich.table import Table

    from .robustness import mean_transformed

    table = Table()
    table.add_column("condition")
    table.add_column("severity", justify="right")
    short = _short_names(models)
    for name in short:
        table.add_column(name, justify="right")
        table.add_column("drop", justify="right", style="dim")
    clean = {r.model: r.accuracy for r in rows if r.condition == "clean"}
    by_condition: dict[tuple, dict[str, float]] = {}
    for r in rows:
        by_condition.setdefault((r.condition, r.severity), {})[r.model] = r.accuracy
    for (condition, severity), scores in by_condition.items():
        cells = []
        for m in models:
            cells += [f"{scores[m]:.2%}", "" if condition == "clean" else f"{(clean[m] - scores[m]) * 100:.2f}"]
        table.add_row(condition, _severity(severity), *cells)
    cells = []
    for m in models:
        mean = mean_transformed(rows, m)
        cells += [f"{mean:.2%}", f"{(clean[m] - mean) * 100:.2f}"]
    table.add_row("mean of the others", "", *cells, style="bold", end_section=True)
    return table


def _short_names(models: list[str]) -> list[str]:
    """Column titles: file names, or whole paths where two files share a name."""
    names = [Path(m).name for m in models]
    return names if len(set(names)) == len(names) else models


def _chart(rows, models: list[str]) -> None:
    from rich.text import Text

    from . import charts

    angles = sorted({r.severity for r in rows if r.condition == "rotation"} | {0.0})
    series = {}
    for label, m in zip(_short_names(models), models):
        scores = {r.severity: r.accuracy * 100 for r in rows if r.model == m and r.condition == "rotation"}
        scores[0.0] = next(r.accuracy * 100 for r in rows if r.model == m and r.condition == "clean")
        series[label] = [scores[a] for a in angles]
    chart = charts.lines(angles, series, "accuracy (%) against rotation", "degrees (counter-clockwise)",
                         out.width, color=out.color_system is not None)
    out.print(Text.from_ansi(chart), soft_wrap=True)
