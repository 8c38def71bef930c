"""digitcli.preprocess: user images in, MNIST-like 28x28 arrays out. No TensorFlow here."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from digitcli import imagefile, preprocess
from digitcli.errors import ImageError



# --- helpers -------------------------------------------------------------------------


def check_mnist_like(x: np.ndarray) -> np.ndarray:
    assert x.shape == (28, 28)
    assert x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    return x


def prepare(image: Image.Image) -> np.ndarray:
    return check_mnist_like(preprocess.to_mnist(image))


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def centre_of_mass(x: np.ndarray) -> tuple[float, float]:
    ys, xs = np.mgrid[: x.shape[0], : x.shape[1]]
    return float((x * ys).sum() / x.sum()), float((x * xs).sum() / x.sum())


def bbox(x: np.ndarray, level: float = 0.1) -> tuple[int, int]:
    """(height, width) of the pixels above `level`."""
    rows, cols = np.nonzero((x > level).any(axis=1))[0], np.nonzero((x > level).any(axis=0))[0]
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def shifted_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """The best correlation over shifts of up to 1 px: centring rounds to whole pixels."""
    return max(correlation(np.roll(a, (dy, dx), axis=(0, 1)), b) for dy in (-1, 0, 1) for dx in (-1, 0, 1))


def seven(size: int = 400, width: int = 30, ink: int = 0, paper: int = 255, offset=(0, 0), mode="L") -> Image.Image:
    """A '7' (asymmetric, so rotations show) drawn with a pen of `width` px."""
    image = Image.new(mode, (size, size), paper)
    s, (dx, dy) = size / 400, offset
    points = [(120 * s + dx, 100 * s + dy), (280 * s + dx, 100 * s + dy), (170 * s + dx, 320 * s + dy)]
    ImageDraw.Draw(image).line(points, fill=ink, width=width, joint="curve")
    return image


# --- what comes out ---------------------------------------------------------------------


def test_dark_ink_on_light_paper_is_inverted():
    x = prepare(seven())
    assert x[:, :3].max() == 0 and x[:, -3:].max() == 0  # background black, like MNIST
    assert (x == 0).mean() > 0.6
    assert x.max() == 1.0  # strokes reach full white
    assert 0.05 < x.mean() < 0.25  # MNIST averages 0.13


def test_light_ink_on_dark_paper_is_kept_and_matches_dark_on_light():
    dark_on_light = prepare(seven())
    light_on_dark = prepare(seven(ink=255, paper=0))
    assert correlation(dark_on_light, light_on_dark) > 0.98


def test_off_centre_digit_ends_with_its_centre_of_mass_at_14_14():
    x = prepare(seven(size=1000, offset=(550, 600)))
    cy, cx = centre_of_mass(x)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1


def test_tall_bar_keeps_its_aspect_ratio():
    image = Image.new("L", (600, 600), 255)
    ImageDraw.Draw(image).rectangle([100, 150, 139, 449], fill=0)  # 40 x 300
    height, width = bbox(prepare(image))
    assert height == 20
    assert 2 <= width <= 4  # 40/300 of 20 px is 2.7


def test_wide_shape_fits_the_20_px_box_by_its_longer_side():
    image = Image.new("L", (800, 800), 255)
    ImageDraw.Draw(image).ellipse([100, 300, 700, 500], outline=0, width=40)
    height, width = bbox(prepare(image))
    assert width == 20
    assert 6 <= height <= 8  # 200/600 of 20 px


def test_thin_pen_on_large_canvas_looks_like_a_thick_one():
    thin = prepare(seven(size=800, width=1))
    thick = prepare(seven(size=800, width=60))
    # Widened to MNIST's pen: similar ink and similar shape.
    assert 0.6 < thin.sum() / thick.sum() < 1.5
    assert (thin > 0.5).sum() > 0.6 * (thick > 0.5).sum()
    assert shifted_correlation(thin, thick) > 0.8


def test_thick_strokes_stay_thick():
    # 60 px on a 220 px tall digit is 5.5 px at MNIST's size, twice MNIST's pen.
    assert preprocess._stroke_width(prepare(seven(size=400, width=60))) > 4.5


def test_faint_uneven_lighting_and_noise_are_removed():
    rng = np.random.default_rng(0)
    drawing = np.asarray(seven(size=500, width=25), dtype=np.float32) / 255
    ramp = np.linspace(0.55, 1.0, 500)[None, :]  # a shadow across the sheet
    photo = drawing * ramp * 0.9 + 0.05 + rng.normal(0, 0.03, drawing.shape)
    photo[40, 450] = 0.0  # a speck far from the digit must not stretch the crop
    image = Image.fromarray((np.clip(photo, 0, 1) * 255).astype(np.uint8))
    x = prepare(image)
    assert correlation(x, prepare(seven(size=500, width=25))) > 0.95


# --- modes and formats -------------------------------------------------------------------


@pytest.mark.parametrize("ink", [(0, 0, 0, 255), (255, 255, 255, 255), (200, 30, 30, 255)])
def test_strokes_on_transparent_background_show_whatever_their_colour(ink):
    image = seven(ink=ink, paper=(0, 0, 0, 0), mode="RGBA")
    x = preprocess.load(encode(image, "PNG"))
    assert correlation(check_mnist_like(x), prepare(seven())) > 0.98


def test_palette_image_with_transparent_background():
    image = seven(ink=1, paper=0, mode="P")
    image.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)  # index 0 white, 1 black
    image.info["transparency"] = 0
    x = preprocess.load(encode(image, "PNG", transparency=0))
    assert correlation(check_mnist_like(x), prepare(seven())) > 0.98


def test_16_bit_png():
    values = np.asarray(seven(), dtype=np.uint16) * 257  # full 16-bit range
    image = Image.fromarray(values)
    assert image.mode.startswith("I;16")
    opened = preprocess.open_image(encode(image, "PNG"))
    assert opened.mode in ("I;16", "I")
    assert correlation(prepare(opened), prepare(seven())) > 0.98


def test_cmyk_jpeg():
    opened = preprocess.open_image(encode(seven().convert("RGB").convert("CMYK"), "JPEG", quality=95))
    assert opened.mode == "CMYK"
    assert correlation(prepare(opened), prepare(seven())) > 0.95


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # stored on its side: viewers rotate it 90 degrees clockwise
    stored = seven().rotate(90, expand=True)
    x = preprocess.load(encode(stored.convert("RGB"), "JPEG", quality=95, exif=exif))
    assert correlation(x, prepare(seven())) > 0.95
    assert correlation(x, prepare(stored)) < 0.6


def test_animated_gif_uses_its_first_frame():
    first, second = seven(), Image.new("L", (400, 400), 255)
    ImageDraw.Draw(second).ellipse([100, 100, 300, 300], outline=0, width=30)
    data = encode(first, "GIF", save_all=True, append_images=[second], duration=100)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    assert correlation(preprocess.load(data), prepare(seven())) > 0.98


@pytest.mark.parametrize("fmt,suffix", [("PNG", ".png"), ("JPEG", ".jpg"), ("BMP", ".bmp"), ("TIFF", ".tif"),
                                        ("WEBP", ".webp"), ("GIF", ".gif")])
def test_every_supported_format_loads_from_a_file(tmp_path, fmt, suffix):
    assert fmt in imagefile.SUPPORTED_FORMATS and suffix in imagefile.IMAGE_SUFFIXES
    path = tmp_path / f"seven{suffix}"
    seven().save(path, fmt)
    assert correlation(preprocess.load(path), prepare(seven())) > 0.95


def test_plain_resize_is_the_naive_baseline():
    x = check_mnist_like(preprocess.plain_resize(seven()))
    assert x[0, 0] == 1.0  # not inverted: white paper stays white


# --- what is refused -------------------------------------------------------------------


def png_with_size(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height; Pillow checks the size before decoding."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("size", [(10_000, 10_000), (30_000, 30_000)])  # Pillow warns, then errors
def test_decompression_bomb_is_refused(tmp_path, size):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_with_size(*size))
    with pytest.raises(ImageError, match=r"^image has [\d,]+ pixels, above the 89,478,485-pixel limit$"):
        preprocess.open_image(path)
    assert Image.MAX_IMAGE_PIXELS == 89_478_485  # Pillow's global is left alone


@pytest.mark.parametrize(
    "content,message",
    [
        (b"", "file is empty"),
        (b"hello, this is text\n", "not an image file"),
        (encode(seven(), "PNG")[:400], "truncated image data"),
        (encode(seven(), "PPM"), "unsupported image format PPM (supported: PNG, JPEG, BMP, GIF, TIFF, WEBP)"),
    ],
    ids=["empty", "text", "truncated", "ppm"],
)
def test_unreadable_files_raise_image_error_with_a_short_reason(tmp_path, content, message):
    path = tmp_path / "digit.png"
    path.write_bytes(content)
    with pytest.raises(ImageError) as raised:
        preprocess.load(path)
    assert str(raised.value) == message
    assert "digit.png" not in str(raised.value)  # the caller names the file


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ImageError, match="^file does not exist$"):
        preprocess.open_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="^is a directory, not an image file$"):
        preprocess.open_image(tmp_path)


@pytest.mark.parametrize(
    "image",
    [
        Image.new("L", (300, 300), 255),
        Image.new("RGB", (300, 300), (90, 120, 200)),
        Image.new("RGBA", (300, 300), (0, 0, 0, 0)),
        Image.fromarray((np.random.default_rng(1).normal(200, 8, (400, 400))).clip(0, 255).astype(np.uint8)),
    ],
    ids=["white", "uniform colour", "fully transparent", "paper noise"],
)
def test_image_without_ink_raises_no_digit_found(image):
    with pytest.raises(ImageError, match="^no digit found"):
        preprocess.to_mnist(image)


# --- any input: an array or an ImageError, nothing else --------------------------------

MODES = ["1", "L", "P", "RGB", "RGBA", "LA", "CMYK", "I;16", "I", "F"]


def test_any_small_image_gives_an_array_or_image_error():
    outcomes = []

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(
        mode=st.sampled_from(MODES),
        width=st.integers(1, 64),
        height=st.integers(1, 64),
        seed=st.integers(0, 2**32 - 1),
        kind=st.sampled_from(["noise", "blocks", "constant"]),
    )
    def check(mode, width, height, seed, kind):
        rng = np.random.default_rng(seed)
        if kind == "noise":
            values = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
        elif kind == "blocks":
            values = np.zeros((height, width, 4), dtype=np.uint8)
            values[rng.integers(0, height) :, rng.integers(0, width) :] = rng.integers(0, 256, 4)
        else:
            values = np.full((height, width, 4), rng.integers(0, 256), dtype=np.uint8)
        image = Image.fromarray(values, "RGBA").convert(mode) if mode not in ("I;16", "I", "F") else Image.fromarray(
            values[..., 0].astype({"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode]) * 200
        )
        try:
            x = preprocess.to_mnist(image)
        except ImageError as exc:
            assert str(exc) and "\n" not in str(exc)
            outcomes.append("error")
            return
        check_mnist_like(x)
        outcomes.append("array")

    check()
    # Both outcomes must occur: a preprocess that refused every image would pass the property alone.
    assert outcomes.count("array") >= 5 and outcomes.count("error") >= 1, outcomes


# --- the realistic benchmark's images, a few ---------------------------------------------


def test_realistic_images_come_out_close_to_their_mnist_source(realistic, tmp_path):
    from digitcli import data

    mnist = data.load("bundled")
    rng = np.random.default_rng(7)
    scores, offsets = [], []
    for i, index in enumerate(rng.choice(len(mnist.x_test), 50, replace=False)):
        style = realistic.MNIST_STYLES[i % len(realistic.MNIST_STYLES)]
        image, fmt = realistic.mnist_style(style, mnist.x_test[index], rng)
        path = tmp_path / f"{i}.{fmt}"
        image.convert("RGBA" if image.mode == "RGBA" else "L").save(path, realistic.FORMATS[fmt])
        x = check_mnist_like(preprocess.load(path))
        scores.append(correlation(x, mnist.x_test[index].astype(np.float32)))
        offsets.append(np.hypot(*(np.array(centre_of_mass(x)) - 14)))
    assert max(offsets) <= 1.0
    assert np.median(scores) > 0.7
    assert np.mean(np.array(scores) > 0.5) >= 0.9
