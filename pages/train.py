"""Train: one model trained several ways (precision, parallelism, optimiser, regularisation)."""

import streamlit as st

from core import CandidateSpec, ExperimentSpec, TrainSpec, run
from core.models import MODELS
from ui.forms import measure_form, model_choice, model_form, model_label, train_form
from ui.i18n import t
from ui.jobs_view import follow, submit
from ui.state import model_cache, require_dataset
from ui.train_view import show_training, variants_form

st.title(t("train.title"))
st.caption(t("train.intro"))
dataset_spec, data = require_dataset()
st.caption(t("train.dataset_caption", name=dataset_spec.name, n_train=len(data.y_train),
             n_features=data.n_features, n_classes=data.n_classes))

kinds = [k for k, info in MODELS.items()
         if info.default.is_neural and (not info.needs_images or data.image_shape)]
choices = {k: model_choice(k) for k in kinds}   # rendered now, in the page's language
kind = st.selectbox(t("train.network"), kinds, format_func=choices.get, key="tr-kind")
with st.expander(t("train.settings")):
    model = model_form(kind, f"tr-{kind}", data.n_features, data.n_classes)
    base = train_form("tr-base", TrainSpec(epochs=5))
variants = variants_form(base, key="tr")
target = st.slider(t("train.target"), 0.5, 1.0, 0.9, 0.01, key="tr-target")
measure = measure_form("tr-measure")

if st.button(t("train.run"), type="primary", disabled=not variants, key="tr-run"):
    spec = ExperimentSpec(dataset_spec, tuple(CandidateSpec(n, model, ts) for n, ts in variants), measure)
    submit("train-job", t("train.job", n=len(variants), model=model_label(kind)),
           lambda p, s: run(spec, p, s, cache=model_cache()), spec=spec)

job = follow("train-job")
if job is not None:
    if job.status == "failed":
        st.error(t("train.failed", error=job.error))
    elif job.result is not None:
        st.caption(t("train.finished", seconds=f"{job.elapsed_seconds:.1f}"))
        show_training(job.result, data, target, key="tr")
