"""Command line: ``python -m lmbook.train PRESET_OR_CONFIG_JSON [--key=value ...]``.

Examples::

    python -m lmbook.train shakespeare-char
    python -m lmbook.train shakespeare-char --max_iters=200 --model.n_layers=2 --out_dir=/tmp/run
    python -m lmbook.train shakespeare-char --resume=true
    torchrun --nproc_per_node=2 -m lmbook.train shakespeare-char-gpu

Training keys are bare (``--lr=3e-4``); model, data and objective keys carry their
section (``--model.dropout=0.1``, ``--data.val_fraction=0.05``,
``--objective.mlm_probability=0.2``). Metrics go to ``out_dir/metrics.jsonl``; the last
line printed is one JSON object with ``iter``, ``train_loss``, ``val_loss``,
``tokens_per_sec`` and ``wall_time_s``.

Introduced in: Chapter 5.2 (long runs from the command line).
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import fields
from importlib import resources
from pathlib import Path
from typing import Any

from lmbook.train.config import TrainConfig, coerce_value

__all__ = ["build_run", "load_recipe", "main", "preset_names", "recipe_texts"]

SECTIONS = ("model", "data", "objective", "train")
DATA_KEYS = {"dataset": str, "tokenizer": str, "val_fraction": float, "max_chars": int | None}
OBJECTIVE_KEYS = {
    "name": str,
    "mlm_probability": float,
    "whole_word": bool,
    "label_smoothing": float,
}
TOKENIZERS = ("char", "wordpiece-minilm")


class RecipeError(ValueError):
    """A preset, config file or command-line override is invalid."""


def preset_names() -> list[str]:
    """Names of the presets shipped in ``lmbook/train/presets``."""
    root = resources.files("lmbook.train") / "presets"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".json"))


def load_recipe(name_or_path: str) -> dict[str, Any]:
    """Read a preset by name, or a JSON file with the same sections."""
    path = Path(name_or_path)
    if name_or_path.endswith(".json") or path.is_file():
        if not path.is_file():
            raise FileNotFoundError(
                f"config file {path} does not exist; pass a preset name "
                f"({', '.join(preset_names())}) or an existing .json file"
            )
        text = path.read_text(encoding="utf-8")
    else:
        if name_or_path not in preset_names():
            raise RecipeError(
                f"unknown preset {name_or_path!r}; choose one of {', '.join(preset_names())} "
                "or pass a path to a .json config"
            )
        text = (resources.files("lmbook.train") / "presets" / f"{name_or_path}.json").read_text(
            encoding="utf-8"
        )
    try:
        recipe = json.loads(text)
    except json.JSONDecodeError as e:
        raise RecipeError(f"{name_or_path} is not valid JSON ({e}); fix the file") from e
    unknown = sorted(set(recipe) - set(SECTIONS) - {"description"})
    if unknown:
        raise RecipeError(
            f"{name_or_path}: unknown section(s) {unknown}; valid sections: {list(SECTIONS)}"
        )
    return {s: dict(recipe.get(s, {})) for s in SECTIONS}


def _model_fields(model_type: str) -> dict[str, Any]:
    from lmbook.models import BertConfig, GPTConfig

    cls = {"gpt": GPTConfig, "bert": BertConfig}.get(model_type)
    if cls is None:
        raise RecipeError(f"model.type must be 'gpt' or 'bert', got {model_type!r}")
    return {"type": str, "preset": str, **{f.name: f.type for f in fields(cls)}}


def valid_keys(recipe: dict[str, Any]) -> list[str]:
    """Every key the command line accepts for this recipe."""
    model = _model_fields(recipe["model"].get("type", "gpt"))
    return (
        TrainConfig.keys()
        + [f"model.{k}" for k in model]
        + [f"data.{k}" for k in DATA_KEYS]
        + [f"objective.{k}" for k in OBJECTIVE_KEYS]
    )


def apply_overrides(recipe: dict[str, Any], args: list[str]) -> dict[str, Any]:
    """Apply ``--key=value`` arguments; unknown keys and bad values raise RecipeError."""
    train_types = {f.name: f.type for f in fields(TrainConfig)}
    model_types = _model_fields(recipe["model"].get("type", "gpt"))
    for arg in args:
        if not arg.startswith("--") or "=" not in arg:
            raise RecipeError(f"cannot read argument {arg!r}; write overrides as --key=value")
        key, text = arg[2:].split("=", 1)
        section, _, name = key.rpartition(".")
        types = {"": train_types, "model": model_types, "data": DATA_KEYS,
                 "objective": OBJECTIVE_KEYS}.get(section)  # fmt: skip
        if types is None or name not in types:
            raise RecipeError(f"unknown key --{key}; valid keys: {', '.join(valid_keys(recipe))}")
        recipe["train" if section == "" else section][name] = coerce_value(key, text, types[name])
    return recipe


def _is_continuation(vocab_size: int, vocab: list[str]):
    import torch

    flags = torch.zeros(vocab_size, dtype=torch.bool)
    flags[: len(vocab)] = torch.tensor([t.startswith("##") for t in vocab])
    return flags


def _data_split(recipe: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    """The recipe's data settings (defaults filled in) and its (train, validation) texts."""
    from lmbook import data

    dcfg = {"dataset": "shakespeare", "tokenizer": "char", "val_fraction": 0.1, "max_chars": None}
    unknown = sorted(set(recipe["data"]) - set(DATA_KEYS))
    if unknown:
        raise RecipeError(f"unknown data key(s) {unknown}; valid: {sorted(DATA_KEYS)}")
    dcfg.update(recipe["data"])
    text = data.load(dcfg["dataset"])
    if isinstance(text, dict) and {"train", "val"} <= set(text):
        # A corpus with its own split (tang-poems-text: by poem); val_fraction does not apply.
        train_text, val_text = text["train"], text["val"]
        if dcfg["max_chars"]:
            train_text = train_text[: dcfg["max_chars"]]
    elif not isinstance(text, str):
        raise RecipeError(
            f"data.dataset {dcfg['dataset']!r} is not a text corpus; "
            "use 'shakespeare-speeches', 'shakespeare' or 'tang-poems-text'"
        )
    else:
        if dcfg["max_chars"]:
            text = text[: dcfg["max_chars"]]
        train_text, val_text = data.train_val_split(text, dcfg["val_fraction"])
    return dcfg, train_text, val_text


def recipe_texts(recipe: dict[str, Any]) -> tuple[str, str]:
    """The (train, validation) texts a recipe trains and validates on, split as ``build_run``
    splits them: a notebook that studies a reference model scores it on this validation text.
    """
    _, train_text, val_text = _data_split(recipe)
    return train_text, val_text


def build_run(recipe: dict[str, Any]) -> dict[str, Any]:
    """Build tokenizer, data sources, model and objective for a recipe.

    Returns:
        dict with ``model``, ``train_data``, ``val_data``, ``objective``, ``tokenizer``,
        ``config`` (a validated :class:`TrainConfig`).
    """
    import torch

    from lmbook import data
    from lmbook.data.batching import LMBlocks, MLMBlocks
    from lmbook.models import BERT, GPT, BertConfig, GPTConfig
    from lmbook.train.objectives import MaskedLM, get_objective

    try:
        config = TrainConfig.from_dict(recipe["train"])
    except TypeError as e:
        raise RecipeError(f"bad training value: {e}") from e
    dcfg, train_text, val_text = _data_split(recipe)
    text = train_text + val_text

    mcfg = dict(recipe["model"])
    model_type = mcfg.pop("type", "gpt")
    preset = mcfg.pop("preset", None)
    ocfg = dict(recipe["objective"])
    objective_name = ocfg.pop("name", "clm" if model_type == "gpt" else "mlm")

    if dcfg["tokenizer"] == "char":
        from lmbook.tokenizers import CharTokenizer

        tokenizer = CharTokenizer.train(text)  # vocabulary of the whole corpus (65-ish chars)
        train_ids = torch.tensor(tokenizer.encode(train_text), dtype=torch.long)
        val_ids = torch.tensor(tokenizer.encode(val_text), dtype=torch.long)
    elif dcfg["tokenizer"] == "wordpiece-minilm":
        from lmbook.tokenizers import WordPieceTokenizer

        vocab_txt = Path(data.load("minilm")) / "vocab.txt"
        tokenizer = WordPieceTokenizer.from_file(vocab_txt, lowercase=True)
        vocab = vocab_txt.read_text(encoding="utf-8").splitlines()
        train_ids = torch.tensor(tokenizer.encode(train_text), dtype=torch.long)
        val_ids = torch.tensor(tokenizer.encode(val_text), dtype=torch.long)
    else:
        raise RecipeError(f"data.tokenizer must be one of {TOKENIZERS}, got {dcfg['tokenizer']!r}")

    vocab_size = tokenizer.vocab_size
    if model_type == "gpt":
        if objective_name != "clm":
            raise RecipeError(f"a GPT trains with objective 'clm', not {objective_name!r}")
        mcfg.setdefault("block_size", config.block_size)
        gcfg = (
            GPTConfig.preset(preset, vocab_size=vocab_size, **mcfg)
            if preset
            else GPTConfig(vocab_size=vocab_size, **mcfg)
        )
        if gcfg.block_size < config.block_size:
            raise RecipeError(
                f"block_size {config.block_size} exceeds the model's context {gcfg.block_size}; "
                "lower --block_size or raise --model.block_size"
            )
        torch.manual_seed(config.seed)
        model = GPT(gcfg)
        train_data, val_data = (
            LMBlocks(train_ids, config.block_size),
            LMBlocks(val_ids, config.block_size),
        )
        objective = get_objective("clm")
    elif model_type == "bert":
        if objective_name != "mlm":
            raise RecipeError(f"the CLI trains BERT with objective 'mlm', not {objective_name!r}")
        if dcfg["tokenizer"] != "wordpiece-minilm":
            raise RecipeError("BERT MLM needs data.tokenizer='wordpiece-minilm'")
        ids = {t: vocab.index(t) for t in ("[CLS]", "[SEP]", "[MASK]", "[PAD]")}
        mcfg.setdefault("pad_id", ids["[PAD]"])
        bcfg = (
            BertConfig.preset(preset, vocab_size=vocab_size, **mcfg)
            if preset
            else BertConfig(vocab_size=vocab_size, **mcfg)
        )
        if bcfg.block_size < config.block_size:
            raise RecipeError(
                f"block_size {config.block_size} exceeds model.block_size {bcfg.block_size}"
            )
        torch.manual_seed(config.seed)
        model = BERT(bcfg)
        cont = _is_continuation(vocab_size, vocab)
        train_data = MLMBlocks(train_ids, config.block_size, ids["[CLS]"], ids["[SEP]"], cont)
        val_data = MLMBlocks(val_ids, config.block_size, ids["[CLS]"], ids["[SEP]"], cont)
        objective = MaskedLM(ids["[MASK]"], vocab_size, **ocfg)
    else:
        raise RecipeError(f"model.type must be 'gpt' or 'bert', got {model_type!r}")
    return {
        "model": model,
        "train_data": train_data,
        "val_data": val_data,
        "objective": objective,
        "tokenizer": tokenizer,
        "config": config,
    }


USAGE = f"""usage: python -m lmbook.train PRESET_OR_CONFIG_JSON [--key=value ...]

presets: {{presets}}
training keys: {", ".join(TrainConfig.keys())}
model/data/objective keys: --model.<field>, --data.<{"|".join(DATA_KEYS)}>,
  --objective.<{"|".join(OBJECTIVE_KEYS)}>
"""


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m lmbook.train`` and the ``lmbook-train`` script."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE.format(presets=", ".join(preset_names())))
        return 0 if argv else 2
    from lmbook.train.checkpoint import CheckpointError
    from lmbook.train.trainer import OutDirError, Trainer, TrainingDivergedError

    # The trainer says what it chose (dtype, compile, optimizer) on this logger: print it.
    say = logging.StreamHandler(sys.stdout)
    say.setFormatter(logging.Formatter("%(message)s"))
    train_logger = logging.getLogger("lmbook.train")
    train_logger.addHandler(say)
    if train_logger.level == logging.NOTSET or train_logger.level > logging.INFO:
        train_logger.setLevel(logging.INFO)
    try:
        recipe = apply_overrides(load_recipe(argv[0]), argv[1:])
        run = build_run(recipe)
        trainer = Trainer(
            run["model"],
            run["config"],
            run["train_data"],
            run["val_data"],
            objective=run["objective"],
            run_config={k: recipe[k] for k in ("model", "data", "objective")},
            on_log=_print_entry,
        )
        trainer.prepare()  # every out_dir check happens before anything is written
        if trainer.is_main and run["config"].out_dir:
            run["tokenizer"].save(Path(run["config"].out_dir) / "tokenizer.json")
        trainer.train()
    except (RecipeError, OutDirError, CheckpointError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except TrainingDivergedError as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    finally:
        train_logger.removeHandler(say)
    if trainer.is_main:
        print(json.dumps(trainer.summary()), flush=True)
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
    return 0


def _print_entry(entry: dict[str, Any]) -> None:
    if entry.get("val_loss") is None:
        return
    train = entry["train_loss"]
    parts = [f"iter {entry['iter']}", f"val {entry['val_loss']:.4f}"]
    if train is not None:
        parts.insert(1, f"train {train:.4f}")
    parts.append(f"{entry['tokens_per_sec']:.0f} tok/s")
    print(" | ".join(parts), flush=True)


if __name__ == "__main__":
    sys.exit(main())
