"""Character n-gram models with interpolated Kneser-Ney or interpolated absolute discounting.

Counts are stored as sorted integer keys (an n-gram of ids in base V) so that scoring a whole
text is a handful of vectorised binary searches. For every order k = 1..n:

    p_k(c | h) = (max(N_k(h c) - D_k, 0) + D_k * U_k(h) * p_{k-1}(c | h')) / N_k(h .)

where h' drops the oldest character of h, U_k(h) is the number of distinct characters seen
after h, and p_0 is uniform over the vocabulary. When h was never seen, p_k = p_{k-1}. For
Kneser-Ney the lower orders (k < n) count continuations, N_k(h c) = |{a : a h c seen}|; for
plain interpolation every order uses raw counts. Each level is a convex mix of a discounted
distribution and the level below, so the probabilities sum to one over the vocabulary for
every context (tests/unit/test_lm.py checks it).
"""

from __future__ import annotations

import json
import math

import numpy as np
import torch
from safetensors.torch import save as safetensors_bytes

from ..models.base import ParamCounts
from ..specs import NGramSpec
from .base import LanguageModel


class _Level:
    """Counts of one order k: n-grams of length k and their contexts of length k-1."""

    def __init__(self, gram_keys: np.ndarray, gram_counts: np.ndarray, vocab: int, k: int):
        self.k = k
        self.gram_keys, self.gram_counts = gram_keys, gram_counts.astype(np.float64)
        ctx = gram_keys // vocab                       # drop the last character
        self.ctx_keys, first = np.unique(ctx, return_index=True)
        self.ctx_totals = np.add.reduceat(self.gram_counts, first) if len(first) else np.zeros(0)
        self.ctx_types = np.diff(np.append(first, len(ctx))).astype(np.float64)
        n1 = float((self.gram_counts == 1).sum())
        n2 = float((self.gram_counts == 2).sum())
        # Ney's estimate D = n1 / (n1 + 2 n2), kept inside (0, 1)
        self.discount = min(max(n1 / (n1 + 2 * n2), 0.05), 0.95) if n1 + n2 > 0 else 0.5

    def lookup(self, keys: np.ndarray, table: np.ndarray, values: np.ndarray) -> np.ndarray:
        if len(table) == 0:
            return np.zeros(len(keys))
        pos = np.clip(np.searchsorted(table, keys), 0, len(table) - 1)
        return np.where(table[pos] == keys, values[pos], 0.0)

    def n_entries(self) -> int:
        return len(self.gram_keys) + len(self.ctx_keys)


def _gram_keys(ids: np.ndarray, k: int, vocab: int) -> np.ndarray:
    """Integer key of every length-k window of ``ids``: sum ids[i+j] * V^(k-1-j)."""
    n = len(ids) - k + 1
    key = np.zeros(max(n, 0), dtype=np.int64)
    for j in range(k):
        key = key * vocab + ids[j:j + n]
    return key


class NGramLanguageModel(LanguageModel):
    """Interpolated character n-gram model (see the module docstring for the formula)."""

    def __init__(self, spec: NGramSpec, vocab_size: int, levels: list[_Level]):
        self.spec = spec
        self.vocab_size = vocab_size
        self.context_length = spec.order - 1
        self.levels = levels          # levels[k-1] holds order k
        self.family = spec.family

    @classmethod
    def fit(cls, spec: NGramSpec, vocab_size: int, ids: np.ndarray) -> "NGramLanguageModel":
        if vocab_size ** spec.order >= 2 ** 62:
            raise ValueError(f"NGramSpec.order {spec.order} is too high for a vocabulary of "
                             f"{vocab_size} characters (keys would overflow)")
        ids = np.asarray(ids, dtype=np.int64)
        levels: list[_Level] = []
        for k in range(1, spec.order + 1):
            keys, counts = np.unique(_gram_keys(ids, k, vocab_size), return_counts=True)
            if spec.smoothing == "kneser_ney" and k < spec.order:
                # continuation count of g: distinct characters seen before it
                longer = np.unique(_gram_keys(ids, k + 1, vocab_size))
                keys, counts = np.unique(longer % vocab_size ** k, return_counts=True)
            levels.append(_Level(keys, counts, vocab_size, k))
        return cls(spec, vocab_size, levels)

    def prob(self, contexts: np.ndarray, chars: np.ndarray) -> np.ndarray:
        """p(chars[i] | contexts[i]) for contexts (N, L) and chars (N,), float64.

        Context entries < 0 mean "no character" (the start of the text): a context is only used
        at orders it fully covers.
        """
        contexts = np.asarray(contexts, dtype=np.int64)
        chars = np.asarray(chars, dtype=np.int64)
        V = self.vocab_size
        p = np.full(len(chars), 1.0 / V)
        for level in self.levels:
            h = level.k - 1
            if h > 0:
                if contexts.shape[1] < h:
                    break
                ctx = contexts[:, contexts.shape[1] - h:]
                valid = (ctx >= 0).all(1)
                ctx_key = np.zeros(len(chars), dtype=np.int64)
                for j in range(h):
                    ctx_key = ctx_key * V + np.maximum(ctx[:, j], 0)
            else:
                valid = np.ones(len(chars), dtype=bool)
                ctx_key = np.zeros(len(chars), dtype=np.int64)
            total = level.lookup(ctx_key, level.ctx_keys, level.ctx_totals)
            types = level.lookup(ctx_key, level.ctx_keys, level.ctx_types)
            count = level.lookup(ctx_key * V + chars, level.gram_keys, level.gram_counts)
            D = level.discount
            seen = valid & (total > 0)
            safe = np.where(seen, total, 1.0)
            mixed = (np.maximum(count - D, 0.0) + D * types * p) / safe
            p = np.where(seen, mixed, p)
        return p

    def next_probs(self, contexts: np.ndarray) -> np.ndarray:
        contexts = np.asarray(contexts, dtype=np.int64)
        B, L = contexts.shape
        h = self.context_length
        if L < h:  # pad on the left with "no character"
            contexts = np.concatenate([np.full((B, h - L), -1, dtype=np.int64), contexts], 1)
        ctx = contexts[:, contexts.shape[1] - h:] if h else contexts[:, :0]
        V = self.vocab_size
        rep = np.repeat(ctx, V, axis=0)                          # (B*V, h)
        chars = np.tile(np.arange(V, dtype=np.int64), B)         # (B*V,)
        return self.prob(rep, chars).reshape(B, V)

    def _windows(self, ids: np.ndarray) -> np.ndarray:
        """(len(ids)-1, h) contexts of each target ids[1:], padded with -1 at the start."""
        h = self.context_length
        padded = np.concatenate([np.full(h, -1, dtype=np.int64), ids])
        return np.lib.stride_tricks.sliding_window_view(padded, h)[1:len(ids)] if h else \
            np.zeros((len(ids) - 1, 0), dtype=np.int64)

    def score(self, ids: np.ndarray, chunk: int = 50_000) -> tuple[float, float]:
        ids = np.asarray(ids, dtype=np.int64)
        contexts, targets = self._windows(ids), ids[1:]
        bits, correct = 0.0, 0
        for i in range(0, len(targets), chunk):
            c, t = contexts[i:i + chunk], targets[i:i + chunk]
            bits -= float(np.log2(self.prob(c, t)).sum())
        # top-1 accuracy needs full distributions; use a bounded sample of positions
        idx = np.linspace(0, len(targets) - 1, min(len(targets), 5_000)).astype(np.int64)
        pred = self.next_probs(contexts[idx]).argmax(1)
        correct = float((pred == targets[idx]).mean())
        return bits / len(targets), correct

    def prune(self, min_count: int) -> "NGramLanguageModel":
        """A copy without the contexts (orders >= 2) whose stored total is below ``min_count``."""
        levels = [self.levels[0]]
        V = self.vocab_size
        for level in self.levels[1:]:
            keep_ctx = level.ctx_keys[level.ctx_totals >= min_count]
            keep = np.isin(level.gram_keys // V, keep_ctx)
            new = _Level.__new__(_Level)
            new.k, new.discount = level.k, level.discount  # keep the fitted discount
            new.gram_keys, new.gram_counts = level.gram_keys[keep], level.gram_counts[keep]
            mask = np.isin(level.ctx_keys, keep_ctx)
            new.ctx_keys, new.ctx_totals, new.ctx_types = (level.ctx_keys[mask], level.ctx_totals[mask],
                                                           level.ctx_types[mask])
            levels.append(new)
        pruned = NGramLanguageModel(self.spec, self.vocab_size, levels)
        pruned.vocab = self.vocab
        return pruned

    def artifact(self) -> dict[str, bytes]:
        """Keys and counts of every order (uint32 counts; context totals are recomputed on load
        in principle, but are stored too so that the file alone reproduces the probabilities)."""
        tensors = {}
        for level in self.levels:
            k = level.k
            tensors[f"order{k}.gram_keys"] = torch.from_numpy(level.gram_keys)
            tensors[f"order{k}.gram_counts"] = torch.from_numpy(level.gram_counts.astype(np.int32))
            tensors[f"order{k}.ctx_keys"] = torch.from_numpy(level.ctx_keys)
            tensors[f"order{k}.ctx_totals"] = torch.from_numpy(level.ctx_totals.astype(np.int32))
            tensors[f"order{k}.ctx_types"] = torch.from_numpy(level.ctx_types.astype(np.int32))
        meta = {"spec": self.spec.to_dict(), "vocab_size": self.vocab_size, "family": self.family,
                "discounts": [lv.discount for lv in self.levels]}
        if self.vocab:
            meta["vocab"] = "".join(self.vocab)
        return {"counts.safetensors": safetensors_bytes(tensors),
                "ngram.json": json.dumps(meta, sort_keys=True).encode()}

    def param_counts(self) -> ParamCounts:
        n = sum(level.n_entries() for level in self.levels)
        return ParamCounts(n, n, f"stored counts: n-grams and contexts of orders 1..{self.spec.order}")

    def memory_bytes(self) -> int:
        return sum(a.nbytes for lv in self.levels for a in
                   (lv.gram_keys, lv.gram_counts, lv.ctx_keys, lv.ctx_totals, lv.ctx_types))


def bits_to_perplexity(bits_per_char: float) -> float:
    return float(2.0 ** bits_per_char) if math.isfinite(bits_per_char) else float("inf")


__all__ = ["NGramLanguageModel", "bits_to_perplexity"]
