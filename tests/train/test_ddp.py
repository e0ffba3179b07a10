"""Two processes (torchrun, gloo on CPU) give the loss curve of one process."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import torch
    import torch.distributed as dist
    from lmbook.models import GPT, GPTConfig
    from lmbook.train import Trainer, TrainConfig

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = GPT(GPTConfig.preset("tiny"))  # every rank builds the same init (seed 0)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(97, (4000,), generator=g)
    ids[1::2] = (ids[0::2] * 5 + 1) % 97  # learnable pairs
    cfg = TrainConfig(max_iters=12, eval_interval=6, eval_iters=2, log_interval=3,
                      batch_size=8, grad_accum=2, block_size=16, warmup_iters=2, lr=3e-3,
                      dtype="float32", device="cpu", progress=False, out_dir=sys.argv[2])
    trainer = Trainer(model, cfg, ids[:3500], ids[3500:])
    hist = trainer.train()
    if trainer.is_main:
        with open(sys.argv[1], "w") as f:
            json.dump(hist, f)
    if dist.is_initialized():
        dist.destroy_process_group()
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_gloo_processes_match_one_process(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["OMP_NUM_THREADS"] = "1"
    one = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "one.json"), str(tmp_path / "out1")],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert one.returncode == 0, one.stderr[-3000:]
    two = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
         f"--master_port={_free_port()}", str(script), str(tmp_path / "two.json"),
         str(tmp_path / "out2")],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert two.returncode == 0, two.stderr[-3000:]
    h1 = json.loads((tmp_path / "one.json").read_text())
    h2 = json.loads((tmp_path / "two.json").read_text())
    assert [e["iter"] for e in h1] == [e["iter"] for e in h2] == [0, 3, 6, 9, 12]
    for a, b in zip(h1, h2, strict=True):
        for key in ("train_loss", "val_loss"):
            if a[key] is None:
                assert b[key] is None
            else:
                assert b[key] == pytest.approx(a[key], abs=2e-5), (a["iter"], key)
    assert h2[-1]["val_loss"] < h2[0]["val_loss"]  # it did learn
    # only rank 0 wrote: one metrics file, whose lines are the history
    lines = (tmp_path / "out2" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == len(h2)
