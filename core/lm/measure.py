"""One harness for every language model: bits per char, generation latency, size, parameters."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..i18n import translate
from ..measure import thread_budget, time_calls
from ..specs import LMMeasureSpec
from .base import LanguageModel, generate, sample_next
from .corpus import Corpus
from .ngram import bits_to_perplexity


@dataclass(frozen=True)
class LMMetrics:
    bits_per_char: float           # mean -log2 p(next char) on the held-out text
    perplexity: float              # 2 ** bits_per_char (per character)
    accuracy: float                # top-1 next-character accuracy on the held-out text
    n_eval_chars: int
    latency_ms_p50: float          # one generated character at batch 1 (predict + sample)
    latency_ms_p90: float
    latency_ms_p95: float
    latency_ms_p99: float
    latency_repeats: int
    throughput_sps: float          # generated characters per second over throughput_batch streams
    throughput_batch: int
    size_bytes: int                # bytes of the saved artifact files
    artifact_format: str
    memory_bytes: int              # learned state in memory
    n_params: int
    n_nonzero_params: int
    params_definition: str
    n_threads: int

    def to_dict(self) -> dict:
        return asdict(self)


def how_measured(spec: LMMeasureSpec, n_eval: int, lang: str = "en") -> str:
    """How the figures of a language-model run were obtained, in ``lang`` (template in locales/)."""
    return translate(lang, "measured.language_model", n_eval=f"{n_eval:,}", **spec.to_dict())


def eval_ids(corpus: Corpus, spec: LMMeasureSpec) -> np.ndarray:
    return corpus.val_ids[:spec.eval_chars] if spec.eval_chars else corpus.val_ids


def measure_lm(model: LanguageModel, corpus: Corpus, spec: LMMeasureSpec) -> LMMetrics:
    """Measure one language model on the corpus' held-out text with the settings in ``spec``."""
    ids = eval_ids(corpus, spec)
    with thread_budget(spec.n_threads):
        bits, accuracy = model.score(ids)
        L = max(model.context_length, 1)
        source = corpus.val_ids if len(corpus.val_ids) > L + 1 else corpus.train_ids
        starts = np.linspace(0, len(source) - L - 1, spec.batch_size).astype(np.int64)
        contexts = np.stack([source[s:s + L] for s in starts])                  # (batch, L)
        rng = np.random.default_rng(spec.seed)

        def generating(stream):  # one call = one generated character per stream
            def step(_i: int) -> None:
                stream.push(sample_next(stream.probs(), 1.0, rng))
            return step

        # A live stream, as in generation: a GPT's key/value cache fills and is rebuilt as it
        # would be while writing text, so the upper percentiles include those rebuilds.
        single = time_calls(generating(model.stream(contexts[:1])), spec)
        batched = time_calls(generating(model.stream(contexts)), spec)
    p50, p90, p95, p99 = np.percentile(single, [50, 90, 95, 99])
    artifact = model.artifact()
    counts = model.param_counts()
    return LMMetrics(
        bits_per_char=float(bits), perplexity=bits_to_perplexity(bits), accuracy=float(accuracy),
        n_eval_chars=len(ids) - 1,
        latency_ms_p50=float(p50), latency_ms_p90=float(p90), latency_ms_p95=float(p95),
        latency_ms_p99=float(p99), latency_repeats=len(single),
        throughput_sps=float(len(contexts) / (np.median(batched) / 1e3)), throughput_batch=len(contexts),
        size_bytes=sum(len(b) for b in artifact.values()), artifact_format=model.format,
        memory_bytes=model.memory_bytes(), n_params=counts.total, n_nonzero_params=counts.nonzero,
        params_definition=counts.definition, n_threads=spec.n_threads)


def sample_text(model: LanguageModel, corpus: Corpus, spec: LMMeasureSpec) -> str:
    """``spec.sample_chars`` characters sampled after ``spec.prompt`` (seeded, batch 1)."""
    prompt = corpus.encode(spec.prompt)
    with thread_budget(spec.n_threads):
        return corpus.decode(generate(model, prompt, spec.sample_chars, spec.temperature, spec.seed))


__all__ = ["LMMetrics", "eval_ids", "how_measured", "measure_lm", "sample_text"]
