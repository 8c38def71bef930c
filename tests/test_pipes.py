"""A reader that closes the pipe early (`digits ... | head`) ends `digits` as it ends `cat`: quietly, by SIGPIPE."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

DIGITS = str(Path(sys.executable).with_name("digits"))
SIGPIPE_STATUS = 128 + signal.SIGPIPE  # 141: what a shell reports for a process killed by SIGPIPE


def run_into_closed_pipe(*args: str) -> subprocess.CompletedProcess:
    """Run digits with stdout a pipe whose reader is already gone, so its first write meets EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        process = subprocess.run([DIGITS, *args], stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    return process


@pytest.mark.parametrize(
    "args",
    [
        ["predict", "--samples", "50", "--format", "csv"],
        ["predict", "--samples", "3"],
        ["eval"],
        ["show", "samples", "--count", "2"],
    ],
    ids=["predict-csv", "predict-table", "eval", "show"],
)
def test_output_into_a_closed_pipe_ends_by_sigpipe_without_a_word(tiny_model, args):
    done = run_into_closed_pipe(*args, *(["--model", str(tiny_model)] if args[0] != "show" else []))
    assert done.returncode == -signal.SIGPIPE, done.stderr
    assert "Error" not in done.stderr and "Traceback" not in done.stderr and "Exception" not in done.stderr
    assert done.stderr.startswith("Data: bundled MNIST (offline copy)")


def test_head_under_pipefail_sees_status_141_like_any_unix_tool(tiny_model):
    # 2,000 csv rows (about 120 kB) outgrow the pipe's buffer, so digits is still writing when head leaves.
    script = f"set -o pipefail; '{DIGITS}' predict --model '{tiny_model}' --samples 2000 --format csv | head -1"
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout == "index,label,prediction,confidence,correct,top1,p1,top2,p2,top3,p3\n"
    assert done.returncode == SIGPIPE_STATUS
    assert "Error" not in done.stderr and "Traceback" not in done.stderr
    reference = subprocess.run(["bash", "-c", "set -o pipefail; seq 1 100000 | head -1"], capture_output=True, text=True)
    assert reference.returncode == done.returncode  # the same status as coreutils' seq
