"""Generation speed: KV cache vs recomputing, and lmbook greedy vs transformers generate.

One model (6 layers, 6 heads, 384 wide, block 256, vocab 65: nanoGPT's GPU shape), batch 1,
a 32-token prompt, 128 new tokens, greedy, fp32. The transformers GPT-2 gets the same
weights (saved with lmbook.hf.save_pretrained) and decodes with its own KV cache. A fourth
variant decodes with the cache but keeps every weight row-major (lmbook.nn.layout's
reordering switched off): lmbook as it was before issue 13. All variants produce the same
tokens (checked). Rounds interleave the variants; ratios are medians of per-round ratios.
Targets: cache >= 2x faster than no cache (issue 3); lmbook >= 1.3x transformers generate
(issue 13).

Usage:
    python benchmarks/bench_generation.py            # ~1 min
    python benchmarks/bench_generation.py --quick    # smoke test
    python benchmarks/bench_generation.py --threads 1 --cpu-time   # on a busy shared machine
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
from pathlib import Path
from unittest import mock

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    add_clock_argument,
    median_ratio,
    paired_rounds,
    setup_threads,
    use_cpu_time,
)  # noqa: E402

from lmbook.hf import save_pretrained  # noqa: E402
from lmbook.models import GPT, GPTConfig  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke test: 16 new tokens, 1 round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    add_clock_argument(parser)
    args = parser.parse_args()
    clock = use_cpu_time(args.cpu_time)
    if args.quick:
        args.rounds, args.new_tokens = 1, 16
    threads = setup_threads(args.threads)
    print(f"timing: {clock}")
    import transformers

    transformers.logging.set_verbosity_error()
    torch.manual_seed(0)
    # Exact-GELU preset; the reference gets activation_function="gelu" through save_pretrained.
    # GPT-2 checkpoints always have biases, so this copy of the preset keeps them.
    model = GPT(GPTConfig.preset("nanogpt-gpu", vocab_size=65, dropout=0.0, bias=True)).eval()
    with tempfile.TemporaryDirectory() as d:
        save_pretrained(model, d)
        ref = transformers.GPT2LMHeadModel.from_pretrained(d, attn_implementation="sdpa").eval()
    prompt = torch.randint(0, 65, (1, 32), generator=torch.Generator().manual_seed(0))
    n = args.new_tokens

    def lmbook(use_cache):
        return lambda: model.generate(prompt, n, temperature=0.0, use_cache=use_cache)

    def row_major():  # the same cached loop with lmbook.nn.layout's reordering switched off
        with mock.patch("lmbook.models.gpt.decoding_layout", lambda m, s: contextlib.nullcontext()):
            return lmbook(True)()

    def hf():
        with torch.no_grad():
            return ref.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=n,
                                min_new_tokens=n, do_sample=False, pad_token_id=0)  # fmt: skip

    variants = {"cache": lmbook(True), "no cache": lmbook(False), "row-major": row_major,
                "transformers": hf}  # fmt: skip
    outs = {name: run() for name, run in variants.items()}  # also the warm-up (layout probes)
    same = all(torch.equal(outs["cache"], o) for o in outs.values())
    times = paired_rounds(variants, args.rounds)
    print(f"greedy generation, 6L/6H/384, prompt 32, {n} new tokens, batch 1, fp32, "
          f"{threads} threads, {args.rounds} rounds; identical tokens: {same}")  # fmt: skip
    for name, ts in times.items():
        print(f"  {name:13s} {n / statistics.median(ts):8.1f} tokens/s (median)")
    print(
        f"RATIO KV cache vs no cache: {median_ratio(times['no cache'], times['cache']):.2f}x "
        "(target >= 2x)"
    )
    print(
        f"RATIO decoding layout vs row-major weights: "
        f"{median_ratio(times['row-major'], times['cache']):.2f}x"
    )
    print(
        f"RATIO lmbook cached greedy vs transformers generate: "
        f"{median_ratio(times['transformers'], times['cache']):.2f}x (target >= 1.3x); "
        f"row-major: {median_ratio(times['transformers'], times['row-major']):.2f}x"
    )


if __name__ == "__main__":
    main()
