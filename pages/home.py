"""Home: what the tool is for, and the one-click quick comparison."""

from dataclasses import replace

import streamlit as st

from core import load_spec, run
from core.models import MODELS
from ui.forms import model_label
from ui.i18n import t
from ui.jobs_view import follow, submit
from ui.paths import QUICKSTART_SPEC
from ui.results_view import show_results
from ui.state import model_cache

st.title(t("home.title"))
st.markdown(t("home.intro"))

spec = load_spec(QUICKSTART_SPEC)
# Models named after their kind are shown (and their results stored) in the page's language.
spec = replace(spec, candidates=tuple(
    replace(c, name=model_label(c.model.kind)) if c.model is not None and c.name == MODELS[c.model.kind].label
    else c for c in spec.candidates))
st.subheader(t("home.quick_title"))
st.write(t("home.quick_text", names=", ".join(c.name for c in spec.candidates)))

if st.button(t("home.quick_button"), type="primary"):
    submit("home-job", t("home.quick_job"), lambda p, s: run(spec, p, s, cache=model_cache()), spec=spec)

job = follow("home-job")
if job is not None:
    if job.status == "failed":
        st.error(t("home.failed", error=job.error))
    elif job.result is not None:
        st.success(t("home.done", seconds=f"{job.elapsed_seconds:.1f}"))
        show_results(job.result, key="home")

st.divider()
c1, c2, c3 = st.columns(3)
c1.markdown(t("home.card_data"))
c2.markdown(t("home.card_compare"))
c3.markdown(t("home.card_measured"))
