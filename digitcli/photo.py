"""Finding the one digit in a photo of paper.

A phone photo holds more than the digit: the paper's edge and the desk, a cast
shadow, coloured or grid paper, ruled lines, the box of a form. Ink is first
measured against the paper's *local* level (a grey opening wider than the
pen's strokes follows shadows, lamps and paper edges, but not the strokes),
kept where it is clearly above the noise or connected to ink that is
(hysteresis: faint strokes stay whole), then split into connected components
that are judged one by one: pieces of the desk or of a paper edge touching the
border, frames drawn around the digit, long straight ruled or grid lines
crossing it, and components far from the main ink or much fainter than it
are dropped. Loops stay open: nothing is filled.

OpenCV does the image work; it is imported only where images are prepared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from .preprocess import MIN_CONTRAST

SMALL = 64  # images this small (icons) are lit evenly enough for one global paper level
MAX_KERNEL = 31  # the local paper level is computed at a scale where its window is at most this wide

cv2.setNumThreads(1)  # one image per core is faster than one image on every core, and never oversubscribes


@dataclass
class Found:
    ink: np.ndarray  # float32 ink strength in [0, 1], 0 where there is no digit
    notes: list[str] = field(default_factory=list)


def find_digit(gray: np.ndarray, level: np.ndarray, floor: float) -> Found:
    """The digit's ink in a grey image whose ink polarity is known.

    `level` is the ink's strength against a globally fitted paper (positive
    for ink), `floor` the least strength that is not noise there.
    """
    if max(gray.shape) >= SMALL:
        level, floor = _local_level(level, floor)
    mask, strength = _threshold(level, floor)
    if mask is None:
        return Found(np.zeros_like(level, dtype=np.float32))
    keep, notes = _select(mask, strength, level)
    return Found(np.where(keep, strength, 0.0).astype(np.float32), notes)


# --- ink against the local paper -------------------------------------------------------


def _local_level(level: np.ndarray, floor: float) -> tuple[np.ndarray, float]:
    """Ink strength against the paper's local level, and its noise floor.

    The paper's level is a grey opening of the ink strength: it removes every
    bright feature narrower than the window (the strokes) and keeps broad ones
    (the desk, a shadow, a lamp's glow) and their edges. The window is a few
    times the strokes' width, measured on a first pass with a wide window.
    """
    h, w = level.shape
    wide, sign = _opened(level, max(15, max(h, w) // 6), None)
    rough = _inside(wide > 0.35 * float(np.percentile(wide, 99.9)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(rough.view(np.uint8), connectivity=8)
    # The pen's width, from the largest piece of clear ink (texture and specks would make it look thin).
    width = _stroke_width(labels == 1 + int(np.argmax(stats[1:, 4]))) if count > 1 else 3.0
    local, _ = _opened(level, int(np.clip(4 * width + 9, 15, max(h, w) / 3)), sign)
    sample = local[:: max(1, h // 256), :: max(1, w // 256)]
    centre = float(np.median(sample))
    floor = max(4.0 * 1.4826 * float(np.median(np.abs(sample - centre))), MIN_CONTRAST)
    return local - centre, floor


def _opened(level: np.ndarray, window: int, sign: float | None) -> tuple[np.ndarray, float]:
    """The ink's strength above the grey opening of `level` by a `window`-wide square, and its polarity.

    Computed at a scale where the window is at most MAX_KERNEL px, then brought back to full size.
    """
    h, w = level.shape
    scale = max(1, math.ceil(window / MAX_KERNEL))
    k = max(3, window // scale | 1)
    small = cv2.resize(level, (max(1, w // scale), max(1, h // scale)), interpolation=cv2.INTER_AREA) if scale > 1 else level
    if sign is None:
        sign = _polarity(small, k)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    paper = cv2.blur(cv2.morphologyEx(sign * small, cv2.MORPH_OPEN, kernel), (max(1, k // 4), max(1, k // 4)))
    if scale > 1:
        paper = cv2.resize(paper, (w, h), interpolation=cv2.INTER_LINEAR)
    return sign * level - paper, sign


def _polarity(level: np.ndarray, k: int) -> float:
    """1 if the ink is the positive side of `level`, -1 if it is the negative one.

    Judged against the paper's local median (the majority around each pixel,
    whatever its polarity), so a broad shadow beside lit paper does not pass
    for ink, as it may against a global fit.
    """
    low, high = float(level.min()), float(level.max())
    if high - low < 1e-6:
        return 1.0
    grey = ((level - low) * (255.0 / (high - low))).astype(np.uint8)
    residual = grey.astype(np.float32) - cv2.medianBlur(grey, max(3, k | 1)).astype(np.float32)
    spread = 4 * 1.4826 * float(np.median(np.abs(residual))) + 1.0
    positive = float(np.clip(residual - spread, 0, None).sum())
    negative = float(np.clip(-residual - spread, 0, None).sum())
    return 1.0 if positive >= negative else -1.0


def _stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary mask: twice the area over the perimeter."""
    m = mask.astype(np.int8)
    perimeter = np.abs(np.diff(m, axis=0)).sum() + np.abs(np.diff(m, axis=1)).sum()
    return 2.0 * float(m.sum()) / (perimeter * math.pi / 4) if perimeter else 0.0


def _inside(mask: np.ndarray) -> np.ndarray:
    """The mask without its components touching the image border, if anything is left."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
    h, w = mask.shape
    left, top, width, height = stats[:, :4].T
    border = (left == 0) | (top == 0) | (left + width == w) | (top + height == h)
    border[0] = True
    return (~border)[labels] if not border.all() else mask


def _threshold(level: np.ndarray, floor: float) -> tuple[np.ndarray | None, np.ndarray]:
    """The ink mask (hysteresis: weak ink is kept where it touches strong ink) and strength in [0, 1]."""
    above = level[_inside(level > floor)]
    if above.size == 0:
        return None, level
    full = float(np.percentile(above, 99))  # the pen's ink, even among many fainter printed lines
    low = max(floor, 0.1 * full)
    if full <= low:
        return None, level
    strength = np.clip((level - low) / (full - low), 0.0, 1.0).astype(np.float32)
    mask = level > low
    # Faint, skipping strokes: bridge gaps of a pixel or two before judging connections.
    bridged = cv2.morphologyEx(mask.view(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)) if mask.size > 64 else mask.view(np.uint8)
    count, labels = cv2.connectedComponents(bridged, connectivity=8)
    strong = np.bincount(labels[level > max(low, 0.4 * full)].ravel(), minlength=count)
    strong[0] = 0
    mask &= (strong >= 2)[labels] if mask.size > 64 else (strong >= 1)[labels]
    return mask, strength


# --- judging the components ---------------------------------------------------------------


@dataclass
class Parts:
    labels: np.ndarray
    boxes: np.ndarray  # (n, 4) left, top, width, height
    area: np.ndarray
    mass: np.ndarray


def _components(mask: np.ndarray, strength: np.ndarray) -> Parts:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
    mass = np.bincount(labels.ravel(), weights=strength.ravel(), minlength=count)
    return Parts(labels, stats[:, :4].astype(np.int64), stats[:, 4].astype(np.int64), mass)


def _select(mask: np.ndarray, strength: np.ndarray, level: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The digit's pixels among the ink mask's, and notes on what else was seen."""
    mask, printed = _drop_lines(mask, level)  # first: ruled and grid lines tie the digit to the border
    if printed:  # on ruled or grid paper, what is as faint as its lines is left of them, not pen
        mask &= level >= 0.4 * float(np.percentile(level[mask], 99))
    mask = _drop_border_pieces(mask, strength)
    mask, notes = _main_mass(mask, strength)
    mask = _drop_frames(mask, strength)
    mask, more = _main_mass(mask, strength)
    return mask, notes or more


def _drop_border_pieces(mask: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """Drop ink touching the image border (a paper edge, the desk) when other ink lies inside."""
    parts = _components(mask, strength)
    h, w = mask.shape
    left, top, width, height = parts.boxes.T
    border = (left == 0) | (top == 0) | (left + width == w) | (top + height == h)
    border[0] = False
    inside = ~border
    inside[0] = False
    if not inside.any() or not border.any():
        return mask
    # Ink inside is something (more than noise) when it is at least a small digit's worth.
    if parts.area[inside].max() < max(20, h * w / 5000):
        return mask
    return mask & ~border[parts.labels]


def _drop_frames(mask: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """Drop frames drawn around the digit (a form's box, a circle)."""
    parts = _components(mask, strength)
    if len(parts.mass) <= 1:
        return mask
    # A separate frame: a hollow component whose box holds a good share of ink.
    order = np.argsort(-parts.mass[1:]) + 1
    for i in order[:4]:
        l, t, wd, ht = parts.boxes[i]
        others = np.arange(1, len(parts.mass)) != i
        l2, t2, w2, h2 = parts.boxes[1:].T
        inside = others & (l2 > l) & (t2 > t) & (l2 + w2 < l + wd) & (t2 + h2 < t + ht)
        if parts.area[i] < 0.35 * wd * ht and parts.mass[1:][inside].sum() >= 0.15 * parts.mass[i]:
            mask = mask & (parts.labels != i)
    return mask




def _drop_lines(mask: np.ndarray, level: np.ndarray) -> tuple[np.ndarray, bool]:
    """Remove straight lines running past the digit at both ends: ruled and grid lines, a box's sides.

    Lines are found among the ink (a probabilistic Hough transform at about
    400 px); the digit is what is left without them. A digit's own straight
    strokes (a 1, a 7's bar, a 4) end where the rest of the digit ends, so
    they stay; a line that also passes the digit by a tenth of its size at
    both ends does not belong to it.
    """
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return mask, False
    h, w = mask.shape
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
    thickness = max(3, int(round(1.6 * _stroke_width(mask) + 2 + scale)))
    lines = np.zeros_like(mask, dtype=np.uint8)
    for x1, y1, x2, y2 in segments:
        cv2.line(lines, (int(x1), int(y1)), (int(x2), int(y2)), 1, thickness)
    rest = mask & (lines == 0)
    drop = np.zeros_like(mask, dtype=np.uint8)
    # Printed ruled and grid lines are much fainter than the pen: such a line goes whatever its length.
    peak = float(np.percentile(level[mask], 99))
    nearby = cv2.dilate(level, np.ones((5, 5), np.uint8))
    faint = np.zeros(len(segments), dtype=bool)
    sy, sx = np.nonzero(_largest_near(mask & (level >= 0.55 * peak)))
    reach = 0.25 * max(np.ptp(sy), np.ptp(sx)) if sy.size else 0.0
    for i, (x1, y1, x2, y2) in enumerate(segments):
        along = nearby[np.clip((y1 + t * (y2 - y1)).astype(int), 0, h - 1), np.clip((x1 + t * (x2 - x1)).astype(int), 0, w - 1)]
        # Faint, and running well past the strong ink (a skipping pen's faded stretch does not).
        past = sy.size and (min(x1, x2) < sx.min() - reach or max(x1, x2) > sx.max() + reach
                            or min(y1, y2) < sy.min() - reach or max(y1, y2) > sy.max() + reach)
        faint[i] = bool(past) and np.median(along) < 0.4 * peak
        if faint[i]:
            cv2.line(drop, (int(x1), int(y1)), (int(x2), int(y2)), 1, thickness)
    drop &= (level < 0.4 * peak).view(np.uint8)  # where the pen crossed them, its ink stays
    # Without the lines, the digit must still be there: not just the joints of a 1, a 4 or a 7.
    longest = drop.copy()
    for (x1, y1, x2, y2), weak in zip(segments, faint):
        if not weak and np.hypot(x2 - x1, y2 - y1) >= 0.5 * max(h, w):
            cv2.line(longest, (int(x1), int(y1)), (int(x2), int(y2)), 1, thickness)
    if rest.sum() < 0.25 * (mask & (longest == 0)).sum():
        return _without(mask, drop, thickness), bool(faint.any())
    # The digit is where the strongest ink is.
    rest = _inside(rest)
    # The pieces holding strong ink, with their fainter stretches (a skipping pen's).
    count, labels = cv2.connectedComponents(rest.view(np.uint8), connectivity=8)
    held = np.bincount(labels[rest & (level >= 0.55 * peak)].ravel(), minlength=count) > 0
    held[0] = False
    ys, xs = np.nonzero(_largest_near(held[labels] if held.any() else rest))
    if ys.size < 4:
        return _without(mask, drop, thickness), bool(faint.any())
    size = max(ys.max() - ys.min(), xs.max() - xs.min(), 1)
    corners = np.array([[xs.min(), ys.min()], [xs.max(), ys.min()], [xs.min(), ys.max()], [xs.max(), ys.max()]], float)
    top, bottom, left, right = ys.min(), ys.max(), xs.min(), xs.max()
    for x1, y1, x2, y2 in segments:
        direction = np.array([x2 - x1, y2 - y1]) / max(np.hypot(x2 - x1, y2 - y1), 1e-9)
        ends = sorted((x1 * direction[0] + y1 * direction[1], x2 * direction[0] + y2 * direction[1]))
        span = corners @ direction
        if ends[0] < span.min() - 0.1 * size and ends[1] > span.max() + 0.1 * size:
            line = np.zeros_like(drop)
            cv2.line(line, (int(x1), int(y1)), (int(x2), int(y2)), 1, thickness)
            # Judged by its stretch outside the digit: if faint there, only its faint pixels go,
            # and a stroke of the digit that runs along it stays.
            px, py = x1 + t * (x2 - x1), y1 + t * (y2 - y1)
            outside = (px < left) | (px > right) | (py < top) | (py > bottom)
            along = nearby[np.clip(py.astype(int), 0, h - 1), np.clip(px.astype(int), 0, w - 1)][outside]
            if along.size and np.median(along) < 0.4 * peak:
                line &= (level < 0.4 * peak).view(np.uint8)
            drop |= line
    return _without(mask, drop, thickness), bool(faint.any())


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


def _largest_near(mask: np.ndarray) -> np.ndarray:
    """The largest component and those near it, leaving out crumbs."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
    if count <= 1:
        return mask
    area = stats[:, 4].astype(np.float64)
    main = 1 + int(np.argmax(area[1:]))
    keep = _cluster(stats, np.where(area >= 0.1 * area[main], area, 0.0), main)
    return keep[labels]


def _cluster(stats: np.ndarray, mass: np.ndarray, main: int, reach: float = 0.35) -> np.ndarray:
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


def _main_mass(mask: np.ndarray, strength: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The main ink mass: the heaviest component and those near it, not much fainter than it."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
    if count <= 1:
        return mask, []
    mass = np.bincount(labels.ravel(), weights=strength.ravel(), minlength=count)
    mean = mass / np.maximum(stats[:, 4], 1)
    main = 1 + int(np.argmax(mass[1:]))
    faint = mean < 0.35 * mean[main]
    faint[main] = False
    keep = _cluster(stats, np.where(faint, 0.0, mass), main)
    notes = []
    # Another cluster about as heavy and as tall as this one is probably a second digit.
    rest = ~keep & ~faint
    rest[0] = False
    if rest.any():
        other = int(np.flatnonzero(rest)[np.argmax(mass[rest])])
        second = _cluster(stats, np.where(faint | keep, 0.0, mass), other)
        tall = (stats[second, 1] + stats[second, 3]).max() - stats[second, 1].min()
        main_tall = (stats[keep, 1] + stats[keep, 3]).max() - stats[keep, 1].min()
        if mass[second].sum() >= 0.4 * mass[keep].sum() and tall >= 0.6 * main_tall:
            notes.append("more than one digit? predicting the largest")
    return keep[labels], notes
