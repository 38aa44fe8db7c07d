import threading
import time

from core.jobs import JobManager


def test_job_reports_progress_and_result():
    jobs = JobManager()

    def work(progress, should_stop):
        progress(0.5, "half way")
        return 42

    job = jobs.submit("answer", work, owner="me")
    done = jobs.wait(job.id, timeout=10)
    assert done.status == "done" and done.result == 42 and done.fraction == 1.0
    assert jobs.jobs(owner="me") == [done] and jobs.jobs(owner="other") == []


def test_stop_sets_the_flag_the_work_polls():
    jobs = JobManager()
    started = threading.Event()

    def work(progress, should_stop):
        started.set()
        while not should_stop():
            time.sleep(0.01)
        return "partial"

    job = jobs.submit("loop", work)
    assert started.wait(5)
    jobs.stop(job.id)
    assert jobs.wait(job.id, timeout=5).status == "cancelled"


def test_only_max_running_jobs_run_and_the_rest_queue():
    jobs = JobManager(max_running=1)
    release = threading.Event()
    first = jobs.submit("first", lambda p, s: release.wait(5))
    second = jobs.submit("second", lambda p, s: "ran")
    time.sleep(0.1)
    assert first.status == "running" and second.status == "queued"
    release.set()
    assert jobs.wait(second.id, timeout=5).result == "ran"


def test_a_queued_job_can_be_cancelled_and_a_failure_keeps_its_message():
    jobs = JobManager(max_running=1)
    release = threading.Event()
    blocker = jobs.submit("blocker", lambda p, s: release.wait(5))
    queued = jobs.submit("never", lambda p, s: "ran")
    jobs.stop(queued.id)
    assert queued.status == "cancelled"
    release.set()
    jobs.wait(blocker.id, timeout=5)

    def boom(p, s):
        raise ValueError("TrainSpec.lr must be in (0, 10]; got 0")

    failed = jobs.wait(jobs.submit("bad", boom).id, timeout=5)
    assert failed.status == "failed" and "TrainSpec.lr" in failed.error


def test_a_job_over_the_time_limit_is_stopped_with_a_message():
    jobs = JobManager(max_seconds=0.2)

    def forever(progress, should_stop):
        while not should_stop():
            time.sleep(0.01)

    job = jobs.wait(jobs.submit("long", forever).id, timeout=5)
    assert job.status == "cancelled" and job.timed_out
    assert "job time limit of 0.2 s" in job.message
