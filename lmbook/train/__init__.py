"""Training: the loop, objectives, schedules, checkpoints, several processes, the CLI.

``python -m lmbook.train PRESET_OR_CONFIG_JSON [--key=value ...]`` runs a preset
(``shakespeare-char``, ``shakespeare-char-gpu``, ``bert-mlm``) from the command line;
``reference_model("shakespeare-char")`` loads that run from the cache ``make models`` fills.

Introduced in: Chapter 5.
"""

from lmbook.train.checkpoint import (
    Checkpoint,
    CheckpointError,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from lmbook.train.choices import configure_optimizer
from lmbook.train.config import TrainConfig
from lmbook.train.objectives import (
    IGNORE_INDEX,
    CausalLM,
    Classification,
    MaskedLM,
    Objective,
    Seq2Seq,
    classification_loss,
    clm_loss,
    get_objective,
    mlm_loss,
    mlm_mask,
    seq2seq_loss,
    teacher_forcing,
    word_ids_from_continuation,
)
from lmbook.train.schedule import WarmupCosine, warmup_cosine_lr
from lmbook.train.sources import Examples, MLMBlocks, PadToLongest, TokenBlocks, as_source
from lmbook.train.trainer import OutDirError, Trainer, TrainingDivergedError

__all__ = [
    "IGNORE_INDEX",
    "CausalLM",
    "Checkpoint",
    "CheckpointError",
    "Classification",
    "Examples",
    "MLMBlocks",
    "MaskedLM",
    "Objective",
    "OutDirError",
    "PadToLongest",
    "Seq2Seq",
    "TokenBlocks",
    "TrainConfig",
    "Trainer",
    "TrainingDivergedError",
    "WarmupCosine",
    "as_source",
    "classification_loss",
    "clm_loss",
    "configure_optimizer",
    "get_objective",
    "latest_checkpoint",
    "load_checkpoint",
    "mlm_loss",
    "mlm_mask",
    "save_checkpoint",
    "seq2seq_loss",
    "teacher_forcing",
    "warmup_cosine_lr",
    "word_ids_from_continuation",
    "reference_model",
]


def __getattr__(name: str):
    # Imported on first use: lmbook.train.reference imports the CLI module (lmbook.train.__main__),
    # which `python -m lmbook.train` must be the first to import.
    if name == "reference_model":
        from lmbook.train.reference import reference_model

        return reference_model
    raise AttributeError(f"module 'lmbook.train' has no attribute {name!r}")
