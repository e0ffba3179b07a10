import json

import pytest
import torch

from lmbook.train.__main__ import main, preset_names

SMALL = ["--max_iters=4", "--eval_interval=2", "--eval_iters=1", "--log_interval=2",
         "--model.n_layers=1", "--data.max_chars=60000", "--progress=false", "--dtype=float32",
         "--device=cpu"]  # fmt: skip


def _run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_presets_are_shipped():
    shipped = {"shakespeare-char", "shakespeare-char-gpu", "tang-char", "tang-char-gpu", "bert-mlm"}
    assert shipped <= set(preset_names())


@pytest.mark.parametrize("name", ["shakespeare-char-gpu", "tang-char-gpu"])
def test_gpu_presets_build_the_model_they_describe(name):
    # The GPU presets never train in CI; their recipe must still build (nanoGPT's GPU shape).
    from lmbook.train.__main__ import build_run, load_recipe

    run = build_run(load_recipe(name))
    cfg = run["model"].config
    assert (cfg.n_layers, cfg.n_heads, cfg.d_model, cfg.block_size) == (6, 6, 384, 256)
    assert run["config"].block_size == 256 and run["config"].batch_size == 64


def test_unknown_preset_lists_the_presets(capsys):
    code, _, err = _run(capsys, "shakespeare-word")
    assert code == 2 and "unknown preset 'shakespeare-word'" in err and "shakespeare-char" in err


def test_unknown_key_lists_valid_keys(capsys):
    code, _, err = _run(capsys, "shakespeare-char", "--learning_rate=1e-3")
    assert code == 2 and "unknown key --learning_rate" in err
    assert "max_iters" in err and "model.n_layers" in err and "data.val_fraction" in err
    code, _, err = _run(capsys, "shakespeare-char", "--model.n_layer=2")
    assert code == 2 and "unknown key --model.n_layer" in err


def test_bad_values_name_the_key(capsys, tmp_path):
    code, _, err = _run(capsys, "shakespeare-char", "--max_iters=lots")
    assert code == 2 and "--max_iters expects an integer" in err
    code, _, err = _run(capsys, "shakespeare-char", "--compile=maybe")
    assert code == 2 and "compile must be true, false or 'auto', got 'maybe'" in err
    code, _, err = _run(capsys, "shakespeare-char", "--dtype=fp8", f"--out_dir={tmp_path / 'x'}")
    assert code == 2 and "dtype must be one of" in err
    assert not (tmp_path / "x").exists()
    code, _, err = _run(capsys, str(tmp_path / "missing.json"))
    assert code == 2 and "does not exist" in err


def test_resume_without_checkpoint_is_refused(capsys, tmp_path):
    out = tmp_path / "run"
    code, _, err = _run(capsys, "shakespeare-char", *SMALL, f"--out_dir={out}", "--resume=true")
    assert code == 2 and "holds no checkpoint" in err
    assert not out.exists() or not any(out.iterdir())


def test_short_run_resume_and_refusals(capsys, tmp_path):
    out = tmp_path / "run"
    code, stdout, err = _run(capsys, "shakespeare-char", *SMALL, f"--out_dir={out}")
    assert code == 0, err
    final = json.loads(stdout.strip().splitlines()[-1])
    assert {"iter", "train_loss", "val_loss", "tokens_per_sec", "wall_time_s"} <= set(final)
    assert final["iter"] == 4
    # the trainer says what it chose, once, before the first evaluation line
    said = [x for x in stdout.splitlines() if x.startswith("trainer: ")]
    assert len(said) == 2 and "dtype float32 (as configured)" in said[0]  # SMALL: float32
    assert "optimizer AdamW (fused)" in said[0] and said[1].startswith("trainer: compile off")
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [e["iter"] for e in lines] == [0, 2, 4]
    assert (out / "tokenizer.json").is_file()

    snapshot = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    # another model (2 layers) in the same out_dir: refused, nothing touched
    code, _, err = _run(capsys, "shakespeare-char", *SMALL, "--model.n_layers=2",
                        f"--out_dir={out}", "--resume=true")  # fmt: skip
    assert code == 2 and "another model" in err and "n_layers 1 vs 2" in err
    # the same model without resume: refused rather than overwritten
    code, _, err = _run(capsys, "shakespeare-char", *SMALL, f"--out_dir={out}")
    assert code == 2 and "resume=true" in err
    assert snapshot == {p: p.stat().st_mtime_ns for p in out.rglob("*")}

    code, stdout, err = _run(capsys, "shakespeare-char", *SMALL, "--max_iters=6",
                             f"--out_dir={out}", "--resume=true")  # fmt: skip
    assert code == 0, err
    assert json.loads(stdout.strip().splitlines()[-1])["iter"] == 6


@pytest.mark.slow
def test_shakespeare_char_reaches_nanogpt_val_loss(record_property):
    """The done-when run: ``python -m lmbook.train shakespeare-char``, 2000 iterations, 2 threads.

    The run is shared with ``make models``: the reference-model cache holds this CLI run of
    the preset, keyed by the preset, every source file of lmbook and the torch version, so a
    cached run was made by the code under test. When it is missing this test runs the CLI
    now (in a subprocess, 2 torch threads: the lead schedules it beside one nbval worker) and
    fills the cache. Either way the cached weights are re-evaluated here on the same batches.
    """
    from lmbook.train import Trainer
    from lmbook.train.__main__ import build_run, load_recipe
    from lmbook.train.reference import reference_dir, reference_model

    trained_now = not reference_dir("shakespeare-char").is_dir()
    model, _, info = reference_model("shakespeare-char", threads=2)
    record_property("val_loss", info["val_loss"])
    record_property("wall_time_s", info["wall_time_s"])
    record_property("tokens_per_sec", round(info["tokens_per_sec"]))
    print(f"\nshakespeare-char ({'trained now' if trained_now else 'cached CLI run'}, "
          f"{info['threads']} threads, {info['cpu']}): val_loss={info['val_loss']:.4f} "
          f"best={info['best_val_loss']:.4f} tokens/s={info['tokens_per_sec']:.0f} "
          f"wall={info['wall_time_s']:.0f}s; {info['choices']}")  # fmt: skip
    assert info["iter"] == 2000 and info["command"] == "python -m lmbook.train shakespeare-char"
    # nanoGPT reports 1.88 for this recipe on its 1.1 M-char tiny-shakespeare, estimated like
    # here from 20 random validation batches. The preset trains on the same format (speeches
    # only: "SPEAKER:" + lines) drawn from all 38 plays (4.8 M chars, 76 symbols; validation =
    # the last 10%). Measured 2026-11-28: 1.8768 with one thread and with two (equal to 7
    # digits: the run is deterministic on this CPU); over the whole validation split the same
    # model scores 1.890. With biases (bias=True) the estimate was 1.866, full split 1.881.
    assert info["val_loss"] <= 1.88
    # The cached weights are the ones that scored it: the same 20 validation batches again.
    torch.set_num_threads(2)
    try:
        run = build_run(load_recipe("shakespeare-char"))
        cfg = run["config"].replace(out_dir=None, device="cpu", progress=False)
        val = Trainer(model.train(), cfg, run["train_data"], run["val_data"]).evaluate()
    finally:
        torch.set_num_threads(1)
    assert val == pytest.approx(info["val_loss"], abs=1e-4)


def test_bert_mlm_preset_short_run(capsys, tmp_path):
    args = ["--max_iters=3", "--warmup_iters=1", "--eval_interval=3", "--eval_iters=1",
            "--batch_size=4", "--block_size=24", "--data.max_chars=20000", "--model.n_layers=1",
            "--model.d_model=36", "--model.n_heads=3", "--model.d_ff=37", "--progress=false",
            "--device=cpu", f"--out_dir={tmp_path}"]  # fmt: skip
    code, stdout, err = _run(capsys, "bert-mlm", *args)
    assert code == 0, err
    final = json.loads(stdout.strip().splitlines()[-1])
    # a fresh MLM head guesses among 30522 WordPieces: loss near ln(30522) = 10.33
    assert final["iter"] == 3 and 9.0 < final["val_loss"] < 11.0


def test_recipe_texts_is_the_split_build_run_trains_on():
    from lmbook import data
    from lmbook.train.__main__ import load_recipe, recipe_texts

    train_text, val_text = recipe_texts(load_recipe("shakespeare-char"))
    assert (train_text, val_text) == data.train_val_split(data.load("shakespeare-speeches"), 0.1)
    tang = data.load("tang-poems-text")
    assert recipe_texts(load_recipe("tang-char")) == (tang["train"], tang["val"])
