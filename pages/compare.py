"""Compare: large and small models trained on the same data and measured by one harness."""

import streamlit as st

from core import CandidateSpec, ExperimentSpec, run
from core.models import MODELS
from ui.forms import measure_form, model_choice, model_form, model_heading, model_label, train_form
from ui.i18n import t
from ui.jobs_view import follow, submit
from ui.results_view import show_results
from ui.state import model_cache, require_dataset

st.title(t("compare.title"))
dataset_spec, data = require_dataset()
st.caption(t("compare.dataset_caption", name=dataset_spec.name, n_train=len(data.y_train),
             n_features=data.n_features, n_classes=data.n_classes))

kinds = [k for k, info in MODELS.items() if not info.needs_images or data.image_shape]
choices = {k: model_choice(k) for k in kinds}   # rendered now, in the page's language
chosen = st.multiselect(
    t("compare.models"), kinds, default=["mlp", "logistic_regression", "rbf_svm", "random_forest"],
    format_func=choices.get)

candidates = []
for kind in chosen:
    with st.expander(model_heading(kind)):
        model = model_form(kind, f"cmp-{kind}", data.n_features, data.n_classes)
        train = train_form(f"cmp-{kind}-train") if model.is_neural else None
    candidates.append(CandidateSpec(model_label(kind), model, **({"train": train} if train else {})))
measure = measure_form("cmp-measure")

if st.button(t("compare.run"), type="primary", disabled=not candidates):
    spec = ExperimentSpec(dataset_spec, tuple(candidates), measure)
    submit("compare-job", t("compare.job", n=len(candidates)),
           lambda p, s: run(spec, p, s, cache=model_cache()), spec=spec)

job = follow("compare-job")
if job is not None:
    if job.status == "failed":
        st.error(t("compare.failed", error=job.error))
    elif job.result is not None:
        st.caption(t("compare.finished", seconds=f"{job.elapsed_seconds:.1f}"))
        show_results(job.result, key="compare")
