"""The training loop: one loop for causal LM, masked LM, seq2seq and classification.

What it does per optimizer step (nanoGPT's loop, made resumable and objective-agnostic):

1. set the learning rate from the warmup + cosine schedule (a function of the step);
2. for each of ``grad_accum`` micro-steps: draw a global batch from the seeded data
   generator, let the objective corrupt it (MLM masks), keep this process's rows, run
   forward under autocast, backward ``loss / grad_accum`` (DDP syncs on the last only);
3. clip the global gradient norm, AdamW step, ``zero_grad(set_to_none=True)``.

The loss is read back from the device only every ``log_interval`` steps (one sync), which
is also when a NaN/inf guard looks at every step's loss since the last check. Checkpoints
are written only after that check, so a diverged run never overwrites a good checkpoint.

The trainer picks the fastest correct settings for the machine and the model
(:mod:`lmbook.train.choices`), and says what it chose (``trainer.choices``, one line on the
``lmbook.train`` logger, printed by the CLI).

Introduced in: Chapter 5 (pretraining BERT and GPT).
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from lmbook.device import bf16_matmuls, get_device
from lmbook.io import atomic_write
from lmbook.train.checkpoint import (
    capture_rng_state,
    identity_diffs,
    latest_checkpoint,
    load_checkpoint,
    model_identity,
    restore_rng_state,
    save_checkpoint,
    unwrap_model,
)
from lmbook.train.choices import (
    choose_dtype,
    choose_matmul_precision,
    compile_blocker,
    compile_pays_back,
    configure_optimizer,
    has_cpp_compiler,
    model_width,
)
from lmbook.train.config import TrainConfig
from lmbook.train.distributed import DistInfo, all_reduce_mean, init_distributed, shard_batch
from lmbook.train.objectives import Objective, get_objective
from lmbook.train.schedule import WarmupCosine
from lmbook.train.sources import as_source

__all__ = ["OutDirError", "Trainer", "TrainingDivergedError", "configure_optimizer"]

logger = logging.getLogger("lmbook.train")


class TrainingDivergedError(FloatingPointError):
    """The loss became NaN or infinite; training stopped before writing a checkpoint."""


class OutDirError(ValueError):
    """``out_dir`` cannot be used as asked (another model's run, or a run to resume is missing)."""


class Trainer:
    """Train ``model`` on ``train_data`` with ``objective``; evaluate on ``val_data``.

    Args:
        model: any ``nn.Module`` the objective knows how to call (GPT, BERT, Seq2Seq,
            a classifier, or a stand-in).
        config: a :class:`TrainConfig` (or a dict of its fields).
        train_data: a batch source (``get_batch(batch_size, generator) -> dict``), a 1-D
            tensor of token ids (random blocks of ``config.block_size``), or a list of
            dict examples (shuffled epochs); see :mod:`lmbook.train.sources`.
        val_data: same kinds; None skips evaluation.
        objective: "clm", "mlm", "seq2seq", "classification", an :class:`Objective`,
            or a function ``(model, batch) -> loss``.
        run_config: extra JSON-able description saved in checkpoints (the CLI stores the
            model/data recipe here).
        on_log: called with every new history entry on rank 0 (e.g. to print it).

    After :meth:`train`, ``trainer.history`` is a list of dicts with keys ``iter``,
    ``train_loss`` (mean over the steps since the previous entry), ``val_loss`` (None
    between evaluations), ``lr``, ``tokens_per_sec`` and ``wall_time_s``.

    Example:
        >>> trainer = Trainer(gpt, TrainConfig(max_iters=200, progress=False), train_ids, val_ids)
        >>> history = trainer.train()                                      # doctest: +SKIP

    Introduced in: Chapter 5.
    """

    def __init__(
        self,
        model: nn.Module,
        config: TrainConfig | dict[str, Any],
        train_data: Any,
        val_data: Any = None,
        objective: str | Objective | Callable = "clm",
        run_config: dict[str, Any] | None = None,
        on_log: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.config = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config)
        cfg = self.config
        self.objective = get_objective(objective)
        self.run_config = run_config or {}
        self.on_log = on_log
        device = get_device(None if cfg.device == "auto" else cfg.device)
        self.dist: DistInfo = init_distributed(device.type)
        if self.dist.enabled and device.type == "cuda":
            device = torch.device("cuda", self.dist.local_rank)
        self.device = device
        if cfg.batch_size % self.dist.world_size:
            raise ValueError(
                f"batch_size {cfg.batch_size} (global, per micro-step) is not divisible by "
                f"{self.dist.world_size} processes; use a multiple of {self.dist.world_size}"
            )
        # Dropout draws from the global RNG: distinct per rank, like nanoGPT's seed offset.
        torch.manual_seed(cfg.seed + self.dist.rank)
        self.train_source = as_source(train_data, cfg.block_size)
        self.val_source = as_source(val_data, cfg.block_size) if val_data is not None else None
        # Stateful sources (epochs of examples) restart from here at every evaluation.
        self._val_start = (
            copy.deepcopy(self.val_source.state_dict())
            if hasattr(self.val_source, "state_dict")
            else None
        )
        # The data generator is identical on every rank: all draw the same global batch.
        self.data_gen = torch.Generator().manual_seed(cfg.seed)

        self.raw_model = unwrap_model(model).to(device)
        width = model_width(self.raw_model)
        self.amp_dtype, dtype_reason = choose_dtype(cfg.dtype, device, width)
        self.bf16_matmuls, matmul_reason = choose_matmul_precision(
            cfg.dtype, device, self.amp_dtype, width
        )
        self.optimizer = configure_optimizer(
            self.raw_model, cfg.lr, cfg.weight_decay, (cfg.beta1, cfg.beta2), cfg.eps, device.type
        )
        self.scaler = torch.amp.GradScaler(device.type) if self.amp_dtype == torch.float16 else None
        self.schedule = WarmupCosine(cfg.lr, cfg.min_lr, cfg.warmup_iters, cfg.decay_iters)
        self.model: nn.Module = self.raw_model
        # compile="auto" is decided at the first log, from the measured eager step time.
        self._compile_pending = False
        if cfg.compile == "auto":
            blocker = compile_blocker(device)
            self._compile_pending = blocker is None
            compile_reason = (
                f"off (auto: {blocker})"
                if blocker
                else f"auto (decided after {cfg.log_interval} steps, from their step time)"
            )
        else:
            compile_reason = "on (as configured)" if cfg.compile else "off (as configured)"
        if cfg.compile is True:
            self.model = torch.compile(self.model)
        if self.dist.enabled:
            ids = [device.index] if device.type == "cuda" else None
            self.model = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)

        self.iter = 0
        self.history: list[dict[str, Any]] = []
        self.best_val_loss = math.inf
        self._prepared = False
        self._train_time = 0.0
        self._train_tokens = 0
        self._t_start = time.perf_counter()
        fused = self.optimizer.defaults.get("fused")
        threads = f", {torch.get_num_threads()} threads" if device.type == "cpu" else ""
        self.choices: dict[str, str] = {
            "device": f"{device}{threads}",
            "dtype": dtype_reason,
            "matmuls": matmul_reason,
            "compile": compile_reason,
            "optimizer": f"AdamW ({'fused' if fused else 'foreach'})",
        }
        if self.is_main:
            logger.info("trainer: %s", self.describe())

    def describe(self) -> str:
        """The settings this trainer chose, on one line (also logged when it starts)."""
        return " | ".join(f"{k} {v}" for k, v in self.choices.items())

    # ------------------------------------------------------------------ helpers

    @property
    def is_main(self) -> bool:
        return self.dist.is_main

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def _matmul_precision(self) -> contextlib.AbstractContextManager:
        """bf16 matmul products where the trainer chose them (forward and backward)."""
        return bf16_matmuls() if self.bf16_matmuls else contextlib.nullcontext()

    def _to_device(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        if self.device.type == "cpu":
            return batch
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def _next_batch(self, source: Any, generator: torch.Generator, batch_size: int) -> dict:
        batch = source.get_batch(batch_size, generator)
        batch = self.objective.prepare(batch, generator)
        return batch

    def _saved_config(self) -> dict[str, Any]:
        return {"train": self.config.to_dict(), "run": self.run_config}

    @property
    def metrics_path(self) -> Path | None:
        return Path(self.config.out_dir) / "metrics.jsonl" if self.config.out_dir else None

    # ------------------------------------------------------------------ out_dir / resume

    def prepare(self) -> None:
        """Check ``out_dir`` and restore the checkpoint when resuming; writes nothing.

        Raises:
            OutDirError: ``out_dir`` holds another model's checkpoint; or it holds this
                model's checkpoint and neither ``resume`` nor ``overwrite`` is set; or
                ``resume`` is set and there is no checkpoint.
        """
        if self._prepared:
            return
        cfg = self.config
        ckpt_path = latest_checkpoint(cfg.out_dir) if cfg.out_dir else None
        if ckpt_path is None:
            if cfg.resume:
                raise OutDirError(
                    f"resume=True but {cfg.out_dir} holds no checkpoint (no latest.json); "
                    "start the run without resume, or point out_dir at an earlier run"
                )
        else:
            ckpt = load_checkpoint(ckpt_path)
            saved = ckpt.config.get("model_identity", {})
            diffs = identity_diffs(saved, model_identity(self.raw_model))
            if diffs and not (cfg.overwrite and not cfg.resume):
                raise OutDirError(
                    f"out_dir {cfg.out_dir} holds a checkpoint of another model "
                    f"({'; '.join(diffs[:6])}); choose a different out_dir, or pass "
                    "overwrite=true to replace it"
                )
            if cfg.resume:
                self._restore(ckpt)
            elif not cfg.overwrite:
                raise OutDirError(
                    f"out_dir {cfg.out_dir} already holds this model's checkpoint at iter "
                    f"{ckpt.iter}; pass resume=true to continue it, overwrite=true to start "
                    "over, or choose a different out_dir"
                )
        if cfg.out_dir and self.is_main:
            Path(cfg.out_dir).mkdir(parents=True, exist_ok=True)
            self._rewrite_metrics()
        self._prepared = True

    def _restore(self, ckpt: Any) -> None:
        ckpt.load_weights(self.raw_model)
        st = ckpt.state
        self.optimizer.load_state_dict(st["optimizer"])
        if self.scaler is not None and st.get("scaler"):
            self.scaler.load_state_dict(st["scaler"])
        self.iter = int(st["iter"])
        self.history = json.loads(st["history"])
        self.best_val_loss = float(st.get("best_val_loss", math.inf))
        self.data_gen.set_state(st["data_generator"])
        if hasattr(self.train_source, "load_state_dict") and st.get("train_source"):
            self.train_source.load_state_dict(st["train_source"])
        if self.dist.rank == 0:
            restore_rng_state(st["rng"])
        else:  # rank 0's RNG was saved; other ranks reseed deterministically per step
            torch.manual_seed(self.config.seed + self.dist.rank + 7919 * self.iter)

    def _state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "iter": self.iter,
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "rng": capture_rng_state(),
            "data_generator": self.data_gen.get_state(),
            "history": json.dumps(self.history),
            "best_val_loss": self.best_val_loss,
        }
        if hasattr(self.train_source, "state_dict"):
            state["train_source"] = self.train_source.state_dict()
        return state

    def save_checkpoint(self) -> Path | None:
        """Write a checkpoint of the current state to ``out_dir`` (rank 0 only)."""
        if not self.config.out_dir or not self.is_main:
            return None
        return save_checkpoint(
            self.config.out_dir,
            self.raw_model,
            self._state(),
            self._saved_config(),
            keep=self.config.keep_checkpoints,
        )

    def _rewrite_metrics(self) -> None:
        path = self.metrics_path
        assert path is not None
        with atomic_write(path) as f:
            for entry in self.history:
                f.write(json.dumps(entry) + "\n")

    def _log(self, entry: dict[str, Any]) -> None:
        self.history.append(entry)
        if self.metrics_path is not None and self.is_main:
            with open(self.metrics_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")
        if self.on_log is not None and self.is_main:
            self.on_log(entry)

    # ------------------------------------------------------------------ evaluation

    @torch.no_grad()
    def evaluate(self, eval_iters: int | None = None) -> float | None:
        """Mean validation loss over ``eval_iters`` batches (the same batches every call).

        A fixed generator (seeded from ``seed``) draws the validation batches, so successive
        evaluations are comparable and evaluation never shifts the training data stream.
        """
        if self.val_source is None:
            return None
        n = eval_iters or self.config.eval_iters
        gen = torch.Generator().manual_seed(self.config.seed + 1_000_003)
        if self._val_start is not None:
            self.val_source.load_state_dict(copy.deepcopy(self._val_start))
        # The plain module: no DDP hooks are needed without gradients, and a compiled model
        # would compile a second graph for eval mode under no_grad.
        model = self.raw_model
        was_training = model.training
        model.eval()
        losses = torch.zeros(n, device=self.device)
        try:
            for k in range(n):
                batch = self._next_batch(self.val_source, gen, self.config.batch_size)
                batch = self._to_device(shard_batch(batch, self.dist.rank, self.dist.world_size))
                with self._autocast(), self._matmul_precision():
                    losses[k] = self.objective(model, batch).float()
        finally:
            model.train(was_training)
        return float(all_reduce_mean(losses.mean(), self.dist))

    # ------------------------------------------------------------------ training

    def _train_step(self) -> Tensor:
        """One optimizer step (``grad_accum`` micro-steps); returns the mean loss, on device."""
        with self._matmul_precision():  # the backward's matmuls too
            return self._accumulate_and_update()

    def _accumulate_and_update(self) -> Tensor:
        cfg = self.config
        lr = self.schedule(self.iter)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        loss_sum = torch.zeros((), device=self.device)
        for micro in range(cfg.grad_accum):
            batch = self._next_batch(self.train_source, self.data_gen, cfg.batch_size)
            self._train_tokens += self.objective.num_tokens(batch)
            batch = self._to_device(shard_batch(batch, self.dist.rank, self.dist.world_size))
            last = micro == cfg.grad_accum - 1
            sync = (
                self.model.no_sync() if self.dist.enabled and not last else contextlib.nullcontext()
            )
            with sync:
                with self._autocast():
                    loss = self.objective(self.model, batch)
                loss_sum += loss.detach().float()
                scaled = loss / cfg.grad_accum
                (self.scaler.scale(scaled) if self.scaler is not None else scaled).backward()
        if cfg.grad_clip > 0:
            if self.scaler is not None:
                self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.raw_model.parameters(), cfg.grad_clip)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss_sum / cfg.grad_accum

    def _decide_compile(self, step_s: float, remaining: int) -> None:
        self._compile_pending = False
        on, reason = compile_pays_back(self.device.type, step_s, remaining)
        if on and self.device.type == "cpu" and not has_cpp_compiler():
            on, reason = False, "off (auto: it would pay back, but no C++ compiler was found)"
        self.choices["compile"] = reason
        if on:
            self.model = torch.compile(self.model)
        if self.is_main:
            logger.info("trainer: compile %s", reason)

    def _check_finite(self, losses: list[float], first_iter: int) -> None:
        for i, value in enumerate(losses):
            if not math.isfinite(value):
                last = latest_checkpoint(self.config.out_dir) if self.config.out_dir else None
                where = f"the last good checkpoint is {last}" if last else "no checkpoint kept"
                raise TrainingDivergedError(
                    f"loss became {value} at iter {first_iter + i}; training stopped and nothing "
                    f"was saved after it ({where}). Lower lr, keep grad_clip > 0, use more "
                    "warmup_iters, or try dtype='float32'"
                )

    def train(self) -> list[dict[str, Any]]:
        """Run until ``config.max_iters`` optimizer steps; returns ``self.history``.

        Raises:
            TrainingDivergedError: a NaN/inf loss (no checkpoint is written after it).
            OutDirError: see :meth:`prepare`.
        """
        from tqdm.auto import tqdm

        self.prepare()
        cfg = self.config
        self.model.train()
        if (
            self.iter == 0
            and cfg.eval_at_start
            and self.val_source is not None
            and not any(e["iter"] == 0 for e in self.history)
        ):
            val = self.evaluate()
            self._log(self._entry(0, None, val, 0.0))
        bar = tqdm(
            total=cfg.max_iters,
            initial=self.iter,
            disable=not (cfg.progress and self.is_main),
            dynamic_ncols=True,
            desc="train",
        )
        pending: list[Tensor] = []  # per-step losses not yet read back from the device
        t0 = time.perf_counter()
        cpu0 = time.process_time()  # compile="auto" judges CPU steps by CPU time (see below)
        tokens0 = self._train_tokens
        try:
            while self.iter < cfg.max_iters:
                pending.append(self._train_step())
                self.iter += 1
                bar.update(1)
                it = self.iter
                do_eval = it % cfg.eval_interval == 0 or it == cfg.max_iters
                if not (do_eval or it % cfg.log_interval == 0):
                    continue
                # One device sync per log: read every pending step's loss at once.
                losses_t = all_reduce_mean(torch.stack(pending), self.dist)
                losses = losses_t.tolist()
                dt = time.perf_counter() - t0
                self._train_time += dt
                tok_s = (self._train_tokens - tokens0) / max(dt, 1e-9)
                self._check_finite(losses, it - len(losses) + 1)
                if self._compile_pending:
                    # On a CPU, process time per thread: a busy shared machine slows the steps
                    # and the compilation alike, so wall-clock would over-sell compiling.
                    if self.device.type == "cpu":
                        cpu_s = time.process_time() - cpu0
                        step_s = cpu_s / torch.get_num_threads() / len(losses)
                    else:
                        step_s = dt / len(losses)
                    self._decide_compile(step_s, cfg.max_iters - it)
                pending.clear()
                train_loss = sum(losses) / len(losses)
                val = self.evaluate() if do_eval else None
                if val is not None and not math.isfinite(val):
                    self._check_finite([val], it)
                lr = self.schedule(it - 1)
                self._log(self._entry(it, train_loss, val, tok_s, lr=lr))
                bar.set_postfix(
                    loss=f"{train_loss:.4f}", **({"val": f"{val:.4f}"} if val is not None else {})
                )
                if do_eval:
                    if val is not None:
                        self.best_val_loss = min(self.best_val_loss, val)
                    self.save_checkpoint()
                t0 = time.perf_counter()
                cpu0 = time.process_time()
                tokens0 = self._train_tokens
        finally:
            bar.close()
        return self.history

    def _entry(
        self,
        it: int,
        train_loss: float | None,
        val: float | None,
        tok_s: float,
        lr: float | None = None,
    ) -> dict[str, Any]:
        return {
            "iter": it,
            "train_loss": train_loss,
            "val_loss": val,
            "lr": lr if lr is not None else self.schedule(0),
            "tokens_per_sec": tok_s,
            "wall_time_s": time.perf_counter() - self._t_start,
        }

    def summary(self) -> dict[str, Any]:
        """The run's final numbers: iter, last train/val loss, mean tokens/s, wall time."""
        hist = list(reversed(self.history))
        train = next((e["train_loss"] for e in hist if e["train_loss"] is not None), None)
        val = next((e["val_loss"] for e in hist if e["val_loss"] is not None), None)
        return {
            "iter": self.iter,
            "train_loss": train,
            "val_loss": val,
            "best_val_loss": self.best_val_loss if math.isfinite(self.best_val_loss) else None,
            "tokens_per_sec": self._train_tokens / self._train_time if self._train_time else 0.0,
            "wall_time_s": time.perf_counter() - self._t_start,
        }
