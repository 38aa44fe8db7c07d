"""One plain sentence per compressed result, built only from measured figures."""

from __future__ import annotations

from typing import Any

# Ratios within this of 1 read as "about the same"; accuracy within this many points as "as accurate".
_SAME_RATIO = 0.05
_SAME_POINTS = 0.05


def _get(obj: Any, key: str) -> float:
    return float(obj[key] if isinstance(obj, dict) else getattr(obj, key))


def _ratio_phrase(before: float, after: float, more: str, less: str, same: str) -> str:
    """'4.0x smaller' style: ``before / after`` > 1 reads as ``more`` (smaller, faster)."""
    if before <= 0 or after <= 0:
        return ""
    ratio = before / after
    if abs(ratio - 1) < _SAME_RATIO:
        return same
    return f"{ratio:.1f}x {more}" if ratio > 1 else f"{1 / ratio:.1f}x {less}"


def summarise(before: Any, after: Any) -> str:
    """E.g. "4.0x smaller, 3.1x faster at batch 1, 0.3 points less accurate".

    ``before`` and ``after`` are `core.measure.Metrics` or their dict records (results.json);
    size is the saved artifact, speed the batch-1 p50 latency, accuracy on the held-out split.
    """
    size = _ratio_phrase(_get(before, "size_bytes"), _get(after, "size_bytes"),
                         "smaller", "larger", "about the same size")
    speed = _ratio_phrase(_get(before, "latency_ms_p50"), _get(after, "latency_ms_p50"),
                          "faster at batch 1", "slower at batch 1", "about as fast at batch 1")
    points = (_get(after, "accuracy") - _get(before, "accuracy")) * 100
    if abs(points) < _SAME_POINTS:
        acc = "as accurate"
    else:
        acc = f"{abs(points):.1f} points {'more' if points > 0 else 'less'} accurate"
    return ", ".join(p for p in (size, speed, acc) if p)


__all__ = ["summarise"]
