"""Turning measured figures into a recommendation a stakeholder can act on.

Given result records and a budget (maximum latency, maximum saved size, minimum accuracy), pick
the cheapest model whose accuracy is within a tolerance of the best model that fits, and say why
in one sentence built only from the measured figures. The sentence is built when the page asks
for it, in the page's language (``lang``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .i18n import translate
from .report import Point, measured, pareto_front


@dataclass(frozen=True)
class Budget:
    max_latency_ms: float | None = None   # batch-1 p50
    max_size_bytes: float | None = None   # saved artifact
    min_accuracy: float | None = None     # fraction, 0..1
    tolerance_points: float = 1.0         # accuracy points a cheaper model may give up

    def violations(self, record: dict, lang: str = "en") -> list[str]:
        out = []
        if self.max_latency_ms is not None and record["latency_ms_p50"] > self.max_latency_ms:
            out.append(_t(lang, "over_latency", value=record["latency_ms_p50"],
                          limit=self.max_latency_ms))
        if self.max_size_bytes is not None and record["size_bytes"] > self.max_size_bytes:
            out.append(_t(lang, "over_size", value=_kb(record["size_bytes"]),
                          limit=_kb(self.max_size_bytes)))
        if self.min_accuracy is not None and record["accuracy"] < self.min_accuracy:
            out.append(_t(lang, "under_accuracy", value=100 * record["accuracy"],
                          limit=100 * self.min_accuracy))
        return out


@dataclass(frozen=True)
class Recommendation:
    name: str | None          # None when no model fits the budget
    sentence: str
    fitting: tuple[str, ...]  # every model within the budget
    frontier: tuple[str, ...] # Pareto-optimal models (latency against accuracy)


def recommend(records: Sequence[dict], budget: Budget = Budget(), lang: str = "en") -> Recommendation:
    rows = measured(records)
    if not rows:
        return Recommendation(None, _t(lang, "none_finished"), (), ())
    frontier = tuple(p.name for p in pareto_front([Point(r["name"], r["latency_ms_p50"], r["accuracy"])
                                                   for r in rows]))
    fitting = [r for r in rows if not budget.violations(r)]
    if not fitting:
        closest = min(rows, key=lambda r: len(budget.violations(r)))
        broken = _t(lang, "violation_separator").join(budget.violations(closest, lang))
        return Recommendation(None, _t(lang, "none_fits", name=closest["name"], violations=broken),
                              (), frontier)
    best = max(fitting, key=lambda r: (r["accuracy"], -r["latency_ms_p50"]))
    near_best = [r for r in fitting if 100 * (best["accuracy"] - r["accuracy"]) <= budget.tolerance_points]
    pick = min(near_best, key=lambda r: (r["latency_ms_p50"], r["size_bytes"]))
    overall_best = max(rows, key=lambda r: r["accuracy"])
    return Recommendation(pick["name"], _sentence(pick, overall_best, lang),
                          tuple(r["name"] for r in fitting), frontier)


def _t(lang: str, key: str, **values) -> str:
    return translate(lang, f"recommend.{key}", **values)


def _sentence(pick: dict, overall_best: dict, lang: str = "en") -> str:
    acc = 100 * pick["accuracy"]
    if pick["name"] == overall_best["name"]:
        return _t(lang, "most_accurate", name=pick["name"], accuracy=acc)
    gap = 100 * (overall_best["accuracy"] - pick["accuracy"])
    parts = [_t(lang, "within", name=pick["name"], gap=gap, best=overall_best["name"],
                best_accuracy=100 * overall_best["accuracy"])]
    parts.append(_ratio(overall_best["latency_ms_p50"], pick["latency_ms_p50"], "speed", lang))
    parts.append(_ratio(overall_best["size_bytes"], pick["size_bytes"], "size", lang))
    return _t(lang, "sentence", parts=_t(lang, "separator").join(p for p in parts if p))


def _ratio(reference: float, value: float, what: str, lang: str = "en") -> str:
    """``what`` is "speed" (faster/slower) or "size" (smaller/larger): reference / value > 1 is better."""
    if value <= 0 or reference <= 0:
        return ""
    r = reference / value
    if 0.9 <= r <= 1.1:
        return _t(lang, f"{what}_same")
    return _t(lang, f"{what}_better", ratio=r) if r > 1 else _t(lang, f"{what}_worse", ratio=1 / r)


def _kb(n: float) -> str:
    return f"{n / 1024:.1f} KB" if n < 1024 ** 2 else f"{n / 1024 ** 2:.1f} MB"


__all__ = ["Budget", "Recommendation", "recommend"]
