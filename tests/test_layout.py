"""The package's rooms follow the data path, and the rules between them hold (README: Layout).

Product code never imports the simulator (only ``sim/`` itself, ``bench/``, ``cli/`` and the
tests do); the link never imports the pipeline, the sessions, the dashboard or the simulator;
data flow one way (device -> link -> pipeline -> sessions -> dashboard / analysis); no module
grows past ~24 kB without saying why at its top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = ROOT / "host" / "src" / "beltline"
ANALYSIS = ROOT / "analysis"
MAX_BYTES = 24_000


def _modules() -> list[tuple[str, Path]]:
    """(dotted name, file) of every host module, analysis included as beltline.analysis."""
    out = []
    for base, prefix in ((PACKAGE, "beltline"), (ANALYSIS, "beltline.analysis")):
        for f in sorted(base.rglob("*.py")):
            rel = f.relative_to(base).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            if "hardware" in rel.parts or "scripts" in rel.parts:
                continue  # MicroPython modules and subprocess scripts, not host code
            out.append((".".join([prefix, *parts]), f))
    return out


def _imports(name: str, path: Path) -> set[str]:
    """Every module a file imports, anywhere in it (function-level imports too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    pkg = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the package
                base = pkg.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found |= {f"{mod}.{a.name}" for a in node.names}
    return {m for m in found if m.startswith("beltline")}


def _room(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in {
        "link", "pipeline", "sessions", "dashboard", "sim", "bench", "cli", "analysis",
        "firmware"}) else "top"


MODULES = _modules()


def test_the_rooms_are_there() -> None:
    rooms = {_room(n) for n, _ in MODULES}
    assert rooms >= {"link", "pipeline", "sessions", "dashboard", "sim", "bench", "cli",
                     "analysis", "top"}


@pytest.mark.parametrize(("name", "path"), MODULES, ids=[n for n, _ in MODULES])
def test_product_code_never_imports_the_simulator(name: str, path: Path) -> None:
    if _room(name) in {"sim", "bench", "cli"}:
        return
    bad = sorted(m for m in _imports(name, path) if m == "beltline.sim"
                 or m.startswith("beltline.sim."))
    assert not bad, f"{name} imports the simulator: {bad}"


# what each room may import (besides itself, the top-level shared modules and the firmware)
ALLOWED = {
    "link": set(),
    "pipeline": set(),
    "sessions": {"link", "pipeline"},
    "dashboard": {"link", "pipeline", "sessions"},
    "analysis": {"pipeline", "sessions", "dashboard"},
}


@pytest.mark.parametrize(("name", "path"), MODULES, ids=[n for n, _ in MODULES])
def test_data_flow_one_way(name: str, path: Path) -> None:
    room = _room(name)
    if room not in ALLOWED:
        return
    for m in _imports(name, path):
        other = _room(m) if m.count(".") >= 1 else "top"
        if m in ("beltline",) or other in ("top", "firmware", room):
            continue
        # "from beltline import words" style: the name after beltline is a top-level module
        if m.split(".")[1] not in {"link", "pipeline", "sessions", "dashboard", "sim", "bench",
                                   "cli", "analysis", "firmware"}:
            continue
        assert other in ALLOWED[room], f"{name} ({room}) imports {m} ({other})"


@pytest.mark.parametrize(("name", "path"), MODULES, ids=[n for n, _ in MODULES])
def test_modules_stay_small(name: str, path: Path) -> None:
    size = path.stat().st_size
    if size > MAX_BYTES:
        head = path.read_text(encoding="utf-8")[:2000].lower()
        assert "why this module is large" in head, (
            f"{name} is {size} bytes (> {MAX_BYTES}): split it, or say at its top "
            "'why this module is large'")
