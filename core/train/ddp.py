"""Data-parallel training with torch.distributed: DDP, and local SGD with periodic averaging.

Every rank runs the shared training loop (`core.train.loop.train_module`) on its DistributedSampler
shard with ``spec.batch_size / world`` rows per step, so one DDP step sees the same global batch
as one single-process step. Metrics are summed over ranks and reported by rank 0. Backend: gloo
on CPU, nccl when training on CUDA devices.

Two ways to start it, one training code path:

* the dashboard and ``python -m core run``: `train_ddp` starts ``spec.n_workers`` local
  processes itself (torch.multiprocessing, spawn) and cleans them up on error or Stop;
* ``torchrun``: the same trainer finds torchrun's environment (RANK, WORLD_SIZE, MASTER_ADDR)
  and trains as that rank, on one machine or several::

      torchrun --standalone --nproc_per_node 2 -m core.train.ddp examples/training.yaml \
          --candidate "DDP x2" --out out/ddp
      # two machines, run on each with --node_rank 0 / 1:
      torchrun --nnodes 2 --nproc_per_node 2 --node_rank 0 --master_addr HOST0 \
          --master_port 29500 -m core.train.ddp examples/training.yaml --candidate "DDP x2" --out out/ddp

  Rank 0 measures the trained model with the usual harness and writes ``results.json``.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..specs import TrainSpec
from .loop import Progress, StopCheck, TrainHistory, WorkerContext, cpu_cores, train_module, training_device
from .workers import free_port, launch, param_sha256, threads_per_worker


def under_torchrun() -> bool:
    """True inside a process started by torchrun (or another env:// launcher)."""
    return all(k in os.environ for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"))


def train_ddp(module: nn.Module, X: np.ndarray, y: np.ndarray, spec: TrainSpec,
              on_progress: Progress | None = None, should_stop: StopCheck | None = None) -> TrainHistory:
    """Train ``module`` in place with DistributedDataParallel over ``spec.n_workers`` processes."""
    return _train_distributed(module, X, y, spec, on_progress, should_stop, "ddp")


def train_local_sgd(module: nn.Module, X: np.ndarray, y: np.ndarray, spec: TrainSpec,
                    on_progress: Progress | None = None,
                    should_stop: StopCheck | None = None) -> TrainHistory:
    """Local SGD: each rank steps on its own; parameters are averaged every ``spec.sync_every`` steps."""
    return _train_distributed(module, X, y, spec, on_progress, should_stop, "local_sgd")


def _train_distributed(module, X, y, spec, on_progress, should_stop, mode) -> TrainHistory:
    on_progress = on_progress or (lambda f, m: None)
    should_stop = should_stop or (lambda: False)
    if under_torchrun():
        return _torchrun_rank(module, X, y, spec, on_progress, should_stop, mode)
    training_device(spec)  # fp16 without CUDA: skipped before any process starts
    module.share_memory()  # rank 0 writes the trained weights back here
    threads = threads_per_worker(spec.n_workers)
    init_method = f"tcp://127.0.0.1:{free_port()}"
    payloads, user_stopped, launch_seconds = launch(
        _rank_main, spec.n_workers, (module, X, y, spec, init_method, mode, threads),
        on_progress, should_stop)
    history: TrainHistory = payloads[0]["history"]
    shas = [p["sha"] for p in payloads]
    history.setup.update({
        "parallel": mode, "n_workers": spec.n_workers, "launcher": "torch.multiprocessing (spawn)",
        "backend": payloads[0]["backend"], "cpu_cores": cpu_cores(), "threads_per_worker": threads,
        "total_threads": threads * spec.n_workers, "launch_seconds": launch_seconds,
        "startup_seconds": max(0.0, launch_seconds - history.train_seconds),
        "worker_param_sha256": shas, "replicas_identical": len(set(shas)) == 1})
    if user_stopped:
        history.stop_reason, history.message = "cancelled", "Stopped by the user."
    return history


def _rank_main(rank: int, world: int, report, stop_event, shared: nn.Module, X, y, spec: TrainSpec,
               init_method: str, mode: str, threads: int) -> dict:
    """One local worker process: join the group, train a private replica, report."""
    torch.set_num_threads(threads)
    device = training_device(spec, rank)
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, init_method=init_method, rank=rank, world_size=world,
                            timeout=timedelta(seconds=120))
    try:
        local = copy.deepcopy(shared)  # a private replica; DDP broadcasts rank 0's weights
        progress = (lambda f, m: report("progress", (f, m))) if rank == 0 else None
        history = _train_rank(local, X, y, spec, rank, world, device, progress, stop_event.is_set, mode)
        if rank == 0:
            shared.load_state_dict({k: v.cpu() for k, v in local.state_dict().items()})
        return {"history": history, "sha": param_sha256(local), "backend": backend}
    finally:
        dist.destroy_process_group()


def _torchrun_rank(module, X, y, spec, on_progress, should_stop, mode) -> TrainHistory:
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", world))
    threads = max(1, cpu_cores() // local_world)
    torch.set_num_threads(threads)
    device = training_device(spec, local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", init_method="env://",
                                timeout=timedelta(seconds=300))
    progress = on_progress if rank == 0 else None
    t0 = time.perf_counter()
    history = _train_rank(module, X, y, spec, rank, world, device, progress, should_stop, mode)
    module.to("cpu")
    shas = [None] * world
    dist.all_gather_object(shas, param_sha256(module))
    history.setup.update({
        "parallel": mode, "n_workers": world, "launcher": "torchrun", "backend": dist.get_backend(),
        "cpu_cores": cpu_cores(), "threads_per_worker": threads, "total_threads": threads * local_world,
        "nodes": world // max(local_world, 1), "launch_seconds": time.perf_counter() - t0,
        "worker_param_sha256": shas, "replicas_identical": len(set(shas)) == 1})
    return history


def _train_rank(local: nn.Module, X, y, spec: TrainSpec, rank: int, world: int, device: torch.device,
                on_progress, should_stop, mode: str) -> TrainHistory:
    local.to(device)

    def all_sum(values: list[float]) -> list[float]:
        t = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(t)
        return t.tolist()

    def all_sum_async(values: list[float]):
        t = torch.tensor(values, dtype=torch.float64, device=device)
        work = dist.all_reduce(t, async_op=True)
        return lambda: (work.wait(), t.tolist())[1]

    ctx = WorkerContext(rank=rank, world=world, all_sum=all_sum, all_sum_async=all_sum_async,
                        device=device)
    if mode == "ddp":
        ids = [device.index] if device.type == "cuda" else None
        ctx.forward = DistributedDataParallel(local, device_ids=ids)
    else:
        def average(module: nn.Module, step: int | None = None) -> None:
            if step is None or step % spec.sync_every == 0:
                _average_parameters(module, world)

        _average_parameters(local, world)  # start from one set of weights (rank 0's seed == all)
        ctx.after_step, ctx.epoch_end = average, average
    all_sum([0.0])  # a barrier: the clock starts when every rank is ready
    history = train_module(local, X, y, spec, on_progress, should_stop, ctx=ctx)
    if mode == "local_sgd":
        history.setup["sync_every"] = spec.sync_every
    return history


@torch.no_grad()
def _average_parameters(module: nn.Module, world: int) -> None:
    params = [p.data for p in module.parameters()]
    flat = torch._utils._flatten_dense_tensors(params)  # (sum numel,) one all-reduce for all
    dist.all_reduce(flat)
    flat /= world
    for p, f in zip(params, torch._utils._unflatten_dense_tensors(flat, params)):
        p.copy_(f)


# --------------------------------------------------------------------------------------------
# Entry point for torchrun (and a plain single-process run, which starts its own workers).


def main(argv: list[str] | None = None) -> int:
    """Train one candidate of a spec data-parallel; rank 0 measures it and writes results.json."""
    from ..data import load
    from ..experiment import CandidateResult, ExperimentResult
    from ..measure import environment, how_measured, measure
    from ..specfile import load_spec
    from ..specs import ExperimentSpec
    from . import fit_neural

    parser = argparse.ArgumentParser(prog="python -m core.train.ddp", description=main.__doc__)
    parser.add_argument("spec", help="YAML experiment spec")
    parser.add_argument("--candidate", help="candidate name; default: the first ddp/local_sgd one")
    parser.add_argument("--out", required=True, help="directory for results.json (rank 0)")
    args = parser.parse_args(argv)
    spec = load_spec(Path(args.spec))
    neural = [c for c in spec.candidates if c.model is not None and c.model.is_neural]
    pick = [c for c in neural if c.name == args.candidate] if args.candidate else \
        [c for c in neural if c.train.parallel in ("ddp", "local_sgd")] or neural
    if not pick:
        print(f"error: no trainable neural candidate {args.candidate or ''} in {args.spec}", file=sys.stderr)
        return 2
    cand = pick[0]
    train = cand.train
    if train.parallel not in ("ddp", "local_sgd"):
        train = dataclasses.replace(train, parallel="ddp")
    if under_torchrun():
        train = dataclasses.replace(train, n_workers=int(os.environ["WORLD_SIZE"]))
    cand = dataclasses.replace(cand, train=train)
    rank = int(os.environ.get("RANK", 0))
    data = load(spec.dataset)

    def progress(f: float, m: str) -> None:
        print(f"[rank {rank}] [{f:5.1%}] {cand.name}: {m}", file=sys.stderr)

    t0 = time.perf_counter()
    model, history = fit_neural(cand.model, train, data, progress)
    train_wall = time.perf_counter() - t0
    if under_torchrun():
        dist.barrier()
        dist.destroy_process_group()
    if rank != 0:
        return 0
    result = CandidateResult(cand.name, cand.model.family, cand.model.kind, settings=cand.to_dict(),
                             history=history, train_seconds=history.train_seconds, model=model)
    if history.message:
        result.notes += (history.message,)
    result.metrics = measure(model, data.X_test, data.y_test, spec.measure)
    one = ExperimentSpec(spec.dataset, (cand,), spec.measure)
    out = ExperimentResult(one, data.summary(), [result], environment(spec.measure.n_threads),
                           how_measured(spec.measure), {"train": train_wall})
    Path(args.out).mkdir(parents=True, exist_ok=True)
    path = Path(args.out) / "results.json"
    path.write_text(json.dumps(out.to_dict(), indent=2, default=str))
    print(f"{cand.name}: {history.setup.get('n_workers')} workers ({history.setup.get('launcher')}), "
          f"accuracy {result.metrics.accuracy:.2%}, {history.throughput_sps:.0f} samples/s, "
          f"replicas identical: {history.setup.get('replicas_identical')}; wrote {path}")
    return 0


__all__ = ["train_ddp", "train_local_sgd", "under_torchrun", "main"]

if __name__ == "__main__":
    sys.exit(main())
