"""Word2Vec / GloVe in lmbook against gensim's Word2Vec on the Shakespeare corpus.

Trains lmbook's Word2Vec, lmbook's GloVe and gensim's skip-gram Word2Vec (plus a second gensim
run with another seed, the noise floor of every agreement figure) on the same sentences with
the same settings, and prints:

* wall time as ratios to gensim (workers=2), paired runs interleaved, median of the ratios;
* neighbour agreement (top-10 overlap on the 1000 most frequent words) with gensim;
* analogy accuracy (3CosAdd, with coverage: most of Mikolov's questions name modern places and
  things Shakespeare never wrote) and Spearman's rho on WordSim-353 and SimLex-999.

Usage:
    python benchmarks/bench_embeddings.py            # full corpus, 5 epochs, 3 timing pairs
    python benchmarks/bench_embeddings.py --quick    # a third of the corpus, 1 timing pair
    python benchmarks/bench_embeddings.py --threads 1

On a shared, oversubscribed machine use ``--threads 1``: lmbook's minibatch kernels are small,
and when the box is busy OpenMP's barriers between two threads cost far more than the second
thread gains (measured here under load: one SGD step 10-50x slower with 2 threads than with 1).
gensim's 2 workers are independent threads with no such barriers.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from lmbook import data
from lmbook.embeddings import (
    GloVe,
    Word2Vec,
    analogy_accuracy,
    corpus_sentences,
    neighbour_agreement,
    similarity_spearman,
)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="a third of the corpus, one timing pair")
    p.add_argument("--repeats", type=int, default=None, help="timing pairs (default 3, quick 1)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--glove-epochs", type=int, default=None, help="default 25 (quick: 10)")
    # glove's own demo.sh uses x_max=10 for its 17M-token text8 demo; the paper's 100 was set
    # for billions of tokens and, on Shakespeare's 0.9M, down-weights nearly every count.
    p.add_argument("--glove-x-max", type=float, default=10.0, help="GloVe x_max (default 10)")
    p.add_argument("--batch-size", type=int, default=None, help="lmbook Word2Vec batch size")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats = args.repeats or (1 if args.quick else 3)
    glove_epochs = args.glove_epochs or (10 if args.quick else 25)

    from gensim.models import Word2Vec as GensimWord2Vec

    sentences = corpus_sentences(data.load("shakespeare"))
    if args.quick:
        sentences = sentences[: len(sentences) // 3]
    n_tokens = sum(map(len, sentences))
    settings = dict(window=5, negative=5, min_count=5, epochs=args.epochs, sample=1e-3)
    print(
        f"corpus: {len(sentences)} sentences, {n_tokens} tokens; settings {settings}, dim 100; "
        f"torch threads {torch.get_num_threads()}, gensim workers 2"
    )

    def gensim_fit(seed: int) -> tuple[object, float]:
        t = time.perf_counter()
        model = GensimWord2Vec(
            sentences,
            vector_size=100,
            sg=1,
            hs=0,
            workers=2,
            seed=seed,
            window=settings["window"],
            negative=settings["negative"],
            min_count=settings["min_count"],
            epochs=settings["epochs"],
            sample=settings["sample"],
        )
        return model, time.perf_counter() - t

    def lmbook_fit() -> tuple[Word2Vec, float]:
        kwargs = dict(dim=100, seed=0, **settings)
        if args.batch_size:
            kwargs["batch_size"] = args.batch_size
        t = time.perf_counter()
        model = Word2Vec(**kwargs).fit(sentences)
        return model, time.perf_counter() - t

    # Paired, interleaved timing: a busy neighbour slows both sides of a pair alike.
    ratios, g_times, l_times = [], [], []
    for r in range(repeats):
        gensim_model, tg = gensim_fit(seed=0)
        w2v, tl = lmbook_fit()
        ratios.append(tl / tg)
        g_times.append(tg)
        l_times.append(tl)
        print(f"  pair {r + 1}: gensim {tg:.2f}s, lmbook Word2Vec {tl:.2f}s, ratio {tl / tg:.2f}")
    gensim_seed1, _ = gensim_fit(seed=1)
    t = time.perf_counter()
    glove = GloVe(
        dim=100, window=10, min_count=5, epochs=glove_epochs, x_max=args.glove_x_max, seed=0
    ).fit(sentences)
    t_glove = time.perf_counter() - t
    glove_ratio = t_glove / statistics.median(g_times)

    models = {
        "gensim Word2Vec (seed 0)": gensim_model,
        "gensim Word2Vec (seed 1)": gensim_seed1,
        "lmbook Word2Vec": w2v,
        f"lmbook GloVe ({glove_epochs} ep, x_max {args.glove_x_max:g})": glove,
    }
    print()
    print(f"wall time / gensim: Word2Vec {statistics.median(ratios):.2f}x (median of {repeats}),")
    print(
        f"                    GloVe {glove_ratio:.2f}x ({t_glove:.1f}s, {glove.nnz} non-zero "
        f"counts, incl. counting); gensim median {statistics.median(g_times):.2f}s"
    )
    print()
    header = (
        f"{'model':34s} {'nbr@10 vs gensim':>16s} {'analogy acc':>12s} {'coverage':>9s} "
        f"{'WS353 rho':>9s} {'SL999 rho':>9s}"
    )
    print(header)
    print("-" * len(header))
    for name, model in models.items():
        agree = neighbour_agreement(model, gensim_model, topn=10, n_words=1000)
        an = analogy_accuracy(model)
        ws = similarity_spearman(model, "wordsim353")
        sl = similarity_spearman(model, "simlex999")
        agree_s = "(reference)" if model is gensim_model else f"{agree:.3f}"
        print(
            f"{name:34s} {agree_s:>16s} {an.accuracy:>12.3f} {an.coverage:>9.1%} "
            f"{ws.spearman:>9.3f} {sl.spearman:>9.3f}"
        )
    an = analogy_accuracy(w2v)
    print(
        f"\nanalogies answered {an.answered} of {an.answered + an.skipped}; "
        f"WordSim-353 pairs {ws.pairs}, SimLex-999 pairs {sl.pairs} (lmbook vocabulary)"
    )
    print("per-section analogy accuracy (lmbook Word2Vec / gensim seed 0), answered sections:")
    g_an = analogy_accuracy(gensim_model)
    for sec, s in an.sections.items():
        if s["answered"]:
            gs = g_an.sections[sec]
            print(
                f"  {sec:28s} {s['accuracy']:.3f} ({s['answered']:4d})   "
                f"{gs['accuracy']:.3f} ({gs['answered']:4d})"
            )
    for word in ("king", "love", "night"):
        print(f"\n{word!r}")
        for name, model in models.items():
            if name.endswith("(seed 1)"):
                continue
            if hasattr(model, "wv"):
                nbrs = [w for w, _ in model.wv.most_similar(word, topn=8)]
            else:
                nbrs = [w for w, _ in model.most_similar(word, topn=8)]
            print(f"  {name:34s} {' '.join(nbrs)}")


if __name__ == "__main__":
    main()
