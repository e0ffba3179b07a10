"""Tokenizer throughput: lmbook's pure-Python tokenizers against the compiled references.

* ``BPETokenizer`` (GPT-2 files) against ``tiktoken``'s ``gpt2`` encoding (Rust), single thread.
* ``WordPieceTokenizer`` (MiniLM's vocab) against ``transformers``' fast tokenizer (Rust
  ``tokenizers``), on one long text and on a batch of lines (the reference may use several
  threads for a batch; ``RAYON_NUM_THREADS`` is left as the user has it).

Each variant runs on the same text in one process, interleaved, ``--repeats`` times; the
figure reported is the median of the per-round ratios (slower / faster), which is robust
to a busy neighbour on a shared machine (DESIGN.md §8). "cold" means a fresh tokenizer
(empty word cache), "warm" a second pass over the same text.

It also says what dominates lmbook's time: the pre-tokenizer regex scan (C, in ``regex``)
versus the Python loop over pieces and the BPE merges.

Run:  python benchmarks/bench_tokenizers.py [--chars 1000000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from lmbook import data
from lmbook.tokenizers import BPETokenizer, WordPieceTokenizer
from lmbook.tokenizers.bpe import GPT2_PATTERN


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chars", type=int, default=1_000_000, help="characters of Shakespeare")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import regex
    import tiktoken
    import transformers
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks

    text = data.load("shakespeare")[: args.chars]
    lines = [line for line in text.split("\n") if line]
    mb = len(text.encode("utf-8")) / 1e6
    print(f"text: {len(text):,} chars ({mb:.2f} MB UTF-8), {len(lines):,} non-empty lines")

    # ---------------------------------------------------------------- BPE vs tiktoken
    files = data.load("gpt2-bpe")
    ranks = data_gym_to_mergeable_bpe_ranks(str(files["vocab.bpe"]), str(files["encoder.json"]))
    enc = tiktoken.Encoding(
        "gpt2-local",
        pat_str=r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s""",
        mergeable_ranks=ranks,
        special_tokens={"<|endoftext|>": 50256},
    )
    assert BPETokenizer.from_files(files["encoder.json"], files["vocab.bpe"]).encode(
        text[:20000]
    ) == enc.encode_ordinary(text[:20000])

    cold, warm, ref, regex_only = [], [], [], []
    pat = regex.compile(GPT2_PATTERN)
    for _ in range(args.repeats):
        tok = BPETokenizer.from_files(files["encoder.json"], files["vocab.bpe"])
        cold.append(_time(lambda: tok.encode_ordinary(text)))  # noqa: B023
        ref.append(_time(lambda: enc.encode_ordinary(text)))
        warm.append(_time(lambda: tok.encode_ordinary(text)))  # noqa: B023
        regex_only.append(_time(lambda: pat.findall(text)))
    med = statistics.median
    print("\nBPE (GPT-2 vocabulary), one long text:")
    print(f"  tiktoken          {mb / med(ref):7.2f} MB/s")
    print(
        f"  lmbook cold cache {mb / med(cold):7.2f} MB/s   ratio {med([c / r for c, r in zip(cold, ref, strict=True)]):5.2f}x slower"
    )
    print(
        f"  lmbook warm cache {mb / med(warm):7.2f} MB/s   ratio {med([w / r for w, r in zip(warm, ref, strict=True)]):5.2f}x slower"
    )
    print(
        f"  of lmbook's warm time, the regex pre-tokenizer scan alone is {med(regex_only) / med(warm):.0%}"
    )

    # ------------------------------------------------------ WordPiece vs transformers fast
    minilm = data.load("minilm")
    hf = transformers.AutoTokenizer.from_pretrained(str(minilm))
    hf.model_max_length = 10**9  # silence the "longer than 512" warning: we only tokenize
    wp = WordPieceTokenizer.from_file(minilm / "vocab.txt")
    assert wp.encode(text[:20000]) == hf(text[:20000], add_special_tokens=False)["input_ids"]
    import tokenizers  # the Rust engine under transformers' fast tokenizer, called directly

    engine = tokenizers.Tokenizer.from_file(str(minilm / "tokenizer.json"))
    engine.no_truncation()
    engine.no_padding()
    w_cold, w_warm, h_long, w_batch, h_batch, norm_only, e_batch = [], [], [], [], [], [], []
    for _ in range(args.repeats):
        wp = WordPieceTokenizer.from_file(minilm / "vocab.txt")
        w_cold.append(_time(lambda: wp.encode(text)))  # noqa: B023
        h_long.append(_time(lambda: hf(text, add_special_tokens=False)["input_ids"]))
        w_warm.append(_time(lambda: wp.encode(text)))  # noqa: B023
        w_batch.append(_time(lambda: wp(lines, padding=False, return_tensors=None)))  # noqa: B023
        h_batch.append(_time(lambda: hf(lines)))
        e_batch.append(_time(lambda: engine.encode_batch(lines)))
        norm_only.append(_time(lambda: wp.normalize(text).split()))  # noqa: B023
    print("\nWordPiece (MiniLM vocabulary):")
    print(f"  transformers fast, one text   {mb / med(h_long):7.2f} MB/s")
    print(
        f"  lmbook cold cache, one text   {mb / med(w_cold):7.2f} MB/s   ratio {med([c / r for c, r in zip(w_cold, h_long, strict=True)]):5.2f}x (lmbook / reference time)"
    )
    print(
        f"  lmbook warm cache, one text   {mb / med(w_warm):7.2f} MB/s   ratio {med([c / r for c, r in zip(w_warm, h_long, strict=True)]):5.2f}x"
    )
    print(f"  transformers fast, batch      {mb / med(h_batch):7.2f} MB/s")
    print(
        f"  lmbook __call__, batch        {mb / med(w_batch):7.2f} MB/s   ratio {med([c / r for c, r in zip(w_batch, h_batch, strict=True)]):5.2f}x"
    )
    print(
        f"  tokenizers engine, encode_batch {mb / med(e_batch):7.2f} MB/s   (lmbook batch / engine: "
        f"{med([c / r for c, r in zip(w_batch, e_batch, strict=True)]):.2f}x)"
    )
    print(f"  of lmbook's warm time, normalize + split alone is {med(norm_only) / med(w_warm):.0%}")


if __name__ == "__main__":
    main()
