"""What a user watches while `digits tune` searches: a live table of trials, or one plain line per trial.

Both implement search.SearchListener; like `progress`, they write to the
console they are given (stderr), so stdout keeps only the results.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.live import Live
from rich.table import Table

from ..progress import REFRESH_S, wants_live
from .search import TrialResult

BEST_MARK = "best"


def format_hyperparameters(values: dict) -> str:
    return "  ".join(f"{name} {value:g}" if isinstance(value, float) else f"{name} {value}" for name, value in values.items())


def format_accuracy(value: float | None) -> str:
    return "failed" if value is None else f"{value:.4f}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


class PlainTrials:
    """One line per finished trial: no carriage returns, no control codes."""

    def __init__(self, console: Console):
        self.console = console
        self.planned = 0

    def on_search_begin(self, planned: int, finished: list[TrialResult]) -> None:
        self.planned = planned
        if finished:
            self.console.print(f"Resuming after {len(finished)} of {planned} finished trials", highlight=False, markup=False)

    def on_trial_begin(self, number: int, hyperparameters: dict, epochs: int) -> None:
        pass

    def on_epoch_end(self, number: int, epoch: int, logs: dict) -> None:
        pass

    def on_trial_end(self, result: TrialResult, best: TrialResult | None) -> None:
        width = len(str(self.planned))
        mark = f"  {BEST_MARK}" if best is not None and best.number == result.number else ""
        line = (
            f"trial {result.number:>{width}}/{self.planned}  {format_hyperparameters(result.hyperparameters)}  "
            f"val_acc {format_accuracy(result.val_accuracy)}  {plural(result.epochs, 'epoch')}  {result.seconds or 0:.1f}s{mark}"
        )
        self.console.print(line, highlight=False, markup=False, soft_wrap=True)

    def on_search_end(self) -> None:
        pass


class SilentTrials(PlainTrials):
    def on_trial_end(self, result: TrialResult, best: TrialResult | None) -> None:
        pass


class LiveTrials(PlainTrials):
    """A table of every trial, redrawn in place: the running one with its epoch, the best marked."""

    def __init__(self, console: Console):
        super().__init__(console)
        self.rows: dict[int, TrialResult] = {}
        self.best: TrialResult | None = None
        self.running: tuple[int, dict, int] | None = None
        self.running_text = ""
        self.started = 0.0
        self.last_update = 0.0
        self.live = Live(console=console, refresh_per_second=1 / REFRESH_S, transient=False)

    def on_search_begin(self, planned: int, finished: list[TrialResult]) -> None:
        self.planned = planned
        self.rows = {result.number: result for result in finished}
        accuracies = [r for r in finished if r.val_accuracy is not None]
        self.best = max(accuracies, key=lambda r: r.val_accuracy, default=None)
        self.live.start()
        self.live.update(self._table())

    def on_trial_begin(self, number: int, hyperparameters: dict, epochs: int) -> None:
        self.running = (number, hyperparameters, epochs)
        self.running_text = "starting"
        self.started = time.monotonic()
        self.live.update(self._table())

    def on_epoch_end(self, number: int, epoch: int, logs: dict) -> None:
        if self.running is None:
            return
        accuracy = logs.get("val_accuracy")
        self.running_text = f"epoch {epoch + 1}/{self.running[2]}" + (f", {accuracy:.4f}" if accuracy is not None else "")
        self.live.update(self._table())

    def on_trial_end(self, result: TrialResult, best: TrialResult | None) -> None:
        self.rows[result.number] = result
        self.best = best
        self.running = None
        self.live.update(self._table())

    def on_search_end(self) -> None:
        self.running = None
        self.live.update(self._table())
        self.live.stop()

    def _table(self) -> Table:
        table = Table(title=f"Trials ({len(self.rows)} of {self.planned} done)", title_justify="left")
        table.add_column("trial", justify="right")
        table.add_column("hyperparameters")
        table.add_column("val accuracy", justify="right")
        table.add_column("epochs", justify="right")
        table.add_column("time", justify="right")
        table.add_column("")
        for number in sorted(self.rows):
            result = self.rows[number]
            is_best = self.best is not None and self.best.number == number
            table.add_row(
                str(number),
                format_hyperparameters(result.hyperparameters),
                format_accuracy(result.val_accuracy),
                str(result.epochs),
                f"{result.seconds:.1f}s" if result.seconds is not None else "",
                "★ best" if is_best else "",
                style="bold green" if is_best else None,
            )
        if self.running is not None:
            number, hyperparameters, epochs = self.running
            table.add_row(
                str(number), format_hyperparameters(hyperparameters), self.running_text, str(epochs),
                f"{time.monotonic() - self.started:.0f}s", "running", style="dim",
            )
        return table


def trials_display(mode: str, console: Console):
    """The trial display for --progress: live on a terminal (auto, rich), plain lines otherwise."""
    if mode == "none":
        return SilentTrials(console)
    if mode == "rich" or (mode == "auto" and wants_live(console)):
        return LiveTrials(console)
    return PlainTrials(console)
