"""The `digits` command line: parses options, calls the core, renders results.

Each command lives in its own module; heavy imports (TensorFlow, plotext)
happen inside the commands that need them, so that `digits --help` and
`digits --version` answer at once.
"""

from __future__ import annotations

from typing import Annotated

import typer

from . import __version__, cmd_draw, cmd_eval, cmd_export, cmd_predict, cmd_robustness, cmd_serve, cmd_show, cmd_train, cmd_tune
from .ui import configure, out, say

app = typer.Typer(
    name="digits",
    help="Train, evaluate and run a handwritten-digit recognizer (MNIST) from the terminal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: whole option names and no <bool> on flags at any width
)


def _version(value: bool) -> None:
    if value:
        say(out, f"digits {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show full tracebacks for errors (also DIGITS_DEBUG=1).")
    ] = False,
    ascii_art: Annotated[
        bool, typer.Option("--ascii", help="Draw digits with plain ASCII characters (also DIGITS_ASCII=1).")
    ] = False,
) -> None:
    """Train, evaluate and run a handwritten-digit recognizer (MNIST) from the terminal."""
    configure(debug, ascii_art)


app.command(short_help="Train a model on MNIST and save it.")(cmd_train.train)
app.command(short_help="Search hyperparameters, then train the best.")(cmd_tune.tune)
app.command("eval", short_help="Score a model on the test set.")(cmd_eval.evaluate)
app.command("evaluate", hidden=True)(cmd_eval.evaluate)
app.command(short_help="Predict test images or your own image files.")(cmd_predict.predict)
app.add_typer(cmd_show.app, name="show", short_help="Look at the data, curves, mistakes or a model.")
app.command(short_help="Accuracy on tilted, noisy, distorted digits.")(cmd_robustness.robustness)
app.command(short_help="A page to draw digits on, and a JSON API.")(cmd_serve.serve)
app.command(short_help="A terminal drawing pad that reads your digit.")(cmd_draw.draw)
app.command("export", short_help="Write a model as LiteRT or a SavedModel.")(cmd_export.export)


def run() -> None:
    """The console script's entry (kept for installs made before `digitcli.__main__:run`)."""
    from .__main__ import run as run_digits

    run_digits()
