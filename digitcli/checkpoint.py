"""Resumable training state, written beside the output after every epoch.

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

from . import store
from .backend import keras
from .errors import BadOption, DataError, Interrupted, ModelFileError, Terminated

STATE_MEMBER = "digits-resume.json"
SAVE_EVERY_S = 5.0
COMPARED = ("model", "epochs", "batch_size", "lr", "val_split", "seed", "limit", "optimizer", "hidden", "dropout", "width")


class Checkpoint(keras.callbacks.Callback):
    """Saves the state atomically at the end of epochs whose loss is finite.

    Short epochs are saved at most every SAVE_EVERY_S seconds (a save costs a
    few tens of milliseconds, a real share of an mlp's half-second epoch); the
    last epoch is always saved, so a finished run can still be saved after an
    interrupt.
    """

    def __init__(self, path: Path, config, fingerprint: str, history: dict[str, list[float]], seconds: float, notice):
        super().__init__()
        self.notice = notice  # tells the user, once, if the state cannot be written
        self.broken = False
        self.path = path
        self.config = config
        self.fingerprint = fingerprint
        self.history = {key: list(values) for key, values in history.items()}
        self.epochs_done = len(self.history.get("loss", []))  # as saved in the state file
        self.earlier_seconds = seconds  # training time of the runs this one continues
        self.started = time.perf_counter()
        self.last_save = -math.inf

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if not math.isfinite(logs.get("loss", float("nan"))):
            return  # never keep a diverged state
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        now = time.perf_counter()
        if self.broken or (now - self.last_save < SAVE_EVERY_S and epoch + 1 < self.params["epochs"]):
            return
        self.last_save = now
        state = {
            "config": asdict(self.config),
            "epochs_done": epoch + 1,
            "history": self.history,
            "fingerprint": self.fingerprint,
            "seconds": self.earlier_seconds + now - self.started,
        }
        try:
            self._write(state)
        except OSError as exc:  # a full disk should not cost the training itself
            self.broken = True
            self.notice(f"cannot save the resumable state to {self.path} ({exc.strerror or exc}); training goes on without it")
            return
        self.epochs_done = epoch + 1

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
    signal_name, code = ("SIGTERM", 143) if isinstance(exc, Terminated) else ("Ctrl-C", 130)
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
