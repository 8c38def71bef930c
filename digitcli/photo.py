"""Finding the one digit in a photo of paper.

A phone photo holds more than the digit: the paper's edge and the desk, a cast
shadow, coloured or grid paper, ruled lines, the box of a form. A sheet with
a desk around it (grainy, or darker past its sharp edge) is cut out first
(digitcli/sheet.py). Ink is then
measured against the paper's *local* level (a grey opening wider than the
pen's strokes follows shadows, lamps and paper edges, but not the strokes),
kept where it is clearly above the noise or connected to ink that is
(hysteresis: faint strokes stay whole), then split into connected components
that are judged one by one: pieces of the desk or of a paper edge touching the
border, frames drawn around the digit, long straight ruled or grid lines
crossing it, and components far from the main ink or much fainter than it
are dropped. Loops stay open: nothing is filled. A skipping pen's faint
stretches come out as strong as its pressed ones.

Lines are found in digitcli/lines.py, boxes in digitcli/frames.py. OpenCV
does the image work; it is imported only where images are prepared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from .frames import drop_boxes, drop_frames, drop_sides
from .lines import cluster, drop_lines, inside, stroke_width
from .paper import MIN_CONTRAST, strength as global_strength
from .sheet import on_sheet

SMALL = 64  # images this small (icons) are lit evenly enough for one global paper level
COMPACT = 8  # a piece of ink is at least this many times as large as the square of its half-width (a stroke)
MAX_KERNEL = 31  # the local paper level is computed at a scale where its window is at most this wide
EVEN = 0.3  # a stroke this strong (against the pen's full strength) or stronger comes out at full strength

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
    if max(gray.shape) < SMALL or plain(level, floor):
        return Found(global_strength(level, floor))  # an icon or a clean drawing: every pixel of ink is the digit's
    sign = None
    if not _flat(level):  # a photo (a drawing has no desk): with a desk around the sheet, the digit is on the sheet
        level, sign = on_sheet(level, gray)
    level, floor = _local_level(level, floor, sign)
    mask, strength = _threshold(level, floor)
    if mask is None:
        return Found(np.zeros_like(level, dtype=np.float32))
    keep, notes = _select(mask, strength, level)
    return Found(_even(np.where(keep, strength, 0.0)), notes)


def _even(ink: np.ndarray) -> np.ndarray:
    """Ink as strong along faint stretches as along pressed ones: each pixel against its stroke's core.

    A skipping ballpoint's faded stretches reach a fraction of the pen's full
    strength; MNIST's strokes are full white along their whole length. Each
    pixel is divided by the strongest ink within about a stroke's width of it,
    so a faint stretch's core comes out as strong as a pressed one's while
    the soft edges of every stroke stay soft. Ink fainter than EVEN is raised
    as much as that and no more: a faint smudge kept beside the digit stays
    faint. Only the ink's box (and a pixel around it) is worked on.
    """
    ink = ink.astype(np.float32)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return ink
    box = (slice(max(0, rows[0] - 1), rows[-1] + 2), slice(max(0, cols[0] - 1), cols[-1] + 2))
    part = ink[box]
    reach = int(np.clip(round(stroke_width(part > 0.5 * float(part.max()))), 1, 15))
    peak = cv2.dilate(part, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1)))
    even = np.zeros_like(ink)
    even[box] = np.clip(part / np.maximum(peak, EVEN), 0.0, 1.0)
    return even


def plain(level: np.ndarray, floor: float) -> bool:
    """A clean drawing (a drawing pad's canvas, a clean scan): flat paper, and ink that is one digit.

    The paper is flat when it is noise-free against its global fit; the ink is
    one digit when its pieces lie together, none touches the border, none
    boxes another in, and none beside others is a straight bar as long as all
    the ink (a 5's bar drawn apart is shorter). Nothing is left to judge then,
    and the global level is the paper's: such images skip the photo work (and
    stay as fast as before).
    """
    return _flat(level) and one_digit(level, floor)


def one_digit(level: np.ndarray, floor: float) -> bool:
    """Whether the ink above `floor` is one digit: nothing at the border, boxed in, straight beside it or apart."""
    count, _, stats, _ = cv2.connectedComponentsWithStats((level > floor).view(np.uint8), connectivity=8)
    if not 2 <= count <= 64:  # no ink, or specks and texture to judge
        return False
    h, w = level.shape
    left, top, width, height = (stats[1:, i].astype(np.int64) for i in range(4))
    if (left == 0).any() or (top == 0).any() or (left + width == w).any() or (top + height == h).any():
        return False
    area = stats[:, 4].astype(np.float64)
    area[0] = 0.0
    if not cluster(stats, area, 1 + int(np.argmax(area[1:])))[1:].all():
        return False
    longest, shortest = np.maximum(width, height), np.minimum(width, height)
    extent = max((left + width).max() - left.min(), (top + height).max() - top.min())
    if count > 2 and ((longest >= 3 * shortest) & (longest >= 0.8 * extent)).any():
        return False  # a straight piece as long as all the ink, beside others, may be a ruled line or a box's side
    boxed = (left[:, None] < left) & (top[:, None] < top) & (left[:, None] + width[:, None] > left + width) & (top[:, None] + height[:, None] > top + height)
    return not boxed.any()


def _flat(level: np.ndarray) -> bool:
    """Whether the paper is flat: noise-free against its global fit (a drawing, a clean scan; not a photo)."""
    sample = level[:: max(1, level.shape[0] // 128), :: max(1, level.shape[1] // 128)]
    return 1.4826 * float(np.median(np.abs(sample))) <= 1 / 255


# --- ink against the local paper -------------------------------------------------------


def _local_level(level: np.ndarray, floor: float, sign: float | None = None) -> tuple[np.ndarray, float]:
    """Ink strength against the paper's local level, and its noise floor; `sign`: the polarity, when known.

    The paper's level is a grey opening of the ink strength: it removes every
    bright feature narrower than the window (the strokes) and keeps broad ones
    (the desk, a shadow, a lamp's glow) and their edges. The window is a few
    times the strokes' width, measured on a first pass with a wide window.
    """
    h, w = level.shape
    # On flat paper the global polarity holds (nothing but ink stands out); a photo's is checked locally.
    wide, sign = _opened(level, max(15, max(h, w) // 6), 1.0 if _flat(level) else sign)
    clear = (wide > 0.35 * float(np.percentile(wide, 99.9))).view(np.uint8)
    # The pen's width, from the largest piece of clear ink (texture and specks would make it look
    # thin) away from the border; with thin lines opened away too, when ruled lines crossing the
    # digit tie it to the border, if that leaves a larger piece that is still strokes, not a blob
    # (a thick digit's width taken from a ruled line would open the digit away).
    width, largest = 3.0, 0
    for rough in (inside(clear), inside(cv2.morphologyEx(clear, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)))):
        count, labels, stats, _ = cv2.connectedComponentsWithStats(rough.view(np.uint8), connectivity=8)
        if count <= 1 or stats[1:, 4].max() <= largest:
            continue
        biggest = 1 + int(np.argmax(stats[1:, 4]))
        piece_width = stroke_width(labels == biggest)
        if piece_width <= 0.2 * stats[biggest, 2:4].max() or not largest:
            width, largest = piece_width, stats[biggest, 4]
    local, _ = _opened(level, int(np.clip(4 * width + 9, 15, max(h, w) / 3)), sign)
    sample = local[:: max(1, h // 256), :: max(1, w // 256)]
    centre = float(np.median(sample))
    floor = max(4.0 * 1.4826 * float(np.median(np.abs(sample - centre))), MIN_CONTRAST)
    return local - centre, floor


def _opened(level: np.ndarray, window: int, sign: float | None) -> tuple[np.ndarray, float]:
    """The ink's strength above the grey opening of `level` by a `window`-wide square, and its polarity.

    Computed at a scale where the window is at most MAX_KERNEL px, then brought back to full size.
    The opening is smoothed, but never below itself, and widened by a pixel of that scale before
    it is enlarged: on the bright side of a step (the desk beside the sheet's edge, the shade
    beside lit paper) the paper's level is then the step's own, and the step is not taken for a
    stroke running along it.
    """
    h, w = level.shape
    scale = max(1, math.ceil(window / MAX_KERNEL))
    k = max(3, window // scale | 1)
    small = cv2.resize(level, (max(1, w // scale), max(1, h // scale)), interpolation=cv2.INTER_AREA) if scale > 1 else level
    if sign is None:
        sign = _polarity(small, k)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    opened = cv2.morphologyEx(sign * small, cv2.MORPH_OPEN, kernel)
    paper = np.maximum(cv2.blur(opened, (max(1, k // 4), max(1, k // 4))), opened)
    if scale > 1:
        paper = cv2.dilate(paper, np.ones((3, 3), np.uint8))
        paper = cv2.resize(paper, (w, h), interpolation=cv2.INTER_LINEAR)
    return sign * level - paper, sign


def _polarity(level: np.ndarray, k: int) -> float:
    """1 if the ink is the positive side of `level`, -1 if it is the negative one.

    Judged against the paper's local median (the majority around each pixel,
    whatever its polarity), so a broad shadow beside lit paper does not pass
    for ink, as it may against a global fit. A pixel counts for a side only
    where it also stands out from the grey opening (or closing) by the same
    window: the paper beside a step (the sheet's edge on the desk) stands out
    from a median that takes in the desk, but not from the opening, which
    keeps the step; the paper enclosed by a loop stands out from the opening,
    but not from the median.
    """
    low, high = float(level.min()), float(level.max())
    if high - low < 1e-6:
        return 1.0
    grey = ((level - low) * (255.0 / (high - low))).astype(np.uint8)
    residual = grey.astype(np.float32) - cv2.medianBlur(grey, max(3, k | 1)).astype(np.float32)
    spread = 4 * 1.4826 * float(np.median(np.abs(residual))) + 1.0
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    brighter = np.minimum(residual, cv2.morphologyEx(grey, cv2.MORPH_TOPHAT, kernel).astype(np.float32))
    darker = np.minimum(-residual, cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, kernel).astype(np.float32))
    positive, negative = (_stroke_sum(np.clip(r - spread, 0, None), max(2, k // 4)) for r in (brighter, darker))
    return -1.0 if negative > 2 * positive else 1.0  # the global polarity unless clearly wrong


def _stroke_sum(excess: np.ndarray, margin: int) -> float:
    """The sum of `excess` over its pieces, leaving out broad blobs at the image border.

    A sheet's corner on the desk or a shadow's end stands out from its local median too: it
    runs to the border (within `margin` px) and fills much of its box, where the pen's strokes
    are sparse in theirs, even when ruled lines tie them to the border. A sheet's corner with
    the desk around it (inside the frame) is a compact wedge, where a stroke is long for its
    width: pieces less than COMPACT times as large as the square of their half-width are left
    out too.
    """
    inked = (excess > 0).view(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(inked, connectivity=8)
    h, w = excess.shape
    left, top, width, height = stats[:, :4].T
    border = (left < margin) | (top < margin) | (left + width > w - margin) | (top + height > h - margin)
    blob = border & (stats[:, 4] >= 0.3 * width * height)  # filling its box, where strokes and lines are sparse
    radius = np.zeros(count, np.float32)
    np.maximum.at(radius, labels.ravel(), cv2.distanceTransform(inked, cv2.DIST_L2, 3).ravel())
    blob |= (radius >= 2) & (stats[:, 4] < COMPACT * radius * radius)
    blob[0] = True
    return float(np.bincount(labels.ravel(), weights=excess.ravel(), minlength=count)[~blob].sum())


def _threshold(level: np.ndarray, floor: float) -> tuple[np.ndarray | None, np.ndarray]:
    """The ink mask (hysteresis: weak ink is kept where it touches strong ink) and strength in [0, 1]."""
    above = level[inside(level > floor)]
    if above.size == 0:
        return None, level
    full = float(np.percentile(above, 99))  # the pen's ink, even among many fainter printed lines
    # Weak ink is judged on the level smoothed over about a thin stroke's width, where the noise
    # is weaker than a faint ballpoint's stroke; tied to clear ink, it counts down to a few
    # times that noise (the clear ink itself must pass `floor`).
    smooth = cv2.GaussianBlur(level, (0, 0), 1.0)
    sample = smooth[:: max(1, smooth.shape[0] // 256), :: max(1, smooth.shape[1] // 256)]
    noise = 1.4826 * float(np.median(np.abs(sample - np.median(sample))))
    low = max(min(floor, 3.0 * noise), 0.1 * full)
    if full <= low:
        return None, level
    strength = np.clip((level - low) / (full - low), 0.0, 1.0).astype(np.float32)
    mask = smooth > low
    # Faint, skipping strokes: bridge gaps of a pixel or two before judging connections.
    bridged = cv2.morphologyEx(mask.view(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)) if mask.size > 64 else mask.view(np.uint8)
    count, labels = cv2.connectedComponents(bridged, connectivity=8)
    strong = np.bincount(labels[level > max(floor, 0.4 * full)].ravel(), minlength=count)
    strong[0] = 0
    mask &= (strong >= 2)[labels] if mask.size > 64 else (strong >= 1)[labels]
    return mask, strength


# --- judging the components ---------------------------------------------------------------


def _select(mask: np.ndarray, strength: np.ndarray, level: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The digit's pixels among the ink mask's, and notes on what else was seen."""
    mask, printed = drop_lines(mask, level)  # first: ruled and grid lines tie the digit to the border
    if printed:  # on ruled or grid paper, what is as faint as its lines is left of them, not pen
        mask &= level >= 0.4 * float(np.percentile(level[mask], 99))
    mask = _drop_border_pieces(mask)
    mask, notes = _main_mass(mask, strength)
    mask = drop_sides(drop_frames(drop_boxes(mask), strength))
    mask, more = _main_mass(mask, strength)
    return mask, notes or more


def _drop_border_pieces(mask: np.ndarray) -> np.ndarray:
    """Drop ink touching the image border (a paper edge, the desk) when other ink lies inside.

    A textured desk around the sheet breaks into specks that do not each reach the border,
    but lie close together: ink within a hundredth of the image's size of ink that touches the
    border goes too, when a digit's worth of ink is left inside.
    """
    h, w = mask.shape
    reach = max(1, max(h, w) // 100)
    near = cv2.dilate(mask.view(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1)))
    for grown in (near, mask.view(np.uint8)):
        count, labels, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
        left, top, width, height = stats[:, :4].T
        border = (left == 0) | (top == 0) | (left + width == w) | (top + height == h)
        border[0] = True
        rest = mask & ~border[labels]
        # Ink inside is something (more than noise) when it is at least a small digit's worth.
        if border[1:].any() and np.count_nonzero(rest) >= max(20, h * w / 5000):
            return rest
    return mask


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
    keep = cluster(stats, np.where(faint, 0.0, mass), main)
    notes = []
    # Another cluster about as heavy and as tall as this one is probably a second digit.
    rest = ~keep & ~faint
    rest[0] = False
    if rest.any():
        other = int(np.flatnonzero(rest)[np.argmax(mass[rest])])
        second = cluster(stats, np.where(faint | keep, 0.0, mass), other)
        tall = (stats[second, 1] + stats[second, 3]).max() - stats[second, 1].min()
        main_tall = (stats[keep, 1] + stats[keep, 3]).max() - stats[keep, 1].min()
        if mass[second].sum() >= 0.4 * mass[keep].sum() and tall >= 0.6 * main_tall:
            notes.append("more than one digit? predicting the largest")
    return keep[labels], notes
