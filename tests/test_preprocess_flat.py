"""preprocess: clean drawings (a drawing pad's canvas) skip the background fit, with the same 28x28 result.

The route is chosen by the image's content (`_flat_paper`), for the page and for
files given to `digits predict` alike; photos keep the full route.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from digitcli import data, paper, preprocess
from digitcli.errors import ImageError

from conftest import invoke



@pytest.fixture(scope="module")
def mnist():
    return data.load("bundled").x_test


def pad(digit: np.ndarray) -> Image.Image:
    """A digit as the page's pad sends it: dark ink on an opaque white 280x280 RGBA canvas."""
    return Image.fromarray(255 - digit).resize((280, 280), Image.Resampling.BILINEAR).convert("RGBA")


def saved(image: Image.Image, fmt: str = "PNG", **options) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return preprocess.open_image(buffer.getvalue())


def full_route(image: Image.Image, monkeypatch) -> np.ndarray:
    with monkeypatch.context() as patch:
        patch.setattr(preprocess, "_flat_paper", lambda image: None)
        return preprocess.to_mnist(image)


def fits(image: Image.Image, monkeypatch) -> int:
    """How many background fits preparing `image` made."""
    calls = []
    fit = paper.fit
    with monkeypatch.context() as patch:
        patch.setattr(paper, "fit", lambda gray: calls.append(gray.shape) or fit(gray))
        preprocess.to_mnist(image)
    return len(calls)


def offset_difference(a: np.ndarray, b: np.ndarray) -> tuple[int, float]:
    """(pixels of shift, largest difference) of the best match over shifts of up to 1 px.

    Centring rounds the centre of mass to a whole pixel, so a last-digit change
    in the ink may move the whole digit by one pixel in either route.
    """
    best = min(
        (float(np.abs(np.roll(a, (dy, dx), axis=(0, 1)) - b).max()), abs(dy) + abs(dx))
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
    )
    return best[1], best[0]


def test_clean_drawings_skip_the_background_fit(mnist, monkeypatch):
    digit = mnist[0]
    coloured = Image.fromarray(np.where(np.asarray(pad(digit).convert("L")) < 128, 1, 0).astype(np.uint8), "P")
    coloured.putpalette([250, 240, 200, 30, 60, 160])  # blue ink on cream paper, as a palette image
    clean = {
        "pad canvas PNG": saved(pad(digit)),
        "MNIST's own 28x28, light on black": saved(Image.fromarray(digit)),
        "blue ink on cream GIF": saved(coloured, "GIF"),
        "small RGB icon": saved(Image.fromarray(255 - digit).resize((40, 40)).convert("RGB"), "BMP"),
    }
    for name, image in clean.items():
        assert preprocess._flat_paper(image) is not None, name
        assert fits(image, monkeypatch) == 0, name


def test_photos_and_uneven_images_take_the_full_route(mnist, realistic, monkeypatch):
    rng = np.random.default_rng(3)
    photo, _ = realistic.mnist_style("photo", mnist[1], rng)
    two_tone = np.asarray(pad(mnist[2]).convert("L")).copy()
    two_tone[:, 140:] = np.minimum(two_tone[:, 140:], 200)  # half the sheet in shadow
    faint = np.asarray(pad(mnist[3]).convert("L")).astype(np.float32)
    noisy = np.clip(faint + rng.normal(0, 2, faint.shape), 0, 255).astype(np.uint8)  # a scan's sensor noise
    strokes = np.zeros((280, 280, 4), np.uint8)
    strokes[..., 3] = 255 - np.asarray(pad(mnist[4]).convert("L"))
    full = {
        "phone photo JPEG": saved(photo, "JPEG", quality=90),
        "paper in two tones": Image.fromarray(two_tone),
        "noisy scan": Image.fromarray(noisy),
        "strokes on a transparent background": Image.fromarray(strokes, "RGBA"),
        "a canvas larger than FLAT_LIMIT": pad(mnist[6]).resize((preprocess.FLAT_LIMIT + 1,) * 2),
        "16-bit": Image.fromarray(np.asarray(pad(mnist[7]).convert("L")).astype(np.uint16) * 257),
    }
    for name, image in full.items():
        assert preprocess._flat_paper(image) is None, name
        assert fits(image, monkeypatch) == 1, name


def test_the_flat_route_gives_the_full_routes_28x28(mnist, realistic, monkeypatch):
    rng = np.random.default_rng(5)
    images = [saved(pad(d)) for d in mnist[:30]] + [saved(Image.fromarray(d)) for d in mnist[30:45]]
    images += [saved(Image.fromarray(d).resize((280, 280), Image.Resampling.BILINEAR)) for d in mnist[45:60]]  # light on black
    images += [saved(pad(d).convert("RGB"), "JPEG", quality=85) for d in mnist[90:100]]  # white stays exactly white
    for i, digit in enumerate(mnist[60:90]):
        image, _ = realistic.mnist_style(("ink on paper", "thin pen", "icon")[i % 3], digit, rng)
        images.append(saved(image))
    shifted = 0
    for image in images:
        assert preprocess._flat_paper(image) is not None
        shift, difference = offset_difference(preprocess.to_mnist(image), full_route(image, monkeypatch))
        assert difference < 1e-3
        shifted += shift > 0
    assert shifted <= len(images) // 20


def test_files_given_to_digits_predict_take_the_flat_route(mnist, tiny_model, tmp_path, monkeypatch):
    path = tmp_path / "pad.png"
    pad(mnist[0]).save(path)

    def no_fit(gray):
        raise AssertionError("the background was fitted")

    monkeypatch.setattr(paper, "fit", no_fit)
    result = invoke("predict", str(path), "--model", str(tiny_model), "--format", "jsonl")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["path"] == str(path) and 0 <= record["prediction"] <= 9


def test_a_blank_canvas_is_still_no_digit():
    blank = Image.new("RGBA", (280, 280), (255, 255, 255, 255))
    assert preprocess._flat_paper(blank) is not None
    with pytest.raises(ImageError, match=r"^no digit found: the image is blank$"):
        preprocess.to_mnist(blank)


@pytest.mark.parametrize("factor", [2, 3, 5])
def test_pooling_by_slices_equals_numpys_block_reduction(factor):
    rng = np.random.default_rng(factor)
    array = rng.random((37, 53)).astype(np.float32) * (rng.random((37, 53)) > 0.7)
    padded = np.pad(array, ((0, -37 % factor), (0, -53 % factor)))
    blocks = padded.reshape(padded.shape[0] // factor, factor, padded.shape[1] // factor, factor)
    assert np.array_equal(preprocess._pool(array, factor, np.maximum), blocks.max(axis=(1, 3)))
    counts = (blocks > 0).sum(axis=(1, 3))
    assert np.array_equal(preprocess._pool((array > 0).astype(np.int32), factor, np.add), counts)
