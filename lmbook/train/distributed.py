"""DistributedDataParallel plumbing: the same command runs on 1 process or under torchrun.

Design: every process draws the *same* global batch indices from a generator seeded
identically (cheap: only indices and a small gather) and keeps its own slice of rows,
so N processes with a global batch of B see exactly the data one process sees with B.
The loss curve of an N-process run therefore matches the 1-process curve up to float
reduction order; only rank 0 writes checkpoints and logs.

Introduced in: Chapter 5.2 (what changes on several GPUs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor, nn

__all__ = ["DistInfo", "all_reduce_mean", "init_distributed", "shard_batch", "unwrap_model"]


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits: ``rank`` of ``world_size`` (1 without torchrun)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device_type: str) -> DistInfo:
    """Join the process group torchrun set up (env ``RANK``, ``WORLD_SIZE``, ...), if any.

    Uses NCCL for CUDA and Gloo for CPU. Without torchrun's variables this is a no-op
    returning a single-process :class:`DistInfo`.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    backend = "nccl" if device_type == "cuda" else "gloo"
    if device_type == "cuda":
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return DistInfo(rank=rank, world_size=world, local_rank=local_rank, backend=backend)


def shard_batch(batch: dict[str, Tensor], rank: int, world_size: int) -> dict[str, Tensor]:
    """This rank's contiguous slice of rows of a global batch.

    Raises:
        ValueError: the batch size is not divisible by the number of processes.
    """
    if world_size == 1:
        return batch
    sizes = {v.size(0) for v in batch.values()}
    if len(sizes) != 1:
        raise ValueError(f"batch tensors disagree on the batch dimension: {sorted(sizes)}")
    (B,) = sizes
    if B % world_size:
        raise ValueError(
            f"global batch_size {B} is not divisible by {world_size} processes; "
            f"use a multiple of {world_size}"
        )
    per = B // world_size
    return {k: v[rank * per : (rank + 1) * per] for k, v in batch.items()}


def all_reduce_mean(t: Tensor, info: DistInfo) -> Tensor:
    """Average ``t`` over all processes (identity on one)."""
    if not info.enabled:
        return t
    t = t.clone()
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t / info.world_size


def unwrap_model(model: nn.Module) -> nn.Module:
    """The plain module under DistributedDataParallel and/or ``torch.compile`` wrappers.

    Introduced in: Chapter 5 (training on several processes).
    """
    while True:
        if hasattr(model, "_orig_mod"):  # torch.compile's OptimizedModule
            model = model._orig_mod
        elif isinstance(model, nn.parallel.DistributedDataParallel):
            model = model.module
        else:
            return model
