"""Hogwild!: N processes update one shared-memory model without locks.

The parent moves the module's parameters into shared memory; every worker process maps the same
storage, takes its own DistributedSampler shard of each epoch with full ``spec.batch_size``
batches and its own optimiser, and writes its updates straight into the shared weights. Nothing
is synchronised per step, so a worker's gradient may be computed on weights that another worker
has changed in the meantime (staleness): cheap coordination, noisier updates. Workers only meet
at the start, when the run ends (so rank 0 can restore a saved state safely), and on Stop.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.multiprocessing as mp
from torch import nn

from ..specs import TrainSpec
from .loop import (EpochRecord, Progress, StopCheck, TrainHistory, WorkerContext, cpu_cores, train_module,
                   training_device)
from .pruning import make_masks
from .workers import launch, param_sha256, threads_per_worker

# Seconds a worker waits at a meeting point before it gives up (the parent then cleans up).
_BARRIER_SECONDS = 600.0


def train_hogwild(module: nn.Module, X: np.ndarray, y: np.ndarray, spec: TrainSpec,
                  on_progress: Progress | None = None, should_stop: StopCheck | None = None) -> TrainHistory:
    """Train ``module`` in place with ``spec.n_workers`` lock-free processes sharing its weights."""
    on_progress = on_progress or (lambda f, m: None)
    should_stop = should_stop or (lambda: False)
    if training_device(spec).type != "cpu":
        raise ValueError("TrainSpec.parallel 'hogwild' shares CPU memory between processes; "
                         f"got precision {spec.precision!r}, which trains on CUDA")
    module.share_memory()
    masks = None
    if spec.prune_sparsity > 0:  # one mask set for everyone; rank 0 decides, all apply
        masks = [m.share_memory_() for m in make_masks(module)]
    barrier = mp.get_context("spawn").Barrier(spec.n_workers)
    threads = threads_per_worker(spec.n_workers)
    payloads, user_stopped, launch_seconds = launch(
        _worker, spec.n_workers, (module, X, y, spec, threads, barrier, masks), on_progress, should_stop)
    history = _merge([p["history"] for p in payloads], user_stopped)
    shas = [p["sha"] for p in payloads]
    parent_sha = param_sha256(module)
    history.setup.update({
        "parallel": "hogwild", "n_workers": spec.n_workers,
        "launcher": "torch.multiprocessing (spawn)", "cpu_cores": cpu_cores(),
        "threads_per_worker": threads, "total_threads": threads * spec.n_workers,
        "launch_seconds": launch_seconds,
        "startup_seconds": max(0.0, launch_seconds - history.train_seconds),
        "worker_steps": [p["steps"] for p in payloads],
        "worker_param_sha256": shas, "parent_param_sha256": parent_sha,
        # Workers trained on different shards, so only one storage explains equal checksums.
        "storage_shared": len(set(shas)) == 1 and shas[0] == parent_sha,
        "workers_saw_shared_tensors": all(p["is_shared"] for p in payloads)})
    return history


def _worker(rank: int, world: int, report, stop_event, module: nn.Module, X, y, spec: TrainSpec,
            threads: int, barrier, masks) -> dict:
    torch.set_num_threads(threads)
    steps = [0]

    def count(_module: nn.Module, step: int) -> None:
        steps[0] = step

    def meet() -> None:
        barrier.wait(_BARRIER_SECONDS)

    ctx = WorkerContext(rank=rank, world=world, split_batch=False, evaluates=rank == 0,
                        restores=rank == 0, halt=stop_event.set, prune_masks=masks,
                        owns_masks=rank == 0, before_finish=meet)
    progress = (lambda f, m: report("progress", (f, m))) if rank == 0 else None
    meet()  # every worker is up: the clock starts together
    history = train_module(module, X, y, spec, progress, stop_event.is_set, on_step=count, ctx=ctx)
    meet()  # rank 0 has restored/pruned; now the shared weights are final
    return {"history": history, "sha": param_sha256(module), "steps": steps[0],
            "is_shared": all(p.is_shared() for p in module.parameters())}


def _merge(histories: list[TrainHistory], user_stopped: bool) -> TrainHistory:
    """One history for the run: training figures summed or averaged over workers, validation
    from rank 0 (evaluated on the shared weights), wall-clock the slowest worker's."""
    first = histories[0]
    merged = TrainHistory(setup=dict(first.setup), best_epoch=first.best_epoch)
    n_epochs = min(len(h.epochs) for h in histories)
    for e in range(n_epochs):
        rows = [h.epochs[e] for h in histories]
        merged.epochs.append(EpochRecord(
            e + 1, max(r.wall_seconds for r in rows), sum(r.train_loss for r in rows) / len(rows),
            sum(r.train_accuracy for r in rows) / len(rows), rows[0].val_loss, rows[0].val_accuracy,
            rows[0].lr, sum(r.samples_seen for r in rows)))
    merged.n_samples_seen = sum(h.n_samples_seen for h in histories)
    merged.train_seconds = max(h.train_seconds for h in histories)
    reasons = {h.stop_reason: h for h in histories}
    if user_stopped:
        merged.stop_reason, merged.message = "cancelled", "Stopped by the user."
    else:
        for reason in ("diverged", "early_stopping", "completed"):
            if reason in reasons:
                merged.stop_reason, merged.message = reason, reasons[reason].message
                break
    return merged


__all__ = ["train_hogwild"]
