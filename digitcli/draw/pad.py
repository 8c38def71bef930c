"""The drawing pad: a square of half-block pixels that the left mouse button draws on."""

from __future__ import annotations

from textual import events
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from .canvas import Drawing
from .preview import grey_strips, plain_strip

PAPER = 24  # the pad's black, a little lighter than the terminal's so the pad stands out


class Pad(Widget):
    """Shows a Drawing with two pixels per character cell and paints on it with the mouse.

    The pad is `side` pixels square: `side` columns by `side / 2` rows. While the
    left button is down the pad holds the mouse, so a stroke that leaves the pad
    and comes back stays one stroke.
    """

    class Changed(Message):
        """The drawing changed; `done` is true when a stroke ended or strokes were removed."""

        def __init__(self, done: bool) -> None:
            super().__init__()
            self.done = done

    def __init__(self, drawing: Drawing, plain: bool, unicode: bool, **kwargs) -> None:
        super().__init__(**kwargs)
        self.drawing = drawing
        self.plain = plain  # shapes only (no colour): NO_COLOR or --ascii
        self.unicode = unicode
        self.side = 28
        self._drawing_stroke = False
        self._pixels = None  # the drawing at the pad's resolution, made when first shown
        self._rows: dict[bytes, Strip] = {}  # rendered rows by their pixels: a stroke changes only a few

    def fit(self, columns: int, rows: int) -> None:
        """Take the largest square that fits `columns` x `rows` cells, border included."""
        side = min(columns - 2, 2 * (rows - 2)) // 2 * 2
        self.side = max(side, 2)
        self.styles.width = self.side + 2
        self.styles.height = self.side // 2 + 2
        self.border_subtitle = f"{self.side}x{self.side} px"
        self.redraw()

    def redraw(self) -> None:
        self._pixels = None
        self.refresh()

    # --- drawing with the mouse ---------------------------------------------------------

    def _point(self, event: events.MouseEvent) -> tuple[float, float]:
        """The event's position as fractions of the pad's side.

        Terminals report whole cells, so a cell's centre is taken; terminals that
        report pixels give fractional positions, which are kept.
        """
        x = event.pointer_x - self.gutter.left
        y = event.pointer_y - self.gutter.top
        x += 0.5 if x == int(x) else 0.0
        y += 0.5 if y == int(y) else 0.0
        return x / self.side, 2 * y / self.side

    def on_mouse_down(self, event: events.MouseDown) -> None:
        if event.button != 1:
            return
        self.capture_mouse()
        self._drawing_stroke = True
        self.drawing.begin(*self._point(event))
        self._changed(done=False)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._drawing_stroke:
            self.drawing.extend(*self._point(event))
            self._changed(done=False)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._drawing_stroke:
            self._drawing_stroke = False
            self.release_mouse()
            self.drawing.extend(*self._point(event))
            self._changed(done=True)

    def on_mouse_release(self, event: events.MouseRelease) -> None:
        # The mouse was taken away mid-stroke (for example the app lost focus): end the stroke.
        if self._drawing_stroke:
            self._drawing_stroke = False
            self._changed(done=True)

    def _changed(self, done: bool) -> None:
        self.redraw()
        self.post_message(self.Changed(done))

    # --- rendering ----------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        if self._pixels is None:
            self._pixels = self.drawing.shown(self.side)
            if len(self._rows) > 4 * self.side:
                self._rows.clear()
        pair = self._pixels[2 * y : 2 * y + 2]
        if len(pair) < 2:
            return Strip.blank(self.size.width, self.rich_style)
        key = pair.tobytes()
        strip = self._rows.get(key)
        if strip is None:
            if self.plain:
                strip = plain_strip(pair, self.unicode)
            else:
                strip = grey_strips(pair, black=PAPER)[0]
            self._rows[key] = strip
        return strip
