"""Where the fast accuracy guard's threshold comes from (tests/test_accuracy_guard.py).

The guard trains `digits train --model mlp --limit N --epochs E` on the bundled data and
scores the model on the official 10,000 test images. This script measures that score over
several seeds (the spread a good recipe shows) and for a few deliberately broken recipes
(what a regression gives), each in a fresh process, and prints a Markdown table:

    nice -n 10 python benchmarks/guard.py > benchmarks/guard.md     # about 5 minutes on 2 cores

The threshold belongs well below the lowest good seed and far above the best broken recipe.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIMIT, EPOCHS = 6000, 2  # must match tests/test_accuracy_guard.py

# Each broken recipe is a one-line change to the package, applied in the training process.
BROKEN = {
    "training on the held-out tenth only (split reversed)": (
        "from digitcli import train\n"
        "real = train.split\n"
        "train.split = lambda x, y, f: real(x, y, f)[::-1]\n"
    ),
    "labels off by one image": (
        "from digitcli import train\n"
        "real = train.split\n"
        "train.split = lambda x, y, f: real(x, __import__('numpy').roll(y, 1), f)\n"
    ),
    "pixels not scaled to [0, 1] for training": (
        "from digitcli import train\n"
        "train.to_unit = lambda images: __import__('numpy').asarray(images, 'float32')\n"
    ),
    "learning rate 100x too small": (
        "from digitcli import models\n"
        "import dataclasses\n"
        "models.RECIPES['mlp'] = dataclasses.replace(models.RECIPES['mlp'], lr=1e-5)\n"
    ),
}

RUN = """
import sys
{patch}
from digitcli.cli import app
try:
    app(["train", "--model", "mlp", "--limit", "{limit}", "--epochs", "{epochs}", "--seed", "{seed}",
         "--data", "bundled", "--output", sys.argv[1], "--progress", "none"])
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
"""


def run(patch: str, seed: int, limit: int, epochs: int) -> tuple[float, float]:
    """(test accuracy, seconds) of one training run in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "m.keras"
        started = time.perf_counter()
        code = RUN.format(patch=patch, limit=limit, epochs=epochs, seed=seed)
        subprocess.run([sys.executable, "-c", code, str(out)], check=True, capture_output=True,
                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        seconds = time.perf_counter() - started
        from digitcli import store

        return store.read_metadata(out)["test_accuracy"], seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--limit", type=int, default=LIMIT)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    args = parser.parse_args()
    good = [run("", seed, args.limit, args.epochs) for seed in range(args.seeds)]
    accuracies = [a for a, _ in good]
    print(f"# Fast accuracy guard: mlp, --limit {args.limit}, {args.epochs} epochs, bundled data\n")
    print("Command: `nice -n 10 python benchmarks/guard.py` (each run a fresh process; seconds include")
    print("Python and TensorFlow start-up, on a shared 2-core machine)\n")
    print("| recipe | seed | test accuracy | seconds |\n| --- | --- | --- | --- |")
    for seed, (accuracy, seconds) in enumerate(good):
        print(f"| good | {seed} | {accuracy:.4f} | {seconds:.1f} |")
    for name, patch in BROKEN.items():
        accuracy, seconds = run(patch, 0, args.limit, args.epochs)
        print(f"| broken: {name} | 0 | {accuracy:.4f} | {seconds:.1f} |")
    print(f"\nGood seeds: min {min(accuracies):.4f}, mean {statistics.mean(accuracies):.4f}, "
          f"sd {statistics.stdev(accuracies):.4f}")
    print(json.dumps({"good": accuracies}))


if __name__ == "__main__":
    main()
