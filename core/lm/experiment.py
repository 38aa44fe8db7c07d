"""The language-modelling orchestrator: corpus -> train or compress -> measure -> results."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from ..experiment import CandidateResult, ModelCache
from ..limits import check_language_limits
from ..measure import environment
from ..specs import GPTSpec, LanguageExperimentSpec, LMCandidateSpec, LMTrainSpec, NGramSpec
from ..train.loop import Progress, StopCheck
from .base import LanguageModel
from .compress import LMCompressContext, compress_lm
from .corpus import Corpus, load_corpus
from .gpt import fit_gpt
from .measure import eval_ids, how_measured, measure_lm, sample_text
from .ngram import NGramLanguageModel

log = logging.getLogger(__name__)


@dataclass
class LMCandidateResult(CandidateResult):
    """A language model's record: the classifier record's fields, plus the generated sample.

    ``kind`` is gpt | ngram; ``metrics`` are LMMetrics, ``history`` an LMHistory, ``model`` a
    LanguageModel.
    """

    sample: str = ""                 # generated from the shared prompt

    def to_record(self) -> dict[str, Any]:
        return {**super().to_record(), "sample": self.sample}

    def _history_fields(self) -> dict[str, Any]:
        return {"train_throughput_chars_per_s": self.history.throughput_chars_per_s,
                "history": self.history.to_dict()}


@dataclass
class LanguageResult:
    spec: LanguageExperimentSpec
    corpus: dict
    results: list[LMCandidateResult]
    environment: dict
    how_measured: str
    timings: dict[str, float]
    cancelled: bool = False

    def to_dict(self) -> dict[str, Any]:
        # "dataset" repeats the corpus summary for readers (the run store) that expect one
        return {"task": "language_model", "spec": self.spec.to_dict(), "corpus": self.corpus,
                "dataset": self.corpus,
                "records": [r.to_record() for r in self.results], "environment": self.environment,
                "how_measured": self.how_measured, "timings": self.timings, "cancelled": self.cancelled}

    def by_name(self, name: str) -> LMCandidateResult:
        return next(r for r in self.results if r.name == name)

    def table(self) -> str:
        """A plain-text table of the records (the CLI prints it)."""
        head = (f"{'name':<26} {'family':<10} {'bits/char':>9} {'ppl':>6} {'ms/char':>8} "
                f"{'chars/s':>9} {'size KB':>9} {'params':>10} {'train s':>8}")
        lines = [head, "-" * len(head)]
        for r in self.results:
            if r.metrics is None:
                lines.append(f"{r.name:<26} {r.family:<10} {r.status}: {r.error}")
                continue
            m = r.metrics
            lines.append(f"{r.name:<26} {r.family:<10} {m.bits_per_char:>9.3f} {m.perplexity:>6.2f} "
                         f"{m.latency_ms_p50:>8.3f} {m.throughput_sps:>9.0f} {m.size_bytes / 1024:>9.1f} "
                         f"{m.n_params:>10,} {r.train_seconds:>8.1f}")
        return "\n".join(lines)


def _lineage(c: LMCandidateSpec, by_name: dict[str, LMCandidateSpec]) -> str:
    if c.parent is None:
        train = c.train.spec_hash() if c.model.is_neural else ""
        return f"{c.model.spec_hash()}/{train}"
    return f"{_lineage(by_name[c.parent], by_name)}>{','.join(s.spec_hash() for s in c.compress)}"


def _root(c: LMCandidateSpec, by_name: dict[str, LMCandidateSpec]) -> LMCandidateSpec:
    while c.parent is not None:
        c = by_name[c.parent]
    return c


def _root_kind(c: LMCandidateSpec, by_name: dict[str, LMCandidateSpec]) -> str:
    return _root(c, by_name).model.kind


def run_language(spec: LanguageExperimentSpec, on_progress: Progress | None = None,
                 should_stop: StopCheck | None = None, cache: ModelCache | None = None) -> LanguageResult:
    """Train or derive every candidate in order and measure it; a failing one is recorded.

    Corpus problems (`core.data.DataError`) are raised: without text there is nothing to compare.
    """
    on_progress = on_progress or (lambda f, m: None)
    should_stop = should_stop or (lambda: False)
    cache = cache if cache is not None else ModelCache()
    timings = {"data": 0.0, "train": 0.0, "compress": 0.0, "measure": 0.0}
    start = time.perf_counter()
    on_progress(0.0, "loading the corpus")
    corpus = load_corpus(spec.corpus)
    check_language_limits(spec, corpus.vocab_size, len(corpus.train_ids))  # before any training
    timings["data"] = time.perf_counter() - start
    by_name = {c.name: c for c in spec.candidates}
    models: dict[str, LanguageModel] = {}
    results: list[LMCandidateResult] = []
    cancelled = False
    n = len(spec.candidates)
    for i, cand in enumerate(spec.candidates):
        if should_stop():
            cancelled = True
            break

        def sub(fraction: float, message: str, i=i, cand=cand) -> None:
            on_progress((i + 0.85 * min(max(fraction, 0.0), 1.0)) / n, f"{cand.name}: {message}")

        key = (spec.corpus.spec_hash(), _lineage(cand, by_name))
        try:
            root = _root(cand, by_name)
            result = _produce(cand, corpus, models, root.model.kind, root.train, cache, key, sub,
                              should_stop, timings)
        except Exception as exc:  # recorded on the candidate; the others still run
            log.exception("candidate %s failed", cand.name)
            results.append(LMCandidateResult(cand.name, cand.family, _root_kind(cand, by_name),
                                             status="failed", error=str(exc) or type(exc).__name__,
                                             parent=cand.parent, settings=cand.to_dict(),
                                             steps=tuple(s.to_dict() for s in cand.compress)))
            continue
        if result.status == "cancelled":
            results.append(result)
            cancelled = True
            break
        result.model.vocab = corpus.vocab   # saved with the model so that a reload can decode
        models[cand.name] = result.model
        sub(0.9, "measuring")
        t0 = time.perf_counter()
        mkey = ("lm_metrics", spec.measure.spec_hash()) + key
        cached = cache.get(mkey)
        if cached is None:
            cached = (measure_lm(result.model, corpus, spec.measure),
                      sample_text(result.model, corpus, spec.measure))
            cache.put(mkey, cached)
        result.metrics, result.sample = cached
        timings["measure"] += time.perf_counter() - t0
        results.append(result)
        on_progress((i + 1) / n, f"{cand.name}: done")
    timings["total"] = time.perf_counter() - start
    return LanguageResult(spec, corpus.summary(), results, environment(spec.measure.n_threads),
                          how_measured(spec.measure, len(eval_ids(corpus, spec.measure)) - 1),
                          timings, cancelled)


def _produce(cand: LMCandidateSpec, corpus: Corpus, models: dict[str, LanguageModel], kind: str,
             root_train: LMTrainSpec, cache: ModelCache, key: tuple, progress: Progress, should_stop: StopCheck,
             timings: dict) -> LMCandidateResult:
    cached = cache.get(("lm_model",) + key)
    if cached is not None:  # models are never mutated after training, so sharing is safe
        progress(1.0, "reused the trained model from the cache")
        return LMCandidateResult(**{**cached.__dict__, "name": cand.name, "settings": cand.to_dict(),
                                    "metrics": None, "sample": ""})
    t0 = time.perf_counter()
    result = LMCandidateResult(cand.name, cand.family, kind, parent=cand.parent,
                               steps=tuple(s.to_dict() for s in cand.compress), settings=cand.to_dict())
    if cand.parent is None:
        if isinstance(cand.model, GPTSpec):
            model, history = fit_gpt(cand.model, cand.train, corpus.vocab_size, corpus.train_ids,
                                     corpus.val_ids, progress, should_stop)
            result.history, result.train_seconds = history, history.train_seconds
            if history.stop_reason == "cancelled":
                result.status, result.error = "cancelled", history.message
            elif history.message:
                result.notes += (history.message,)
        elif isinstance(cand.model, NGramSpec):
            progress(0.0, "counting n-grams")
            model = NGramLanguageModel.fit(cand.model, corpus.vocab_size, corpus.train_ids)
            result.train_seconds = time.perf_counter() - t0
        else:
            raise ValueError(f"no trainer for language model kind {cand.model.kind!r}")
        timings["train"] += time.perf_counter() - t0
    else:
        if cand.parent not in models:
            raise ValueError(f"its parent {cand.parent!r} did not produce a model")
        model = models[cand.parent]
        for j, step in enumerate(cand.compress):
            def step_progress(f: float, m: str, j=j, step=step) -> None:
                progress((j + f) / len(cand.compress), f"{step.kind}: {m}")

            # fine-tuning and distillation reuse the root model's training settings
            ctx = LMCompressContext(corpus, root_train, step_progress, should_stop)
            out = compress_lm(model, step, ctx)
            model = out.model
            result.nominal.update(out.nominal)
            result.notes += out.notes
        result.train_seconds = time.perf_counter() - t0
        timings["compress"] += result.train_seconds
    result.model = model
    if result.status == "done":
        cache.put(("lm_model",) + key, result)
    return result


__all__ = ["LMCandidateResult", "LanguageResult", "run_language"]
