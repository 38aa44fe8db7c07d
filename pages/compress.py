"""Compress: apply techniques to a copy of a trained model and see what they really buy."""

import streamlit as st

from core import CandidateSpec, ExperimentSpec, run
from core.compress import run_sweep
from core.models import MODELS
from ui.compress_view import chain_form, show_compression, sweep_figure, sweep_labels, sweep_table
from ui.forms import measure_form, model_choice, model_form, model_label, train_form
from ui.i18n import t
from ui.jobs_view import follow, submit
from ui.state import model_cache, require_dataset

st.title(t("compress.title"))
st.caption(t("compress.intro"))
dataset_spec, data = require_dataset()

kinds = [k for k, info in MODELS.items() if not info.needs_images or data.image_shape]
choices = {k: model_choice(k) for k in kinds}   # rendered now, in the page's language
kind = st.selectbox(t("compress.model"), kinds, key="cx-kind", help=t("compress.model_help"),
                    format_func=choices.get)
with st.expander(t("compress.settings")):
    model = model_form(kind, f"cx-{kind}", data.n_features, data.n_classes)
    train = train_form(f"cx-{kind}-train") if model.is_neural else None
parent = CandidateSpec(model_label(kind), model, **({"train": train} if train else {}))

tab_one, tab_sweep = st.tabs([t("compress.tab_compress"), t("compress.tab_sweep")])
with tab_one:
    steps = chain_form(model.is_neural)
    measure = measure_form("cx-measure")
    if st.button(t("compress.run"), type="primary", disabled=not steps, key="cx-run"):
        name = " → ".join(s.kind for s in steps)
        derived = CandidateSpec(name, parent=parent.name, compress=steps, train=parent.train)
        spec = ExperimentSpec(dataset_spec, (parent, derived), measure)
        submit("compress-job", t("compress.job", parent=parent.name, steps=name),
               lambda p, s: run(spec, p, s, cache=model_cache()), spec=spec)
    job = follow("compress-job")
    if job is not None:
        if job.status == "failed":
            st.error(t("compress.failed", error=job.error))
        elif job.result is not None:
            st.caption(t("compress.finished", seconds=f"{job.elapsed_seconds:.1f}"))
            show_compression(job.result)

with tab_sweep:
    sweeps, short = sweep_labels()
    if not model.is_neural:
        st.info(t("compress.sweep_needs_network"))
    sweep = st.radio(t("compress.sweep"), list(sweeps), format_func=sweeps.get, key="cx-sweep")
    if st.button(t("compress.run_sweep"), disabled=not model.is_neural, key="cx-sweep-run"):
        submit("sweep-job", t("compress.sweep_job", parent=parent.name, sweep=short[sweep]),
               lambda p, s: (sweep, run_sweep(sweep, dataset_spec, parent, on_progress=p,
                                              should_stop=s, cache=model_cache())))
    sweep_job = follow("sweep-job")
    if sweep_job is not None:
        if sweep_job.status == "failed":
            st.error(t("compress.sweep_failed", error=sweep_job.error))
        elif sweep_job.result is not None:
            kind_done, points = sweep_job.result
            st.plotly_chart(sweep_figure(points, kind_done), key="cx-sweep-chart")
            st.dataframe(sweep_table(points), hide_index=True)
            st.caption(t("compress.sweep_timing", n_threads=points[0].n_threads if points else 2))
