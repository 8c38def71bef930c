"""`digits tune`: search hyperparameters, then train, score and save the best configuration."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from .cmd_train import ModelName, ProgressMode, _fraction, _given, _per_model
from .errors import BadOption
from .ui import DataOption, TensorBoardOption, err, load_data, out, say, user_errors

DEFAULT_OUTPUT = Path("models/tuned.keras")


class Algorithm(str, Enum):
    hyperband = "hyperband"
    random = "random"
    bayesian = "bayesian"


def tune(
    ctx: typer.Context,
    model: Annotated[ModelName, typer.Option("--model", help="Architecture to tune: cnn (default) or mlp.")] = ModelName.cnn,
    trials: Annotated[
        Optional[int], typer.Option("--trials", help="How many configurations to try (with --resume, may be raised).", show_default="10")
    ] = None,
    epochs: Annotated[
        Optional[int],
        typer.Option("--epochs", min=1, help="Epochs per trial (hyperband: at most) and for training the best.", show_default=_per_model("epochs")),
    ] = None,
    algorithm: Annotated[
        Algorithm, typer.Option("--algorithm", help="KerasTuner's random search (each trial the full --epochs), bayesian optimisation, or hyperband (many short trials, the best continued).")
    ] = Algorithm.random,
    limit: Annotated[
        Optional[int], typer.Option("--limit", min=1, help="Use the first N training images only (quick tries).", show_default="all")
    ] = None,
    val_split: Annotated[
        float,
        typer.Option("--val-split", "--val_split", callback=_fraction, help="Fraction of the training images held out to score the trials (the last ones)."),
    ] = 0.1,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the search and every trial's training.")] = 0,
    data: DataOption = None,
    directory: Annotated[
        Optional[Path], typer.Option("--dir", help="Where the search keeps its trials (removed once the model is saved).", show_default="OUTPUT.tune")
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the interrupted search in --dir; finished trials are not run again.")] = False,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to save the best model.")] = DEFAULT_OUTPUT,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing model at --output and any interrupted search in --dir.")
    ] = False,
    progress: Annotated[
        ProgressMode, typer.Option("--progress", help="auto: a live table on a terminal, a plain line per trial otherwise; rich; plain; none.")
    ] = ProgressMode.auto,
    tensorboard: TensorBoardOption = None,
) -> None:
    """Search hyperparameters with KerasTuner (by validation accuracy), then train the best for --epochs and save it."""
    with user_errors():
        from . import store

        if trials is not None and trials < 1:
            raise BadOption(f"--trials {trials}: must be at least 1")
        state_dir = directory or default_dir(output)
        store.check_output(output, overwrite)
        dataset = load_data(data, download=True)
        from . import pipeline, progress as progress_mod, tuning
        from .tuning import display, search

        options = dict(model=model.value, algorithm=algorithm.value, trials=trials or 10, epochs=epochs, val_split=val_split, seed=seed, limit=limit)
        given = {name: value for name, value in options.items() if _given(ctx, name)}
        config = search.prepare(state_dir, search.SearchConfig(**options), given, dataset.fingerprint, resume, overwrite)
        base = config.base()
        each = f"up to {base.epochs} epochs" if config.algorithm == "hyperband" else display.plural(base.epochs, "epoch")
        say(err, f"Search: {config.algorithm}, {config.trials} trials of {config.model}, {each} each, "
                 f"by validation accuracy (split {base.val_split:g}), seed {config.seed}; trials kept in {state_dir}")
        outcome, result = tuning.search_and_train(
            config, dataset, state_dir, output,
            display.trials_display(progress.value, err),
            progress_mod.progress_for("none" if progress is ProgressMode.none else progress.value, err),
            resume_command=resume_command(output, directory),
            overwrite=overwrite,
            tensorboard=tensorboard,
        )
        best = outcome.best
        say(out, f"Best trial: {best.number} of {len(outcome.results)}, validation accuracy {best.val_accuracy:.4f}: "
                 f"{display.format_hyperparameters(best.hyperparameters)}")
        say(out, f"Reproduce with: {pipeline.command(outcome.best_config, output)}")
        meta = result.metadata
        say(out, f"Test accuracy: {meta['test_accuracy'] * 100:.2f} % (loss {meta['test_loss']:.4f}) on {meta['data']['n_test']:,} "
                 f"test images; best configuration trained for {display.plural(outcome.best_config.epochs, 'epoch')} in {meta['train_seconds']:.1f} s")
        say(out, f"Saved model to {output}")


def default_dir(output: Path) -> Path:
    from .tuning.search import default_dir as beside

    return beside(output)


def resume_command(output: Path, directory: Optional[Path]) -> str:
    command = f"digits tune --resume --output {output}"
    return command + (f" --dir {directory}" if directory is not None else "")
