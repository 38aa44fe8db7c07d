"""Training comparisons as plain data and plotly figures: curves, throughput, table, verdicts.

Everything here reads results.json records (`CandidateResult.to_record()`), so a stored run
draws the same as a fresh one. Accuracy curves are on the validation slice of the training
split (the test split is only used once, for the final figure).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from ..compress.summary import weight_values
from .loop import cpu_cores

CURVE_METRICS = {"val_accuracy": "Validation accuracy (%)", "train_accuracy": "Training accuracy (%)",
                 "train_loss": "Training loss", "val_loss": "Validation loss"}
CURVE_AXES = {"epoch": "Epoch", "wall_seconds": "Wall-clock seconds since training started"}


def trained(records: Sequence[dict]) -> list[dict]:
    """The records that carry a training history."""
    return [r for r in records if (r.get("history") or {}).get("epochs")]


def variant_label(record: dict) -> str:
    """How a record was trained, in a few words: precision, parallel scheme, workers x threads."""
    s = record["history"].get("setup", {})
    par = s.get("parallel", "single")
    how = "1 process" if par == "single" else f"{par} x{s.get('n_workers', 1)}"
    return f"{s.get('precision', 'fp32')}, {how}, {s.get('threads_per_worker', '?')} thread(s) each"


def time_to_accuracy(record: dict, target: float) -> float | None:
    """Wall seconds at the end of the first epoch whose validation accuracy reached ``target``."""
    for e in record["history"]["epochs"]:
        acc = e.get("val_accuracy")
        if acc is not None and acc >= target:
            return e["wall_seconds"]
    return None


def curves_figure(records: Sequence[dict], metric: str = "val_accuracy", x: str = "epoch") -> go.Figure:
    """One line per variant: ``metric`` per epoch against epoch or wall-clock seconds."""
    fig = go.Figure()
    scale = 100.0 if metric.endswith("accuracy") else 1.0
    for r in trained(records):
        epochs = [e for e in r["history"]["epochs"] if e.get(metric) is not None]
        fig.add_scatter(x=[e[x] for e in epochs], y=[scale * e[metric] for e in epochs],
                        mode="lines+markers", name=r["name"],
                        hovertemplate=f"{r['name']}<br>epoch %{{customdata}}<br>%{{x:.3g}}, %{{y:.4g}}"
                                      "<extra></extra>", customdata=[e["epoch"] for e in epochs])
    fig.update_layout(title=f"{CURVE_METRICS[metric].split(' (')[0]} against {CURVE_AXES[x].lower()}",
                      xaxis_title=CURVE_AXES[x], yaxis_title=CURVE_METRICS[metric], height=360,
                      margin=dict(t=60, b=40, l=60, r=20))
    return fig


def throughput_figure(records: Sequence[dict]) -> go.Figure:
    """Training samples per second of every variant (all workers together)."""
    rows = trained(records)
    fig = go.Figure(go.Bar(x=[r["name"] for r in rows], y=[r["train_throughput_sps"] for r in rows],
                           text=[f"{r['train_throughput_sps']:.0f}" for r in rows], textposition="auto",
                           hovertext=[variant_label(r) for r in rows]))
    fig.update_layout(title="Training throughput (samples/s over the training loop, all workers)",
                      yaxis_title="Samples per second", height=340, margin=dict(t=60, b=40, l=60, r=20))
    return fig


def training_table(records: Sequence[dict], target: float) -> list[dict]:
    """Every figure of every variant, one row each, units in the keys."""
    rows = []
    for r in records:
        h = r.get("history") or {}
        s = h.get("setup", {})
        last = (h.get("epochs") or [{}])[-1]
        ttt = time_to_accuracy(r, target) if h.get("epochs") else None
        rows.append({
            "Variant": r["name"],
            "Status": r.get("status") if not r.get("error") else f"{r['status']}: {r['error']}",
            "Precision": s.get("precision"), "Parallel": s.get("parallel"), "Workers": s.get("n_workers"),
            "Threads per worker": s.get("threads_per_worker"), "Batch per worker": s.get("batch_per_worker"),
            "Epochs run": len(h.get("epochs") or []),
            "Training loop (s)": _round(h.get("train_seconds"), 2),
            "Process start-up (s)": _round(s.get("startup_seconds"), 2),
            "Throughput (samples/s)": _round(r.get("train_throughput_sps"), 0),
            f"Time to {target:.0%} val. accuracy (s)": _round(ttt, 2),
            "Final val. accuracy (%)": _pct(last.get("val_accuracy")),
            "Final train accuracy (%)": _pct(last.get("train_accuracy")),
            "Test accuracy (%)": _pct(r.get("accuracy")),
            "Sparsity (%)": _pct((s.get("pruning") or {}).get("reached_sparsity")),
            "Stop reason": h.get("stop_reason"),
        })
    return rows


def verdicts(records: Sequence[dict], target: float, baseline: str | None = None) -> list[str]:
    """Sentences built from the measurement, above all where a technique did not help here."""
    rows = [r for r in trained(records) if r.get("status") == "done"]
    out = [f"{r['name']} was skipped: {r['error']}" for r in records if r.get("status") == "skipped"]
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
            out.append(f"{name}: {r['history']['message']}")
        if r is base:
            continue
        ratio = r["train_throughput_sps"] / b_sps if b_sps else float("nan")
        par = s.get("parallel", "single")
        if ratio < 0.95:
            why = ""
            if par != "single":
                why = (f" ({s.get('n_workers')} processes x {s.get('threads_per_worker')} thread(s) on "
                       f"{s.get('cpu_cores', cpu_cores())} cores against one process with {b_threads} "
                       "threads; coordination costs more than the extra processes gain here")
                if s.get("startup_seconds"):
                    why += f", and starting the workers took another {s['startup_seconds']:.1f} s"
                why += ")"
            elif s.get("precision") != base["history"]["setup"].get("precision"):
                why = f" ({s.get('precision')} autocast did not pay off for this model on this machine)"
            out.append(f"{name} did not speed training up here: {r['train_throughput_sps']:.0f} samples/s, "
                       f"{ratio:.2f}x the {b_sps:.0f} samples/s of {base['name']}{why}.")
        elif ratio > 1.05:
            out.append(f"{name} trained {ratio:.2f}x as fast as {base['name']} "
                       f"({r['train_throughput_sps']:.0f} vs {b_sps:.0f} samples/s).")
        else:
            out.append(f"{name} trained about as fast as {base['name']} ({ratio:.2f}x).")
        if r.get("accuracy") is not None and b_acc is not None:
            delta = 100 * (r["accuracy"] - b_acc)
            if delta <= -0.5:
                stale = " (Hogwild! workers compute gradients on weights that others are changing)" \
                    if par == "hogwild" else ""
                out.append(f"{name} ended {-delta:.1f} points less accurate on the test split than "
                           f"{base['name']} after the same epochs{stale}.")
    for r in rows:
        if time_to_accuracy(r, target) is None:
            out.append(f"{r['name']} did not reach {target:.0%} validation accuracy in "
                       f"{len(r['history']['epochs'])} epochs.")
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


def weight_histogram_figure(views: dict[str, dict]) -> go.Figure:
    """Overlaid weight histograms, one per variant, from `regularisation_view` results."""
    fig = go.Figure()
    for name, v in views.items():
        edges = np.asarray(v["edges"])
        fig.add_bar(x=(edges[:-1] + edges[1:]) / 2, y=v["counts"], name=name, opacity=0.6,
                    width=float(edges[1] - edges[0]))
    fig.update_layout(barmode="overlay", title="Weight distribution (matrices and kernels, not biases)",
                      xaxis_title="Weight value", yaxis_title="Weights", yaxis_type="log", height=340,
                      margin=dict(t=60, b=40, l=60, r=20))
    return fig


def _round(v, digits: int):
    return None if v is None else round(float(v), digits)


def _pct(v):
    return None if v is None else round(100 * float(v), 2)


__all__ = ["trained", "variant_label", "time_to_accuracy", "curves_figure", "throughput_figure",
           "training_table", "verdicts", "regularisation_view", "weight_histogram_figure",
           "CURVE_METRICS", "CURVE_AXES"]
