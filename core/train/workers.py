"""Local worker processes for DDP, local SGD and Hogwild!: start, relay, stop, and clean up.

Workers are started with the ``spawn`` method (a fork of a multi-threaded server such as
Streamlit's is unsafe) as daemons, so they die with the parent. Each worker reports through one
queue: ``("progress", rank, (fraction, message))``, ``("done", rank, payload)`` or
``("error", rank, traceback)``. The parent relays progress, turns its ``should_stop()`` into a
shared stop event, and on any error, Stop or exception terminates every worker still alive
before it returns: no orphan processes. A worker whose parent dies (even by SIGKILL) exits
within a second.
"""

from __future__ import annotations

import hashlib
import os
import queue as queue_mod
import socket
import threading
import time
import traceback
from typing import Any, Callable

import torch
import torch.multiprocessing as mp
from torch import nn

from .loop import Progress, StopCheck, cpu_cores

# Seconds a worker may take to exit after it reported (or after Stop) before it is terminated.
_JOIN_SECONDS = 20.0


class WorkerFailed(RuntimeError):
    pass


def threads_per_worker(n_workers: int) -> int:
    """Intra-op threads for each of ``n_workers`` processes so that together they use each core once."""
    return max(1, cpu_cores() // n_workers)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def param_sha256(module: nn.Module) -> str:
    """Checksum of every parameter and buffer's bytes: equal only for bit-identical replicas."""
    h = hashlib.sha256()
    for name, t in module.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def launch(target: Callable[..., Any], n_workers: int, args: tuple, on_progress: Progress,
           should_stop: StopCheck) -> tuple[list[Any], bool, float]:
    """Run ``target(rank, n_workers, reporter, stop_event, *args)`` in ``n_workers`` processes.

    ``reporter(kind, payload)`` sends a message to the parent. Returns the payloads of every
    rank's "done" message in rank order, whether the user stopped the run, and the wall seconds
    from the first start to the last report. Raises `WorkerFailed` naming the rank on error.
    """
    ctx = mp.get_context("spawn")
    messages = ctx.Queue()
    stop_event = ctx.Event()
    procs = [ctx.Process(target=_entry, args=(target, rank, n_workers, messages, stop_event, *args),
                         daemon=True, name=f"tradeoff-worker-{rank}") for rank in range(n_workers)]
    results: dict[int, Any] = {}
    user_stopped = False
    t0 = time.perf_counter()
    try:
        for p in procs:
            p.start()
        while len(results) < n_workers:
            if not stop_event.is_set() and should_stop():
                user_stopped = True
                stop_event.set()
            try:
                kind, rank, payload = messages.get(timeout=0.1)
            except queue_mod.Empty:
                for rank, p in enumerate(procs):
                    if rank not in results and p.exitcode is not None:
                        _drain(messages, results)
                        if rank not in results:
                            raise WorkerFailed(f"worker {rank} exited with code {p.exitcode} "
                                               "without reporting") from None
                continue
            if kind == "progress":
                on_progress(*payload)
            elif kind == "error":
                raise WorkerFailed(f"worker {rank} failed: {payload.strip().splitlines()[-1]}\n{payload}")
            else:
                results[rank] = payload
        elapsed = time.perf_counter() - t0
    except BaseException:
        stop_event.set()
        _shutdown(procs, patience=2.0)
        raise
    finally:
        _shutdown(procs, patience=_JOIN_SECONDS)
        messages.close()
        messages.join_thread()
    return [results[r] for r in range(n_workers)], user_stopped, elapsed


def _drain(messages, results: dict) -> None:
    """Collect "done" messages that arrived just before a worker exited."""
    try:
        while True:
            kind, rank, payload = messages.get_nowait()
            if kind == "done":
                results[rank] = payload
    except queue_mod.Empty:
        pass


def _shutdown(procs: list, patience: float) -> None:
    deadline = time.monotonic() + patience
    for p in procs:
        if p.pid is not None:
            p.join(max(0.0, deadline - time.monotonic()))
    for p in procs:
        if p.pid is not None and p.is_alive():
            p.terminate()
            p.join(2.0)
        if p.pid is not None and p.is_alive():
            p.kill()
            p.join(2.0)


def _exit_with_parent(parent_pid: int) -> None:
    """Daemon processes are only cleaned up on a normal exit; this also covers a killed parent."""
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os._exit(1)


def _entry(target, rank, n_workers, messages, stop_event, *args) -> None:
    def report(kind: str, payload: Any) -> None:
        messages.put((kind, rank, payload))

    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    try:
        report("done", target(rank, n_workers, report, stop_event, *args))
    except BaseException:  # reported, then the parent shuts every worker down
        report("error", traceback.format_exc())


__all__ = ["launch", "threads_per_worker", "free_port", "param_sha256", "WorkerFailed"]
