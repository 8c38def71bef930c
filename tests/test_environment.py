"""The environment variables the README documents, and what a terminal changes.

NO_COLOR and TERM=dumb are checked on a real pseudo-terminal, where colour would otherwise
be used; DIGITS_ASCII, DIGITS_DEBUG and DIGITS_OFFLINE through the command line.
"""

from __future__ import annotations

import hashlib
import io
import os
import pty
import re
import subprocess
import sys

import pytest
from PIL import Image
from rich.console import Console
from typer.testing import CliRunner

from digitcli import data, progress
from digitcli.cli import app
from digitcli.errors import ModelFileError

from conftest import write_npz
from oracle import bundled

SGR = re.compile(r"\x1b\[([0-9;]*)m")  # Select Graphic Rendition: colours and bold
RUN_DIGITS = "import sys\nfrom digitcli.cli import run\nsys.argv[0] = 'digits'\nrun()"


def on_terminal(args: list[str], env: dict[str, str], cwd) -> tuple[int, str]:
    """Run `digits ARGS` with stdout and stderr on a pseudo-terminal; (exit code, everything shown)."""
    leader, follower = pty.openpty()
    full_env = {**os.environ, "COLUMNS": "100", "LINES": "40", "TF_CPP_MIN_LOG_LEVEL": "3", **env}
    for name in ("NO_COLOR", "FORCE_COLOR") if "NO_COLOR" not in env else ("FORCE_COLOR",):
        full_env.pop(name, None)
    process = subprocess.Popen([sys.executable, "-c", RUN_DIGITS, *args], stdin=subprocess.DEVNULL,
                               stdout=follower, stderr=follower, env=full_env, cwd=cwd)
    os.close(follower)
    shown = bytearray()
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process has exited
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return process.wait(timeout=120), shown.decode("utf-8", "replace")


def colours(text: str) -> set[str]:
    """The colour parameters (30-38, 90-97) in the text's SGR codes."""
    codes = {code for match in SGR.findall(text) for code in match.split(";") if code}
    return {code for code in codes if code.startswith(("3", "9")) and code != "39"}


@pytest.fixture(scope="module")
def predict_args(tiny_model):
    return ["predict", "--model", str(tiny_model), "--samples", "2", "--seed", "3", "--wrong"]


def test_a_terminal_gets_colour(predict_args, tmp_path):
    code, shown = on_terminal(predict_args, {"TERM": "xterm-256color"}, tmp_path)
    assert code == 0, shown
    assert "WRONG: predicted" in shown
    assert colours(shown)  # the red mark of a wrong prediction, at least


def test_no_color_removes_colour_but_keeps_the_marks(predict_args, tmp_path):
    code, shown = on_terminal(predict_args, {"TERM": "xterm-256color", "NO_COLOR": "1"}, tmp_path)
    assert code == 0, shown
    assert shown.count("✗ WRONG: predicted") == 2
    assert colours(shown) == set()


def test_term_dumb_gets_plain_text(predict_args, tmp_path):
    code, shown = on_terminal(predict_args, {"TERM": "dumb"}, tmp_path)
    assert code == 0, shown
    assert shown.count("WRONG: predicted") == 2
    assert "\x1b" not in shown


@pytest.mark.parametrize("term,live", [("xterm-256color", True), ("dumb", False), ("unknown", False)])
def test_training_progress_is_live_only_on_a_capable_terminal(monkeypatch, term, live):
    """What `digits train --progress auto` shows on a terminal (rich reads TERM when a console is made)."""
    monkeypatch.setenv("TERM", term)
    terminal = Console(file=io.StringIO(), force_terminal=True)
    assert type(progress.progress_for("auto", terminal)) is (progress.RichProgress if live else progress.PlainProgress)
    assert type(progress.progress_for("auto", Console(file=io.StringIO()))) is progress.PlainProgress  # a pipe, a file


def test_digits_ascii_draws_with_plain_characters(tiny_model):
    args = ["predict", "--model", str(tiny_model), "--samples", "2", "--seed", "3", "--wrong"]
    unicode = CliRunner().invoke(app, args)
    ascii_ = CliRunner().invoke(app, args, env={"DIGITS_ASCII": "1"})
    assert unicode.exit_code == ascii_.exit_code == 0
    assert "█" in unicode.stdout and "✗ WRONG" in unicode.stdout
    assert all(ord(c) < 128 for c in ascii_.stdout)
    assert ascii_.stdout.count("X WRONG: predicted") == 2 and "@" in ascii_.stdout


def test_a_terminal_that_cannot_show_unicode_gets_ascii(predict_args, tmp_path):
    done = subprocess.run([sys.executable, "-c", RUN_DIGITS, *predict_args], capture_output=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONIOENCODING": "latin-1", "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert all(byte < 128 for byte in done.stdout) and b"X WRONG: predicted" in done.stdout


def test_digits_debug_shows_the_traceback(tmp_path):
    text = tmp_path / "notes.keras"
    text.write_text("just text")
    quiet = CliRunner().invoke(app, ["eval", "--model", str(text)])
    assert quiet.exit_code == 1 and quiet.exception.__class__ is SystemExit
    assert quiet.stderr.count("\n") == 1
    loud = CliRunner().invoke(app, ["eval", "--model", str(text)], env={"DIGITS_DEBUG": "1"})
    assert isinstance(loud.exception, ModelFileError)  # raised through, so Python prints its traceback
    done = subprocess.run([sys.executable, "-c", RUN_DIGITS, "eval", "--model", str(text)], capture_output=True,
                          text=True, env={**os.environ, "DIGITS_DEBUG": "1"}, timeout=120)
    assert done.returncode == 1
    assert done.stderr.startswith("Traceback (most recent call last):")
    assert done.stderr.splitlines()[-1] == (
        f"digitcli.errors.ModelFileError: {text} is not a digits model file "
        "(expected a Keras .keras zip; legacy HDF5 files are not loaded)"
    )


def test_digits_offline_never_downloads(isolated_home, monkeypatch, tmp_path):
    monkeypatch.delenv("DIGITS_DATA")
    remote = write_npz(tmp_path / "remote.npz")  # a download that would work
    monkeypatch.setattr(data, "KERAS_URL", remote.as_uri())
    monkeypatch.setattr(data, "KERAS_SHA256", hashlib.sha256(remote.read_bytes()).hexdigest())
    args = ["train", "--limit", "100000", "--output", str(tmp_path / "m.keras")]  # stops right after the data line
    offline = CliRunner().invoke(app, args, env={"DIGITS_OFFLINE": "1"})
    assert offline.exit_code == 2
    assert offline.stderr.splitlines()[0] == "Data: bundled MNIST (offline copy): 24,345 training and 10,000 test images"
    assert not (isolated_home / ".keras" / "datasets" / "mnist.npz").exists()
    online = CliRunner().invoke(app, args)
    assert online.stderr.splitlines()[0].startswith("Data: full MNIST downloaded to ")
    assert (isolated_home / ".keras" / "datasets" / "mnist.npz").read_bytes() == remote.read_bytes()


def test_predicting_an_image_file_never_imports_tensorflow(tiny_model, tmp_path):
    Image.fromarray(255 - bundled("t10k-images-idx3-ubyte")[0]).resize((200, 200)).save(tmp_path / "one.png")
    code = (
        "import sys\nfrom digitcli.cli import app\n"
        f"try:\n    app(['predict', 'one.png', '--model', {str(tiny_model)!r}, '--format', 'csv'])\n"
        "except SystemExit as exc:\n    assert exc.code in (0, None), exc.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "path,prediction,confidence,top1,p1,top2,p2,top3,p3", done.stderr
    assert lines[1].startswith("one.png,")
    assert lines[-1] == "[]", done.stderr
