"""The scripts of ``.ci/`` loaded as modules, for their tests. A plain module, not a test file."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

CI = Path(__file__).resolve().parent.parent / ".ci"


def load_ci_script(name: str) -> ModuleType:
    """``.ci/<name>.py`` as a module (``.ci`` is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, CI / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
