"""The config base shared by GPT, BERT and the encoder-decoder: validation, presets, replace().

Every model config is a dataclass built with :func:`model_config`, so the three share

- one vocabulary of field names: ``block_size`` (longest sequence), ``d_model``, ``n_heads``,
  ``n_kv_heads``, ``d_ff``, ``dropout``, ``activation``, ``attn_impl``, ``pad_id``, and
  ``tie_embeddings``;
- the same validation (``d_model % n_heads == 0``, sizes >= 1, a known activation...), run
  again whenever a copy is made;
- named presets (``GPTConfig.preset("nanogpt-cpu", vocab_size=65)``);
- :meth:`ModelConfig.replace`, which recomputes derived fields: a field left at ``None``
  (``d_ff`` -> 4 ``d_model``, ``src_vocab_size`` -> ``vocab_size``) follows the fields it is
  derived from in every copy, while a value given explicitly stays.

Old field names (``max_position``, ``pad_token_id``, ``share_embeddings``) are still accepted
with a DeprecationWarning naming the new one, so saved configs and older notebooks load.

Introduced in: Chapter 3.2 (GPT's configuration).
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from typing import Any, ClassVar, TypeVar

from lmbook.nn import ACTIVATIONS, ATTENTION_IMPLS

__all__ = ["ModelConfig", "model_config"]

C = TypeVar("C", bound="ModelConfig")


class ModelConfig:
    """Base of every model config (GPTConfig, BertConfig, Seq2SeqConfig).

    Subclasses declare their fields as a dataclass and set the class variables below.
    """

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {}
    # Fields that must be integers >= 1.
    POSITIVE: ClassVar[tuple[str, ...]] = ()
    # Derived fields: name -> function of the config, used when the field is None.
    DERIVED: ClassVar[dict[str, Any]] = {}
    # Old field name -> new field name (accepted with a DeprecationWarning).
    RENAMED: ClassVar[dict[str, str]] = {}

    def __post_init__(self) -> None:
        auto = {name for name in self.DERIVED if getattr(self, name) is None}
        object.__setattr__(self, "_derived_from_others", frozenset(auto))
        for name in auto:
            setattr(self, name, self.DERIVED[name](self))
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the field and the fix when the config cannot build a model."""
        name = type(self).__name__
        for f in self.POSITIVE:
            value = getattr(self, f)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}.{f} must be an int >= 1, got {value!r}")
        if self.d_model % self.n_heads != 0:
            raise ValueError(
                f"{name}: d_model ({self.d_model}) must be divisible by n_heads "
                f"({self.n_heads}); change one of them"
            )
        kv = getattr(self, "n_kv_heads", None) or self.n_heads
        if kv < 1 or self.n_heads % kv != 0:
            raise ValueError(
                f"{name}: n_heads ({self.n_heads}) must be a multiple of n_kv_heads ({kv})"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"{name}.dropout must be in [0, 1), got {self.dropout}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"{name}.activation must be one of {ACTIVATIONS}, got {self.activation!r}"
            )
        if self.attn_impl not in ATTENTION_IMPLS:
            raise ValueError(
                f"{name}.attn_impl must be one of {ATTENTION_IMPLS}, got {self.attn_impl!r}"
            )

    @classmethod
    def preset(cls: type[C], name: str, **overrides: Any) -> C:
        """A named configuration with optional field overrides (see the class's PRESETS)."""
        if name not in cls.PRESETS:
            raise ValueError(
                f"unknown {cls.__name__} preset {name!r}; choose one of {sorted(cls.PRESETS)}"
            )
        overrides = _rename(cls, overrides)
        valid = {f.name for f in dataclasses.fields(cls)}
        unknown = set(overrides) - valid
        if unknown:
            raise ValueError(
                f"unknown {cls.__name__} fields {sorted(unknown)}; valid: {sorted(valid)}"
            )
        return cls(**{**cls.PRESETS[name], **overrides})

    def replace(self: C, **changes: Any) -> C:
        """A validated copy with some fields changed; derived fields follow their sources.

        Example:
            >>> GPTConfig().replace(d_model=256, n_heads=4).d_ff
            1024
        """
        changes = _rename(type(self), changes)
        derived = {n: None for n in self._derived_from_others if n not in changes}
        return dataclasses.replace(self, **derived, **changes)


def _rename(cls: type, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Map deprecated keyword names to the current ones, with a warning naming the new one."""
    if not any(old in kwargs for old in cls.RENAMED):
        return kwargs
    kwargs = dict(kwargs)
    for old, new in cls.RENAMED.items():
        if old in kwargs:
            warnings.warn(
                f"{cls.__name__}({old}=...) is deprecated; use {new}= (one name across models)",
                DeprecationWarning,
                stacklevel=3,
            )
            if new in kwargs:
                raise ValueError(f"{cls.__name__}: pass {new}= only, not also its old name {old}=")
            kwargs[new] = kwargs.pop(old)
    return kwargs


def _alias(old: str, new: str) -> property:
    def get(self):
        warnings.warn(
            f"{type(self).__name__}.{old} is deprecated; use .{new}", DeprecationWarning, 2
        )
        return getattr(self, new)

    def set_(self, value):
        warnings.warn(
            f"{type(self).__name__}.{old} is deprecated; use .{new}", DeprecationWarning, 2
        )
        setattr(self, new, value)

    return property(get, set_, doc=f"Deprecated alias of ``{new}``.")


def model_config(cls: type[C]) -> type[C]:
    """Class decorator: make ``cls`` a dataclass that accepts its RENAMED old keyword names."""
    cls = dataclasses.dataclass(cls)
    init = cls.__init__

    @functools.wraps(init)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **_rename(cls, kwargs))

    cls.__init__ = __init__
    for old, new in cls.RENAMED.items():
        setattr(cls, old, _alias(old, new))
    return cls
