"""The one orchestrator: spec -> data -> train -> compress -> measure -> results."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from . import compress as compress_mod
from .data import Dataset, load
from .i18n import translate
from .limits import check_limits
from .measure import Metrics, environment, how_measured, measure
from .models.base import Classifier
from .specs import CandidateSpec, ExperimentSpec, LanguageExperimentSpec, MeasureSpec
from .train import fit_classical, fit_neural
from .train.loop import Progress, StopCheck, TechniqueUnavailable, TrainHistory

log = logging.getLogger(__name__)


@dataclass
class CandidateResult:
    name: str
    family: str                      # large | small | compressed
    kind: str                        # the model kind (a compressed record keeps its parent's)
    status: str = "done"             # done | failed | cancelled | skipped (not runnable here)
    error: str | None = None
    metrics: Metrics | None = None
    train_seconds: float = 0.0       # fit time, or the time the compression steps took
    history: TrainHistory | None = None
    parent: str | None = None
    steps: tuple[dict, ...] = ()     # compression steps applied to the parent, as dicts
    nominal: dict[str, float] = field(default_factory=dict)  # claimed effects (sparsity, bits)
    notes: tuple[str, ...] = ()
    settings: dict = field(default_factory=dict)
    model: Classifier | None = field(default=None, repr=False)
    # Extra models a step produced (distillation's labels-only control), measured and listed
    # right after this one; ``companion_label`` names such a record's role.
    companions: list["CandidateResult"] = field(default_factory=list, repr=False)
    companion_label: str | None = None

    def to_record(self) -> dict[str, Any]:
        """The flat JSON record: identity, every metric with its unit in the name, then details."""
        rec: dict[str, Any] = {"name": self.name, "family": self.family, "kind": self.kind,
                               "status": self.status, "error": self.error, "parent": self.parent,
                               "steps": list(self.steps)}
        if self.metrics is not None:
            rec.update(self.metrics.to_dict())
        rec["train_seconds"] = self.train_seconds
        if self.history is not None:
            rec.update(self._history_fields())
        rec["nominal"] = dict(self.nominal)
        rec["notes"] = list(self.notes)
        rec["settings"] = self.settings
        return rec

    def _history_fields(self) -> dict[str, Any]:
        """Training throughput (its unit in the key) and the per-epoch history."""
        return {"train_throughput_sps": self.history.throughput_sps, "history": self.history.to_dict()}


@dataclass
class ExperimentResult:
    spec: ExperimentSpec
    dataset: dict
    results: list[CandidateResult]
    environment: dict
    how_measured: str
    timings: dict[str, float]        # seconds: data, train, compress, measure, total
    cancelled: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec.to_dict(), "dataset": self.dataset,
                "records": [r.to_record() for r in self.results], "environment": self.environment,
                "how_measured": self.how_measured, "timings": self.timings,
                "cancelled": self.cancelled}

    def by_name(self, name: str) -> CandidateResult:
        return next(r for r in self.results if r.name == name)


class ModelCache:
    """Trained models and their measurements, keyed by what produced them (not by display name).

    Shared by every session of the app, so entries are never mutated: compression works on
    copies. Bounded, least recently used first out.
    """

    def __init__(self, max_entries: int = 48):
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple, Any] = OrderedDict()

    def get(self, key: tuple):
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        return None

    def put(self, key: tuple, value: Any) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def _lineage(candidate: CandidateSpec, by_name: dict[str, CandidateSpec]) -> str:
    """A key for how a candidate's model is made, independent of its display name."""
    if candidate.parent is None:
        train = candidate.train.spec_hash() if candidate.model.is_neural else candidate.train.seed
        return f"{candidate.model.spec_hash()}/{train}"
    steps = ",".join(s.spec_hash() for s in candidate.compress)
    # the derived candidate's training settings drive its fine-tuning and distillation
    return f"{_lineage(by_name[candidate.parent], by_name)}>{steps}/{candidate.train.spec_hash()}"


def run(spec: ExperimentSpec, on_progress: Progress | None = None,
        should_stop: StopCheck | None = None, cache: ModelCache | None = None) -> ExperimentResult:
    """Run every candidate of ``spec`` in order; a failing candidate is recorded, not raised.

    Data problems (`core.data.DataError`) are raised: without data there is nothing to compare.
    A `LanguageExperimentSpec` is handed to the language-modelling runner (core/lm), which
    returns a `core.lm.LanguageResult` with the same shape (results, to_dict()).
    """
    if isinstance(spec, LanguageExperimentSpec):
        from .lm import run_language  # core.lm imports this module (ModelCache)

        return run_language(spec, on_progress, should_stop, cache)
    on_progress = on_progress or (lambda f, m: None)
    should_stop = should_stop or (lambda: False)
    cache = cache if cache is not None else ModelCache()
    timings = {"data": 0.0, "train": 0.0, "compress": 0.0, "measure": 0.0}
    start = time.perf_counter()

    on_progress(0.0, f"loading {spec.dataset.name}")
    data = load(spec.dataset)
    check_limits(spec, data)  # refuse what would take the machine down, before any training
    timings["data"] = time.perf_counter() - start
    data_key = spec.dataset.spec_hash()
    by_name = {c.name: c for c in spec.candidates}
    models: dict[str, Classifier] = {}
    results: list[CandidateResult] = []
    cancelled = False
    n = len(spec.candidates)
    for i, cand in enumerate(spec.candidates):
        if should_stop():
            cancelled = True
            break

        def sub_progress(fraction: float, message: str, i=i, cand=cand) -> None:
            on_progress((i + 0.85 * min(max(fraction, 0.0), 1.0)) / n, f"{cand.name}: {message}")

        key = (data_key, _lineage(cand, by_name))
        try:
            produced = _produce(cand, data, models, _root(cand, by_name).model.kind, cache, key,
                                sub_progress, should_stop, timings)
        except TechniqueUnavailable as exc:  # e.g. fp16 without CUDA: skipped with the reason
            results.append(_failed(cand, by_name, str(exc)))
            results[-1].status = "skipped"
            continue
        except Exception as exc:  # recorded on the candidate; the others still run
            log.exception("candidate %s failed", cand.name)
            results.append(_failed(cand, by_name, str(exc) or type(exc).__name__))
            continue
        if produced.status == "cancelled":
            results.append(produced)
            cancelled = True
            break
        models[cand.name] = produced.model
        on_progress((i + 0.9) / n, f"{cand.name}: measuring")
        for result in [produced, *produced.companions]:
            _measure_into(result, data, spec.measure, cache, key, timings)
            results.append(result)
        on_progress((i + 1) / n, f"{cand.name}: done")
    timings["total"] = time.perf_counter() - start
    return ExperimentResult(spec, data.summary(), results, environment(spec.measure.n_threads),
                            how_measured(spec.measure), timings, cancelled)


def _produce(cand: CandidateSpec, data: Dataset, models: dict[str, Classifier], kind: str,
             cache: ModelCache, key: tuple, progress: Progress, should_stop: StopCheck, timings: dict) -> CandidateResult:
    """Train the candidate's model, or derive it from its parent, using the cache when possible."""
    cached = cache.get(("model",) + key)
    if cached is not None:
        result = _copy_result(cached)
        result.name, result.settings = cand.name, cand.to_dict()
        for companion in result.companions:
            companion.name = f"{cand.name} · {companion.companion_label}"
        progress(1.0, "reused the trained model from the cache")
        return result
    t0 = time.perf_counter()
    if cand.parent is None:
        result = _train(cand, data, progress, should_stop)
        timings["train"] += time.perf_counter() - t0
    else:
        if cand.parent not in models:
            raise ValueError(f"its parent {cand.parent!r} did not produce a model")
        result = _derive(cand, data, models[cand.parent], kind, progress, should_stop)
        timings["compress"] += time.perf_counter() - t0
    if result.status == "done":
        cache.put(("model",) + key, _copy_result(result))
    return result


def _train(cand: CandidateSpec, data: Dataset, progress: Progress, should_stop: StopCheck) -> CandidateResult:
    spec = cand.model
    result = CandidateResult(cand.name, spec.family, spec.kind, settings=cand.to_dict())
    if spec.is_neural:
        model, history = fit_neural(spec, cand.train, data, progress, should_stop)
        result.history, result.train_seconds = history, history.train_seconds
        if history.stop_reason == "cancelled":
            result.status, result.error = "cancelled", history.message
        elif history.message:
            result.notes += (history.message,)
    else:
        progress(0.0, "fitting")
        model, result.train_seconds = fit_classical(spec, data, cand.train.seed)
    result.model = model
    return result


def _derive(cand: CandidateSpec, data: Dataset, parent: Classifier, kind: str, progress: Progress,
            should_stop: StopCheck) -> CandidateResult:
    result = CandidateResult(cand.name, "compressed", kind, parent=cand.parent, steps=tuple(s.to_dict() for s in cand.compress),
                             settings=cand.to_dict())
    model = parent
    companions: list[CandidateResult] = []
    t0 = time.perf_counter()
    for j, step in enumerate(cand.compress):
        def step_progress(f: float, m: str, j=j) -> None:
            progress((j + f) / len(cand.compress), f"{step.kind}: {m}")

        ctx = compress_mod.CompressContext(data, cand.train, step_progress, should_stop)
        out = compress_mod.compress(model, step, ctx)
        model = out.model
        result.nominal.update(out.nominal)
        result.notes += out.notes
        for label, companion in out.companions:
            companions.append(CandidateResult(
                f"{cand.name} · {label}", "compressed", kind, parent=cand.parent,
                steps=result.steps[: j + 1],
                notes=(translate("en", "notes.shown_beside", model=cand.name, label=label),),
                settings=cand.to_dict(), model=companion, companion_label=label))
        if should_stop():
            result.status = "cancelled"
            result.error = translate("en", "notes.stopped_compressing")
            break
    result.train_seconds = time.perf_counter() - t0
    result.model, result.companions = model, companions
    return result


def _measure_into(result: CandidateResult, data: Dataset, spec: MeasureSpec, cache: ModelCache,
                  key: tuple, timings: dict) -> None:
    mkey = ("metrics", spec.spec_hash(), result.companion_label) + key
    cached = cache.get(mkey)
    t0 = time.perf_counter()
    result.metrics = cached if cached is not None else measure(result.model, data.X_test, data.y_test, spec)
    timings["measure"] += time.perf_counter() - t0
    cache.put(mkey, result.metrics)


def _copy_result(result: CandidateResult) -> CandidateResult:
    """A shallow copy whose model object is shared (models are never mutated after training)."""
    clone = CandidateResult(**{f: getattr(result, f) for f in result.__dataclass_fields__})
    clone.nominal, clone.notes = dict(result.nominal), tuple(result.notes)
    clone.companions = [_copy_result(c) for c in result.companions]
    return clone


def _root(cand: CandidateSpec, by_name: dict[str, CandidateSpec]) -> CandidateSpec:
    while cand.parent is not None:
        cand = by_name[cand.parent]
    return cand


def _failed(cand: CandidateSpec, by_name: dict[str, CandidateSpec], message: str) -> CandidateResult:
    return CandidateResult(cand.name, cand.family, _root(cand, by_name).model.kind, status="failed", error=message,
                           parent=cand.parent, steps=tuple(s.to_dict() for s in cand.compress),
                           settings=cand.to_dict())
