"""Phone photos of one digit on paper, for benchmarks/realistic.py.

A digit (an MNIST test digit, or one drawn from pen strokes) is inked onto a
sheet of paper (white, beige, blue, grid or ruled; inside a drawn box or on
ruled lines; with a thick felt pen or a faint, skipping ballpoint), the sheet is
laid on a desk in perspective, lit unevenly, shadowed, blurred, scaled to a
phone's 1,500-4,000 px, noised and saved as JPEG, sometimes stored on its side
with an EXIF orientation tag, as phones do.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw

PHOTO_STYLES = ("paper edge", "shadow", "beige paper", "blue paper", "grid paper", "uneven light",
                "felt pen", "faint ballpoint", "boxed", "ruled")

PAPERS = {"white": (0.93, 0.92, 0.89), "beige": (0.93, 0.85, 0.70), "blue": (0.58, 0.72, 0.90)}
INKS = {"black": (0.08, 0.08, 0.1), "blue": (0.1, 0.15, 0.45), "felt": (0.05, 0.05, 0.08)}
DESKS = [(0.45, 0.3, 0.18), (0.25, 0.22, 0.2), (0.6, 0.6, 0.62), (0.12, 0.12, 0.14), (0.7, 0.55, 0.38)]


def _smooth_noise(shape, rng, scale: float) -> np.ndarray:
    """Low-frequency noise in about [-1, 1], varying over `scale` pixels."""
    h, w = shape
    small = rng.normal(0, 1, (max(2, int(h / scale) + 2), max(2, int(w / scale) + 2))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC) / 1.5


def stroke_ink(strokes, size: int, pen: float, rng: np.random.Generator) -> np.ndarray:
    """Pen-stroke polylines (unit box, see realistic.STROKES) drawn into a size x size ink layer."""
    layer = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(layer)
    height, width = 0.8 * size, 0.8 * size * rng.uniform(0.5, 0.75)
    slant = rng.uniform(-0.25, 0.1)
    left, top = (size - width) / 2 + 0.1 * size, 0.1 * size
    for line in strokes:
        points = np.array(line) + rng.normal(0, 0.015, (len(line), 2))
        xs = left + (points[:, 0] + slant * (points[:, 1] - 1)) * width
        ys = top + points[:, 1] * height
        draw.line(list(zip(xs, ys)), fill=255, width=max(1, int(round(pen))), joint="curve")
    return np.asarray(layer, dtype=np.float32) / 255.0


def _skips(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A ballpoint that skips: the stroke fades in places along its length."""
    fade = _smooth_noise(ink.shape, rng, max(4.0, ink.shape[0] / 12))
    return ink * np.clip(0.55 + 0.9 * fade, 0.25, 1.0)


def _homography(frame_w: int, frame_h: int, sheet_w: int, sheet_h: int, rng, edges: bool) -> np.ndarray:
    """Sheet corners -> frame, at one scale for both axes (a phone does not squash the paper), tilted in
    perspective; the sheet covers the frame, or with `edges` one or two of its edges lie inside the frame."""
    scale = max(frame_w / sheet_w, frame_h / sheet_h) * rng.uniform(1.1, 1.5)  # covers the frame
    left, top = rng.uniform(frame_w - scale * sheet_w, 0), rng.uniform(frame_h - scale * sheet_h, 0)
    if edges:
        sides = set(rng.choice(4, size=int(rng.integers(1, 3)), replace=False).tolist())  # left, top, right, bottom
        margin = {side: rng.uniform(0.04, 0.18) for side in sides}
        for near, far, frame, sheet in ((0, 2, frame_w, sheet_w), (1, 3, frame_h, sheet_h)):
            if near in sides and far in sides:  # both edges of one axis in frame: the sheet is that wide there
                scale = (1 - margin[near] - margin[far]) * frame / sheet
        # Each edge in frame at its margin; the other sides centred when the sheet no longer covers the frame.
        left = (margin[0] * frame_w if 0 in sides else frame_w - margin[2] * frame_w - scale * sheet_w if 2 in sides
                else min(max(left, frame_w - scale * sheet_w), 0) if scale * sheet_w >= frame_w else (frame_w - scale * sheet_w) / 2)
        top = (margin[1] * frame_h if 1 in sides else frame_h - margin[3] * frame_h - scale * sheet_h if 3 in sides
               else min(max(top, frame_h - scale * sheet_h), 0) if scale * sheet_h >= frame_h else (frame_h - scale * sheet_h) / 2)
    sheet = np.array([[0, 0], [sheet_w, 0], [sheet_w, sheet_h], [0, sheet_h]], dtype=np.float32)
    quad = sheet * np.float32(scale) + np.array([left, top], np.float32)
    quad += rng.normal(0, 0.03, quad.shape).astype(np.float32) * [frame_w, frame_h]  # perspective tilt
    return cv2.getPerspectiveTransform(sheet, quad)


def photo(ink: np.ndarray, style: str, rng: np.random.Generator) -> tuple[Image.Image, Image.Exif | None]:
    """One phone photo of the ink layer (values in [0, 1], a square) on paper, in `style`."""
    portrait = rng.random() < 0.5
    frame_w, frame_h = (900, 1200) if portrait else (1200, 900)
    sheet_w, sheet_h = 1000, 1300
    paper = {"beige paper": "beige", "blue paper": "blue"}.get(style, "white")
    colour = np.array(PAPERS[paper], dtype=np.float32) * rng.uniform(0.92, 1.05)
    sheet = np.ones((sheet_h, sheet_w, 3), np.float32) * colour
    sheet *= 1 + 0.015 * _smooth_noise((sheet_h, sheet_w), rng, 30)[..., None]  # paper texture

    edges = style == "paper edge" or rng.random() < 0.4
    to_frame = _homography(frame_w, frame_h, sheet_w, sheet_h, rng, edges)
    # Where the digit goes: somewhere central in the frame, mapped back onto the sheet.
    centre = np.array([[[frame_w * rng.uniform(0.35, 0.65), frame_h * rng.uniform(0.35, 0.65)]]], np.float32)
    cx, cy = cv2.perspectiveTransform(centre, np.linalg.inv(to_frame))[0, 0]
    size = int(min(frame_w, frame_h) * rng.uniform(0.2, 0.45))
    ink = cv2.resize(ink, (size, size), interpolation=cv2.INTER_LINEAR)
    if style == "faint ballpoint":
        ink = _skips(ink, rng) * rng.uniform(0.3, 0.55)
    layer = np.zeros((sheet_h, sheet_w), np.float32)
    top, left = int(cy - size / 2), int(cx - size / 2)
    top, left = int(np.clip(top, 0, sheet_h - size)), int(np.clip(left, 0, sheet_w - size))
    layer[top : top + size, left : left + size] = ink

    lines = np.zeros((sheet_h, sheet_w), np.float32)
    guide = Image.new("L", (sheet_w, sheet_h), 0)
    draw = ImageDraw.Draw(guide)
    if style == "grid paper":
        step = int(size * rng.uniform(0.18, 0.3))
        for x in range(int(rng.integers(0, step)), sheet_w, step):
            draw.line([(x, 0), (x, sheet_h)], fill=255, width=2)
        for y in range(int(rng.integers(0, step)), sheet_h, step):
            draw.line([(0, y), (sheet_w, y)], fill=255, width=2)
        lines = np.asarray(guide, np.float32) / 255 * rng.uniform(0.25, 0.45)
        line_colour = np.array([0.35, 0.55, 0.85], np.float32)
    elif style == "ruled":
        step = int(size * rng.uniform(0.45, 0.7))
        base = top + int(size * 0.85)  # the digit sits on a line; others cross it
        for y in list(range(base, sheet_h, step)) + list(range(base - step, 0, -step)):
            draw.line([(0, y), (sheet_w, y)], fill=255, width=int(rng.integers(2, 4)))
        lines = np.asarray(guide, np.float32) / 255 * rng.uniform(0.4, 0.7)
        line_colour = np.array([0.3, 0.45, 0.8], np.float32)
    elif style == "boxed":
        pad = size * rng.uniform(0.0, 0.25, 4)
        box = [left - pad[0] + 0.1 * size, top - pad[1], left + size + pad[2] - 0.1 * size, top + size + pad[3]]
        draw.rectangle(box, outline=255, width=int(rng.integers(3, 8)))
        layer = np.maximum(layer, np.asarray(guide, np.float32) / 255)
    pen = INKS["felt" if style == "felt pen" else str(rng.choice(["black", "blue"]))]
    if lines.any():
        sheet = sheet * (1 - lines[..., None]) + line_colour * colour * lines[..., None]
    sheet = sheet * (1 - layer[..., None]) + np.array(pen, np.float32) * layer[..., None]

    # The desk, and the sheet laid on it.
    desk = np.array(DESKS[rng.integers(len(DESKS))], np.float32)
    scene = np.ones((frame_h, frame_w, 3), np.float32) * desk
    scene *= 1 + 0.12 * _smooth_noise((frame_h, frame_w), rng, 8)[..., None] * np.array([1, 0.9, 0.8], np.float32)
    warped = cv2.warpPerspective(sheet, to_frame, (frame_w, frame_h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones((sheet_h, sheet_w), np.float32), to_frame, (frame_w, frame_h))[..., None]
    scene = mask * warped + (1 - mask) * scene

    # Light: a gradient and a vignette; stronger for "uneven light".
    y, x = np.mgrid[-1 : 1 : frame_h * 1j, -1 : 1 : frame_w * 1j].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * x + np.sin(angle) * y) / 2 + 0.5
    strength = rng.uniform(0.35, 0.55) if style == "uneven light" else rng.uniform(0.05, 0.2)
    light = (1 - strength * ramp) * (1 - rng.uniform(0.05, 0.25) * (x * x + y * y) / 2)
    if style == "uneven light":
        light *= 1 + 0.12 * _smooth_noise((frame_h, frame_w), rng, 250)
    if style == "shadow" or rng.random() < 0.25:
        # A cast shadow (a hand, the phone): one side of a soft edge through or near the digit.
        px, py = frame_w * rng.uniform(0.35, 0.65), frame_h * rng.uniform(0.35, 0.65)
        theta = rng.uniform(0, 2 * np.pi)
        side = (np.cos(theta) * (np.arange(frame_w)[None, :] - px) + np.sin(theta) * (np.arange(frame_h)[:, None] - py))
        softness = frame_w * rng.uniform(0.01, 0.08)
        shade = 1 / (1 + np.exp(-side / softness))
        light = light * (1 - rng.uniform(0.3, 0.5) * shade)
    scene = scene * light[..., None]

    scene = cv2.GaussianBlur(scene, (0, 0), rng.uniform(0.6, 1.8))
    scene += rng.normal(0, rng.uniform(0.008, 0.03), scene.shape).astype(np.float32)
    side = int(rng.integers(1500, 4001))
    final = (side, side * frame_h // frame_w) if not portrait else (side * frame_w // frame_h, side)
    scene = (np.clip(scene, 0, 1) * 255).astype(np.uint8)
    image = Image.fromarray(cv2.resize(scene, final, interpolation=cv2.INTER_CUBIC), "RGB")
    if rng.random() < 0.3:  # stored on its side; the viewer turns it upright from the EXIF tag
        orientation = int(rng.choice([3, 6, 8]))
        exif = Image.Exif()
        exif[0x0112] = orientation
        undo = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}
        return image.transpose(undo[orientation]), exif
    return image, None
