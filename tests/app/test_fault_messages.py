"""The pages say what is wrong with the data directory (read-only, full, in the way), never a traceback.

Pages are driven through app.py, as the server runs them: AppTest alone would run a page of the
pages/ folder directly and skip the app shell, which is where a failing data directory is
reported (see `through_app_shell`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import streamlit.testing.v1.app_test as app_test_module
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from core.experiment import run
from core.specs import CandidateSpec, DatasetSpec, ExperimentSpec, LogisticRegressionSpec, MeasureSpec
from core.store import RunStore
from tests.unit.test_data_dir_faults import read_only
from ui.state import _run_store

from .conftest import REPO, wait_for

TIMEOUT = 60
FAST = MeasureSpec(warmup=1, min_repeats=3, min_seconds=0.0, max_seconds=0.05, batch_size=32)


class _NavigationPagesManager(PagesManager):
    """A pages manager that never falls back to the legacy pages/ folder mode.

    The server does the same from its second script run on: st.navigation switches that mode off
    for good. AppTest resets it before every run, so switch_page would otherwise run the page
    file on its own instead of through app.py.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        PagesManager.uses_pages_directory = False


@pytest.fixture
def through_app_shell(monkeypatch):
    monkeypatch.setattr(app_test_module, "PagesManager", _NavigationPagesManager)

    def open_page(page: str | None = None) -> AppTest:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
        if page:
            at.switch_page(page).run()
        return at

    return open_page


@pytest.fixture
def home() -> Path:
    return Path(os.environ["TRADEOFF_LAB_HOME"])  # per test, from tests/app/conftest.py


@pytest.fixture(scope="module")
def result():
    spec = ExperimentSpec(DatasetSpec("iris"), (CandidateSpec("logreg", LogisticRegressionSpec()),), FAST)
    return run(spec)


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_app_shell_really_runs_the_chosen_page(through_app_shell):
    at = through_app_shell("pages/history.py")
    assert not at.exception
    assert [t.value for t in at.title] == ["History"]
    assert any("Dataset:" in m.value for m in at.sidebar.markdown)  # app.py's sidebar ran too


def test_read_only_data_directory_is_said_on_every_page_and_runs_survive(through_app_shell, home, result):
    with RunStore(home) as store:
        kept = store.record(result, name="kept")
        before = store.get_run(kept).to_dict()
    with read_only(home):
        for page in (None, "pages/compare.py", "pages/train.py", "pages/history.py"):
            at = through_app_shell(page)
            assert not at.exception, (page, at.exception)
            message = f"The data directory {home} is read-only"
            assert sum(message in e for e in _errors(at)) == 1, (page, _errors(at))
            assert any("TRADEOFF_LAB_HOME to a writable folder" in e for e in _errors(at))
        # The History page cannot list runs from a store it cannot open; it stops after the message.
        assert not at.dataframe
    with RunStore(home) as store:
        assert store.integrity_check() == "ok"
        assert store.get_run(kept).to_dict() == before


def test_an_upload_into_a_read_only_data_directory_is_explained(through_app_shell, home):
    home.mkdir(parents=True)
    with read_only(home):
        at = through_app_shell("pages/data.py")
        at.selectbox(key="data-name").set_value("csv").run()
        at.file_uploader(key="data-upload").set_value(
            ("pets.csv", b"a,b,label\n" + b"1,2,x\n3,4,y\n" * 20, "text/csv")).run()
        assert not at.exception, at.exception
        assert any(f"The data directory {home} is read-only" in e for e in _errors(at)), _errors(at)
        assert not list(home.iterdir())


def test_a_file_in_the_way_of_the_data_directory_is_said(through_app_shell, home):
    home.write_text("not a folder")
    at = through_app_shell()
    assert not at.exception
    assert any(f"The data directory {home} is not a folder" in e for e in _errors(at)), _errors(at)
    assert [t.value for t in at.title] == ["Tradeoff Lab"]  # Home itself still works
    at = through_app_shell("pages/history.py")
    assert not at.exception and any("is not a folder" in e for e in _errors(at))
    assert home.read_text() == "not a folder"


def test_a_full_disk_while_a_job_stores_its_run_is_said_and_earlier_runs_survive(
        through_app_shell, home, result):
    at = through_app_shell("pages/history.py")
    store = _run_store(str(home))  # the store instance the pages share (same process)
    kept = store.record(result, name="kept")
    before = store.get_run(kept).to_dict()
    at.run()
    assert not at.exception and not _errors(at)
    # From now on SQLite cannot grow the database file: SQLITE_FULL, as on a full disk.
    store._conn.execute(f"PRAGMA max_page_count = {store._read('PRAGMA page_count')[0][0]}")
    at.button(key=f"rerun-{kept}").click().run()  # a background job that stores a new run
    wait_for(at, lambda a: any("is full" in e for e in _errors(a)), timeout=180)
    assert not at.exception
    message = next(e for e in _errors(at) if "is full" in e)
    assert str(home) in message and "Runs stored before are unchanged" in message
    assert "TRADEOFF_LAB_HOME" in message
    assert store.integrity_check() == "ok"
    assert store.get_run(kept).to_dict() == before
    assert all(r.id == kept or not r.n_candidates for r in store.list_runs())
    store._conn.execute("PRAGMA max_page_count = 1073741823")  # space freed: the next write clears it
    store.rename(kept, "kept, renamed")
    at.run()
    assert not any("is full" in e for e in _errors(at))


def test_results_of_a_job_that_could_not_be_stored_are_shown_with_a_warning(home, monkeypatch):
    """Compare on its own page: the disk fills up just as the finished comparison is stored. Its
    figures still appear, and the page says they were not stored (History will not list them)."""
    import errno

    from core.paths import data_dir_error
    from core.store import RunStore

    def full(self, *args, **kwargs):
        raise data_dir_error(OSError(errno.ENOSPC, "No space left on device"), home, "the run")

    monkeypatch.setattr(RunStore, "save_result", full)
    at = AppTest.from_file(str(REPO / "pages/compare.py"), default_timeout=TIMEOUT).run()
    at.multiselect[0].set_value(["logistic_regression"]).run()
    next(b for b in at.button if b.label == "Train and measure").click().run()
    wait_for(at, lambda a: len(a.dataframe) > 0, timeout=180)
    assert not at.exception
    warnings = [w.value for w in at.warning if "were not stored" in w.value]
    assert len(warnings) == 1 and f"The disk holding the data directory {home} is full" in warnings[0], warnings
