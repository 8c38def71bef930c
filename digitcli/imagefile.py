"""Opening a user's image file safely: supported formats only, a pixel limit, one-line errors for damaged files.

Decoding happens here, once, for every command that reads images; what the
pixels then become is `preprocess`'s concern.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from . import fastpng
from .errors import ImageError

# MPO is how Pillow names the JPEGs many phone cameras write.
SUPPORTED_FORMATS = ("PNG", "JPEG", "MPO", "BMP", "GIF", "TIFF", "WEBP")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
MAX_PIXELS = 89_478_485  # Pillow's own default decompression-bomb limit


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
                if image.format == "PNG" and (decoded := fastpng.decode(_bytes(stream), image)) is not None:
                    return decoded  # libspng's pixels, the same as Pillow's, in half the time
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


def _bytes(stream) -> bytes:
    stream.seek(0)
    return stream.read()


def _check_header(image: Image.Image) -> None:
    if image.format not in SUPPORTED_FORMATS:
        raise ImageError(f"unsupported image format {image.format} (supported: PNG, JPEG, BMP, GIF, TIFF, WEBP)")
    width, height = image.size
    if width * height > MAX_PIXELS:  # our own limit, whatever Pillow's global is set to
        raise ImageError(f"image is {width}x{height} pixels, above the {MAX_PIXELS:,}-pixel limit")
    if width == 0 or height == 0:
        raise ImageError("image has no pixels")
