"""Background jobs: long work runs on worker threads, outside any page script.

A page submits a job and returns at once; every rerun (and every other browser tab) reads the
job's progress from the manager, and a Stop button sets the job's stop flag, which the engine
polls through ``should_stop``. At most ``max_running`` jobs run at once; the rest wait in order.

With a `core.store.RunStore`, an experiment job is also a run in the store: queued when
submitted, running with its progress while it works, then done, cancelled or failed with its
results and model artifacts. Other processes (the CLI, a restarted server) see it there, and a
job cut off by the server stopping shows as ``interrupted`` at the next start.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from .paths import DataDirError
from .train.loop import Progress, StopCheck

log = logging.getLogger(__name__)

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
    timed_out: bool = False            # stopped by the manager's time limit, not by the user
    submitted_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    run_id: str | None = None          # the run in the store that records this job, if any
    store_error: str | None = None     # why recording it in the store failed (the job itself ran)
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

    def __init__(self, max_running: int = 1, keep_finished: int = 50, store=None,
                 max_seconds: float | None = None):
        self.max_running = max_running
        self.max_seconds = max_seconds  # a job still running after this long is asked to stop
        self.keep_finished = keep_finished
        self.store = store  # a core.store.RunStore, or None to keep jobs in memory only
        self._jobs: dict[str, Job] = {}
        self._fns: dict[str, JobFn] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def submit(self, title: str, fn: JobFn, owner: str | None = None, spec=None,
               tags: tuple[str, ...] = ()) -> Job:
        """Queue ``fn``; with an ExperimentSpec (or its dict) and a store, record it as a run.

        Without ``spec``, a job whose result is an ExperimentResult is still stored, once it ends.
        """
        job = Job(f"job-{next(self._ids)}", title, owner)
        if self.store is not None and spec is not None:
            spec_dict = spec.to_dict() if hasattr(spec, "to_dict") else dict(spec)
            self._record(job, lambda: setattr(job, "run_id", self.store.create_run(
                spec_dict, name=title, status="queued", tags=tuple(tags))))
        with self._lock:
            self._jobs[job.id] = job
            self._fns[job.id] = fn
            self._prune()
        self._start_waiting()
        return job

    def job_for_run(self, run_id: str) -> Job | None:
        """The job of this process that records run ``run_id`` (None if another process runs it)."""
        with self._lock:
            return next((j for j in self._jobs.values() if j.run_id == run_id), None)

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
            cancelled = job.status == "queued"
            if cancelled:  # never started: cancel it in place
                job.status, job.message, job.finished_at = "cancelled", "cancelled before it started", time.time()
                self._fns.pop(job.id, None)
        if cancelled and job.run_id:
            self._record(job, lambda: self.store.set_status(job.run_id, "cancelled", message=job.message))

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
        record = None
        if job.run_id:
            self._record(job, lambda: self.store.set_status(job.run_id, "running", message="starting"))
            record = self.store.progress_writer(job.run_id)

        def progress(fraction: float, message: str) -> None:
            job.fraction, job.message = min(max(fraction, 0.0), 1.0), message
            if record is not None:
                record(job.fraction, message)

        def should_stop() -> bool:
            if self.max_seconds is not None and time.time() - job.started_at > self.max_seconds:
                job.timed_out = True
                return True
            return job._stop.is_set()

        result = error = detail = None
        try:
            result = fn(progress, should_stop)
            if job.timed_out:
                status, message = "cancelled", (f"stopped after the job time limit of "
                                                f"{self.max_seconds:g} s (TRADEOFF_LAB_MAX_JOB_SECONDS)")
            elif job._stop.is_set():
                status, message = "cancelled", "stopped by the user"
            else:
                status, message = "done", "finished"
        except Exception as exc:  # reported on the job; the page shows the message
            status, error = "failed", str(exc) or type(exc).__name__
            message, detail = error, traceback.format_exc()
        try:
            self._store_outcome(job, result, status, message, error)
        finally:
            job.result, job.error, job.error_detail = result, error, detail
            job.finished_at = time.time()
            if status == "done":
                job.fraction = 1.0
            job.message = message
            # Last: pages and wait() see the job finished only once its run is stored.
            job.status = status
            self._start_waiting()

    # -- the store ---------------------------------------------------------------------------

    def _record(self, job: Job, write: Callable[[], Any]) -> None:
        """Run one store write; a failure is kept on the job, never raised into the work."""
        try:
            write()
        except Exception as exc:
            job.store_error = f"the run could not be recorded: {exc}"
            # A read-only or full data directory is explained by its message; anything else is a bug.
            log.warning("job %s: %s", job.id, job.store_error, exc_info=not isinstance(exc, DataDirError))

    def _store_outcome(self, job: Job, result: Any, status: str, message: str,
                       error: str | None) -> None:
        if self.store is None:
            return
        from .experiment import ExperimentResult
        from .lm.experiment import LanguageResult

        storable = isinstance(result, (ExperimentResult, LanguageResult))
        if job.run_id is None and storable:
            self._record(job, lambda: setattr(job, "run_id", self.store.record(result, name=job.title)))
        elif job.run_id and storable:
            final = "cancelled" if status == "cancelled" or result.cancelled else "done"
            self._record(job, lambda: self.store.save_result(job.run_id, result, status=final))
        elif job.run_id:
            self._record(job, lambda: self.store.set_status(job.run_id, status, message=message,
                                                            error=error))
