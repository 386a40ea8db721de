"""The README's first two commands are what a newcomer types; keep them and CI honest."""

from __future__ import annotations

import re

from conftest import ROOT


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:sh|bash)?\n(.*?)```", text, flags=re.S)
    return [ln.strip() for ln in blocks[0].splitlines() if ln.strip() and not ln.startswith("#")]


def test_readme_starts_with_the_main_job_and_the_test_command() -> None:
    main_job, tests = _commands()[:2]
    assert "pip install" in main_job
    assert "beltline " in main_job
    assert "pip install" in tests
    assert "pytest" in tests


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _commands()[1] in ci
