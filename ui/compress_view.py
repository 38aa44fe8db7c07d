"""Widgets and drawings for the Compress page: step settings, before/after, histograms, sweeps."""

from __future__ import annotations

import re
from typing import Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core import report
from core.compress import summarise, weight_histogram
from core.experiment import ExperimentResult
from core.measure import how_measured_in
from core.specs import (CastWeights, CompressStep, Distill, FineTune, Float32Storage, PruneMagnitude,
                        PruneSaliency, PruneStructured, QuantizeDynamic, QuantizeInt4, QuantizeStatic,
                        ShrinkForest, SparsifyLinear, TinyMLPSpec)

from .i18n import language, note_text, t


def _int8_dynamic(key):
    names = {"per_channel": t("compress.per_channel"), "per_tensor": t("compress.per_tensor")}
    g = st.radio(t("compress.weight_scales"), list(names), format_func=names.get, horizontal=True,
                 key=f"{key}-g")
    return QuantizeDynamic(granularity=g)


def _int8_static(key):
    n = st.select_slider(t("compress.calibration_rows"), [16, 64, 256, 1024], 256, key=f"{key}-n")
    return QuantizeStatic(calibration_samples=n)


def _int4(key):
    return QuantizeInt4(group_size=st.select_slider(t("compress.group_size"), [32, 64, 128], 64,
                                                    key=f"{key}-g"))


def _cast(key):
    return CastWeights(dtype=st.radio(t("compress.cast_type"), ["bf16", "fp16"], horizontal=True,
                                      key=f"{key}-t"))


def _unstructured(cls):
    def form(key):
        c1, c2, c3 = st.columns(3)
        scopes = {"global": t("compress.scope_global"), "layer": t("compress.scope_layer")}
        storages = {"bitmask": t("compress.storage_bitmask"), "csr": t("compress.storage_csr"),
                    "dense": t("compress.storage_dense")}
        kernels = {"auto": t("compress.kernels_auto"), "dense": t("compress.kernels_dense"),
                   "sparse": t("compress.kernels_sparse")}
        amount = c1.slider(t("compress.sparsity"), 0.0, 0.95, 0.8, 0.05, key=f"{key}-a")
        scope = c2.radio(t("compress.threshold"), list(scopes), format_func=scopes.get, horizontal=True,
                         key=f"{key}-s")
        epochs = c3.slider(t("compress.fine_tune_epochs"), 0, 5, 1, key=f"{key}-ft")
        c1, c2 = st.columns(2)
        storage = c1.selectbox(t("compress.saved_as"), list(storages), format_func=storages.get,
                               key=f"{key}-st")
        execution = c2.selectbox(t("compress.kernels"), list(kernels), format_func=kernels.get,
                                 key=f"{key}-ex", help=t("compress.kernels_help"))
        return cls(amount=amount, scope=scope, fine_tune_epochs=epochs, storage=storage, execution=execution)
    return form


def _structured(key):
    c1, c2 = st.columns(2)
    amount = c1.slider(t("compress.units_removed"), 0.0, 0.95, 0.75, 0.05, key=f"{key}-a")
    epochs = c2.slider(t("compress.fine_tune_epochs"), 0, 5, 1, key=f"{key}-ft")
    return PruneStructured(amount=amount, fine_tune_epochs=epochs, fine_tune_lr_scale=0.5)


def _fine_tune(key):
    return FineTune(epochs=st.slider(t("compress.epochs"), 1, 10, 1, key=f"{key}-e"))


def _distill(key):
    c1, c2, c3 = st.columns(3)
    width = c1.select_slider(t("compress.student_width"), [8, 16, 32, 64, 128], 32, key=f"{key}-w")
    labels = c2.select_slider(t("compress.labels_seen"), [0.02, 0.05, 0.1, 0.2, 0.5, 1.0], 0.1,
                              key=f"{key}-l", format_func=lambda f: f"{f:.0%}")
    epochs = c3.slider(t("compress.epochs"), 5, 100, 30, 5, key=f"{key}-e")
    c1, c2 = st.columns(2)
    temperature = c1.select_slider(t("compress.temperature"), [1.0, 2.0, 4.0, 8.0], 4.0, key=f"{key}-t")
    alpha = c2.slider(t("compress.soft_loss_weight"), 0.0, 1.0, 0.9, 0.05, key=f"{key}-a")
    return Distill(student=TinyMLPSpec(hidden=(width,)), temperature=temperature, alpha=alpha,
                   epochs=epochs, label_fraction=labels)


def _forest(key):
    c1, c2 = st.columns(2)
    n = c1.slider(t("compress.trees_kept"), 1, 200, 20, key=f"{key}-n")
    depth = c2.slider(t("compress.max_depth"), 0, 30, 0, key=f"{key}-d")
    return ShrinkForest(n_estimators=n, max_depth=depth or None)


def _sparsify(key):
    return SparsifyLinear(C=st.select_slider(t("compress.sparsify_c"), [0.01, 0.03, 0.1, 0.3, 1.0], 0.1,
                                             key=f"{key}-C"))


# id (the English label) -> (form, for networks?) ; the engine refuses a step that does not fit and
# says why. The ids stay stable across languages so a picked chain survives a language switch.
TECHNIQUES: dict[str, tuple[Callable[[str], CompressStep], bool]] = {
    "int8 dynamic": (_int8_dynamic, True), "int8 static (calibrated)": (_int8_static, True),
    "int4 weight-only": (_int4, True), "bf16 / fp16 cast": (_cast, True),
    "magnitude pruning": (_unstructured(PruneMagnitude), True),
    "gradient-saliency pruning": (_unstructured(PruneSaliency), True),
    "structured pruning": (_structured, True), "fine-tune": (_fine_tune, True),
    "distillation": (_distill, True), "fewer/shallower trees": (_forest, False),
    "L1-sparse linear model": (_sparsify, False), "float32 storage": (lambda key: Float32Storage(), False),
}


def technique_labels() -> dict[str, str]:
    """Each technique id with its label in the page's language."""
    return {
        "int8 dynamic": t("compress.tech_int8_dynamic"),
        "int8 static (calibrated)": t("compress.tech_int8_static"),
        "int4 weight-only": t("compress.tech_int4"), "bf16 / fp16 cast": t("compress.tech_cast"),
        "magnitude pruning": t("compress.tech_magnitude"),
        "gradient-saliency pruning": t("compress.tech_saliency"),
        "structured pruning": t("compress.tech_structured"), "fine-tune": t("compress.tech_fine_tune"),
        "distillation": t("compress.tech_distill"), "fewer/shallower trees": t("compress.tech_forest"),
        "L1-sparse linear model": t("compress.tech_sparse_linear"),
        "float32 storage": t("compress.tech_float32"),
    }


def chain_form(neural: bool, key: str = "cx") -> tuple[CompressStep, ...]:
    """A chain of steps in the order picked, each with its settings."""
    labels = technique_labels()
    options = [k for k, (_, for_nets) in TECHNIQUES.items() if for_nets == neural]
    picked = st.multiselect(t("compress.techniques"), options, default=options[:1],
                            format_func=labels.get, key=f"{key}-chain")
    steps = []
    for i, label in enumerate(picked):
        with st.expander(f"{i + 1}. {labels[label]}", expanded=True):
            steps.append(TECHNIQUES[label][0](f"{key}-{i}-{label}"))
    return tuple(steps)


def show_compression(result: ExperimentResult, key: str = "cx") -> None:
    """Before and after: the sentence, the four metrics, notes, scatter, histograms and table."""
    lang = language()
    before, *after = result.results
    records = [r.to_record() for r in result.results]
    if before.status != "done":
        st.error(t("compress.did_not_train", name=before.name, error=before.error))
        return
    b = records[0]
    for res, rec in zip(after, records[1:]):
        st.subheader(rec["name"])
        if rec["status"] != "done":
            st.error(t("compress.did_not_run", name=rec["name"], error=note_text(rec["error"])))
            continue
        st.success(t("compress.summary", sentence=summarise(b, rec, lang=lang), name=b["name"]))
        cols = st.columns(4)
        cols[0].metric(t("compress.accuracy"), f"{rec['accuracy']:.2%}",
                       t("compress.points", delta=f"{(rec['accuracy'] - b['accuracy']) * 100:+.2f}"))
        cols[1].metric(t("compress.latency"), f"{rec['latency_ms_p50']:.3f} ms",
                       f"{rec['latency_ms_p50'] - b['latency_ms_p50']:+.3f} ms", delta_color="inverse")
        cols[2].metric(t("compress.saved_size"), f"{rec['size_bytes'] / 1024:,.1f} KB",
                       f"{(rec['size_bytes'] - b['size_bytes']) / 1024:+,.1f} KB", delta_color="inverse")
        cols[3].metric(t("compress.nonzero"), f"{rec['n_nonzero_params']:,}",
                       f"{rec['n_nonzero_params'] - b['n_nonzero_params']:+,}", delta_color="inverse")
        if rec["nominal"]:
            names = _nominal_names()
            claimed = t("compress.separator").join(f"{names.get(k) or k.replace('_', ' ')} {v:.3g}"
                                                   for k, v in rec["nominal"].items())
            st.caption(t("compress.nominal", claimed=claimed,
                         size_ratio=f"{b['size_bytes'] / rec['size_bytes']:.2f}",
                         speed_ratio=f"{b['latency_ms_p50'] / rec['latency_ms_p50']:.2f}",
                         format=rec["artifact_format"]))
        for note in rec["notes"]:
            st.info(note_text(note))
        st.plotly_chart(histogram_figure(before.model, res.model, rec["name"]),
                        key=f"{key}-hist-{rec['name']}")
    done = report.measured(records)
    st.plotly_chart(report.pareto_scatter(done, lang=lang), key=f"{key}-scatter")
    st.dataframe(report.metrics_table(records, lang), hide_index=True)
    with st.expander(t("compress.how_measured")):
        st.write(how_measured_in(result.how_measured, lang))


def _nominal_names() -> dict[str, str]:
    """Labels for the nominal effects the engine reports; an unknown one shows its own name."""
    return {"sparsity": t("compress.nominal_sparsity"), "bits": t("compress.nominal_bits"),
            "trees_kept": t("compress.nominal_trees_kept"),
            "units_removed": t("compress.nominal_units_removed"),
            "params_removed": t("compress.nominal_params_removed"),
            "label_fraction": t("compress.nominal_label_fraction"),
            "student_params": t("compress.nominal_student_params")}


def histogram_figure(before, after, name: str) -> go.Figure:
    """Weight histograms before and after (log counts, so zeros and the grid both show)."""
    fig = go.Figure()
    for label, model, color in ((t("compress.hist_before"), before, "#888"), (name, after, "#d62728")):
        h = weight_histogram(model) if model is not None else None
        if h is None:
            continue
        mids = [(a + b) / 2 for a, b in zip(h.edges, h.edges[1:])]
        fig.add_bar(x=mids, y=h.counts, name=t("compress.hist_trace", label=label, n_zero=f"{h.n_zero:,}",
                                               n_values=f"{h.n_values:,}", n_distinct=f"{h.n_distinct:,}"),
                    marker_color=color, opacity=0.6)
    fig.update_layout(title=t("compress.hist_title"),
                      barmode="overlay", yaxis_type="log", height=320, xaxis_title=t("compress.weight_value"),
                      margin=dict(t=50, b=40, l=60, r=20), legend=dict(orientation="h", y=-0.3))
    return fig


def sweep_labels() -> tuple[dict[str, str], dict[str, str]]:
    """Each sweep id with its description and its short name, in the page's language."""
    return ({"sparsity": t("compress.sweep_sparsity"), "bits": t("compress.sweep_bits"),
             "student": t("compress.sweep_student")},
            {"sparsity": t("compress.short_sparsity"), "bits": t("compress.short_bits"),
             "student": t("compress.short_student")})


def _sweep_axes() -> dict[str, str]:
    return {"sparsity": t("compress.axis_sparsity"), "bits": t("compress.axis_bits"),
            "student": t("compress.axis_student")}


_SERIES = {"weights": "compress.series_weights", "magnitude": "compress.series_magnitude",
           "distilled": "compress.series_distilled", "labels-only control": "compress.series_control"}


def series_name(series: str) -> str:
    """A sweep series as stored (``"distilled"``), named in the page's language."""
    return t(_SERIES[series]) if series in _SERIES else series


def point_label(label: str) -> str:
    """A sweep point's label as stored (``"32 units"``, ``"int8"``, ``"50%"``) in the page's language."""
    m = re.fullmatch(r"(\d+) units", label)
    return t("compress.point_units", n=m.group(1)) if m else label


def sweep_table(points: list) -> pd.DataFrame:
    """The sweep's points, one row each, with column headers in the page's language."""
    headers = {"sweep": t("compress.col_sweep"), "series": t("compress.col_series"),
               "label": t("compress.col_label"), "x": t("compress.col_x"),
               "accuracy": t("compress.col_accuracy"), "latency_ms_p50": t("compress.col_latency"),
               "throughput_sps": t("compress.col_throughput"), "size_bytes": t("compress.col_size"),
               "n_params": t("compress.col_params"), "n_nonzero_params": t("compress.col_nonzero"),
               "n_threads": t("compress.col_threads")}
    short = sweep_labels()[1]
    rows = [{**p.to_dict(), "sweep": short.get(p.sweep, p.sweep), "series": series_name(p.series),
             "label": point_label(p.label)} for p in points]
    return pd.DataFrame(rows).rename(columns=headers)


def sweep_figure(points: list, kind: str) -> go.Figure:
    """Accuracy against the swept setting, with latency and size on a second axis."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=3, subplot_titles=(t("compress.sub_accuracy"), t("compress.sub_latency"),
                                                        t("compress.sub_size")))
    for series in dict.fromkeys(p.series for p in points):
        pts = sorted((p for p in points if p.series == series), key=lambda p: p.x)
        xs = [p.x for p in pts]
        for col, ys in ((1, [p.accuracy * 100 for p in pts]), (2, [p.latency_ms_p50 for p in pts]),
                        (3, [p.size_bytes / 1024 for p in pts])):
            fig.add_scatter(x=xs, y=ys, mode="lines+markers", name=series_name(series), legendgroup=series,
                            showlegend=col == 1, text=[point_label(p.label) for p in pts], row=1, col=col)
    axis = _sweep_axes()[kind]
    fig.update_xaxes(title_text=axis, type="log" if kind == "student" else "linear")
    fig.update_layout(title=t("compress.sweep_title", axis=axis), height=360)
    return fig
