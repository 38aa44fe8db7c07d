"""Do we need deep learning for this table? Deep and classical models on several datasets."""

import plotly.graph_objects as go
import streamlit as st

from core import report
from core.specs import BUILTIN_DATASETS, DatasetSpec
from core.tabular_verdict import DEFAULT_DATASETS, do_we_need_deep_learning, verdict_candidates, verdict_in
from ui.forms import dataset_label
from ui.i18n import language, t
from ui.jobs_view import follow, submit
from ui.state import current_dataset, model_cache

st.title(t("verdict.title"))
st.caption(t("verdict.intro"))

# Tables only: digits is an image, but its 64 pixels are also a fair table for this question.
options = {ds.name: ds for ds in DEFAULT_DATASETS}
options.update({name: DatasetSpec(name) for name in BUILTIN_DATASETS if name not in options})
mine = current_dataset()
if mine.name == "csv":
    options = {"csv": mine, **options}
default = ["csv"] if mine.name == "csv" else [ds.name for ds in DEFAULT_DATASETS]
chosen = st.multiselect(t("verdict.datasets"), list(options), default=default,
                        format_func=lambda n: t("verdict.your_csv") if n == "csv" else dataset_label(n))
epochs = st.slider(t("verdict.epochs"), 5, 60, 30, key="verdict-epochs",
                   help=t("verdict.epochs_help"))
st.caption(t("verdict.contestants", names=", ".join(c.name for c in verdict_candidates())))

if st.button(t("verdict.run"), type="primary", disabled=not chosen):
    datasets, candidates = tuple(options[n] for n in chosen), verdict_candidates(epochs)
    submit("verdict-job", t("verdict.job", n=len(datasets)),
           lambda p, s: do_we_need_deep_learning(datasets, candidates, on_progress=p, should_stop=s,
                                                 cache=model_cache()))

job = follow("verdict-job")
if job is not None and job.status == "failed":
    st.error(t("verdict.failed", error=job.error))
elif job is not None and job.result is not None:
    verdict = verdict_in(job.result, language())   # sentences in the language shown now
    st.subheader(verdict["summary"])
    st.caption(verdict["rule"])
    fig = go.Figure()
    for side, family in (("deep", "large"), ("classical", "small")):
        for d in verdict["datasets"]:
            best = d.get(f"best_{side}")
            row = next((r for r in d["rows"] if r["name"] == best), None)
            fig.add_bar(x=[d["dataset"]], y=[100 * row["accuracy"] if row else None],
                        name=t(f"verdict.side_{side}"), legendgroup=side, showlegend=d is verdict["datasets"][0],
                        marker_color=report.FAMILY_COLORS[family], text=[best or ""], textposition="inside")
    fig.update_layout(barmode="group", title=t("verdict.chart_title"), yaxis_title=t("verdict.chart_axis"),
                      height=380, margin=dict(t=60, b=40, l=60, r=20))
    st.plotly_chart(fig, key="verdict-chart")
    for d in verdict["datasets"]:
        icon = {"deep": ":material/neurology:", "classical": ":material/park:"}.get(d["verdict"], ":material/balance:")
        st.markdown(f"{icon} **{d['dataset']}** — {d['message']}")
        with st.expander(t("verdict.all_models", name=d["dataset"])):
            st.dataframe([{t("verdict.col_model"): r["name"], t("verdict.col_family"): r["family"],
                           t("verdict.col_accuracy"): None if r["accuracy"] is None else round(100 * r["accuracy"], 2),
                           t("verdict.col_latency"): r["latency_ms_p50"],
                           t("verdict.col_size"): r["size_bytes"], t("verdict.col_params"): r["n_params"],
                           t("verdict.col_train"): round(r["train_seconds"], 2),
                           t("verdict.col_error"): r["error"] or ""} for r in d["rows"]], hide_index=True)
    with st.expander(t("verdict.how_measured")):
        st.write(verdict["how_measured"])
