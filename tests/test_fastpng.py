"""fastpng: plain PNGs decoded by libspng give Pillow's pixels; every other PNG is left to Pillow."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from digitcli import fastpng, preprocess
from digitcli.errors import ImageError


def png(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **options)
    return buffer.getvalue()


def pillow(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.copy()


def opened(data: bytes) -> Image.Image:
    """The image as Pillow has it after reading the header only, as open_image passes it."""
    return Image.open(io.BytesIO(data))


@pytest.fixture(scope="module")
def pixels():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (37, 53, 4), dtype=np.uint8)


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA"])
def test_plain_pngs_decode_to_pillows_pixels(pixels, mode):
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "a drawing pad")
    data = png(Image.fromarray(pixels, "RGBA").convert(mode), pnginfo=info)
    decoded = fastpng.decode(data, opened(data))
    assert decoded is not None
    expected = pillow(data)
    assert decoded.mode == expected.mode == mode and decoded.size == (53, 37)
    assert np.array_equal(np.asarray(decoded), np.asarray(expected))
    assert decoded.info["Software"] == "a drawing pad"


def test_open_image_takes_the_fast_path_for_a_pad_canvas(pixels, monkeypatch):
    data = png(Image.fromarray(pixels, "RGBA"))
    calls = []
    decode = fastpng.decode
    monkeypatch.setattr(fastpng, "decode", lambda d, image: calls.append(len(d)) or decode(d, image))
    image = preprocess.open_image(data)
    assert calls == [len(data)]
    assert np.array_equal(np.asarray(image), pixels)


def test_other_pngs_are_left_to_pillow(pixels):
    rgba = Image.fromarray(pixels, "RGBA")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: only Pillow reads an eXIf chunk
    others = {
        "palette": png(rgba.convert("P")),
        "16-bit grey": png(Image.fromarray(pixels[..., 0].astype(np.uint16) * 257)),
        "grey and alpha": png(rgba.convert("LA")),
        "1-bit": png(rgba.convert("1")),
        "transparent colour": png(rgba.convert("RGB"), transparency=(0, 0, 0)),
        "EXIF orientation": png(rgba, exif=exif),
        "animated": png(rgba, save_all=True, append_images=[rgba.convert("RGB").convert("RGBA")]),
    }
    for name, data in others.items():
        assert fastpng.decode(data, opened(data)) is None, name
        assert np.array_equal(np.asarray(preprocess.open_image(data)), np.asarray(pillow(data))), name
    plain = png(rgba)
    interlaced = plain[:28] + b"\x01" + plain[29:]  # IHDR's interlace byte
    assert fastpng.decode(interlaced, opened(plain)) is None


def test_an_exif_rotated_png_is_still_turned(pixels):
    exif = Image.Exif()
    exif[0x0112] = 6
    data = png(Image.fromarray(pixels, "RGBA"), exif=exif)
    image = preprocess.open_image(data)
    assert preprocess.ImageOps.exif_transpose(image).size == (37, 53)


def test_damaged_pngs_get_pillows_errors(pixels):
    data = png(Image.fromarray(pixels, "RGBA"))
    truncated = data[: len(data) // 2]
    assert fastpng.decode(truncated, opened(truncated)) is None
    with pytest.raises(ImageError, match=r"^truncated image data$"):
        preprocess.open_image(truncated)


def test_without_pyspng_pillow_decodes_everything(pixels, monkeypatch):
    monkeypatch.setattr(fastpng, "pyspng", None)
    data = png(Image.fromarray(pixels, "RGBA"))
    assert fastpng.decode(data, opened(data)) is None
    assert np.array_equal(np.asarray(preprocess.open_image(data)), pixels)
