"""`digits tune`: search hyperparameters with KerasTuner, then train and save the best configuration.

`space` declares what is searched, `search` runs KerasTuner and keeps the
search resumable, `display` shows the trials. The best configuration is
trained by the same `pipeline.train_and_save` as `digits train`.
"""

from __future__ import annotations

from pathlib import Path

from .. import data, pipeline
from ..errors import Interrupted, Terminated
from ..train import Listener, TrainResult
from .search import SearchConfig, SearchListener, SearchOutcome, remove, run


def search_and_train(
    config: SearchConfig,
    dataset: data.Dataset,
    directory: Path,
    output: Path,
    listener: SearchListener,
    train_listener: Listener,
    resume_command: str,
    overwrite: bool = False,
    tensorboard: Path | None = None,
) -> tuple[SearchOutcome, TrainResult]:
    """Search, then train the best configuration for the full epochs, score it once on the test set and save it.

    The search directory is removed once the model file, which records every
    trial, is saved.
    """
    outcome = run(config, dataset, directory, listener, resume_command, tensorboard / "trials" if tensorboard else None)
    try:
        result = pipeline.train_and_save(
            outcome.best_config,
            dataset,
            output,
            train_listener,
            overwrite=overwrite,
            tensorboard=tensorboard / "best" if tensorboard else None,
            extra_metadata={"search": outcome.metadata()},
        )
    except (Interrupted, KeyboardInterrupt, Terminated) as exc:
        code = exc.exit_code if isinstance(exc, Interrupted) else 143 if isinstance(exc, Terminated) else 130
        signal_name = "SIGTERM" if code == 143 else "Ctrl-C"
        raise Interrupted(
            f"Interrupted by {signal_name} while training the best configuration; all {len(outcome.results)} trials "
            f"are kept in {directory}.\nResume with: {resume_command}",
            code,
        ) from None
    remove(directory)
    return outcome, result
