"""`digits robustness`: the command's output, and each transform against an independent oracle."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from digitcli import data, robustness
from digitcli.robustness import Condition

from conftest import invoke

KEYS = ["model", "condition", "severity", "accuracy", "n"]


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    """Sixty real test digits as floats in [0, 1]."""
    return data.load("bundled").x_test[:60].astype(np.float32) / 255


def rows_of(*args: str) -> list[dict]:
    result = invoke("robustness", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # stdout holds the JSON and nothing else


def test_json_is_tidy_rows_and_the_clean_row_is_evals_accuracy(tiny_model):
    rows = rows_of("--model", str(tiny_model), "--limit", "40")
    sweep = robustness.conditions()
    assert len(rows) == len(sweep) >= 25
    assert all(list(row) == KEYS for row in rows)
    assert [(r["condition"], r["severity"]) for r in rows] == [(c.name, c.severity) for c in sweep]
    assert rows[0]["condition"] == "clean" and rows[0]["severity"] is None
    assert {r["model"] for r in rows} == {str(tiny_model)} and {r["n"] for r in rows} == {40}
    assert all(0 <= r["accuracy"] <= 1 and r["accuracy"] * 40 == round(r["accuracy"] * 40) for r in rows)
    names = {r["condition"] for r in rows}
    assert names == {"clean", "rotation", "shear", "scale", "translation", "thinner", "thicker", "blur",
                     "gaussian noise", "salt and pepper", "elastic"}
    angles = [r["severity"] for r in rows if r["condition"] == "rotation"]
    assert min(angles) <= -60 and max(angles) >= 60
    scored = invoke("eval", "--model", str(tiny_model), "--limit", "40", "--json")
    assert rows[0]["accuracy"] == json.loads(scored.stdout)["accuracy"]


def test_the_same_seed_gives_the_same_rows_and_limit_cuts_the_test_set(tiny_model):
    first = rows_of("--model", str(tiny_model), "--limit", "30", "--seed", "3")
    assert first == rows_of("--model", str(tiny_model), "--limit", "30", "--seed", "3")
    assert {r["n"] for r in first} == {30}


def test_two_models_side_by_side(tiny_model, tmp_path):
    other = shutil.copy(tiny_model, tmp_path / "other.keras")
    rows = rows_of("--model", str(tiny_model), "--model", str(other), "--limit", "30")
    assert [r["model"] for r in rows[:2]] == [str(tiny_model), str(other)]
    assert len(rows) == 2 * len(robustness.conditions())
    # The same weights under the same transforms score the same, condition by condition.
    assert [r["accuracy"] for r in rows[0::2]] == [r["accuracy"] for r in rows[1::2]]
    result = invoke("robustness", "--model", str(tiny_model), "--model", str(other), "--limit", "30")
    assert result.exit_code == 0, result.output
    header = next(line for line in result.stdout.splitlines() if "condition" in line)
    assert header.split("┃")[1:-1] == [" condition          ", " severity ", " tiny.keras ", "  drop ",
                                       " other.keras ", "  drop "]
    assert "mean of the others" in result.stdout
    assert "accuracy (%) against rotation" in result.stdout and "other.keras" in result.stdout
    assert result.stdout.splitlines()[:2] == [f"Model: {tiny_model} (LiteRT)", f"Model: {other} (LiteRT)"]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "missing.keras", "Error: model file {path} does not exist"),
        (lambda d: (d / "notes.keras").write_text("hello") and d / "notes.keras",
         "Error: {path} is not a digits model file (expected a Keras .keras zip; legacy HDF5 files are not loaded)"),
    ],
)
def test_a_bad_model_is_one_line_before_any_work(tiny_model, tmp_path, make, message):
    path = make(tmp_path)
    result = invoke("robustness", "--model", str(tiny_model), "--model", str(path), "--limit", "10")
    assert result.exit_code == 1
    assert result.stderr == message.format(path=path) + "\n"
    assert result.stdout == ""


def test_a_limit_beyond_the_test_set_is_refused(tiny_model):
    result = invoke("robustness", "--model", str(tiny_model), "--limit", "20000")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == "Error: --limit 20,000 is larger than the 10,000 test images available"
    assert invoke("robustness", "--limit", "0").exit_code == 2


# --- transforms, each against an oracle that does not share its code ----------------


def test_quarter_turns_are_numpys_rot90(digits):
    np.testing.assert_allclose(robustness.rotate(digits, 90), np.rot90(digits, 1, axes=(1, 2)), atol=1e-5)
    np.testing.assert_allclose(robustness.rotate(digits, -90), np.rot90(digits, -1, axes=(1, 2)), atol=1e-5)


def test_neutral_severities_are_the_identity(digits):
    rng = np.random.default_rng(0)
    for same in (robustness.rotate(digits, 0), robustness.scale(digits, 1.0),
                 robustness.shear(digits, 0.0, np.ones(60)), robustness.translate(digits, 0, np.zeros(60)),
                 robustness.gaussian_noise(digits, 0.0, rng), robustness.salt_and_pepper(digits, 0.0, rng),
                 robustness.elastic(digits, 0.0, rng), robustness.thicken(digits, 1), robustness.thin(digits, 1)):
        np.testing.assert_allclose(same, digits, atol=1e-5)


def test_whole_pixel_shifts_move_the_digit(digits):
    right = robustness.translate(digits, 3, np.zeros(60))
    np.testing.assert_allclose(right[:, :, 3:], digits[:, :, :-3], atol=1e-5)
    down = robustness.translate(digits, 2, np.full(60, np.pi / 2))
    np.testing.assert_allclose(down[:, 2:, :], digits[:, :-2, :], atol=1e-5)


def test_stroke_width_changes_the_ink(digits):
    ink = digits.sum(axis=(1, 2))
    thicker, thinner = robustness.thicken(digits, 2), robustness.thin(digits, 2)
    assert (thicker.sum(axis=(1, 2)) > ink).all() and (thinner.sum(axis=(1, 2)) < ink).all()
    assert (thicker >= digits - 1e-6).all() and (thinner <= digits + 1e-6).all()
    # Dilation by a 3x3 square is the max over the pixel's neighbourhood, worked out here by padding.
    padded = np.pad(digits, ((0, 0), (1, 1), (1, 1)))
    neighbourhood = np.max([padded[:, r:r + 28, c:c + 28] for r in range(3) for c in range(3)], axis=0)
    np.testing.assert_allclose(robustness.thicken(digits, 3), neighbourhood)


def test_scaling_and_blur_behave_as_their_names_say(digits):
    ink = digits.sum(axis=(1, 2))
    small = robustness.scale(digits, 0.5)
    np.testing.assert_allclose(small.sum(axis=(1, 2)), ink * 0.25, rtol=0.1)
    blurred = robustness.smooth(digits, 1.0)
    assert (blurred.max(axis=(1, 2)) < digits.max(axis=(1, 2))).all()
    np.testing.assert_allclose(blurred.sum(axis=(1, 2)), ink, rtol=0.02)  # digits sit away from the edges
    point = np.zeros((1, 28, 28), np.float32)
    point[0, 14, 14] = 1
    spread = robustness.smooth(point, 1.0)[0, 14, 12:17]
    np.testing.assert_allclose(spread / spread[2], np.exp(-0.5 * np.arange(-2, 3) ** 2), rtol=1e-5)


def test_noise_specks_and_seeds(digits):
    specked = robustness.salt_and_pepper(digits, 0.1, np.random.default_rng(1))
    changed = np.mean(~np.isclose(specked, digits))
    assert 0.05 < changed < 0.1  # a tenth drawn; the ones that land on equal values do not show
    noisy = robustness.gaussian_noise(np.full((20, 28, 28), 0.5, np.float32), 0.1, np.random.default_rng(2))
    assert noisy.std() == pytest.approx(0.1, rel=0.05)
    condition = Condition("elastic", 34.0, "")
    same = robustness.apply(condition, digits, seed=5, index=1)
    np.testing.assert_array_equal(same, robustness.apply(condition, digits, seed=5, index=1))
    assert not np.allclose(same, robustness.apply(condition, digits, seed=6, index=1))
    assert robustness.apply(Condition("clean", None, ""), digits, seed=0) is digits
