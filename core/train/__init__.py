"""Training: turns a model spec and a dataset into a trained `Classifier`."""

from __future__ import annotations

import time
from typing import Callable

import torch

from ..data import Dataset
from ..models import SklearnClassifier, TorchClassifier, build_module, make_estimator
from ..specs import ModelSpec, TrainSpec
from .ddp import train_ddp, train_local_sgd
from .hogwild import train_hogwild
from .loop import (EpochRecord, Progress, StopCheck, TechniqueUnavailable, TrainHistory,
                   TrainingDiverged, evaluate, train_module)

# How a torch module is trained, by TrainSpec.parallel. Each entry has train_module's signature
# (module, X, y, spec, on_progress, should_stop) and trains the module in place.
PARALLEL_TRAINERS: dict[str, Callable[..., TrainHistory]] = {
    "single": train_module, "ddp": train_ddp, "hogwild": train_hogwild, "local_sgd": train_local_sgd}


def fit_neural(spec: ModelSpec, train: TrainSpec, data: Dataset, on_progress: Progress | None = None,
               should_stop: StopCheck | None = None) -> tuple[TorchClassifier, TrainHistory]:
    """Build the network with a seeded initialisation and train it as ``train`` says."""
    torch.manual_seed(train.seed)
    groups = getattr(data, "feature_groups", None)
    module = build_module(spec, data.n_features, data.n_classes, data.image_shape, groups)
    trainer = PARALLEL_TRAINERS.get(train.parallel)
    if trainer is None:
        raise ValueError(f"TrainSpec.parallel {train.parallel!r} is not available here; "
                         f"available: {', '.join(PARALLEL_TRAINERS)}")
    history = trainer(module, data.X_train, data.y_train, train, on_progress, should_stop)
    arch = {"spec": spec.to_dict(), "n_features": data.n_features, "n_classes": data.n_classes,
            "image_shape": list(data.image_shape) if data.image_shape else None,
            "feature_groups": list(groups) if groups is not None else None}
    return TorchClassifier(module, arch, spec.family), history


def fit_classical(spec: ModelSpec, data: Dataset, seed: int = 0) -> tuple[SklearnClassifier, float]:
    """Fit the scikit-learn estimator for ``spec``; returns it and the fit time in seconds."""
    estimator = make_estimator(spec, seed)
    start = time.perf_counter()
    estimator.fit(data.X_train, data.y_train)
    return SklearnClassifier(estimator, spec.family), time.perf_counter() - start


__all__ = ["PARALLEL_TRAINERS", "fit_neural", "fit_classical", "train_module", "evaluate",
           "EpochRecord", "TrainHistory", "TrainingDiverged", "TechniqueUnavailable", "train_ddp",
           "train_local_sgd", "train_hogwild"]
