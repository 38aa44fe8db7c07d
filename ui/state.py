"""Engine objects shared by every session, and per-session state."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.experiment import ModelCache
from core.jobs import JobManager
from core.limits import Limits
from core.paths import DataDirError, data_dir_error, is_data_dir_os_error
from core.specs import DatasetSpec
from core.store import RunStore, data_home

DATASET_KEY = "dataset_spec"


@st.cache_resource
def model_cache() -> ModelCache:
    """Trained models and measurements, shared across sessions (entries are never mutated)."""
    return ModelCache()


@st.cache_resource
def _run_store(home: str) -> RunStore:
    return RunStore(home)


_PROBLEM_SHOWN = "_data_dir_problem_shown"


def run_store() -> RunStore:
    """The run store of the data directory, shared by every session (keyed by its path).

    When the data directory cannot be used (read-only, full, not a folder) the page stops with
    the message. A store that cannot be opened is not cached: the page recovers once it is fixed.
    """
    try:
        return _run_store(str(data_home()))
    except DataDirError as exc:
        if st.session_state.get(_PROBLEM_SHOWN) != str(exc):  # not already said by the app shell
            st.error(str(exc), icon=":material/folder_off:")
        st.stop()


def show_store_problem() -> bool:
    """Say at the top of the page why runs cannot be stored, if so; whether the store is open.

    Covers a store that cannot be opened and one whose last write failed (e.g. a full disk).
    """
    try:
        problem, is_open = _run_store(str(data_home())).last_write_error, True
    except DataDirError as exc:
        problem, is_open = str(exc), False
    st.session_state[_PROBLEM_SHOWN] = problem
    if problem:
        st.error(problem, icon=":material/folder_off:")
    return is_open


def show_data_dir_error(exc: BaseException) -> bool:
    """Show the message for an error a page met using the data directory; False for other errors."""
    if isinstance(exc, DataDirError):
        message = str(exc)
    elif is_data_dir_os_error(exc):  # e.g. saving an upload into a read-only or full folder
        message = str(data_dir_error(exc, data_home(), "the uploaded file"))
    else:
        return False
    if st.session_state.get(_PROBLEM_SHOWN) != message:
        st.error(message, icon=":material/folder_off:")
    return True


@st.cache_resource
def _job_manager(home: str) -> JobManager:
    return JobManager(max_running=1, store=_run_store(home), max_seconds=Limits.from_env().max_job_seconds)


def job_manager() -> JobManager:
    """One job at a time: two jobs timing latency on the same cores would spoil each other's figures.

    Jobs are recorded in the run store of the current data directory (see `run_store`).
    """
    run_store()
    return _job_manager(str(data_home()))


def session_id() -> str:
    """This browser session's id: jobs are listed per session."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "local"


def current_dataset() -> DatasetSpec:
    """The dataset chosen on the Data page (digits until the user picks another)."""
    return st.session_state.get(DATASET_KEY) or DatasetSpec("digits")


def set_dataset(spec: DatasetSpec) -> None:
    st.session_state[DATASET_KEY] = spec


@st.cache_resource(max_entries=8, show_spinner="Loading the dataset…")
def _load_dataset(spec_hash: str, _spec: DatasetSpec):
    from core.data import load

    return load(_spec)


def load_dataset(spec: DatasetSpec):
    """The prepared dataset for ``spec``, shared across sessions (keyed by the spec's content)."""
    return _load_dataset(spec.spec_hash(), spec)


def require_dataset():
    """The chosen dataset's spec and prepared data; stops the page with a message if unusable."""
    from core.data import DataError

    from .i18n import language, t

    spec = current_dataset()
    try:
        return spec, load_dataset(spec)
    except DataError as exc:
        st.error(t("compare.dataset_error", error=exc.text(language())))
        st.stop()
