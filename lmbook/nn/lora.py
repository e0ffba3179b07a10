"""LoRA: low-rank adaptation of frozen linear layers (Hu et al. 2022).

A pretrained ``nn.Linear`` computes ``y = x Wᵀ + b``. LoRA freezes ``W`` and
learns a rank-``r`` update ``ΔW = B A`` (``A``: (r, in), ``B``: (out, r)),
scaled by ``alpha / r`` (Hu et al. 2022, Sec. 4.1)::

    y = x Wᵀ + b + (alpha / r) · x Aᵀ Bᵀ

``B`` starts at zero, so the adapted model starts exactly equal to the
pretrained one. After training, ``merge()`` folds ``ΔW`` into ``W`` so
inference costs nothing extra; ``unmerge()`` takes it out again.

Introduced in: Chapter 9 (Q3, fine-tuning).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

__all__ = ["LoRALinear", "apply_lora", "lora_parameters", "merge_lora", "unmerge_lora"]


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable low-rank update.

    Args:
        base: the pretrained linear layer (kept as ``.base``, its parameters frozen).
        r: rank of the update (> 0).
        alpha: scaling numerator; the update is multiplied by ``alpha / r``.
        dropout: dropout on the LoRA branch's input (Hu et al. use 0.05–0.1).

    Shapes:
        x: (..., in_features) -> (..., out_features), like ``base``.

    Introduced in: Chapter 9 (Q3).
    """

    def __init__(
        self,
        base: nn.Linear,
        r: int = 8,
        alpha: float = 16.0,
        dropout: float = 0.0,
        rows: list[tuple[int, int]] | None = None,
    ):
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"LoRALinear wraps an nn.Linear, got {type(base).__name__}")
        if r <= 0:
            raise ValueError(f"LoRA rank r must be a positive integer, got {r}")
        if r > min(base.in_features, base.out_features):
            raise ValueError(
                f"LoRA rank r={r} exceeds min(in, out)={min(base.in_features, base.out_features)}: "
                "a full-rank update is just fine-tuning; pick a smaller r"
            )
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        self.r = r
        self.alpha = float(alpha)
        self.scaling = self.alpha / r
        # rows: adapt only these [start, stop) output slices of a fused projection, each with
        # its own rank-r update (LoRA on W_q and W_v of a fused qkv_proj, as Hu et al. do on
        # separate ones). None: the whole output.
        self.rows = [(0, base.out_features)] if rows is None else list(rows)
        factory = {"device": base.weight.device, "dtype": base.weight.dtype}
        n = len(self.rows)
        self.lora_A = nn.Parameter(torch.empty(n * r, base.in_features, **factory))
        self.lora_B = nn.Parameter(torch.zeros(sum(b - a for a, b in self.rows), r, **factory))
        # A random, B zero: the update starts at exactly 0 (Hu et al. 2022, Sec. 4.1);
        # kaiming-uniform A as in the reference implementation (loralib), one block per slice.
        for A in self.lora_A.data.split(r):
            nn.init.kaiming_uniform_(A, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.merged = False

    @property
    def weight(self) -> torch.Tensor:
        """The frozen base weight (so code reading ``.weight`` keeps working)."""
        return self.base.weight

    @property
    def bias(self) -> torch.Tensor | None:
        return self.base.bias

    @property
    def in_features(self) -> int:
        return self.base.in_features

    @property
    def out_features(self) -> int:
        return self.base.out_features

    def _blocks(self):
        """(start, stop, A_i, B_i) for each adapted output slice."""
        sizes = [b - a for a, b in self.rows]
        return zip(self.rows, self.lora_A.split(self.r), self.lora_B.split(sizes), strict=True)

    def delta_weight(self) -> torch.Tensor:
        """The update ``(alpha / r) · B A``, shape (out_features, in_features)."""
        if self.rows == [(0, self.out_features)]:
            return (self.lora_B @ self.lora_A) * self.scaling
        delta = self.base.weight.new_zeros(self.out_features, self.in_features)
        for (a, b), A, B in self._blocks():
            delta[a:b] = B @ A
        return delta * self.scaling

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.base(x)
        if self.merged:
            return y
        if self.rows == [(0, self.out_features)]:
            # (..., in) -> (..., r) -> (..., out): never forms the (out, in) update.
            return y + (self.dropout(x) @ self.lora_A.T @ self.lora_B.T) * self.scaling
        x = self.dropout(x)
        pieces, start = [], 0
        for (a, b), A, B in self._blocks():
            pieces += [y.new_zeros(*y.shape[:-1], a - start), (x @ A.T @ B.T) * self.scaling]
            start = b
        pieces.append(y.new_zeros(*y.shape[:-1], self.out_features - start))
        return y + torch.cat(pieces, dim=-1)

    @torch.no_grad()
    def merge(self) -> None:
        """Fold the update into the base weight (inference at the base layer's cost)."""
        if not self.merged:
            self.base.weight += self.delta_weight()
            self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        """Take the update back out of the base weight (to keep training the adapter)."""
        if self.merged:
            self.base.weight -= self.delta_weight()
            self.merged = False

    def extra_repr(self) -> str:
        return f"r={self.r}, alpha={self.alpha:g}, merged={self.merged}"


def apply_lora(
    model: nn.Module,
    target: Iterable[str] = ("q_proj", "v_proj"),
    r: int = 8,
    alpha: float = 16.0,
    dropout: float = 0.0,
    trainable: Iterable[str] = (),
) -> nn.Module:
    """Wrap every ``nn.Linear`` whose attribute name is in ``target`` with :class:`LoRALinear`.

    Every other parameter of the model is frozen, except those whose qualified
    name starts with one of ``trainable`` (e.g. a freshly initialised
    classification head, which must learn). Hu et al. (2022, Sec. 7.1) adapt the
    query and value projections, hence the default.

    Args:
        model: modified in place (and returned for chaining).
        target: attribute names of the linear layers to adapt.
        r, alpha, dropout: see :class:`LoRALinear`.
        trainable: parameter-name prefixes left trainable (e.g. ``("head",)``).

    Returns:
        the same model.

    Raises:
        ValueError: no linear layer matched ``target`` (the message lists the names found).

    Introduced in: Chapter 9 (Q3).
    """
    target = set(target)
    trainable = tuple(trainable)
    found = []
    for name, module in model.named_modules():
        if not isinstance(module, nn.Linear) or isinstance(module, LoRALinear):
            continue
        leaf = name.rsplit(".", 1)[-1]
        if leaf in target:
            found.append((name, module, None))
        elif leaf in ("qkv_proj", "kv_proj"):  # fused: adapt the targeted slices
            parent = model.get_submodule(name.rpartition(".")[0])
            slices = _fused_slices(parent, leaf)
            rows = [
                slices[p] for p in ("q_proj", "k_proj", "v_proj") if p in slices and p in target
            ]
            if rows:
                found.append((name, module, rows))
    if not found:
        linear_names = sorted(
            {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, nn.Linear)}
        )
        raise ValueError(
            f"apply_lora found no nn.Linear named {sorted(target)}; "
            f"this model's linear layers are named {linear_names}"
        )
    for p in model.parameters():
        p.requires_grad_(False)
    for name, module, rows in found:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        lora = LoRALinear(module, r=r, alpha=alpha, dropout=dropout, rows=rows)
        setattr(parent, child, lora)
    if trainable:
        matched = False
        for pname, p in model.named_parameters():
            if pname.startswith(trainable):
                p.requires_grad_(True)
                matched = True
        if not matched:
            raise ValueError(
                f"no parameter name starts with {trainable}; pass prefixes of "
                "model.named_parameters() names, e.g. the classification head's attribute name"
            )
    return model


def _fused_slices(attn: nn.Module, leaf: str) -> dict[str, tuple[int, int]]:
    """Output rows of q, k and v inside a MultiHeadAttention's fused projection."""
    D, kv = attn.d_model, attn.kv_dim
    if leaf == "qkv_proj":
        return {"q_proj": (0, D), "k_proj": (D, D + kv), "v_proj": (D + kv, D + 2 * kv)}
    return {"k_proj": (0, kv), "v_proj": (kv, 2 * kv)}


def lora_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The LoRA ``A`` and ``B`` matrices of every :class:`LoRALinear` in ``model``."""
    return [p for m in model.modules() if isinstance(m, LoRALinear) for p in (m.lora_A, m.lora_B)]


def merge_lora(model: nn.Module) -> nn.Module:
    """Merge every LoRA update into its base weight (see :meth:`LoRALinear.merge`)."""
    for m in model.modules():
        if isinstance(m, LoRALinear):
            m.merge()
    return model


def unmerge_lora(model: nn.Module) -> nn.Module:
    """Undo :func:`merge_lora`."""
    for m in model.modules():
        if isinstance(m, LoRALinear):
            m.unmerge()
    return model
