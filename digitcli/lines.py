"""Straight lines among a photo's ink (ruled and grid lines, a box's sides), and mask helpers.

Lines are found with OpenCV's probabilistic Hough transform at about 400 px,
at least 0.3 times as long as the ink away from the image border, and the
collinear pieces of one line are joined. A line goes when it runs past the
digit at both ends (a digit's own straight strokes end where the digit does),
or when it is a printed line much fainter than the pen; where the pen crossed
a line, the pen's ink stays.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def drop_lines(mask: np.ndarray, level: np.ndarray) -> tuple[np.ndarray, bool]:
    """Remove straight lines running past the digit at both ends: ruled and grid lines, a box's sides.

    Lines are found among the ink (a probabilistic Hough transform at about
    400 px); the digit is what is left without them. A digit's own straight
    strokes (a 1, a 7's bar, a 4) end where the rest of the digit ends, so
    they stay; a line that passes the digit by a tenth of its size at both
    ends goes when it is clearly not the digit (`_not_the_digit`). Returns
    the mask and whether ruled or grid paper (several faint parallel lines)
    was seen.
    """
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return mask, False
    h, w = mask.shape
    within = np.nonzero(inside(mask))  # the ink's size, without the desk or a paper edge at the border
    if within[0].size:
        ys, xs = within
    scale = max(1.0, max(h, w) / 400)
    small = mask.view(np.uint8)
    if scale > 1:  # any ink in a pixel's area keeps it: thin lines stay whole
        small = cv2.resize(small * np.uint8(255), (max(1, round(w / scale)), max(1, round(h / scale))), interpolation=cv2.INTER_AREA)
        small = (small > 0).view(np.uint8)
    extent = max(ys.max() - ys.min(), xs.max() - xs.min()) / scale
    shortest = max(12, int(0.3 * extent))
    segments = cv2.HoughLinesP(small, 0.5, np.pi / 720, threshold=int(0.6 * shortest), minLineLength=shortest, maxLineGap=6)
    if segments is None:
        return mask, False
    segments = segments.reshape(-1, 4).astype(np.float64) * scale
    # A line is ink all along (a chord across a curved stroke, which Hough also finds, is not).
    inked = cv2.dilate(mask.view(np.uint8), np.ones((5, 5), np.uint8))
    t = np.linspace(0, 1, 64)
    x1, y1, x2, y2 = (segments[:, i : i + 1] for i in range(4))
    cover = inked[np.clip((y1 + t * (y2 - y1)).astype(int), 0, h - 1), np.clip((x1 + t * (x2 - x1)).astype(int), 0, w - 1)]
    segments = segments[cover.mean(axis=1) >= 0.75]
    if not len(segments):
        return mask, False
    thickness = max(3, int(round(1.6 * stroke_width(mask) + 2 + scale)))
    segments = _merge(segments, inked, 2.0 * scale + 1.0)
    lines = np.zeros_like(mask, dtype=np.uint8)
    for x1, y1, x2, y2 in segments:
        cv2.line(lines, (int(x1), int(y1)), (int(x2), int(y2)), 1, thickness)
    rest = mask & (lines == 0)
    drop = np.zeros_like(mask, dtype=np.uint8)
    # Printed ruled and grid lines are much fainter than the pen: such a line goes whatever its length.
    peak = float(np.percentile(level[mask], 99))
    nearby = cv2.dilate(level, np.ones((5, 5), np.uint8))
    faint = np.zeros(len(segments), dtype=bool)
    sy, sx = np.nonzero(largest_near(mask & (level >= 0.55 * peak)))
    reach = 0.25 * max(np.ptp(sy), np.ptp(sx)) if sy.size else 0.0
    for i, (x1, y1, x2, y2) in enumerate(segments):
        along = nearby[np.clip((y1 + t * (y2 - y1)).astype(int), 0, h - 1), np.clip((x1 + t * (x2 - x1)).astype(int), 0, w - 1)]
        # Faint, and running well past the strong ink (a skipping pen's faded stretch does not).
        past = sy.size and (min(x1, x2) < sx.min() - reach or max(x1, x2) > sx.max() + reach
                            or min(y1, y2) < sy.min() - reach or max(y1, y2) > sy.max() + reach)
        faint[i] = bool(past) and np.median(along) < 0.4 * peak
    faint, family = _printed(segments, faint, thickness, (w, h))
    for x1, y1, x2, y2 in segments[faint]:
        cv2.line(drop, (int(x1), int(y1)), (int(x2), int(y2)), 1, thickness)
    drop &= (level < 0.4 * peak).view(np.uint8)  # where the pen crossed them, its ink stays
    # Without the lines, the digit must still be there: not just the joints of a 1, a 4 or a 7.
    longest = drop.copy()
    for (x1, y1, x2, y2), weak in zip(segments, faint):
        if not weak and np.hypot(x2 - x1, y2 - y1) >= 0.5 * max(h, w):
            cv2.line(longest, (int(x1), int(y1)), (int(x2), int(y2)), 1, thickness)
    if rest.sum() < 0.25 * (mask & (longest == 0)).sum():
        if not (longest > drop).any() or not (mask & (longest == 0)).any():
            return _without(mask, drop, thickness), family
        rest = mask & (longest == 0)  # a digit of straight strokes: it is what the longest lines leave
    # The digit is where the strongest ink is.
    rest = inside(rest)
    # The pieces holding strong ink, with their fainter stretches (a skipping pen's).
    count, labels = cv2.connectedComponents(rest.view(np.uint8), connectivity=8)
    held = np.bincount(labels[rest & (level >= 0.55 * peak)].ravel(), minlength=count) > 0
    held[0] = False
    digit = largest_near(held[labels] if held.any() else rest)
    ys, xs = np.nonzero(digit)
    if ys.size < 4:
        return _without(mask, drop, thickness), family
    size = max(ys.max() - ys.min(), xs.max() - xs.min(), 1)
    corners = np.array([[xs.min(), ys.min()], [xs.max(), ys.min()], [xs.min(), ys.max()], [xs.max(), ys.max()]], float)
    top, bottom, left, right = ys.min(), ys.max(), xs.min(), xs.max()
    # Taking the lines out shrank the digit by half a line's width where they touched it.
    margin = 0.1 * size + thickness / 2
    past = []
    for x1, y1, x2, y2 in segments:
        direction = np.array([x2 - x1, y2 - y1]) / max(np.hypot(x2 - x1, y2 - y1), 1e-9)
        ends = sorted((x1 * direction[0] + y1 * direction[1], x2 * direction[0] + y2 * direction[1]))
        span = corners @ direction
        if ends[0] < span.min() - margin and ends[1] > span.max() + margin:
            past.append((x1, y1, x2, y2, direction))
    points = np.stack([xs, ys], axis=1).astype(np.float64)
    image_corners = np.array([[0, 0], [w, 0], [0, h], [w, h]], float)
    sides = [np.median(points @ (-d[1], d[0])) - (-d[1] * x1 + d[0] * y1) for x1, y1, _, _, d in past]
    for i, (x1, y1, x2, y2, direction) in enumerate(past):
        line = np.zeros_like(drop)
        cv2.line(line, (int(x1), int(y1)), (int(x2), int(y2)), 1, thickness)
        if not _not_the_digit(i, past, sides, points, line, image_corners, thickness):
            continue
        # Of a line fainter than the pen, only ink no stronger than the line itself (outside the
        # digit) goes: a stroke of the digit written over it or along it stays.
        px, py = x1 + t * (x2 - x1), y1 + t * (y2 - y1)
        outside = (px < left) | (px > right) | (py < top) | (py > bottom)
        along = nearby[np.clip(py.astype(int), 0, h - 1), np.clip(px.astype(int), 0, w - 1)][outside]
        if along.size and np.median(along) < 0.75 * peak:
            line &= (level < 1.25 * np.median(along)).view(np.uint8)
        drop |= line
    return _without(mask, drop, thickness), family


def _merge(segments: np.ndarray, inked: np.ndarray, tolerance: float) -> np.ndarray:
    """Collinear segments of one line, found in pieces, joined into one where ink runs all along it.

    A box's side found as two overlapping pieces, neither of which runs past the digit at both
    ends, is one side that does. A slightly tilted line comes in pieces each a pixel or two off
    the next: the line through the outermost ends found so far takes in the next pieces.
    """
    x1, y1, x2, y2 = segments.T
    length = np.maximum(np.hypot(x2 - x1, y2 - y1), 1e-9)
    direction = np.stack([x2 - x1, y2 - y1], axis=1) / length[:, None]
    ends = np.stack([segments[:, :2], segments[:, 2:]], axis=1)  # (n, 2 ends, x y)
    merged, used = [], np.zeros(len(segments), dtype=bool)
    h, w = inked.shape
    t = np.linspace(0, 1, 64)
    for i in np.argsort(-length):
        if used[i]:
            continue
        a, b, group = ends[i, 0], ends[i, 1], np.eye(len(segments), dtype=bool)[i]
        for _ in range(3):
            d = (b - a) / max(float(np.hypot(*(b - a))), 1e-9)
            apart = np.abs((ends - a) @ (-d[1], d[0])).max(axis=1)
            grown = ~used & (np.abs(direction @ d) > 0.998) & (apart <= tolerance)
            if (grown == group).all():
                break
            group = grown | group
            points = ends[group].reshape(-1, 2)
            along = (points - a) @ d
            a, b = points[np.argmin(along)], points[np.argmax(along)]
        px, py = a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])
        if group.sum() > 1 and inked[np.clip(py.astype(int), 0, h - 1), np.clip(px.astype(int), 0, w - 1)].mean() >= 0.75:
            merged.append([*a, *b])
            used |= group
        else:
            merged.append(segments[i])
            used[i] = True
    return np.array(merged, dtype=np.float64)


def _printed(segments: np.ndarray, faint: np.ndarray, thickness: int, size: tuple[int, int]) -> tuple[np.ndarray, bool]:
    """Which faint segments are printed lines (long across the image, or one of a family of
    parallels), and whether there is such a family (ruled or grid paper).

    Ruled and grid paper print many lines, each across the sheet: a family is three or more
    parallel lines apart from each other. A skipping pen's faded stroke is one short straight
    stretch, which must stay, even beside another (the two sides of a 0, a 6's stem and loop);
    a paper's edge is one long line.
    """
    x1, y1, x2, y2 = segments.T
    length = np.hypot(x2 - x1, y2 - y1)
    direction = np.stack([x2 - x1, y2 - y1], axis=1) / np.maximum(length, 1e-9)[:, None]
    offset = direction[:, 0] * y1 - direction[:, 1] * x1  # signed distance of the line from the origin
    long = length >= 0.5 * max(size)
    parallel = np.abs(direction @ direction.T) > 0.995
    # Offsets of the faint parallels of each segment, seen in its direction (a segment found the other way round is mirrored).
    offsets = np.where(direction @ direction.T < 0, -1, 1) * offset[None, :]
    companion = np.zeros(len(segments), dtype=bool)
    for i in np.flatnonzero(faint):
        seen = np.sort(offsets[i, parallel[i] & faint])
        companion[i] = 1 + np.count_nonzero(np.diff(seen) > 3 * thickness) >= 3  # three lines or more, apart
    return faint & (long | companion), bool((faint & companion).any())


def _not_the_digit(i, past, sides, points, line, image_corners, thickness) -> bool:
    """Whether the straight line `past[i]`, running past the digit at both ends, is clearly not part of it.

    It is a ruled line or a box's side when it crosses the digit (ink on both sides of it), when a
    parallel line lies on the digit's other side (a box, a form's row), or when it spans most of the
    image; but not when the rest of the digit hangs from one of its ends: a 1's stem under its flag
    (or over its base) is the digit, however long, even when it is most of the ink.
    """
    x1, y1, x2, y2, direction = past[i]
    normal = np.array([-direction[1], direction[0]])
    offsets = points @ normal - (normal[0] * x1 + normal[1] * y1)
    clear = thickness / 2 + 1
    crosses = min((offsets > clear).mean(), (offsets < -clear).mean()) >= 0.1
    if crosses:
        return True
    # A parallel line with the digit on its other side (segments found in opposite directions see sides mirrored).
    encloses = any(abs(float(direction @ other[4])) > 0.98 and np.sign(direction @ other[4]) * sides[j] * sides[i] < 0
                   for j, other in enumerate(past) if j != i)
    length = np.hypot(x2 - x1, y2 - y1)
    spans = length >= 0.8 * np.ptp(image_corners @ direction)
    if not (encloses or spans):
        return False
    # Where the digit touches the line (within a line's width: taking the lines out left a gap about that wide).
    near = cv2.dilate(line, np.ones((thickness, thickness), np.uint8)) > 0
    touching = points[near[points[:, 1].astype(int), points[:, 0].astype(int)]]
    if not len(touching):
        return True
    along = ((touching - (x1, y1)) @ direction) / max(length, 1.0)
    return not bool(((along < 0.2) | (along > 0.8)).all())


def _without(mask: np.ndarray, drop: np.ndarray, thickness: int) -> np.ndarray:
    """The mask without the lines drawn in `drop`, their crumbs, and with strokes that crossed them joined."""
    if not drop.any():
        return mask
    kept = mask & (drop == 0)
    # Crumbs of the lines that their drawn segments missed lie along them: they go too.
    band = cv2.dilate(drop, np.ones((thickness, thickness), np.uint8)) > 0
    count, labels, stats, _ = cv2.connectedComponentsWithStats(kept.view(np.uint8), connectivity=8)
    along = np.bincount(labels[band].ravel(), minlength=count)
    long_side, short_side = stats[:, 2:4].max(axis=1), stats[:, 2:4].min(axis=1)
    crumbs = (along >= 0.9 * stats[:, 4]) & (long_side >= 4 * short_side)
    crumbs[0] = False
    kept &= ~crumbs[labels]
    # Where a stroke crossed a line, join its two ends again.
    span = thickness + 2
    joined = cv2.morphologyEx(kept.view(np.uint8), cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (span, span)))
    return kept | (mask & (drop > 0) & (joined > 0))


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary mask: twice the area over the perimeter."""
    m = mask.astype(np.int8)
    perimeter = np.abs(np.diff(m, axis=0)).sum() + np.abs(np.diff(m, axis=1)).sum()
    return 2.0 * float(m.sum()) / (perimeter * math.pi / 4) if perimeter else 0.0


def inside(mask: np.ndarray) -> np.ndarray:
    """The mask without its components touching the image border, if anything is left."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
    h, w = mask.shape
    left, top, width, height = stats[:, :4].T
    border = (left == 0) | (top == 0) | (left + width == w) | (top + height == h)
    border[0] = True
    return (~border)[labels] if not border.all() else mask


def largest_near(mask: np.ndarray) -> np.ndarray:
    """The largest component and those near it, leaving out crumbs."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
    if count <= 1:
        return mask
    area = stats[:, 4].astype(np.float64)
    main = 1 + int(np.argmax(area[1:]))
    keep = cluster(stats, np.where(area >= 0.1 * area[main], area, 0.0), main)
    return keep[labels]


def cluster(stats: np.ndarray, mass: np.ndarray, main: int, reach: float = 0.35) -> np.ndarray:
    """Components (of mass > 0) within `reach` of the growing cluster's size from it, starting from `main`."""
    left, top = stats[:, 0].astype(np.float64), stats[:, 1].astype(np.float64)
    right, bottom = left + stats[:, 2], top + stats[:, 3]
    keep = np.zeros(len(stats), dtype=bool)
    keep[main] = True
    while True:
        l, t, r, b = left[keep].min(), top[keep].min(), right[keep].max(), bottom[keep].max()
        gap = np.maximum(np.maximum(l - right, left - r), np.maximum(t - bottom, top - b))
        near = (gap <= reach * max(r - l, b - t)) & (mass > 0)
        near[0] = False
        if not (near & ~keep).any():
            return keep
        keep |= near
