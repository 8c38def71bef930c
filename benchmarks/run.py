"""Benchmark `digits train` against the plain Keras recipes it replaces, side by side.

Runs, each in a fresh process on this machine, in one go:

- the README's MLP recipe and the Keras "simple MNIST convnet" example as plain
  Keras scripts (inline below);
- `digits train --model mlp` and the default `digits train` (several seeds);
- start-up times: `digits --help`, `digits --version`, `python -c "import tensorflow"`,
  and `digits predict` on test samples and on one image file;

then writes a Markdown report (benchmarks/results.md). Other work on a shared
machine makes absolute seconds drift, so the claims are ratios within one run:
the convnet example is timed before and after the `digits train` seeds and the
MLP pair is interleaved, to spread that drift over both sides.

    python benchmarks/run.py              # full run, about 20-30 minutes on 2 cores
    python benchmarks/run.py --quick      # 2 epochs everywhere, 1 seed: checks the script works
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
DIGITS = str(Path(sys.executable).with_name("digits"))
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}

# Both plain scripts print one JSON line last: test accuracy and the seconds fit() took.
PRELUDE = """
import json, os, sys, time
import numpy as np
import keras
from digitcli import data
keras.utils.set_random_seed(int(sys.argv[2]))
dataset = data.load(sys.argv[1])
x_train, y_train = dataset.x_train.astype("float32") / 255, dataset.y_train
x_test, y_test = dataset.x_test.astype("float32") / 255, dataset.y_test
epochs = int(sys.argv[3])
"""

MLP_SCRIPT = PRELUDE + """
model = keras.Sequential([
    keras.Input((28, 28)),
    keras.layers.Flatten(),
    keras.layers.Dense(128, activation="relu"),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
started = time.perf_counter()
model.fit(x_train, y_train, epochs=epochs, batch_size=128, validation_split=0.1)
seconds = time.perf_counter() - started
_, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(json.dumps({"test_accuracy": accuracy, "train_seconds": seconds}))
"""

# keras-io examples/vision/mnist_convnet.py, as published.
CONVNET_SCRIPT = PRELUDE + """
x_train, x_test = np.expand_dims(x_train, -1), np.expand_dims(x_test, -1)
y_train, y_test = keras.utils.to_categorical(y_train, 10), keras.utils.to_categorical(y_test, 10)
model = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
    keras.layers.MaxPooling2D(pool_size=(2, 2)),
    keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
    keras.layers.MaxPooling2D(pool_size=(2, 2)),
    keras.layers.Flatten(),
    keras.layers.Dropout(0.5),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
started = time.perf_counter()
model.fit(x_train, y_train, batch_size=128, epochs=epochs, validation_split=0.1)
seconds = time.perf_counter() - started
_, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(json.dumps({"test_accuracy": accuracy, "train_seconds": seconds}))
"""


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def run(args: list[str], check: bool = True) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=ENV, cwd=REPO)
    seconds = time.perf_counter() - started
    if check and done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(args)}\n{done.stderr[-3000:]}")
    return done, seconds


def plain_keras(name: str, script: str, data: str, seed: int, epochs: int) -> dict:
    log(f"{name}: plain Keras script, seed {seed}")
    done, wall = run([PYTHON, "-c", script, data, str(seed), str(epochs)])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {"recipe": name, "seed": seed, "wall_seconds": wall, **result}


def digits_train(name: str, extra: list[str], data: str, seed: int, workdir: Path, epochs: int | None) -> dict:
    from digitcli import store

    log(f"{name}: digits train {' '.join(extra)} --seed {seed}")
    output = workdir / f"{name}-{seed}.keras"
    args = [DIGITS, "train", *extra, "--data", data, "--seed", str(seed), "--progress", "plain",
            "--output", str(output), "--overwrite"]
    if epochs:
        args += ["--epochs", str(epochs)]
    _, wall = run(args)
    meta = store.read_metadata(output)
    return {"recipe": name, "seed": seed, "wall_seconds": wall, "model": output,
            "test_accuracy": meta["test_accuracy"], "train_seconds": meta["train_seconds"]}


def median_seconds(args: list[str], repeats: int) -> tuple[float | None, str]:
    """Median wall time of a command, or None and why when it does not succeed."""
    times = []
    for _ in range(repeats):
        done, seconds = run(args, check=False)
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
            return None, f"not measured: exit code {done.returncode} ({reason[:120]})"
        times.append(seconds)
    return statistics.median(times), ""


def one_png(path: Path, image) -> Path:
    """A test digit saved as a PNG, as a user's scan would arrive."""
    from PIL import Image

    Image.fromarray(image).save(path)
    return path


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}, {platform.system()} {platform.machine()}"


def versions() -> str:
    found = {"python": platform.python_version()}
    for name, distributions in (("tensorflow", ("tensorflow", "tensorflow-cpu")), ("keras", ("keras",)),
                                ("digits", ("digits",))):
        found[name] = "not installed"
        for distribution in distributions:
            try:
                found[name] = importlib.metadata.version(distribution)
                break
            except importlib.metadata.PackageNotFoundError:
                pass
    return ", ".join(f"{name} {version}" for name, version in found.items())


def mean_spread(values: list[float]) -> tuple[float, float, float, float]:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.mean(values), std, min(values), max(values)


def report(results: dict, options: argparse.Namespace, command: str) -> str:
    convnet = results["convnet"]
    reference = statistics.mean(r["train_seconds"] for r in convnet)
    mlp_plain = statistics.median(r["train_seconds"] for r in results["mlp_plain"])
    cnn = results["cnn"]
    acc_mean, acc_std, acc_min, acc_max = mean_spread([r["test_accuracy"] * 100 for r in cnn])
    sec_mean, sec_std, _, _ = mean_spread([r["train_seconds"] for r in cnn])

    def row(label, runs, mlp=False):
        accuracy = mean_spread([r["test_accuracy"] * 100 for r in runs])[0]
        average = statistics.median if mlp else statistics.mean
        train_s = average(r["train_seconds"] for r in runs)
        wall_s = average(r["wall_seconds"] for r in runs)
        seeds = ", ".join(str(r["seed"]) for r in runs)
        vs_mlp = f"{train_s / mlp_plain:.2f}" if mlp else "–"
        return (f"| {label} | {seeds} | {accuracy:.2f} % | {train_s:.1f} s | {wall_s:.1f} s "
                f"| {train_s / reference:.2f} | {vs_mlp} |")

    convnet_times = ", ".join(f"{r['train_seconds']:.1f}" for r in convnet)
    mlp_ratio = statistics.median(r["train_seconds"] for r in results["mlp_digits"]) / mlp_plain

    lines = [
        "# `digits train` against the plain Keras recipes",
        "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {machine()}.",
        f"Versions: {versions()}.",
        f"Data: `{options.data}`, {options.data_size}; {options.epochs_note}.",
        "",
        "Reproduce (from the repository root, with the `digits` venv's Python):",
        "",
        "```bash",
        command,
        "```",
        "",
        "Every run is a fresh process. *Train* is the time `fit()` took (for `digits train`, the "
        "`train_seconds` in the saved model's metadata); *process* is the whole command, start-up, data "
        "loading, test scoring and saving included. Other work shares these cores, so absolute seconds "
        "drift; the ratios within this one run are the claim. The convnet example was timed before and "
        "after the `digits train` seeds and its mean is the reference; the MLP pair ran interleaved "
        "and the medians are compared (the MLP rows show medians, the others means). Test accuracy is the model as it is at the end of training, "
        "on the 10,000 official test images.",
        "",
        "| recipe | seeds | test accuracy | train | process | train ÷ convnet example | train ÷ plain MLP |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        row("Keras simple MNIST convnet example (plain script)", convnet),
        row("README MLP recipe (plain script)", results["mlp_plain"], mlp=True),
        row("`digits train --model mlp`", results["mlp_digits"], mlp=True),
        row("`digits train` (default cnn)", cnn),
        "",
        f"Default `digits train` over {len(cnn)} seeds: test accuracy **{acc_mean:.2f} ± {acc_std:.2f} %** "
        f"(mean ± standard deviation; range {acc_min:.2f}–{acc_max:.2f} %), train time {sec_mean:.1f} ± "
        f"{sec_std:.1f} s, **{sec_mean / reference:.2f}×** the convnet example's "
        f"({convnet_times} s).",
        "",
        f"`digits train --model mlp` takes **{mlp_ratio:.2f}×** "
        f"the plain MLP script's train time (medians of {len(results['mlp_digits'])} interleaved runs each, "
        "progress display included on our side, Keras' default progress bar on theirs).",
        "",
        "Per run:",
        "",
        "| recipe | seed | test accuracy | train | process |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key in ("convnet", "mlp_plain", "mlp_digits", "cnn"):
        for r in results[key]:
            lines.append(f"| {r['recipe']} | {r['seed']} | {r['test_accuracy'] * 100:.2f} % "
                         f"| {r['train_seconds']:.1f} s | {r['wall_seconds']:.1f} s |")
    import_tf = results["startup"]["python -c \"import tensorflow\""][0]
    lines += [
        "",
        f"## Start-up (median of {options.repeats} runs)",
        "",
        "| command | time | ÷ `import tensorflow` |",
        "| --- | --- | --- |",
    ]
    for label, (seconds, why) in results["startup"].items():
        if seconds is None:
            lines.append(f"| `{label}` | {why} | |")
        else:
            lines.append(f"| `{label}` | {seconds:.2f} s | {seconds / import_tf:.2f} |")
    lines += [
        "",
        "`M` is the default model trained with seed "
        f"{cnn[0]['seed']} above; `one.png` is test image 0 saved as a PNG. The `digits predict` rows "
        "are measured only when the command succeeds.",
        "",
    ]
    return "\n".join(lines)


GENERATED = ("## Start-up",)  # the sections this script writes; every other "## " section is kept


def hand_written(text: str) -> str:
    """The sections of an earlier report that this script does not write (robustness, tune, ...)."""
    kept, keep = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith("## "):
            keep = not line.startswith(GENERATED)
        if keep:
            kept.append(line)
    return "".join(kept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3, help="seeds for the default `digits train` (default 3)")
    parser.add_argument("--mlp-runs", type=int, default=3, help="interleaved runs of each MLP variant (default 3)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per start-up timing (default 5)")
    parser.add_argument("--data", default=os.environ.get("DIGITS_DATA", "bundled"),
                        help="data for every run (default $DIGITS_DATA, else bundled)")
    parser.add_argument("--quick", action="store_true",
                        help="2 epochs everywhere, 1 seed, 1 MLP pair, 2 repeats; prints instead of writing results.md")
    parser.add_argument("--output", type=Path, help="where to write the report (default benchmarks/results.md)")
    options = parser.parse_args()
    from digitcli import data as data_mod
    from digitcli.models import RECIPES

    epochs = None
    if options.quick:
        epochs, options.seeds, options.mlp_runs, options.repeats = 2, 1, 1, 2
    options.epochs_note = (f"--quick: every recipe cut to {epochs} epochs" if epochs
                           else f"epochs: 15 for both plain scripts, {RECIPES['mlp'].epochs} for `digits train --model mlp`, "
                           f"{RECIPES['cnn'].epochs} for `digits train` (each recipe's default)")
    dataset = data_mod.load(options.data)
    options.data_size = f"{len(dataset.x_train):,} training images (10 % held out for validation), {len(dataset.x_test):,} test images"
    command = "python benchmarks/run.py " + " ".join(sys.argv[1:])
    command = command.strip()
    plain_epochs = epochs or 15

    results: dict = {"convnet": [], "mlp_plain": [], "mlp_digits": [], "cnn": []}
    with tempfile.TemporaryDirectory(prefix="digits-bench-") as tmp:
        workdir = Path(tmp)
        results["convnet"].append(plain_keras("Keras convnet example", CONVNET_SCRIPT, options.data, 0, plain_epochs))
        for i in range(options.mlp_runs):
            results["mlp_plain"].append(plain_keras("README MLP recipe", MLP_SCRIPT, options.data, i, plain_epochs))
            results["mlp_digits"].append(digits_train("digits mlp", ["--model", "mlp"], options.data, i, workdir, epochs))
        for seed in range(options.seeds):
            results["cnn"].append(digits_train("digits cnn", [], options.data, seed, workdir, epochs))
        if not options.quick:
            results["convnet"].append(plain_keras("Keras convnet example", CONVNET_SCRIPT, options.data, 1, plain_epochs))

        log("start-up timings")
        model = str(results["cnn"][0]["model"])
        png = str(one_png(workdir / "one.png", dataset.x_test[0]))
        commands = {
            "digits --help": [DIGITS, "--help"],
            "digits --version": [DIGITS, "--version"],
            'python -c "import tensorflow"': [PYTHON, "-c", "import tensorflow"],
            "digits predict --samples 5 --model M": [DIGITS, "predict", "--samples", "5", "--seed", "0",
                                                     "--model", model, "--data", options.data],
            "digits predict one.png --model M": [DIGITS, "predict", png, "--model", model],
        }
        results["startup"] = {label: median_seconds(args, options.repeats) for label, args in commands.items()}
        text = report(results, options, command)

    output = options.output or (None if options.quick else REPO / "benchmarks" / "results.md")
    if output:
        kept = hand_written(output.read_text()) if output.exists() else ""
        output.write_text(text + ("\n" + kept if kept else ""))
        log(f"wrote {output}")
    print(text)


if __name__ == "__main__":
    main()
