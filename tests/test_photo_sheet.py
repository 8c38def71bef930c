"""A whole sheet in the photo: the desk shows all around it, and a faint pen's digit is the only ink on it."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from digitcli import preprocess, sheet

from test_photos import H, W, clean, correlation, draw, photo


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


def test_the_sheet_is_found_where_a_rough_desk_lies_around_it_and_not_on_paper_alone():
    rng = np.random.default_rng(2)
    level = rng.normal(0, 0.01, (H, W)).astype(np.float32)
    desk = np.ones((H, W), bool)
    desk[60:420, 160:480] = False
    level[200:210, 250:400] += 0.12  # a faint stroke, standing out less than the desk's grain
    rough = level + np.where(desk, np.kron(rng.normal(0, 0.05, (H // 6 + 1, W // 6 + 1)), np.ones((6, 6)))[:H, :W], 0)
    paper = sheet.sheet(rough.astype(np.float32))
    assert paper is not None and paper[100:380, 200:440].all() and not paper[desk].any()
    assert sheet.sheet(level) is None  # paper all over the frame
    rough[200:210, 250:400] += 0.5  # a pen much stronger than the grain: the desk hides nothing
    assert sheet.sheet(rough.astype(np.float32)) is None


def test_a_faint_digit_on_a_sheet_on_a_desk_grainier_than_its_strokes_is_the_digit():
    """The desk's grain stands out from it more than the faint pen does, and covers most of the frame."""
    rng = np.random.default_rng(3)
    ink = draw("3", 3) * 0.25
    grain = np.kron(rng.normal(0, 1, (H // 5 + 1, W // 5 + 1)), np.ones((5, 5)))[:H, :W]
    yy, xx = np.mgrid[0:H, 0:W]
    on_sheet = (np.abs(xx - W / 2) < 160) & (np.abs(yy - H / 2) < 200)
    scene = np.where(on_sheet, 0.9 * (1 - ink) + 0.1 * ink, 0.5 * (1 + 0.3 * grain)) + rng.normal(0, 0.01, (H, W))
    image = Image.fromarray((np.clip(scene, 0, 1) * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8))
    assert correlation(preprocess.to_mnist(image), clean("3", 3)) > 0.8


def small_sheet(shape: str, desk: float, faint: float, grain: float = 0.0, light=None, seed: int = 4) -> Image.Image:
    """A `shape` on a sheet a third of the frame, tilted, on a desk of tone `desk` (grain: the desk's relative grain)."""
    rng = np.random.default_rng(seed)
    ink = draw(shape, 3) * faint
    scene = np.array((0.92, 0.91, 0.88), np.float32) * (1 - ink[..., None]) + np.array((0.1, 0.1, 0.12), np.float32) * ink[..., None]
    yy, xx = np.mgrid[0:H, 0:W]
    on_sheet = (xx > 200 + 0.05 * yy) & (xx < 470) & (yy > 90 + 0.04 * xx) & (yy < 420)
    wood = desk * (1 + grain * np.kron(rng.normal(0, 1, (H // 6 + 1, W // 6 + 1)), np.ones((6, 6)))[:H, :W])
    scene = np.where(on_sheet[..., None], scene, wood[..., None] * np.array((1.0, 0.9, 0.8)))
    if light is not None:
        scene = scene * light[..., None]
    scene = scene + rng.normal(0, 0.03, scene.shape)
    return Image.fromarray((np.clip(scene, 0, 1) * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8))


def test_a_small_sheet_on_a_dark_smooth_desk_is_the_digit_not_the_sheet():
    """The desk fills most of the frame and is darker than the pen's ink on the sheet: the sheet is not the ink."""
    for faint in (1.0, 0.3):
        assert correlation(preprocess.to_mnist(small_sheet("3", 0.2, faint)), clean("3", 3)) > 0.9


def test_a_faint_digit_on_a_small_sheet_on_a_grey_grainy_desk_is_the_digit():
    """The desk's grain is weaker than the sheet's edge but about as strong as the faint pen."""
    x = preprocess.to_mnist(small_sheet("8", 0.45, 0.35, grain=0.06))
    assert correlation(x, clean("8", 3)) > 0.9


def test_the_sheet_is_found_by_its_sharp_edge_and_a_soft_shadow_is_not_an_edge():
    yy, xx = np.mgrid[0:H, 0:W]
    shade = 1 - 0.45 / (1 + np.exp(-(xx + 0.4 * yy - W * 0.6) / 12))  # a cast shadow's soft edge across the frame
    gray = np.asarray(small_sheet("8", 0.25, 1.0, light=shade).convert("L"), np.float32) / 255
    paper = sheet.sheet_by_edge(gray)
    assert paper is not None and paper[150:360, 260:420].all()  # the sheet, in light and in shade, without its edge
    assert not paper[:60].any() and not paper[:, :180].any() and not paper[:, 490:].any()  # and no desk
    assert sheet.sheet_by_edge(np.asarray(photo(draw("8", 14), light=shade).convert("L"), np.float32) / 255) is None


def test_the_edge_of_a_sheet_on_a_light_grainy_desk_is_not_left_as_bars():
    """The desk left around the sheet in the cut becomes paper carried on from the sheet: no step along its edge."""
    x = preprocess.to_mnist(small_sheet("8", 0.7, 0.2, grain=0.2, seed=7))
    assert correlation(x, clean("8", 3)) > 0.9


def test_a_sheet_found_by_its_edge_sets_the_polarity_dark_ink_on_light_paper():
    """Ink near the sheet's edge may touch the cut's border, where the local polarity test does not count it."""
    gray = np.asarray(small_sheet("3", 0.2, 1.0).convert("L"), np.float32) / 255
    for level, sign in ((0.5 - gray, 1.0), (gray - 0.5, -1.0)):  # the ink (darker) as the positive side, or not
        cut, polarity = sheet.on_sheet(level.astype(np.float32), gray)
        assert polarity == sign and cut.shape[0] < gray.shape[0] and cut.shape[1] < gray.shape[1]
    rough = np.random.default_rng(0).normal(0, 0.01, gray.shape).astype(np.float32)
    assert sheet.on_sheet(rough, np.full(gray.shape, 0.9, np.float32))[1] is None  # no sheet seen: not known
