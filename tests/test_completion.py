"""Shell completion (Typer's `--show-completion` and `--install-completion`), driven through a real bash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
DIGITS = str(BIN / "digits")


def from_bash(option: str) -> subprocess.CompletedProcess:
    """`digits OPTION` run from bash: Typer finds the shell to complete for among the process's parents."""
    # `; true` keeps bash as the parent (a lone command would be exec'd in its place).
    return subprocess.run(["bash", "-c", f"'{DIGITS}' {option}; true"], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def bash_script() -> str:
    done = from_bash("--show-completion")
    assert done.stderr == ""
    return done.stdout


def complete(script: str, *words: str) -> list[str]:
    """What bash offers for the last of `words` (may be ""), using the script `--show-completion` printed."""
    quoted = " ".join(f"'{w}'" for w in ("digits", *words))
    program = f'{script}\nCOMP_WORDS=({quoted}); COMP_CWORD={len(words)}; _digits_completion digits\nprintf "%s\\n" "${{COMPREPLY[@]}}"'
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_show_completion_prints_the_bash_script(bash_script):
    assert bash_script.rstrip().endswith("complete -o default -F _digits_completion digits")
    assert "_DIGITS_COMPLETE=complete_bash" in bash_script


def test_bash_completes_commands_options_and_choices(bash_script):
    assert complete(bash_script, "") == ["train", "tune", "eval", "predict", "robustness", "serve", "draw", "export", "show"]
    assert complete(bash_script, "show", "m") == ["misclassified", "model"]
    assert complete(bash_script, "train", "--ba") == ["--batch-size", "--batch_size"]
    assert complete(bash_script, "train", "--model", "") == ["cnn", "mlp"]


def test_zsh_gets_option_help_with_its_candidates():
    env = {**os.environ, "_DIGITS_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "digits predict --for"}
    done = subprocess.run([DIGITS], capture_output=True, text=True, env=env, timeout=60)
    assert done.stdout == """_arguments '*: :(("--format":"table (drawn), or csv / jsonl records on stdout."))'\n"""


def test_install_completion_writes_the_script_and_sources_it(isolated_home, bash_script):
    done = from_bash("--install-completion")
    installed = isolated_home / ".bash_completions" / "digits.sh"
    assert done.stdout == (
        f"bash completion installed in {installed}\nCompletion will take effect once you restart the terminal\n"
    )
    assert installed.read_text() + "\n" == bash_script  # echo adds the newline
    assert f"source '{installed}'" in (isolated_home / ".bashrc").read_text()


def test_completing_never_imports_tensorflow():
    code = (
        "import os, sys\n"
        "os.environ.update(_DIGITS_COMPLETE='complete_bash', COMP_WORDS='digits train --', COMP_CWORD='2')\n"
        "sys.argv = ['digits']\n"
        "from digitcli.cli import run\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        "print('tensorflow' in sys.modules, 'plotext' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "--epochs" in done.stdout.split()
    assert done.stderr == "False False\n"
