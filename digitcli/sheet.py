"""The sheet of paper in a photo, when a grainy desk shows around it.

Paper is smooth: at the scale of a few strokes' widths its grey level varies
by the camera's noise alone. A desk's grain (wood, cork, fabric) varies much
more, at about the pen's scale, and can stand out as much as a faint pen's
strokes, or more. The sheet is then the largest smooth region, with what is
written on it (its holes) taken in, when a broad region around it running out
of the frame is clearly rougher and its grain about as strong as the ink on
the sheet; the digit is looked for on the sheet only.
"""

from __future__ import annotations

import cv2
import numpy as np

from .paper import MIN_CONTRAST

CELLS = 64  # the texture is measured on a grid of about this many cells a side
ROUGH = 1.8  # the desk is at least this many times as rough as the sheet
GRAIN = 0.8  # and its grain stands out at least this much against the strongest ink on the sheet


def on_sheet(level: np.ndarray) -> np.ndarray:
    """The ink's strength `level` cut to the sheet of paper (and a margin) when a grainy desk lies around it.

    Else `level` as it is. The noise and the ink's strength are then measured on the sheet, not on
    the desk; the desk left in the cut is made as rough as the paper.
    """
    paper = sheet(level)
    if paper is None or not paper.any():
        return level
    h, w = level.shape
    margin = 2 * max(4, max(h, w) // CELLS)
    rows, cols = np.flatnonzero(paper.any(axis=1)), np.flatnonzero(paper.any(axis=0))
    cut = (slice(max(0, rows[0] - margin), rows[-1] + 1 + margin), slice(max(0, cols[0] - margin), cols[-1] + 1 + margin))
    level, near = level[cut], paper[cut]
    if near.all():
        return level
    # The desk beyond the sheet's edge is made as rough as the paper: moved to its level, clipped to its range.
    on, off = _sample(level[near]), _sample(level[~near])
    low, centre, high = np.percentile(on, [2, 50, 98])
    return np.where(near, level, np.clip(level + (centre - np.median(off)), low, high)).astype(np.float32)


def _sample(values: np.ndarray, size: int = 65_536) -> np.ndarray:
    """A strided subsample for percentiles."""
    return values[:: max(1, values.size // size)]


def sheet(level: np.ndarray) -> np.ndarray | None:
    """A mask of the sheet of paper (True on it, its edge left out), or None when no grainy desk is seen around it."""
    h, w = level.shape
    cell = max(4, max(h, w) // CELLS)
    rows, cols = h // cell, w // cell
    if min(rows, cols) < 8:
        return None
    cut = level[: rows * cell, : cols * cell].astype(np.float32)
    mean = cv2.resize(cut, (cols, rows), interpolation=cv2.INTER_AREA)
    square = cv2.resize(cut * cut, (cols, rows), interpolation=cv2.INTER_AREA)
    rough = np.sqrt(np.maximum(square - mean * mean, 0.0))
    # Smooth and rough cells parted where their (log) roughness splits best in two.
    log = np.log(rough + 1e-4)
    low, high = float(log.min()), float(log.max())
    if high - low < 1e-3:
        return None
    split, _ = cv2.threshold(((log - low) * (255 / (high - low))).astype(np.uint8), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    smooth = (log <= low + split * (high - low) / 255).view(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(smooth, connectivity=4)
    if count <= 1:
        return None
    paper = _filled(labels == 1 + int(np.argmax(stats[1:, 4])))
    around = _desk(paper)
    if around is None:
        return None
    if float(np.percentile(rough[around], 25)) < ROUGH * float(np.median(rough[paper])):
        return None  # the surround is not rough nearly all over: a smooth desk, shadowed paper, paper everywhere
    # Only a desk whose grain stands out about as much as the ink on the sheet hides the ink; the sheet holds ink.
    on, off = (_sample(level[_full_size(cells, cell, (h, w), erode=False)]) for cells in (paper, around))
    ink = float(np.percentile(np.abs(on - np.median(on)), 99.9))
    if ink < MIN_CONTRAST or float(np.percentile(np.abs(off - np.median(off)), 99)) < GRAIN * ink:
        return None
    return _full_size(paper, cell, (h, w))


def _desk(paper: np.ndarray) -> np.ndarray | None:
    """The cells of a desk around a sheet `paper` (cells): the broad part of the rest, reaching the frame's edge.

    The sheet covers a good part of the frame; what lies around it is broad (not a pen's strokes,
    nor ruled or grid lines, which are a few cells wide at most) and runs out of the frame.
    """
    if paper.mean() < 0.2:
        return None
    around = ~cv2.dilate(paper.view(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    broad = cv2.erode(around.view(np.uint8), np.ones((7, 7), np.uint8), borderType=cv2.BORDER_REPLICATE).astype(bool)
    if broad.mean() < 0.03 or not (broad[0].any() or broad[-1].any() or broad[:, 0].any() or broad[:, -1].any()):
        return None
    return broad


def _filled(region: np.ndarray) -> np.ndarray:
    """The region with its holes (what is written on it) and its ragged edge taken in: all the outside does not reach."""
    outside = np.pad(~region, 1, constant_values=True).view(np.uint8).copy()
    cv2.floodFill(outside, None, (0, 0), 2)
    return outside[1:-1, 1:-1] != 2


def _full_size(cells: np.ndarray, cell: int, shape: tuple[int, int], erode: bool = True) -> np.ndarray:
    """A mask on the grid of cells brought to full size; eroded by a cell, it leaves out the sheet's edge."""
    small = cells.view(np.uint8)
    if erode:
        small = cv2.erode(small, np.ones((3, 3), np.uint8))
    full = np.zeros(shape, np.uint8)
    rows, cols = small.shape
    full[: rows * cell, : cols * cell] = cv2.resize(small, (cols * cell, rows * cell), interpolation=cv2.INTER_NEAREST)
    return full.astype(bool)
