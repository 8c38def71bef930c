"""Mutation testing in the time a shared 2-core machine allows: a seeded sample, and its score.

All mutants of the core modules take hours to test here, so the habit is a fixed random sample
(the same names before and after a change to the tests), per module:

    nice -n 10 mutmut run --max-children 2 digitcli.evaluate.x_top_confusions__mutmut_1   # generates all mutants once
    python benchmarks/mutation.py sample --per-module 8 --seed 1 > benchmarks/mutants-sample.txt
    nice -n 10 mutmut run --max-children 2 $(cat benchmarks/mutants-sample.txt)
    python benchmarks/mutation.py score benchmarks/mutants-sample.txt

A mutant is killed when a test fails (or it times out), survives when every test that reaches its
function passes, and has no tests when none of the fast tests configured in pyproject.toml reaches it.
Mutant names are those of the source they were made from: resample after the code changes.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
from pathlib import Path

META = Path("mutants/digitcli")
STATUS = {None: "not run", 0: "survived", 1: "killed", 3: "killed", 33: "no tests", -24: "timeout", 24: "timeout", -9: "timeout"}


def exit_codes() -> dict[str, int | None]:
    codes = {}
    for meta in sorted(META.glob("*.py.meta")):
        codes.update(json.loads(meta.read_text())["exit_code_by_key"])
    return codes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sample = commands.add_parser("sample", help="print a seeded sample of mutant names, per module")
    sample.add_argument("--per-module", type=int, default=8)
    sample.add_argument("--seed", type=int, default=1)
    score = commands.add_parser("score", help="the status of each named mutant, and the score per module")
    score.add_argument("names", type=Path)
    args = parser.parse_args()
    if args.command == "sample":
        rng = random.Random(args.seed)
        for meta in sorted(META.glob("*.py.meta")):
            keys = sorted(json.loads(meta.read_text())["exit_code_by_key"])
            print("\n".join(rng.sample(keys, min(args.per_module, len(keys)))))
        return
    codes = exit_codes()
    by_module = collections.defaultdict(collections.Counter)
    print("| mutant | status |\n| --- | --- |")
    for name in args.names.read_text().split():
        status = STATUS.get(codes.get(name), f"exit {codes.get(name)}")
        by_module[name.split(".")[1]][status] += 1
        print(f"| `{name}` | {status} |")
    print("\n| module | killed | survived | no tests | score (killed of those with tests) |\n| --- | --- | --- | --- | --- |")
    total = collections.Counter()
    for module, counts in sorted(by_module.items()):
        total.update(counts)
        print(_row(module, counts))
    print(_row("all", total))


def _row(name: str, counts: collections.Counter) -> str:
    killed = counts["killed"] + counts["timeout"]
    tested = killed + counts["survived"]
    score = f"{killed / tested:.0%} ({killed}/{tested})" if tested else "–"
    return f"| {name} | {killed} | {counts['survived']} | {counts['no tests']} | {score} |"


if __name__ == "__main__":
    main()
