"""Training comparisons as plain data and plotly figures: curves, throughput, table, verdicts.

Everything here reads results.json records (`CandidateResult.to_record()`), so a stored run
draws the same as a fresh one. Accuracy curves are on the validation slice of the training
split (the test split is only used once, for the final figure). Sentences, titles and table
headers are in the language asked for (``lang``, strings under ``train_report`` in locales/).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from ..compress.summary import weight_values
from ..i18n import translate
from .loop import cpu_cores

CURVE_METRICS = {"val_accuracy": "Validation accuracy (%)", "train_accuracy": "Training accuracy (%)",
                 "train_loss": "Training loss", "val_loss": "Validation loss"}
CURVE_AXES = {"epoch": "Epoch", "wall_seconds": "Wall-clock seconds since training started"}


def _t(lang: str, key: str, **values) -> str:
    return translate(lang, f"train_report.{key}", **values)


def curve_metric_labels(lang: str = "en") -> dict[str, str]:
    """`CURVE_METRICS` in ``lang``: metric -> axis title with unit."""
    return {m: _t(lang, f"metric_{m}") for m in CURVE_METRICS}


def trained(records: Sequence[dict]) -> list[dict]:
    """The records that carry a training history."""
    return [r for r in records if (r.get("history") or {}).get("epochs")]


def variant_label(record: dict, lang: str = "en") -> str:
    """How a record was trained, in a few words: precision, parallel scheme, workers x threads."""
    s = record["history"].get("setup", {})
    par = s.get("parallel", "single")
    how = _t(lang, "one_process") if par == "single" else f"{par} x{s.get('n_workers', 1)}"
    return _t(lang, "variant", precision=s.get("precision", "fp32"), how=how,
              threads=s.get("threads_per_worker", "?"))


def time_to_accuracy(record: dict, target: float) -> float | None:
    """Wall seconds at the end of the first epoch whose validation accuracy reached ``target``."""
    for e in record["history"]["epochs"]:
        acc = e.get("val_accuracy")
        if acc is not None and acc >= target:
            return e["wall_seconds"]
    return None


def curves_figure(records: Sequence[dict], metric: str = "val_accuracy", x: str = "epoch",
                  lang: str = "en") -> go.Figure:
    """One line per variant: ``metric`` per epoch against epoch or wall-clock seconds."""
    fig = go.Figure()
    scale = 100.0 if metric.endswith("accuracy") else 1.0
    for r in trained(records):
        epochs = [e for e in r["history"]["epochs"] if e.get(metric) is not None]
        fig.add_scatter(x=[e[x] for e in epochs], y=[scale * e[metric] for e in epochs],
                        mode="lines+markers", name=r["name"],
                        hovertemplate=f"{r['name']}<br>{_t(lang, 'hover_epoch')} %{{customdata}}"
                                      "<br>%{x:.3g}, %{y:.4g}<extra></extra>",
                        customdata=[e["epoch"] for e in epochs])
    fig.update_layout(title=_t(lang, "curve_title", metric=_t(lang, f"name_{metric}"),
                               axis=_t(lang, f"axis_in_title_{x}")),
                      xaxis_title=_t(lang, f"axis_{x}"), yaxis_title=_t(lang, f"metric_{metric}"),
                      height=360, margin=dict(t=60, b=40, l=60, r=20))
    return fig


def throughput_figure(records: Sequence[dict], lang: str = "en") -> go.Figure:
    """Training samples per second of every variant (all workers together)."""
    rows = trained(records)
    fig = go.Figure(go.Bar(x=[r["name"] for r in rows], y=[r["train_throughput_sps"] for r in rows],
                           text=[f"{r['train_throughput_sps']:.0f}" for r in rows], textposition="auto",
                           hovertext=[variant_label(r, lang) for r in rows]))
    fig.update_layout(title=_t(lang, "throughput_title"), yaxis_title=_t(lang, "throughput_axis"),
                      height=340, margin=dict(t=60, b=40, l=60, r=20))
    return fig


def training_table(records: Sequence[dict], target: float, lang: str = "en") -> list[dict]:
    """Every figure of every variant, one row each, units in the keys (headers in ``lang``)."""
    rows = []
    for r in records:
        h = r.get("history") or {}
        s = h.get("setup", {})
        last = (h.get("epochs") or [{}])[-1]
        ttt = time_to_accuracy(r, target) if h.get("epochs") else None
        row = {
            "variant": r["name"],
            "status": r.get("status") if not r.get("error") else f"{r['status']}: {r['error']}",
            "precision": s.get("precision"), "parallel": s.get("parallel"), "workers": s.get("n_workers"),
            "threads_per_worker": s.get("threads_per_worker"), "batch_per_worker": s.get("batch_per_worker"),
            "epochs_run": len(h.get("epochs") or []),
            "training_loop": _round(h.get("train_seconds"), 2),
            "startup": _round(s.get("startup_seconds"), 2),
            "throughput": _round(r.get("train_throughput_sps"), 0),
            "time_to_target": _round(ttt, 2),
            "final_val_accuracy": _pct(last.get("val_accuracy")),
            "final_train_accuracy": _pct(last.get("train_accuracy")),
            "test_accuracy": _pct(r.get("accuracy")),
            "sparsity": _pct((s.get("pruning") or {}).get("reached_sparsity")),
            "stop_reason": h.get("stop_reason"),
        }
        rows.append({_t(lang, f"col_{k}", target=target): v for k, v in row.items()})
    return rows


def verdicts(records: Sequence[dict], target: float, baseline: str | None = None,
             lang: str = "en") -> list[str]:
    """Sentences built from the measurement, above all where a technique did not help here."""
    rows = [r for r in trained(records) if r.get("status") == "done"]
    out = [_t(lang, "skipped", name=r["name"], error=r["error"])
           for r in records if r.get("status") == "skipped"]
    if not rows:
        return out
    base = next((r for r in rows if r["name"] == baseline), None) or next(
        (r for r in rows if r["history"]["setup"].get("parallel") == "single"
         and r["history"]["setup"].get("precision") == "fp32"), rows[0])
    b_sps, b_acc = base["train_throughput_sps"], base.get("accuracy")
    b_threads = base["history"]["setup"].get("threads_per_worker")
    for r in rows:
        s, name = r["history"]["setup"], r["name"]
        if r["history"].get("stop_reason") == "diverged":
            out.append(_t(lang, "diverged", name=name, message=r["history"]["message"]))
        if r is base:
            continue
        ratio = r["train_throughput_sps"] / b_sps if b_sps else float("nan")
        par = s.get("parallel", "single")
        if ratio < 0.95:
            why = ""
            if par != "single":
                why = _t(lang, "why_parallel", n_workers=s.get("n_workers"),
                         threads=s.get("threads_per_worker"), cores=s.get("cpu_cores", cpu_cores()),
                         base_threads=b_threads)
                if s.get("startup_seconds"):
                    why = _t(lang, "why_startup", why=why, seconds=s["startup_seconds"])
                why = _t(lang, "aside", text=why)
            elif s.get("precision") != base["history"]["setup"].get("precision"):
                why = _t(lang, "aside", text=_t(lang, "why_precision", precision=s.get("precision")))
            out.append(_t(lang, "slower", name=name, sps=r["train_throughput_sps"], ratio=ratio,
                          base_sps=b_sps, base=base["name"], why=why))
        elif ratio > 1.05:
            out.append(_t(lang, "faster", name=name, ratio=ratio, base=base["name"],
                          sps=r["train_throughput_sps"], base_sps=b_sps))
        else:
            out.append(_t(lang, "as_fast", name=name, base=base["name"], ratio=ratio))
        if r.get("accuracy") is not None and b_acc is not None:
            delta = 100 * (r["accuracy"] - b_acc)
            if delta <= -0.5:
                stale = _t(lang, "aside", text=_t(lang, "hogwild_stale")) if par == "hogwild" else ""
                out.append(_t(lang, "less_accurate", name=name, points=-delta, base=base["name"],
                              stale=stale))
    for r in rows:
        if time_to_accuracy(r, target) is None:
            out.append(_t(lang, "not_reached", name=r["name"], target=target,
                          epochs=len(r["history"]["epochs"])))
    return out


def regularisation_view(model, X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray,
                        y_test: np.ndarray, bins: int = 60, near_zero: float = 1e-2) -> dict | None:
    """Weight histogram and the train-test accuracy gap of one trained model (eval mode).

    Returns None for models without weight matrices. ``near_zero_fraction`` counts weights with
    |w| < ``near_zero``, the effect an L1 penalty should have.
    """
    values = weight_values(model)
    if values is None or values.size == 0:
        return None
    counts, edges = np.histogram(values, bins=bins)
    train_acc = float((model.predict(X_train) == y_train).mean())
    test_acc = float((model.predict(X_test) == y_test).mean())
    return {"edges": edges.tolist(), "counts": counts.tolist(), "n_weights": int(values.size),
            "near_zero_fraction": float((np.abs(values) < near_zero).mean()), "near_zero": near_zero,
            "train_accuracy": train_acc, "test_accuracy": test_acc,
            "gap_points": 100 * (train_acc - test_acc)}


def weight_histogram_figure(views: dict[str, dict], lang: str = "en") -> go.Figure:
    """Overlaid weight histograms, one per variant, from `regularisation_view` results."""
    fig = go.Figure()
    for name, v in views.items():
        edges = np.asarray(v["edges"])
        fig.add_bar(x=(edges[:-1] + edges[1:]) / 2, y=v["counts"], name=name, opacity=0.6,
                    width=float(edges[1] - edges[0]))
    fig.update_layout(barmode="overlay", title=_t(lang, "weights_title"),
                      xaxis_title=_t(lang, "weights_x"), yaxis_title=_t(lang, "weights_y"),
                      yaxis_type="log", height=340, margin=dict(t=60, b=40, l=60, r=20))
    return fig


def _round(v, digits: int):
    return None if v is None else round(float(v), digits)


def _pct(v):
    return None if v is None else round(100 * float(v), 2)


__all__ = ["trained", "variant_label", "time_to_accuracy", "curves_figure", "throughput_figure",
           "training_table", "verdicts", "regularisation_view", "weight_histogram_figure",
           "CURVE_METRICS", "CURVE_AXES", "curve_metric_labels"]
