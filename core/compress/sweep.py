"""Sweeps: accuracy against sparsity, bit width and student size, with latency and size measured
by the same harness as every other result. Each returns plain data for a chart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..data import Dataset, load
from ..measure import measure
from ..models.base import Classifier
from ..specs import (CandidateSpec, CastWeights, DatasetSpec, Distill, ExperimentSpec, MeasureSpec,
                     PruneMagnitude, QuantizeDynamic, QuantizeInt4, TinyMLPSpec, TrainSpec)
from ..train.loop import Progress, StopCheck
from . import CompressContext, compress

# Light timing settings for sweeps (many points); results say which settings were used.
SWEEP_MEASURE = MeasureSpec(warmup=3, min_repeats=20, min_seconds=0.2, max_seconds=1.0)


@dataclass(frozen=True)
class SweepPoint:
    sweep: str              # sparsity | bits | student
    series: str             # the curve the point belongs to (e.g. "distilled", "labels-only control")
    label: str              # tick label: "90%", "int8", "64 units"
    x: float                # numeric position: sparsity share, bits, or parameters
    accuracy: float
    latency_ms_p50: float   # batch 1
    throughput_sps: float
    size_bytes: int         # saved artifact
    n_params: int
    n_nonzero_params: int
    n_threads: int

    def to_dict(self) -> dict:
        return asdict(self)


def _point(sweep: str, series: str, label: str, x: float, model: Classifier, data: Dataset,
           spec: MeasureSpec) -> SweepPoint:
    m = measure(model, data.X_test, data.y_test, spec)
    return SweepPoint(sweep, series, label, float(x), m.accuracy, m.latency_ms_p50, m.throughput_sps,
                      m.size_bytes, m.n_params, m.n_nonzero_params, m.n_threads)


def _ctx(data, train, on_progress, should_stop, lo, hi):
    return CompressContext(data, train, lambda f, m: on_progress(lo + (hi - lo) * f, m), should_stop)


def sparsity_sweep(model: Classifier, data: Dataset, train: TrainSpec = TrainSpec(),
                   sparsities: tuple[float, ...] = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95),
                   scope: str = "global", storage: str = "bitmask", fine_tune_epochs: int = 0,
                   measure_spec: MeasureSpec = SWEEP_MEASURE, on_progress: Progress | None = None,
                   should_stop: StopCheck | None = None) -> list[SweepPoint]:
    """Magnitude pruning at each sparsity (0 = the model as given)."""
    on_progress = on_progress or (lambda f, m: None)
    should_stop = should_stop or (lambda: False)
    points = []
    for i, s in enumerate(sparsities):
        if should_stop():
            break
        on_progress(i / len(sparsities), f"sparsity {s:.0%}")
        out = model if s == 0 else compress(model, PruneMagnitude(
            amount=s, scope=scope, storage=storage, fine_tune_epochs=fine_tune_epochs),
            _ctx(data, train, on_progress, should_stop, i / len(sparsities),
                 (i + 0.8) / len(sparsities))).model
        points.append(_point("sparsity", "magnitude", f"{s:.0%}", s, out, data, measure_spec))
    on_progress(1.0, "done")
    return points


BIT_STEPS = (("fp32", 32, None), ("bf16", 16, CastWeights(dtype="bf16")),
             ("int8", 8, QuantizeDynamic()), ("int4", 4, QuantizeInt4(group_size=64)))


def bits_sweep(model: Classifier, data: Dataset, train: TrainSpec = TrainSpec(),
               measure_spec: MeasureSpec = SWEEP_MEASURE, on_progress: Progress | None = None,
               should_stop: StopCheck | None = None) -> list[SweepPoint]:
    """fp32 (as given), bf16 cast, int8 dynamic, int4 weight-only (group 64)."""
    on_progress = on_progress or (lambda f, m: None)
    should_stop = should_stop or (lambda: False)
    points = []
    for i, (label, bits, step) in enumerate(BIT_STEPS):
        if should_stop():
            break
        on_progress(i / len(BIT_STEPS), label)
        ctx = _ctx(data, train, on_progress, should_stop, 0, 0)
        out = model if step is None else compress(model, step, ctx).model
        points.append(_point("bits", "weights", label, bits, out, data, measure_spec))
    on_progress(1.0, "done")
    return points


def student_sweep(teacher: Classifier, data: Dataset, train: TrainSpec = TrainSpec(),
                  widths: tuple[int, ...] = (8, 16, 32, 64, 128), label_fraction: float = 0.1,
                  epochs: int = 40, temperature: float = 4.0, alpha: float = 0.9, seed: int = 0,
                  measure_spec: MeasureSpec = SWEEP_MEASURE, on_progress: Progress | None = None,
                  should_stop: StopCheck | None = None) -> list[SweepPoint]:
    """One-hidden-layer students of each width, distilled and as labels-only controls."""
    on_progress = on_progress or (lambda f, m: None)
    should_stop = should_stop or (lambda: False)
    points = []
    for i, w in enumerate(widths):
        if should_stop():
            break
        on_progress(i / len(widths), f"student of {w} units")
        step = Distill(student=TinyMLPSpec(hidden=(w,)), temperature=temperature, alpha=alpha,
                       epochs=epochs, label_fraction=label_fraction, seed=seed, control=True)
        out = compress(teacher, step, _ctx(data, train, on_progress, should_stop,
                                           i / len(widths), (i + 0.8) / len(widths)))
        n = out.model.param_counts().total
        points.append(_point("student", "distilled", f"{w} units", n, out.model, data, measure_spec))
        for label, companion in out.companions:
            points.append(_point("student", label, f"{w} units", n, companion, data, measure_spec))
    on_progress(1.0, "done")
    return points


SWEEPS = {"sparsity": sparsity_sweep, "bits": bits_sweep, "student": student_sweep}


def run_sweep(kind: str, dataset: DatasetSpec, candidate: CandidateSpec,
              measure_spec: MeasureSpec = SWEEP_MEASURE, on_progress: Progress | None = None,
              should_stop: StopCheck | None = None, cache=None) -> list[SweepPoint]:
    """Train ``candidate`` (or reuse it from ``cache``), then run the ``kind`` sweep on its model."""
    from ..experiment import run  # here: core.experiment imports this package

    if kind not in SWEEPS:
        raise ValueError(f"sweep kind must be one of {', '.join(SWEEPS)}; got {kind!r}")
    on_progress = on_progress or (lambda f, m: None)
    result = run(ExperimentSpec(dataset, (candidate,), measure_spec),
                 lambda f, m: on_progress(0.3 * f, m), should_stop, cache=cache)
    trained = result.results[0]
    if trained.status != "done":
        raise ValueError(f"{candidate.name} did not train: {trained.error}")
    return SWEEPS[kind](trained.model, load(dataset), candidate.train, measure_spec=measure_spec,
                        on_progress=lambda f, m: on_progress(0.3 + 0.7 * f, m), should_stop=should_stop)


__all__ = ["SweepPoint", "SWEEP_MEASURE", "SWEEPS", "sparsity_sweep", "bits_sweep", "student_sweep",
           "run_sweep"]
