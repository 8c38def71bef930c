"""From options to a saved model file: train, check the LiteRT form, save.

`digits train` and `digits tune` (for its best configuration) both end with
this sequence, so it lives here once.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from . import checkpoint, data, interrupts, lite, models, store
from . import train as train_mod
from .data import to_unit
from .errors import OutputError, Terminated
from .predict import LITE_MEMBER


def train_and_save(
    config: train_mod.TrainConfig,
    dataset: data.Dataset,
    output: Path,
    listener: train_mod.Listener,
    *,
    overwrite: bool = False,
    state_file: Path | None = None,
    resumed: tuple | None = None,
    tensorboard: Path | None = None,
    extra_metadata: dict | None = None,
) -> train_mod.TrainResult:
    """Train `config`, add the checked LiteRT form and save the model file at `output`.

    With `state_file`, training keeps a resumable state there, removed once the
    model is saved. `extra_metadata` joins the file's metadata (the search of
    `digits tune`, for instance). With `tensorboard`, Keras writes its logs there.
    """
    callbacks = (tensorboard_callback(tensorboard),) if tensorboard else ()
    # From here on TensorFlow works: Ctrl-C and SIGTERM are acted on between steps (see interrupts).
    with interrupts.deferred():
        result = train_mod.train(config, dataset, listener, state_file, resumed, callbacks=callbacks)
        result.metadata.update(extra_metadata or {})
        planned = result.metadata["training"]["epochs"]
        try:
            interrupts.check()
            extra = lite_form(result, dataset, listener.on_notice)
            interrupts.check()  # the last moment to stop: the model file is written next
            store.save(result.model, result.metadata, output, overwrite or resumed is not None, extra)
        except OutputError as exc:
            if state_file is None or not state_file.exists():
                raise
            raise OutputError(f"{exc}; the finished run is kept in {state_file}: fix that, then rerun with --resume") from None
        except (KeyboardInterrupt, Terminated) as exc:  # training is done: its state holds every epoch
            if state_file is None:
                raise
            raise checkpoint.interrupted(exc, state_file, planned, planned) from None
        interrupts.forget()  # the model is saved: the run is complete, a late Ctrl-C changes nothing
    if state_file is not None:
        state_file.unlink(missing_ok=True)  # the run is complete: nothing left to resume
    return result


def lite_form(result: train_mod.TrainResult, dataset: data.Dataset, notice) -> dict[str, bytes]:
    """The LiteRT member to store beside the Keras model, checked on the whole test set; none if it fails."""
    try:
        if not lite.available():
            raise lite.LiteExportError("the LiteRT runtime (ai-edge-litert) is not installed")
        flatbuffer = lite.export(result.model, to_unit(dataset.x_test), expected=result.test_probabilities)
    except lite.LiteExportError as exc:
        notice(f"{exc}; the model is saved without its LiteRT form and will run with Keras")
        result.metadata["litert"] = False
        return {}
    result.metadata["litert"] = True
    return {LITE_MEMBER: flatbuffer}


def tensorboard_callback(log_dir: Path):
    from .backend import keras

    return keras.callbacks.TensorBoard(log_dir=str(log_dir))


def describe(config: train_mod.TrainConfig) -> str:
    """One line naming the resolved options; the architecture options only where they differ from the defaults."""
    resolved = config.resolved()
    text = (
        f"{resolved.model}, {resolved.epochs} epoch{'' if resolved.epochs == 1 else 's'}, batch {resolved.batch_size}, "
        f"lr {resolved.lr:g}, validation split {resolved.val_split:g}, seed {resolved.seed}"
    )
    default = _defaults(resolved)
    for name in ("optimizer", "hidden", "dropout", "width", "schedule", "augment"):
        value = getattr(resolved, name)
        if value != getattr(default, name):
            text += f", {name} {format_value(value)}"
    return text


def _defaults(resolved: train_mod.TrainConfig) -> train_mod.TrainConfig:
    """What `digits train --model M` gives, but with the options that follow from the augmentation (dropout) as `resolved` has them."""
    following = train_mod.TrainConfig(model=resolved.model, augment=resolved.augment).resolved()
    return replace(following, augment=models.RECIPES[resolved.model].augment)


def format_value(value) -> str:
    """An option's value as a user types it: 512,256 for a list, 0.2 for a float."""
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def command(config: train_mod.TrainConfig, output: Path | None = None) -> str:
    """The `digits train ...` command that trains this configuration."""
    resolved = config.resolved()
    default = _defaults(resolved)
    parts = ["digits train", f"--model {resolved.model}"]
    for name in ("epochs", "batch_size", "lr", "optimizer", "hidden", "dropout", "width", "schedule", "augment", "val_split", "seed", "limit"):
        value = getattr(resolved, name)
        if value is not None and value != getattr(default, name):
            parts.append(f"--{name.replace('_', '-')} {format_value(value)}")
    if output is not None:
        parts.append(f"--output {output}")
    return " ".join(parts)
