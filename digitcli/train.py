"""Training: data in, a trained model and its metadata out.

Progress is reported through a plain listener object so that this module
knows nothing of how (or whether) it is displayed.
"""

from __future__ import annotations

import math
import platform
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from datetime import datetime, timezone
from typing import Protocol

import numpy as np

from . import __version__, augment, checkpoint, data, evaluate, interrupts, models
from .data import to_unit
from .backend import keras, tf
from .errors import BadOption, TrainingError

EVAL_BATCH = 2048
MIN_PER_DIGIT = 10  # fewer training images of a digit than this: warn that little can be learned
MIN_JUDGED = 50  # images needed before a run's final accuracy can be called chance
CHANCE_MARGIN = 0.05  # a run whose accuracy is within this of one fixed guess learned nothing
# A guess gives a loss of ln 10 = 2.3; a mean loss ten times that means the weights have blown up.
EXPLODED_LOSS = 10 * math.log(10)


@dataclass
class TrainConfig:
    model: str = models.DEFAULT_MODEL
    epochs: int | None = None  # None: the model's own default
    batch_size: int | None = None
    lr: float | None = None
    val_split: float = 0.1
    seed: int = 0
    limit: int | None = None
    optimizer: str = models.DEFAULT_OPTIMIZER
    hidden: list[int] | None = None  # mlp only
    dropout: float | None = None
    width: float | None = None  # cnn only
    schedule: str | None = None  # None: the model's own (models.SCHEDULES)
    augment: str | None = None  # cnn only: a models.AUGMENTATIONS name

    def resolved(self) -> TrainConfig:
        """A copy with the model's defaults filled in."""
        recipe = models.RECIPES[self.model]
        mlp = self.model == "mlp"
        augment = recipe.augment if self.augment is None else self.augment
        return TrainConfig(
            model=self.model,
            epochs=self.epochs or models.default_epochs(self.model, augment),
            batch_size=self.batch_size or recipe.batch_size,
            lr=self.lr or recipe.lr,
            val_split=self.val_split,
            seed=self.seed,
            limit=self.limit,
            optimizer=self.optimizer,
            hidden=[int(n) for n in self.hidden or models.DEFAULT_HIDDEN] if mlp else None,
            dropout=models.default_dropout(self.model, augment) if self.dropout is None else self.dropout,
            width=None if mlp else (self.width or 1.0),
            schedule=self.schedule or recipe.schedule,
            augment=augment,
        )

    def build_options(self) -> dict:
        """models.build's keyword arguments for this (resolved) configuration."""
        return dict(optimizer=self.optimizer, hidden=self.hidden, dropout=self.dropout, width=self.width or 1.0, schedule=self.schedule)


class Listener(Protocol):
    def on_train_begin(self, epochs: int, steps_per_epoch: int) -> None: ...
    def on_epoch_begin(self, epoch: int) -> None: ...
    def on_batch_end(self, step: int, logs: dict) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict, seconds: float) -> None: ...
    def on_train_end(self) -> None: ...
    def on_notice(self, message: str) -> None: ...


@dataclass
class TrainResult:
    model: object
    metadata: dict
    history: dict[str, list[float]] = field(default_factory=dict)
    test_probabilities: np.ndarray | None = None  # (10,000, 10): checks the LiteRT form without another pass


def split(x: np.ndarray, y: np.ndarray, val_split: float):
    """Hold out the last fraction for validation, as Keras' validation_split does."""
    cut = int(len(x) * (1 - val_split))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def train(
    config: TrainConfig,
    dataset: data.Dataset,
    listener: Listener,
    state_file: Path | None = None,
    resumed: tuple | None = None,
    callbacks: tuple = (),
) -> TrainResult:
    """Train a model; with `state_file`, keep the last finished epoch resumable there.

    `resumed` is (model, state) from checkpoint.load, to continue an interrupted run.
    """
    config = config.resolved()
    n_available = len(dataset.x_train)
    if config.limit is not None and config.limit > n_available:
        raise BadOption(f"--limit {config.limit:,} is larger than the {n_available:,} training images available")
    x_all = dataset.x_train[: config.limit]
    y_all = dataset.y_train[: config.limit]
    (x_train, y_train), (x_val, y_val) = split(x_all, y_all, config.val_split)
    if len(x_train) == 0:
        raise BadOption(f"--val-split {config.val_split} leaves no training images out of {len(x_all):,}")
    if config.val_split > 0 and len(x_val) == 0:
        raise BadOption(f"--val-split {config.val_split} leaves no validation images out of {len(x_all):,}")

    # The same seed on the same machine and versions gives the same weights.
    tf.config.experimental.enable_op_determinism()
    steps = math.ceil(len(x_train) / config.batch_size)
    if resumed is None:
        initial_epoch, previous = 0, {}
        keras.utils.set_random_seed(config.seed)
        model = models.build(config.model, config.lr, total_steps=steps * config.epochs, **config.build_options())
    else:
        model, state = resumed
        initial_epoch, previous = state["epochs_done"], state["history"]
        # A fresh but still seeded stream for the remaining epochs' shuffling and warping.
        keras.utils.set_random_seed(config.seed + initial_epoch)
    earlier_seconds = resumed[1].get("seconds", 0.0) if resumed else 0.0
    saver = None
    if state_file:
        saver = checkpoint.Checkpoint(state_file, model, config, dataset.fingerprint, previous, earlier_seconds, listener.on_notice)
    warning = too_few_to_learn(y_train)
    if warning:
        listener.on_notice(warning)
    bridge = _KerasBridge(listener, steps, saver)
    started = time.perf_counter()
    # Ctrl-C and SIGTERM only ask training to stop: it stops at the next batch
    # boundary, with TensorFlow idle, and keeps the last finished epoch.
    with interrupts.deferred():
        try:
            fitted = model.fit(
                **_training_data(config, x_train, y_train, seed=config.seed + initial_epoch),
                epochs=config.epochs,
                initial_epoch=initial_epoch,
                validation_data=augment.in_order(to_unit(x_val), y_val, EVAL_BATCH) if len(x_val) else None,
                callbacks=[*callbacks, bridge],
                verbose=0,
            ).history
        finally:
            listener.on_train_end()
        signum = interrupts.requested()
        if signum is not None:
            interrupts.forget()
            done = saver.save_last() if saver else 0
            raise checkpoint.interrupted(interrupts.exception_for(signum), state_file, done, config.epochs)
    seconds = earlier_seconds + time.perf_counter() - started
    keys = dict.fromkeys([*previous, *fitted])  # a resumed run may have no epochs left to fit
    history = {key: [float(v) for v in [*previous.get(key, []), *fitted.get(key, [])]] for key in keys}
    smaller = f"try a smaller --lr than {config.lr:g}"
    if bridge.bad_loss is not None:
        how = f"exploded to {bridge.bad_loss:.3g}" if math.isfinite(bridge.bad_loss) else f"became {bridge.bad_loss}"
        failure = f"the loss {how} in epoch {bridge.bad_epoch + 1}; {smaller}"
    else:
        failure = at_chance(history, y_val if len(x_val) else y_train)
        failure = failure and f"{failure}; {smaller}, or check the data"
    if failure:
        if resumed is None and state_file is not None and state_file.exists():
            state_file.unlink()  # only this run's epochs before it failed
        raise TrainingError(f"training failed: {failure}; no model was saved")
    test_probabilities = model.predict(augment.in_order(to_unit(dataset.x_test), None, EVAL_BATCH), verbose=0)
    scores = evaluate.evaluate(test_probabilities, dataset.y_test)  # the numbers `digits eval` reports
    metadata = {
        "architecture": config.model,
        "preprocessing": "scale_0_1",
        "input_shape": [28, 28],
        "class_names": [str(d) for d in range(10)],
        "training": asdict(config),
        "history": history,
        "train_seconds": round(seconds, 2),
        "test_accuracy": scores.accuracy,
        "test_loss": scores.loss,
        "data": {
            "source": dataset.source,
            "fingerprint": dataset.fingerprint,
            "n_train": len(x_train),
            "n_val": len(x_val),
            "n_test": len(dataset.x_test),
        },
        "versions": {
            "digits": __version__,
            "keras": keras.__version__,
            "tensorflow": tf.__version__,
            "python": platform.python_version(),
        },
        "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return TrainResult(model=model, metadata=metadata, history=history, test_probabilities=test_probabilities)


def _training_data(config: TrainConfig, x: np.ndarray, y: np.ndarray, seed: int) -> dict:
    """fit()'s training-data arguments: a pipeline of shuffled batches, augmented if the configuration says so."""
    augmentation = models.AUGMENTATIONS[config.augment] if config.augment else None
    return {"x": augment.training_batches(to_unit(x), y, config.batch_size, seed, augmentation), "shuffle": False}  # the pipeline shuffles, seeded


class _KerasBridge(keras.callbacks.Callback):
    """Turns Keras callbacks into Listener calls and checkpoints.

    Stops within a batch or two of an exploded or non-finite loss, or of a Ctrl-C/SIGTERM (see
    interrupts.deferred); an epoch cut short is neither kept nor shown, so the
    last epoch shown is the one an interrupt keeps.

    Its batch hooks only read the logs and set flags, so Keras may run them on its
    own threads (async_safe): otherwise every step would wait for the previous
    one's loss to reach Python (3 epochs of the default took 1.46x as long on 2 shared cores).
    Those threads may run two hooks at once or out of order: a hook older than
    one already run is dropped (the logs' loss is the epoch's running mean, so the
    newer one has seen it), so progress never steps back. The epoch hooks run
    after Keras has finished every batch hook.
    """

    async_safe = True

    def __init__(self, listener: Listener, steps: int, saver: checkpoint.Checkpoint | None = None):
        super().__init__()
        self.listener = listener
        self.steps = steps
        self.saver = saver
        self.bad_loss = None
        self.bad_epoch = None
        self._epoch = 0
        self._epoch_start = 0.0
        self._cut = False
        self._batch = -1  # the newest batch whose hook has run, this epoch
        self._lock = threading.Lock()

    def on_train_begin(self, logs=None):
        self.listener.on_train_begin(self.params["epochs"], self.steps)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_start = time.perf_counter()
        self._cut = False
        self._batch = -1
        self.listener.on_epoch_begin(epoch)

    def on_train_batch_end(self, batch, logs=None):
        with self._lock:
            if batch < self._batch:
                return
            self._batch = batch
            logs = logs or {}
            loss = logs.get("loss")
            if loss is not None and not loss <= EXPLODED_LOSS:  # `not <=` also catches NaN
                self.bad_loss, self.bad_epoch = loss, self._epoch
                self.model.stop_training = True
            elif interrupts.requested() is not None:
                self.model.stop_training = True
                self._cut = batch + 1 < self.steps
            self.listener.on_batch_end(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if interrupts.requested() is not None:  # this epoch's validation would be incomplete
            self.model.stop_evaluating = True
            self._cut = True

    def on_epoch_end(self, epoch, logs=None):
        if self.bad_loss is not None or self._cut:
            return
        logs = dict(logs or {})
        if self.saver:
            self.saver.keep(epoch + 1, logs, self.params["epochs"])  # kept before it is shown
        self.listener.on_epoch_end(epoch, logs, time.perf_counter() - self._epoch_start)
        if interrupts.requested() is not None:
            self.model.stop_training = True


def too_few_to_learn(labels: np.ndarray) -> str | None:
    """A warning when some digit has too few training images for the model to learn it."""
    counts = np.bincount(labels, minlength=10)
    if counts.min() >= MIN_PER_DIGIT:
        return None
    digit = int(counts.argmin())
    return (
        f"too few training images to learn from: {len(labels):,}, with {counts[digit]} of digit {digit} "
        f"(at least {MIN_PER_DIGIT} of each digit are needed); expect a model little better than chance"
    )


def at_chance(history: dict[str, list[float]], labels: np.ndarray) -> str | None:
    """Why a finished run learned nothing, if it did not: its final accuracy is no better than one fixed guess.

    Judged on the validation images (the training images without them), only
    when there are enough of them for the accuracy to mean something.
    """
    key = "val_accuracy" if "val_accuracy" in history else "accuracy"
    if not history.get(key) or len(labels) < MIN_JUDGED:
        return None
    accuracy = history[key][-1]
    guess = np.bincount(labels, minlength=10).max() / len(labels)  # always answering the most common digit
    if accuracy > guess + CHANCE_MARGIN:
        return None
    where = "validation" if key == "val_accuracy" else "training"
    return f"{where} accuracy ended at {accuracy * 100:.1f} %, no better than chance ({guess * 100:.1f} % by always guessing one digit)"
