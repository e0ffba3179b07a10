"""n-gram language models on Shakespeare: held-out perplexity, fit time, sparsity.

Fits ``lmbook.models.NGramLM`` on the first 90% of the corpus and scores the last 10%
(``data.train_val_split``), at character level for n = 1..N and at word level for
n = 1..4, with interpolated modified Kneser-Ney and add-k. Prints, per order, the validation
perplexity, the ratio to the uniform model's perplexity (the vocabulary size), the fit and
scoring times (wall clock; "fit cpu" is the process CPU time, which a busy shared machine
does not inflate), and the fraction of validation n-grams never seen in training.

    python benchmarks/bench_ngram.py            # char n = 1..6, word n = 1..4
    python benchmarks/bench_ngram.py --max-n 5 --no-words

Introduced in: Chapter 1 (from counts to neural language models).
"""

from __future__ import annotations

import argparse
import re
import time

from lmbook import data
from lmbook.models.ngram import NGramLM

_WORD = re.compile(r"[A-Za-z']+|[.,;:!?]")


def run(train, val, orders, smoothings, label: str) -> None:
    print(f"\n{label}: {len(train):,} train / {len(val):,} validation tokens")
    print(f"{'smoothing':>10} {'n':>2} {'ppl':>9} {'ppl/V':>7} {'fit s':>6} {'fit cpu':>7} {'score s':>7} "
          f"{'n-grams':>9} {'unseen':>7}")  # fmt: skip
    for smoothing in smoothings:
        for n in orders:
            t0, c0 = time.perf_counter(), time.process_time()
            lm = NGramLM(n, smoothing=smoothing, k=0.01).fit([train])
            fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
            t0 = time.perf_counter()
            ppl = lm.perplexity(val)
            score_s = time.perf_counter() - t0
            unseen = lm.sparsity([val])[-1].test_unseen
            print(f"{smoothing:>10} {n:>2} {ppl:9.3f} {ppl / lm.vocab_size:7.4f} {fit_s:6.2f} "
                  f"{fit_cpu:7.2f} {score_s:7.2f} {lm.num_ngrams():9,} {unseen:7.1%}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-n", type=int, default=6, help="largest character order")
    parser.add_argument("--no-words", action="store_true", help="skip the word-level runs")
    args = parser.parse_args()
    text = data.load("shakespeare")
    train, val = data.train_val_split(text, 0.1)
    run(train, val, range(1, args.max_n + 1), ("kneser_ney", "add_k"), "characters")
    if not args.no_words:
        words = _WORD.findall(text.lower())
        wtrain, wval = data.train_val_split(words, 0.1)
        run(wtrain, wval, range(1, 5), ("kneser_ney", "add_k"), "words (lower-cased)")


if __name__ == "__main__":
    main()
