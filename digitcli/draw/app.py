"""`digits draw`: a drawing pad in the terminal that recognises the digit while you draw.

The app only wires widgets to the core: every change of the drawing is
prepared by `preprocess.to_mnist`, exactly as an image file would be, and
scored by the Classifier the other commands use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.events import Resize
from textual.timer import Timer
from textual.widgets import Static

from .. import preprocess
from ..errors import ImageError
from ..predict import Classifier
from .canvas import Drawing, free_path
from .pad import Pad
from .panel import Prediction
from .preview import Preview

PANEL_WIDTH = 20  # these three match draw.tcss
SIDE_WIDTH = 30
MIN_PAD = 28  # pixels a side
MIN_SIZE = (MIN_PAD + 2 + PANEL_WIDTH + SIDE_WIDTH, 24)  # columns, rows: 80x24
LIVE_INTERVAL = 0.04  # while a stroke goes on, predict at most 25 times a second
HELP = "left button  draw\nc  clear    u  undo stroke\ns  save PNG q  quit"


@dataclass
class Guess:
    digit: int
    confidence: float


class PadArea(Container):
    """Where the pad lives: the pad takes the largest square that fits it."""

    def on_resize(self, event: Resize) -> None:
        self.query_one(Pad).fit(event.size.width, event.size.height)


class DrawApp(App[Guess | None]):
    """The pad, the prediction beside it and the 28x28 image the model saw.

    Returns the last drawing's Guess on quit, or None when the pad is blank.
    """

    CSS_PATH = Path(__file__).with_name("draw.tcss")  # absolute: holds for subclasses elsewhere too
    TITLE = "digits draw"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("c", "clear", "clear"),
        Binding("u", "undo", "undo"),
        Binding("s", "save", "save PNG"),
        Binding("q", "quit", "quit"),
        Binding("ctrl+c", "quit", show=False, priority=True),  # ctrl+q quits too, as in every Textual app
    ]

    def __init__(self, classifier: Classifier, ascii_art: bool = False, save: Path | None = None, overwrite: bool = False):
        super().__init__()
        self.classifier = classifier
        self.drawing = Drawing()
        self.ascii_art = ascii_art
        self.save_path = save
        self.may_replace = overwrite  # becomes true once this run has written save_path itself
        self.guess: Guess | None = None
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        plain = self.ascii_art or self.no_color
        with Horizontal(id="main"):
            with PadArea(id="pad-area"):
                yield Pad(self.drawing, plain=plain, unicode=not self.ascii_art, id="pad")
            yield Prediction(unicode=not self.ascii_art, id="prediction")
            with Vertical(id="side"):
                yield Preview(plain=plain, unicode=not self.ascii_art, id="preview")
                yield Static(HELP, id="help")
                yield Static("", id="status")
        yield Static("", id="too-small")

    def on_mount(self) -> None:
        self.set_class(self.ascii_art, "-ascii")
        pad = self.query_one(Pad)
        pad.border_title = "draw here"
        self.query_one(Preview).border_title = "model input 28x28"

    def on_resize(self, event: Resize) -> None:
        width, height = event.size
        small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        self.set_class(small, "-too-small")
        if small:
            self.query_one("#too-small", Static).update(
                f"digits draw needs a terminal of at least {MIN_SIZE[0]}x{MIN_SIZE[1]}; this one is {width}x{height}.\n"
                "Enlarge it, or press q to quit."
            )

    # --- predicting ---------------------------------------------------------------------

    def on_pad_changed(self, message: Pad.Changed) -> None:
        if message.done:
            self.predict_now()
        elif self._timer is None:
            self._timer = self.set_timer(LIVE_INTERVAL, self.predict_now)

    def predict_now(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        image, probabilities = None, None
        if not self.drawing.blank:
            try:
                image = preprocess.to_mnist(self.drawing.image())
            except ImageError:
                image = None  # strokes wholly off the pad: nothing to recognise
            else:
                probabilities = self.classifier.probabilities(image[None])[0]
        self.query_one(Prediction).probabilities = probabilities
        self.query_one(Preview).image = image
        self.guess = None if probabilities is None else Guess(int(np.argmax(probabilities)), float(np.max(probabilities)))

    # --- keys ---------------------------------------------------------------------------

    def action_clear(self) -> None:
        self.drawing.clear()
        self._redrawn("Cleared.")

    def action_undo(self) -> None:
        self._redrawn("Removed the last stroke." if self.drawing.undo() else "Nothing to undo.")

    def _redrawn(self, status: str) -> None:
        self.query_one(Pad).redraw()
        self.predict_now()
        self.status(status)

    def action_save(self) -> None:
        if self.drawing.blank:
            self.status("Nothing to save: the pad is blank.")
            return
        path = self.save_path or free_path(Path.cwd())
        try:
            self.save(path)
        except OSError as exc:
            self.status(f"Not saved: {exc.strerror or exc}")
        else:
            self.status(f"Saved {path}")

    def save(self, path: Path) -> None:
        """Write the drawing to `path`: --save's file only if this run may replace it, others never."""
        is_save_path = path == self.save_path
        try:
            self.drawing.save(path, replace=is_save_path and self.may_replace)
        except FileExistsError:
            raise FileExistsError(0, f"{path} already exists; pass --overwrite to replace it") from None
        if is_save_path:
            self.may_replace = True

    async def action_quit(self) -> None:
        self.exit(self.guess)

    def status(self, text: str) -> None:
        self.query_one("#status", Static).update(text)
