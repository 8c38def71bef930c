"""Turning a user's image into what a MNIST model sees.

MNIST digits are light strokes on a black background, cropped to the ink,
scaled (keeping the aspect ratio, antialiased) so the longer side is 20 px,
then placed in a 28x28 field with their centre of mass at its centre. A
photo or scan of dark ink on paper fed to the model by a plain resize is
recognised barely better than chance, so `to_mnist` repeats those steps
after cleaning up what real images add: transparency, uneven lighting,
paper texture, specks and pens much thinner than MNIST's.

Pure numpy and Pillow, vectorised: a folder of thousands of images must be fast.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from . import paper
from .errors import ImageError
from .imagefile import open_image

SIDE = 28  # MNIST's field
BOX = 20  # MNIST's digits fit a 20x20 box inside it
CENTRE = 14.0  # where MNIST's centres of mass lie, in pixel indices (measured on its test set)
PEN_WIDTH = 2.5  # MNIST's median stroke width in the 28x28 field, in pixels (measured likewise)
WORK_SIDE = 4 * BOX  # thin strokes are widened at about this size, where widths are whole pixels
WORK_LIMIT = 1200  # larger images are averaged down to this size first
FLAT_LIMIT = 1024  # a clean drawing up to this size a side needs no background fit (`_flat_paper`)


def load(source: Path | bytes, name: str | None = None) -> np.ndarray:
    """One image file (or its bytes) as a MNIST-like (28, 28) float32 array."""
    return to_mnist(open_image(source, name, reduce_to=WORK_LIMIT))


def plain_resize(image: Image.Image) -> np.ndarray:
    """The naive baseline: grayscale, resized to 28x28, nothing else."""
    gray, _ = _gray_and_alpha(image)
    small = Image.fromarray(gray.astype(np.float32)).resize((SIDE, SIDE), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(small, dtype=np.float32), 0.0, 1.0)


# --- preparing ------------------------------------------------------------------


def to_mnist(image: Image.Image) -> np.ndarray:
    """A (28, 28) float32 array in [0, 1]: the digit prepared the way MNIST's were."""
    return prepare(image).array


@dataclass
class Prepared:
    array: np.ndarray  # (28, 28) float32 in [0, 1]
    notes: list[str] = field(default_factory=list)  # what the user may want to know, e.g. a second digit


def prepare(image: Image.Image) -> Prepared:
    """`to_mnist`, with notes on what was seen beside the digit."""
    from . import photo  # OpenCV: only where images are prepared

    try:
        image = ImageOps.exif_transpose(image)
    except (ValueError, OSError, SyntaxError, KeyError, TypeError):
        pass  # a damaged EXIF block only loses the rotation; the pixels are still good
    ink, notes = _clean_drawing(image), []
    if ink is None:  # a photo, a scan, or a drawing with more than one digit's ink on it
        gray = _reduce(_paper_composite(*_gray_and_alpha(image)))
        found = photo.find_digit(gray, *paper.level(gray))
        ink, notes = found.ink, found.notes
    rows, cols = np.nonzero(ink.any(axis=1))[0], np.nonzero(ink.any(axis=0))[0]
    if rows.size == 0:
        raise ImageError("no digit found: the image is blank")
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    digit = _fit_box(_widen_thin_strokes(ink))
    return Prepared(_centre(digit), notes)


def _clean_drawing(image: Image.Image) -> np.ndarray | None:
    """The ink of a clean drawing, prepared without fitting the background or searching a photo; else None.

    Flat paper (`_flat_paper`) and ink that is one digit (`photo.one_digit`: no box,
    line or second piece to judge) give the same ink as the full route, on a
    fraction of the pixels.
    """
    from . import photo

    flat = _flat_paper(image)
    if flat is None:
        return None
    gray, tone, cell = flat
    level, floor = paper.level(gray, tone)
    return _remove_specks(paper.strength(level, floor), cell) if photo.one_digit(level, floor) else None


def _flat_paper(image: Image.Image) -> tuple[np.ndarray, float, int] | None:
    """(luminance around the strokes, paper tone, speck cell) of a clean drawing; None for anything else.

    A clean drawing (a drawing pad's canvas, a rendered digit) has paper of one
    exact tone: it covers most of the image and most of each edge, and
    everything else (the strokes and their antialiased edges) lies on one side
    of it. The smooth background fit of a photo would find that same constant
    and no noise, so both are skipped; photos, with their noise and uneven
    light, never pass this test and take the full route. Only the strokes'
    surroundings are returned, in whole cells of `_remove_specks`' grid for the
    whole image, so that the steps after this one give the same result on a
    fraction of the pixels.
    """
    if max(image.size) > FLAT_LIMIT or image.mode not in ("1", "L", "P", "RGB", "RGBA") or "transparency" in image.info:
        return None
    if image.mode == "RGBA" and image.getchannel("A").getextrema()[0] < 255:
        return None  # transparency: the full route lays it on paper
    luminance = image.convert("L")  # the full route's luminance, to within rounding: an opaque alpha changes nothing
    counts = np.array(luminance.histogram())
    tone = int(counts.argmax())
    gray = np.asarray(luminance)
    edges = (gray[0], gray[-1], gray[:, 0], gray[:, -1])
    if (
        counts[tone] * 2 < gray.size
        or any(np.count_nonzero(edge == tone) * 2 < edge.size for edge in edges)
        or (counts[:tone].any() and counts[tone + 1 :].any())
    ):
        return None
    cell = _speck_cell(gray.shape)
    drawn = gray != tone
    rows, cols = np.flatnonzero(drawn.any(axis=1)), np.flatnonzero(drawn.any(axis=0))
    if rows.size:  # whole cells around the strokes, and one more each side so that only the image's border is a border
        top, left = max(0, (rows[0] // cell - 1) * cell), max(0, (cols[0] // cell - 1) * cell)
        gray = gray[top : (rows[-1] // cell + 2) * cell, left : (cols[-1] // cell + 2) * cell]
    return gray.astype(np.float32) / 255.0, float(np.float32(tone) / np.float32(255.0)), cell


def _gray_and_alpha(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Luminance in [0, 1] and, if the image has transparency, its alpha."""
    mode = image.mode
    if mode.startswith("I") or mode == "F":
        # 16/32-bit: scale by the range its values actually use.
        gray = np.asarray(image, dtype=np.float32)
        top = float(gray.max(initial=0.0))
        scale = 1.0 if mode == "F" and top <= 1.0 else 255.0 if top <= 255 else 65535.0 if top <= 65535 else top
        return np.clip(gray / scale, 0.0, 1.0), None
    try:
        if mode in ("LA", "La", "PA", "RGBA", "RGBa") or "transparency" in image.info:
            rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
            gray = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
            return gray, rgba[..., 3]
        if mode not in ("1", "L", "P", "RGB"):
            image = image.convert("RGB")  # CMYK, YCbCr, LAB...: through RGB to gray
        return np.asarray(image.convert("L"), dtype=np.float32) / 255.0, None
    except ValueError:
        raise ImageError(f"unsupported colour mode {mode}") from None


def _paper_composite(gray: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """Lay a transparent image on paper so its strokes stay visible whatever their colour.

    Mostly transparent images are usually strokes alone: the paper is the
    opposite of the strokes' tone. Mostly opaque ones are a sheet with
    transparent margins: the paper is the sheet's own tone.
    """
    if alpha is None:
        return gray
    opaque = alpha > 0.5
    if not opaque.any():
        raise ImageError("no digit found: the image is fully transparent")
    tone = float(np.median(gray[opaque]))
    background = tone if opaque.mean() > 0.5 else (1.0 if tone < 0.5 else 0.0)
    return alpha * gray + (1.0 - alpha) * background


def _reduce(gray: np.ndarray) -> np.ndarray:
    """Average huge images (phone photos) down to at most WORK_LIMIT px a side.

    Averaging lowers a thin stroke's contrast and the noise's alike, so the
    stroke stays as visible; it makes a 12-megapixel photo ten times faster.
    """
    factor = -(-max(gray.shape) // WORK_LIMIT)
    if factor <= 1:
        return gray
    return np.asarray(Image.fromarray(gray.astype(np.float32)).reduce(factor))


def _speck_cell(shape: tuple[int, ...]) -> int:
    return max(1, max(shape) // 50)


def _remove_specks(ink: np.ndarray, cell: int | None = None) -> np.ndarray:
    """Drop isolated specks, which would otherwise stretch the crop.

    The image is cut into cells about a 50th of its size. Around any stroke
    pixel, even of a 1-px stroke at its tip, the 3x3 cells hold at least a
    cell's width of ink; around a speck they hold only the speck's few pixels.
    Counting per cell, not per pixel, keeps this to one pass over the image.
    `cell` is the whole image's when `ink` is a part of it cut along the cells.
    """
    cell = _speck_cell(ink.shape) if cell is None else cell
    if cell < 3:
        return ink  # small images: every pixel may matter
    counts = _pool((ink > 0).astype(np.int32), cell, np.add)
    padded = _pad(counts, 1, 1, 1, 1)
    rows, cols = counts.shape
    around = sum(padded[dy : dy + rows, dx : dx + cols] for dy in range(3) for dx in range(3))
    keep = np.repeat(np.repeat(around >= 0.6 * cell, cell, axis=0), cell, axis=1)
    return np.where(keep[: ink.shape[0], : ink.shape[1]], ink, 0.0).astype(np.float32)


def _pad_to(array: np.ndarray, multiple: int) -> np.ndarray:
    """Zero-pad the bottom and right so both sides are multiples of `multiple`."""
    h, w = array.shape
    return _pad(array, 0, -h % multiple, 0, -w % multiple)


def _pad(array: np.ndarray, top: int, bottom: int, left: int, right: int) -> np.ndarray:
    """`array` in a frame of zeros this wide on each side (np.pad's result, in a tenth of its time on small arrays)."""
    h, w = array.shape
    padded = np.zeros((top + h + bottom, left + w + right), array.dtype)
    padded[top : top + h, left : left + w] = array
    return padded


def _pool(array: np.ndarray, factor: int, combine: np.ufunc) -> np.ndarray:
    """Each factor x factor block (zero-padded) combined into one value, with np.add or np.maximum.

    Combining strided slices is many times faster than numpy's reduction over two short axes.
    """
    array = _pad_to(array, factor)
    columns = functools.reduce(combine, (array[:, i::factor] for i in range(factor)))
    return functools.reduce(combine, (columns[i::factor] for i in range(factor)))


def _stroke_width(ink: np.ndarray) -> float:
    """Mean stroke width: twice the area over the perimeter (Crofton-corrected)."""
    mask = (ink > 0.5).astype(np.int8)
    area = mask.sum()
    perimeter = np.abs(np.diff(mask, axis=0, prepend=0, append=0)).sum() + np.abs(
        np.diff(mask, axis=1, prepend=0, append=0)
    ).sum()
    return 2.0 * area / (perimeter * np.pi / 4) if perimeter else 0.0


def _widen_thin_strokes(ink: np.ndarray) -> np.ndarray:
    """Widen strokes that would come out thinner than MNIST's pen; thick ones stay.

    Large crops are first max-pooled to about WORK_SIDE, which keeps thin
    strokes at full strength instead of averaging them into grey.
    """
    factor = max(1, max(ink.shape) // WORK_SIDE)
    if factor > 1:
        ink = _pool(ink, factor, np.maximum)
    target = PEN_WIDTH * max(ink.shape) / BOX
    radius = int(round((target - _stroke_width(ink)) / 2))
    if radius <= 0:
        return ink
    # Grey dilation by a disc: the maximum over shifted copies.
    padded = _pad(ink, radius, radius, radius, radius)
    wide = ink.copy()
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if 0 < dy * dy + dx * dx <= radius * radius + radius:
                h, w = ink.shape
                np.maximum(wide, padded[radius + dy : radius + dy + h, radius + dx : radius + dx + w], out=wide)
    return wide


def _fit_box(ink: np.ndarray) -> np.ndarray:
    """Scale so the longer side is BOX pixels, keeping the aspect ratio (antialiased)."""
    h, w = ink.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.asarray(Image.fromarray(ink.astype(np.float32)).resize(size, Image.Resampling.LANCZOS))
    small = np.clip(small, 0.0, 1.0)
    # MNIST's strokes reach full white; thin strokes averaged down would not.
    return (small / small.max()).astype(np.float32) if small.max() > 0 else small.astype(np.float32)


def _centre(digit: np.ndarray) -> np.ndarray:
    """Place the digit in the 28x28 field with its centre of mass at CENTRE, as MNIST did."""
    h, w = digit.shape
    mass = digit.sum()
    if mass <= 0:
        raise ImageError("no digit found: the image is blank")
    cy = (digit.sum(axis=1) @ np.arange(h)) / mass
    cx = (digit.sum(axis=0) @ np.arange(w)) / mass
    # Never push ink off the field, even for a lopsided digit.
    top = int(np.clip(round(CENTRE - cy), 0, SIDE - h))
    left = int(np.clip(round(CENTRE - cx), 0, SIDE - w))
    field = np.zeros((SIDE, SIDE), dtype=np.float32)
    field[top : top + h, left : left + w] = digit
    return field
