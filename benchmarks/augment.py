"""`digits train --augment strong` against the Keras convnet example and `--augment standard`.

Runs one step at a time, each in a fresh process, and appends one JSON line per
step to a log, so a run cut short still leaves every finished measurement:

- the Keras "simple MNIST convnet" example (from benchmarks/run.py), timed
  between the `digits train` runs, as the time reference;
- `digits train --augment strong` (and, with --standard, `--augment standard`)
  for each seed, each followed by `digits robustness --json` on its model.

Then writes a Markdown table from the log (`--report` alone rewrites it from an
existing log).

    python benchmarks/augment.py --seeds 3 --log benchmarks/augment.jsonl
    python benchmarks/augment.py --report --log benchmarks/augment.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from robustness import measure, summary  # noqa: E402
from run import CONVNET_SCRIPT, digits_train, log, plain_keras  # noqa: E402


def record(path: Path, entry: dict) -> None:
    entry = {**entry, "at": datetime.now(timezone.utc).strftime("%H:%M"), "load": round(os.getloadavg()[0], 1)}
    with path.open("a") as file:
        file.write(json.dumps(entry, default=str) + "\n")
    log(json.dumps(entry, default=str)[:300])


def trained(name: str, augment: str, seed: int, data: str, workdir: Path, epochs: int | None, path: Path) -> None:
    run = digits_train(name, ["--augment", augment], data, seed, workdir, epochs)
    swept = measure(run["model"], data)
    for row in swept["rows"]:  # the model's file name: its temporary directory is gone once the run ends
        row["model"] = Path(row["model"]).name
    clean, mean, worst = summary(swept["rows"])
    record(path, {"step": "digits", "augment": augment, "seed": seed, "test_accuracy": run["test_accuracy"],
                  "train_seconds": run["train_seconds"], "wall_seconds": run["wall_seconds"],
                  "mean_transformed": mean, "worst": worst, "rows": swept["rows"], "sweep_cpu": swept["cpu"]})


def convnet(seed: int, data: str, epochs: int, path: Path) -> None:
    run = plain_keras("Keras convnet example", CONVNET_SCRIPT, data, seed, epochs)
    record(path, {"step": "convnet", "seed": seed, "test_accuracy": run["test_accuracy"],
                  "train_seconds": run["train_seconds"], "wall_seconds": run["wall_seconds"]})


def report(path: Path) -> str:
    entries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    convnets = [e for e in entries if e["step"] == "convnet"]
    reference = statistics.mean(e["train_seconds"] for e in convnets) if convnets else float("nan")
    lines = ["| run | seed | clean test accuracy | mean of the non-clean conditions | weakest condition | train | ÷ convnet example | load average |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for e in entries:
        if e["step"] == "convnet":
            lines.append(f"| Keras convnet example | {e['seed']} | {e['test_accuracy'] * 100:.2f} % | | | "
                         f"{e['train_seconds']:.1f} s | {e['train_seconds'] / reference:.2f} | {e['load']} |")
        else:
            worst = e["worst"]
            lines.append(f"| `digits train --augment {e['augment']}` | {e['seed']} | {e['test_accuracy'] * 100:.2f} % | "
                         f"{e['mean_transformed'] * 100:.2f} % | {worst['accuracy'] * 100:.2f} % ({worst['condition']} "
                         f"{worst['severity']:g}) | {e['train_seconds']:.1f} s | {e['train_seconds'] / reference:.2f} | {e['load']} |")
    swept = [e for e in entries if e["step"] == "digits"]
    if swept:
        label = lambda r: f"{r['condition']} {'' if r['severity'] is None else format(r['severity'], 'g')}".strip()
        heads = [f"{e['augment']}, seed {e['seed']}" for e in swept]
        lines += ["", "| condition | " + " | ".join(heads) + " |", "| --- |" + " --- |" * len(heads)]
        for i, row in enumerate(swept[0]["rows"]):
            lines.append(f"| {label(row)} | " + " | ".join(f"{e['rows'][i]['accuracy'] * 100:.2f} %" for e in swept) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--standard", action="store_true", help="also train `--augment standard`, seed 0")
    parser.add_argument("--data", default=os.environ.get("DIGITS_DATA", "bundled"))
    parser.add_argument("--epochs", type=int, help="cut every run to this many epochs (default: each recipe's own)")
    parser.add_argument("--log", type=Path, default=Path("benchmarks/augment.jsonl"))
    parser.add_argument("--report", action="store_true", help="only print the table from an existing log")
    options = parser.parse_args()
    if not options.report:
        with tempfile.TemporaryDirectory(prefix="digits-augment-") as tmp:
            workdir = Path(tmp)
            plain_epochs = options.epochs or 15
            # The reference before, between (after two seeds) and after the digits runs.
            convnet(0, options.data, plain_epochs, options.log)
            for seed in range(options.seeds):
                trained("strong", "strong", seed, options.data, workdir, options.epochs, options.log)
                if seed == 0 and options.standard:
                    trained("standard", "standard", 0, options.data, workdir, options.epochs, options.log)
                if seed == 1:
                    convnet(1, options.data, plain_epochs, options.log)
            convnet(2, options.data, plain_epochs, options.log)
    print(report(options.log))


if __name__ == "__main__":
    main()
