"""Training configuration: one validated dataclass whose field names are the CLI keys.

Introduced in: Chapter 5 (pretraining GPT).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["DTYPES", "TrainConfig", "coerce_value"]

DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass
class TrainConfig:
    """Everything the training loop needs (the model and data are passed separately).

    Defaults follow nanoGPT's character-level Shakespeare recipe on a CPU.
    """

    out_dir: str | None = None  # checkpoints + metrics.jsonl go here; None: keep nothing on disk
    max_iters: int = 2000  # optimizer steps
    eval_interval: int = 250  # evaluate (and checkpoint) every this many steps, and at the end
    eval_iters: int = 20  # batches averaged for each validation-loss estimate
    eval_at_start: bool = True  # evaluate once before the first step (the curve starts at ln V)
    log_interval: int = 10  # read the loss back (one device sync) every this many steps
    batch_size: int = 12  # sequences per micro-step, summed over all processes
    block_size: int = 64  # context length for token-stream data
    grad_accum: int = 1  # micro-steps per optimizer step; global batch = batch_size * grad_accum
    lr: float = 1e-3  # peak learning rate
    min_lr: float = 1e-4  # floor of the cosine decay (about lr / 10, Chinchilla)
    warmup_iters: int = 100  # linear warmup steps
    lr_decay_iters: int | None = None  # step where the cosine reaches min_lr; None: max_iters
    weight_decay: float = 0.1  # AdamW decay on matrices (dim >= 2) only
    beta1: float = 0.9
    beta2: float = 0.99  # 0.99 for small data (nanoGPT char); GPT-2/3 scale uses 0.95
    eps: float = 1e-8
    grad_clip: float = 1.0  # max global gradient norm; 0 disables clipping
    # autocast: "auto", "float32", "bfloat16", "float16". "auto" is chosen at run time from the
    # device and the model's width (see Trainer.choices): bf16 on CUDA GPUs that have it (fp16
    # + GradScaler on older ones); on a CPU, bf16 only when it has native bf16 (AVX-512 BF16 /
    # AMX) and the model is at least 256 wide (measured there: 0.68x at 128 wide, 1.84x at 384);
    # fp32 on AVX2-only CPUs, where bf16 is emulated and 10-15x slower.
    dtype: str = "auto"
    # torch.compile: True, False, or "auto": compile only when the warm-up (30-90 s on a CPU)
    # pays back within the run, judged from the measured eager step time after the first
    # log_interval steps; never inside a Jupyter kernel, nor without a C++ compiler on CPU.
    compile: bool | str = "auto"
    device: str = "auto"  # "auto", "cpu", "cuda", "cuda:1", "mps"
    seed: int = 1337
    resume: bool = False  # continue from out_dir's latest checkpoint
    overwrite: bool = False  # allow starting afresh in an out_dir holding this model's checkpoint
    keep_checkpoints: int = 2  # how many ckpt-* directories to keep
    progress: bool = True  # tqdm progress bar (turn off for notebooks with stored outputs)
    extra: dict[str, Any] = field(default_factory=dict)  # free-form notes saved with checkpoints

    def __post_init__(self) -> None:
        positive = ("max_iters", "eval_interval", "eval_iters", "log_interval", "batch_size",
                    "block_size", "grad_accum", "keep_checkpoints")  # fmt: skip
        for name in positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.warmup_iters < 0:
            raise ValueError(f"warmup_iters must be >= 0, got {self.warmup_iters}")
        for name in ("lr", "min_lr", "weight_decay", "grad_clip", "eps"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.min_lr > self.lr:
            raise ValueError(f"min_lr ({self.min_lr}) must not exceed lr ({self.lr})")
        for name in ("beta1", "beta2"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {list(DTYPES)}, got {self.dtype!r}")
        if self.compile not in (True, False, "auto"):  # 1/0 compare equal to True/False
            raise ValueError(f"compile must be true, false or 'auto', got {self.compile!r}")
        decay = self.lr_decay_iters if self.lr_decay_iters is not None else self.max_iters
        if decay < self.warmup_iters:
            raise ValueError(
                f"lr_decay_iters ({decay}) must be >= warmup_iters ({self.warmup_iters}); "
                "lower warmup_iters or raise lr_decay_iters/max_iters"
            )
        if self.resume and self.out_dir is None:
            raise ValueError("resume=True needs out_dir (the run directory to resume from)")

    @property
    def decay_iters(self) -> int:
        return self.lr_decay_iters if self.lr_decay_iters is not None else self.max_iters

    @classmethod
    def keys(cls) -> list[str]:
        """The valid configuration keys (also the CLI's ``--key=value`` names)."""
        return [f.name for f in fields(cls)]

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a dict, refusing unknown keys with the list of valid ones."""
        unknown = sorted(set(values) - set(cls.keys()))
        if unknown:
            raise ValueError(
                f"unknown training key(s) {unknown}; valid keys: {', '.join(cls.keys())}"
            )
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def _base_types(annotation: Any) -> tuple[type, ...]:
    if isinstance(annotation, str):  # from __future__ annotations
        annotation = eval(annotation, {**typing.__dict__, "Any": Any})  # noqa: S307 (own code)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return tuple(t for a in typing.get_args(annotation) for t in _base_types(a))
    if origin is not None:
        return (origin,)
    return (annotation,)


def coerce_value(key: str, text: str, annotation: Any) -> Any:
    """Parse a CLI string for a field annotated ``annotation`` (int, float, bool, str, None).

    Raises:
        ValueError: the text is not a valid value of that type (the message names the key).
    """
    kinds = _base_types(annotation)
    if type(None) in kinds and text.lower() in ("none", "null"):
        return None
    if bool in kinds:
        low = text.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        if str in kinds:  # e.g. compile: true, false or "auto"; the config validates the word
            return text
        raise ValueError(f"--{key} expects true/false, got {text!r}")
    if int in kinds:
        try:
            return int(text)
        except ValueError:
            if float not in kinds:
                raise ValueError(f"--{key} expects an integer, got {text!r}") from None
    if float in kinds:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"--{key} expects a number, got {text!r}") from None
    if dict in kinds or list in kinds or Any in kinds:
        import json

        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    return text
