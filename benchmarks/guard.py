"""Where the fast accuracy guard's threshold comes from (tests/test_accuracy_guard.py).

The guard trains `digits train --model mlp --limit N --epochs E` on the bundled data and
scores the model on the official 10,000 test images. This script measures that score over
several seeds (the spread a good recipe shows) and for a few deliberately broken recipes
(what a regression gives), each in a fresh process, and prints a Markdown table:

    nice -n 10 python benchmarks/guard.py > benchmarks/guard.md     # 10 training runs: 5-40 minutes on 2 cores

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
import gzip, json, shutil, sys, tempfile
from pathlib import Path
import numpy as np
{patch}
from digitcli.cli import app
try:
    app(["train", "--model", "mlp", "--limit", "{limit}", "--epochs", "{epochs}", "--seed", "{seed}",
         "--data", "bundled", "--output", sys.argv[1], "--progress", "none"])
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
# Scored as the guard test scores it: Keras on the official test images scaled to [0, 1], as every model takes them.
import digitcli, keras
from digitcli import store
bundled = Path(digitcli.__file__).parent / "mnist"
images = np.frombuffer(gzip.decompress((bundled / "t10k-images-idx3-ubyte.gz").read_bytes()), np.uint8, offset=16)
labels = np.frombuffer(gzip.decompress((bundled / "t10k-labels-idx1-ubyte.gz").read_bytes()), np.uint8, offset=8)
with tempfile.TemporaryDirectory() as tmp:
    shutil.copyfile(sys.argv[1], Path(tmp) / "m.keras")
    model = keras.saving.load_model(Path(tmp) / "m.keras", compile=False)
predicted = model.predict(images.reshape(-1, 28, 28).astype("float32") / 255, verbose=0).argmax(axis=1)
print(json.dumps({{"reported": store.read_metadata(Path(sys.argv[1]))["test_accuracy"], "scored": float(np.mean(predicted == labels))}}))
"""


def run(patch: str, seed: int, limit: int, epochs: int) -> tuple[float, float, float]:
    """(test accuracy as digits reports it, as the guard scores it, seconds) of one run in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "m.keras"
        started = time.perf_counter()
        code = RUN.format(patch=patch, limit=limit, epochs=epochs, seed=seed)
        done = subprocess.run([sys.executable, "-c", code, str(out)], check=True, capture_output=True, text=True,
                              env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        seconds = time.perf_counter() - started
        scores = json.loads(done.stdout.strip().splitlines()[-1])
        return scores["reported"], scores["scored"], seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6, help="good runs, seeds 0 to N-1")
    parser.add_argument("--limit", type=int, default=LIMIT)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--no-broken", action="store_true", help="only the good seeds")
    args = parser.parse_args()
    print(f"# Fast accuracy guard: mlp, --limit {args.limit}, {args.epochs} epochs, bundled data\n")
    print(f"Command: `nice -n 10 python benchmarks/guard.py --seeds {args.seeds}{' --no-broken' if args.no_broken else ''}`")
    print("(each run a fresh process; seconds include Python and TensorFlow start-up, on a shared 2-core machine).")
    print("*Reported* is the test accuracy `digits train` prints; *scored* is the guard test's own computation:")
    print("Keras on the official test images scaled to [0, 1], as `digits eval` and `digits predict` feed them.\n")
    print("| recipe | seed | reported | scored | seconds |\n| --- | --- | --- | --- | --- |")
    good = []
    for seed in range(args.seeds):
        reported, scored, seconds = run("", seed, args.limit, args.epochs)
        good.append(scored)
        print(f"| good | {seed} | {reported:.4f} | {scored:.4f} | {seconds:.1f} |", flush=True)
    for name, patch in ({} if args.no_broken else BROKEN).items():
        reported, scored, seconds = run(patch, 0, args.limit, args.epochs)
        print(f"| broken: {name} | 0 | {reported:.4f} | {scored:.4f} | {seconds:.1f} |", flush=True)
    if len(good) > 1:
        print(f"\nGood seeds (scored): min {min(good):.4f}, mean {statistics.mean(good):.4f}, sd {statistics.stdev(good):.4f}")


if __name__ == "__main__":
    main()
