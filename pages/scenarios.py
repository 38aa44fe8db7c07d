"""Scenarios: one-click stories that run a small real comparison and say what it found."""

import streamlit as st

from core import run
from core.scenarios import SCENARIO_MEASURE, SCENARIOS, TOLERANCE_POINTS, narrate
from ui.jobs_view import follow, submit
from ui.results_view import show_results
from ui.state import model_cache

JOB_KEY, RAN_KEY = "scenario-job", "scenario-ran"

st.title("Scenarios")
st.markdown(
    "Each story asks one question a team meeting or a class might ask, runs a small comparison "
    "to answer it, and tells the answer in sentences written from the measured figures. Run it "
    "again on another machine, or after changing the engine, and the story may end differently.")

key = st.radio("Story", list(SCENARIOS), format_func=lambda k: SCENARIOS[k].title,
               key="scenario-choice")
scenario = SCENARIOS[key]
st.markdown(f"**What runs:** {scenario.summary}")
st.caption(
    f"Timing: {SCENARIO_MEASURE.n_threads} threads, {SCENARIO_MEASURE.warmup} warm-up calls, at "
    f"least {SCENARIO_MEASURE.min_repeats} timed calls and {SCENARIO_MEASURE.min_seconds:g} s per "
    f"latency figure (at most {SCENARIO_MEASURE.max_seconds:g} s). Accuracy differences up to "
    f"{TOLERANCE_POINTS:g} point count as a tie. Models already trained with the same settings "
    "are reused.")

if st.button("Run this story", type="primary"):
    spec = scenario.spec()
    st.session_state[RAN_KEY] = key
    submit(JOB_KEY, f"Scenario: {scenario.title}", lambda p, s: run(spec, p, s, cache=model_cache()),
           spec=spec)

job = follow(JOB_KEY)
if job is not None:
    ran = SCENARIOS[st.session_state.get(RAN_KEY, key)]
    if job.status == "failed":
        st.error(f"The story could not run: {job.error}")
    elif job.result is not None:
        st.subheader(ran.title)
        if job.result.cancelled:
            st.warning("The run was stopped, so the story is told from the models that finished.")
        records = [r.to_record() for r in job.result.results]
        for sentence in narrate(ran.key, records):
            st.markdown(f"- {sentence}")
        st.caption(f"Measured in {job.elapsed_seconds:.0f} s. Every figure behind these sentences "
                   "is below.")
        show_results(job.result, key="scenario")
