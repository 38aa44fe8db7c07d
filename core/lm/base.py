"""The interface the language-model harness sees, for GPTs and n-gram tables alike."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from ..models.base import SavedModel


class LanguageModel(SavedModel):
    """A trained character-level language model over a fixed vocabulary."""

    vocab_size: int
    context_length: int          # characters of history the model can use
    vocab: tuple[str, ...] = ()  # the characters behind the ids, saved with the model when known

    @abstractmethod
    def next_probs(self, contexts: np.ndarray) -> np.ndarray:
        """Next-character probabilities, (B, vocab_size) float64, for contexts of shape (B, L).

        Only the last ``context_length`` ids of each row are used; L may be 0.
        """

    @abstractmethod
    def score(self, ids: np.ndarray) -> tuple[float, float]:
        """Mean negative log2-likelihood per character of ``ids[1:]`` and top-1 accuracy.

        Each character is predicted from the ones before it inside ``ids`` (up to the context
        length), so every model is scored on exactly the same characters.
        """

    def stream(self, contexts: np.ndarray) -> "CharStream":
        """A generation state for B streams starting from ``contexts`` (B, L)."""
        return RecomputeStream(self, contexts)


class CharStream(ABC):
    """B character streams being generated: the next-character distribution, then a push."""

    @abstractmethod
    def probs(self) -> np.ndarray:
        """(B, vocab_size) float64 probabilities of each stream's next character."""

    @abstractmethod
    def push(self, next_ids: np.ndarray) -> None:
        """Append one character id per stream, (B,)."""


class RecomputeStream(CharStream):
    """Asks the model afresh for every character; right for n-grams, whose context is short."""

    def __init__(self, model: LanguageModel, contexts: np.ndarray):
        self.model = model
        keep = model.context_length
        self.contexts = np.asarray(contexts, dtype=np.int64)[:, -keep:] if keep else \
            np.zeros((len(contexts), 0), dtype=np.int64)

    def probs(self) -> np.ndarray:
        return self.model.next_probs(self.contexts)

    def push(self, next_ids: np.ndarray) -> None:
        grown = np.concatenate([self.contexts, np.asarray(next_ids, dtype=np.int64)[:, None]], 1)
        keep = self.model.context_length
        self.contexts = grown[:, -keep:] if keep else grown[:, :0]


def sample_next(p: np.ndarray, temperature: float, rng: np.random.Generator) -> np.ndarray:
    """One id per row of ``p`` (B, vocab), sampled at ``temperature`` (inverse-CDF, seeded)."""
    if temperature != 1.0:  # p ** (1/T), renormalised, computed in log space for stability
        logp = np.log(np.maximum(p, 1e-300)) / temperature
        p = np.exp(logp - logp.max(1, keepdims=True))
    cum = np.cumsum(p, axis=1)
    u = rng.random((len(p), 1)) * cum[:, -1:]
    return np.minimum((cum < u).sum(1), p.shape[1] - 1)


def generate(model: LanguageModel, prompt_ids: np.ndarray, n_chars: int, temperature: float,
             seed: int) -> np.ndarray:
    """Sample ``n_chars`` ids after ``prompt_ids`` (batch 1), seeded; returns only the new ids."""
    rng = np.random.default_rng(seed)
    stream = model.stream(np.asarray(prompt_ids, dtype=np.int64)[None, :])
    out = np.empty(n_chars, dtype=np.int64)
    for i in range(n_chars):
        out[i] = sample_next(stream.probs(), temperature, rng)[0]
        stream.push(out[i:i + 1])
    return out

__all__ = ["CharStream", "LanguageModel", "RecomputeStream", "generate", "sample_next"]
