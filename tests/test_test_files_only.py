"""`eval`, `predict` and `show` need only MNIST's two test files; `--seed` draws nested samples."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import invoke, tiny_arrays, write_idx_dir, write_npz


@pytest.fixture
def test_dir(tmp_path):
    """A directory holding only t10k-images and t10k-labels (20 random images)."""
    directory = write_idx_dir(tmp_path / "t10k")
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        (directory / name).unlink()
    return directory


def test_eval_predict_and_show_work_from_the_test_files_alone(tiny_model, test_dir):
    result = invoke("eval", "--model", str(tiny_model), "--data", str(test_dir), "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr == f"Data: MNIST IDX files in {test_dir}: 20 test images\n"
    assert json.loads(result.stdout)["n"] == 20

    result = invoke("predict", "--model", str(tiny_model), "--data", str(test_dir), "--samples", "4", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 5

    for args in (["show", "samples", "--count", "3"], ["show", "misclassified", "--model", str(tiny_model)]):
        result = invoke(*args, "--data", str(test_dir))
        assert result.exit_code == 0, result.output


def test_training_or_showing_training_images_without_the_training_files_says_what_is_missing(test_dir, tmp_path):
    result = invoke("train", "--data", str(test_dir), "--output", str(tmp_path / "m.keras"))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {test_dir} has no train-images-idx3-ubyte (or train-images-idx3-ubyte.gz); "
        "training needs the four MNIST IDX files (train-* and t10k-*)\n"
    )
    assert not (tmp_path / "m.keras").exists()
    result = invoke("show", "samples", "--train", "--data", str(test_dir))
    assert result.exit_code == 1
    assert "has no train-images-idx3-ubyte (or train-images-idx3-ubyte.gz); training needs" in result.stderr


def test_a_directory_without_the_test_files_names_them(tiny_model, tmp_path):
    (tmp_path / "empty").mkdir()
    result = invoke("eval", "--model", str(tiny_model), "--data", str(tmp_path / "empty"))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {tmp_path / 'empty'} has no t10k-images-idx3-ubyte (or t10k-images-idx3-ubyte.gz); it needs at "
        "least the two test files t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (raw or .gz)\n"
    )


def test_an_npz_of_the_test_set_alone(tiny_model, tmp_path):
    _, _, x_test, y_test = tiny_arrays()
    path = tmp_path / "test.npz"
    np.savez(path, x_test=x_test, y_test=y_test)
    result = invoke("eval", "--model", str(tiny_model), "--data", str(path), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n"] == 20
    result = invoke("train", "--data", str(path), "--output", str(tmp_path / "m.keras"))
    assert result.exit_code == 1
    assert result.stderr == f"Error: {path} has no array 'x_train'; it needs x_train, y_train, x_test, y_test\n"


def test_a_full_npz_still_loads_for_eval(tiny_model, tmp_path):
    result = invoke("eval", "--model", str(tiny_model), "--data", str(write_npz(tmp_path / "all.npz")), "--json")
    assert result.exit_code == 0
    assert result.stderr == f"Data: MNIST .npz {tmp_path / 'all.npz'}: 60 training and 20 test images\n"


def _indices(model, *args) -> list[int]:
    result = invoke("predict", "--model", str(model), "--format", "csv", *args)
    assert result.exit_code == 0, result.output
    return [int(line.split(",")[0]) for line in result.stdout.splitlines()[1:]]


@pytest.mark.parametrize("wrong", [[], ["--wrong"]], ids=["all", "wrong"])
def test_samples_with_a_seed_are_nested(tiny_model, wrong):
    drawn = [_indices(tiny_model, "--seed", "7", "--samples", str(n), *wrong) for n in (1, 2, 6)]
    for shorter, longer in zip(drawn, drawn[1:]):
        assert longer[: len(shorter)] == shorter
    assert len(set(drawn[-1])) == 6
    assert _indices(tiny_model, "--seed", "8", "--samples", "3", *wrong) != drawn[2]
