"""`digits train`: options in, a trained and saved model out."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.text import Text

from .errors import OutputError, Terminated
from .models import RECIPES
from .ui import DEFAULT_MODEL_PATH, DataOption, err, load_data, out, say, user_errors


class ModelName(str, Enum):
    cnn = "cnn"
    mlp = "mlp"


class ProgressMode(str, Enum):
    auto = "auto"
    rich = "rich"
    plain = "plain"
    none = "none"


def _per_model(field: str) -> str:
    """A help text's default for a per-model setting, read from the recipes."""
    return ", ".join(f"{getattr(recipe, field):g} for {name}" for name, recipe in RECIPES.items())


def _positive(value: Optional[float]) -> Optional[float]:
    if value is not None and not value > 0:
        raise typer.BadParameter(f"must be greater than 0, not {value}")
    return value


def _fraction(value: float) -> float:
    if not 0 <= value < 1:
        raise typer.BadParameter(f"must be at least 0 and below 1, not {value}")
    return value


def train(
    ctx: typer.Context,
    model: Annotated[ModelName, typer.Option("--model", help="Architecture: cnn (default) or mlp.")] = ModelName.cnn,
    epochs: Annotated[
        Optional[int], typer.Option("--epochs", min=1, help="Passes over the training data.", show_default=_per_model("epochs"))
    ] = None,
    batch_size: Annotated[
        Optional[int],
        typer.Option("--batch-size", "--batch_size", min=1, help="Images per training step.", show_default=_per_model("batch_size")),
    ] = None,
    lr: Annotated[
        Optional[float],
        typer.Option("--lr", callback=_positive, help="Adam learning rate (for cnn, the peak of its warm-up and cosine schedule).", show_default=_per_model("lr")),
    ] = None,
    val_split: Annotated[
        float,
        typer.Option("--val-split", "--val_split", callback=_fraction, help="Fraction of the training images held out for validation (the last ones, as Keras does)."),
    ] = 0.1,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed for weights, shuffling and augmentation: the same seed gives the same model.")
    ] = 0,
    data: DataOption = None,
    limit: Annotated[
        Optional[int],
        typer.Option("--limit", min=1, help="Train on the first N training images only (quick tries).", show_default="all"),
    ] = None,
    output: Annotated[
        Path,
        typer.Option("--output", "--model_output", "-o", help="Where to save the model file."),
    ] = DEFAULT_MODEL_PATH,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing model file (and any interrupted run's state) at --output.")
    ] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the interrupted run of this --output from its last finished epoch.")
    ] = False,
    progress: Annotated[
        ProgressMode,
        typer.Option("--progress", help="auto: live on a terminal, plain lines otherwise; rich; plain; none."),
    ] = ProgressMode.auto,
) -> None:
    """Train a model on MNIST, show progress and learning curves, save it with its metadata."""
    with user_errors():
        from . import charts, interrupts, progress as progress_mod, store

        state_file = checkpoint_path(output, resume, overwrite)
        store.check_output(output, overwrite)
        dataset = load_data(data, download=True)
        from . import checkpoint
        from . import train as train_mod

        options = dict(model=model.value, epochs=epochs, batch_size=batch_size, lr=lr, val_split=val_split, seed=seed, limit=limit)
        resumed = None
        if resume:
            given = {name: value for name, value in options.items() if _given(ctx, name)}
            resumed = checkpoint.load(state_file)
            options = checkpoint.merge(resumed[1], given, dataset.fingerprint)
            say(err, f"Resuming after epoch {resumed[1]['epochs_done']} of {options['epochs']} from {state_file}")
        config = train_mod.TrainConfig(**options)
        resolved = config.resolved()
        say(
            err,
            f"Model: {resolved.model}, {resolved.epochs} epochs, batch {resolved.batch_size}, "
            f"lr {resolved.lr:g}, validation split {resolved.val_split:g}, seed {resolved.seed}",
        )
        listener = progress_mod.progress_for(progress.value, err)
        # From here on TensorFlow works: Ctrl-C and SIGTERM are acted on between steps (see interrupts).
        with interrupts.deferred():
            result = train_mod.train(config, dataset, listener, state_file, resumed)
            try:
                interrupts.check()
                if progress is not ProgressMode.none and result.history.get("loss"):
                    err.print(Text.from_ansi(charts.curves(result.history, err.width, color=err.color_system is not None)), soft_wrap=True)
                extra = lite_form(result, dataset)
                interrupts.check()  # the last moment to stop: the model file is written next
                store.save(result.model, result.metadata, output, overwrite or resume, extra)
            except OutputError as exc:
                if not state_file.exists():
                    raise
                raise OutputError(f"{exc}; the finished run is kept in {state_file}: fix that, then rerun with --resume") from None
            except (KeyboardInterrupt, Terminated) as exc:  # training is done: its state holds every epoch
                raise checkpoint.interrupted(exc, state_file, resolved.epochs, resolved.epochs) from None
            interrupts.forget()  # the model is saved: the run is complete, a late Ctrl-C changes nothing
        state_file.unlink(missing_ok=True)  # the run is complete: nothing left to resume
        meta = result.metadata
        say(
            out,
            f"Test accuracy: {meta['test_accuracy'] * 100:.2f} % (loss {meta['test_loss']:.4f}) "
            f"on {meta['data']['n_test']:,} test images; trained in {meta['train_seconds']:.1f} s",
        )
        say(out, f"Saved model to {output}")


def checkpoint_path(output: Path, resume: bool, overwrite: bool) -> Path:
    """Where this run keeps its resumable state; refuses to lose an interrupted run's."""
    from .store import state_path

    state_file = state_path(output)
    if state_file.is_dir():
        raise OutputError(f"{state_file} is a directory, where this run would keep its resumable state; move it away")
    if state_file.exists() and not (resume or overwrite):
        raise OutputError(
            f"an interrupted run's state is in {state_file}; continue it with --resume, or pass --overwrite to start afresh"
        )
    if resume and not state_file.exists():
        raise OutputError(f"there is no interrupted run to resume: {state_file} does not exist")
    return state_file


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether the user typed this option (rather than leaving its default)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def lite_form(result, dataset) -> dict[str, bytes]:
    """The LiteRT member to store beside the Keras model, checked on the whole test set; none if it fails."""
    from . import lite
    from .predict import LITE_MEMBER
    from .data import to_unit

    try:
        if not lite.available():
            raise lite.LiteExportError("the LiteRT runtime (ai-edge-litert) is not installed")
        flatbuffer = lite.export(result.model, to_unit(dataset.x_test), expected=result.test_probabilities)
    except lite.LiteExportError as exc:
        say(err, f"Note: {exc}; the model is saved without its LiteRT form and will run with Keras", style="yellow")
        result.metadata["litert"] = False
        return {}
    result.metadata["litert"] = True
    return {LITE_MEMBER: flatbuffer}
