"""What every command shares: the consoles, one-line errors, common options."""

from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from . import store
from .errors import BadOption, DigitsError, Interrupted, Terminated


class _Console(Console):
    def on_broken_pipe(self) -> None:  # rich's own default exits 1, our code for a data error
        closed_pipe()


out = _Console()  # data and results
err = _Console(stderr=True)  # progress, messages, errors
state = {"debug": False, "ascii": False}


def configure(debug: bool, ascii_art: bool) -> None:
    """Set the global options for this run; the environment variables count as the flags."""
    state["debug"] = debug or os.environ.get("DIGITS_DEBUG") == "1"
    state["ascii"] = ascii_art or os.environ.get("DIGITS_ASCII") == "1"

DEFAULT_MODEL_PATH = store.DEFAULT_PATH  # what `train` writes and every other command reads


def say(console: Console, text: str, style: str | None = None) -> None:
    """Print text as it is: no markup, no highlighting, no wrapping of long paths."""
    console.print(text, style=style, markup=False, highlight=False, soft_wrap=True)


def closed_pipe() -> None:
    """Stop quietly because the reader of stdout has gone (`digits ... | head`), as Unix tools do.

    `cat` or `seq` die of SIGPIPE there, which a shell reports as status 141 (128 + 13). Python
    ignores SIGPIPE and raises BrokenPipeError instead; the convention is restored by dying of
    the signal now (not at start-up, where it would also end `serve` when a client hangs up).
    """
    try:
        sys.stderr.flush()  # the messages written so far; stderr may be the closed pipe itself
    except OSError:
        pass
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush into the pipe
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGPIPE)
    os._exit(128 + 13)  # where there is no SIGPIPE (Windows), the same status


def finish_output() -> None:
    """Flush stdout before exiting, so that a reader gone by then is a closed pipe, not a traceback."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        closed_pipe()


@contextmanager
def user_errors():
    """Turn domain errors and Ctrl-C into one line on stderr and an exit code."""
    try:
        yield
    except BadOption as exc:
        if state["debug"]:
            raise
        say(err, f"Error: {exc}", style="red")
        raise typer.Exit(2) from None
    except DigitsError as exc:
        if state["debug"]:
            raise
        say(err, f"Error: {exc}", style="red")
        raise typer.Exit(1) from None
    except Interrupted as exc:
        say(err, str(exc))
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        if state["debug"]:
            raise
        say(err, "Interrupted; nothing was saved.")
        raise typer.Exit(130) from None
    except Terminated:
        if state["debug"]:
            raise
        say(err, "Stopped by SIGTERM; nothing was saved.")
        raise typer.Exit(143) from None
    except BrokenPipeError:
        closed_pipe()


def unicode(console: Console = out) -> bool:
    """Whether to draw with Unicode blocks: not with --ascii, nor where the encoding can't show them."""
    return not state["ascii"] and console.encoding.lower().startswith("utf")


def load_data(spec: Optional[str], download: bool = False, need_train: bool = False):
    """MNIST for a command, and the one line that names it.

    Only `train` downloads: every copy of MNIST has the same test set. Only
    training (`download`) and commands that show training images (`need_train`)
    need the training files; the others work from the two test files alone.
    """
    from . import data

    dataset = data.load(spec, download=download, need_train=download or need_train)
    say(err, f"Data: {dataset.describe()}")
    return dataset


def plural(count: int, noun: str) -> str:
    """`1 epoch`, `15 epochs`."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def arrow() -> str:
    return "→" if unicode() else "->"


DataOption = Annotated[
    Optional[str],
    typer.Option(
        "--data",
        metavar="<path|bundled>",
        help="MNIST to use: a directory of IDX files (raw or .gz: all four for train, the two t10k-* test files for "
        "the other commands), a Keras-layout .npz, or 'bundled'. Default: $DIGITS_DATA, else Keras' cache "
        "(mnist.npz in ~/.keras/datasets), else (train only) a download of the full MNIST, else the bundled copy.",
        show_default=False,
    ),
]
ModelPathOption = Annotated[
    Path,
    typer.Option("--model", "--model_path", "-m", help="Model file to use (written by `digits train`)."),
]
TensorBoardOption = Annotated[
    Optional[Path],
    typer.Option("--tensorboard", help="Also write Keras' TensorBoard logs to this directory (view with `tensorboard --logdir DIR`).", show_default="off"),
]
