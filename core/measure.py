"""One measurement harness for every model: accuracy, latency, size, parameters, memory.

Torch and scikit-learn models are fed the same float32 arrays through `Classifier.predict`, on
a fixed thread budget, with warm-up calls before timing and enough repeats for stable
percentiles. Every figure is returned with the settings it was measured under.
"""

from __future__ import annotations

import os
import platform
import sys
import time
import tracemalloc
import weakref
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score
from threadpoolctl import threadpool_limits
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from .i18n import retranslate, translate
from .models.base import Classifier
from .models.neural import TorchClassifier
from .specs import MeasureSpec


@dataclass(frozen=True)
class Metrics:
    accuracy: float                # on the held-out split
    f1_macro: float
    latency_ms_p50: float          # one row per call (batch 1)
    latency_ms_p90: float
    latency_ms_p95: float
    latency_ms_p99: float
    latency_repeats: int           # timed batch-1 calls behind the percentiles
    throughput_sps: float          # rows per second at throughput_batch (median call)
    throughput_batch: int
    size_bytes: int                # total bytes of the saved artifact files
    artifact_format: str
    memory_bytes: int              # learned state in memory while loaded
    peak_memory_bytes: int         # memory_bytes + peak working memory of one predict call
    n_params: int
    n_nonzero_params: int
    params_definition: str
    n_threads: int

    def to_dict(self) -> dict:
        return asdict(self)


def how_measured(spec: MeasureSpec, lang: str = "en") -> str:
    """How the figures of a run measured with ``spec`` were obtained, in ``lang``."""
    return translate(lang, "measured.classifier", **spec.to_dict())


# A run stores its how-measured text in English (results.json, the run store, exports); pages and
# reports render it in their language on demand (core.i18n.retranslate).
_HOW_MEASURED_KEYS = ("measured.classifier", "measured.language_model")


def how_measured_in(text: str, lang: str = "en") -> str:
    """A stored how-measured ``text`` in ``lang``; text that no template produced stays as it is."""
    return retranslate(text, lang, _HOW_MEASURED_KEYS)


@contextmanager
def thread_budget(n_threads: int):
    """Pin torch intra-op threads and BLAS/OpenMP pools to ``n_threads`` for the block."""
    before = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        with threadpool_limits(limits=n_threads):
            yield
    finally:
        torch.set_num_threads(before)


def time_calls(fn: Callable[[int], object], spec: MeasureSpec) -> np.ndarray:
    """Milliseconds per call of ``fn(i)`` after warm-up, for at least min_repeats and min_seconds."""
    for i in range(spec.warmup):
        fn(i)
    times: list[float] = []
    start = time.perf_counter()
    i = 0
    while True:
        t0 = time.perf_counter()
        fn(i)
        t1 = time.perf_counter()
        times.append((t1 - t0) * 1e3)
        i += 1
        elapsed = t1 - start
        if (i >= spec.min_repeats and elapsed >= spec.min_seconds) or elapsed >= spec.max_seconds:
            return np.asarray(times)


class _LiveTensorBytes(TorchDispatchMode):
    """Tracks bytes of CPU tensors created inside the block that are still alive, and the peak."""

    def __init__(self):
        super().__init__()
        self.live = 0
        self.peak = 0
        self._storages: dict[int, int] = {}  # storage data_ptr -> bytes, to count views once

    def _release(self, ptr: int) -> None:
        self.live -= self._storages.pop(ptr, 0)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and t.device.type == "cpu":
                storage = t.untyped_storage()
                ptr = storage.data_ptr()
                if ptr and ptr not in self._storages:
                    self._storages[ptr] = storage.nbytes()
                    self.live += storage.nbytes()
                    self.peak = max(self.peak, self.live)
                    weakref.finalize(t, self._release, ptr)
        return out


def working_memory_bytes(model: Classifier, X: np.ndarray) -> int:
    """Peak bytes allocated while predicting ``X`` once (beyond the model's own state)."""
    if isinstance(model, TorchClassifier):
        with _LiveTensorBytes() as tracker:
            model.predict(X)
        return tracker.peak
    tracemalloc.start()
    try:
        model.predict(X)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def evaluate_accuracy(model: Classifier, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    pred = model.predict(X)
    return float(accuracy_score(y, pred)), float(f1_score(y, pred, average="macro", zero_division=0))


def measure(model: Classifier, X_test: np.ndarray, y_test: np.ndarray, spec: MeasureSpec) -> Metrics:
    """Measure one model on the test split with the harness settings in ``spec``."""
    X = np.ascontiguousarray(X_test, dtype=np.float32)
    accuracy, f1 = evaluate_accuracy(model, X, y_test)
    rows = [X[i:i + 1] for i in range(len(X))]
    batch = _tile_rows(X, spec.batch_size)
    with thread_budget(spec.n_threads):
        single = time_calls(lambda i: model.predict(rows[i % len(rows)]), spec)
        batched = time_calls(lambda i: model.predict(batch), spec)
        working = working_memory_bytes(model, batch)
    p50, p90, p95, p99 = np.percentile(single, [50, 90, 95, 99])
    artifact = model.artifact()
    counts = model.param_counts()
    state_bytes = model.memory_bytes()
    return Metrics(
        accuracy=accuracy, f1_macro=f1,
        latency_ms_p50=float(p50), latency_ms_p90=float(p90), latency_ms_p95=float(p95),
        latency_ms_p99=float(p99), latency_repeats=len(single),
        throughput_sps=float(len(batch) / (np.median(batched) / 1e3)), throughput_batch=len(batch),
        size_bytes=sum(len(b) for b in artifact.values()), artifact_format=model.format,
        memory_bytes=state_bytes, peak_memory_bytes=state_bytes + working,
        n_params=counts.total, n_nonzero_params=counts.nonzero, params_definition=counts.definition,
        n_threads=spec.n_threads)


def _tile_rows(X: np.ndarray, n: int) -> np.ndarray:
    """``n`` rows for the throughput batch, repeating the test split if it is smaller."""
    reps = -(-n // len(X))
    return np.ascontiguousarray(np.tile(X, (reps, 1))[:n])


@lru_cache(maxsize=1)
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(n_threads: int | None = None) -> dict:
    """What the figures were measured on: CPU, threads and library versions."""
    import pandas
    import sklearn

    return {
        "cpu": _cpu_model(), "machine": platform.machine(), "n_cores": os.cpu_count(),
        "n_threads": n_threads if n_threads is not None else torch.get_num_threads(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "python": sys.version.split()[0], "platform": platform.platform(),
        "torch": torch.__version__, "scikit-learn": sklearn.__version__, "numpy": np.__version__,
        "pandas": pandas.__version__,
    }
