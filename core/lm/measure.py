"""One harness for every language model: bits per char, generation latency, size, parameters."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..measure import thread_budget, time_calls
from ..specs import LMMeasureSpec
from .base import LanguageModel, generate
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


HOW_MEASURED = (
    "Bits per character: mean -log2 p(next character) over {n_eval} held-out characters (the last "
    "part of the text), each predicted from the characters before it in the held-out text, up to "
    "the model's context (GPT: windows of its block size with half-block stride, so every scored "
    "character sees at least half a block of history). Perplexity = 2^bits per character. "
    "Accuracy: top-1 next-character prediction (n-grams: on an evenly spaced sample of 5,000 "
    "positions). Latency: one generated character at batch 1 (next-character distribution for a "
    "full context of held-out text, then sampling), {warmup} untimed warm-up calls, then at "
    "least {min_repeats} timed calls and at least {min_seconds:g} s (stopping at {max_seconds:g} "
    "s); percentiles of wall-clock time. GPT generation recomputes the whole context window for "
    "every character (no key/value cache). Throughput: {batch_size} independent streams per call, "
    "characters / median call time. {n_threads} torch threads. Size: bytes of the saved files "
    "(GPT: safetensors + JSON, tied embedding stored once; n-gram: safetensors of keys and counts "
    "+ JSON). Parameters of an n-gram model: its stored n-gram and context entries."
)


def how_measured(spec: LMMeasureSpec, n_eval: int) -> str:
    return HOW_MEASURED.format(n_eval=f"{n_eval:,}", **spec.to_dict())


def eval_ids(corpus: Corpus, spec: LMMeasureSpec) -> np.ndarray:
    return corpus.val_ids[:spec.eval_chars] if spec.eval_chars else corpus.val_ids


def measure_lm(model: LanguageModel, corpus: Corpus, spec: LMMeasureSpec) -> LMMetrics:
    """Measure one language model on the corpus' held-out text with the settings in ``spec``."""
    ids = eval_ids(corpus, spec)
    with thread_budget(spec.n_threads):
        bits, accuracy = model.score(ids)
        L = max(model.context_length, 1)
        source = corpus.val_ids if len(corpus.val_ids) > L + 1 else corpus.train_ids
        starts = np.linspace(0, len(source) - L - 1, 64).astype(np.int64)
        contexts = [source[s:s + L][None, :] for s in starts]              # each (1, L)
        rng = np.random.default_rng(spec.seed)
        batch = np.concatenate([contexts[i % len(contexts)] for i in range(spec.batch_size)])

        def step(ctx: np.ndarray) -> None:  # one generated character per stream
            p = model.next_probs(ctx)
            cum = np.cumsum(p, axis=1)
            u = rng.random((len(p), 1)) * cum[:, -1:]
            (cum < u).sum(1)

        single = time_calls(lambda i: step(contexts[i % len(contexts)]), spec)
        batched = time_calls(lambda i: step(batch), spec)
    p50, p90, p95, p99 = np.percentile(single, [50, 90, 95, 99])
    artifact = model.artifact()
    counts = model.param_counts()
    return LMMetrics(
        bits_per_char=float(bits), perplexity=bits_to_perplexity(bits), accuracy=float(accuracy),
        n_eval_chars=len(ids) - 1,
        latency_ms_p50=float(p50), latency_ms_p90=float(p90), latency_ms_p95=float(p95),
        latency_ms_p99=float(p99), latency_repeats=len(single),
        throughput_sps=float(len(batch) / (np.median(batched) / 1e3)), throughput_batch=len(batch),
        size_bytes=sum(len(b) for b in artifact.values()), artifact_format=model.format,
        memory_bytes=model.memory_bytes(), n_params=counts.total, n_nonzero_params=counts.nonzero,
        params_definition=counts.definition, n_threads=spec.n_threads)


def sample_text(model: LanguageModel, corpus: Corpus, spec: LMMeasureSpec) -> str:
    """``spec.sample_chars`` characters sampled after ``spec.prompt`` (seeded, batch 1)."""
    prompt = corpus.encode(spec.prompt)
    with thread_budget(spec.n_threads):
        return corpus.decode(generate(model, prompt, spec.sample_chars, spec.temperature, spec.seed))


__all__ = ["LMMetrics", "eval_ids", "how_measured", "measure_lm", "sample_text"]
