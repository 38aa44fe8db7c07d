"""Train page helpers: the variant picker and the drawing of a training comparison."""

from __future__ import annotations

import dataclasses

import streamlit as st

from core.data import Dataset
from core.experiment import ExperimentResult
from core.specs import TrainSpec
from core.measure import how_measured_in
from core.train.report import (curve_metric_labels, curves_figure, regularisation_view, throughput_figure,
                               trained, training_table, verdicts, weight_histogram_figure)

from .i18n import language, t

# Each variant is the base training settings with these fields changed. The ids (English names)
# stay stable across languages; the trained models are named in the page's language.
VARIANTS: dict[str, dict] = {
    "fp32, 1 process": {},
    "bf16 autocast": {"precision": "bf16"},
    "fp16 autocast (CUDA only)": {"precision": "fp16"},
    "DDP": {"parallel": "ddp"},
    "Hogwild!": {"parallel": "hogwild"},
    "Local SGD": {"parallel": "local_sgd"},
    "SGD + Nesterov": {"optimizer": "sgd", "nesterov": True, "momentum": 0.9},
    "AdamW": {"optimizer": "adamw", "weight_decay": 1e-2},
    "Cosine schedule": {"schedule": "cosine"},
    "One-cycle schedule": {"schedule": "onecycle"},
    "Step schedule": {"schedule": "step"},
    "Gradient clipping (1.0)": {"grad_clip": 1.0},
    "L2 weight decay": {"weight_decay": 1e-3},
    "L1 penalty": {"l1": 1e-4},
    "Early stopping": {"early_stopping_patience": 3},
    "Gradient pruning during training": {"prune_sparsity": 0.8, "prune_every": 20},
}
PARALLEL_NAMES = {"DDP", "Hogwild!", "Local SGD"}



def variant_labels() -> dict[str, str]:
    """Each variant id with its name in the page's language."""
    return {
        "fp32, 1 process": t("train.v_fp32"), "bf16 autocast": t("train.v_bf16"),
        "fp16 autocast (CUDA only)": t("train.v_fp16"), "DDP": t("train.v_ddp"),
        "Hogwild!": t("train.v_hogwild"), "Local SGD": t("train.v_local_sgd"),
        "SGD + Nesterov": t("train.v_nesterov"), "AdamW": t("train.v_adamw"),
        "Cosine schedule": t("train.v_cosine"), "One-cycle schedule": t("train.v_onecycle"),
        "Step schedule": t("train.v_step"), "Gradient clipping (1.0)": t("train.v_clip"),
        "L2 weight decay": t("train.v_l2"), "L1 penalty": t("train.v_l1"),
        "Early stopping": t("train.v_early_stopping"),
        "Gradient pruning during training": t("train.v_prune"),
    }


def variants_form(base: TrainSpec, key: str = "tr") -> list[tuple[str, TrainSpec]]:
    """The chosen variants, each a (name, TrainSpec) built from ``base``."""
    labels = variant_labels()
    ids = st.multiselect(t("train.variants"), list(VARIANTS), default=["fp32, 1 process", "bf16 autocast"],
                         format_func=labels.get, key=f"{key}-var")
    c1, c2, c3, c4 = st.columns(4)
    workers = c1.slider(t("train.workers"), 2, 8, 2, key=f"{key}-workers")
    sync = c2.select_slider(t("train.sync_every"), [1, 2, 4, 8, 16, 32], 8, key=f"{key}-sync")
    l1 = c3.select_slider(t("train.l1_strength"), [1e-5, 1e-4, 1e-3, 1e-2], 1e-4, key=f"{key}-l1")
    sparsity = c4.slider(t("train.prune_sparsity"), 0.1, 0.95, 0.8, 0.05, key=f"{key}-prune")
    out = []
    for vid in ids:
        change, name = dict(VARIANTS[vid]), labels[vid]
        if vid in PARALLEL_NAMES:
            change["n_workers"] = workers
            name = t("train.parallel_name", name=name, workers=workers)
        change.update({"sync_every": sync} if vid == "Local SGD" else {})
        change.update({"l1": l1} if "l1" in change else {})
        change.update({"prune_sparsity": sparsity} if "prune_sparsity" in change else {})
        out.append((name, dataclasses.replace(base, **change)))
    return out


def show_training(result: ExperimentResult, data: Dataset, target: float, key: str = "tr") -> None:
    """Verdicts, curves against epoch and wall-clock time, throughput, regularisation, the table."""
    lang = language()
    records = [r.to_record() for r in result.results]
    for sentence in verdicts(records, target, lang=lang):
        st.markdown(f"- {sentence}")
    if not trained(records):
        st.warning(t("train.none_trained"))
    curves = curve_metric_labels(lang)
    metric = st.radio(t("train.curve"), list(curves), format_func=curves.get, horizontal=True,
                      key=f"{key}-metric")
    left, right = st.columns(2)
    left.plotly_chart(curves_figure(records, metric, "epoch", lang=lang), key=f"{key}-by-epoch")
    right.plotly_chart(curves_figure(records, metric, "wall_seconds", lang=lang), key=f"{key}-by-time")
    st.plotly_chart(throughput_figure(records, lang=lang), key=f"{key}-throughput")
    st.dataframe(training_table(records, target, lang=lang), hide_index=True)
    views = {r.name: regularisation_view(r.model, data.X_train, data.y_train, data.X_test, data.y_test)
             for r in result.results if r.model is not None}
    views = {k: v for k, v in views.items() if v is not None}
    if views:
        with st.expander(t("train.regularisation"), expanded=False):
            st.plotly_chart(weight_histogram_figure(views, lang=lang), key=f"{key}-weights")
            st.dataframe([{t("train.col_variant"): k,
                           t("train.col_train_accuracy"): round(100 * v["train_accuracy"], 2),
                           t("train.col_test_accuracy"): round(100 * v["test_accuracy"], 2),
                           t("train.col_gap"): round(v["gap_points"], 2),
                           t("train.col_near_zero", threshold=f"{v['near_zero']:g}"):
                               round(100 * v["near_zero_fraction"], 1)}
                          for k, v in views.items()], hide_index=True)
    if any((r.get("history") or {}).get("setup", {}).get("parallel") in ("hogwild", "local_sgd")
           for r in records):
        st.caption(t("train.staleness"))
    st.caption(t("train.how_measured", details=how_measured_in(result.how_measured, lang)))
