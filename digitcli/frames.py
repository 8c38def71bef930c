"""Boxes drawn around the digit in a photo: whole frames, and the sides left of them.

A form's box is drawn with a pen, often as dark as the digit's. When it lies
apart from the digit it is a hollow component holding the digit's ink; when
the digit touches it, the two are one component whose outline is the box's
four straight sides; when some of its sides went with the lines or the paper's
edge, the sides left are straight bars beside the digit, longer than it. Each
of these goes; the digit's own strokes stay, with the ink where they touch
the box.
"""

from __future__ import annotations

import cv2
import numpy as np

HOLLOW = 0.4  # a frame covers less than this share of its box (a digit's blob covers more)
BAR = 4.0  # a straight bar is at least this many times as long as it is wide


def drop_frames(mask: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """Drop frames drawn around the digit (a form's box, a circle) lying apart from it."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
    if count <= 2:
        return mask
    mass = np.bincount(labels.ravel(), weights=strength.ravel(), minlength=count)
    boxes, area = stats[:, :4].astype(np.int64), stats[:, 4].astype(np.int64)
    # A separate frame: a hollow component whose box holds a good share of ink.
    order = np.argsort(-mass[1:]) + 1
    for i in order[:4]:
        l, t, wd, ht = boxes[i]
        others = np.arange(1, count) != i
        l2, t2, w2, h2 = boxes[1:].T
        held = others & (l2 > l) & (t2 > t) & (l2 + w2 < l + wd) & (t2 + h2 < t + ht)
        if area[i] < HOLLOW * wd * ht and mass[1:][held].sum() >= 0.15 * mass[i]:
            if _surrounds(labels == i, np.isin(labels, np.flatnonzero(held) + 1)):
                mask = mask & (labels != i)
    return mask


def _surrounds(frame: np.ndarray, inside: np.ndarray) -> bool:
    """Whether the frame's ink lies on three or four sides (left, right, above, below) of the ink inside.

    A frame goes round what it holds (one side may be lost at the paper's edge); a thin digit's
    stroke (a 9's open loop and stem) whose box holds a broken-off piece of the same digit does not.
    """
    ys, xs = np.nonzero(inside)
    y, x = int(round(ys.mean())), int(round(xs.mean()))
    row, column = frame[max(y - 1, 0) : y + 2].any(axis=0), frame[:, max(x - 1, 0) : x + 2].any(axis=1)
    return sum(bool(part.any()) for part in (row[:x], row[x + 1 :], column[:y], column[y + 1 :])) >= 3


def drop_boxes(mask: np.ndarray) -> np.ndarray:
    """Drop a box's four sides where the digit inside touches them (they are one component then).

    Such a component's outline is a quadrilateral, and it is hollow. The box's sides are the ink
    within a side's width inside that outline (the width is where the ink along the outline
    stops); the digit is what is left inside, when something is.
    """
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
    for i in range(1, count):
        left, top, width, height, area = stats[i]
        if min(width, height) < 16 or area >= HOLLOW * width * height or area < 0.1 * np.count_nonzero(mask):
            continue
        piece = (labels[top : top + height, left : left + width] == i).view(np.uint8)
        contours, _ = cv2.findContours(piece, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        outline = max(contours, key=cv2.contourArea)
        quad = cv2.approxPolyDP(outline, 0.02 * cv2.arcLength(outline, True), True)
        if len(quad) != 4 or not cv2.isContourConvex(quad) or cv2.contourArea(quad) < 0.8 * width * height:
            continue
        filled = np.zeros_like(piece)
        cv2.fillPoly(filled, [quad], 1)
        # Depth inside the outline (a frame of zeros around it: an upright box fills its whole crop).
        depth = cv2.distanceTransform(np.pad(filled, 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
        # The share of each one-pixel ring inside the outline that is ink: the box's sides fill the outer rings.
        rings = np.minimum(depth, 64).astype(np.int32)
        share = np.bincount(rings[piece > 0], minlength=65)[1:] / np.maximum(np.bincount(rings.ravel(), minlength=65)[1:], 1)
        thin = np.flatnonzero(share < 0.5)
        if not len(thin):
            continue
        sides = (piece > 0) & (depth < thin[0] + 2)
        inner = (piece > 0) & ~sides
        if np.count_nonzero(inner) < 0.1 * area:
            continue  # nothing inside: the outline is the digit (a square 0)
        mask = mask.copy()
        mask[top : top + height, left : left + width] &= ~sides
    return mask


def drop_sides(mask: np.ndarray) -> np.ndarray:
    """Drop straight bars beside the digit that run past it at both ends: a box's sides left over.

    A bar goes when all the other ink lies on one side of it and it passes that ink by a twentieth of
    the ink's extent at each end; a digit's own detached stroke (a 5's or a 7's bar) ends about
    where the rest of the digit does.
    """
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
    if count <= 2:
        return mask
    drop = np.zeros(count, dtype=bool)
    points = np.column_stack(np.nonzero(mask)[::-1]).astype(np.float32)  # x, y
    owner = labels[mask]
    bars = [None] + [_bar(points[owner == i]) for i in range(1, count)]
    for i in range(1, count):
        if bars[i] is None:
            continue
        centre, direction, length, width = bars[i]
        # The other ink, without the bars parallel to this one (the box's opposite side).
        parallel = np.array([j == i or (b is not None and abs(float(b[1] @ direction)) > 0.98) for j, b in enumerate(bars)])
        rest = points[~parallel[owner] & ~drop[owner]]
        if len(rest) < 0.2 * stats[i, 4]:
            continue
        normal = np.array([-direction[1], direction[0]], np.float32)
        across = (rest - centre) @ normal
        if not ((across > width).all() or (across < -width).all()):
            continue  # ink on both sides: a stroke of the digit, or a line the lines step left
        along = (rest - centre) @ direction
        margin = 0.05 * float(max(np.ptp(rest[:, 0]), np.ptp(rest[:, 1])))
        if along.min() > -length / 2 + margin and along.max() < length / 2 - margin:
            drop[i] = True
        elif along.min() > -length / 2 - width and along.max() < length / 2 + width:
            partner = _opposite(bars, i, float(across.max() if across[0] > 0 else across.min()), parallel)
            if partner:
                drop[[i, partner]] = True
    return mask & ~drop[labels] if drop.any() else mask


def _opposite(bars: list, i: int, far: float, parallel: np.ndarray) -> int:
    """The bar facing bar i beyond the other ink (the box's opposite side), or 0.

    far is where the other ink ends across bar i (signed, in the bar's normal direction);
    `parallel` marks the bars parallel to it (and bar i itself).
    The two are about as long as each other and end at about the same places, as a box's
    sides do; the digit between them may reach as far as their ends (a tall 3 in its box).
    """
    centre, direction, length, width = bars[i]
    normal = np.array([-direction[1], direction[0]], np.float32)
    for j in np.flatnonzero(parallel):
        if j == i or abs(bars[j][2] - length) > 0.15 * length:
            continue
        offset = bars[j][0] - centre
        if float(offset @ normal) * np.sign(far) > abs(far) and abs(float(offset @ direction)) < 0.1 * length:
            return int(j)
    return 0


def _bar(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float] | None:
    """(centre, unit direction, length, width) of a piece of ink that is a straight bar, else None."""
    if len(points) < 8:
        return None
    (cx, cy), (a, b), angle = cv2.minAreaRect(points)
    length, width = max(a, b), max(min(a, b), 1.0)
    if length < BAR * width or len(points) < 0.5 * length * width:
        return None
    theta = np.deg2rad(angle if a >= b else angle + 90.0)
    return np.array([cx, cy], np.float32), np.array([np.cos(theta), np.sin(theta)], np.float32), float(length), float(width)
