"""Straight stretches of a pen that are not printed lines, and a thick pen across ruled lines."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from digitcli import lines, preprocess

from test_photo_lines import ruled
from test_photos import H, W, correlation, photo


def test_two_faint_parallel_stretches_are_not_ruled_paper_but_three_are():
    """A skipping pen's 0 or 6 shows two faint straight parallels (its sides, a stem and a loop); ruled paper shows more."""
    faint = np.ones(3, dtype=bool)
    two = np.array([[100, 50, 100, 250], [220, 60, 220, 240], [102, 60, 102, 200]], dtype=np.float64)
    printed, family = lines._printed(two, faint, 8, (640, 480))
    assert not family and not printed.any()
    three = np.array([[0, 100, 640, 100], [0, 200, 640, 200], [0, 300, 640, 300]], dtype=np.float64)
    printed, family = lines._printed(three, faint, 8, (640, 480))
    assert family and printed.all()


def test_a_thick_one_across_ruled_lines_keeps_its_stem_whole():
    """Ruled lines tie a thick felt-pen 1 to the border; its width is the pen's, not a line's left whole inside."""
    layer = Image.new("L", (W, H), 0)
    ImageDraw.Draw(layer).line([(W // 2 - 30, 90), (W // 2, 60), (W // 2, 420)], fill=255, width=34, joint="curve")
    ink = np.asarray(layer, dtype=np.float32) / 255
    lines = ruled(ink, [130, 230, 330], strength=0.4)
    lines[440:443, 100:540] = np.maximum(lines[440:443, 100:540], 0.4)  # a line's stretch left whole, clear of the border
    x = preprocess.to_mnist(photo(lines))
    reference = preprocess.to_mnist(photo(ink))
    assert correlation(x, reference) > 0.85
    stem = int(np.argmax(reference[8:20].sum(axis=0)))
    assert x[8:20, stem].min() > 0.5  # the stem is solid ink down its middle, not two outlines
