"""One plain sentence per compressed result, built only from measured figures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from ..i18n import translate

# Ratios within this of 1 read as "about the same"; accuracy within this many points as "as accurate".
_SAME_RATIO = 0.05
_SAME_POINTS = 0.05


def _get(obj: Any, key: str) -> float:
    return float(obj[key] if isinstance(obj, dict) else getattr(obj, key))


def _t(lang: str, key: str, **values) -> str:
    return translate(lang, f"summary.{key}", **values)


def _ratio_phrase(before: float, after: float, what: str, lang: str = "en") -> str:
    """'4.0x smaller' style for ``what`` (size, speed): ``before / after`` > 1 reads as better."""
    if before <= 0 or after <= 0:
        return ""
    ratio = before / after
    if abs(ratio - 1) < _SAME_RATIO:
        return _t(lang, f"{what}_same")
    if ratio > 1:
        return _t(lang, f"{what}_better", ratio=ratio)
    return _t(lang, f"{what}_worse", ratio=1 / ratio)


def summarise(before: Any, after: Any, lang: str = "en") -> str:
    """E.g. "4.0x smaller, 3.1x faster at batch 1, 0.3 points less accurate" (in ``lang``).

    ``before`` and ``after`` are `core.measure.Metrics` or their dict records (results.json);
    size is the saved artifact, speed the batch-1 p50 latency, accuracy on the held-out split.
    """
    size = _ratio_phrase(_get(before, "size_bytes"), _get(after, "size_bytes"), "size", lang)
    speed = _ratio_phrase(_get(before, "latency_ms_p50"), _get(after, "latency_ms_p50"), "speed", lang)
    points = (_get(after, "accuracy") - _get(before, "accuracy")) * 100
    if abs(points) < _SAME_POINTS:
        acc = _t(lang, "accuracy_same")
    else:
        acc = _t(lang, "accuracy_more" if points > 0 else "accuracy_less", points=abs(points))
    return _t(lang, "separator").join(p for p in (size, speed, acc) if p)




# ----------------------------------------------------------------------------------------------
# Weight histograms: the values a model computes with, to show the quantisation grid and zeros.


@dataclass(frozen=True)
class WeightHistogram:
    edges: list[float]       # bin edges, len(counts) + 1
    counts: list[int]        # weights per bin (of the sample, scaled to n_values)
    n_values: int            # weights in the model's matrices and kernels
    n_zero: int              # exactly zero among them
    n_distinct: int          # distinct values in the sample (int8: at most 256 per scale)


def weight_values(model) -> np.ndarray | None:
    """Every weight of the matrices/kernels (not biases), as the model computes with them.

    int8 layers give their dequantised values, so the quantisation grid shows; None for models
    without weight matrices (trees, neighbours).
    """
    from ..models.classical import SklearnClassifier
    from ..models.neural import TorchClassifier
    from .formats import QUANTIZED_WEIGHT_MODULES

    if isinstance(model, TorchClassifier):
        parts = []
        for m in model.module.modules():
            if isinstance(m, QUANTIZED_WEIGHT_MODULES):
                parts.append(m.weight().dequantize().flatten())
            elif isinstance(m, (nn.Linear, nn.Conv2d)):
                parts.append(m.weight.detach().float().flatten())
        return torch.cat(parts).numpy() if parts else None
    if isinstance(model, SklearnClassifier):
        coef = getattr(model.estimator, "coef_", None)
        if coef is None:
            coef = getattr(model.estimator, "dual_coef_", None)
        if coef is None:
            return None
        return np.asarray(coef.toarray() if sp.issparse(coef) else coef, dtype=np.float64).ravel()
    return None


def weight_histogram(model, bins: int = 80, max_sample: int = 400_000) -> WeightHistogram | None:
    values = weight_values(model)
    if values is None or values.size == 0:
        return None
    sample = values
    if values.size > max_sample:  # a fixed random sample keeps this fast for 8 M weights
        sample = np.random.default_rng(0).choice(values, max_sample, replace=False)
    counts, edges = np.histogram(sample, bins=bins)
    scale = values.size / sample.size
    return WeightHistogram([float(e) for e in edges], [int(round(c * scale)) for c in counts],
                           int(values.size), int(np.count_nonzero(values == 0)),
                           int(np.unique(sample).size))


__all__ = ["summarise", "WeightHistogram", "weight_values", "weight_histogram"]
