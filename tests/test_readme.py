"""Docs as tests: every `digits` command shown in the README parses with the real CLI."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer

from digitcli.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_commands() -> list[str]:
    blocks = re.findall(r"```(?:bash|console)\n(.*?)```", README.read_text(), re.S)
    commands = []
    for line in (line for block in blocks for line in block.splitlines()):
        for part in line.strip().removeprefix("$ ").split("&&"):
            part = re.split(r"\s[#|>;]|\s2>", " " + part.strip())[0].strip()
            if part.startswith("digits ") or part == "digits":
                commands.append(part)
    return commands


def parse(args: list[str]):
    """Parse args down to the leaf command, running option validation but not the command."""
    command = typer.main.get_command(app)
    ctx = command.make_context("digits", args)
    while hasattr(command, "resolve_command"):  # a group: go down to its subcommand
        rest = [*ctx._protected_args, *ctx.args]  # the subcommand name, then its arguments
        name, command, rest = command.resolve_command(ctx, rest)
        ctx = command.make_context(name, rest, parent=ctx)
    return ctx


def test_the_readme_shows_commands():
    commands = readme_commands()
    assert len(commands) >= 10
    assert {c.split()[1] for c in commands if len(c.split()) > 1} >= {"train", "eval", "predict", "show"}


@pytest.mark.parametrize("command", readme_commands())
def test_each_readme_command_parses(command):
    args = shlex.split(command)[1:]
    if args in ([], ["--help"], ["--version"]):
        return  # these answer and exit: test_train.py runs them
    ctx = parse(args)
    assert ctx.command.name in {"train", "tune", "eval", "evaluate", "predict", "samples", "curves", "misclassified", "model", "serve", "export", "draw", "robustness"}
