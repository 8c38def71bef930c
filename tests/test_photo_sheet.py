"""A whole sheet in the photo: the desk shows all around it, and a faint pen's digit is the only ink on it."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from digitcli import preprocess

from test_photos import H, W, clean, correlation, draw


def sheet_on_a_desk(shape: str, desk: float, seed: int = 0) -> Image.Image:
    """A faint, thin `shape` on a sheet lying wholly inside the frame, on a textured desk of tone `desk`."""
    rng = np.random.default_rng(seed)
    ink = draw(shape, 3) * 0.35
    scene = np.array((0.92, 0.91, 0.88), np.float32) * (1 - ink[..., None]) + np.array((0.1, 0.1, 0.12), np.float32) * ink[..., None]
    yy, xx = np.mgrid[0:H, 0:W]
    on_sheet = (xx > 150 + 0.05 * yy) & (xx < 500) & (yy > 30 + 0.04 * xx) & (yy < 455)  # tilted a little
    grain = np.kron(rng.normal(0, 1, (H // 6 + 1, W // 6 + 1)), np.ones((6, 6)))[:H, :W]
    wood = desk * (1 + 0.12 * grain)[..., None] * np.array((1.0, 0.85, 0.7))
    scene = np.where(on_sheet[..., None], scene, wood) + rng.normal(0, 0.01, scene.shape)
    return Image.fromarray((np.clip(scene, 0, 1) * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8))


def test_a_faint_digit_on_a_whole_sheet_on_a_dark_desk_is_the_digit_not_the_sheet():
    """The sheet's corners stand out from the desk more than the faint pen does; they are not the ink."""
    x = preprocess.to_mnist(sheet_on_a_desk("3", 0.3))
    assert correlation(x, clean("3", 3)) > 0.8


def test_the_grain_of_a_light_desk_around_the_sheet_is_not_taken_for_the_digit():
    """A desk lighter than the sheet's shadowed side but grainy: its specks near the sheet's edges go."""
    x = preprocess.to_mnist(sheet_on_a_desk("8", 0.65, seed=1))
    assert correlation(x, clean("8", 3)) > 0.8
