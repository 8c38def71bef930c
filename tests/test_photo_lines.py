"""Straight strokes in photos: a 1's stem is the digit; ruled lines and box sides around it are not.
A clean drawing (a drawing pad's canvas) skips the photo work."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

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
