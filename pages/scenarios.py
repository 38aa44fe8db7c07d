"""Scenarios: one-click stories that run a small real comparison and say what it found."""

import streamlit as st

from core import run
from core.scenarios import SCENARIO_MEASURE, SCENARIOS, TOLERANCE_POINTS, narrate
from ui.i18n import language, t
from ui.jobs_view import follow, submit
from ui.results_view import show_results
from ui.state import model_cache

JOB_KEY, RAN_KEY = "scenario-job", "scenario-ran"
lang = language()

st.title(t("scenarios.title"))
st.markdown(t("scenarios.intro"))

key = st.radio(t("scenarios.story"), list(SCENARIOS), format_func=lambda k: SCENARIOS[k].title_in(lang),
               key="scenario-choice")
scenario = SCENARIOS[key]
st.markdown(t("scenarios.what_runs", summary=scenario.summary_in(lang)))
st.caption(t("scenarios.timing", threads=SCENARIO_MEASURE.n_threads, warmup=SCENARIO_MEASURE.warmup,
             repeats=SCENARIO_MEASURE.min_repeats, seconds=f"{SCENARIO_MEASURE.min_seconds:g}",
             max_seconds=f"{SCENARIO_MEASURE.max_seconds:g}", tolerance=f"{TOLERANCE_POINTS:g}"))

if st.button(t("scenarios.run"), type="primary"):
    spec = scenario.spec(lang=lang)
    st.session_state[RAN_KEY] = key
    submit(JOB_KEY, t("scenarios.job", title=scenario.title_in(lang)),
           lambda p, s: run(spec, p, s, cache=model_cache()), spec=spec)

job = follow(JOB_KEY)
if job is not None:
    ran = SCENARIOS[st.session_state.get(RAN_KEY, key)]
    if job.status == "failed":
        st.error(t("scenarios.failed", error=job.error))
    elif job.result is not None:
        # One keyed container per story, so the sentences can be found (st-key-scenario-story).
        with st.container(key="scenario-story"):
            st.subheader(ran.title_in(lang))
            if job.result.cancelled:
                st.warning(t("scenarios.stopped"))
            records = [r.to_record() for r in job.result.results]
            for sentence in narrate(ran.key, records, lang):
                st.markdown(f"- {sentence}")
        st.caption(t("scenarios.measured", seconds=f"{job.elapsed_seconds:.0f}"))
        show_results(job.result, key="scenario")
