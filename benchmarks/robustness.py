"""How well `digits train --model mlp` and the default cnn hold up, with `digits robustness`.

Trains `digits train --model mlp` (seed 0) and the default `digits train` (seeds 0..N-1),
or takes existing model files, runs `digits robustness --json` on each over the 10,000
official test images, times the sweep against `digits eval` of the same model, and
writes benchmarks/robustness.md.

    python benchmarks/robustness.py                          # train and measure, 3 cnn seeds
    python benchmarks/robustness.py --mlp M.keras --cnn A.keras B.keras C.keras   # measure given models
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DIGITS = str(Path(sys.executable).with_name("digits"))
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def timed(args: list[str]) -> tuple[str, float, float]:
    """stdout, wall seconds and CPU seconds (user + system) of a command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=ENV, cwd=REPO)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(args)}\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done.stdout, wall, cpu


def train(extra: list[str], seed: int, output: Path, data: str) -> Path:
    log(f"digits train {' '.join(extra)} --seed {seed}")
    timed([DIGITS, "train", *extra, "--seed", str(seed), "--data", data, "--progress", "none",
           "--output", str(output), "--overwrite"])
    return output


def measure(model: Path, data: str) -> dict:
    log(f"digits robustness --model {model}")
    stdout, wall, cpu = timed([DIGITS, "robustness", "--model", str(model), "--data", data, "--json"])
    rows = json.loads(stdout)
    eval_out, eval_wall, eval_cpu = timed([DIGITS, "eval", "--model", str(model), "--data", data, "--json"])
    assert rows[0]["accuracy"] == json.loads(eval_out)["accuracy"]
    return {"rows": rows, "wall": wall, "cpu": cpu, "eval_wall": eval_wall, "eval_cpu": eval_cpu}


def summary(rows: list[dict]) -> tuple[float, float, dict]:
    clean = rows[0]["accuracy"]
    others = [r for r in rows[1:]]
    worst = min(others, key=lambda r: r["accuracy"])
    return clean, statistics.mean(r["accuracy"] for r in others), worst


def report(mlp: dict, cnns: list[dict], names: list[str], command: str) -> str:
    label = lambda r: f"{r['condition']} {'' if r['severity'] is None else format(r['severity'], 'g')}".strip()
    heads = ["`--model mlp`"] + names + ["mean of the cnn columns"]
    lines = [
        "# Robustness: `digits robustness` on `--model mlp` and the default cnn",
        "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores shared with other work "
        f"(load average at the end: {os.getloadavg()[0]:.1f}).",
        "",
        "```bash",
        command,
        "```",
        "",
        "Accuracy on the 10,000 official test images under each condition of the sweep (README, "
        "`digits robustness`); the clean row is the accuracy `digits eval` reports.",
        "",
        "| condition | " + " | ".join(heads) + " |",
        "| --- | " + " | ".join("---" for _ in heads) + " |",
    ]
    for i, row in enumerate(mlp["rows"]):
        scores = [m["rows"][i]["accuracy"] * 100 for m in cnns]
        cells = [f"{row['accuracy'] * 100:.2f} %"] + [f"{s:.2f} %" for s in scores] + [f"{statistics.mean(scores):.2f} %"]
        lines.append(f"| {label(row)} | " + " | ".join(cells) + " |")
    cells = []
    for m in [mlp, *cnns]:
        cells.append(f"**{summary(m['rows'])[1] * 100:.2f} %**")
    cells.append(f"**{statistics.mean(summary(m['rows'])[1] for m in cnns) * 100:.2f} %**")
    lines.append("| mean of the non-clean conditions | " + " | ".join(cells) + " |")
    cells = []
    for m in [mlp, *cnns]:
        _, _, worst = summary(m["rows"])
        cells.append(f"{worst['accuracy'] * 100:.2f} % ({label(worst)})")
    lines.append("| weakest condition | " + " | ".join(cells) + " | |")
    lines += ["", "## Time of one sweep", "",
              "The whole sweep of one model on 10,000 images, as one process, against `digits eval` of the same "
              "model (one pass over the clean images) in the same run. CPU time is user + system of the process; "
              "on a shared machine it is steadier than wall time.", "",
              "| model | sweep wall | sweep CPU | `digits eval` wall | sweep ÷ eval (wall) |", "| --- | --- | --- | --- | --- |"]
    for name, m in [("mlp", mlp)] + list(zip(names, cnns)):
        lines.append(f"| {name} | {m['wall']:.1f} s | {m['cpu']:.1f} s | {m['eval_wall']:.1f} s | {m['wall'] / m['eval_wall']:.1f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--data", default=os.environ.get("DIGITS_DATA", "bundled"))
    parser.add_argument("--mlp", type=Path, help="an existing `--model mlp` file instead of training one")
    parser.add_argument("--cnn", type=Path, nargs="+", help="existing default-cnn files (seeds 0, 1, ...) instead of training")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "robustness.md")
    options = parser.parse_args()
    command = ("python benchmarks/robustness.py " + " ".join(sys.argv[1:])).strip()
    with tempfile.TemporaryDirectory(prefix="digits-robust-") as tmp:
        mlp = options.mlp or train(["--model", "mlp"], 0, Path(tmp) / "mlp.keras", options.data)
        cnns = options.cnn or [train([], s, Path(tmp) / f"cnn-{s}.keras", options.data) for s in range(options.seeds)]
        names = [c.name for c in options.cnn] if options.cnn else [f"cnn seed {s}" for s in range(options.seeds)]
        text = report(measure(mlp, options.data), [measure(c, options.data) for c in cnns], names, command)
    options.output.write_text(text)
    log(f"wrote {options.output}")
    print(text)


if __name__ == "__main__":
    main()
