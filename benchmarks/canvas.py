"""Preparation time of drawing-pad canvases: `preprocess.load` on 280x280 PNGs of dark strokes on white.

Compares this checkout's preparation with an earlier `preprocess.py` (e.g. from
`git show main:digitcli/preprocess.py > before.py`), interleaved in one
run so that a busy machine slows both alike:

    python benchmarks/canvas.py --before before.py --repeat 100
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from realistic import load_before  # noqa: E402

from digitcli import preprocess  # noqa: E402

# Strokes as a drawing pad records them (18 px pen); the last one goes through the photo work.
SHAPES = {
    "7, one stroke": [[(90, 80), (190, 80), (120, 220)]],
    "1, one stroke": [[(120, 90), (150, 60), (150, 220)]],
    "4, two crossing strokes": [[(170, 60), (90, 170), (200, 170)], [(165, 110), (165, 230)]],
    "5, bar drawn apart": [[(110, 90), (105, 140), (160, 140), (185, 175), (160, 215), (100, 210)], [(125, 50), (190, 50)]],
    "4, stem drawn apart": [[(150, 60), (90, 170), (150, 170)], [(190, 50), (190, 240)]],
}


def canvas(lines) -> bytes:
    image = Image.new("RGB", (280, 280), "white")
    draw = ImageDraw.Draw(image)
    for line in lines:
        draw.line(line, fill="black", width=18, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="an earlier digitcli/preprocess.py")
    parser.add_argument("--repeat", type=int, default=100, help="timed calls per shape and version (default 100)")
    args = parser.parse_args()
    before = load_before(args.before)
    print(f"Load average {os.getloadavg()[0]:.1f}; median (p95) ms per image, {args.repeat} calls each:\n")
    print("| canvas | before | now | now / before |\n|---|---:|---:|---:|")
    for name, lines in SHAPES.items():
        data = canvas(lines)
        times = {"before": [], "now": []}
        for module in (before, preprocess):
            module.load(data)  # imports and caches out of the timing
        for _ in range(args.repeat):
            for key, module in (("before", before), ("now", preprocess)):
                start = time.perf_counter()
                module.load(data)
                times[key].append(1000 * (time.perf_counter() - start))
        a, b = np.array(times["before"]), np.array(times["now"])
        print(f"| {name} | {np.median(a):.1f} ({np.percentile(a, 95):.1f}) | {np.median(b):.1f} ({np.percentile(b, 95):.1f}) "
              f"| {np.median(b) / np.median(a):.2f} |")


if __name__ == "__main__":
    main()
