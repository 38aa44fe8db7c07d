"""Transformer building blocks and the FT-Transformer classifier (Gorishniy et al., 2021).

The attention and block classes are shared with the character-level GPT in core/lm/gpt.py; they
keep the number of heads per block variable so that structured head pruning can shrink them.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..specs import FTTransformerSpec

KeyValue = tuple[torch.Tensor, torch.Tensor]  # cached keys and values, each (B, H, positions, hd)


class SelfAttention(nn.Module):
    """Multi-head self-attention with fused q/k/v; optionally causal.

    ``n_head`` may be smaller than ``d_model // head_dim`` after pruning: the inner width is
    ``n_head * head_dim`` and need not equal d_model.
    """

    def __init__(self, d_model: int, n_head: int, head_dim: int, dropout: float = 0.0,
                 causal: bool = False):
        super().__init__()
        self.n_head, self.head_dim, self.causal, self.dropout = n_head, head_dim, causal, dropout
        inner = n_head * head_dim
        self.qkv = nn.Linear(d_model, 3 * inner)
        self.proj = nn.Linear(inner, d_model)
        self.resid_drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, d) -> (B, T, d)
        B, T, _ = x.shape
        # (B, T, 3*H*hd) -> three (B, H, T, hd)
        q, k, v = self.qkv(x).view(B, T, 3, self.n_head, self.head_dim).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal,
                                           dropout_p=self.dropout if self.training else 0.0)
        y = y.transpose(1, 2).reshape(B, T, self.n_head * self.head_dim)  # (B, T, H*hd)
        return self.resid_drop(self.proj(y))

    def forward_cached(self, x: torch.Tensor, past: KeyValue | None) -> tuple[torch.Tensor, KeyValue]:
        """Inference with a key/value cache: a prefill (no ``past``) or one new position.

        Returns the output and the keys/values of every position so far, each (B, H, P+T, hd).
        Only those two cases are needed for generation, and only they map onto
        scaled_dot_product_attention without an explicit mask: a prefill is plainly causal, and a
        single new query may attend to every cached position.
        """
        B, T, _ = x.shape
        if past is not None and T != 1:
            raise ValueError(f"a cached step takes one new position; got {T}")
        q, k, v = self.qkv(x).view(B, T, 3, self.n_head, self.head_dim).permute(2, 0, 3, 1, 4)
        if past is not None:
            k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal and past is None)
        y = y.transpose(1, 2).reshape(B, T, self.n_head * self.head_dim)
        return self.proj(y), (k, v)


class FeedForward(nn.Module):
    def __init__(self, d_model: int, hidden: int, dropout: float = 0.0):
        super().__init__()
        self.fc = nn.Linear(d_model, hidden)
        self.proj = nn.Linear(hidden, d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, d) -> (B, T, d)
        return self.drop(self.proj(F.gelu(self.fc(x))))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(LN(x)), then x + ffn(LN(x))."""

    def __init__(self, d_model: int, n_head: int, ffn_hidden: int, dropout: float = 0.0,
                 causal: bool = False):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = SelfAttention(d_model, n_head, d_model // n_head, dropout, causal)
        self.ln2 = nn.LayerNorm(d_model)
        self.ffn = FeedForward(d_model, ffn_hidden, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.ffn(self.ln2(x))

    def forward_cached(self, x: torch.Tensor, past: KeyValue | None) -> tuple[torch.Tensor, KeyValue]:
        a, kv = self.attn.forward_cached(self.ln1(x), past)
        x = x + a
        return x + self.ffn(self.ln2(x)), kv


class FeatureTokenizer(nn.Module):
    """One token per source column: sum over the column's encoded features of x_f * W_f, plus b.

    A numeric column is one standardised feature, so its token is x * W + b. A categorical
    column arrives one-hot encoded over several features of the same group, so the sum picks the
    embedding row of its level (an unseen level, all zeros, gives the bias alone): an embedding
    lookup written as a matrix product, which needs no separate integer input.
    """

    def __init__(self, groups: tuple[int, ...], d_model: int):
        super().__init__()
        n_tokens = max(groups) + 1
        if sorted(set(groups)) != list(range(n_tokens)):
            raise ValueError(f"feature groups must number the columns 0..{n_tokens - 1}; got {groups}")
        self.n_tokens = n_tokens
        self.register_buffer("groups", torch.tensor(groups, dtype=torch.long), persistent=False)
        self.weight = nn.Parameter(torch.randn(len(groups), d_model) / d_model ** 0.5)  # (F, d)
        self.bias = nn.Parameter(torch.randn(n_tokens, d_model) / d_model ** 0.5)       # (T, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, F) -> (B, T, d)
        contrib = x.unsqueeze(-1) * self.weight                        # (B, F, d)
        tokens = contrib.new_zeros(x.shape[0], self.n_tokens, contrib.shape[-1])
        return tokens.index_add(1, self.groups, contrib) + self.bias


class ImageTokenizer(nn.Module):
    """Patches of an image (rows, squares or single pixels) -> linear embedding + position."""

    def __init__(self, image_shape: tuple[int, int, int], d_model: int, mode: str, patch: int):
        super().__init__()
        c, h, w = image_shape
        self.ph, self.pw = {"rows": (1, w), "pixels": (1, 1), "patches": (patch, patch)}[mode]
        if h % self.ph or w % self.pw:
            raise ValueError(f"FTTransformerSpec.patch_size must divide the image ({h}x{w}); "
                             f"got {patch}")
        self.image_shape = image_shape
        self.n_tokens = (h // self.ph) * (w // self.pw)
        self.embed = nn.Linear(c * self.ph * self.pw, d_model)
        self.pos = nn.Parameter(torch.zeros(self.n_tokens, d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C*H*W) -> (B, T, d)
        c, h, w = self.image_shape
        x = x.reshape(-1, c, h // self.ph, self.ph, w // self.pw, self.pw)
        x = x.permute(0, 2, 4, 1, 3, 5).flatten(3).flatten(1, 2)   # (B, T, C*ph*pw)
        return self.embed(x) + self.pos


class FTTransformer(nn.Module):
    """Tokenizer -> [CLS] + tokens -> pre-norm encoder blocks -> LayerNorm -> head on [CLS]."""

    def __init__(self, tokenizer: nn.Module, n_classes: int, width: int, depth: int, heads: int,
                 ffn_hidden: int, dropout: float):
        super().__init__()
        self.tokenizer = tokenizer
        self.cls = nn.Parameter(torch.randn(1, 1, width) / width ** 0.5)
        self.blocks = nn.ModuleList(Block(width, heads, ffn_hidden, dropout) for _ in range(depth))
        self.ln = nn.LayerNorm(width)
        self.head = nn.Linear(width, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, F) -> (B, classes)
        tokens = self.tokenizer(x)                                       # (B, T, d)
        h = torch.cat([self.cls.expand(len(tokens), -1, -1), tokens], 1)  # (B, 1+T, d)
        for block in self.blocks:
            h = block(h)
        return self.head(F.relu(self.ln(h[:, 0])))


def build_ft_transformer(spec: FTTransformerSpec, n_features: int, n_classes: int,
                         image_shape: tuple[int, int, int] | None,
                         feature_groups: tuple[int, ...] | None = None) -> FTTransformer:
    """The FT-Transformer for a dataset: image tokens when rows are images, else feature tokens.

    ``feature_groups`` maps each encoded feature to its source column (one-hot levels of one
    categorical column share a group); None gives every feature its own token.
    """
    if image_shape is not None and spec.image_tokens != "pixels":
        tokenizer: nn.Module = ImageTokenizer(image_shape, spec.width, spec.image_tokens,
                                              spec.patch_size)
    else:
        groups = tuple(feature_groups) if feature_groups is not None else tuple(range(n_features))
        if len(groups) != n_features:
            raise ValueError(f"feature groups list {len(groups)} features; the data has {n_features}")
        tokenizer = FeatureTokenizer(groups, spec.width)
    hidden = max(1, round(spec.ffn_factor * spec.width))
    return FTTransformer(tokenizer, n_classes, spec.width, spec.depth, spec.heads, hidden, spec.dropout)


def count_ft_params(spec: FTTransformerSpec, n_features: int, n_classes: int,
                    image_shape: tuple[int, int, int] | None = None) -> int:
    """Parameters of the FT-Transformer for a dataset (for preset labels)."""
    with torch.device("meta"):  # no memory or init cost
        module = build_ft_transformer(spec, n_features, n_classes, image_shape)
    return sum(p.numel() for p in module.parameters())


__all__ = ["SelfAttention", "FeedForward", "Block", "FeatureTokenizer", "ImageTokenizer",
           "FTTransformer", "build_ft_transformer", "count_ft_params"]
