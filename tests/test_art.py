"""Digits drawn as text."""

import numpy as np

from digitcli import art


def bar(top: int, bottom: int) -> np.ndarray:
    image = np.zeros((28, 28), np.uint8)
    image[top : bottom + 1, 12:16] = 255
    return image


def test_a_bar_is_drawn_with_half_blocks():
    lines = art.draw(bar(5, 22))
    blank, inside = " " * 28, " " * 12 + "████" + " " * 12
    assert lines == [blank, blank, " " * 12 + "▄▄▄▄" + " " * 12] + [inside] * 8 + [" " * 12 + "▀▀▀▀" + " " * 12, blank, blank]


def test_a_bar_is_drawn_with_an_ascii_ramp():
    lines = art.draw(bar(5, 22), unicode=False)
    blank = " " * 28
    assert lines[2] == " " * 12 + "++++" + " " * 12  # half the pair lit: the middle of the ramp
    assert lines[3] == " " * 12 + "@@@@" + " " * 12
    assert lines[0] == blank and lines[13] == blank
    assert all(len(line) == 28 for line in lines) and len(lines) == 14
    assert all(ord(c) < 128 for line in lines for c in line)


def test_floats_and_bytes_draw_the_same():
    image = bar(4, 23)
    assert art.draw(image) == art.draw(image.astype(np.float32) / 255)
