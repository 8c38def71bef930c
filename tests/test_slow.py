"""Full training runs, the accuracy claims behind the README. Run with `pytest -m slow` (a few minutes)."""

from __future__ import annotations

import pytest

from digitcli import store

from conftest import invoke

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("model,floor", [("mlp", 0.96), ("cnn", 0.993)])
def test_full_training_on_the_bundled_data(tmp_path, model, floor):
    target = tmp_path / f"{model}.keras"
    result = invoke("train", "--model", model, "--data", "bundled", "--output", str(target), "--progress", "none")
    assert result.exit_code == 0, result.output
    meta = store.read_metadata(target)
    assert meta["test_accuracy"] >= floor
    assert meta["litert"] is True
