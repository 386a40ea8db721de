"""Lets the host import the belt unit's modules as ``beltline.firmware.*`` (pyproject.toml).

On the device the modules sit side by side and import each other by bare name (``import
wire``). Here a finder placed *last* on ``sys.meta_path`` resolves such a bare name, when
nothing installed provides it, to the ``beltline.firmware`` module of that name, so each
firmware module is loaded once (no second copy through ``sys.path``). Never flashed.
"""

import importlib
import importlib.abc
import importlib.machinery
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_NAMES = frozenset(p.stem for p in _HERE.glob("*.py") if p.stem != "__init__")


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):  # type: ignore[no-untyped-def]
        if path is None and name in _NAMES:
            return importlib.machinery.ModuleSpec(name, self)
        return None

    def create_module(self, spec):  # type: ignore[no-untyped-def]
        return importlib.import_module(f"{__name__}.{spec.name}")

    def exec_module(self, module):  # type: ignore[no-untyped-def]
        pass  # already executed as beltline.firmware.<name>


if not any(isinstance(f, _Alias) for f in sys.meta_path):
    sys.meta_path.append(_Alias())
