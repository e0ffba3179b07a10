"""BERT: a bidirectional Transformer encoder with a masked-language-model head.

Reads top to bottom: config -> output container -> MLM head -> model
(token + segment + position embeddings, post-LN blocks, pooler) -> forward.
The blocks are ``lmbook.nn.TransformerBlock(norm_first=False)``, the same class
GPT uses pre-LN. ``lmbook.hf`` loads Hugging Face ``BertModel`` /
``BertForMaskedLM`` / ``BertForPreTraining`` checkpoints (e.g. all-MiniLM-L6-v2) into it.

Introduced in: Chapter 3.1 (the BERT forward pass, step by step).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from lmbook.models.config import ModelConfig, model_config
from lmbook.nn import (
    LearnedPositions,
    PostLNBlock,
    activation,
    count_parameters,
    record_attention,
)
from lmbook.nn.checks import check_key_mask, check_token_ids

__all__ = ["BERT", "BertConfig", "BertOutput"]


@model_config
class BertConfig(ModelConfig):
    """Hyper-parameters of a BERT encoder (defaults: BERT-base, Devlin et al. 2019).

    Presets: "bert-base", "minilm-l6" (all-MiniLM-L6-v2's shape), "tiny" (odd sizes for tests).

    Introduced in: Chapter 3.1.
    """

    vocab_size: int = 30522  # V: WordPiece vocabulary
    block_size: int = 512  # longest sequence (size of the learned position table)
    type_vocab_size: int = 2  # segments: sentence A = 0, sentence B = 1
    n_layers: int = 12  # encoder blocks
    n_heads: int = 12  # attention heads H
    d_model: int = 768  # width D
    d_ff: int = 3072  # feed-forward width
    dropout: float = 0.1  # on embeddings, attention weights and residual branches
    layer_norm_eps: float = 1e-12
    activation: str = "gelu"  # BERT uses the exact (erf) GELU
    pad_id: int = 0  # [PAD]; its embedding row starts at zero and gets no gradient
    add_pooler: bool = True  # tanh(W h_[CLS] + b), the next-sentence-prediction input
    attn_impl: str = "sdpa"  # "sdpa" (fused) or "naive" (readable, returns weights)
    add_nsp_head: bool = False  # Linear(D, 2) on the pooler output: is B the sentence after A?

    POSITIVE: ClassVar = (
        "vocab_size",
        "block_size",
        "type_vocab_size",
        "n_layers",
        "n_heads",
        "d_model",
        "d_ff",
    )
    RENAMED: ClassVar = {"max_position": "block_size", "pad_token_id": "pad_id"}

    def validate(self) -> None:
        super().validate()
        if self.add_nsp_head and not self.add_pooler:
            raise ValueError(
                "BertConfig.add_nsp_head=True needs the pooler (its input is the pooled [CLS] "
                "vector); set add_pooler=True or drop the NSP head"
            )
        if not 0 <= self.pad_id < self.vocab_size:
            raise ValueError(f"BertConfig.pad_id ({self.pad_id}) must be a token id < vocab_size")


BertConfig.PRESETS = {
    "bert-base": dict(),
    "minilm-l6": dict(n_layers=6, n_heads=12, d_model=384, d_ff=1536),
    # Odd sizes so a transposed or mis-sliced weight cannot pass a test by accident.
    "tiny": dict(
        vocab_size=97, block_size=29, type_vocab_size=3, n_layers=2, n_heads=3, d_model=36, d_ff=37
    ),
}


@dataclass
class BertOutput:
    """What :class:`BERT` returns.

    last_hidden_state: (B, T, D) contextual vectors.
    pooler_output: (B, D) tanh-pooled [CLS] vector, or None without a pooler.
    attentions: per-layer (B, H, T, T) weights when asked for, else None.
    """

    last_hidden_state: torch.Tensor
    pooler_output: torch.Tensor | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


class MLMHead(nn.Module):
    """Masked-LM head: dense -> GELU -> LayerNorm -> decoder tied to the token table, + bias.

    Parameters: dense, norm, decoder (weight = tok_emb.weight), bias.
    Shapes: (B, T, D) -> (B, T, V).
    """

    def __init__(self, config: BertConfig, tok_emb: nn.Embedding) -> None:
        super().__init__()
        self.activation = config.activation
        self.dense = nn.Linear(config.d_model, config.d_model)
        self.norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.decoder.weight = tok_emb.weight
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        h = activation(self.activation, self.dense(hidden))  # (B, T, D)
        return self.decoder(self.norm(h)) + self.bias  # (B, T, D) -> (B, T, V)


class BERT(nn.Module):
    """Bidirectional encoder: embeddings, post-LN blocks, optional pooler, MLM head.

    Args:
        config: a :class:`BertConfig`.

    Parameters: tok_emb, pos_emb, seg_emb, emb_norm, drop, blocks, pooler (optional), mlm_head,
    nsp_head (optional, ``config.add_nsp_head``).

    Shapes: input_ids (B, T) -> BertOutput.last_hidden_state (B, T, D).

    Introduced in: Chapter 3.1.
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = c = config
        self.tok_emb = nn.Embedding(c.vocab_size, c.d_model, padding_idx=c.pad_id)
        self.pos_emb = LearnedPositions(c.block_size, c.d_model)
        self.seg_emb = nn.Embedding(c.type_vocab_size, c.d_model)
        self.emb_norm = nn.LayerNorm(c.d_model, eps=c.layer_norm_eps)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(
            PostLNBlock(
                c.d_model,
                c.n_heads,
                c.d_ff,
                dropout=c.dropout,
                activation=c.activation,
                eps=c.layer_norm_eps,
                attn_impl=c.attn_impl,
            )
            for _ in range(c.n_layers)
        )
        self.pooler = nn.Linear(c.d_model, c.d_model) if c.add_pooler else None
        self.mlm_head = MLMHead(c, self.tok_emb)
        # Next-sentence prediction (Devlin et al. 2019, section 3.1, task 2): class 0 = "B
        # follows A", 1 = "B is a random sentence", as in Hugging Face's cls.seq_relationship.
        self.nsp_head = nn.Linear(c.d_model, 2) if c.add_nsp_head else None
        self.mlm_head_loaded = False  # True once lmbook.hf.load_pretrained filled the MLM head
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """BERT initialisation: weights ~ N(0, 0.02), biases 0, LayerNorms identity, [PAD] row 0."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                if module is not self.mlm_head.decoder:  # tied: initialised as tok_emb
                    nn.init.normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, std=0.02)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        nn.init.normal_(self.pos_emb.weight, std=0.02)
        nn.init.zeros_(self.mlm_head.bias)
        with torch.no_grad():
            self.tok_emb.weight[self.config.pad_id].zero_()

    def num_parameters(self) -> int:
        """Number of parameters (the tied decoder counted once)."""
        return count_parameters(self)

    def _check_inputs(self, input_ids, attention_mask, token_type_ids) -> torch.Tensor | None:
        c = self.config
        check_token_ids(input_ids, c.vocab_size, block_size=c.block_size)
        if token_type_ids is not None:
            if tuple(token_type_ids.shape) != tuple(input_ids.shape):
                raise ValueError(
                    f"token_type_ids has shape {tuple(token_type_ids.shape)} but input_ids has "
                    f"shape {tuple(input_ids.shape)}; they must match exactly (one entry per "
                    "token), so build both with the same tokenizer call"
                )
            check_token_ids(token_type_ids, c.type_vocab_size, name="token_type_ids")
        return check_key_mask(attention_mask, input_ids.shape)  # (B, T) -> (B, 1, 1, T)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        return_weights: bool = False,
    ) -> BertOutput:
        """Encode a batch.

        Args:
            input_ids: (B, T) token ids.
            attention_mask: (B, T), 1 for real tokens, 0 for padding (None: all real).
            token_type_ids: (B, T) segment ids (None: all 0).
            return_weights: also return every layer's (B, H, T, T) attention weights.

        Returns:
            :class:`BertOutput`.
        """
        mask = self._check_inputs(input_ids, attention_mask, token_type_ids)  # padded keys hidden
        T = input_ids.shape[1]
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        # Embeddings (Devlin et al. 2019, figure 2): token + segment + position, then LayerNorm.
        x = self.tok_emb(input_ids) + self.seg_emb(token_type_ids) + self.pos_emb(T)  # (B, T, D)
        x = self.drop(self.emb_norm(x))
        with record_attention(self) if return_weights else nullcontext() as maps:
            for block in self.blocks:
                x = block(x, mask=mask)
        pooled = torch.tanh(self.pooler(x[:, 0])) if self.pooler is not None else None  # (B, D)
        attentions = (
            tuple(maps[f"blocks.{i}.attn"][0] for i in range(len(self.blocks)))
            if return_weights
            else None
        )
        return BertOutput(x, pooled, attentions)

    def mlm_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Masked-LM logits from the encoder output: (B, T, D) -> (B, T, V)."""
        return self.mlm_head(hidden)

    def nsp_logits(self, pooled: torch.Tensor) -> torch.Tensor:
        """Next-sentence-prediction logits from the pooled [CLS] vector.

        Args:
            pooled: ``BertOutput.pooler_output``, (B, D).

        Returns:
            (B, 2) logits; class 0 = sentence B follows sentence A, class 1 = B is random
            (Hugging Face's ``seq_relationship_logits``).

        Raises:
            ValueError: the model was built without the head (``add_nsp_head=False``), or
                ``pooled`` is not (B, D).

        Introduced in: Chapter 5.1 (BERT pretraining objectives).
        """
        if self.nsp_head is None:
            raise ValueError(
                "this BERT has no next-sentence-prediction head; build it with "
                "BertConfig(add_nsp_head=True) or load a BertForPreTraining checkpoint"
            )
        if pooled is None or pooled.dim() != 2 or pooled.shape[-1] != self.config.d_model:
            got = None if pooled is None else tuple(pooled.shape)
            raise ValueError(
                f"nsp_logits expects the pooled output (B, {self.config.d_model}), got {got}; "
                "pass bert(...).pooler_output, not last_hidden_state"
            )
        return self.nsp_head(pooled)  # (B, D) -> (B, 2)
