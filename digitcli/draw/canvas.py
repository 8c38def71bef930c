"""A drawing as strokes, and the picture they make: the core of `digits draw`, free of any UI.

Points are kept as fractions of the pad's side, so the drawing does not
depend on the terminal's size; the picture is painted at a fixed resolution,
finer than any pad, with a soft round brush. That picture is what the model's
preparation (`preprocess.to_mnist`) reads and what `s` or `--save` writes, so
a saved drawing predicts exactly as it did on the pad.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

SIDE = 112  # the picture's side in pixels: 4x MNIST's field, fine enough for smooth strokes
# Brush diameter as a fraction of the pad: a digit drawn over most of the pad then has strokes
# about as wide, relative to its height, as MNIST's pen (2.5 px on a 20 px digit). Thinner
# strokes would be widened by the preparation anyway; thicker ones would not be thinned.
PEN = 0.085
SOFT = 0.45  # the outer part of the brush's radius that fades from full ink to none


class Drawing:
    """Strokes on a square pad, and their picture as light ink on black, MNIST's way round."""

    def __init__(self, side: int = SIDE, pen: float = PEN):
        self.side = side
        self.radius = pen * side / 2
        self.strokes: list[list[tuple[float, float]]] = []
        self.pixels = np.zeros((side, side), np.float32)

    @property
    def blank(self) -> bool:
        return not self.strokes

    def begin(self, x: float, y: float) -> None:
        """Start a stroke at (x, y), fractions of the pad's width and height."""
        self.strokes.append([(x, y)])
        self._paint((x, y), (x, y))

    def extend(self, x: float, y: float) -> None:
        """Continue the current stroke to (x, y)."""
        stroke = self.strokes[-1]
        if stroke[-1] != (x, y):
            self._paint(stroke[-1], (x, y))
            stroke.append((x, y))

    def undo(self) -> bool:
        """Remove the last stroke; False if there was none."""
        if not self.strokes:
            return False
        self.strokes.pop()
        self._repaint()
        return True

    def clear(self) -> None:
        self.strokes.clear()
        self._repaint()

    def image(self) -> Image.Image:
        """The picture as an 8-bit grayscale image: what is prepared for the model and saved."""
        return Image.fromarray(np.round(self.pixels * 255).astype(np.uint8))  # 2-D uint8: mode L

    def shown(self, side: int) -> np.ndarray:
        """The picture at the pad's resolution, (side, side) in [0, 1], for display."""
        small = Image.fromarray(self.pixels).resize((side, side), Image.Resampling.BOX)
        return np.clip(np.asarray(small, dtype=np.float32), 0.0, 1.0)

    def save(self, path: Path, replace: bool) -> None:
        """Write the picture as a PNG; an existing file is only replaced when `replace` is true.

        Raises FileExistsError or OSError; the caller words the message.
        """
        data = _png(self.image())
        with open(path, "wb" if replace else "xb") as file:  # "x": never replace by accident
            file.write(data)

    def _repaint(self) -> None:
        self.pixels[:] = 0.0
        for stroke in self.strokes:
            for a, b in zip(stroke, stroke[1:] or stroke):
                self._paint(a, b)

    def _paint(self, a: tuple[float, float], b: tuple[float, float]) -> None:
        """Ink the segment a-b with the round brush; only the pixels near it are touched."""
        (x0, y0), (x1, y1) = ((p[0] * self.side, p[1] * self.side) for p in (a, b))
        r = self.radius
        left, right = max(0, int(min(x0, x1) - r - 1)), min(self.side, int(max(x0, x1) + r + 2))
        top, bottom = max(0, int(min(y0, y1) - r - 1)), min(self.side, int(max(y0, y1) + r + 2))
        if left >= right or top >= bottom:
            return  # wholly off the pad
        ys, xs = np.mgrid[top:bottom, left:right].astype(np.float32) + 0.5  # pixel centres
        dx, dy = x1 - x0, y1 - y0
        length2 = dx * dx + dy * dy
        t = np.clip(((xs - x0) * dx + (ys - y0) * dy) / length2, 0.0, 1.0) if length2 else 0.0
        distance = np.hypot(xs - (x0 + t * dx), ys - (y0 + t * dy))
        ink = np.clip((r - distance) / (SOFT * r), 0.0, 1.0)
        area = self.pixels[top:bottom, left:right]
        np.maximum(area, ink, out=area)


def free_path(directory: Path, stem: str = "drawing") -> Path:
    """The first of drawing-1.png, drawing-2.png, ... that does not exist in `directory`."""
    n = 1
    while (directory / f"{stem}-{n}.png").exists():
        n += 1
    return directory / f"{stem}-{n}.png"


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
