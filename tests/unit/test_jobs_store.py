"""Background jobs recorded in the run store: visible to any page or process while they run."""

from __future__ import annotations

import threading
import time

import pytest

from core.experiment import run
from core.jobs import JobManager
from core.specs import CandidateSpec, DatasetSpec, ExperimentSpec, LogisticRegressionSpec, MeasureSpec
from core.store import RunStore

FAST = MeasureSpec(warmup=1, min_repeats=3, min_seconds=0.0, max_seconds=0.05, batch_size=32)
SPEC = ExperimentSpec(DatasetSpec("iris"), (CandidateSpec("lr", LogisticRegressionSpec()),), FAST)


def _until(check, timeout=10.0):
    deadline = time.time() + timeout
    while not check():
        assert time.time() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path)


def test_an_experiment_job_is_a_run_from_queued_to_done(store, tmp_path):
    jobs = JobManager(max_running=1, store=store)
    release = threading.Event()

    def work(progress, should_stop):
        progress(0.3, "training lr")
        release.wait(10)
        return run(SPEC, progress, should_stop)

    job = jobs.submit("My comparison", work, owner="tab-1", spec=SPEC, tags=("demo",))
    assert job.run_id is not None and jobs.job_for_run(job.run_id) is job
    # A second store over the same directory (another tab's session, the CLI) sees it running.
    other = RunStore(tmp_path)
    _until(lambda: other.get_run(job.run_id).summary.message == "training lr")
    live = other.get_run(job.run_id).summary
    assert live.status == "running" and live.progress == pytest.approx(0.3)
    assert live.name == "My comparison" and live.tags == ("demo",)
    release.set()
    jobs.wait(job.id, timeout=30)
    stored = other.get_run(job.run_id)
    assert stored.summary.status == "done" and stored.summary.progress == 1.0
    assert stored.records[0]["accuracy"] == job.result.results[0].metrics.accuracy
    assert [a.filename for a in stored.artifacts] == ["model.skops"]


def test_a_job_without_spec_is_stored_when_its_result_is_an_experiment(store):
    jobs = JobManager(store=store)
    job = jobs.wait(jobs.submit("later", lambda p, s: run(SPEC, p, s)).id, timeout=30)
    assert job.run_id and store.get_run(job.run_id).summary.status == "done"
    # Other work (not an experiment) is not stored.
    other = jobs.wait(jobs.submit("other", lambda p, s: 42).id, timeout=10)
    assert other.run_id is None and len(store.list_runs()) == 1


def test_stopped_queued_and_failed_jobs_are_recorded_as_such(store):
    jobs = JobManager(max_running=1, store=store)
    started, release = threading.Event(), threading.Event()

    def stoppable(progress, should_stop):
        started.set()
        while not should_stop():
            time.sleep(0.01)
        return run(SPEC, progress, should_stop)  # sees the stop flag at once: cancelled

    running = jobs.submit("running", stoppable, spec=SPEC)
    queued = jobs.submit("queued", lambda p, s: release.wait(5), spec=SPEC)
    assert started.wait(10)
    assert store.get_run(queued.run_id).summary.status == "queued"
    jobs.stop(queued.id)
    assert store.get_run(queued.run_id).summary.status == "cancelled"
    jobs.stop(running.id)
    jobs.wait(running.id, timeout=30)
    assert store.get_run(running.run_id).summary.status == "cancelled"

    def boom(p, s):
        raise ValueError("TrainSpec.lr must be in (0, 10]; got 0")

    failed = jobs.wait(jobs.submit("bad", boom, spec=SPEC).id, timeout=10)
    summary = store.get_run(failed.run_id).summary
    assert summary.status == "failed" and "TrainSpec.lr" in summary.error


def test_a_broken_store_does_not_break_the_job(store):
    jobs = JobManager(store=store)
    store.close()  # every write now fails
    job = jobs.wait(jobs.submit("x", lambda p, s: run(SPEC, p, s), spec=SPEC).id, timeout=30)
    assert job.status == "done" and job.store_error and "could not be recorded" in job.store_error
