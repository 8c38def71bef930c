"""Resumable training state: the last finished epoch, kept beside the output.

The state file is a Keras zip holding the model with its optimizer state
(so a learning-rate schedule continues where it stopped), plus a JSON member
with the options, the epochs done, the history so far and the data's
fingerprint. `digits train --resume` continues from it; a finished run
removes it.
"""

from __future__ import annotations

import json
import math
import os
import time
import zipfile
from dataclasses import asdict
from pathlib import Path

from . import interrupts, store
from .backend import keras
from .errors import BadOption, DataError, Interrupted, ModelFileError

STATE_MEMBER = "digits-resume.json"
SAVE_EVERY_S = 5.0
COMPARED = ("model", "epochs", "batch_size", "lr", "val_split", "seed", "limit", "optimizer", "hidden", "dropout", "width", "schedule", "augment")


class Checkpoint:
    """The last finished epoch, kept in memory and written where it must survive.

    After every finished epoch whose loss is finite, `keep` copies the weights,
    the optimizer's state (its step count drives the learning-rate schedule),
    the history and the epoch count into memory; an interrupt writes that copy
    (`save_last`), so the state names the last epoch the user saw. For a crash
    or SIGKILL, epochs are also written as they finish, at most every
    SAVE_EVERY_S seconds (a write costs a few tens of milliseconds, a real share
    of an mlp's half-second epoch). The last epoch is always written, so a run
    interrupted while it is scored and saved can still be resumed.
    """

    def __init__(self, path: Path, model, config, fingerprint: str, history: dict[str, list[float]], seconds: float, notice):
        self.notice = notice  # tells the user, once, if the state cannot be written
        self.broken = False
        self.path = path
        self.model = model
        self.config = config
        self.fingerprint = fingerprint
        self.history = {key: list(values) for key, values in history.items()}
        self.epochs_done = len(self.history.get("loss", []))  # the last finished epoch, in memory
        self.written = self.epochs_done  # the epochs the state file holds
        self.earlier_seconds = seconds  # training time of the runs this one continues
        self.started = time.perf_counter()
        self.seconds = seconds
        self.last_save = -math.inf
        self.weights = None  # (model weights, optimizer variables) after epoch `epochs_done`

    def keep(self, epochs_done: int, logs: dict, planned: int) -> None:
        """Remember the model as it is after the epoch `epochs_done`, and write it if it is time."""
        if not math.isfinite(logs.get("loss", float("nan"))):
            return  # never keep a diverged state
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        self.epochs_done = epochs_done
        now = time.perf_counter()
        self.seconds = self.earlier_seconds + now - self.started
        if now - self.last_save >= SAVE_EVERY_S or epochs_done >= planned:
            self.last_save = now
            self._save()
        if self.written != epochs_done:  # not on disk: not due yet, or the disk refused it
            self.weights = (self.model.get_weights(), [v.numpy() for v in self.model.optimizer.variables])

    def save_last(self) -> int:
        """Write the last finished epoch (if it is not on disk yet); return the epochs the state file holds."""
        if self.written != self.epochs_done and self.weights is not None:
            weights, optimizer_state = self.weights
            self.model.set_weights(weights)
            for variable, value in zip(self.model.optimizer.variables, optimizer_state):
                variable.assign(value)
            self._save()
        return self.written

    def _save(self) -> None:
        if self.broken:
            return
        state = {
            "config": asdict(self.config),
            "epochs_done": self.epochs_done,
            "history": self.history,
            "fingerprint": self.fingerprint,
            "seconds": self.seconds,
        }
        try:
            self._write(state)
        except OSError as exc:  # a full disk should not cost the training itself
            self.broken = True
            self.notice(f"cannot save the resumable state to {self.path} ({exc.strerror or exc}); training goes on without it")
            return
        self.written = self.epochs_done
        self.weights = None  # on disk now

    def _write(self, state: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = store.temporary_beside(self.path)
        os.close(fd)
        try:
            self.model.save(tmp)
            with zipfile.ZipFile(tmp, "a") as archive:
                archive.writestr(STATE_MEMBER, json.dumps(state))
            os.replace(tmp, self.path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def interrupted(exc: BaseException, path: Path | None, epochs_done: int, planned: int) -> Interrupted:
    """What to tell the user: which epoch's state was kept, and the command that resumes."""
    signum = interrupts.signal_of(exc)
    signal_name, code = interrupts.NAMES[signum], interrupts.EXIT_CODES[signum]
    if path is None or not path.exists():
        return Interrupted(f"Interrupted by {signal_name} before an epoch finished; nothing was saved.", code)
    output = path.with_name(path.name.removesuffix(store.STATE_SUFFIX))
    return Interrupted(
        f"Interrupted by {signal_name} after epoch {epochs_done} of {planned}; its state is saved in {path}.\n"
        f"Resume with: digits train --resume --output {output}",
        code,
    )


def load(path: Path):
    """(model with its optimizer state, state dict) from a state file."""
    damaged = f"the saved training state {path} is damaged or not a digits state; start afresh with --overwrite"
    try:
        store.check_keras_zip(path)
        content = store.read_member(path, STATE_MEMBER)
        state = json.loads(content) if content is not None else None
        state["config"], state["epochs_done"], state["history"], state["fingerprint"]  # noqa: B018
        seed = int(state["config"]["seed"]) + int(state["epochs_done"])
    except (ModelFileError, ValueError, TypeError, KeyError):
        raise ModelFileError(damaged) from None
    # Layers draw their dropout seeds as they are built: seed first, so that the
    # same state always resumes the same way.
    keras.utils.set_random_seed(seed)
    try:
        model = store.load_keras(path, compile=True)
    except ModelFileError:
        raise ModelFileError(damaged) from None
    return model, state


def merge(state: dict, given: dict, fingerprint: str) -> dict:
    """The options to resume with: the state's, checked against those given on the command line.

    `given` maps option names to the values the user typed; each must equal the
    interrupted run's, since the learning-rate schedule was planned from them.
    """
    saved = state["config"]
    for name in COMPARED:
        if name in given and given[name] != saved.get(name):
            flag = "--" + name.replace("_", "-")
            raise BadOption(
                f"--resume: {flag} {given[name]} differs from the interrupted run's {saved.get(name)}; "
                "resume with the same options, or start afresh with --overwrite"
            )
    if fingerprint != state["fingerprint"]:
        raise DataError("--resume: the data differs from the interrupted run's (its fingerprint does not match)")
    return saved
