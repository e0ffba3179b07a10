"""Tests for lmbook.viz: plots return figures; explorers build without a display and redraw."""

from __future__ import annotations

import base64

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from lmbook import viz  # noqa: E402


def _png(box) -> bytes:
    outs = box.output.outputs
    assert len(outs) == 1
    return base64.b64decode(outs[0]["data"]["image/png"])


def teardown_function() -> None:
    plt.close("all")


# ---------------------------------------------------------------- plots
def test_plot_history_skips_missing_keys_and_labels_axes():
    history = [{"step": s, "train_loss": 4.0 - s / 10} for s in range(0, 50, 10)]
    history[2]["val_loss"] = 3.5
    history[4]["val_loss"] = 3.4
    fig = viz.plot_history(history)
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"train_loss", "val_loss"}
    assert list(lines["val_loss"].get_xdata()) == [20, 40]
    assert ax.get_xlabel() == "step" and "loss" in ax.get_ylabel()


def test_plot_history_reads_trainer_entries():
    # The Trainer logs "iter" and leaves val_loss None between evaluations.
    history = [
        {"iter": i, "train_loss": 3.0 - i / 100, "val_loss": None, "lr": 1e-3} for i in range(5)
    ]
    history[0]["val_loss"], history[4]["val_loss"] = 3.2, 2.9
    ax = viz.plot_history(history).axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["val_loss"].get_xdata()) == [0, 4]
    assert ax.get_xlabel() == "iter"


def test_plot_history_rejects_bad_input():
    with pytest.raises(ValueError, match="empty"):
        viz.plot_history([])
    with pytest.raises(ValueError, match="available keys"):
        viz.plot_history([{"step": 1, "loss": 2.0}], keys=["val_loss"])


def test_plot_attention_and_mask_shapes():
    w = torch.softmax(torch.randn(5, 5), dim=-1)
    fig = viz.plot_attention(w, list("abcde"))
    assert fig.axes[0].images[0].get_array().shape == (5, 5)
    with pytest.raises(ValueError, match="labels"):
        viz.plot_attention(w, list("abc"))
    with pytest.raises(ValueError, match="2-D"):
        viz.plot_attention(w[None], list("abcde"))
    m = torch.tril(torch.ones(4, 4, dtype=torch.bool))
    fig = viz.plot_mask(m, labels=list("wxyz"))
    assert (fig.axes[0].images[0].get_array() == m.numpy()).all()


def test_plot_distribution_orders_by_probability():
    p = torch.tensor([0.1, 0.6, 0.3])
    fig = viz.plot_distribution(p, ["a", "b", "c"], top=2)
    ax = fig.axes[0]
    heights = [r.get_height() for r in ax.patches]
    assert heights == pytest.approx([0.6, 0.3])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["b", "c"]


def test_pca_2d_recovers_the_dominant_direction():
    rng = np.random.default_rng(0)
    t = rng.normal(size=200)
    x = np.outer(t, [3.0, 0.0, 4.0]) + 0.01 * rng.normal(size=(200, 3))
    c = viz.pca_2d(x)
    assert c.shape == (200, 2)
    # The first component carries the line's variance (norm 5 per unit of t).
    assert abs(np.corrcoef(c[:, 0], t)[0, 1]) > 0.999
    assert c[:, 0].std() > 100 * c[:, 1].std()


# ---------------------------------------------------------------- explorers
def test_embedding_explorer_static_view_and_callback():
    rng = np.random.default_rng(1)
    vocab = [f"w{i}" for i in range(50)]
    vecs = rng.normal(size=(50, 8)).astype(np.float32)
    vecs[7] = vecs[3] + 0.01  # w7 is w3's nearest neighbour
    box = viz.embedding_explorer(vocab, vecs, word="w3", k=5)
    first = _png(box)
    assert first.startswith(b"\x89PNG")
    assert "w7" in box.table.value.split("</th></tr>")[1].split("</tr>")[0]
    box.controls["word"].value = "w10"  # the observer redraws synchronously
    assert _png(box) != first
    assert "neighbour of w10" in box.table.value
    assert viz.nearest_neighbours(vocab, vecs, "w3", k=1)[0][0] == "w7"
    with pytest.raises(ValueError, match="not in the vocabulary"):
        viz.embedding_explorer(vocab, vecs, word="nope")


def _tiny_bert_and_tokenizer(tmp_path):
    from lmbook.models import BERT, BertConfig
    from lmbook.tokenizers import WordPieceTokenizer

    words = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        "the",
        "cat",
        "sat",
        "on",
        "mat",
        "a",
        "dog",
        "ran",
        ".",
    ]
    vocab_file = tmp_path / "vocab.txt"
    vocab_file.write_text("\n".join(words) + "\n")
    tok = WordPieceTokenizer.from_file(vocab_file, lowercase=True)
    torch.manual_seed(0)
    cfg = BertConfig.preset("tiny", vocab_size=len(words))
    return BERT(cfg).eval(), tok


def test_attention_explorer_builds_and_redraws(tmp_path):
    model, tok = _tiny_bert_and_tokenizer(tmp_path)
    tokens, maps = viz.attention_maps(model, tok, "the cat sat on the mat .")
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    L, H, T, S = maps.shape
    assert T == S == len(tokens) and L == model.config.n_layers
    torch.testing.assert_close(maps.sum(-1), torch.ones(L, H, T))
    box = viz.attention_explorer(model, tok, text="the cat sat on the mat .")
    first = _png(box)
    box.controls["head"].value = -1  # mean over heads
    second = _png(box)
    assert second != first
    box.controls["text"].value = "a dog ran ."
    assert _png(box) != second
    box.controls["text"].value = "   "  # an error message, not an exception
    assert "non-empty" in box.children[2].value


def test_sampling_explorer_distribution_and_sample():
    from lmbook.models import GPT, GPTConfig
    from lmbook.tokenizers import CharTokenizer

    text = "to be or not to be, that is the question"
    tok = CharTokenizer.train(text)
    torch.manual_seed(0)
    model = GPT(GPTConfig.preset("tiny", vocab_size=tok.vocab_size)).eval()
    ids = tok.encode("to be")
    raw, filt = viz.next_token_distribution(model, ids, temperature=0.7, top_k=3)
    assert int((filt > 0).sum()) == 3
    assert float(filt.sum()) == pytest.approx(1.0, abs=1e-5)
    assert float(raw.sum()) == pytest.approx(1.0, abs=1e-5)
    # The kept tokens are the 3 most likely ones under the raw distribution.
    assert set(torch.topk(raw, 3).indices.tolist()) == set(torch.nonzero(filt).flatten().tolist())
    box = viz.sampling_explorer(model, tok, prompt="to be", max_new_tokens=10, seed=1)
    first_png, first_sample = _png(box), box.sample.value
    assert "<pre" in first_sample
    box.controls["top_k"].value = 1  # greedy: only one bar
    assert _png(box) != first_png
    greedy = model.generate(torch.tensor([ids]), max_new_tokens=10, temperature=0.0)
    assert tok.decode(greedy[0, len(ids) :].tolist()) in box.sample.value.replace("&#x27;", "'")
