"""The sheet of paper in a photo, when a desk shows around it.

Paper is smooth: at the scale of a few strokes' widths its grey level varies
by the camera's noise alone. A desk's grain (wood, cork, fabric) varies much
more, at about the pen's scale, and can stand out as much as a faint pen's
strokes, or more. The sheet is then the largest smooth region, with what is
written on it (its holes) taken in, when a broad region around it running out
of the frame is clearly rougher and its grain about as strong as the ink on
the sheet. A smooth desk is darker than the sheet, past the sheet's sharp edge
(`sheet_by_edge`); its step can stand out far more than a faint pen, and a
desk filling most of the frame can pass for the paper. Either way the digit is
looked for on the sheet only, the desk beyond it made paper.
"""

from __future__ import annotations

import cv2
import numpy as np

from .paper import MIN_CONTRAST

CELLS = 64  # the texture is measured on a grid of about this many cells a side
ROUGH = 1.8  # the desk is at least this many times as rough as the sheet
GRAIN = 0.8  # and its grain stands out at least this much against the strongest ink on the sheet


def on_sheet(level: np.ndarray, gray: np.ndarray | None = None) -> tuple[np.ndarray, float | None]:
    """The ink's strength `level` cut to the sheet of paper (and a margin) when a desk lies around it, and its polarity.

    The sheet is found on a grainy desk by its smoothness (`sheet`), else on a darker desk by its
    sharp edge in the luminance `gray` (`sheet_by_edge`); else `level` is returned as it is. The noise,
    the ink's polarity and strength are then measured on the sheet, not on the desk; the desk left in
    the cut becomes paper (`_extended`). The polarity is 1.0 or -1.0 when it is known (a sheet lighter
    than the desk holds darker ink: 1.0 when `level` is positive where `gray` is darker), else None.
    """
    paper, sign = sheet(level), None
    if paper is None and gray is not None:
        paper = sheet_by_edge(gray)
        if paper is not None:
            sign = -1.0 if float(np.mean(_sample(level.ravel()) * (_sample(gray.ravel()) - float(np.mean(gray))))) > 0 else 1.0
    if paper is None or not paper.any():
        return level, None
    h, w = level.shape
    cell = max(4, max(h, w) // CELLS)  # both finders work on this grid: the cut stays on it
    rows, cols = np.flatnonzero(paper.any(axis=1)), np.flatnonzero(paper.any(axis=0))
    cut = (slice(max(0, rows[0] - 2 * cell), rows[-1] + 1 + 2 * cell), slice(max(0, cols[0] - 2 * cell), cols[-1] + 1 + 2 * cell))
    level, near = level[cut], paper[cut]
    return (level if near.all() else _extended(level, near, cell)), sign


def _extended(level: np.ndarray, near: np.ndarray, cell: int) -> np.ndarray:
    """`level` on the sheet `near` (whole cells of `cell` px); beyond it, the paper carried on smoothly, with its noise.

    Each cell off the sheet takes the paper's level in the nearest cell on it (its median, which a
    stroke crossing the cell does not move). The noise is the fine detail of `level` (against its
    5 px median, which keeps a step's edge as it is), clipped to the paper's own spread. No desk and
    no edge are left.
    """
    h, w = level.shape
    rows, cols = -(-h // cell), -(-w // cell)
    padded = np.pad(level.astype(np.float32), ((0, rows * cell - h), (0, cols * cell - w)), mode="edge")
    seen = near[::cell, ::cell]
    blocks = padded.reshape(rows, cell, cols, cell).transpose(0, 2, 1, 3)[seen].reshape(-1, cell * cell)
    middle = cell * cell // 2
    _, nearest = cv2.distanceTransformWithLabels((~seen).view(np.uint8), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL)
    values = np.zeros(int(nearest.max()) + 1, np.float32)
    values[nearest[seen]] = np.partition(blocks, middle, axis=1)[:, middle]
    around = cv2.resize(cv2.blur(values[nearest], (3, 3)), (cols * cell, rows * cell), interpolation=cv2.INTER_LINEAR)[:h, :w]
    detail = level - cv2.medianBlur(level.astype(np.float32), 5)
    spread = 3 * 1.4826 * float(np.median(np.abs(_sample(detail[near]))))
    return np.where(near, level, around + np.clip(detail, -spread, spread)).astype(np.float32)


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


SHARP = 0.5  # across a sheet's edge, a 5 px window spans at least this share of the step (a shadow's edge is soft)
STEP = 0.08  # the desk is at least this much darker than the sheet


def sheet_by_edge(gray: np.ndarray) -> np.ndarray | None:
    """A mask of a sheet lying on a darker desk in the luminance `gray`, inside a sharp edge; else None.

    The pen's strokes, a box and ruled lines are first closed away (they are narrower than two cells).
    A cell is on an edge where a 5 px window in it spans most of the step seen around it: the sheet's
    edge is sharp, nearly the whole step from the paper to the desk happens within a few pixels; a
    cast shadow's edge and a lamp's falloff are soft. The sheet is the region of cells the edges part
    off around the frame's centre, with what is written on it taken in: nearly convex (a
    quadrilateral, maybe cut by the frame), with a darker desk beyond its edge.
    """
    h, w = gray.shape
    cell = max(4, max(h, w) // CELLS)
    rows, cols = h // cell, w // cell
    if min(rows, cols) < 8:
        return None
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * cell + 1, 2 * cell + 1))
    smooth = cv2.GaussianBlur(cv2.morphologyEx(gray.astype(np.float32), cv2.MORPH_CLOSE, kernel), (0, 0), 1.0)
    square = np.ones((5, 5), np.uint8)
    fine = _cells(cv2.dilate(smooth, square) - cv2.erode(smooth, square), cell).max(axis=(1, 3))
    cells = _cells(smooth, cell)
    around = np.ones((3, 3), np.uint8)
    wide = cv2.dilate(cells.max(axis=(1, 3)), around) - cv2.erode(cells.min(axis=(1, 3)), around)
    edge = (fine >= SHARP * wide) & (wide >= STEP)
    count, labels = cv2.connectedComponents((~edge).view(np.uint8), connectivity=4)
    centre = labels[rows // 2, cols // 2]
    if count <= 2 or centre == 0:
        return None
    paper = _filled(labels == centre)
    near = cv2.dilate(paper.view(np.uint8), around).astype(bool)
    beyond = cv2.dilate(near.view(np.uint8), around, iterations=2).astype(bool) & ~near
    if paper.mean() < 0.2 or beyond.mean() < 0.01:
        return None
    outline = max(cv2.findContours(paper.view(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0], key=cv2.contourArea)
    if cv2.contourArea(outline) < 0.9 * cv2.contourArea(cv2.convexHull(outline)):
        return None  # not a quadrilateral: not a sheet
    tone = cells.mean(axis=(1, 3))
    inner = paper & ~cv2.erode(paper.view(np.uint8), around, iterations=2).astype(bool)
    if float(np.median(tone[inner])) - float(np.median(tone[beyond])) < STEP:
        return None  # no darker desk beyond the edge
    return _full_size(paper, cell, (h, w))


def _cells(image: np.ndarray, cell: int) -> np.ndarray:
    """The image cut into whole cells: an array (rows, cell, cols, cell)."""
    rows, cols = image.shape[0] // cell, image.shape[1] // cell
    return image[: rows * cell, : cols * cell].reshape(rows, cell, cols, cell)
