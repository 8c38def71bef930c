"""`digits draw`: the pad driven with Textual's pilot, drawn digits recognised, keys, saving, errors."""

from __future__ import annotations

import asyncio
import csv
import io
import math
import os
import pty
import shutil
import struct
import sys
import termios
import fcntl
from functools import partialmethod

import pytest
from textual.app import App

from conftest import flat, invoke, sha256
from digitcli import cmd_draw
from digitcli.draw.app import DrawApp
from digitcli.draw.pad import Pad
from digitcli.draw.panel import HINT, Prediction
from digitcli.draw.preview import Preview
from digitcli.errors import TerminalError
from digitcli.predict import open_classifier

SIZE = (100, 40)  # the pad is then 48 columns by 24 rows: 48x48 pixels


# Strokes in pad cells (column, row) of the 48x24 pad: a person's 1 and 0, drawn as mouse drags.
ONE = [[(25, 3), (25, 7), (24, 11), (24, 15), (23, 19), (23, 21)]]
ZERO = [[(round(24 + 12 * math.sin(a)), round(12 - 9 * math.cos(a))) for a in (2 * math.pi * i / 12 for i in range(13))]]
SEVEN = [[(14, 4), (32, 4), (28, 12), (24, 20)]]


async def drag(pilot, strokes) -> None:
    """Each stroke as a terminal sends it: button down, moves, button up (offsets past the border)."""
    await pilot.pause()  # the pad takes its size once the layout is done
    pad = pilot.app.query_one(Pad)
    for stroke in strokes:
        (x, y), *rest = stroke
        await pilot.mouse_down(pad, offset=(x + 1, y + 1))
        for x, y in rest:
            await pilot.hover(pad, offset=(x + 1, y + 1))
        await pilot.mouse_up(pad, offset=(x + 1, y + 1))


def shown(app: DrawApp) -> str:
    """The prediction panel's text, as the user reads it."""
    return str(app.query_one(Prediction).render())


def pad_text(app: DrawApp) -> list[str]:
    pad = app.query_one(Pad)
    return [pad.render_line(y).text for y in range(pad.side // 2)]


def run(app: DrawApp, script):
    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await script(pilot)

    asyncio.run(go())


def test_draw_a_one_and_a_zero_clear_and_undo(digit_model):
    app = DrawApp(open_classifier(digit_model))
    seen = {}

    async def script(pilot):
        assert app.query_one(Pad).side == 48
        seen["blank"] = shown(app)
        await drag(pilot, ONE)
        seen["one"], seen["one guess"] = shown(app), app.guess
        seen["pad"] = pad_text(app)
        await pilot.press("c")
        seen["cleared"], seen["cleared guess"] = shown(app), app.guess
        await drag(pilot, ZERO)
        seen["zero"], zero = shown(app), app.guess
        await drag(pilot, SEVEN)  # a stroke too many...
        assert app.guess != zero
        await pilot.press("u")  # ...taken back
        seen["undone"], seen["undone guess"], seen["zero guess"] = shown(app), app.guess, zero
        seen["preview"] = app.query_one(Preview).image

    run(app, script)
    assert seen["blank"] == HINT  # a blank pad shows the hint, never a digit
    one = seen["one guess"]
    assert one.digit == 1 and one.confidence > 0.5
    assert f"{one.confidence:.1%} sure" in seen["one"]
    assert sum("█" in line for line in seen["pad"]) >= 15  # the stroke is on the pad
    assert seen["cleared"] == HINT and seen["cleared guess"] is None
    zero = seen["zero guess"]
    assert zero.digit == 0 and zero.confidence > 0.5
    assert seen["undone guess"] == zero and seen["undone"] == seen["zero"]
    assert seen["preview"].shape == (28, 28) and seen["preview"].max() == pytest.approx(1.0)


def test_the_drawing_goes_through_the_image_files_preparation(digit_model, tmp_path, monkeypatch):
    """s saves a PNG (never over an existing file) that `digits predict` reads to the same digit."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "drawing-1.png").write_bytes(b"someone else's")
    app = DrawApp(open_classifier(digit_model))
    seen = {}

    async def script(pilot):
        await pilot.press("s")
        seen["blank"] = str(app.query_one("#status").render())
        await drag(pilot, ONE)
        await pilot.press("s")
        seen["saved"] = str(app.query_one("#status").render())

    run(app, script)
    assert seen["blank"] == "Nothing to save: the pad is blank."
    assert seen["saved"] == f"Saved {tmp_path / 'drawing-2.png'}"
    assert (tmp_path / "drawing-1.png").read_bytes() == b"someone else's"
    result = invoke("predict", str(tmp_path / "drawing-2.png"), "--model", str(digit_model), "--format", "csv")
    assert result.exit_code == 0, result.output
    row = next(csv.DictReader(io.StringIO(result.stdout)))
    assert row["prediction"] == "1" and float(row["confidence"]) == pytest.approx(app.guess.confidence, abs=1e-6)


@pytest.fixture
def headless(monkeypatch):
    """Run `digits draw` as from a terminal, with the pilot's script in place of a user."""

    def use(script):
        monkeypatch.setattr(cmd_draw, "check_terminal", lambda: None)  # CliRunner's streams are no terminal
        monkeypatch.setattr(DrawApp, "run", partialmethod(App.run, headless=True, size=SIZE, auto_pilot=script))

    return use


def test_quit_prints_the_last_prediction_and_save_writes_it(digit_model, tmp_path, headless):
    async def draw_one_and_quit(pilot):
        await drag(pilot, ONE)
        await pilot.press("q")

    headless(draw_one_and_quit)
    target = tmp_path / "mine.png"
    result = invoke("draw", "--model", str(digit_model), "--save", str(target))
    assert result.exit_code == 0, result.output
    digit, confidence = result.stdout.split()
    assert digit == "1" and result.stdout == f"1  {confidence}\n"
    assert result.stderr == f"Saved the drawing to {target}\n"
    predicted = invoke("predict", str(target), "--model", str(digit_model), "--format", "csv")
    row = next(csv.DictReader(io.StringIO(predicted.stdout)))
    assert row["prediction"] == "1" and f"{float(row['confidence']):.1%}" == confidence

    # An existing file is refused before the pad opens, and left as it was.
    before = sha256(target)
    refused = invoke("draw", "--model", str(digit_model), "--save", str(target))
    assert refused.exit_code == 1
    assert refused.stderr == f"Error: {target} already exists; pass --overwrite to replace it, or choose another --save path\n"
    assert sha256(target) == before
    replaced = invoke("draw", "--model", str(digit_model), "--save", str(target), "--overwrite")
    assert replaced.exit_code == 0 and replaced.stdout.startswith("1  ")


def test_quit_with_nothing_drawn(digit_model, tmp_path, headless):
    async def quit_at_once(pilot):
        await pilot.press("q")

    headless(quit_at_once)
    result = invoke("draw", "--model", str(digit_model), "--save", str(tmp_path / "none.png"))
    assert result.exit_code == 0
    assert result.stdout == "Nothing drawn.\n"
    assert result.stderr == f"Nothing drawn, so {tmp_path / 'none.png'} was not written.\n"
    assert not (tmp_path / "none.png").exists()


def test_ascii_and_no_color_draw_shapes_only(digit_model, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    seen = {}
    for ascii_art in (False, True):
        app = DrawApp(open_classifier(digit_model), ascii_art=ascii_art)

        async def script(pilot, app=app):
            await drag(pilot, ONE)
            pad = app.query_one(Pad)
            seen[ascii_art] = (pad_text(app), shown(app), [s.style for y in range(24) for s in pad.render_line(y)])

        run(app, script)
    lines, panel, styles = seen[False]
    assert all(style.color is None and style.bgcolor is None for style in styles)  # no colour: the shapes alone show the stroke
    assert sum("█" in line for line in lines) >= 15
    lines, panel, _ = seen[True]
    assert all(line.isascii() for line in lines) and sum("@" in line for line in lines) >= 15
    assert panel.isascii() and "1 #" in panel


def test_a_terminal_made_too_small_says_what_it_needs(digit_model):
    app = DrawApp(open_classifier(digit_model))
    seen = {}

    async def script(pilot):
        await pilot.resize_terminal(70, 20)
        await pilot.pause()
        seen["small"] = app.has_class("-too-small"), str(app.query_one("#too-small").render())
        await pilot.resize_terminal(*SIZE)
        await pilot.pause()
        seen["back"] = app.has_class("-too-small")

    run(app, script)
    assert seen["small"] == (True, "digits draw needs a terminal of at least 80x24; this one is 70x20.\nEnlarge it, or press q to quit.")
    assert seen["back"] is False


def test_not_a_terminal(digit_model):
    result = invoke("draw", "--model", str(digit_model))  # CliRunner's stdin is no terminal
    assert result.exit_code == 1
    assert result.stderr == "Error: digits draw needs an interactive terminal: standard input and standard error must be a terminal, not a pipe or file\n"


def test_bad_model_and_bad_save(tmp_path):
    missing = invoke("draw", "--model", str(tmp_path / "nope.keras"))
    assert missing.exit_code == 1
    assert missing.stderr == f"Error: model file {tmp_path / 'nope.keras'} does not exist\n"
    not_png = invoke("draw", "--save", str(tmp_path / "mine.jpg"))
    assert not_png.exit_code == 2
    assert f"Error: Invalid value for --save: {tmp_path / 'mine.jpg'}: the drawing is saved as PNG; give a path ending in .png" in flat(not_png.stderr)


@pytest.fixture
def terminal(monkeypatch):
    """Put stdin and stderr on a pseudo-terminal of a given size and TERM, as a user's would be."""
    opened = []

    def use(columns: int, rows: int, term: str) -> None:
        leader, follower = pty.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        tty = os.fdopen(follower, "rb", buffering=0)  # isatty() and fileno() are all the check uses
        opened.extend([tty, leader])
        monkeypatch.setattr(sys, "stdin", tty)
        monkeypatch.setattr(sys, "stderr", tty)
        monkeypatch.setenv("TERM", term)

    yield use
    for item in opened:
        item.close() if hasattr(item, "close") else os.close(item)


@pytest.mark.parametrize("columns, rows, term, message", [
    (120, 40, "dumb", "digits draw needs a terminal with mouse reporting (xterm-compatible: most terminal apps, and tmux "
                      "or screen in one); TERM=dumb has none"),
    (120, 40, "", "digits draw needs a terminal with mouse reporting (xterm-compatible: most terminal apps, and tmux "
                  "or screen in one); TERM=(unset) has none"),
    (70, 20, "xterm-256color", "digits draw needs a terminal of at least 80x24 characters; this one is 70x20"),
    (80, 23, "tmux-256color", "digits draw needs a terminal of at least 80x24 characters; this one is 80x23"),
])
def test_a_terminal_without_mouse_or_too_small_is_refused(terminal, columns, rows, term, message):
    terminal(columns, rows, term)
    with pytest.raises(TerminalError) as refused:
        cmd_draw.check_terminal()
    assert str(refused.value) == message


def test_a_terminal_of_80x24_with_a_mouse_will_do(terminal):
    terminal(80, 24, "xterm-256color")
    cmd_draw.check_terminal()  # raises nothing


@pytest.mark.parametrize("height", [0.5, 0.8])
def test_the_brush_draws_strokes_as_wide_as_mnist_pen(height):
    """A digit drawn over half or most of the pad reaches the model with MNIST's stroke width (about 2.5 px)."""
    from digitcli import preprocess
    from digitcli.draw.canvas import Drawing

    drawing = Drawing()
    drawing.begin(0.5, 0.1)
    drawing.extend(0.5, 0.1 + height)
    assert drawing.image().mode == "L" and drawing.image().size == (112, 112)
    width = preprocess._stroke_width(preprocess.to_mnist(drawing.image()))
    assert 2.0 <= width <= 3.5, width


def test_a_redirected_stdout_still_sizes_the_app_by_the_terminal(terminal, monkeypatch):
    """`digits draw > guess.txt`: Textual sizes its screen by stdout, which is pointed at the terminal meanwhile."""
    terminal(123, 45, "xterm-256color")
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
    with cmd_draw.terminal_on_stdout():
        assert tuple(shutil.get_terminal_size()) == (123, 45)
    assert not os.isatty(1)  # stdout is back where it was
