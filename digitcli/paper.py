"""The paper under the ink: its level, however it is lit, and the ink's strength against it.

Shared by every route of the preparation (`preprocess` for clean drawings and
icons, `photo` for photos and scans).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

MIN_CONTRAST = 0.05  # ink fainter than this against the paper is not a digit


def level(gray: np.ndarray, tone: float | None = None) -> tuple[np.ndarray, float]:
    """Ink strength against the paper (ink positive, paper about 0), and its noise floor.

    The paper is a smooth fit of `gray` (`fit`), or `tone` when it is known to be flat (`preprocess._flat_paper`).
    """
    if tone is None:
        level = gray - fit(gray)  # the paper is now 0 everywhere, however it was lit
        noise = 1.4826 * float(np.median(np.abs(_sample(level))))
    else:  # flat paper: no lighting and no noise
        level, noise = gray - tone, 0.0
    floor = max(4.0 * noise, MIN_CONTRAST)
    # Polarity: ink is the one-sided tail far from the paper, darker or lighter.
    # Weighing how far each pixel lies beyond the noise, rather than taking
    # percentiles, still sees a 1-px stroke covering 0.02% of a large canvas.
    darker = np.clip(-level - floor, 0, None).sum()
    lighter = np.clip(level - floor, 0, None).sum()
    if darker > lighter:
        level = -level
    return level.astype(np.float32), floor


def strength(level: np.ndarray, floor: float) -> np.ndarray:
    """Ink strength in [0, 1] on a background of exactly 0, from `level`'s level and floor.

    Full ink is what the strokes' cores reach; a tenth of it is the least that
    counts, which drops faint shadows and texture of strong images but keeps
    antialiased edges (a higher floor thins strokes and costs accuracy).
    """
    above = level[level > floor]
    if above.size == 0:
        return np.zeros_like(level, dtype=np.float32)
    # np.percentile(above, 95), without its checks: a third of this function's time on a pad's canvas.
    position = 0.95 * (above.size - 1)
    low = int(position)
    high = min(low + 1, above.size - 1)
    sorted_there = np.partition(above, (low, high))
    full = float(sorted_there[low] + (position - low) * (sorted_there[high] - sorted_there[low]))
    floor = max(floor, 0.1 * full)
    if full <= floor:
        return np.zeros_like(level, dtype=np.float32)
    return np.clip((level - floor) / (full - floor), 0.0, 1.0).astype(np.float32)


def _sample(array: np.ndarray, size: int = 65_536) -> np.ndarray:
    """A strided subsample for statistics: medians of a 12-megapixel photo need not see every pixel."""
    step = max(1, int(np.sqrt(array.size / size)))
    return array[::step, ::step].ravel()


def fit(gray: np.ndarray, grid: int = 48, rounds: int = 5) -> np.ndarray:
    """The paper's level at each pixel: a smooth (quadratic) fit, for uneven lighting.

    Fitted on a coarse average of the image; each round leaves out the cells
    lying far from the fit on either side, which hold the ink, whether it is
    darker or lighter than the paper (a median-based spread ignores up to half
    the cells being ink).
    """
    h, w = gray.shape
    coarse = np.asarray(Image.fromarray(gray.astype(np.float32)).resize((min(w, grid), min(h, grid)), Image.Resampling.BOX))
    v, u = (a.ravel() for a in np.meshgrid(*(np.linspace(-1, 1, n) for n in coarse.shape), indexing="ij"))
    terms = np.stack([np.ones_like(u), v, v * v, u, u * v, u * u], axis=1)
    values = coarse.ravel()
    # Start from a flat paper (the cells near the median) so that a digit filling
    # the image cannot pass for a bump of light.
    centre = np.median(values)
    keep = np.abs(values - centre) <= 2.5 * 1.4826 * np.median(np.abs(values - centre)) + 2e-3
    for _ in range(rounds):
        kept = terms[keep]
        # Normal equations, with a touch of damping for the few-cell images.
        coef = np.linalg.solve(kept.T @ kept + 1e-6 * np.eye(6), kept.T @ values[keep])
        residual = values - terms @ coef
        centre = np.median(residual[keep])
        spread = 1.4826 * np.median(np.abs(residual[keep] - centre)) + 2e-3
        keep = np.abs(residual - centre) < 2.5 * spread
        if keep.sum() < 12:
            break
    c = coef.astype(np.float32)
    y, x = np.linspace(-1, 1, h, dtype=np.float32)[:, None], np.linspace(-1, 1, w, dtype=np.float32)[None, :]
    # Evaluated as three full-size passes rather than six.
    paper = (c[0] + c[1] * y + c[2] * y * y) + (c[3] + c[4] * y) * x + c[5] * x * x + float(centre)
    # Where no paper was seen (under a large digit) the fit may only extrapolate
    # up to the paper levels seen elsewhere.
    seen = values[keep] - residual[keep] + centre
    return np.clip(paper, seen.min(), seen.max())
