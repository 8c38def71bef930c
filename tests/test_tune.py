"""`digits tune` and train's --optimizer, --hidden, --dropout, --width and --tensorboard, on tiny runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from digitcli import checkpoint, models, store
from digitcli.errors import BadOption
from digitcli.tuning import display

from conftest import device, flat, invoke, sha256

TINY_SEARCH = ["tune", "--model", "mlp", "--algorithm", "random", "--limit", "300", "--epochs", "1", "--progress", "plain"]


def events(directory: Path) -> list[Path]:
    return sorted(directory.rglob("events.out.tfevents.*"))


def test_an_interrupted_search_resumes_then_saves_a_model_that_records_the_search(tmp_path, monkeypatch):
    output, state, logs = tmp_path / "tuned.keras", tmp_path / "tuned.keras.tune", tmp_path / "tb"
    args = [*TINY_SEARCH, "--trials", "3", "--output", str(output)]

    def ctrl_c_in_trial_2(self, number, epoch, logs):
        if number == 2:
            raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(display.PlainTrials, "on_epoch_end", ctrl_c_in_trial_2)
        interrupted = invoke(*args)
    assert interrupted.exit_code == 130, interrupted.output
    assert interrupted.stderr.splitlines()[1] == (
        f"Search: random, 3 trials of mlp, 1 epoch each, by validation accuracy (split 0.1), seed 0; trials kept in {state}"
    )
    assert interrupted.stderr.splitlines()[2].startswith("trial 1/3  hidden ")
    assert interrupted.stderr.endswith(
        f"Interrupted by Ctrl-C after 1 of 3 trials; the finished trials are kept in {state}.\n"
        f"Resume with: digits tune --resume --output {output}\n"
    )
    assert not output.exists()

    fresh = invoke(*args)
    assert fresh.exit_code == 1
    assert fresh.stderr.endswith(f"Error: an interrupted search is in {state}; continue it with --resume, or pass --overwrite to start afresh\n")
    changed = invoke("tune", "--resume", "--seed", "5", "--output", str(output))
    assert changed.exit_code == 2
    assert changed.stderr.endswith("Error: --resume: --seed 5 differs from the interrupted search's 0; resume with the same options, or start afresh with --overwrite\n")

    resumed = invoke("tune", "--resume", "--progress", "plain", "--output", str(output), "--tensorboard", str(logs))
    assert resumed.exit_code == 0, resumed.output
    assert "\x1b" not in resumed.output and "\r" not in resumed.output
    assert [line.split()[1] for line in resumed.stderr.splitlines() if line.startswith("trial ")] == ["2/3", "3/3"]  # not trial 1 again
    meta = store.read_metadata(output)
    search = meta["search"]
    assert search["algorithm"] == "random" and search["trials"] == 3 and search["objective"] == "val_accuracy"
    assert [r["number"] for r in search["results"]] == [1, 2, 3]
    for trial in search["results"]:
        assert set(trial["hyperparameters"]) == {"hidden", "dropout", "lr", "optimizer"}
        assert 0 <= trial["val_accuracy"] <= 1 and trial["epochs"] == 1 and trial["seconds"] > 0
    best = max(search["results"], key=lambda r: r["val_accuracy"])
    assert search["best_trial"] == best["number"]
    assert meta["training"]["hidden"] == [int(n) for n in best["hyperparameters"]["hidden"].split(",")]
    assert meta["training"]["schedule"] == "cosine"  # every trial's, which the README recipe's constant rate is not
    assert meta["data"]["n_train"] == 270 and meta["data"]["n_val"] == 30 and meta["litert"] is True
    out = resumed.stdout.splitlines()
    assert out[0].startswith(f"Best trial: {best['number']} of 3, validation accuracy {best['val_accuracy']:.4f}: hidden ")
    assert out[1].startswith("Reproduce with: digits train --model mlp --epochs 1 ") and out[1].endswith(f"--schedule cosine --limit 300 --output {output}")
    assert out[2].startswith("Test accuracy: ") and out[3] == f"Saved model to {output}"
    assert not state.exists()  # the model file now holds the trials
    assert events(logs / "trials") and events(logs / "best")

    predicted = invoke("predict", "--model", str(output), "--samples", "3", "--format", "csv")
    assert predicted.exit_code == 0, predicted.output
    assert len(predicted.stdout.splitlines()) == 4  # a header and three predictions
    shown = invoke("show", "model", "--model", str(output))
    assert shown.exit_code == 0
    assert f"search random, 3 trials by val_accuracy; best: trial {best['number']}" in flat(shown.stdout)

    kept = sha256(output)
    refused = invoke(*args)
    assert refused.exit_code == 1
    assert refused.stderr == f"Error: {output} already exists; pass --overwrite to replace it, or choose another --output\n"
    assert sha256(output) == kept


def test_new_train_options_land_in_metadata_show_model_and_tensorboard(tmp_path):
    output, logs = tmp_path / "m.keras", tmp_path / "tb"
    result = invoke("train", "--model", "mlp", "--epochs", "1", "--limit", "300", "--hidden", "64,32", "--dropout", "0.2",
                    "--optimizer", "sgd", "--schedule", "cosine", "--output", str(output), "--progress", "none", "--tensorboard", str(logs))
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[1] == (
        f"Model: mlp, 1 epoch, batch 128, lr 0.001, validation split 0.1, seed 0, optimizer sgd, hidden 64,32, dropout 0.2, schedule cosine, on {device()}"
    )
    training = store.read_metadata(output)["training"]
    assert (training["optimizer"], training["hidden"], training["dropout"], training["width"]) == ("sgd", [64, 32], 0.2, None)
    assert training["schedule"] == "cosine"
    shown = invoke("show", "model", "--model", str(output))
    assert shown.exit_code == 0
    assert "limit 300, optimizer sgd, hidden 64,32, dropout 0.2, schedule cosine" in flat(shown.stdout)
    assert "52,650" in shown.stdout  # 784*64+64 + 64*32+32 + 32*10+10
    assert events(logs / "train") and events(logs / "validation")


def test_width_scales_the_cnn_and_sgd_uses_nesterov_momentum():
    model = models.build("cnn", 0.01, width=0.5, dropout=0.1, optimizer="sgd")
    assert [layer.filters for layer in model.layers if hasattr(layer, "filters")] == [16, 24, 64]
    assert [layer.units for layer in model.layers if hasattr(layer, "units")] == [64, 10]
    assert [layer.rate for layer in model.layers if hasattr(layer, "rate")] == [0.1]
    assert model.optimizer.nesterov and model.optimizer.momentum == 0.9


def test_schedule_chooses_a_constant_rate_or_a_warm_up_and_cosine_decay_for_either_model():
    recipe = models.build("mlp", 0.001, total_steps=100)
    assert float(recipe.optimizer.learning_rate) == pytest.approx(0.001)  # the README recipe's constant rate
    for name in ("mlp", "cnn"):
        rate = models.build(name, 0.002, total_steps=100, schedule="cosine").optimizer._learning_rate
        assert rate.warmup_target == 0.002 and rate.warmup_steps == 10 and rate.decay_steps == 90
    assert float(models.build("cnn", 0.002, total_steps=100, schedule="constant").optimizer.learning_rate) == pytest.approx(0.002)


def test_each_seed_proposes_its_own_trials_and_the_same_seed_the_same_ones():
    import keras_tuner as kt

    from digitcli.tuning import search, space

    def proposed(seed: int, count: int = 4) -> list[dict]:
        oracle = kt.oracles.RandomSearchOracle(objective=kt.Objective("val_accuracy", "max"), max_trials=count, seed=search.oracle_seed(seed))
        oracle.hyperparameters = kt.HyperParameters()
        space.declare(oracle.hyperparameters, "mlp")
        return [oracle.populate_space(str(i))["values"] for i in range(count)]

    first = proposed(0)
    assert proposed(0) == first
    for other in (1, 2, -1):
        assert not any(values in first for values in proposed(other))  # KerasTuner alone would share 3 of 4 between 0 and 1


def test_resume_keeps_the_architecture_options():
    state = {"config": {"model": "mlp", "hidden": [512, 256], "optimizer": "adamw", "dropout": 0.2, "width": None}, "fingerprint": "f"}
    assert checkpoint.merge(state, {"hidden": [512, 256], "optimizer": "adamw"}, "f") == state["config"]
    with pytest.raises(BadOption, match=r"^--resume: --hidden \[128\] differs from the interrupted run's \[512, 256\]; "):
        checkpoint.merge(state, {"hidden": [128]}, "f")


@pytest.mark.parametrize(
    "args,message",
    [
        (["train", "--model", "mlp", "--hidden", "0"], "--hidden 0: every layer needs at least 1 neuron"),
        (["train", "--model", "mlp", "--hidden", "abc"], "--hidden abc: give the layers' sizes as whole numbers separated by commas, such as 512,256"),
        (["train", "--optimizer", "foo"], "--optimizer foo: choose one of adam, adamw, sgd, rmsprop"),
        (["train", "--width", "-1"], "--width -1: must be greater than 0"),
        (["train", "--model", "mlp", "--schedule", "linear"], "--schedule linear: choose one of constant, cosine"),
        (["train", "--dropout", "1"], "--dropout 1: must be at least 0 and below 1"),
        (["train", "--hidden", "512,256"], "--hidden applies to --model mlp only, not cnn"),
        (["train", "--model", "mlp", "--width", "2"], "--width applies to --model cnn only, not mlp"),
        (["tune", "--trials", "0"], "--trials 0: must be at least 1"),
        (["tune", "--model", "mlp", "--val-split", "0", "--limit", "300"], "--val-split 0 leaves no validation images, and the search chooses by validation accuracy"),
    ],
)
def test_bad_values_are_one_line_usage_errors(tmp_path, args, message):
    result = invoke(*args, "--output", str(tmp_path / "m.keras"))
    assert result.exit_code == 2
    data_line = "Data: bundled MNIST (offline copy): 24,345 training and 10,000 test images\n"
    checked_against_data = "--val-split" in args  # the others fail before any data is read
    assert result.stderr == (data_line if checked_against_data else "") + f"Error: {message}\n"
    assert not (tmp_path / "m.keras").exists()
