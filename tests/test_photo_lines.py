"""Straight strokes in photos: a 1's stem is the digit; ruled lines and box sides around it are not.
A clean drawing (a drawing pad's canvas) skips the photo work."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitcli import photo, preprocess

SIDE = 400


def sheet(lines: list[list[tuple[float, float]]], width: int = 14, size: int = SIDE) -> Image.Image:
    """Dark pen lines on light paper, as someone would sketch them."""
    image = Image.new("L", (size, size), 245)
    draw = ImageDraw.Draw(image)
    for line in lines:
        draw.line(line, fill=20, width=width, joint="curve")
    return image


def extent(x: np.ndarray) -> tuple[int, int]:
    """(rows, columns) the prepared digit's clear ink spans."""
    rows, cols = np.nonzero(x > 0.3)
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
