"""The 28x28 image the model saw, drawn as 14 rows of half blocks in grey (or as shapes only)."""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from .. import art

def grey_strips(pixels: np.ndarray, black: int = 0) -> list[Strip]:
    """Pixels in [0, 1] (an even number of rows) as half-block lines in grey, two pixels a cell.

    The glyph is the one for the pixels' shapes (as `art.draw` picks it), so the
    text alone, copied or captured without colour, still shows the digit; its
    colours carry the greys: 0 is the grey `black`, 1 white.
    """
    levels = np.round(black + pixels * (255 - black)).astype(int)
    ink = pixels >= art.INK
    lines = []
    for top, bottom, top_ink, bottom_ink in zip(levels[0::2], levels[1::2], ink[0::2], ink[1::2]):
        segments = [Segment(*_cell(*cell)) for cell in zip(top, bottom, top_ink, bottom_ink)]
        lines.append(Strip(Segment.simplify(segments)))
    return lines


def _cell(top: int, bottom: int, top_ink: bool, bottom_ink: bool) -> tuple[str, Style]:
    if top_ink == bottom_ink:  # a full or an empty cell: one grey for both halves
        mean = (top + bottom) // 2
        return ("█", _style(mean, mean)) if top_ink else (" ", _style(mean, mean))
    return ("▀", _style(top, bottom)) if top_ink else ("▄", _style(bottom, top))


def plain_strip(pair: np.ndarray, unicode: bool) -> Strip:
    """Two rows of pixels as one line of shapes without colour (for NO_COLOR and --ascii)."""
    return Strip([Segment(art.draw(pair, unicode)[0], PLAIN)])


PLAIN = Style()  # Textual's colour filters need a style on every segment, even a plain one
_styles: dict[tuple[int, int], Style] = {}


def _style(fg: int, bg: int) -> Style:
    style = _styles.get((fg, bg))
    if style is None:
        style = _styles[(fg, bg)] = Style.parse(f"rgb({fg},{fg},{fg}) on rgb({bg},{bg},{bg})")
    return style


class Preview(Widget):
    """The model's input: what the drawing became after the same preparation as an image file."""

    image: reactive[np.ndarray | None] = reactive(None, always_update=True)

    def __init__(self, plain: bool, unicode: bool, **kwargs) -> None:
        super().__init__(**kwargs)
        self.plain = plain
        self.unicode = unicode

    def render_line(self, y: int) -> Strip:
        pixels = self.image if self.image is not None else np.zeros((28, 28), np.float32)
        if y >= len(pixels) // 2:
            return Strip.blank(self.size.width, self.rich_style)
        if self.plain:
            return plain_strip(pixels[2 * y : 2 * y + 2], self.unicode)
        return grey_strips(pixels[2 * y : 2 * y + 2])[0]
