"""Figures and tables built from result records (the dicts of `CandidateResult.to_record`).

Everything here works on plain records so that a live comparison, a stored run and an exported
report draw the same charts. Titles, axis labels and table headers are in the language asked
for (``lang``; strings under ``charts`` in locales/); `METRICS` and `TABLE_COLUMNS` keep English.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import pandas as pd
import plotly.graph_objects as go

from .i18n import translate

FAMILY_COLORS = {"large": "#E4572E", "small": "#17A398", "compressed": "#7B5EA7"}

# metric -> (axis title with unit, higher is better, scale applied for display)
METRICS: dict[str, tuple[str, bool, float]] = {
    "accuracy": ("Accuracy (%)", True, 100.0),
    "f1_macro": ("Macro-F1 (%)", True, 100.0),
    "bits_per_char": ("Validation bits per character", False, 1.0),   # language models
    "latency_ms_p50": ("Latency p50, batch 1 (ms)", False, 1.0),
    "latency_ms_p95": ("Latency p95, batch 1 (ms)", False, 1.0),
    "throughput_sps": ("Throughput (rows/s)", True, 1.0),
    "size_bytes": ("Saved size (KB)", False, 1 / 1024),
    "peak_memory_bytes": ("Peak inference memory (KB)", False, 1 / 1024),
    "n_params": ("Parameters", False, 1.0),
    "n_nonzero_params": ("Non-zero parameters", False, 1.0),
    "train_seconds": ("Training time (s)", False, 1.0),
}

# Columns of the full table, with units in the headers.
TABLE_COLUMNS: dict[str, str] = {
    "name": "Model", "family": "Family", "accuracy": "Accuracy (%)", "f1_macro": "Macro-F1 (%)",
    "bits_per_char": "Bits/char",
    "latency_ms_p50": "Latency p50 (ms)", "latency_ms_p95": "Latency p95 (ms)",
    "throughput_sps": "Throughput (rows/s)", "size_bytes": "Saved size (bytes)",
    "memory_bytes": "Model memory (bytes)", "peak_memory_bytes": "Peak memory (bytes)",
    "n_params": "Parameters", "n_nonzero_params": "Non-zero parameters",
    "train_seconds": "Train time (s)", "latency_repeats": "Timed calls", "throughput_batch": "Batch",
    "n_threads": "Threads", "artifact_format": "Format", "params_definition": "Parameters counted",
}


def _t(lang: str, key: str, **values) -> str:
    return translate(lang, f"charts.{key}", **values)


def metric_title(metric: str, lang: str = "en") -> str:
    """The axis title of ``metric`` with its unit, as in `METRICS`, in ``lang``."""
    return _t(lang, f"metric_{metric}")


def column_titles(lang: str = "en") -> dict[str, str]:
    """`TABLE_COLUMNS` (record key -> header with unit) in ``lang``."""
    return {key: _t(lang, f"column_{key}") for key in TABLE_COLUMNS}


def measured(records: Iterable[dict]) -> list[dict]:
    """Records that finished and carry metrics."""
    return [r for r in records if r.get("status", "done") == "done" and r.get("accuracy") is not None]


def needs_log_axis(values: Sequence[float], spread: float = 30.0) -> bool:
    """Log scale when the largest positive value is more than ``spread`` times the smallest."""
    positive = [v for v in values if v and v > 0]
    return len(positive) >= 2 and max(positive) / min(positive) > spread


def metric_bar(records: Sequence[dict], metric: str, log: bool | None = None,
               lang: str = "en") -> go.Figure:
    """One bar per model for ``metric``, coloured by family; log axis when the spread needs it."""
    _, higher_better, scale = METRICS[metric]
    title = metric_title(metric, lang)
    rows = [r for r in measured(records) if r.get(metric) is not None]  # e.g. a language model
    values = [r[metric] * scale for r in rows]                          # has no peak memory
    log = needs_log_axis(values) if log is None else log
    fig = go.Figure()
    for family in FAMILY_COLORS:
        fam = [(r, v) for r, v in zip(rows, values) if r["family"] == family]
        if fam:
            fig.add_bar(x=[r["name"] for r, _ in fam], y=[v for _, v in fam],
                        name=_t(lang, f"family_{family}"),
                        marker_color=FAMILY_COLORS[family],
                        text=[_short(v) for _, v in fam], textposition="outside",
                        hovertemplate="%{x}<br>" + title + ": %{y:.4g}<extra></extra>")
    fig.update_layout(title=_t(lang, "higher_better" if higher_better else "lower_better", title=title),
                      yaxis_title=_t(lang, "log_scale", title=title) if log else title,
                      yaxis_type="log" if log else "linear", showlegend=True, bargap=0.3,
                      margin=dict(t=60, b=40, l=60, r=20), height=360,
                      legend_title_text=_t(lang, "family"),
                      xaxis={"categoryorder": "array", "categoryarray": [r["name"] for r in rows]})
    if metric in ("accuracy", "f1_macro") and values:
        low = min(values)
        fig.update_yaxes(range=[max(0.0, low - (100 - low) * 0.5 - 2), 100.5])
    return fig


@dataclass(frozen=True)
class Point:
    name: str
    cost: float      # lower is better (e.g. latency)
    value: float     # higher is better (e.g. accuracy)


def pareto_front(points: Sequence[Point]) -> list[Point]:
    """Points no other point beats on both cost (lower) and value (higher), by increasing cost."""
    front: list[Point] = []
    best = -math.inf
    for p in sorted(points, key=lambda p: (p.cost, -p.value)):
        if p.value > best:
            front.append(p)
            best = p.value
    return front


def pareto_scatter(records: Sequence[dict], x: str = "latency_ms_p50", y: str = "accuracy",
                   size: str = "size_bytes", highlight: set[str] | None = None,
                   lang: str = "en") -> go.Figure:
    """Accuracy against latency with the Pareto frontier; marker area grows with saved size.

    With ``highlight``, models outside that set (e.g. outside the user's budget) are faded.
    """
    rows = [r for r in measured(records) if all(r.get(k) is not None for k in (x, y, size))]
    fig = go.Figure()
    if not rows:
        return fig
    x_title, x_scale = metric_title(x, lang), METRICS[x][2]
    y_title, y_scale = metric_title(y, lang), METRICS[y][2]
    sizes = [r[size] for r in rows]
    smax = max(sizes) or 1
    for family in FAMILY_COLORS:
        fam = [r for r in rows if r["family"] == family]
        if not fam:
            continue
        # marker diameter 10-46 px, area proportional to size (sqrt keeps the area honest)
        diam = [10 + 36 * math.sqrt(r[size] / smax) for r in fam]
        fig.add_scatter(
            x=[r[x] * x_scale for r in fam], y=[r[y] * y_scale for r in fam], mode="markers+text",
            name=_t(lang, f"family_{family}"), text=[r["name"] for r in fam], textposition="top center",
            marker=dict(size=diam, color=FAMILY_COLORS[family],
                        opacity=[0.8 if highlight is None or r["name"] in highlight else 0.15 for r in fam],
                        line=dict(width=1, color="#333")),
            customdata=[[r[size] / 1024, r["n_params"]] for r in fam],
            hovertemplate=("%{text}<br>" + x_title + ": %{x:.4g}<br>" + y_title + ": %{y:.2f}"
                           "<br>" + _t(lang, "hover_size") + ": %{customdata[0]:.1f} KB<br>"
                           + _t(lang, "hover_params") + ": %{customdata[1]:,}<extra></extra>"))
    front = pareto_front([Point(r["name"], r[x], r[y]) for r in rows])
    fig.add_scatter(x=[p.cost * x_scale for p in front], y=[p.value * y_scale for p in front],
                    mode="lines", name=_t(lang, "pareto_frontier"),
                    line=dict(color="#444", dash="dash", shape="hv"))
    fig.update_layout(title=_t(lang, "pareto_title", y=_t(lang, f"name_{y}"), x=_t(lang, f"in_title_{x}")),
                      xaxis_title=x_title, yaxis_title=y_title, height=460,
                      xaxis_type="log" if needs_log_axis([r[x] for r in rows], 10) else "linear",
                      margin=dict(t=60, b=50, l=60, r=20))
    return fig


def training_curves(records: Sequence[dict], lang: str = "en") -> go.Figure:
    """Validation (or training) accuracy per epoch for every record that has a history."""
    fig = go.Figure()
    for r in records:
        epochs = (r.get("history") or {}).get("epochs") or []
        if not epochs:
            continue
        use_val = epochs[0].get("val_accuracy") is not None
        key = "val_accuracy" if use_val else "train_accuracy"
        fig.add_scatter(x=[e["epoch"] for e in epochs], y=[100 * e[key] for e in epochs],
                        mode="lines+markers",
                        name=_t(lang, "curve_validation" if use_val else "curve_train", name=r["name"]))
    fig.update_layout(title=_t(lang, "curves_title"), xaxis_title=_t(lang, "curves_x"),
                      yaxis_title=_t(lang, "metric_accuracy"), height=340,
                      margin=dict(t=60, b=40, l=60, r=20))
    return fig


def metrics_table(records: Sequence[dict], lang: str = "en") -> pd.DataFrame:
    """Every figure of every record, one row per model, units in the column headers."""
    titles = column_titles(lang)
    rows = []
    for r in records:
        row = {key: r.get(key) for key in TABLE_COLUMNS}
        if row["throughput_sps"] is not None:
            row["throughput_sps"] = round(row["throughput_sps"])
        for key in ("accuracy", "f1_macro"):
            if r.get(key) is not None:
                row[key] = round(100 * r[key], 2)
        row = {titles[key]: value for key, value in row.items()}
        row[_t(lang, "column_status")] = (r.get("status", "done") if not r.get("error")
                                          else f"{r['status']}: {r['error']}")
        rows.append(row)
    frame = pd.DataFrame(rows)
    # columns that only one task has (bits per char, peak memory...) stay out of the other's table
    return frame.dropna(axis=1, how="all") if len(frame) else frame


def _short(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e6:
        return f"{v / 1e6:.1f}M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:.0f}k"
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"
