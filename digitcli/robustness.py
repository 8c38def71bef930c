"""How well a model holds up when digits are tilted, slanted, small, thick, blurred or noisy.

The sweep is a fixed, seeded list of conditions over the test set. Every
transform works on the whole batch at once with numpy (no loop over images):
warps build one source coordinate per output pixel and sample bilinearly,
stroke width and blur are small separable filters, noise is drawn for the
whole array. Each condition's images are made once and scored by every model,
so comparing models costs one transform per condition.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

SIDE = 28
CENTRE = (SIDE - 1) / 2
ELASTIC_SIGMA = 4.0  # smoothing of the elastic field, in pixels (Simard et al. 2003)


@dataclass(frozen=True)
class Condition:
    name: str
    severity: float | None  # None for the clean images
    unit: str  # what the severity measures, for the README and help


@dataclass
class Row:
    model: str
    condition: str
    severity: float | None
    accuracy: float
    n: int

    def to_json(self) -> dict:
        return asdict(self)


# --- transforms: float images (n, 28, 28) in [0, 1] in, the same shape out ----------


def sample(images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Bilinear samples at source coordinates; outside the frame is paper (0).

    The coordinates are (28, 28), shared by every image (one gather per corner for the
    whole batch), or (n, 28, 28), one map per image.
    """
    shared = rows.ndim == 2
    flat = images.reshape(len(images), SIDE * SIDE) if shared else images.reshape(-1)
    offset = 0 if shared else (np.arange(len(images)) * SIDE * SIDE)[:, None, None]
    r0, c0 = np.floor(rows), np.floor(cols)
    fr, fc = rows - r0, cols - c0
    r0, c0 = r0.astype(np.int64), c0.astype(np.int64)
    out = np.zeros(images.shape, np.float32)
    for dr, wr in ((0, 1 - fr), (1, fr)):
        for dc, wc in ((0, 1 - fc), (1, fc)):
            r, c = r0 + dr, c0 + dc
            inside = (r >= 0) & (r < SIDE) & (c >= 0) & (c < SIDE)
            where = offset + np.clip(r, 0, SIDE - 1) * SIDE + np.clip(c, 0, SIDE - 1)
            values = flat[:, where] if shared else flat[where]
            out += (wr * wc * inside).astype(np.float32) * values
    return out


def affine(images: np.ndarray, inverse: np.ndarray, shift: np.ndarray | None = None) -> np.ndarray:
    """Warp about the centre: output pixel p samples the input at inverse @ (p - centre - shift) + centre.

    `inverse` is (2, 2), or one (n, 2, 2) per image, in (row, column) order; `shift` is (n, 2) pixels.
    """
    grid = np.stack(np.mgrid[0:SIDE, 0:SIDE], axis=-1).astype(np.float64) - CENTRE  # (28, 28, 2)
    if inverse.ndim == 2 and shift is None:
        source = grid @ inverse.T + CENTRE
    else:
        n = len(images)
        grid = np.broadcast_to(grid, (n, SIDE, SIDE, 2))
        if shift is not None:
            grid = grid - shift[:, None, None, :]
        source = np.einsum("nij,nrcj->nrci", np.broadcast_to(inverse, (n, 2, 2)), grid) + CENTRE
    return sample(images, source[..., 0], source[..., 1])


def rotate(images: np.ndarray, degrees: float) -> np.ndarray:
    """Turn every digit `degrees` counter-clockwise (negative: clockwise)."""
    t = math.radians(degrees)
    return affine(images, np.array([[math.cos(t), math.sin(t)], [-math.sin(t), math.cos(t)]]))


def shear(images: np.ndarray, slant: float, signs: np.ndarray) -> np.ndarray:
    """Slant each digit: its top moves `slant` x height sideways, right or left by `signs` (+-1)."""
    out = np.empty(images.shape, np.float32)
    for sign in (-1, 1):  # one shared warp per direction
        chosen = signs == sign
        out[chosen] = affine(images[chosen], np.array([[1.0, 0.0], [sign * slant, 1.0]]))
    return out


def scale(images: np.ndarray, factor: float) -> np.ndarray:
    """Resize each digit about the centre by `factor` (0.6: 60 % of its size)."""
    return affine(images, np.eye(2) / factor)


def translate(images: np.ndarray, pixels: float, directions: np.ndarray) -> np.ndarray:
    """Move each digit `pixels` along its own direction (radians).

    A shift is separable, so each image is moved as rows @ image @ columns.T with its
    own 28 x 28 interpolation matrices: one batched matrix product for the whole set.
    """
    rows = _shift_matrices(pixels * np.sin(directions))
    cols = _shift_matrices(pixels * np.cos(directions))
    return (rows @ images.astype(np.float32) @ cols.transpose(0, 2, 1)).astype(np.float32)


def _shift_matrices(shifts: np.ndarray) -> np.ndarray:
    """(n, 28, 28) linear-interpolation matrices: row i of matrix k reads position i - shifts[k]."""
    source = np.arange(SIDE)[None, :, None] - shifts[:, None, None]  # (n, 28, 1)
    weight = np.maximum(0.0, 1.0 - np.abs(source - np.arange(SIDE)[None, None, :]))
    return weight.astype(np.float32)


def _shifted(images: np.ndarray, size: int) -> Iterator[np.ndarray]:
    """Every shift of a size x size window, as whole arrays, edges padded with paper."""
    before = (size - 1) // 2
    padded = np.pad(images, ((0, 0), (before, size - 1 - before), (before, size - 1 - before)))
    for dr in range(size):
        for dc in range(size):
            yield padded[:, dr : dr + SIDE, dc : dc + SIDE]


def thicken(images: np.ndarray, size: int) -> np.ndarray:
    """Grey dilation with a size x size square: strokes grow by size - 1 pixels."""
    return np.maximum.reduce(list(_shifted(images, size)))


def thin(images: np.ndarray, size: int) -> np.ndarray:
    """Grey erosion with a size x size square: strokes lose size - 1 pixels."""
    return np.minimum.reduce(list(_shifted(images, size)))


def smooth(images: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of each image, the frame's outside counting as paper: K @ image @ K.T."""
    offsets = np.arange(SIDE)[:, None] - np.arange(SIDE)[None, :]
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= np.exp(-0.5 * (np.arange(-SIDE, SIDE + 1) / sigma) ** 2).sum()
    kernel = kernel.astype(np.float32)
    return (kernel @ images.astype(np.float32) @ kernel.T).astype(np.float32)


def gaussian_noise(images: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(images + rng.normal(0, sigma, images.shape), 0, 1).astype(np.float32)


def salt_and_pepper(images: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Set `fraction` of the pixels to ink or paper, half each."""
    draws = rng.random(images.shape)
    out = images.copy()
    out[draws < fraction / 2] = 1.0
    out[(draws >= fraction / 2) & (draws < fraction)] = 0.0
    return out


def elastic(images: np.ndarray, alpha: float, rng: np.random.Generator, sigma: float = ELASTIC_SIGMA) -> np.ndarray:
    """Simard et al. (2003): displace every pixel by a smoothed random field scaled by `alpha`."""
    fields = [alpha * smooth(rng.uniform(-1, 1, images.shape).astype(np.float32), sigma) for _ in range(2)]
    rows, cols = np.mgrid[0:SIDE, 0:SIDE]
    return sample(images, rows + fields[0], cols + fields[1])


# --- the sweep ---------------------------------------------------------------


def _signs(rng, n):
    return rng.choice([-1.0, 1.0], n)


TRANSFORMS: dict[str, tuple[str, Sequence[float], Callable]] = {
    # name: (unit of severity, severities, transform(images, severity, rng))
    "rotation": ("degrees, counter-clockwise", (-60, -45, -30, -15, 15, 30, 45, 60), lambda x, s, rng: rotate(x, s)),
    "shear": ("slant (sideways shift / height), left or right at random", (0.3, 0.5),
              lambda x, s, rng: shear(x, s, _signs(rng, len(x)))),
    "scale": ("size factor", (0.6, 0.75, 1.25), lambda x, s, rng: scale(x, s)),
    "translation": ("pixels, in a random direction", (3, 5),
                    lambda x, s, rng: translate(x, s, rng.uniform(0, 2 * math.pi, len(x)))),
    "thinner": ("pixels of stroke removed (grey erosion)", (1,), lambda x, s, rng: thin(x, int(s) + 1)),
    "thicker": ("pixels of stroke added (grey dilation)", (1, 2), lambda x, s, rng: thicken(x, int(s) + 1)),
    "blur": ("Gaussian sigma, pixels", (1.0, 1.5), lambda x, s, rng: smooth(x, s)),
    "gaussian noise": ("sigma on [0, 1]", (0.1, 0.2, 0.3), lambda x, s, rng: gaussian_noise(x, s, rng)),
    "salt and pepper": ("fraction of pixels", (0.02, 0.05, 0.1), lambda x, s, rng: salt_and_pepper(x, s, rng)),
    "elastic": (f"alpha, field smoothed with sigma {ELASTIC_SIGMA:g}", (34, 45), lambda x, s, rng: elastic(x, s, rng)),
}


def conditions() -> list[Condition]:
    """The clean images first, then every transform at each severity."""
    found = [Condition("clean", None, "")]
    for name, (unit, severities, _) in TRANSFORMS.items():
        found += [Condition(name, float(s), unit) for s in severities]
    return found


def apply(condition: Condition, images: np.ndarray, seed: int, index: int = 0) -> np.ndarray:
    """The images under one condition; uint8 clean images are passed through unchanged.

    Each condition draws from its own seeded stream, so its images do not depend on
    which conditions ran before it.
    """
    if condition.severity is None:
        return images
    x = images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images.astype(np.float32)
    transform = TRANSFORMS[condition.name][2]
    return transform(x, condition.severity, np.random.default_rng([seed, index]))


def sweep(
    models: dict[str, Callable[[np.ndarray], np.ndarray]],
    images: np.ndarray,
    labels: np.ndarray,
    seed: int = 0,
    on_step: Callable[[], None] | None = None,
) -> list[Row]:
    """Accuracy of each model (name -> probabilities function) under every condition.

    The clean row scores the images exactly as `digits eval` does.
    """
    rows = []
    for index, condition in enumerate(conditions()):
        transformed = apply(condition, images, seed, index)
        for name, probabilities in models.items():
            predicted = probabilities(transformed).argmax(axis=1)
            accuracy = int(np.sum(predicted == labels)) / len(labels)  # as digitcli.evaluate counts
            rows.append(Row(name, condition.name, condition.severity, accuracy, len(labels)))
            if on_step:
                on_step()
    return rows


def mean_transformed(rows: list[Row], model: str) -> float:
    """Mean accuracy over the non-clean conditions."""
    return float(np.mean([r.accuracy for r in rows if r.model == model and r.condition != "clean"]))
