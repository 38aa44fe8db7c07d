"""Train: one model trained several ways (precision, parallelism, optimiser, regularisation)."""

import streamlit as st

from core import CandidateSpec, ExperimentSpec, TrainSpec, run
from core.models import MODELS
from ui.forms import measure_form, model_form, train_form
from ui.jobs_view import follow, submit
from ui.state import model_cache, require_dataset
from ui.train_view import show_training, variants_form

st.title("Train")
st.caption("The same network from the same seed, trained several ways and compared on wall-clock "
           "time, throughput, time to a target accuracy and final accuracy. Where a technique does "
           "not help on this machine, the sentences under the run say so from the measurement.")
dataset_spec, data = require_dataset()
st.caption(f"Dataset **{dataset_spec.name}**: {len(data.y_train)} training rows, {data.n_features} "
           f"features, {data.n_classes} classes. Change it on the Data page.")

kinds = [k for k, info in MODELS.items()
         if info.default.is_neural and (not info.needs_images or data.image_shape)]
kind = st.selectbox("Network", kinds, format_func=lambda k: f"{MODELS[k].label} — {MODELS[k].family}",
                    key="tr-kind")
with st.expander("Network and base training settings (every variant starts from these)"):
    model = model_form(kind, f"tr-{kind}", data.n_features, data.n_classes)
    base = train_form("tr-base", TrainSpec(epochs=5))
variants = variants_form(base, key="tr")
target = st.slider("Target validation accuracy (for time-to-accuracy)", 0.5, 1.0, 0.9, 0.01, key="tr-target")
measure = measure_form("tr-measure")

if st.button("Train all variants", type="primary", disabled=not variants, key="tr-run"):
    spec = ExperimentSpec(dataset_spec, tuple(CandidateSpec(n, model, t) for n, t in variants), measure)
    submit("train-job", f"Training {len(variants)} variants of {MODELS[kind].label}",
           lambda p, s: run(spec, p, s, cache=model_cache()), spec=spec)

job = follow("train-job")
if job is not None:
    if job.status == "failed":
        st.error(f"The training comparison failed: {job.error}")
    elif job.result is not None:
        st.caption(f"Finished in {job.elapsed_seconds:.1f} s, one variant after another (variants "
                   "already trained with the same settings are reused, not retrained).")
        show_training(job.result, data, target, key="tr")
