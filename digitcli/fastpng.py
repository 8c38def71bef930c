"""Decoding plain PNG files with libspng (pyspng), about twice as fast as Pillow's own decoder.

A drawing pad sends a 280x280 RGBA PNG for every prediction, and Pillow took
about as long to decode it as all of the digit's preparation. Only plain files
take this path: 8-bit grey, RGB or RGBA, not interlaced, without a transparent
colour, animation or EXIF block (which may follow the pixels, where only
Pillow reads it). Everything else, anything libspng refuses (a damaged or
truncated file), and machines without pyspng (it has no wheel for every
platform) are left to Pillow, which gives the same pixels and its own errors.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

try:
    import pyspng
except ImportError:  # optional: Pillow decodes everything too
    pyspng = None

# PNG colour types libspng decodes to the pixels Pillow gives in this mode (IHDR's 8-bit types).
MODES = {0: "L", 2: "RGB", 6: "RGBA"}
SIGNATURE = b"\x89PNG\r\n\x1a\n"


def decode(data: bytes, image: Image.Image) -> Image.Image | None:
    """`image`, opened by Pillow from `data` but not yet loaded, decoded by libspng; None where Pillow must do it."""
    if pyspng is None or image.format != "PNG" or not _plain(data, image):
        return None
    try:
        pixels = pyspng.load(data)
    except RuntimeError:  # damaged or truncated: Pillow says which
        return None
    if pixels.dtype != np.uint8 or pixels.shape[:2] != (image.height, image.width):
        return None
    decoded = Image.fromarray(pixels, image.mode)
    decoded.info = dict(image.info)  # text chunks, dpi, a "Raw profile type exif" that exif_transpose reads
    return decoded


def _plain(data: bytes, image: Image.Image) -> bool:
    # The IHDR chunk always comes first: bit depth at byte 24, colour type at 25, interlace at 28.
    if len(data) < 29 or not data.startswith(SIGNATURE) or data[12:16] != b"IHDR":
        return False
    depth, colour, interlace = data[24], data[25], data[28]
    if depth != 8 or interlace or MODES.get(colour) != image.mode:
        return False
    return "transparency" not in image.info and b"eXIf" not in data and b"acTL" not in data
