"""Throughput of `digits eval` and `digits predict` on a folder, beside TensorFlow's import.

Each command runs as a whole process, the way a user runs it, and is timed
against `python -c "import tensorflow"` in the same run (median of --repeat runs):

    python benchmarks/throughput.py --model models/digits.keras --images 1000

The folder holds MNIST test digits drawn as dark ink on 300x300 white PNGs,
so `predict` pays for decoding and preprocessing each file as a user's would.
Writes benchmarks/throughput.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from PIL import Image

from digitcli import __version__, data

DIGITS = str(Path(sys.executable).with_name("digits"))
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def timed(command: list[str], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, check=True, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def write_images(folder: Path, count: int) -> None:
    dataset = data.load("bundled")
    for i in range(count):
        Image.fromarray(255 - dataset.x_test[i]).resize((300, 300), Image.BILINEAR).save(folder / f"{i:05}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/digits.keras")
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", default=str(Path(__file__).with_name("throughput.md")))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_images(folder, args.images)
        tf_import = timed([sys.executable, "-c", "import tensorflow"], args.repeat)
        rows = [
            ("`python -c \"import tensorflow\"`", None, tf_import),
            ("`digits eval` (10,000 test images)", 10_000, timed([DIGITS, "eval", "--model", args.model, "--data", "bundled"], args.repeat)),
            ("`digits eval --json`", 10_000, timed([DIGITS, "eval", "--json", "--model", args.model, "--data", "bundled"], args.repeat)),
            (f"`digits predict FOLDER` ({args.images:,} PNG files)", args.images,
             timed([DIGITS, "predict", str(folder), "--format", "csv", "--model", args.model], args.repeat)),
            ("`digits predict one.png`", 1, timed([DIGITS, "predict", str(folder / "00000.png"), "--model", args.model], args.repeat)),
        ]
    lines = [
        "# Throughput of eval and predict",
        "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores ({platform.machine()}), "
        f"Python {platform.python_version()}, digits {__version__}, model `{args.model}`; "
        f"median of {args.repeat} whole-process runs.",
        "",
        "| command | images | wall time (s) | images/s | time / TensorFlow import |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, count, seconds in rows:
        rate = f"{count / seconds:,.0f}" if count else ""
        lines.append(f"| {name} | {count or ''} | {seconds:.2f} | {rate} | {seconds / tf_import:.2f} |")
    lines += ["", f"Reproduce: `python benchmarks/throughput.py --model {args.model} --images {args.images} --repeat {args.repeat}`", ""]
    Path(args.output).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
