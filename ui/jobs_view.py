"""Submitting engine work as a background job and following it from any page."""

from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from core.jobs import Job
from core.train.loop import Progress, StopCheck

from .i18n import t
from .state import job_manager, run_store, session_id

POLL_SECONDS = 1.0


def submit(state_key: str, title: str, fn: Callable[[Progress, StopCheck], Any], spec=None) -> Job:
    """Start ``fn`` as this session's job and remember its id under ``state_key``.

    With the experiment's ``spec`` the job is recorded in the run store from the start (queued,
    running with progress, then its results), so History and other processes can follow it.
    """
    job = job_manager().submit(title, fn, owner=session_id(), spec=spec)
    st.session_state[state_key] = job.id
    return job


def follow(state_key: str) -> Job | None:
    """Show the progress and a Stop button while the job runs; return it once it has finished.

    The progress box re-runs on its own every half second (a fragment); when the job ends it
    reruns the whole page so the caller can draw the results.
    """
    job_id = st.session_state.get(state_key)
    job = job_manager().get(job_id) if job_id else None
    if job is None:
        return None
    if not job.active:
        if job.store_error:  # the results below are real, but History will not have them
            st.warning(t("jobs.not_stored", error=job.store_error), icon=":material/folder_off:")
        return job

    @st.fragment(run_every=POLL_SECONDS)
    def _progress() -> None:
        live = job_manager().get(job_id)
        if live is None or not live.active:
            st.rerun()
        st.progress(live.fraction, text=t("jobs.progress", title=live.title, message=live.message,
                                          seconds=f"{live.elapsed_seconds:.0f}"))
        if st.button(t("jobs.stop"), key=f"stop-{job_id}", type="secondary"):
            job_manager().stop(job_id)
            st.toast(t("jobs.stopping"))

    _progress()
    return None


def running_jobs_summary() -> None:
    """Sidebar lines for every active job (all sessions: they share the same cores), and for runs
    that another process (the command line, another server) is recording in the same store."""
    manager = job_manager()
    active = [j for j in manager.jobs() if j.active]
    elsewhere = [r for r in run_store().list_runs(status=("queued", "running"), limit=20)
                 if manager.job_for_run(r.id) is None]
    if not active and not elsewhere:
        st.caption(t("jobs.none_running"))
        return
    for job in active:
        mine = t("jobs.yours") if job.owner == session_id() else ""
        st.caption(":material/hourglass_top: " + t("jobs.running_line", title=job.title, mine=mine,
                                                    status=job.status, fraction=f"{job.fraction:.0%}"))
    for r in elsewhere:
        st.caption(":material/hourglass_top: " + t("jobs.running_line", title=r.name, mine=t("jobs.elsewhere"),
                                                    status=r.status, fraction=f"{r.progress:.0%}"))
