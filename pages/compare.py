"""Compare: large and small models trained on the same data and measured by one harness."""

import streamlit as st

from core import CandidateSpec, DataError, ExperimentSpec, run
from core.models import MODELS
from ui.forms import measure_form, model_form, train_form
from ui.jobs_view import follow, submit
from ui.results_view import show_results
from ui.state import current_dataset, load_dataset, model_cache

st.title("Compare")
dataset_spec = current_dataset()
try:
    data = load_dataset(dataset_spec)
except DataError as exc:
    st.error(f"The chosen dataset cannot be used: {exc} Pick another one on the Data page.")
    st.stop()
st.caption(f"Dataset **{dataset_spec.name}**: {len(data.y_train)} training rows, {data.n_features} "
           f"features, {data.n_classes} classes. Change it on the Data page.")

kinds = [k for k, info in MODELS.items() if not info.needs_images or data.image_shape]
chosen = st.multiselect(
    "Models to compare", kinds, default=["mlp", "logistic_regression", "rbf_svm", "random_forest"],
    format_func=lambda k: f"{MODELS[k].label} — {MODELS[k].family}")

candidates = []
for kind in chosen:
    info = MODELS[kind]
    with st.expander(f"{info.label} ({info.family}): {info.description}"):
        model = model_form(kind, f"cmp-{kind}", data.n_features, data.n_classes)
        train = train_form(f"cmp-{kind}-train") if model.is_neural else None
    candidates.append(CandidateSpec(info.label, model, **({"train": train} if train else {})))
measure = measure_form("cmp-measure")

if st.button("Train and measure", type="primary", disabled=not candidates):
    spec = ExperimentSpec(dataset_spec, tuple(candidates), measure)
    submit("compare-job", f"Comparison of {len(candidates)} models",
           lambda p, s: run(spec, p, s, cache=model_cache()), spec=spec)

job = follow("compare-job")
if job is not None:
    if job.status == "failed":
        st.error(f"The comparison failed: {job.error}")
    elif job.result is not None:
        st.caption(f"Finished in {job.elapsed_seconds:.1f} s (models already trained with the same "
                   "settings are reused, not retrained).")
        show_results(job.result, key="compare")
