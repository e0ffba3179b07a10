"""Checkpoints that survive crashes and resume bit for bit.

A checkpoint is a directory ``out_dir/ckpt-0000250/`` holding

* ``model.safetensors`` — the weights (tied tensors stored once), loadable on their own;
* ``trainer_state.pt`` — optimizer moments, step, RNG states of Python/NumPy/torch/CUDA,
  data-sampler position, history; only tensors and plain containers, read back with
  ``torch.load(weights_only=True)`` so no pickled code is ever executed;
* ``config.json`` — the run configuration and the model's identity (class, config, shapes).

It is written into a hidden temporary directory first, then renamed into place, and
only then does ``out_dir/latest.json`` (replaced atomically with ``os.replace``) point
at it. A crash at any moment leaves ``latest.json`` naming a complete checkpoint.

Introduced in: Chapter 5 (checkpoint and resume).
"""

from __future__ import annotations

import json
import os
import pickle
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, save_model
from torch import nn

from lmbook.io import CheckpointError, atomic_write_json, fsync_dir
from lmbook.train.distributed import unwrap_model  # re-exported: its old home

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "capture_rng_state",
    "latest_checkpoint",
    "load_checkpoint",
    "identity_diffs",
    "model_identity",
    "restore_rng_state",
    "save_checkpoint",
    "unwrap_model",
]

WEIGHTS_NAME = "model.safetensors"
STATE_NAME = "trainer_state.pt"
CONFIG_NAME = "config.json"
LATEST_NAME = "latest.json"


@dataclass
class Checkpoint:
    """A checkpoint read back from disk (weights are loaded separately, into a model)."""

    path: Path
    config: dict[str, Any]
    state: dict[str, Any]

    @property
    def iter(self) -> int:
        return int(self.state["iter"])

    def load_weights(self, model: nn.Module) -> None:
        """Copy this checkpoint's weights into ``model`` (shapes and names must match)."""
        _load_weights(unwrap_model(model), self.path / WEIGHTS_NAME)


def model_identity(model: nn.Module) -> dict[str, Any]:
    """What makes two models "the same model" for checkpoint purposes.

    Returns a JSON-able dict: class name, the dataclass ``config`` if the model has one,
    and every parameter/buffer shape. Two runs may share an ``out_dir`` only if these agree.
    """
    model = unwrap_model(model)
    ident: dict[str, Any] = {"class": type(model).__name__}
    cfg = getattr(model, "config", None)
    if cfg is not None and hasattr(cfg, "__dataclass_fields__"):
        from dataclasses import asdict

        ident["config"] = json.loads(json.dumps(asdict(cfg), default=str))
    ident["shapes"] = {k: list(v.shape) for k, v in model.state_dict().items()}
    return ident


# ---------------------------------------------------------------------------- RNG


_WEIGHT_NEUTRAL_KEYS = {"dropout", "attn_impl", "attn_dropout", "resid_dropout"}


def identity_diffs(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """How two :func:`model_identity` records differ, one phrase each (empty: same model)."""
    diffs = []
    if saved.get("class") != current.get("class"):
        diffs.append(f"class {saved.get('class')} vs {current.get('class')}")
    sc, cc = saved.get("config") or {}, current.get("config") or {}
    for k in sorted(set(sc) | set(cc)):
        # Dropout and the attention kernel change no weight: resuming with others is fine.
        if k in _WEIGHT_NEUTRAL_KEYS:
            continue
        if sc.get(k) != cc.get(k):
            diffs.append(f"{k} {sc.get(k)!r} vs {cc.get(k)!r}")
    ss, cs = saved.get("shapes") or {}, current.get("shapes") or {}
    for k in sorted(set(ss) | set(cs)):
        if ss.get(k) != cs.get(k):
            diffs.append(f"{k} shape {ss.get(k)} vs {cs.get(k)}")
    return diffs


def capture_rng_state() -> dict[str, Any]:
    """RNG states of Python, NumPy, torch (CPU) and every CUDA device, as plain data."""
    version, py_state, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": {"version": version, "state": list(py_state), "gauss": gauss},
        # NumPy's key array is uint32; int64 round-trips it exactly and is weights_only-safe.
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state`."""
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    npst = state["numpy"]
    np.random.set_state(
        (
            npst["kind"],
            npst["keys"].numpy().astype(np.uint32),
            npst["pos"],
            npst["has_gauss"],
            npst["cached_gaussian"],
        )
    )
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        cuda_states = state["cuda"][: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all(cuda_states)


# ---------------------------------------------------------------------------- write


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _save_weights(model: nn.Module, path: Path, metadata: dict[str, str]) -> None:
    # save_model (not save_file) stores tied tensors (lm_head = tok_emb) once.
    save_model(model, str(path), metadata=metadata)


def _save_state(state: dict[str, Any], path: Path) -> None:
    torch.save(state, path)


def save_checkpoint(
    out_dir: str | os.PathLike,
    model: nn.Module,
    state: dict[str, Any],
    config: dict[str, Any],
    keep: int = 2,
) -> Path:
    """Write a checkpoint atomically and point ``out_dir/latest.json`` at it.

    Args:
        out_dir: run directory (created if missing).
        model: the model (DDP / compiled wrappers are unwrapped).
        state: trainer state; must hold ``"iter"``; tensors and plain containers only.
        config: JSON-able run configuration, stored as ``config.json`` with the model identity.
        keep: how many checkpoints to keep (older complete ones are deleted last).

    Returns:
        The checkpoint directory.

    Raises:
        Whatever the write raised; the temporary directory is removed and the previous
        checkpoint stays the one ``latest.json`` names.
    """
    if keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = unwrap_model(model)
    step = int(state["iter"])
    name = f"ckpt-{step:07d}"
    n = 1
    while (out / name).exists():  # the same step saved twice (e.g. after a resume)
        name = f"ckpt-{step:07d}.{n}"
        n += 1
    tmp = out / f".tmp-{name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        _save_weights(model, tmp / WEIGHTS_NAME, {"iter": str(step)})
        _save_state(state, tmp / STATE_NAME)
        with open(tmp / CONFIG_NAME, "w", encoding="utf-8") as f:
            json.dump({**config, "model_identity": model_identity(model)}, f, indent=2)
        for fname in (WEIGHTS_NAME, STATE_NAME, CONFIG_NAME):
            _fsync_file(tmp / fname)
        fsync_dir(tmp)
        os.rename(tmp, out / name)  # atomic on POSIX: the directory appears complete
        fsync_dir(out)
        atomic_write_json(
            out / LATEST_NAME, {"checkpoint": name, "iter": step}, indent=2, sort_keys=True
        )
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # Prune only after latest.json names the new checkpoint.
    ckpts = sorted(
        (p for p in out.iterdir() if p.is_dir() and p.name.startswith("ckpt-")),
        key=lambda p: p.stat().st_mtime_ns,
    )
    for old in ckpts[:-keep]:
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)
    return out / name


# ---------------------------------------------------------------------------- read


def latest_checkpoint(out_dir: str | os.PathLike) -> Path | None:
    """The checkpoint directory ``out_dir/latest.json`` names, or None when there is none."""
    out = Path(out_dir)
    latest = out / LATEST_NAME
    if not latest.is_file():
        return None
    try:
        name = json.loads(latest.read_text(encoding="utf-8"))["checkpoint"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise CheckpointError(
            f"{latest} is unreadable ({e}); delete it and point resume at a ckpt-* directory"
        ) from e
    path = out / name
    if not path.is_dir():
        raise CheckpointError(
            f"{latest} names {name}, which does not exist in {out}; the run directory was "
            "edited by hand — restore that directory or delete latest.json"
        )
    return path


def _load_weights(model: nn.Module, path: Path) -> None:
    if not path.is_file():
        raise CheckpointError(f"missing weights file {path}; the checkpoint is incomplete")
    try:
        missing, unexpected = load_model(model, str(path), strict=False)
    except (SafetensorError, OSError) as e:
        raise CheckpointError(f"cannot read {path} ({e}); the file is truncated or corrupt") from e
    except RuntimeError as e:  # size mismatch
        raise CheckpointError(
            f"weights in {path} do not fit the model ({e}); load them into a model built "
            "with the checkpoint's config.json"
        ) from e
    if missing or unexpected:
        raise CheckpointError(
            f"weights in {path} do not match the model: missing {sorted(missing)[:5]}, "
            f"unexpected {sorted(unexpected)[:5]}; build the model from the checkpoint's config"
        )


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint's config and trainer state (weights stay on disk until ``load_weights``).

    Args:
        path: a run directory (its ``latest.json`` is followed) or a ``ckpt-*`` directory.

    Raises:
        FileNotFoundError: no checkpoint there.
        CheckpointError: a file is missing, truncated or corrupt.
    """
    p = Path(path)
    if (p / LATEST_NAME).exists():
        p = latest_checkpoint(p)  # type: ignore[assignment]
    if not (p / STATE_NAME).is_file() and not (p / WEIGHTS_NAME).is_file():
        raise FileNotFoundError(
            f"no checkpoint in {path} (expected latest.json or {STATE_NAME}); "
            "train first, or pass the out_dir of a run that saved one"
        )
    try:
        config = json.loads((p / CONFIG_NAME).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise CheckpointError(
            f"cannot read {p / CONFIG_NAME} ({e}); the checkpoint is broken"
        ) from e
    try:
        # weights_only=True: tensors and plain containers only, never pickled code.
        state = torch.load(p / STATE_NAME, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(
            f"{p / STATE_NAME} holds pickled objects other than tensors and plain containers; "
            "lmbook refuses to load them because unpickling can run arbitrary code — use a "
            "checkpoint written by lmbook.train"
        ) from e
    except (OSError, RuntimeError, EOFError, ValueError) as e:
        raise CheckpointError(
            f"cannot read {p / STATE_NAME} ({type(e).__name__}: {e}); the file is truncated "
            "or corrupt — resume from an earlier ckpt-* directory"
        ) from e
    return Checkpoint(path=p, config=config, state=state)
