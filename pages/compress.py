"""Compress: apply techniques to a copy of a trained model and see what they really buy."""

import streamlit as st

from core import CandidateSpec, ExperimentSpec, run
from core.compress import run_sweep
from core.models import MODELS
from ui.compress_view import chain_form, show_compression, sweep_figure
from ui.forms import measure_form, model_form, train_form
from ui.jobs_view import follow, submit
from ui.state import model_cache, require_dataset

st.title("Compress")
st.caption("Every technique runs on a copy of the trained model; nominal effects (sparsity, bits) "
           "are shown beside the realised ones, measured by the same harness as everything else.")
dataset_spec, data = require_dataset()

kinds = [k for k, info in MODELS.items() if not info.needs_images or data.image_shape]
kind = st.selectbox("Model to compress", kinds, key="cx-kind",
                    format_func=lambda k: f"{MODELS[k].label} — {MODELS[k].family}",
                    help="Trained once with these settings; a model trained with the same settings "
                    "on another page is reused, not retrained.")
with st.expander("Model and training settings"):
    model = model_form(kind, f"cx-{kind}", data.n_features, data.n_classes)
    train = train_form(f"cx-{kind}-train") if model.is_neural else None
parent = CandidateSpec(MODELS[kind].label, model, **({"train": train} if train else {}))

tab_one, tab_sweep = st.tabs(["Compress", "Sweep"])
with tab_one:
    steps = chain_form(model.is_neural)
    measure = measure_form("cx-measure")
    if st.button("Compress and measure", type="primary", disabled=not steps, key="cx-run"):
        name = " → ".join(s.kind for s in steps)
        derived = CandidateSpec(name, parent=parent.name, compress=steps, train=parent.train)
        spec = ExperimentSpec(dataset_spec, (parent, derived), measure)
        submit("compress-job", f"Compressing {parent.name}: {name}",
               lambda p, s: run(spec, p, s, cache=model_cache()), spec=spec)
    job = follow("compress-job")
    if job is not None:
        if job.status == "failed":
            st.error(f"Compression failed: {job.error}")
        elif job.result is not None:
            st.caption(f"Finished in {job.elapsed_seconds:.1f} s.")
            show_compression(job.result)

with tab_sweep:
    sweeps = {"sparsity": "Accuracy against sparsity (magnitude pruning, 0–95%)",
              "bits": "Accuracy against bit width (fp32, bf16, int8, int4)",
              "student": "Accuracy against student size (distilled and labels-only control)"}
    if not model.is_neural:
        st.info("Sweeps act on PyTorch networks; pick an MLP or CNN above.")
    sweep = st.radio("Sweep", list(sweeps), format_func=sweeps.get, key="cx-sweep")
    if st.button("Run sweep", disabled=not model.is_neural, key="cx-sweep-run"):
        submit("sweep-job", f"Sweep of {parent.name}: {sweep}",
               lambda p, s: (sweep, run_sweep(sweep, dataset_spec, parent, on_progress=p,
                                              should_stop=s, cache=model_cache())))
    sweep_job = follow("sweep-job")
    if sweep_job is not None:
        if sweep_job.status == "failed":
            st.error(f"The sweep failed: {sweep_job.error}")
        elif sweep_job.result is not None:
            kind_done, points = sweep_job.result
            st.plotly_chart(sweep_figure(points, kind_done), key="cx-sweep-chart")
            st.dataframe([p.to_dict() for p in points], hide_index=True)
            st.caption("Sweep timing: batch 1, 3 warm-up calls, at least 20 calls and 0.2 s per point "
                       f"(at most 1 s), {points[0].n_threads if points else 2} threads.")
