"""How long `digits draw` takes to show its pad, against TensorFlow's import in the same run,
and how much CPU one live prediction (preparation and model) costs.

Runs `digits draw` on a pseudo-terminal of 120x40, times the moment its first frame (the pad's
title) appears, then presses q. The reference is `python -c "import tensorflow"`, which any
command that loaded the model with Keras would pay before drawing anything. The live
prediction is what the app does on every change of a drawing: `preprocess.to_mnist` of the
drawing's picture, then the model's LiteRT form.

    python benchmarks/draw_startup.py --model models/digits.keras --repeat 5
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import shutil
import statistics
import struct
import subprocess
import sys
import termios
import time


def first_frame(model: str, timeout: float = 60.0) -> float:
    """Seconds from launch until the pad is on the screen."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color"}
    start = time.perf_counter()
    process = subprocess.Popen([shutil.which("digits"), "draw", "--model", model], stdin=follower,
                               stdout=subprocess.DEVNULL, stderr=follower, env=env, close_fds=True)
    os.close(follower)
    seen, shown = b"", None
    while shown is None and time.perf_counter() - start < timeout:
        ready, _, _ = select.select([leader], [], [], 0.05)
        if ready:
            seen += os.read(leader, 65536)
            if b"draw here" in seen:
                shown = time.perf_counter() - start
    os.write(leader, b"q")
    while process.poll() is None:  # keep reading so the app never blocks on a full terminal
        if select.select([leader], [], [], 0.05)[0]:
            try:
                os.read(leader, 65536)
            except OSError:
                break
    process.wait()
    os.close(leader)
    if shown is None:
        sys.exit(f"digits draw showed no pad within {timeout:.0f} s")
    return shown


def tensorflow_import() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import tensorflow"], check=True, capture_output=True)
    return time.perf_counter() - start


def live_prediction(model: str, n: int = 50) -> float:
    """Median CPU seconds to prepare and predict a drawn 7, as the app does while you draw."""
    from pathlib import Path

    from digitcli import preprocess
    from digitcli.draw.canvas import Drawing
    from digitcli.predict import open_classifier

    classifier = open_classifier(Path(model))
    drawing = Drawing()
    drawing.begin(0.25, 0.2)
    for x, y in ((0.75, 0.2), (0.6, 0.5), (0.45, 0.85)):
        drawing.extend(x, y)
    times = []
    for _ in range(n):
        start = time.process_time()
        classifier.probabilities(preprocess.to_mnist(drawing.image())[None])
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/digits.keras")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    draw, tf = [], []
    for _ in range(args.repeat):  # interleaved, so both see the same machine load
        draw.append(first_frame(args.model))
        tf.append(tensorflow_import())
    d, t = statistics.median(draw), statistics.median(tf)
    print(f"digits draw, first frame: median {d:.2f} s of {args.repeat} ({', '.join(f'{x:.2f}' for x in draw)})")
    print(f"python -c 'import tensorflow': median {t:.2f} s ({', '.join(f'{x:.2f}' for x in tf)})")
    print(f"ratio: {d / t:.2f} of TensorFlow's import alone")
    print(f"one live prediction (preparation and model): median {1000 * live_prediction(args.model):.1f} ms of CPU")


if __name__ == "__main__":
    main()
