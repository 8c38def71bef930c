"""Interrupts, resume, determinism and diverging training, on real `digits train` runs."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from digitcli import checkpoint, store

from conftest import flat, invoke, sha256, tiny_arrays, write_npz

DIGITS = str(Path(sys.executable).with_name("digits"))
MLP = ["--model", "mlp", "--limit", "3000", "--progress", "plain"]
# Small batches make each epoch ~170 steps long: the signal, sent the moment an
# epoch's line appears, always lands inside the next epoch.
SLOW_EPOCHS = ["--model", "mlp", "--limit", "3000", "--batch-size", "16", "--progress", "plain"]


def run_until(args: list[str], cwd: Path, epoch_line: str, sig: int) -> tuple[int, str]:
    """Start `digits ARGS`, send `sig` once stderr shows `epoch_line`; return exit code and stderr."""
    env = {**os.environ, "DIGITS_DATA": "bundled"}
    process = subprocess.Popen([DIGITS, *args], cwd=cwd, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    seen = []
    for line in process.stderr:
        seen.append(line)
        if line.startswith(epoch_line):
            process.send_signal(sig)
            break
    seen.extend(process.stderr)
    return process.wait(timeout=300), "".join(seen)


def epochs_shown(log: str) -> list[str]:
    return [line.split()[1] for line in log.splitlines() if line.startswith("epoch ")]


def state_epochs(state: Path) -> int:
    saved = json.loads(store.read_member(state, "digits-resume.json"))
    assert len(saved["history"]["loss"]) == saved["epochs_done"]
    return saved["epochs_done"]


def test_the_signal_after_epoch_n_keeps_epoch_n_and_resume_starts_at_n_plus_1(tmp_path):
    """SIGINT after epoch 2, SIGTERM after epoch 5 of the resumed run, then a resume to the end."""
    state = tmp_path / "models" / "digits.keras.resume"
    code, log = run_until(["train", *SLOW_EPOCHS, "--epochs", "7"], tmp_path, "epoch 2/7", signal.SIGINT)
    assert code == 130, log
    assert epochs_shown(log) == ["1/7", "2/7"]
    assert log.endswith(
        "Interrupted by Ctrl-C after epoch 2 of 7; its state is saved in models/digits.keras.resume.\n"
        "Resume with: digits train --resume --output models/digits.keras\n"
    )
    assert state_epochs(state) == 2 and not (tmp_path / "models" / "digits.keras").exists()
    # A second way to the same weights: the same options and seed for 2 epochs (the mlp's rate is constant).
    two = invoke("train", *SLOW_EPOCHS, "--epochs", "2", "--output", str(tmp_path / "two.keras"))
    assert two.exit_code == 0, two.output
    kept, straight = checkpoint.load(state)[0].get_weights(), store.load(tmp_path / "two.keras")[0].get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(kept, straight, strict=True))

    code, log = run_until(["train", "--resume", *SLOW_EPOCHS], tmp_path, "epoch 5/7", signal.SIGTERM)
    assert code == 143, log
    assert "Resuming after epoch 2 of 7 from models/digits.keras.resume\n" in log
    assert epochs_shown(log) == ["3/7", "4/7", "5/7"]
    assert "Interrupted by SIGTERM after epoch 5 of 7; its state is saved in models/digits.keras.resume.\n" in log
    assert "Traceback" not in log
    assert state_epochs(state) == 5

    finished = invoke("train", "--resume", *SLOW_EPOCHS, "--output", str(tmp_path / "models" / "digits.keras"))
    assert finished.exit_code == 0, finished.output
    assert epochs_shown(finished.stderr) == ["6/7", "7/7"]
    assert not state.exists()
    meta = store.read_metadata(tmp_path / "models" / "digits.keras")
    assert [len(v) for v in meta["history"].values()] == [7, 7, 7, 7]
    losses = meta["history"]["loss"]
    assert losses == sorted(losses, reverse=True)  # one continuous, still-falling curve
    assert meta["test_accuracy"] > 0.85  # an mlp on 2,700 images: no epoch was lost or repeated badly


def test_a_signal_after_the_last_epoch_leaves_a_state_that_resumes_without_training(tmp_path):
    """While the model is scored, checked and saved, Ctrl-C keeps the finished run resumable."""
    output = tmp_path / "m.keras"
    args = ["--model", "mlp", "--limit", "600", "--epochs", "2", "--progress", "plain", "--output", str(output)]
    code, log = run_until(["train", *args], tmp_path, "epoch 2/2", signal.SIGINT)
    assert code == 130, log
    assert log.endswith(
        f"Interrupted by Ctrl-C after epoch 2 of 2; its state is saved in {output}.resume.\n"
        f"Resume with: digits train --resume --output {output}\n"
    )
    assert not output.exists() and state_epochs(tmp_path / "m.keras.resume") == 2
    finished = invoke("train", "--resume", *args)
    assert finished.exit_code == 0, finished.output
    assert "Resuming after epoch 2 of 2" in finished.stderr and epochs_shown(finished.stderr) == []
    assert finished.stdout.endswith(f"Saved model to {output}\n")
    assert len(store.read_metadata(output)["history"]["loss"]) == 2


def test_a_state_is_never_lost_or_mixed_up(tmp_path):
    output = tmp_path / "m.keras"
    state = tmp_path / "m.keras.resume"
    missing = invoke("train", "--resume", *MLP, "--output", str(output))
    assert missing.exit_code == 1
    assert missing.stderr == f"Error: there is no interrupted run to resume: {state} does not exist\n"
    code, _ = run_until(["train", *MLP, "--epochs", "50", "--output", str(output)], tmp_path, "epoch  2/50", signal.SIGINT)
    assert code == 130 and state.exists()
    before = sha256(state)
    fresh = invoke("train", *MLP, "--output", str(output))
    assert fresh.exit_code == 1
    assert "an interrupted run's state is in" in fresh.stderr and "--resume" in fresh.stderr
    changed = invoke("train", "--resume", *MLP, "--lr", "0.01", "--output", str(output))
    assert changed.exit_code == 2
    assert "--resume: --lr 0.01 differs from the interrupted run's 0.001" in flat(changed.stderr)
    other = write_npz(tmp_path / "other.npz", tiny_arrays(n_train=3500, n_test=100))
    other_data = invoke("train", "--resume", *MLP, "--output", str(output), "--data", str(other))
    assert other_data.exit_code == 1
    assert other_data.stderr.endswith(
        "Error: --resume: the data differs from the interrupted run's (its fingerprint does not match)\n"
    )
    assert sha256(state) == before


def test_the_same_seed_gives_identical_weights(tmp_path):
    paths = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.keras"
        result = invoke("train", "--limit", "600", "--epochs", "2", "--seed", "5", "--output", str(path), "--progress", "none")
        assert result.exit_code == 0, result.output
        paths.append(path)
    (first, meta_a), (second, meta_b) = (store.load(p) for p in paths)
    assert all(np.array_equal(x, y) for x, y in zip(first.get_weights(), second.get_weights()))
    assert meta_a["history"] == meta_b["history"] and meta_a["test_accuracy"] == meta_b["test_accuracy"]


@pytest.mark.parametrize(
    "lr,message",
    [
        ("1e20", r"the loss became nan in epoch 1; try a smaller --lr than 1e\+20"),
        ("1e6", r"the loss exploded to \d\.\d+e\+\d+ in epoch 1; try a smaller --lr than 1e\+06"),
    ],
)
def test_a_loss_that_explodes_stops_training_and_saves_nothing(tiny_model, tmp_path, lr, message):
    target = tmp_path / "keep.keras"
    target.write_bytes(tiny_model.read_bytes())
    before = sha256(target)
    result = invoke("train", "--model", "mlp", "--lr", lr, "--limit", "1000", "--epochs", "2",
                    "--output", str(target), "--overwrite")
    assert result.exit_code == 1
    assert re.fullmatch(f"Error: training failed: {message}; no model was saved", result.stderr.splitlines()[-1])
    assert sha256(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.keras"]


def test_the_same_state_resumes_to_the_same_model(tmp_path):
    output = tmp_path / "m.keras"
    state = tmp_path / "m.keras.resume"
    args = ["--model", "mlp", "--limit", "1000", "--epochs", "30", "--progress", "plain", "--output", str(output)]
    code, _ = run_until(["train", *args], tmp_path, "epoch  2/30", signal.SIGINT)
    assert code == 130
    saved = state.read_bytes()
    weights = []
    for name in ("a", "b"):
        state.write_bytes(saved)
        result = invoke("train", "--resume", *args, "--overwrite")
        assert result.exit_code == 0, result.output
        (tmp_path / f"{name}.keras").write_bytes(output.read_bytes())
        weights.append(store.load(tmp_path / f"{name}.keras")[0].get_weights())
    assert all(np.array_equal(x, y) for x, y in zip(*weights))


def test_a_damaged_state_says_so(tmp_path):
    output = tmp_path / "m.keras"
    (tmp_path / "m.keras.resume").write_bytes(b"not a zip at all")
    result = invoke("train", "--resume", *MLP, "--output", str(output))
    assert result.exit_code == 1
    assert result.stderr.endswith(
        f"Error: the saved training state {output}.resume is damaged or not a digits state; start afresh with --overwrite\n"
    )
    (tmp_path / "d.keras.resume").mkdir()
    blocked = invoke("train", *MLP, "--output", str(tmp_path / "d.keras"), "--overwrite")
    assert blocked.exit_code == 1
    assert "d.keras.resume is a directory, where this run would keep its resumable state; move it away" in blocked.stderr
