"""Background jobs: long work runs on worker threads, outside any page script.

A page submits a job and returns at once; every rerun (and every other browser tab) reads the
job's progress from the manager, and a Stop button sets the job's stop flag, which the engine
polls through ``should_stop``. At most ``max_running`` jobs run at once; the rest wait in order.
"""

from __future__ import annotations

import itertools
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from .train.loop import Progress, StopCheck

JobFn = Callable[[Progress, StopCheck], Any]


@dataclass
class Job:
    id: str
    title: str
    owner: str | None                  # e.g. a browser session id; None for shared jobs
    status: str = "queued"             # queued | running | done | failed | cancelled
    fraction: float = 0.0
    message: str = "waiting for a free worker"
    result: Any = None
    error: str | None = None
    error_detail: str | None = field(default=None, repr=False)  # traceback, for logs
    submitted_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def elapsed_seconds(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.time()) - self.started_at


class JobManager:
    """Runs submitted functions on daemon threads, ``max_running`` at a time."""

    def __init__(self, max_running: int = 1, keep_finished: int = 50):
        self.max_running = max_running
        self.keep_finished = keep_finished
        self._jobs: dict[str, Job] = {}
        self._fns: dict[str, JobFn] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def submit(self, title: str, fn: JobFn, owner: str | None = None) -> Job:
        with self._lock:
            job = Job(f"job-{next(self._ids)}", title, owner)
            self._jobs[job.id] = job
            self._fns[job.id] = fn
            self._prune()
        self._start_waiting()
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def jobs(self, owner: str | None = None) -> list[Job]:
        """Jobs newest first; all of them, or those of one owner."""
        with self._lock:
            jobs = [j for j in self._jobs.values() if owner is None or j.owner == owner]
        return sorted(jobs, key=lambda j: j.submitted_at, reverse=True)

    def stop(self, job_id: str) -> None:
        job = self._jobs.get(job_id)
        if job is None:
            return
        job._stop.set()
        with self._lock:
            if job.status == "queued":  # never started: cancel it in place
                job.status, job.message, job.finished_at = "cancelled", "cancelled before it started", time.time()
                self._fns.pop(job.id, None)

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Block until the job finishes (for the CLI and tests)."""
        deadline = None if timeout is None else time.time() + timeout
        job = self._jobs[job_id]
        while job.active:
            if deadline is not None and time.time() > deadline:
                raise TimeoutError(f"{job.title} still {job.status} after {timeout} s")
            time.sleep(0.02)
        return job

    # ----------------------------------------------------------------------------------------

    def _prune(self) -> None:
        finished = [j for j in self._jobs.values() if not j.active]
        finished.sort(key=lambda j: j.submitted_at)
        for job in finished[: max(0, len(finished) - self.keep_finished)]:
            del self._jobs[job.id]

    def _start_waiting(self) -> None:
        with self._lock:
            running = sum(j.status == "running" for j in self._jobs.values())
            waiting = sorted((j for j in self._jobs.values() if j.status == "queued"),
                             key=lambda j: j.submitted_at)
            to_start = waiting[: max(0, self.max_running - running)]
            for job in to_start:
                job.status, job.started_at, job.message = "running", time.time(), "starting"
        for job in to_start:
            threading.Thread(target=self._run, args=(job,), name=job.id, daemon=True).start()

    def _run(self, job: Job) -> None:
        fn = self._fns.pop(job.id)

        def progress(fraction: float, message: str) -> None:
            job.fraction, job.message = min(max(fraction, 0.0), 1.0), message

        try:
            job.result = fn(progress, job._stop.is_set)
            if job._stop.is_set():
                job.status, job.message = "cancelled", "stopped by the user"
            else:
                job.status, job.fraction, job.message = "done", 1.0, "finished"
        except Exception as exc:  # reported on the job; the page shows the message
            job.status, job.error = "failed", str(exc) or type(exc).__name__
            job.message = job.error
            job.error_detail = traceback.format_exc()
        finally:
            job.finished_at = time.time()
            self._start_waiting()
