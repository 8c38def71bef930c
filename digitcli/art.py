"""Digits drawn as text: a 28x28 image in 14 rows of 28 characters.

Unicode half blocks give each character cell two pixels, one above the other,
so the drawing keeps the image's full resolution. Terminals without Unicode get
a shade ramp over the same pairs of pixels.
"""

from __future__ import annotations

import numpy as np

from .data import to_unit

INK = 0.5  # a pixel at least this bright counts as ink in the half-block drawing
HALF_BLOCKS = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}
ASCII_RAMP = " .:-=+*#%@"


def draw(image: np.ndarray, unicode: bool = True) -> list[str]:
    """The image as 14 lines of 28 characters (light ink on a dark background)."""
    pixels = to_unit(image)
    top, bottom = pixels[0::2], pixels[1::2]
    if unicode:
        return ["".join(HALF_BLOCKS[(bool(a), bool(b))] for a, b in zip(t, u)) for t, u in zip(top >= INK, bottom >= INK)]
    levels = np.minimum(((top + bottom) / 2 * len(ASCII_RAMP)).astype(int), len(ASCII_RAMP) - 1)
    return ["".join(ASCII_RAMP[v] for v in row) for row in levels]
