"""Compression: one verb, `compress(model, step, context)`, dispatched on the step's type.

Handlers register themselves with `@handles(StepType)`; they receive a private deep copy of the
model, so the caller's model (possibly shared by every session of the app) is never changed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

from ..data import Dataset
from ..models.base import Classifier
from ..specs import CompressStep, TrainSpec
from ..train.loop import Progress, StopCheck


@dataclass(frozen=True)
class CompressContext:
    data: Dataset                      # training split for calibration, fine-tuning, distillation
    train: TrainSpec                   # the parent's training settings (fine-tuning reuses them)
    on_progress: Progress = lambda fraction, message: None
    should_stop: StopCheck = lambda: False


@dataclass(frozen=True)
class Compressed:
    model: Classifier
    # Nominal effects claimed by the technique (e.g. {"sparsity": 0.9}, {"bits": 4}); the
    # realised ones (size, latency) are measured by the harness, never taken from here.
    nominal: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    # Extra models to measure beside the result, by label: e.g. distillation's labels-only control.
    companions: tuple[tuple[str, Classifier], ...] = ()


Handler = Callable[[Classifier, CompressStep, CompressContext], Compressed]
HANDLERS: dict[type, Handler] = {}


def handles(step_type: type):
    """Register the decorated function as the handler for ``step_type``."""

    def register(fn: Handler) -> Handler:
        HANDLERS[step_type] = fn
        return fn

    return register


def compress(model: Classifier, step: CompressStep, context: CompressContext) -> Compressed:
    """Apply one compression step to a copy of ``model``."""
    for cls in type(step).__mro__:
        if cls in HANDLERS:
            return HANDLERS[cls](copy.deepcopy(model), step, context)
    raise ValueError(f"No compression handler for {type(step).__name__}; "
                     f"available: {', '.join(t.__name__ for t in HANDLERS) or 'none'}")


# Handler modules register themselves on import (they need the names above, hence at the end).
from . import classical, distill, prune, quantize  # noqa: E402,F401
from .formats import load_classifier  # noqa: E402
from .summary import WeightHistogram, summarise, weight_histogram  # noqa: E402
from .sweep import SweepPoint, bits_sweep, run_sweep, sparsity_sweep, student_sweep  # noqa: E402

__all__ = ["CompressContext", "Compressed", "HANDLERS", "compress", "handles", "load_classifier",
           "summarise", "WeightHistogram", "weight_histogram", "SweepPoint", "bits_sweep",
           "run_sweep", "sparsity_sweep", "student_sweep"]
