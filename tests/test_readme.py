"""The README's promise: exactly two commands, and CI runs the second one verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    quick = text.split("## ", 2)[1]  # the first section after the title
    return re.findall(r"```(?:bash|sh)\n(.+?)\n```", quick, flags=re.S)


def test_readme_opens_with_exactly_two_commands() -> None:
    commands = _commands()
    assert len(commands) == 2, commands
    demo, tests = commands
    assert "constraints.txt" in demo and "lookbook demo" in demo
    assert "constraints.txt" in tests and "pytest" in tests


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = _commands()[1].strip()
    assert test_command.replace(" -q ", " ") in ci.replace(" -q ", " ")


def test_constraints_pin_the_cpu_torch_and_numpy_1() -> None:
    pins = (ROOT / "constraints.txt").read_text()
    assert "torch==2.13.0" in pins and "numpy==1.26.4" in pins
