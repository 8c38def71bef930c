"""Stress test: Ctrl-C and SIGTERM at random moments of short `digits train` runs on a busy machine.

Each run trains a small model (cnn or mlp, alternately) and gets SIGINT or
SIGTERM (at random) at a random moment: a random point of the run (the moment
it handles signals, i.e. once Python has started and run `digits`' first
lines; its Data or Model line; or the line of any of its epochs), then a random delay
of up to `--spread` seconds. So signals fall in start-up, data loading, model
building, any batch of any epoch, validation, and the scoring, LiteRT check
and saving after the last epoch, whatever the machine's speed. Every interrupted run that kept a state
is then resumed (without interruption) to the end. Counted:

- crashes: a negative exit code (death by a signal, e.g. -11 SIGSEGV) or a
  traceback / fatal error on stderr;
- wrong exit codes: anything but 130 (SIGINT), 143 (SIGTERM), or 0 when the
  run had already saved its model;
- wrong states: the message's "after epoch N" differs from the last epoch
  line shown, or a state that does not resume to the end (exit 0, all epochs
  in the history, the state removed).

Meanwhile `--busy` processes spin on the CPU. Usage (from the repository,
with digits installed):

    python benchmarks/interrupts.py --runs 50 --jobs 4 --seed 0

`--command` runs another build, e.g. `--command "python -m digitcli"`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

RECIPES = {  # on a small copy of MNIST (2,000 training, 1,000 test images), so that runs stay short
    "cnn": ["--model", "cnn", "--epochs", "3", "--data", "small.npz"],
    "mlp": ["--model", "mlp", "--epochs", "4", "--data", "small.npz"],
}
EXPECTED = {signal.SIGINT: 130, signal.SIGTERM: 143}
CRASH_SIGNS = ("Traceback", "Fatal Python error", "Segmentation fault", "Aborted", "core dumped")
TIMEOUT_S = 900


class Run:
    """One `digits` process, its stderr lines (with arrival times) and its exit code."""

    def __init__(self, command: list[str], args: list[str], cwd: Path):
        env = {**os.environ, "DIGITS_DATA": "bundled"}
        self.started = time.monotonic()
        self.process = subprocess.Popen([*command, *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        self.lines: list[tuple[float, str]] = []
        self.stdout = ""
        self.finished = None
        self._readers = [threading.Thread(target=self._read_err), threading.Thread(target=self._read_out)]
        for reader in self._readers:
            reader.start()

    def _read_err(self):
        for line in self.process.stderr:
            self.lines.append((time.monotonic() - self.started, line.rstrip("\n")))
        self.finished = time.monotonic()  # stderr closes as the process ends

    def seen(self, prefix: str | None) -> None:
        """Wait until stderr shows a line starting with `prefix` (or the process ends).

        With no prefix, wait until the process handles SIGTERM itself: before
        that, Python is still starting up and no program can answer a signal.
        """
        while self.process.poll() is None and not (
            any(line.startswith(prefix) for _, line in self.lines) if prefix else self.catches(signal.SIGTERM)
        ):
            time.sleep(0.01)

    def catches(self, sig: int) -> bool:
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:  # ended, or not Linux
            return True
        caught = int(status.split("SigCgt:")[1].split()[0], 16)
        return bool(caught & (1 << (sig - 1)))

    def _read_out(self):
        self.stdout = self.process.stdout.read()

    def wait(self) -> int | None:
        try:
            code = self.process.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            code = None  # hung
        for reader in self._readers:
            reader.join()
        return code

    @property
    def stderr(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def epoch_lines(self, before: float = float("inf")) -> list[int]:
        return [int(m.group(1)) for t, line in self.lines if t <= before and (m := re.match(r"epoch +(\d+)/", line))]


def small_mnist(path: Path) -> None:
    import numpy as np

    from digitcli import data

    mnist = data.load("bundled")
    np.savez(path, x_train=mnist.x_train[:2000], y_train=mnist.y_train[:2000],
             x_test=mnist.x_test[:1000], y_test=mnist.y_test[:1000])


def history_length(path: Path) -> int:
    with zipfile.ZipFile(path) as archive:
        return len(json.loads(archive.read("digits.json"))["history"]["loss"])


def phase(run: Run, at: float) -> str:
    """What the run was doing when the signal was sent, as far as its output tells."""
    seen = [line for t, line in run.lines if t <= at]
    shown = run.epoch_lines(at)
    if not any(line.startswith("Model:") for line in seen):
        return "start-up"
    if not shown:
        return "epoch 1"
    planned = int(re.search(r"(\d+) epochs", next(line for line in seen if line.startswith("Model:"))).group(1))
    return "finishing" if shown[-1] == planned else f"epoch {shown[-1] + 1}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--busy", type=int, default=2, help="CPU-spinning processes to run meanwhile")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--command", default="digits", help="how to run digits")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time")
    parser.add_argument("--spread", type=float, default=4.0,
                        help="the signal comes up to this many seconds after its moment's line")
    args = parser.parse_args()
    command = shlex.split(args.command)
    rng = random.Random(args.seed)
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    counts = {"runs": 0, "crashes": 0, "wrong exit codes": 0, "wrong states": 0, "hangs": 0,
              "finished before the signal": 0, "stopped, nothing to keep": 0, "stopped with a state": 0,
              "states resumed to the end": 0}
    problems = []
    phases: dict[str, int] = {}
    latencies: list[float] = []
    lock = threading.Lock()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            small_mnist(work / "small.npz")
            print(f"load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
            plans = []
            for i in range(args.runs):
                name = "cnn" if i % 2 == 0 else "mlp"
                epochs = int(RECIPES[name][RECIPES[name].index("--epochs") + 1])
                anchors = [None, "Data:", "Model:", *(f"epoch {e}/" for e in range(1, epochs + 1))]
                sig = rng.choice([signal.SIGINT, signal.SIGTERM])
                plans.append((i, name, sig, rng.choice(anchors), rng.uniform(0, args.spread)))

            def trial(plan) -> None:
                i, name, sig, anchor, delay = plan
                output = f"run{i}.keras"
                run = Run(command, ["train", *RECIPES[name], "--progress", "plain", "-o", output], work)
                run.seen(anchor)
                time.sleep(delay)
                sent_at = time.monotonic() - run.started
                if run.process.poll() is None:
                    run.process.send_signal(sig)
                code = run.wait()
                latency = run.finished - run.started - sent_at
                with lock:
                    where = phase(run, sent_at)
                    counts["runs"] += 1
                    phases[where] = phases.get(where, 0) + 1
                    if code in EXPECTED.values():
                        latencies.append(latency)
                verdict = check(run, code, sig, work / output, command, counts, lock)
                label = (f"run {i:2}: {name} {signal.Signals(sig).name:7} at {sent_at:5.1f} s ({where:9}) "
                         f"-> exit {code} {latency:.1f} s later")
                print(f"{label}: {verdict}", flush=True)
                if verdict != "ok":
                    problems.append(f"{label}: {verdict}\n{run.stderr}")

            with ThreadPoolExecutor(args.jobs) as pool:
                list(pool.map(trial, plans))
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("| " + " | ".join(counts) + " |")
    print("|" + " --- |" * len(counts))
    print("| " + " | ".join(str(v) for v in counts.values()) + " |")
    latencies.sort()
    if latencies:
        print(f"from the signal to the exit of a stopped run: median {latencies[len(latencies) // 2]:.1f} s, "
              f"longest {latencies[-1]:.1f} s")
    print("signals by phase: " + ", ".join(f"{k} {v}" for k, v in sorted(phases.items())))
    for problem in problems:
        print("\n" + problem)
    return 1 if counts["crashes"] or counts["wrong exit codes"] or counts["wrong states"] or counts["hangs"] else 0


def check(run: Run, code: int | None, sig: int, output: Path, command: list[str], counts: dict, lock) -> str:
    """The verdict on one interrupted run (and on resuming its state)."""
    verdict, outcome = _check(run, code, sig, output, command)
    with lock:
        for key in outcome:
            counts[key] += 1
    return verdict


def _check(run: Run, code: int | None, sig: int, output: Path, command: list[str]) -> tuple[str, list[str]]:
    """(verdict, the counters it adds to)."""
    state = output.with_name(output.name + ".resume")
    if code is None:
        return "hung", ["hangs"]
    if code < 0 or any(sign in run.stderr for sign in CRASH_SIGNS):
        return "crash", ["crashes"]
    if code == 0 and "Saved model to" in run.stdout and output.exists():
        return "ok", ["finished before the signal"]
    if code != EXPECTED[sig]:
        return f"wrong exit code (expected {EXPECTED[sig]})", ["wrong exit codes"]
    shown = run.epoch_lines()
    if not state.exists():
        if shown or output.exists():
            return "an epoch was shown but no state was kept", ["stopped, nothing to keep", "wrong states"]
        return "ok", ["stopped, nothing to keep"]
    said = re.search(r"after epoch (\d+) of (\d+)", run.stderr)
    if not said or not shown or int(said.group(1)) != shown[-1]:
        return (f"the state is not the last epoch shown ({shown[-1:]}, message {said and said.group(0)})",
                ["stopped with a state", "wrong states"])
    kept, planned = int(said.group(1)), int(said.group(2))
    resumed = Run(command, ["train", "--resume", "--data", "small.npz", "--progress", "plain", "-o", output.name], output.parent)
    resumed_code = resumed.wait()
    first = resumed.epoch_lines()[:1]
    if resumed_code is None or resumed_code < 0 or any(sign in resumed.stderr for sign in CRASH_SIGNS):
        return f"the resumed run crashed (exit {resumed_code}):\n{resumed.stderr}", ["stopped with a state", "crashes"]
    if (
        resumed_code != 0
        or f"Resuming after epoch {kept} of {planned}" not in resumed.stderr
        or (kept < planned and first != [kept + 1])
        or state.exists()
        or history_length(output) != planned
    ):
        return (f"the state did not resume to the end (exit {resumed_code}):\n{resumed.stderr}",
                ["stopped with a state", "wrong states"])
    return "ok", ["stopped with a state", "states resumed to the end"]


if __name__ == "__main__":
    sys.exit(main())
