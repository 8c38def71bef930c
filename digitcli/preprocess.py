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

import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError

# MPO is how Pillow names the JPEGs many phone cameras write.
SUPPORTED_FORMATS = ("PNG", "JPEG", "MPO", "BMP", "GIF", "TIFF", "WEBP")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
MAX_PIXELS = 89_478_485  # Pillow's own default decompression-bomb limit

SIDE = 28  # MNIST's field
BOX = 20  # MNIST's digits fit a 20x20 box inside it
CENTRE = 14.0  # where MNIST's centres of mass lie, in pixel indices (measured on its test set)
PEN_WIDTH = 2.5  # MNIST's median stroke width in the 28x28 field, in pixels (measured likewise)
WORK_SIDE = 4 * BOX  # thin strokes are widened at about this size, where widths are whole pixels
WORK_LIMIT = 1200  # larger images are averaged down to this size first
MIN_CONTRAST = 0.05  # ink fainter than this against the paper is not a digit


# --- opening ------------------------------------------------------------------


def open_image(source: Path | bytes, name: str | None = None, reduce_to: int | None = None) -> Image.Image:
    """Open and fully decode one image (the first frame), or raise ImageError.

    `name` is accepted for the caller's convenience; messages never repeat it
    because the caller prefixes them with the file name. With `reduce_to`, a
    large JPEG is decoded at a fraction of its size (1/2 to 1/8, no smaller
    than `reduce_to` px a side), several times faster than in full.
    """
    if isinstance(source, (bytes, bytearray)):
        if not source:
            raise ImageError("file is empty")
        stream = io.BytesIO(source)
    else:
        path = Path(source)
        if path.is_dir():
            raise ImageError("is a directory, not an image file")
        try:
            if path.stat().st_size == 0:
                raise ImageError("file is empty")
            stream = path.open("rb")
        except FileNotFoundError:
            raise ImageError("file does not exist") from None
        except OSError as exc:
            raise ImageError(f"cannot read file: {exc.strerror or exc}") from None
    with stream, warnings.catch_warnings():
        # Pillow only warns between its limit and twice it; a warning is reason enough to stop.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(stream) as image:
                _check_header(image)
                if reduce_to and image.format in ("JPEG", "MPO") and max(image.size) > 2 * reduce_to:
                    scale = reduce_to / max(image.size)
                    image.draft(image.mode, (round(image.width * scale), round(image.height * scale)))
                image.load()  # decodes the first frame only
                return image.copy()  # detached from the file, info (EXIF, transparency) kept
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            found = re.search(r"\((\d+) pixels\)", str(exc))
            size = f"has {int(found.group(1)):,} pixels" if found else "is too large"
            raise ImageError(f"image {size}, above the {MAX_PIXELS:,}-pixel limit") from None
        except UnidentifiedImageError:
            raise ImageError("not an image file") from None
        except (OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
            # Pillow reports damaged data with any of these, depending on the format.
            truncated = "truncated" in str(exc) or isinstance(exc, EOFError)
            raise ImageError("truncated image data" if truncated else "damaged image data") from None


def _check_header(image: Image.Image) -> None:
    if image.format not in SUPPORTED_FORMATS:
        raise ImageError(f"unsupported image format {image.format} (supported: PNG, JPEG, BMP, GIF, TIFF, WEBP)")
    width, height = image.size
    if width * height > MAX_PIXELS:  # our own limit, whatever Pillow's global is set to
        raise ImageError(f"image is {width}x{height} pixels, above the {MAX_PIXELS:,}-pixel limit")
    if width == 0 or height == 0:
        raise ImageError("image has no pixels")


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
    gray = _reduce(_paper_composite(*_gray_and_alpha(image)))
    found = photo.find_digit(gray, *_level(gray))
    ink = found.ink
    rows, cols = np.nonzero(ink.any(axis=1))[0], np.nonzero(ink.any(axis=0))[0]
    if rows.size == 0:
        raise ImageError("no digit found: the image is blank")
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    digit = _fit_box(_widen_thin_strokes(ink))
    return Prepared(_centre(digit), found.notes)


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
    paper = tone if opaque.mean() > 0.5 else (1.0 if tone < 0.5 else 0.0)
    return alpha * gray + (1.0 - alpha) * paper


def _reduce(gray: np.ndarray) -> np.ndarray:
    """Average huge images (phone photos) down to at most WORK_LIMIT px a side.

    Averaging lowers a thin stroke's contrast and the noise's alike, so the
    stroke stays as visible; it makes a 12-megapixel photo ten times faster.
    """
    factor = -(-max(gray.shape) // WORK_LIMIT)
    if factor <= 1:
        return gray
    return np.asarray(Image.fromarray(gray.astype(np.float32)).reduce(factor))


def _level(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """Ink strength against a smooth fit of the paper (ink positive, paper about 0), and its noise floor."""
    level = gray - _paper(gray)  # the paper is now 0 everywhere, however it was lit
    sample = _sample(level)
    noise = 1.4826 * float(np.median(np.abs(sample)))
    floor = max(4.0 * noise, MIN_CONTRAST)
    # Polarity: ink is the one-sided tail far from the paper, darker or lighter.
    # Weighing how far each pixel lies beyond the noise, rather than taking
    # percentiles, still sees a 1-px stroke covering 0.02% of a large canvas.
    darker = np.clip(-level - floor, 0, None).sum()
    lighter = np.clip(level - floor, 0, None).sum()
    if darker > lighter:
        level = -level
    return level.astype(np.float32), floor


def _sample(array: np.ndarray, size: int = 65_536) -> np.ndarray:
    """A strided subsample for statistics: medians of a 12-megapixel photo need not see every pixel."""
    step = max(1, int(np.sqrt(array.size / size)))
    return array[::step, ::step].ravel()


def _paper(gray: np.ndarray, grid: int = 48, rounds: int = 5) -> np.ndarray:
    """The paper's level at each pixel: a smooth (quadratic) fit, for uneven lighting.

    Fitted on a coarse average of the image; each round leaves out the cells
    lying far from the fit on either side, which hold the ink, whether it is
    darker or lighter than the paper (a median-based spread ignores up to half
    the cells being ink).
    """
    h, w = gray.shape
    coarse = np.asarray(Image.fromarray(gray.astype(np.float32)).resize((min(w, grid), min(h, grid)), Image.Resampling.BOX))
    v, u = (a.ravel() for a in np.meshgrid(*(np.linspace(-1, 1, n) for n in coarse.shape), indexing="ij"))
    terms = np.stack([np.ones_like(u), v, v * v, u, u * v, u * u], axis=1)
    values = coarse.ravel()
    # Start from a flat paper (the cells near the median) so that a digit filling
    # the image cannot pass for a bump of light.
    centre = np.median(values)
    keep = np.abs(values - centre) <= 2.5 * 1.4826 * np.median(np.abs(values - centre)) + 2e-3
    for _ in range(rounds):
        kept = terms[keep]
        # Normal equations, with a touch of damping for the few-cell images.
        coef = np.linalg.solve(kept.T @ kept + 1e-6 * np.eye(6), kept.T @ values[keep])
        residual = values - terms @ coef
        centre = np.median(residual[keep])
        spread = 1.4826 * np.median(np.abs(residual[keep] - centre)) + 2e-3
        keep = np.abs(residual - centre) < 2.5 * spread
        if keep.sum() < 12:
            break
    c = coef.astype(np.float32)
    y, x = np.linspace(-1, 1, h, dtype=np.float32)[:, None], np.linspace(-1, 1, w, dtype=np.float32)[None, :]
    # Evaluated as three full-size passes rather than six.
    paper = (c[0] + c[1] * y + c[2] * y * y) + (c[3] + c[4] * y) * x + c[5] * x * x + float(centre)
    # Where no paper was seen (under a large digit) the fit may only extrapolate
    # up to the paper levels seen elsewhere.
    seen = values[keep] - residual[keep] + centre
    return np.clip(paper, seen.min(), seen.max())


def _pad_to(array: np.ndarray, multiple: int) -> np.ndarray:
    """Zero-pad the bottom and right so both sides are multiples of `multiple`."""
    h, w = array.shape
    return np.pad(array, ((0, -h % multiple), (0, -w % multiple)))


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
        padded = _pad_to(ink, factor)
        h, w = padded.shape
        ink = padded.reshape(h // factor, factor, w // factor, factor).max(axis=(1, 3))
    target = PEN_WIDTH * max(ink.shape) / BOX
    radius = int(round((target - _stroke_width(ink)) / 2))
    if radius <= 0:
        return ink
    # Grey dilation by a disc: the maximum over shifted copies.
    padded = np.pad(ink, radius)
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
