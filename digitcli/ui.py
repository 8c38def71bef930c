"""What every command shares: the consoles, one-line errors, common options."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from . import store
from .errors import BadOption, DigitsError, Interrupted, Terminated

out = Console()  # data and results
err = Console(stderr=True)  # progress, messages, errors
state = {"debug": False, "ascii": False}


def configure(debug: bool, ascii_art: bool) -> None:
    """Set the global options for this run; the environment variables count as the flags."""
    state["debug"] = debug or os.environ.get("DIGITS_DEBUG") == "1"
    state["ascii"] = ascii_art or os.environ.get("DIGITS_ASCII") == "1"

DEFAULT_MODEL_PATH = store.DEFAULT_PATH  # what `train` writes and every other command reads


def say(console: Console, text: str, style: str | None = None) -> None:
    """Print text as it is: no markup, no highlighting, no wrapping of long paths."""
    console.print(text, style=style, markup=False, highlight=False, soft_wrap=True)


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


def unicode(console: Console = out) -> bool:
    """Whether to draw with Unicode blocks: not with --ascii, nor where the encoding can't show them."""
    return not state["ascii"] and console.encoding.lower().startswith("utf")


def load_data(spec: Optional[str], download: bool = False):
    """MNIST for a command, and the one line that names it.

    Only `train` downloads: every copy of MNIST has the same test set.
    """
    from . import data

    dataset = data.load(spec, download=download)
    say(err, f"Data: {dataset.describe()}")
    return dataset


def arrow() -> str:
    return "→" if unicode() else "->"


DataOption = Annotated[
    Optional[str],
    typer.Option(
        "--data",
        help="MNIST to use: a directory of the four IDX files (.gz or raw), a Keras-layout .npz, or 'bundled'. "
        "Default: $DIGITS_DATA, else the Keras cache ~/.keras/datasets/mnist.npz, else (train only) a download "
        "of the full MNIST, else the copy bundled with digits.",
        show_default=False,
    ),
]
ModelPathOption = Annotated[
    Path,
    typer.Option("--model", "--model_path", "-m", help="Model file to use (written by `digits train`)."),
]
