"""A BERT encoder for inference in plain torch, so that scoring starts without importing transformers.

Importing transformers (and, through it, torch.distributed, torch._dynamo and scipy) costs more
than two seconds, longer than scoring an article. Scoring only needs BERT's forward pass, which is
small: embeddings, then per layer self-attention and a GELU feed-forward block, each with a residual
connection and LayerNorm (post-norm). The modules carry transformers' BertModel names, so that
BertModel's weights load into it unchanged; a test holds its outputs to transformers' own on the
same weights. Training, and encoders of any other architecture, use transformers (modeling.py).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

# What this encoder implements; a config asking for anything else is loaded through transformers.
SUPPORTED = {"model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "absolute"}


def supports(config: Mapping[str, Any]) -> bool:
    """Whether an encoder config (transformers' BertConfig as a dict) can run on this encoder."""
    return all(config.get(k, v if k == "position_embedding_type" else None) == v for k, v in SUPPORTED.items())


class _Embeddings(nn.Module):
    def __init__(self, c: Mapping[str, Any]) -> None:
        super().__init__()
        h = c["hidden_size"]
        # Given an uninitialised weight, nn.Embedding skips its random normal_ init: on the meta device
        # (loading.py) that init imports torch._dynamo, seconds of start-up for values overwritten anyway.
        self.word_embeddings = nn.Embedding(c["vocab_size"], h, padding_idx=c.get("pad_token_id"),
                                            _weight=torch.empty(c["vocab_size"], h))
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], h,
                                                _weight=torch.empty(c["max_position_embeddings"], h))
        self.token_type_embeddings = nn.Embedding(c.get("type_vocab_size", 2), h,
                                                  _weight=torch.empty(c.get("type_vocab_size", 2), h))
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c.get("layer_norm_eps", 1e-12))

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        # One segment: token type 0 everywhere, as redflags scores single sentences.
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions) + self.token_type_embeddings.weight[0]
        return self.LayerNorm(x)


class _SelfAttention(nn.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)


class _Output(nn.Module):
    def __init__(self, n_in: int, n_out: int, eps: float) -> None:
        super().__init__()
        self.dense = nn.Linear(n_in, n_out)
        self.LayerNorm = nn.LayerNorm(n_out, eps=eps)


class _Attention(nn.Module):
    def __init__(self, hidden: int, eps: float) -> None:
        super().__init__()
        self.self = _SelfAttention(hidden)
        self.output = _Output(hidden, hidden, eps)


class _Intermediate(nn.Module):
    def __init__(self, hidden: int, inner: int) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden, inner)


class _Layer(nn.Module):
    def __init__(self, c: Mapping[str, Any]) -> None:
        super().__init__()
        h, eps = c["hidden_size"], c.get("layer_norm_eps", 1e-12)
        self.heads = c["num_attention_heads"]
        self.attention = _Attention(h, eps)
        self.intermediate = _Intermediate(h, c["intermediate_size"])
        self.output = _Output(c["intermediate_size"], h, eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        att = self.attention.self

        def split(y: torch.Tensor) -> torch.Tensor:  # (B, T, H) -> (B, heads, T, H / heads)
            return y.view(b, t, self.heads, h // self.heads).transpose(1, 2)

        a = F.scaled_dot_product_attention(split(att.query(x)), split(att.key(x)), split(att.value(x)), attn_mask=mask)
        a = a.transpose(1, 2).reshape(b, t, h)
        x = self.attention.output.LayerNorm(x + self.attention.output.dense(a))
        return self.output.LayerNorm(x + self.output.dense(F.gelu(self.intermediate.dense(x))))


class _Encoder(nn.Module):
    def __init__(self, c: Mapping[str, Any]) -> None:
        super().__init__()
        self.layer = nn.ModuleList(_Layer(c) for _ in range(c["num_hidden_layers"]))


class BertEncoder(nn.Module):
    """BERT's encoder (no pooler) for inference: `forward(input_ids, attention_mask).last_hidden_state`.

    Its embeddings start uninitialised: load weights into it before use.
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__()
        if not supports(config):
            raise ValueError(f"BertEncoder runs {SUPPORTED}, got {[config.get(k) for k in SUPPORTED]}")
        self.config = SimpleNamespace(**config)  # (RedflagsModel reads config.hidden_size)
        self.embeddings = _Embeddings(config)
        self.encoder = _Encoder(config)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SimpleNamespace:
        # Boolean mask, True where a key may be attended to: padding is never attended to.
        mask = attention_mask.bool()[:, None, None, :]
        x = self.embeddings(input_ids)
        for layer in self.encoder.layer:
            x = layer(x, mask)
        return SimpleNamespace(last_hidden_state=x)
