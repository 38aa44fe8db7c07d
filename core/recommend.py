"""Turning measured figures into a recommendation a stakeholder can act on.

Given result records and a budget (maximum latency, maximum saved size, minimum accuracy), pick
the cheapest model whose accuracy is within a tolerance of the best model that fits, and say why
in one sentence built only from the measured figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .report import Point, measured, pareto_front


@dataclass(frozen=True)
class Budget:
    max_latency_ms: float | None = None   # batch-1 p50
    max_size_bytes: float | None = None   # saved artifact
    min_accuracy: float | None = None     # fraction, 0..1
    tolerance_points: float = 1.0         # accuracy points a cheaper model may give up

    def violations(self, record: dict) -> list[str]:
        out = []
        if self.max_latency_ms is not None and record["latency_ms_p50"] > self.max_latency_ms:
            out.append(f"latency {record['latency_ms_p50']:.3g} ms > {self.max_latency_ms:.3g} ms")
        if self.max_size_bytes is not None and record["size_bytes"] > self.max_size_bytes:
            out.append(f"size {_kb(record['size_bytes'])} > {_kb(self.max_size_bytes)}")
        if self.min_accuracy is not None and record["accuracy"] < self.min_accuracy:
            out.append(f"accuracy {100 * record['accuracy']:.1f}% < {100 * self.min_accuracy:.1f}%")
        return out


@dataclass(frozen=True)
class Recommendation:
    name: str | None          # None when no model fits the budget
    sentence: str
    fitting: tuple[str, ...]  # every model within the budget
    frontier: tuple[str, ...] # Pareto-optimal models (latency against accuracy)


def recommend(records: Sequence[dict], budget: Budget = Budget()) -> Recommendation:
    rows = measured(records)
    if not rows:
        return Recommendation(None, "No model has finished yet.", (), ())
    frontier = tuple(p.name for p in pareto_front([Point(r["name"], r["latency_ms_p50"], r["accuracy"])
                                                   for r in rows]))
    fitting = [r for r in rows if not budget.violations(r)]
    if not fitting:
        closest = min(rows, key=lambda r: len(budget.violations(r)))
        return Recommendation(None, f"No model meets every limit. Closest: {closest['name']} "
                                    f"({'; '.join(budget.violations(closest))}). Relax a limit or "
                                    "try a compressed variant.", (), frontier)
    best = max(fitting, key=lambda r: (r["accuracy"], -r["latency_ms_p50"]))
    near_best = [r for r in fitting if 100 * (best["accuracy"] - r["accuracy"]) <= budget.tolerance_points]
    pick = min(near_best, key=lambda r: (r["latency_ms_p50"], r["size_bytes"]))
    overall_best = max(rows, key=lambda r: r["accuracy"])
    return Recommendation(pick["name"], _sentence(pick, overall_best),
                          tuple(r["name"] for r in fitting), frontier)


def _sentence(pick: dict, overall_best: dict) -> str:
    acc = 100 * pick["accuracy"]
    if pick["name"] == overall_best["name"]:
        return f"{pick['name']}: the most accurate model ({acc:.1f}%), and it fits your budget."
    gap = 100 * (overall_best["accuracy"] - pick["accuracy"])
    parts = [f"{pick['name']}: within {gap:.1f} points of the best ({overall_best['name']}, "
             f"{100 * overall_best['accuracy']:.1f}%)"]
    parts.append(_ratio(overall_best["latency_ms_p50"], pick["latency_ms_p50"], "faster", "slower"))
    parts.append(_ratio(overall_best["size_bytes"], pick["size_bytes"], "smaller", "larger"))
    return ", ".join(p for p in parts if p) + "."


def _ratio(reference: float, value: float, better: str, worse: str) -> str:
    if value <= 0 or reference <= 0:
        return ""
    r = reference / value
    if 0.9 <= r <= 1.1:
        return f"about as {'fast' if better == 'faster' else 'large'}"
    return f"{r:.1f}x {better}" if r > 1 else f"{1 / r:.1f}x {worse}"


def _kb(n: float) -> str:
    return f"{n / 1024:.1f} KB" if n < 1024 ** 2 else f"{n / 1024 ** 2:.1f} MB"


__all__ = ["Budget", "Recommendation", "recommend"]
