"""Training techniques on examples/training.yaml: bf16 vs fp32, engine DDP vs plain DDP, Hogwild.

    .venv/bin/python benchmarks/training.py [--epochs 3] [--repeats 2]

Prints, for the 8.5 M-parameter MLP on digits (equal epochs everywhere):
  1. bf16 autocast throughput against fp32 and the test-accuracy difference;
  2. the engine's DDP x2 training time against a minimal plain torch DDP script doing the same
     work (same split, model, seed, optimiser and its fused kernel, per-rank batch, DistributedSampler, epochs, a
     validation pass on rank 0 each epoch, gloo, one thread per rank, spawned the same way);
  3. Hogwild! x2 against one process: samples/s and final test accuracy side by side;
  4. whether each target (bf16 >= 1.5x, DDP within 10% of plain DDP, ...) was met.
Every time is wall-clock (time.perf_counter); "loop" is from the moment all ranks are ready to
the end of the last epoch, "launch" adds process start-up. Each parallel run is repeated
``--repeats`` times in alternation and the fastest is kept, because the machine is shared.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from core.data import load  # noqa: E402
from core.specfile import load_spec  # noqa: E402
from core.train import fit_neural  # noqa: E402
from core.train.loop import cpu_cores, split_validation  # noqa: E402

PLAIN_DDP = r'''
"""Minimal plain torch DDP: the same work as the engine's DDP run, nothing else."""
import json, math, sys, time
import numpy as np, torch, torch.distributed as dist, torch.multiprocessing as mp
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler


def worker(rank, world, port, data_path, cfg, out_path):
    torch.set_num_threads(cfg["threads"])
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    d = np.load(data_path)
    X, y = torch.from_numpy(d["X"]), torch.from_numpy(d["y"])
    Xv, yv = torch.from_numpy(d["Xv"]), torch.from_numpy(d["yv"])
    torch.manual_seed(cfg["seed"])
    widths = [X.shape[1], *cfg["hidden"]]
    layers = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    layers.append(nn.Linear(widths[-1], cfg["n_classes"]))
    net = nn.Sequential(*layers)
    model = DistributedDataParallel(net)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"], fused=True)  # the engine's kernel
    sampler = DistributedSampler(range(len(y)), num_replicas=world, rank=rank, shuffle=True, seed=cfg["seed"])
    batch = math.ceil(cfg["batch_size"] / world)
    dist.barrier()
    t0 = time.perf_counter()
    for epoch in range(1, cfg["epochs"] + 1):
        sampler.set_epoch(epoch)
        order = torch.tensor(list(sampler))
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if rank == 0:
            with torch.no_grad():
                val_acc = float((net(Xv).argmax(1) == yv).float().mean())
    dist.barrier()
    loop = time.perf_counter() - t0
    if rank == 0:
        with torch.no_grad():
            acc = float((net(torch.from_numpy(d["Xt"])).argmax(1).numpy() == d["yt"]).mean())
        n = len(sampler) * world * cfg["epochs"]
        json.dump({"loop_seconds": loop, "samples": n, "test_accuracy": acc, "val_accuracy": val_acc},
                  open(out_path, "w"))
    dist.destroy_process_group()


if __name__ == "__main__":
    data_path, cfg_json, out_path, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    cfg = json.loads(cfg_json)
    t0 = time.perf_counter()
    mp.spawn(worker, args=(cfg["world"], port, data_path, cfg, out_path), nprocs=cfg["world"], join=True)
    res = json.load(open(out_path))
    res["launch_seconds"] = time.perf_counter() - t0
    print(json.dumps(res))
'''


def load_avg() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def engine_run(cand, data, label: str) -> dict:
    """Train one candidate through the engine's trainer; test accuracy on the held-out split."""
    t0 = time.perf_counter()
    model, history = fit_neural(cand.model, cand.train, data)
    wall = time.perf_counter() - t0
    acc = float((model.predict(data.X_test) == data.y_test).mean())
    s = history.setup
    row = {"label": label, "loop_seconds": history.train_seconds, "samples": history.n_samples_seen,
           "sps": history.throughput_sps, "test_accuracy": acc,
           "launch_seconds": s.get("launch_seconds", wall), "threads": s.get("threads_per_worker"),
           "workers": s.get("n_workers", 1), "stop": history.stop_reason,
           "replicas_identical": s.get("replicas_identical"), "storage_shared": s.get("storage_shared")}
    print(f"  {label:<22} loop {row['loop_seconds']:6.2f} s  launch {row['launch_seconds']:6.2f} s  "
          f"{row['sps']:7.0f} samples/s  test acc {acc:.2%}  ({row['workers']} worker(s) x "
          f"{row['threads']} thread(s); load {load_avg()})", flush=True)
    return row


def plain_ddp_run(cand, data, tmp: Path, threads: int) -> dict:
    from core.train.workers import free_port
    X_tr, y_tr, X_val, y_val = split_validation(data.X_train, data.y_train,
                                                cand.train.validation_fraction, cand.train.seed)
    npz = tmp / "data.npz"
    np.savez(npz, X=X_tr, y=y_tr, Xv=X_val, yv=y_val, Xt=data.X_test, yt=data.y_test)
    script = tmp / "plain_ddp.py"
    script.write_text(PLAIN_DDP)
    cfg = {"world": cand.train.n_workers, "threads": threads, "seed": cand.train.seed,
           "hidden": list(cand.model.hidden), "n_classes": data.n_classes, "lr": cand.train.lr,
           "batch_size": cand.train.batch_size, "epochs": cand.train.epochs}
    proc = subprocess.run([sys.executable, str(script), str(npz), json.dumps(cfg), str(tmp / "out.json"),
                           str(free_port())], capture_output=True, text=True, timeout=1200)
    if proc.returncode != 0:
        raise RuntimeError(f"plain DDP script failed:\n{proc.stderr[-2000:]}")
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    row["sps"] = row["samples"] / row["loop_seconds"]
    print(f"  {'plain torch DDP x2':<22} loop {row['loop_seconds']:6.2f} s  launch "
          f"{row['launch_seconds']:6.2f} s  {row['sps']:7.0f} samples/s  test acc "
          f"{row['test_accuracy']:.2%}  ({cfg['world']} workers x {threads} thread(s); load {load_avg()})",
          flush=True)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "examples" / "training.yaml"))
    parser.add_argument("--epochs", type=int, default=None, help="override every candidate's epochs")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each DDP variant (fastest kept)")
    args = parser.parse_args()
    spec = load_spec(Path(args.spec))
    cands = {c.name: c for c in spec.candidates}
    if args.epochs:
        cands = {n: dataclasses.replace(c, train=dataclasses.replace(c.train, epochs=args.epochs))
                 for n, c in cands.items()}
    fp32, bf16, ddp, hog = (cands[n] for n in ("fp32", "bf16 autocast", "DDP x2", "Hogwild x2"))
    data = load(spec.dataset)
    n_params = sum(a * b + b for a, b in zip((data.n_features, *fp32.model.hidden),
                                             (*fp32.model.hidden, data.n_classes)))
    print(f"Training benchmark: digits ({len(data.y_train)} train rows incl. a "
          f"{fp32.train.validation_fraction:.0%} validation slice, {len(data.y_test)} test rows), "
          f"MLP {data.n_features}-{'-'.join(map(str, fp32.model.hidden))}-{data.n_classes} "
          f"({n_params / 1e6:.2f} M parameters), {fp32.train.epochs} epochs, batch "
          f"{fp32.train.batch_size}, {fp32.train.optimizer} lr {fp32.train.lr:g}")
    print(f"torch {torch.__version__}, {cpu_cores()} CPU cores, default {torch.get_num_threads()} "
          f"threads; load average at start {load_avg()} (the machine is shared: timings are noisy)\n")

    print("Single process (both cores):")
    r32 = engine_run(fp32, data, "fp32")
    rbf = engine_run(bf16, data, "bf16 autocast")
    default_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the per-core reference for the 1-thread workers below
    r32_1 = engine_run(fp32, data, "fp32, 1 thread")
    rbf_1 = engine_run(bf16, data, "bf16 autocast, 1 thread")
    torch.set_num_threads(default_threads)
    print("\nData-parallel, 2 processes x 1 thread (alternating, fastest of "
          f"{args.repeats} kept):")
    threads = max(1, cpu_cores() // ddp.train.n_workers)
    eng, plain = [], []
    with tempfile.TemporaryDirectory(prefix="tradeoff-bench-") as tmp:
        for _ in range(args.repeats):
            plain.append(plain_ddp_run(ddp, data, Path(tmp), threads))
            eng.append(engine_run(ddp, data, "engine DDP x2"))
    print("\nHogwild!, 2 processes x 1 thread, one shared model:")
    rhog = engine_run(hog, data, "Hogwild x2")

    e = min(eng, key=lambda r: r["loop_seconds"])
    p = min(plain, key=lambda r: r["loop_seconds"])
    e_launch = min(r["launch_seconds"] for r in eng)
    p_launch = min(r["launch_seconds"] for r in plain)
    speed = rbf["sps"] / r32["sps"]
    dacc = (rbf["test_accuracy"] - r32["test_accuracy"]) * 100
    ddp_ratio = e["loop_seconds"] / p["loop_seconds"]
    print("\nSummary")
    print(f"  bf16 autocast: {speed:.2f}x the fp32 throughput ({rbf['sps']:.0f} vs {r32['sps']:.0f} "
          f"samples/s); test accuracy {rbf['test_accuracy']:.2%} vs {r32['test_accuracy']:.2%} "
          f"({dacc:+.2f} points)")
    print(f"  bf16 autocast at 1 thread: {rbf_1['sps'] / r32_1['sps']:.2f}x the fp32 throughput "
          f"({rbf_1['sps']:.0f} vs {r32_1['sps']:.0f} samples/s)")
    print(f"  engine DDP x2 vs plain torch DDP x2: training loop {e['loop_seconds']:.2f} s vs "
          f"{p['loop_seconds']:.2f} s ({(ddp_ratio - 1) * 100:+.1f}%); with process start-up "
          f"{e_launch:.2f} s vs {p_launch:.2f} s ({(e_launch / p_launch - 1) * 100:+.1f}%); replicas "
          f"bit-identical: {e['replicas_identical']}")
    pairs = ", ".join(f"{(er['loop_seconds'] / pr['loop_seconds'] - 1) * 100:+.0f}%"
                      for er, pr in zip(eng, plain))
    print(f"  engine vs plain DDP, run by run (each pair back to back): {pairs}")
    print(f"  DDP x2 vs one process (2 threads): {e['sps']:.0f} vs {r32['sps']:.0f} samples/s "
          f"({e['sps'] / r32['sps']:.2f}x); test accuracy {e['test_accuracy']:.2%} vs "
          f"{r32['test_accuracy']:.2%}")
    print(f"  Hogwild x2 vs one process (2 threads): {rhog['sps']:.0f} vs {r32['sps']:.0f} samples/s "
          f"({rhog['sps'] / r32['sps']:.2f}x); test accuracy {rhog['test_accuracy']:.2%} vs "
          f"{r32['test_accuracy']:.2%}; one shared storage: {rhog['storage_shared']}")
    print("\nTargets")
    checks = [
        (f"bf16 throughput >= 1.5x fp32: {speed:.2f}x", speed >= 1.5),
        (f"bf16 accuracy within 0.5 point of fp32: {dacc:+.2f} points", abs(dacc) <= 0.5),
        (f"engine DDP x2 at most 10% slower than plain DDP (training loop): {(ddp_ratio - 1) * 100:+.1f}%",
         ddp_ratio <= 1.10),
        ("Hogwild x2 vs one process, samples/s and accuracy side by side: reported above", True),
    ]
    for text, ok in checks:
        print(f"  [{'met' if ok else 'NOT MET'}] {text}")
    for label, row in (("DDP x2", e), ("Hogwild x2", rhog)):
        ratio = row["sps"] / r32["sps"]
        verdict = "slower than" if ratio < 0.95 else "faster than" if ratio > 1.05 else "about as fast as"
        print(f"\n  Measured here: {label} ({row['workers']} processes x {row['threads']} thread) was "
              f"{verdict} one process with {r32['threads']} threads ({ratio:.2f}x samples/s); against "
              f"one process with 1 thread it was {row['sps'] / r32_1['sps']:.2f}x.")
    print("  On a shared, oversubscribed machine a process with 2 threads waits for both to be "
          "scheduled at every parallel operator, and N single-thread processes get N shares of the "
          "CPU: compare the 1-thread rows and the load averages before reading these ratios as "
          "properties of the techniques.")
    print(f"\nload average at end {load_avg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
