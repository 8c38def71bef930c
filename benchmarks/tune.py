"""Benchmark `digits tune`: the tuned MLP's test accuracy and the search's time, against the README recipe.

Runs, each as a fresh process in a temporary directory:
1. `digits train --model mlp` (the README recipe, the reference for accuracy and time);
2. `digits tune --model mlp --trials N` (default algorithm, epochs and split);
3. the recipe again, so that the reference time brackets the search on a busy machine.

Writes a Markdown report (default benchmarks/tune.md). The test set is only used to score
the final models; the search chooses by validation accuracy.

    python benchmarks/tune.py --trials 10 --data bundled
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
RUN = [sys.executable, "-c", "from digitcli.cli import run; run()"]  # this checkout's code, whatever is installed


def digits(args: list[str], cwd: Path, env: dict) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([*RUN, *args], cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"digits {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, done.stdout + done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--algorithm", default=None, help="default: digits tune's own")
    parser.add_argument("--data", default="bundled")
    parser.add_argument("--seed", type=int, default=None, help="digits tune --seed (default: its own, 0); the recipe keeps seed 0")
    parser.add_argument("--report", type=Path, default=REPO / "benchmarks" / "tune.md")
    options = parser.parse_args()

    from digitcli import store

    env = {**os.environ, "DIGITS_DATA": options.data, "PYTHONPATH": str(REPO)}
    tune_args = ["tune", "--model", "mlp", "--trials", str(options.trials), "--progress", "plain"]
    if options.algorithm:
        tune_args += ["--algorithm", options.algorithm]
    if options.seed is not None:
        tune_args += ["--seed", str(options.seed)]
    loads = [os.getloadavg()]  # 1, 5 and 15 minutes, as `uptime` shows them
    with tempfile.TemporaryDirectory(prefix="digits-tune-bench-") as tmp:
        work = Path(tmp)
        before, _ = digits(["train", "--model", "mlp", "--output", "recipe1.keras", "--progress", "plain"], work, env)
        tune_seconds, log = digits([*tune_args, "--output", "tuned.keras"], work, env)
        loads.append(os.getloadavg())
        after, _ = digits(["train", "--model", "mlp", "--output", "recipe2.keras", "--progress", "plain"], work, env)
        loads.append(os.getloadavg())
        recipe = [store.read_metadata(work / f"recipe{i}.keras") for i in (1, 2)]
        tuned = store.read_metadata(work / "tuned.keras")
    reference = statistics.mean([before, after])
    search = tuned["search"]
    reproduce = next(line for line in log.splitlines() if line.startswith("Reproduce with: "))
    lines = [
        "# `digits tune --model mlp` against the README recipe",
        "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores ({platform.machine()}), "
        f"python {platform.python_version()}, keras {tuned['versions']['keras']}, tensorflow {tuned['versions']['tensorflow']}.",
        f"Data: `{options.data}` ({tuned['data']['n_train']:,} training, {tuned['data']['n_val']:,} validation, "
        f"{tuned['data']['n_test']:,} test images). The machine was shared with other people's tests and benchmarks "
        "while this ran, so absolute seconds are inflated; the ratio to the recipe, timed just before and just after "
        "the search, is the claim. Load average (1, 5, 15 min) at the start, after the search and at the end: "
        + "; ".join(", ".join(f"{x:.1f}" for x in load) for load in loads) + ".",
        "",
        "Reproduce (from the repository root):",
        "",
        "```bash",
        f"nice -n 10 python benchmarks/tune.py --trials {options.trials} --data {options.data}"
        + ("" if options.seed is None else f" --seed {options.seed}"),
        "```",
        "",
        "| run | test accuracy | whole process | ÷ recipe |",
        "| --- | --- | --- | --- |",
        f"| `digits train --model mlp` (README recipe), before | {recipe[0]['test_accuracy']:.2%} | {before:.0f} s | {before / reference:.2f} |",
        f"| `digits train --model mlp` (README recipe), after | {recipe[1]['test_accuracy']:.2%} | {after:.0f} s | {after / reference:.2f} |",
        f"| `digits {' '.join(tune_args[:-2])}` | **{tuned['test_accuracy']:.2%}** | {tune_seconds:.0f} s "
        f"({tune_seconds / 60:.1f} min) | {tune_seconds / reference:.1f} |",
        "",
        f"Search: {search['algorithm']}, {search['trials']} trials of up to {search['trial_epochs']} epochs, "
        f"best trial {search['best_trial']}; the best configuration was then trained for "
        f"{tuned['training']['epochs']} epochs and scored once on the test set.",
        "",
        f"`{reproduce.removeprefix('Reproduce with: ')}`",
        "",
        "| trial | hyperparameters | val accuracy | epochs | time |",
        "| --- | --- | --- | --- | --- |",
    ]
    for result in search["results"]:
        values = ", ".join(f"{k} {v}" for k, v in result["hyperparameters"].items())
        accuracy = "failed" if result["val_accuracy"] is None else f"{result['val_accuracy']:.4f}"
        seconds = "" if result["seconds"] is None else f"{result['seconds']:.0f} s"
        lines.append(f"| {result['number']} | {values} | {accuracy} | {result['epochs']} | {seconds} |")
    options.report.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
