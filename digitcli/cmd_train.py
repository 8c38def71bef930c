"""`digits train`: options in, a trained and saved model out."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.text import Text

from .errors import BadOption, OutputError
from .models import AUGMENTATIONS, DEFAULT_HIDDEN, DEFAULT_OPTIMIZER, OPTIMIZERS, RECIPES, SCHEDULES, default_dropout, default_epochs
from .ui import DEFAULT_MODEL_PATH, DataOption, TensorBoardOption, err, load_data, out, say, user_errors


class ModelName(str, Enum):
    cnn = "cnn"
    mlp = "mlp"


class AugmentName(str, Enum):
    standard = "standard"
    strong = "strong"


class ProgressMode(str, Enum):
    auto = "auto"
    rich = "rich"
    plain = "plain"
    none = "none"


def _per_model(field: str) -> str:
    """A help text's default for a per-model setting, read from the recipes."""
    values = {name: getattr(recipe, field) for name, recipe in RECIPES.items()}
    return ", ".join(f"{value:g} for {name}" if isinstance(value, (int, float)) else f"{value} for {name}" for name, value in values.items())


def _following_augment(default) -> str:
    """A help text's default for a setting that follows the cnn's augmentation: `default(model, augment)`."""
    own = default("cnn", RECIPES["cnn"].augment)
    others = [f"{value:g} with --augment {name}" for name in AUGMENTATIONS if (value := default("cnn", name)) != own]
    return f"{own:g} for cnn" + (f" ({', '.join(others)})" if others else "") + f", {default('mlp', None):g} for mlp"


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
        Optional[int], typer.Option("--epochs", min=1, help="Passes over the training data.", show_default=_following_augment(default_epochs))
    ] = None,
    batch_size: Annotated[
        Optional[int],
        typer.Option("--batch-size", "--batch_size", min=1, help="Images per training step.", show_default=_per_model("batch_size")),
    ] = None,
    lr: Annotated[
        Optional[float],
        typer.Option("--lr", callback=_positive, help="Learning rate (with --schedule cosine, the peak of its warm-up and decay).", show_default=_per_model("lr")),
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
    optimizer: Annotated[
        str, typer.Option("--optimizer", help="adam, adamw, sgd (with Nesterov momentum) or rmsprop.", show_default=DEFAULT_OPTIMIZER)
    ] = DEFAULT_OPTIMIZER,
    hidden: Annotated[
        Optional[str],
        typer.Option("--hidden", help="mlp only: the hidden layers' sizes, comma-separated, such as 512,256.", show_default=",".join(map(str, DEFAULT_HIDDEN))),
    ] = None,
    dropout: Annotated[
        Optional[float],
        typer.Option("--dropout", help="Dropout rate before the output layer (mlp: after each hidden layer).", show_default=_following_augment(default_dropout)),
    ] = None,
    width: Annotated[
        Optional[float],
        typer.Option("--width", help="cnn only: scales its filters and dense units.", show_default="1"),
    ] = None,
    schedule: Annotated[
        Optional[str],
        typer.Option("--schedule", help="Learning rate: constant, or cosine (a linear warm-up over the first tenth to --lr, then cosine decay).", show_default=_per_model("schedule")),
    ] = None,
    augment: Annotated[
        Optional[AugmentName],
        typer.Option("--augment", help="cnn only: strong (mild warps, and for two images in five wide tilts, sizes and moves, bends, stroke widths, blur, noise and specks) or standard (mild warps only).", show_default=RECIPES["cnn"].augment),
    ] = None,
    tensorboard: TensorBoardOption = None,
) -> None:
    """Train a model on MNIST, show progress and learning curves, save it with its metadata."""
    with user_errors():
        from . import charts, progress as progress_mod, store

        built = model_options(optimizer, hidden, dropout, width, schedule)
        options = dict(model=model.value, epochs=epochs, batch_size=batch_size, lr=lr, val_split=val_split, seed=seed, limit=limit, **built,
                       augment=augment and augment.value)
        if not resume:
            check_applies(options)  # with --resume, the interrupted run's --model decides, below
        state_file = checkpoint_path(output, resume, overwrite)
        store.check_output(output, overwrite)
        dataset = load_data(data, download=True)
        from . import checkpoint, pipeline
        from . import train as train_mod
        from .backend import device

        resumed = None
        if resume:
            given = {name: value for name, value in options.items() if _given(ctx, name)}
            resumed = checkpoint.load(state_file)
            options = checkpoint.merge(resumed[1], given, dataset.fingerprint)
            say(err, f"Resuming after epoch {resumed[1]['epochs_done']} of {options['epochs']} from {state_file}")
            check_applies(options)
        config = train_mod.TrainConfig(**options)
        say(err, "Model: " + pipeline.describe(config) + f", on {device()}")
        listener = progress_mod.progress_for(progress.value, err)
        result = pipeline.train_and_save(
            config, dataset, output, listener, overwrite=overwrite, state_file=state_file, resumed=resumed,
            tensorboard=tensorboard,
        )
        if progress is not ProgressMode.none and result.history.get("loss"):
            err.print(Text.from_ansi(charts.curves(result.history, err.width, color=err.color_system is not None)), soft_wrap=True)
        meta = result.metadata
        say(
            out,
            f"Test accuracy: {meta['test_accuracy']:.2%} (loss {meta['test_loss']:.4f}) "
            f"on {meta['data']['n_test']:,} test images; trained in {meta['train_seconds']:.1f} s",
        )
        say(out, f"Saved model to {output}")


def model_options(optimizer: str, hidden: str | None, dropout: float | None, width: float | None, schedule: str | None = None) -> dict:
    """The architecture and optimizer options, checked; one-line usage errors otherwise."""
    if optimizer not in OPTIMIZERS:
        raise BadOption(f"--optimizer {optimizer}: choose one of {', '.join(OPTIMIZERS)}")
    if schedule is not None and schedule not in SCHEDULES:
        raise BadOption(f"--schedule {schedule}: choose one of {', '.join(SCHEDULES)}")
    if dropout is not None and not 0 <= dropout < 1:
        raise BadOption(f"--dropout {dropout:g}: must be at least 0 and below 1")
    if width is not None and not width > 0:
        raise BadOption(f"--width {width:g}: must be greater than 0")
    return dict(optimizer=optimizer, hidden=parse_hidden(hidden), dropout=dropout, width=width, schedule=schedule)


def parse_hidden(text: str | None) -> list[int] | None:
    """'512,256' -> [512, 256]."""
    if text is None:
        return None
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise BadOption(f"--hidden {text}: give the layers' sizes as whole numbers separated by commas, such as 512,256") from None
    if min(sizes) < 1:
        raise BadOption(f"--hidden {text}: every layer needs at least 1 neuron")
    return sizes


def check_applies(options: dict) -> None:
    """Options of the other architecture are an error rather than silently ignored."""
    if options["model"] != "mlp" and options.get("hidden") is not None:
        raise BadOption(f"--hidden applies to --model mlp only, not {options['model']}")
    if options["model"] != "cnn" and options.get("width") is not None:
        raise BadOption(f"--width applies to --model cnn only, not {options['model']}")
    if options["model"] != "cnn" and options.get("augment") is not None:
        raise BadOption(f"--augment applies to --model cnn only, not {options['model']}")


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
