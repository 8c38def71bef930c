"""`digits draw`: draw a digit with the mouse and watch the model recognise it as you draw."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from .cmd_eval import open_model
from .errors import OutputError, TerminalError
from .ui import DEFAULT_MODEL_PATH, ModelPathOption, err, out, say, state, user_errors

# Terminals known to have no xterm mouse reporting: the Linux and BSD consoles, old VTs, dumb ones.
NO_MOUSE_TERMS = ("", "dumb", "linux", "cons25", "vt52", "vt100", "vt102", "vt220", "vt320")


def draw(
    model: ModelPathOption = DEFAULT_MODEL_PATH,
    save: Annotated[
        Optional[Path],
        typer.Option("--save", help="Write the last drawing to this PNG file on quit (and when you press s).", show_default="no file; s writes drawing-N.png"),
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing --save file.")] = False,
    ascii_art: Annotated[
        bool, typer.Option("--ascii", help="Draw with plain ASCII characters (as digits --ascii or DIGITS_ASCII=1).")
    ] = False,
) -> None:
    """Draw a digit with the mouse in the terminal; the model recognises it while you draw.

    Keys: c clears the pad, u undoes the last stroke, s saves a PNG, q quits and prints the last prediction.

    Needs a terminal of at least 80x24 with mouse reporting (most terminals, also over SSH and in tmux).
    """
    with user_errors():
        if save is not None:
            check_save(save, overwrite)
        classifier = open_model(model)
        check_terminal()
        from .draw.app import DrawApp

        app = DrawApp(classifier, ascii_art=ascii_art or state["ascii"], save=save, overwrite=overwrite)
        with terminal_on_stdout():
            guess = app.run()
        if app.return_code:  # the app itself failed; Textual has printed why
            raise typer.Exit(1)
        say(out, f"{guess.digit}  {guess.confidence:.1%}" if guess else "Nothing drawn.")
        if save is not None:
            if guess is None:
                say(err, f"Nothing drawn, so {save} was not written.")
                return
            try:
                app.save(save)
            except OSError as exc:
                raise OutputError(f"cannot save the drawing to {save}: {exc.strerror or exc}") from None
            say(err, f"Saved the drawing to {save}")


@contextmanager
def terminal_on_stdout():
    """Point stdout at the terminal while the app runs, when it is redirected (`digits draw > guess.txt`).

    Textual draws on stderr but sizes the screen by stdout; redirected, it would assume 80x24.
    """
    if sys.stdout.isatty() or not sys.stderr.isatty():
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(sys.stderr.fileno(), 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def check_save(path: Path, overwrite: bool) -> None:
    if path.suffix.lower() != ".png":
        raise typer.BadParameter(f"{path}: the drawing is saved as PNG; give a path ending in .png", param_hint="--save")
    if path.is_dir():
        raise OutputError(f"--save {path} is a directory; give a file path such as {path / 'drawing.png'}")
    if path.exists() and not overwrite:
        raise OutputError(f"{path} already exists; pass --overwrite to replace it, or choose another --save path")
    if not path.parent.is_dir():
        raise OutputError(f"cannot save the drawing to {path}: directory {path.parent} does not exist")


def check_terminal() -> None:
    """Refuse, with what is needed, where the pad could not be shown or drawn on."""
    from .draw.app import MIN_SIZE

    # The app reads keys and mouse from stdin and draws on stderr (as Textual does), which leaves
    # stdout free for the result line: `digits draw > guess.txt` works.
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise TerminalError("digits draw needs an interactive terminal: standard input and standard error must be a terminal, not a pipe or file")
    term = os.environ.get("TERM", "")
    if term in NO_MOUSE_TERMS:
        raise TerminalError(
            f"digits draw needs a terminal with mouse reporting (xterm-compatible: most terminal apps, and tmux or screen in one); TERM={term or '(unset)'} has none"
        )
    columns, rows = os.get_terminal_size(sys.stderr.fileno())
    if columns < MIN_SIZE[0] or rows < MIN_SIZE[1]:
        raise TerminalError(f"digits draw needs a terminal of at least {MIN_SIZE[0]}x{MIN_SIZE[1]} characters; this one is {columns}x{rows}")
