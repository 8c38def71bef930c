"""Straight strokes in photos: a 1's stem is the digit; ruled lines and box sides around it are not.
A clean drawing (a drawing pad's canvas) skips the photo work."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from digitcli import photo, preprocess

from test_photos import H, W, clean, correlation, draw, photo as photo_of

SIDE = 400


def sheet(lines: list[list[tuple[float, float]]], width: int = 14, size: int = SIDE) -> Image.Image:
    """Dark pen lines on light paper, as someone would sketch them."""
    image = Image.new("L", (size, size), 245)
    draw = ImageDraw.Draw(image)
    for line in lines:
        draw.line(line, fill=20, width=width, joint="curve")
    return image


def extent(x: np.ndarray, clear: float = 0.3) -> tuple[int, int]:
    """(rows, columns) the prepared digit's ink spans, counting ink stronger than `clear`."""
    rows, cols = np.nonzero(x > clear)
    return int(np.ptp(rows)) + 1, int(np.ptp(cols)) + 1


ONE = [(180, 110), (210, 80), (210, 320)]  # a stem with a small flag at the top
ONES = {
    "a stem with a small flag": [ONE],
    "a stem filling the image": [[(190, 40), (205, 15), (205, 385)]],
    "a stem with a flag and a base": [ONE, [(170, 320), (250, 320)]],
    "a slanted stem": [[(200, 110), (240, 80), (180, 320)]],
}


@pytest.mark.parametrize("kind", ONES)
def test_a_pen_drawn_one_keeps_its_stem(kind):
    x = preprocess.to_mnist(sheet(ONES[kind]))
    rows, cols = extent(x)
    assert rows >= 19  # the stem is there: the digit is as tall as MNIST's (20 px)
    assert cols <= 12  # and as narrow as a 1, not a flag or a bar scaled up to fill the box


def test_a_one_inside_a_pen_drawn_box_loses_the_box():
    x = preprocess.to_mnist(sheet([ONE, [(100, 40), (320, 40), (320, 360), (100, 360), (100, 40)]], width=8))
    assert np.abs(x - preprocess.to_mnist(sheet([ONE], width=8))).mean() < 0.05


def test_a_ruled_line_across_a_one_goes():
    x = preprocess.to_mnist(sheet([ONE, [(0, 200), (SIDE, 200)]], width=10))
    assert np.abs(x - preprocess.to_mnist(sheet([ONE], width=10))).mean() < 0.05


def test_a_box_side_beside_a_seven_goes_and_the_seven_stays():
    seven = [(150, 120), (270, 120), (190, 300)]
    x = preprocess.to_mnist(sheet([seven, [(60, 60), (340, 60)], [(60, 350), (340, 350)]], width=10))
    reference = preprocess.to_mnist(sheet([seven], width=10))
    assert np.abs(x - reference).mean() < 0.05


def test_a_clean_canvas_skips_the_photo_work(monkeypatch):
    """A drawing pad's 280x280 canvas has nothing to judge: it keeps the fast global level, ink as drawn."""
    canvas = Image.new("RGB", (280, 280), "white")
    ImageDraw.Draw(canvas).line([(90, 80), (190, 80), (120, 220)], fill="black", width=18, joint="curve")

    def judged(*args):
        raise AssertionError("a clean canvas went through the photo work")

    monkeypatch.setattr(photo, "_local_level", judged)
    x = preprocess.to_mnist(canvas)
    assert extent(x) == (20, 14)  # a 7, 20 px tall as MNIST's
    five = Image.new("RGB", (280, 280), "white")  # a 5 whose bar was drawn apart: still one digit
    ImageDraw.Draw(five).line([(110, 90), (105, 140), (160, 140), (185, 175), (160, 215), (100, 210)], fill="black", width=18)
    ImageDraw.Draw(five).line([(125, 50), (190, 50)], fill="black", width=18)
    assert extent(preprocess.to_mnist(five))[0] == 20
    with pytest.raises(AssertionError, match="photo work"):
        preprocess.to_mnist(sheet([ONE, [(0, 200), (SIDE, 200)]]))  # a ruled line to the border: judged


# --- printed lines against faint and strong pen ----------------------------------------------


def ruled(ink: np.ndarray, rows: list[int], strength: float = 0.35) -> np.ndarray:
    """Printed ruled lines, 3 px, across the whole sheet under the pen's ink (1 = ink)."""
    lines = np.zeros_like(ink)
    for y in rows:
        lines[y : y + 3] = strength
    return np.maximum(ink, lines)


def test_a_digit_sitting_on_a_ruled_line_keeps_its_stroke_along_it():
    ink = draw("0", 24)
    bottom = int(np.nonzero(ink.any(axis=1))[0][-1]) - 10  # the line runs inside the 0's bottom stroke
    x = preprocess.to_mnist(photo_of(ruled(ink, [bottom - 150, bottom - 75, bottom, bottom + 75], strength=0.45)))
    assert correlation(x, clean("0", 24)) > 0.9


def test_a_faint_pen_beside_one_long_faint_line_keeps_its_faded_stretch():
    """One long faint line (a fold, a paper's edge) is not ruled paper: the pen's faded stretch stays."""
    fade = np.where(np.arange(W)[None, :] > W // 2 + 20, 0.3, 1.0)  # the bar's right end and the stem fade
    ink = ruled(draw("7", 6) * fade * 0.6, [H - 40], strength=0.12)
    x = preprocess.to_mnist(photo_of(ink))
    assert extent(x, 0.05) == extent(clean("7", 6), 0.05)  # the whole 7, its faded bar end included


# --- polarity of a faint pen ---------------------------------------------------------------


def faint_seven_by_a_sheet_corner() -> Image.Image:
    """A faint thin 7 on a sheet whose corner lies on a textured desk, a shadow's edge along its stem."""
    rng = np.random.default_rng(1)
    ink = draw("7", 3) * 0.35
    scene = np.array((0.92, 0.91, 0.88), np.float32) * (1 - ink[..., None]) + np.array((0.1, 0.1, 0.12), np.float32) * ink[..., None]
    yy, xx = np.mgrid[0:H, 0:W]
    desk = (xx < 70) | (yy < 50 + 0.05 * xx)
    texture = np.kron(0.25 + 0.12 * rng.normal(0, 1, (H // 8 + 1, W // 8 + 1)), np.ones((8, 8)))[:H, :W]
    scene[desk] = texture[desk][:, None] * np.array((1.0, 0.85, 0.7))
    scene = scene * (1 - 0.4 / (1 + np.exp(-(xx - 0.62 * W + 0.3 * yy) / 12)))[..., None] + rng.normal(0, 0.01, scene.shape)
    return Image.fromarray((np.clip(scene, 0, 1) * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8))


def test_a_sheet_corner_on_the_desk_does_not_turn_a_faint_pen_into_paper():
    x = preprocess.to_mnist(faint_seven_by_a_sheet_corner())
    on = cv2.dilate((clean("7", 3) > 0.05).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    shifts = [np.roll(x, (dy, dx), (0, 1)) for dy in range(-2, 3) for dx in range(-2, 3)]
    assert max(s[on].sum() for s in shifts) > 0.85 * x.sum()  # the ink is the 7's strokes, not the paper around them
