"""Throughput of `digits eval` and `digits predict` on a folder, beside TensorFlow's import.

Each command runs as a whole process, the way a user runs it, and is timed
against `python -c "import tensorflow"` in the same run (median of --repeat runs):

    python benchmarks/throughput.py --model models/digits.keras --images 1000

The folder holds MNIST test digits drawn as dark ink on 300x300 white PNGs,
so `predict` pays for decoding and preprocessing each file as a user's would;
a second folder holds --photos phone-size JPEGs (1,500-4,000 px, from
benchmarks/scenes.py). Each folder is predicted on the process pool (the
default) and in one process (DIGITS_WORKERS=1), in the same run.
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
from digitcli.batch import workers

DIGITS = str(Path(sys.executable).with_name("digits"))
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def timed(command: list[str], repeat: int, **env: str) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, check=True, env={**ENV, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def write_images(folder: Path, count: int) -> None:
    dataset = data.load("bundled")
    for i in range(count):
        Image.fromarray(255 - dataset.x_test[i]).resize((300, 300), Image.BILINEAR).save(folder / f"{i:05}.png")


def write_photos(folder: Path, count: int) -> None:
    """Phone photos of digits on paper, as benchmarks/realistic.py makes them."""
    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import realistic
    import scenes

    rng = np.random.default_rng(0)
    dataset = data.load("bundled")
    for i in range(count):
        style = scenes.PHOTO_STYLES[i % len(scenes.PHOTO_STYLES)]
        image, exif = scenes.photo(realistic.photo_ink(style, dataset.x_test[i], rng), style, rng)
        image.save(folder / f"{i:05}.jpg", "JPEG", quality=85, **({"exif": exif} if exif else {}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/digits.keras")
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--photos", type=int, default=40, help="phone-size JPEGs in the second folder")
    parser.add_argument("--output", default=str(Path(__file__).with_name("throughput.md")))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder, photos = Path(tmp) / "png", Path(tmp) / "photos"
        folder.mkdir()
        photos.mkdir()
        write_images(folder, args.images)
        write_photos(photos, args.photos)
        one = {"DIGITS_WORKERS": "1"}
        predict_png = [DIGITS, "predict", str(folder), "--format", "csv", "--model", args.model]
        predict_photos = [DIGITS, "predict", str(photos), "--format", "csv", "--model", args.model]
        tf_import = timed([sys.executable, "-c", "import tensorflow"], args.repeat)
        rows = [
            ("`python -c \"import tensorflow\"`", None, tf_import),
            ("`digits eval` (10,000 test images)", 10_000, timed([DIGITS, "eval", "--model", args.model, "--data", "bundled"], args.repeat)),
            ("`digits eval --json`", 10_000, timed([DIGITS, "eval", "--json", "--model", args.model, "--data", "bundled"], args.repeat)),
            (f"`digits predict FOLDER` ({args.images:,} PNG files, {workers()} processes)", args.images,
             timed(predict_png, args.repeat)),
            (f"`digits predict FOLDER` ({args.images:,} PNG files, one process)", args.images,
             timed(predict_png, args.repeat, **one)),
            (f"`digits predict FOLDER` ({args.photos} phone JPEGs, {workers()} processes)", args.photos,
             timed(predict_photos, args.repeat)),
            (f"`digits predict FOLDER` ({args.photos} phone JPEGs, one process)", args.photos,
             timed(predict_photos, args.repeat, **one)),
            ("`digits predict one.png`", 1, timed([DIGITS, "predict", str(folder / "00000.png"), "--model", args.model], args.repeat)),
            ("`digits predict one.jpg` (a phone photo)", 1,
             timed([DIGITS, "predict", str(photos / "00000.jpg"), "--model", args.model], args.repeat)),
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
        rate = (f"{count / seconds:,.0f}" if count / seconds >= 100 else f"{count / seconds:.2f}") if count else ""
        lines.append(f"| {name} | {count or ''} | {seconds:.2f} | {rate} | {seconds / tf_import:.2f} |")
    lines += ["", "The machine was shared with other jobs while measuring: compare rows of the same run, not runs.",
              "", f"Reproduce: `python benchmarks/throughput.py --model {args.model} --images {args.images} "
              f"--photos {args.photos} --repeat {args.repeat}`", ""]
    Path(args.output).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
