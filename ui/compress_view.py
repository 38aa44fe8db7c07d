"""Widgets and drawings for the Compress page: step settings, before/after, histograms, sweeps."""

from __future__ import annotations

from typing import Callable

import plotly.graph_objects as go
import streamlit as st

from core import report
from core.compress import summarise, weight_histogram
from core.experiment import ExperimentResult
from core.specs import (CastWeights, CompressStep, Distill, FineTune, Float32Storage, PruneMagnitude,
                        PruneSaliency, PruneStructured, QuantizeDynamic, QuantizeInt4, QuantizeStatic,
                        ShrinkForest, SparsifyLinear, TinyMLPSpec)


def _int8_dynamic(key):
    g = st.radio("Weight scales", ["per_channel", "per_tensor"], horizontal=True, key=f"{key}-g")
    return QuantizeDynamic(granularity=g)


def _int8_static(key):
    n = st.select_slider("Calibration rows", [16, 64, 256, 1024], 256, key=f"{key}-n")
    return QuantizeStatic(calibration_samples=n)


def _int4(key):
    return QuantizeInt4(group_size=st.select_slider("Group size", [32, 64, 128], 64, key=f"{key}-g"))


def _cast(key):
    return CastWeights(dtype=st.radio("Type", ["bf16", "fp16"], horizontal=True, key=f"{key}-t"))


def _unstructured(cls):
    def form(key):
        c1, c2, c3 = st.columns(3)
        amount = c1.slider("Sparsity", 0.0, 0.95, 0.8, 0.05, key=f"{key}-a")
        scope = c2.radio("Threshold", ["global", "layer"], horizontal=True, key=f"{key}-s")
        epochs = c3.slider("Fine-tune epochs", 0, 5, 1, key=f"{key}-ft")
        c1, c2 = st.columns(2)
        storage = c1.selectbox("Saved as", ["bitmask", "csr", "dense"], key=f"{key}-st")
        execution = c2.selectbox("Kernels", ["auto", "dense", "sparse"], key=f"{key}-ex",
                                 help="auto times dense and sparse (CSR) at batch 1 and keeps the faster")
        return cls(amount=amount, scope=scope, fine_tune_epochs=epochs, storage=storage, execution=execution)
    return form


def _structured(key):
    c1, c2 = st.columns(2)
    amount = c1.slider("Neurons / channels removed", 0.0, 0.95, 0.75, 0.05, key=f"{key}-a")
    epochs = c2.slider("Fine-tune epochs", 0, 5, 1, key=f"{key}-ft")
    return PruneStructured(amount=amount, fine_tune_epochs=epochs, fine_tune_lr_scale=0.5)


def _fine_tune(key):
    return FineTune(epochs=st.slider("Epochs", 1, 10, 1, key=f"{key}-e"))


def _distill(key):
    c1, c2, c3 = st.columns(3)
    width = c1.select_slider("Student width", [8, 16, 32, 64, 128], 32, key=f"{key}-w")
    labels = c2.select_slider("Labels seen", [0.02, 0.05, 0.1, 0.2, 0.5, 1.0], 0.1, key=f"{key}-l",
                              format_func=lambda f: f"{f:.0%}")
    epochs = c3.slider("Epochs", 5, 100, 30, 5, key=f"{key}-e")
    c1, c2 = st.columns(2)
    temperature = c1.select_slider("Temperature", [1.0, 2.0, 4.0, 8.0], 4.0, key=f"{key}-t")
    alpha = c2.slider("Soft-loss weight", 0.0, 1.0, 0.9, 0.05, key=f"{key}-a")
    return Distill(student=TinyMLPSpec(hidden=(width,)), temperature=temperature, alpha=alpha,
                   epochs=epochs, label_fraction=labels)


def _forest(key):
    c1, c2 = st.columns(2)
    n = c1.slider("Trees kept", 1, 200, 20, key=f"{key}-n")
    depth = c2.slider("Max depth (0 = as trained)", 0, 30, 0, key=f"{key}-d")
    return ShrinkForest(n_estimators=n, max_depth=depth or None)


def _sparsify(key):
    return SparsifyLinear(C=st.select_slider("C (smaller: sparser)", [0.01, 0.03, 0.1, 0.3, 1.0], 0.1,
                                             key=f"{key}-C"))


# label -> (form, for networks?) ; the engine refuses a step that does not fit and says why.
TECHNIQUES: dict[str, tuple[Callable[[str], CompressStep], bool]] = {
    "int8 dynamic": (_int8_dynamic, True), "int8 static (calibrated)": (_int8_static, True),
    "int4 weight-only": (_int4, True), "bf16 / fp16 cast": (_cast, True),
    "magnitude pruning": (_unstructured(PruneMagnitude), True),
    "gradient-saliency pruning": (_unstructured(PruneSaliency), True),
    "structured pruning": (_structured, True), "fine-tune": (_fine_tune, True),
    "distillation": (_distill, True), "fewer/shallower trees": (_forest, False),
    "L1-sparse linear model": (_sparsify, False), "float32 storage": (lambda key: Float32Storage(), False),
}


def chain_form(neural: bool, key: str = "cx") -> tuple[CompressStep, ...]:
    """A chain of steps in the order picked, each with its settings."""
    options = [k for k, (_, for_nets) in TECHNIQUES.items() if for_nets == neural]
    picked = st.multiselect("Techniques, applied in the order picked", options, default=options[:1],
                            key=f"{key}-chain")
    steps = []
    for i, label in enumerate(picked):
        with st.expander(f"{i + 1}. {label}", expanded=True):
            steps.append(TECHNIQUES[label][0](f"{key}-{i}-{label}"))
    return tuple(steps)


def show_compression(result: ExperimentResult, key: str = "cx") -> None:
    """Before and after: the sentence, the four metrics, notes, scatter, histograms and table."""
    before, *after = result.results
    records = [r.to_record() for r in result.results]
    if before.status != "done":
        st.error(f"{before.name} did not train: {before.error}")
        return
    b = records[0]
    for res, rec in zip(after, records[1:]):
        st.subheader(rec["name"])
        if rec["status"] != "done":
            st.error(f"{rec['name']} did not run: {rec['error']}")
            continue
        st.success(f"**{summarise(b, rec)}** (measured, against {b['name']})")
        cols = st.columns(4)
        cols[0].metric("Accuracy", f"{rec['accuracy']:.2%}",
                       f"{(rec['accuracy'] - b['accuracy']) * 100:+.2f} pts")
        cols[1].metric("Latency p50, batch 1", f"{rec['latency_ms_p50']:.3f} ms",
                       f"{rec['latency_ms_p50'] - b['latency_ms_p50']:+.3f} ms", delta_color="inverse")
        cols[2].metric("Saved size", f"{rec['size_bytes'] / 1024:,.1f} KB",
                       f"{(rec['size_bytes'] - b['size_bytes']) / 1024:+,.1f} KB", delta_color="inverse")
        cols[3].metric("Non-zero parameters", f"{rec['n_nonzero_params']:,}",
                       f"{rec['n_nonzero_params'] - b['n_nonzero_params']:+,}", delta_color="inverse")
        if rec["nominal"]:
            claimed = ", ".join(f"{k.replace('_', ' ')} {v:.3g}" for k, v in rec["nominal"].items())
            st.caption(f"Nominal (claimed by the technique): {claimed}. Realised (measured): "
                       f"{b['size_bytes'] / rec['size_bytes']:.2f}x size, "
                       f"{b['latency_ms_p50'] / rec['latency_ms_p50']:.2f}x batch-1 speed, "
                       f"{rec['artifact_format']} artifact.")
        for note in rec["notes"]:
            st.info(note)
        st.plotly_chart(histogram_figure(before.model, res.model, rec["name"]),
                        key=f"{key}-hist-{rec['name']}")
    done = report.measured(records)
    st.plotly_chart(report.pareto_scatter(done), key=f"{key}-scatter")
    st.dataframe(report.metrics_table(records), hide_index=True)
    with st.expander("How these figures were measured"):
        st.write(result.how_measured)


def histogram_figure(before, after, name: str) -> go.Figure:
    """Weight histograms before and after (log counts, so zeros and the grid both show)."""
    fig = go.Figure()
    for label, model, color in (("before", before, "#888"), (name, after, "#d62728")):
        h = weight_histogram(model) if model is not None else None
        if h is None:
            continue
        mids = [(a + b) / 2 for a, b in zip(h.edges, h.edges[1:])]
        fig.add_bar(x=mids, y=h.counts, name=f"{label}: {h.n_zero:,} of {h.n_values:,} zero, "
                    f"{h.n_distinct:,} distinct values", marker_color=color, opacity=0.6)
    fig.update_layout(title="Weights before and after (matrices and kernels; count, log scale)",
                      barmode="overlay", yaxis_type="log", height=320, xaxis_title="weight value",
                      margin=dict(t=50, b=40, l=60, r=20), legend=dict(orientation="h", y=-0.3))
    return fig


SWEEP_AXES = {"sparsity": "sparsity", "bits": "bits per weight", "student": "student parameters"}


def sweep_figure(points: list, kind: str) -> go.Figure:
    """Accuracy against the swept setting, with latency and size on a second axis."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=3, subplot_titles=("Accuracy (%)", "Latency p50, batch 1 (ms)",
                                                        "Saved size (KB)"))
    for series in dict.fromkeys(p.series for p in points):
        pts = sorted((p for p in points if p.series == series), key=lambda p: p.x)
        xs = [p.x for p in pts]
        for col, ys in ((1, [p.accuracy * 100 for p in pts]), (2, [p.latency_ms_p50 for p in pts]),
                        (3, [p.size_bytes / 1024 for p in pts])):
            fig.add_scatter(x=xs, y=ys, mode="lines+markers", name=series, legendgroup=series,
                            showlegend=col == 1, text=[p.label for p in pts], row=1, col=col)
    fig.update_xaxes(title_text=SWEEP_AXES[kind], type="log" if kind == "student" else "linear")
    fig.update_layout(title=f"Accuracy, latency and size against {SWEEP_AXES[kind]} (measured)", height=360)
    return fig
