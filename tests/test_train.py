"""`digits train`: options, saved metadata, overwrite rules, plain output."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from digitcli import __version__, data, store

from conftest import device, flat, invoke, sha256, tiny_arrays, write_npz


@pytest.mark.parametrize("args", [["--help"], ["--version"], []])
def test_help_and_version_do_not_import_tensorflow_or_plotext(args):
    code = (
        "import sys\nfrom digitcli.cli import app\n"
        f"try:\n    app({args!r})\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'plotext') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout == f"digits {__version__}\n"


def test_tiny_training_run_saves_a_model_with_its_metadata(tiny_model):
    meta = store.read_metadata(tiny_model)
    assert meta["format"] == "digits-model"
    assert meta["architecture"] == "mlp"
    assert meta["training"] == {
        "model": "mlp", "epochs": 1, "batch_size": 128, "lr": 0.001,
        "val_split": 0.1, "seed": 0, "limit": 500,
        "optimizer": "adam", "hidden": [128], "dropout": 0.0, "width": None, "schedule": "constant", "augment": None,
    }
    assert meta["data"]["n_train"] == 450 and meta["data"]["n_val"] == 50 and meta["data"]["n_test"] == 10_000
    assert meta["data"]["fingerprint"] == data.load("bundled").fingerprint
    assert sorted(meta["history"]) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(len(v) == 1 for v in meta["history"].values())
    assert 0.4 < meta["test_accuracy"] <= 1.0  # one epoch of 450 images: well above chance (0.1), far from done
    assert meta["class_names"] == [str(d) for d in range(10)]
    assert meta["versions"]["digits"] == __version__
    assert {"tensorflow", "keras", "python"} <= set(meta["versions"])
    model, loaded_meta = store.load(tiny_model)
    assert loaded_meta == meta
    assert model.output_shape == (None, 10)


def test_plain_progress_has_one_line_per_epoch_and_no_control_codes(tmp_path):
    out = tmp_path / "m.keras"
    result = invoke("train", "--model", "mlp", "--epochs", "2", "--limit", "300", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\r" not in result.output
    lines = result.stderr.splitlines()
    assert lines[0] == "Data: bundled MNIST (offline copy): 24,345 training and 10,000 test images"
    assert lines[1] == f"Model: mlp, 2 epochs, batch 128, lr 0.001, validation split 0.1, seed 0, on {device()}"
    epoch_lines = [line for line in lines if line.startswith("epoch ")]
    assert [line.split()[1] for line in epoch_lines] == ["1/2", "2/2"]
    assert "val_acc" in epoch_lines[0]
    assert "loss" in result.stderr and "accuracy" in result.stderr and "epoch" in lines[-1]  # the charts
    stdout = result.stdout.splitlines()
    assert stdout[0].startswith("Test accuracy: ") and "on 10,000 test images" in stdout[0]
    assert stdout[1] == f"Saved model to {out}"
    accuracy = re.match(r"Test accuracy: (\d{1,3}\.\d\d%) \(loss \d+\.\d{4}\) on", stdout[0])
    assert accuracy and f"Test accuracy: {accuracy[1]} (" in invoke("eval", "--model", str(out)).stdout  # one format


def test_existing_output_is_kept_without_overwrite(tiny_model, tmp_path):
    target = tmp_path / "keep.keras"
    target.write_bytes(tiny_model.read_bytes())
    before = sha256(target)
    result = invoke("train", "--model", "mlp", "--epochs", "1", "--limit", "200", "--output", str(target))
    assert result.exit_code == 1
    assert result.stderr == f"Error: {target} already exists; pass --overwrite to replace it, or choose another --output\n"
    assert sha256(target) == before


def test_overwrite_replaces_the_model(tiny_model, tmp_path):
    target = tmp_path / "replace.keras"
    target.write_bytes(tiny_model.read_bytes())
    result = invoke("train", "--model", "mlp", "--epochs", "1", "--limit", "200", "--seed", "7",
                    "--output", str(target), "--overwrite", "--progress", "none")
    assert result.exit_code == 0, result.output
    assert store.read_metadata(target)["training"]["seed"] == 7
    assert [p.name for p in tmp_path.iterdir()] == ["replace.keras"]  # no temporary file left behind


def test_readme_legacy_options_and_h5_path(tmp_path):
    target = tmp_path / "handwritten_mlp.h5"
    result = invoke("train", "--model", "mlp", "--epochs", "1", "--batch_size", "64", "--limit", "200",
                    "--model_output", str(target), "--progress", "none")
    assert result.exit_code == 0, result.output
    assert zipfile.is_zipfile(target)  # always the Keras zip format, whatever the extension
    model, meta = store.load(target)
    assert meta["training"]["batch_size"] == 64
    assert model.input_shape == (None, 28, 28)


def test_default_cnn_trains_and_loads(tmp_path):
    target = tmp_path / "cnn.keras"
    result = invoke("train", "--epochs", "2", "--limit", "2000", "--output", str(target), "--progress", "none")
    assert result.exit_code == 0, result.output
    model, meta = store.load(target)
    assert meta["architecture"] == "cnn"
    assert meta["test_accuracy"] > 0.3  # ten classes: chance is 0.1


@pytest.mark.parametrize(
    "args,message",
    [
        (["--epochs", "0"], "Invalid value for '--epochs'"),
        (["--batch-size", "-5"], "Invalid value for '--batch-size'"),
        (["--val-split", "1.5"], "must be at least 0 and below 1, not 1.5"),
        (["--lr", "0"], "must be greater than 0, not 0.0"),
        (["--model", "resnet"], "Invalid value for '--model'"),
        (["--progress", "loud"], "Invalid value for '--progress'"),
    ],
)
def test_bad_options_are_usage_errors(tmp_path, args, message):
    result = invoke("train", *args, "--output", str(tmp_path / "m.keras"))
    assert result.exit_code == 2
    assert message in flat(result.stderr)
    assert not (tmp_path / "m.keras").exists()


def test_limit_larger_than_the_data(tmp_path):
    result = invoke("train", "--limit", "100000", "--output", str(tmp_path / "m.keras"))
    assert result.exit_code == 2
    assert result.stderr.endswith("\nError: --limit 100,000 is larger than the 24,345 training images available\n")


def test_output_directory_that_cannot_be_created(tmp_path):
    (tmp_path / "file").write_text("x")
    result = invoke("train", "--output", str(tmp_path / "file" / "m.keras"))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: cannot create directory {tmp_path / 'file'}: ")


def test_output_that_is_a_directory(tmp_path):
    result = invoke("train", "--output", str(tmp_path))
    assert result.exit_code == 1
    assert "is a directory; give a file path such as" in result.stderr


def test_without_the_litert_runtime_the_model_is_saved_for_keras(tmp_path, monkeypatch):
    from digitcli import lite

    monkeypatch.setattr(lite, "available", lambda: False)
    target = tmp_path / "m.keras"
    result = invoke("train", "--model", "mlp", "--epochs", "1", "--limit", "300", "--output", str(target), "--progress", "none")
    assert result.exit_code == 0, result.output
    assert "Note: the LiteRT runtime (ai-edge-litert) is not installed; the model is saved without its LiteRT form" in result.stderr
    assert store.read_metadata(target)["litert"] is False
    assert store.read_member(target, "model.tflite") is None


def test_a_failed_write_keeps_the_previous_model(tiny_model, tmp_path, monkeypatch):
    target = tmp_path / "keep.keras"
    target.write_bytes(tiny_model.read_bytes())
    before = sha256(target)

    replace = os.replace

    def disk_full_for_the_model(src, dst):
        if str(dst) == str(target):
            raise OSError(28, "No space left on device")
        replace(src, dst)

    monkeypatch.setattr(os, "replace", disk_full_for_the_model)
    result = invoke("train", "--model", "mlp", "--epochs", "1", "--limit", "300", "--output", str(target),
                    "--overwrite", "--progress", "none")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        f"Error: cannot save model to {target}: No space left on device; "
        f"the finished run is kept in {target}.resume: fix that, then rerun with --resume"
    )
    assert sha256(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.keras", "keep.keras.resume"]  # no temporary file
    monkeypatch.setattr(os, "replace", replace)  # the disk has room again
    resumed = invoke("train", "--resume", "--model", "mlp", "--epochs", "1", "--limit", "300", "--output", str(target),
                     "--overwrite", "--progress", "none")
    assert resumed.exit_code == 0, resumed.output
    assert sha256(target) != before and sorted(p.name for p in tmp_path.iterdir()) == ["keep.keras"]


def test_a_state_that_cannot_be_written_does_not_stop_training(tmp_path, monkeypatch):
    from digitcli import checkpoint

    def disk_full(self, state):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint.Checkpoint, "_write", disk_full)
    target = tmp_path / "m.keras"
    result = invoke("train", "--model", "mlp", "--epochs", "2", "--limit", "300", "--output", str(target))
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if line.startswith("Note: cannot save the resumable state")]
    assert notes == [f"Note: cannot save the resumable state to {target}.resume (No space left on device); training goes on without it"]
    assert store.read_metadata(target)["training"]["epochs"] == 2


def test_a_run_that_ends_at_chance_fails_and_saves_nothing(tiny_model, tmp_path):
    """Random labels cannot be learned: the validation accuracy ends at chance."""
    arrays = tiny_arrays(n_train=1000, n_test=50, seed=3)
    npz = write_npz(tmp_path / "noise.npz", arrays)
    target = tmp_path / "keep.keras"
    target.write_bytes(tiny_model.read_bytes())
    before = sha256(target)
    result = invoke("train", "--model", "mlp", "--epochs", "2", "--data", str(npz), "--output", str(target),
                    "--overwrite", "--progress", "none")
    assert result.exit_code == 1
    guess = np.bincount(arrays[1][900:], minlength=10).max() / 100  # the last 10 % validate
    assert re.fullmatch(
        r"Error: training failed: validation accuracy ended at \d+\.\d %, no better than chance "
        rf"\({guess * 100:.1f} % by always guessing one digit\); try a smaller --lr than 0\.001, "
        r"or check the data; no model was saved",
        result.stderr.splitlines()[-1],
    ), result.stderr
    assert sha256(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.keras", "noise.npz"]


def test_a_training_set_too_small_to_learn_from_gets_a_warning(tmp_path):
    labels = data.load("bundled").y_train[:4]  # --limit 5 keeps 4 for training, 1 for validation
    counts = np.bincount(labels, minlength=10)
    result = invoke("train", "--model", "mlp", "--epochs", "1", "--limit", "5", "--output", str(tmp_path / "m.keras"),
                    "--progress", "none")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[2] == (
        f"Note: too few training images to learn from: 4, with 0 of digit {int(counts.argmin())} "
        "(at least 10 of each digit are needed); expect a model little better than chance"
    )
    enough = invoke("train", "--model", "mlp", "--epochs", "1", "--limit", "300", "--output", str(tmp_path / "n.keras"),
                    "--progress", "none")
    assert enough.exit_code == 0 and "too few" not in enough.stderr


def test_batch_hooks_run_late_by_keras_threads_never_move_progress_back():
    from digitcli import train

    class Steps:
        def __init__(self):
            self.seen = []

        def on_batch_end(self, step, logs):
            self.seen.append(step)

        def on_epoch_begin(self, epoch): ...

    listener = Steps()
    bridge = train._KerasBridge(listener, steps=10)
    bridge.on_epoch_begin(0)
    for step in (0, 2, 1, 3, 3, 9, 8):  # the order Keras' pool of threads may run them in
        bridge.on_train_batch_end(step, {"loss": 0.5})
    bridge.on_epoch_begin(1)
    bridge.on_train_batch_end(0, {"loss": 0.4})
    assert listener.seen == [0, 2, 3, 3, 9, 0]
