"""Boxes around a digit in a photo (touching it, or with sides left over), and faint stretches of a skipping pen."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw

from digitcli import frames, lines, photo, preprocess

from test_photos import photo as photo_of

SIDE = 480
FOUR = [[(250, 140), (170, 290), (290, 290)], [(262, 140), (262, 360)]]  # a 4: slant and bar, then the stem


def ink(strokes: list[list[tuple[float, float]]], width: int = 9) -> np.ndarray:
    layer = Image.new("L", (SIDE, SIDE), 0)
    draw = ImageDraw.Draw(layer)
    for line in strokes:
        draw.line(line, fill=255, width=width, joint="curve")
    return np.asarray(layer, dtype=np.float32) / 255


def phone(layer: np.ndarray) -> Image.Image:
    """The ink as a phone photo: on paper, with a phone camera's grain (not a clean drawing's flat paper)."""
    pixels = np.asarray(photo_of(layer), np.float32)
    grain = np.random.default_rng(1).normal(0, 6, pixels.shape)
    return Image.fromarray(np.clip(pixels + grain, 0, 255).astype(np.uint8), "RGB")


def box(left: int, top: int, right: int, bottom: int) -> list[tuple[int, int]]:
    return [(left, top), (right, top), (right, bottom), (left, bottom), (left, top)]


def difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def test_a_box_the_digit_touches_goes_and_the_digit_stays():
    """The 4's stem runs into the box's bottom side: digit and box are one piece of ink."""
    alone = preprocess.to_mnist(phone(ink(FOUR)))
    boxed = preprocess.to_mnist(phone(ink(FOUR + [box(120, 90, 330, 364)])))
    assert difference(boxed, alone) < 0.06
    assert boxed[:, :3].max() < 0.3 and boxed[:3].max() < 0.3  # no side along the field's border


def test_an_upright_box_a_thick_digit_touches_goes_and_the_digit_stays():
    """An upright box (as scanned) filling its whole crop, its digit's thick strokes along its sides: over a third inked."""
    layer = Image.new("L", (200, 200), 0)
    draw = ImageDraw.Draw(layer)
    draw.rectangle([40, 40, 159, 159], outline=255, width=7)
    draw.line([(125, 47), (75, 47), (72, 95), (115, 92), (128, 120), (110, 150), (70, 150)], fill=255, width=12, joint="curve")
    mask = np.asarray(layer) > 0
    assert 0.35 < mask[40:160, 40:160].mean() < 0.4
    kept = frames.drop_boxes(mask)
    assert not kept[60:140, 40:47].any() and not kept[60:140, 153:160].any()  # the box's left and right sides go
    assert (kept[60:140, 60:140] == mask[60:140, 60:140]).all()  # the 5 inside stays whole


def test_a_square_zero_is_not_taken_for_a_box():
    zero = [box(170, 110, 310, 370)]
    mask = ink(zero) > 0.5
    assert (frames.drop_boxes(mask) == mask).all()


def test_box_sides_left_beside_the_digit_go():
    """Two sides of a box (the others lost with the paper's edge) run past the digit at both ends."""
    digit = ink(FOUR) > 0.5
    sides = ink([[(110, 80), (110, 420)], [(360, 80), (360, 420)]], width=5) > 0.5
    assert (frames.drop_sides(digit | sides) == digit).all()


def test_box_sides_the_digit_reaches_to_their_end_go_together():
    """A tall 4 whose top comes within a few pixels of where its box's two upright sides begin."""
    digit = ink(FOUR) > 0.5
    sides = ink([[(110, 132), (110, 430)], [(360, 132), (360, 430)]], width=5) > 0.5
    assert (frames.drop_sides(digit | sides) == digit).all()


def test_a_tilted_box_s_top_and_bottom_go_when_the_digit_reaches_its_side():
    """The box turned by 3 degrees, the 4's bar reaching its left side: seen along the top side,
    the digit's corner passes the side's end, yet the top and bottom are a box's, facing each other."""
    digit = ink(FOUR) > 0.5
    sides = ink([[(153, 103), (383, 91)], [(172, 403), (402, 391)]], width=5) > 0.5
    assert (frames.drop_sides(digit | sides) == digit).all()


def arc(first: int, last: int, centre=(240, 180), radius=50) -> list[tuple[float, float]]:
    return [(centre[0] + radius * np.cos(np.deg2rad(a)), centre[1] + radius * np.sin(np.deg2rad(a))) for a in range(first, last + 1, 5)]


def test_a_thin_nine_holding_a_broken_off_piece_of_its_loop_is_not_a_frame():
    """A faint pen skipped: the bottom of the 9's loop is a piece apart, inside the box of the rest of the 9."""
    nine = ink([arc(145, 375), [(290, 180), (287, 300)]], width=3) > 0.5
    piece = ink([arc(30, 130)], width=3) > 0.5
    mask = nine | piece
    assert (frames.drop_frames(mask, mask.astype(np.float32)) == mask).all()


def test_a_thin_frame_around_a_digit_goes():
    digit = ink(FOUR, width=3) > 0.5
    frame = ink([box(120, 90, 330, 380)], width=3) > 0.5
    assert (frames.drop_frames(digit | frame, (digit | frame).astype(np.float32)) == digit).all()


def test_a_frame_whose_bottom_was_lost_at_the_paper_s_edge_goes():
    digit = ink(FOUR, width=3) > 0.5
    frame = ink([[(120, 420), (120, 90), (330, 90), (330, 420)]], width=3) > 0.5
    assert (frames.drop_frames(digit | frame, (digit | frame).astype(np.float32)) == digit).all()


def test_a_detached_bar_of_the_digit_stays():
    """A 5's bar drawn apart ends where the rest of the 5 does: it is the digit's."""
    five = ink([[(200, 180), (195, 250), (260, 245), (280, 300), (250, 350), (190, 345)]]) > 0.5
    bar = ink([[(205, 150), (285, 150)]]) > 0.5
    assert (frames.drop_sides(five | bar) == (five | bar)).all()


def test_a_slightly_tilted_line_found_in_pieces_is_one_line():
    inked = (ink([[(20, 200), (460, 212)]], width=5) > 0).view(np.uint8)
    pieces = np.array([[20, 200, 200, 205], [180, 204, 340, 209], [320, 208, 460, 212]], np.float64)
    merged = lines._merge(pieces, inked, 3.0)
    assert merged.shape == (1, 4)
    assert abs(merged[0, 0] - 20) < 1 and abs(merged[0, 2] - 460) < 1


def test_faint_stretches_of_a_stroke_come_out_as_strong_as_pressed_ones():
    stroke = cv2.GaussianBlur(ink([[(100, 240), (380, 240)]], width=7), (0, 0), 1.5)
    pressed = np.where(np.arange(SIDE)[None, :] < 240, 1.0, 0.3).astype(np.float32)
    even = photo._even(stroke * pressed)
    assert even[240, 300] > 0.95 and even[240, 150] > 0.95  # both cores full
    assert 0.05 < even[244, 300] < 0.95  # a soft edge stays soft
