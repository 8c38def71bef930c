"""Training progress: what a user watches while `digits train` runs.

Two progress displays implement train.Listener: a live rich display for a
terminal and plain one-line-per-epoch output for pipes, files and CI.
"""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

try:
    import termios
except ImportError:  # not on a Unix
    termios = None

REFRESH_S = 0.1  # the live display redraws at most this often


def wants_live(console: Console) -> bool:
    """True where a live, redrawing display makes sense."""
    return console.is_terminal and not console.is_dumb_terminal


def format_metrics(logs: dict) -> str:
    parts = [f"loss {logs['loss']:.4f}", f"acc {logs.get('accuracy', float('nan')):.4f}"]
    if "val_loss" in logs:
        parts += [f"val_loss {logs['val_loss']:.4f}", f"val_acc {logs.get('val_accuracy', float('nan')):.4f}"]
    return "  ".join(parts)


class PlainProgress:
    """One line per finished epoch; no carriage returns, no control codes."""

    def __init__(self, console: Console):
        self.console = console
        self.epochs = 0

    def on_train_begin(self, epochs: int, steps_per_epoch: int) -> None:
        self.epochs = epochs

    def on_epoch_begin(self, epoch: int) -> None:
        pass

    def on_batch_end(self, step: int, logs: dict) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict, seconds: float) -> None:
        width = len(str(self.epochs))
        line = f"epoch {epoch + 1:>{width}}/{self.epochs}  {format_metrics(logs)}  {seconds:.1f}s"
        self.console.print(line, highlight=False, markup=False, soft_wrap=True)

    def on_train_end(self) -> None:
        pass

    def on_notice(self, message: str) -> None:
        self.console.print(f"Note: {message}", style="yellow", highlight=False, markup=False, soft_wrap=True)


class SilentProgress(PlainProgress):
    def on_epoch_end(self, epoch: int, logs: dict, seconds: float) -> None:
        pass


class RichProgress(PlainProgress):
    """A live bar through each epoch's batches and a row per finished epoch."""

    def __init__(self, console: Console):
        super().__init__(console)
        self.progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[metrics]}"),
            console=console,
            transient=True,
            refresh_per_second=1 / REFRESH_S,
        )
        self.task = None
        self.last_update = 0.0
        self.saved_tty = None

    def on_train_begin(self, epochs: int, steps_per_epoch: int) -> None:
        self.epochs = epochs
        self.steps = steps_per_epoch
        self.saved_tty = _hide_control_echo()
        self.progress.start()
        self.task = self.progress.add_task("train", total=steps_per_epoch, epoch="", metrics="")

    def on_epoch_begin(self, epoch: int) -> None:
        label = f"{epoch + 1:>{len(str(self.epochs))}}/{self.epochs}"  # aligned with the finished rows
        self.progress.reset(self.task, total=self.steps, epoch=label, metrics="")

    def on_batch_end(self, step: int, logs: dict) -> None:
        now = time.monotonic()
        # Formatting metrics each batch is cheap, but throttle anyway so the display never costs training time.
        if now - self.last_update < REFRESH_S and step + 1 < self.steps:
            return
        self.last_update = now
        metrics = f"loss {logs.get('loss', 0):.4f}  acc {logs.get('accuracy', 0):.4f}"
        self.progress.update(self.task, completed=step + 1, metrics=metrics)

    def on_epoch_end(self, epoch: int, logs: dict, seconds: float) -> None:
        width = len(str(self.epochs))
        row = Text.assemble(
            (f"epoch {epoch + 1:>{width}}/{self.epochs}  ", "bold"),
            format_metrics(logs),
            (f"  {seconds:.1f}s", "dim"),
        )
        self.progress.console.print(row)

    def on_train_end(self) -> None:
        self.progress.stop()
        _restore_echo(self.saved_tty)
        self.saved_tty = None


def _hide_control_echo():
    """Stop the terminal echoing '^C' into the live display, where it would break the clean-up.

    Returns the terminal's previous settings, or None where there is no terminal to change.
    """
    if termios is None:
        return None
    try:
        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
        quiet = termios.tcgetattr(fd)
        quiet[3] &= ~termios.ECHOCTL
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
        return saved
    except (AttributeError, OSError, ValueError, termios.error):  # no terminal on stdin
        return None


def _restore_echo(saved) -> None:
    if saved is not None:
        termios.tcsetattr(sys.stdin.fileno(), termios.TCSANOW, saved)


def progress_for(mode: str, console: Console):
    if mode == "none":
        return SilentProgress(console)
    if mode == "rich" or (mode == "auto" and wants_live(console)):
        return RichProgress(console)
    return PlainProgress(console)
