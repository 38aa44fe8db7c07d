"""The interface the language-model harness sees, for GPTs and n-gram tables alike."""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from ..models.base import SavedModel


class LanguageModel(SavedModel):
    """A trained character-level language model over a fixed vocabulary."""

    vocab_size: int
    context_length: int          # characters of history the model can use

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


def generate(model: LanguageModel, prompt_ids: np.ndarray, n_chars: int, temperature: float,
             seed: int) -> np.ndarray:
    """Sample ``n_chars`` ids after ``prompt_ids`` (batch 1), seeded; returns only the new ids."""
    rng = np.random.default_rng(seed)
    ids = list(int(i) for i in prompt_ids)
    out = []
    for _ in range(n_chars):
        context = np.asarray(ids[-model.context_length:] if model.context_length else [],
                             dtype=np.int64)[None, :]
        p = model.next_probs(context)[0]
        if temperature != 1.0:  # p ** (1/T), renormalised, computed in log space for stability
            logp = np.log(np.maximum(p, 1e-300)) / temperature
            p = np.exp(logp - logp.max())
        p = p / p.sum()
        nxt = int(rng.choice(len(p), p=p))
        ids.append(nxt)
        out.append(nxt)
    return np.asarray(out, dtype=np.int64)


__all__ = ["LanguageModel", "generate"]
