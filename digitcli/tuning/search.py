"""`digits tune`'s core: a KerasTuner search over `digits train` configurations.

The search lives in a directory (by default beside the output): KerasTuner's
own project, which records every finished trial as it ends, plus our options
and trial timings. An interrupted search resumes from it without running its
finished trials again; KerasTuner reruns only the trial that was cut short.
The objective is validation accuracy: the test set is never looked at here.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from .. import augment, data, interrupts, models
from ..data import to_unit
from ..errors import BadOption, DataError, Interrupted, OutputError, Terminated, TrainingError
from ..train import EVAL_BATCH, TrainConfig, _training_data, split
from .space import OBJECTIVE

ALGORITHMS = ("hyperband", "random", "bayesian")
DEFAULT_ALGORITHM = "random"  # every trial trains the full --epochs, so validation accuracy predicts the final model
OPTIONS_FILE = "digits-tune.json"
TIMES_FILE = "digits-trial-times.json"
PROJECT = "search"
HYPERBAND_FACTOR = 3
COMPARED = ("model", "algorithm", "epochs", "val_split", "seed", "limit")  # --trials may grow on resume


@dataclass
class SearchConfig:
    model: str = models.DEFAULT_MODEL
    algorithm: str = DEFAULT_ALGORITHM
    trials: int = 10
    epochs: int | None = None  # None: the model's own default
    val_split: float = 0.1
    seed: int = 0
    limit: int | None = None

    def base(self) -> TrainConfig:
        """The `digits train` options every trial shares."""
        return TrainConfig(model=self.model, epochs=self.epochs, val_split=self.val_split, seed=self.seed, limit=self.limit).resolved()


@dataclass
class TrialResult:
    number: int  # 1, 2, ... in the order the trials started
    hyperparameters: dict  # as `digits train` takes them
    val_accuracy: float | None  # the best epoch's; None for a trial that failed
    epochs: int
    seconds: float | None
    status: str = "COMPLETED"


@dataclass
class SearchOutcome:
    config: SearchConfig
    best: TrialResult
    best_config: TrainConfig
    results: list[TrialResult] = field(default_factory=list)

    def metadata(self) -> dict:
        """What the model file records of the search that chose it."""
        return {
            "algorithm": self.config.algorithm,
            "trials": len(self.results),
            "planned_trials": self.config.trials,
            "objective": OBJECTIVE,
            "trial_epochs": self.best_config.epochs,
            "best_trial": self.best.number,
            "results": [asdict(result) for result in self.results],
        }


class SearchListener(Protocol):
    def on_search_begin(self, planned: int, finished: list[TrialResult]) -> None: ...
    def on_trial_begin(self, number: int, hyperparameters: dict, epochs: int) -> None: ...
    def on_epoch_end(self, number: int, epoch: int, logs: dict) -> None: ...
    def on_trial_end(self, result: TrialResult, best: TrialResult | None) -> None: ...
    def on_search_end(self) -> None: ...


def prepare(directory: Path, config: SearchConfig, given: dict, fingerprint: str, resume: bool, overwrite: bool) -> SearchConfig:
    """Check the search directory; with --resume, the interrupted search's options (checked against `given`)."""
    if config.val_split <= 0:
        raise BadOption("--val-split 0 leaves no validation images, and the search chooses by validation accuracy")
    marker = directory / OPTIONS_FILE
    if directory.exists() and not directory.is_dir():
        raise OutputError(f"--dir {directory} is a file, not a directory")
    if resume:
        if not marker.exists():
            raise OutputError(f"there is no interrupted search to resume: {marker} does not exist")
        try:
            saved = json.loads(marker.read_text())
            options = {name: saved[name] for name in asdict(config)}
        except (OSError, ValueError, KeyError, TypeError):
            raise OutputError(f"{marker} is damaged; start afresh with --overwrite") from None
        for name in COMPARED:
            if name in given and given[name] != options[name]:
                raise BadOption(
                    f"--resume: --{name.replace('_', '-')} {given[name]} differs from the interrupted search's "
                    f"{options[name]}; resume with the same options, or start afresh with --overwrite"
                )
        if saved.get("fingerprint") != fingerprint:
            raise DataError("--resume: the data differs from the interrupted search's (its fingerprint does not match)")
        options["trials"] = given.get("trials", options["trials"])
        return SearchConfig(**options)
    if directory.exists() and any(directory.iterdir()):
        if not marker.exists():
            raise OutputError(f"--dir {directory} exists and does not hold a digits search; choose another --dir")
        if not overwrite:
            raise OutputError(f"an interrupted search is in {directory}; continue it with --resume, or pass --overwrite to start afresh")
        shutil.rmtree(directory)  # --overwrite: a digits search (it has our options file), replaced by a new one
    return config


def run(
    config: SearchConfig,
    dataset: data.Dataset,
    directory: Path,
    listener: SearchListener,
    resume_command: str,
    tensorboard: Path | None = None,
) -> SearchOutcome:
    """Run (or continue) the search; the best trial and every trial's result."""
    import keras_tuner as kt

    from ..backend import tf
    from .space import DigitsHyperModel, config_for, seed_trial, shown

    base = config.base()
    if base.limit is not None and base.limit > len(dataset.x_train):
        raise BadOption(f"--limit {base.limit:,} is larger than the {len(dataset.x_train):,} training images available")
    x_all, y_all = dataset.x_train[: base.limit], dataset.y_train[: base.limit]
    (x_train, y_train), (x_val, y_val) = split(x_all, y_all, base.val_split)
    if len(x_train) == 0 or len(x_val) == 0:
        raise BadOption(f"--val-split {base.val_split} leaves no training or no validation images out of {len(x_all):,}")
    if not (directory / OPTIONS_FILE).exists():
        directory.mkdir(parents=True, exist_ok=True)
        _write_json(directory / OPTIONS_FILE, {**asdict(config), "fingerprint": dataset.fingerprint})
    else:
        _write_json(directory / OPTIONS_FILE, {**json.loads((directory / OPTIONS_FILE).read_text()), "trials": config.trials})

    steps = -(-len(x_train) // base.batch_size)
    tf.get_logger().setLevel("ERROR")  # each trial's new model retraces; TensorFlow warns of that, needlessly here
    tf.config.experimental.enable_op_determinism()  # as `digits train`: the best trial retrains to the same model
    times = _read_times(directory)

    def result_of(trial) -> TrialResult:
        values = trial.hyperparameters.values
        return TrialResult(
            number=int(trial.trial_id) + 1,
            hyperparameters=shown(values, config.model),
            val_accuracy=None if trial.score is None else float(trial.score),
            epochs=int(values.get("tuner/epochs", base.epochs)),
            seconds=times.get(trial.trial_id),
            status=str(trial.status),
        )

    class Reporting:
        """Hooks KerasTuner calls around each trial, passed on to the listener."""

        def on_trial_begin(self, trial):
            interrupts.check()  # a signal between trials stops the search before the next one starts
            seed_trial(config.seed)
            self._started = time.perf_counter()
            values = trial.hyperparameters.values
            listener.on_trial_begin(int(trial.trial_id) + 1, shown(values, config.model), int(values.get("tuner/epochs", base.epochs)))
            super().on_trial_begin(trial)

        def on_epoch_end(self, trial, model, epoch, logs=None):
            super().on_epoch_end(trial, model, epoch, logs)
            listener.on_epoch_end(int(trial.trial_id) + 1, epoch, dict(logs or {}))

        def on_trial_end(self, trial):
            super().on_trial_end(trial)  # KerasTuner records the finished trial on disk
            times[trial.trial_id] = round(time.perf_counter() - self._started, 2)
            _write_json(directory / TIMES_FILE, times)
            listener.on_trial_end(result_of(trial), _best(self.oracle, result_of))

    tuner_class, extra = {
        "random": (kt.RandomSearch, {"max_trials": config.trials}),
        # A third of the trials explore at random, then a Gaussian process proposes (KerasTuner's default, 3 per
        # hyperparameter, would spend every trial of a short search at random).
        "bayesian": (kt.BayesianOptimization, {"max_trials": config.trials, "num_initial_points": max(2, config.trials // 3)}),
        # Brackets repeat until --trials is reached (a single one may plan fewer).
        "hyperband": (kt.Hyperband, {"max_epochs": base.epochs, "factor": HYPERBAND_FACTOR, "hyperband_iterations": None}),
    }[config.algorithm]
    with contextlib.redirect_stdout(io.StringIO()):  # KerasTuner prints its own progress
        tuner = type("DigitsTuner", (Reporting, tuner_class), {})(
            hypermodel=DigitsHyperModel(base, steps),
            objective=kt.Objective(OBJECTIVE, "max"),
            directory=str(directory),
            project_name=PROJECT,
            seed=oracle_seed(config.seed),
            max_consecutive_failed_trials=1,
            **extra,
        )
    tuner.oracle.max_trials = config.trials  # Hyperband plans its own count; this caps it
    finished = [result_of(t) for t in _trials(tuner.oracle) if str(t.status) == "COMPLETED"]
    listener.on_search_begin(config.trials, finished)
    from ..backend import keras

    class StopOnSignal(keras.callbacks.Callback):
        """Ctrl-C or SIGTERM stops the search at a batch boundary, with TensorFlow idle; the cut trial
        stays unfinished, so --resume runs it again."""

        def on_train_batch_end(self, batch, logs=None):
            interrupts.check()

    callbacks = [StopOnSignal()]
    if tensorboard is not None:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(tensorboard)))  # KerasTuner gives each trial a subfolder
    try:
        # Signals are noted, not raised inside TensorFlow; a trial stops at its next batch (see interrupts).
        with interrupts.deferred(), contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            # Hyperband continues a trial from its saved weights and starts its optimizer afresh; Keras warns of that.
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            tuner.search(
                train_data=_training_data(base, x_train, y_train, seed=base.seed),
                validation_data=augment.in_order(to_unit(x_val), y_val, EVAL_BATCH),
                epochs=base.epochs,
                callbacks=callbacks,
                verbose=0,
            )
    except (KeyboardInterrupt, Terminated) as exc:
        done = sum(str(t.status) == "COMPLETED" for t in _trials(tuner.oracle))
        signal_name, code = ("SIGTERM", 143) if isinstance(exc, Terminated) else ("Ctrl-C", 130)
        raise Interrupted(
            f"Interrupted by {signal_name} after {done} of {config.trials} trials; the finished trials are kept in {directory}.\n"
            f"Resume with: {resume_command}",
            code,
        ) from None
    except RuntimeError as exc:  # KerasTuner stops after a trial raised; its message holds the traceback
        failed = [t for t in _trials(tuner.oracle) if t.message]
        reason = failed[-1].message.strip().splitlines()[-1] if failed else str(exc).splitlines()[0]
        raise TrainingError(f"a trial failed: {reason}") from None
    finally:
        listener.on_search_end()
    results = [result_of(t) for t in _trials(tuner.oracle)]
    best = _best(tuner.oracle, result_of)
    if best is None:
        raise TrainingError("no trial finished, so there is no best configuration")
    best_trial = tuner.oracle.get_best_trials(1)[0]
    return SearchOutcome(config, best, config_for(best_trial.hyperparameters.values, base), results)


SEED_SPACING = 10_000  # random draws between two neighbouring --seed values' streams


def oracle_seed(seed: int) -> int:
    """KerasTuner's seed for --seed: every value kept (it draws a random seed in place of 0), and far apart.

    KerasTuner seeds each value it draws with its seed plus the number of values
    drawn so far, so seeds 0 and 1 would share all but one of their draws and
    propose nearly the same trials. Spaced out, each --seed gives its own trials.
    """
    return 1 + seed * SEED_SPACING if seed >= 0 else seed * SEED_SPACING


def _trials(oracle) -> list:
    return sorted(oracle.trials.values(), key=lambda trial: int(trial.trial_id))


def _best(oracle, result_of) -> TrialResult | None:
    best = oracle.get_best_trials(1)
    return result_of(best[0]) if best else None


def _read_times(directory: Path) -> dict[str, float]:
    try:
        return json.loads((directory / TIMES_FILE).read_text())
    except (OSError, ValueError):
        return {}


def _write_json(path: Path, content: dict) -> None:
    """Atomically, so an interrupt never leaves half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(content, indent=1))
    os.replace(tmp, path)


def default_dir(output: Path) -> Path:
    """Where a search for `output` keeps its trials: beside it, like `digits train`'s resumable state."""
    return output.with_name(output.name + ".tune")


def remove(directory: Path) -> None:
    """Drop a finished search's directory: the model file now records its trials."""
    if (directory / OPTIONS_FILE).exists():
        shutil.rmtree(directory, ignore_errors=True)

