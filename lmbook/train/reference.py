"""Reference models: a preset trained once by the command line, cached, loaded by notebooks.

Chapters that study a trained GPT load one model worth studying instead of each training a
weak one for seconds. ``make models`` (``python -m lmbook.train.reference shakespeare-char``)
runs the real command line, ``python -m lmbook.train shakespeare-char``, once, into::

    ~/.cache/lmbook/models/<preset>-<key>/   (``$LMBOOK_CACHE/models/...`` when set)
        ckpt-*/ latest.json metrics.jsonl tokenizer.json   the CLI's run directory
        cli_output.txt                                    everything the CLI printed
        info.json                                         its final line, the CPU, the key

``<key>`` hashes the preset's JSON, every source file of the ``lmbook`` package and the torch
version: a model in the cache was trained by the code that is here now, or it is not used.
The directory appears complete or not at all (trained under a temporary name, then renamed;
a file lock keeps two processes from training the same model at once).

:func:`reference_model` returns ``(model, tokenizer, info)``: from the cache when it is there,
otherwise (on Colab, or after a code change) it trains the model first and says so.

Introduced in: Chapter 5.2 (long runs from the command line); loaded by 3.2 (shakespeare-char) and
5.3 (tang-char).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lmbook.env import cpu_model
from lmbook.io import CheckpointError, atomic_write_json
from lmbook.train.__main__ import load_recipe

__all__ = ["code_key", "reference_dir", "reference_model", "train_reference"]

INFO_NAME = "info.json"


def _models_root(root: str | os.PathLike | None) -> Path:
    if root is not None:
        return Path(root)
    from lmbook.data import cache_dir

    return cache_dir() / "models"


def _preset_name(preset: str) -> str:
    return Path(preset).stem if preset.endswith(".json") else preset


def code_key(preset: str) -> str:
    """12 hex digits naming this preset trained by this code (see the module docstring).

    Args:
        preset: a shipped preset name or a path to a recipe JSON file.
    """
    h = hashlib.sha256()
    h.update(json.dumps(load_recipe(preset), sort_keys=True).encode())
    h.update(f"torch {torch.__version__}".encode())
    package = Path(__file__).resolve().parents[1]  # lmbook/
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".json") and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(package)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


def reference_dir(preset: str, root: str | os.PathLike | None = None) -> Path:
    """Where the reference model of ``preset`` for the current code lives (or would live)."""
    return _models_root(root) / f"{_preset_name(preset)}-{code_key(preset)}"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock file (POSIX flock; elsewhere no lock: one trainer at a time is usual)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        try:
            import fcntl

            fcntl.flock(f, fcntl.LOCK_EX)
        except ImportError:  # Windows
            pass
        yield


def train_reference(
    preset: str,
    root: str | os.PathLike | None = None,
    threads: int | None = None,
    force: bool = False,
    quiet: bool = False,
) -> Path:
    """Train ``preset`` with the command line into the cache, unless it is there already.

    Runs ``python -m lmbook.train PRESET --out_dir=<temporary> --progress=false`` in a
    subprocess (the same command a reader types), then writes ``info.json`` and renames the
    directory into place.

    Args:
        preset: a shipped preset name or a path to a recipe JSON file.
        root: the models cache (default ``~/.cache/lmbook/models``).
        threads: torch threads of the training process (``OMP_NUM_THREADS``); None: torch's.
        force: retrain even when the cache holds this model.
        quiet: do not echo the command line's output.

    Returns:
        The model's directory.

    Raises:
        RuntimeError: the command line failed (its output is in the message).
    """
    final = reference_dir(preset, root)
    with _locked(final.parent / f".{final.name}.lock"):
        if final.is_dir() and not force:
            return final
        tmp = final.parent / f".tmp-{final.name}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        cmd = [sys.executable, "-m", "lmbook.train", preset, f"--out_dir={tmp}",
               "--progress=false"]  # fmt: skip
        env = dict(os.environ)
        if threads:
            env["OMP_NUM_THREADS"] = str(threads)
        start = time.perf_counter()
        lines: list[str] = []
        try:
            with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, env=env) as proc:  # fmt: skip
                assert proc.stdout is not None
                for line in proc.stdout:
                    lines.append(line)
                    if not quiet:
                        print(line, end="", flush=True)
            if proc.returncode != 0:
                raise RuntimeError(
                    f"training the reference model {preset!r} failed (exit {proc.returncode}): "
                    f"{''.join(lines)[-2000:]}"
                )
            # The CLI's last stdout line is its summary (a warning at exit may follow it).
            final_line = json.loads(next(x for x in reversed(lines) if x.startswith("{")))
            (tmp / "cli_output.txt").write_text("".join(lines), encoding="utf-8")
            info = {
                "preset": _preset_name(preset),
                "key": final.name.rsplit("-", 1)[1],
                "command": " ".join(["python", *cmd[1:4]]),
                **final_line,
                "choices": "; ".join(x.strip() for x in lines if x.startswith("trainer: ")),
                "process_wall_time_s": round(time.perf_counter() - start, 1),
                "cpu": cpu_model(),
                "threads": threads,  # None: torch's default (see "choices")
                "torch": torch.__version__,
                "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            atomic_write_json(tmp / INFO_NAME, info, indent=2)
            if final.exists():  # force=True: replace the old one
                shutil.rmtree(final)
            os.rename(tmp, final)  # the directory appears complete or not at all
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _load(directory: Path, device: str) -> tuple[nn.Module, Any, dict[str, Any]]:
    from lmbook.models import BERT, GPT, BertConfig, GPTConfig
    from lmbook.tokenizers import BPETokenizer, CharTokenizer, WordPieceTokenizer
    from lmbook.train.checkpoint import load_checkpoint

    fix = f"delete {directory} and run `make models` (or call reference_model again)"
    try:
        info = json.loads((directory / INFO_NAME).read_text(encoding="utf-8"))
        kind = json.loads((directory / "tokenizer.json").read_text(encoding="utf-8"))["type"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise CheckpointError(
            f"the cached reference model {directory} is broken ({e}); {fix}"
        ) from e
    tokenizers = {"char": CharTokenizer, "wordpiece": WordPieceTokenizer, "bpe": BPETokenizer}
    try:
        ckpt = load_checkpoint(directory)
        ident = ckpt.config["model_identity"]
        model_cls, config_cls = {"GPT": (GPT, GPTConfig), "BERT": (BERT, BertConfig)}[
            ident["class"]
        ]
        model = model_cls(config_cls(**ident["config"]))
        ckpt.load_weights(model)
        tokenizer = tokenizers[kind].load(directory / "tokenizer.json")
    except (CheckpointError, FileNotFoundError, KeyError, TypeError, ValueError) as e:
        raise CheckpointError(
            f"the cached reference model {directory} is broken ({e}); {fix}"
        ) from e
    return model.to(device).eval(), tokenizer, info


def reference_model(
    preset: str = "shakespeare-char",
    root: str | os.PathLike | None = None,
    train_if_missing: bool = True,
    threads: int | None = None,
    device: str = "cpu",
) -> tuple[nn.Module, Any, dict[str, Any]]:
    """The reference model of ``preset`` for this code: ``(model, tokenizer, info)``.

    Loads it from the cache (filled by ``make models``); when it is missing, trains it first
    with the command line (minutes on a CPU) and says so. ``info`` holds the command line's
    final numbers (``val_loss``, ``tokens_per_sec``, ``wall_time_s``), the CPU and threads it
    ran on, what the trainer chose, and ``"source"``: "cache" or "trained now".

    Example:
        >>> model, tok, info = reference_model("shakespeare-char")   # doctest: +SKIP
        >>> info["val_loss"]                                          # doctest: +SKIP
        1.87...

    Raises:
        FileNotFoundError: not cached and ``train_if_missing`` is False.
        CheckpointError: the cached files are damaged (the message says what to delete).
    """
    directory = reference_dir(preset, root)
    source = "cache"
    if not directory.is_dir():
        if not train_if_missing:
            raise FileNotFoundError(
                f"no reference model {directory.name} in {directory.parent} for this code; run "
                "`make models`, or call reference_model(..., train_if_missing=True)"
            )
        print(f"reference model {directory.name} is not cached for this code: training it "
              f"now with `python -m lmbook.train {preset}` (minutes on a CPU)", flush=True)  # fmt: skip
        directory = train_reference(preset, root, threads=threads)  # (the key it trained for)
        source = "trained now"
    model, tokenizer, info = _load(directory, device)
    info = {**info, "source": source, "path": str(directory)}
    return model, tokenizer, info


def main(argv: list[str] | None = None) -> int:
    """``python -m lmbook.train.reference [--force] [--threads=N] PRESET ...`` (``make models``)."""
    argv = sys.argv[1:] if argv is None else argv
    force = "--force" in argv
    threads = next((int(a.split("=", 1)[1]) for a in argv if a.startswith("--threads=")), None)
    presets = [a for a in argv if not a.startswith("--")] or ["shakespeare-char"]
    for preset in presets:
        directory = reference_dir(preset)
        if directory.is_dir() and not force:
            print(f"{preset}: cached at {directory}")
            continue
        start = time.perf_counter()
        train_reference(preset, threads=threads, force=force)
        info = json.loads((directory / INFO_NAME).read_text(encoding="utf-8"))
        print(f"{preset}: trained in {time.perf_counter() - start:.0f} s, val_loss "
              f"{info['val_loss']:.4f}, into {directory}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
