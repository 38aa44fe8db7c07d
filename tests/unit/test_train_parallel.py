"""DDP, local SGD and Hogwild! through the engine's local launcher: real effects, clean shutdown.

Each test starts real worker processes (spawn), so each takes a few seconds to import torch.
"""

import numpy as np
import psutil
import pytest
import torch

from core.models.neural import MLP
from core.specs import TrainSpec
from core.train import PARALLEL_TRAINERS
from core.train.workers import WorkerFailed, param_sha256

pytestmark = pytest.mark.slow


def _blobs(n=200, f=10, c=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    X = (rng.normal(0, 3, (c, f))[y] + rng.normal(0, 1, (n, f))).astype(np.float32)
    return X, y.astype(np.int64)


def _workers_alive() -> list:
    """Our spawned worker processes still running (the resource tracker is not one)."""
    return [p for p in psutil.Process().children(recursive=True)
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE
            and any("spawn_main" in part for part in p.cmdline())]


def _accuracy(module, X, y):
    with torch.no_grad():
        return float((module(torch.from_numpy(X)).argmax(1).numpy() == y).mean())


def test_ddp_workers_end_with_identical_parameters_and_rank0_reports():
    X, y = _blobs()
    torch.manual_seed(0)
    module = MLP(10, 3, (32,))
    before = param_sha256(module)
    spec = TrainSpec(epochs=3, lr=0.01, batch_size=32, parallel="ddp", n_workers=2)
    h = PARALLEL_TRAINERS["ddp"](module, X, y, spec)
    s = h.setup
    assert s["backend"] == "gloo" and s["n_workers"] == 2 and s["batch_per_worker"] == 16
    assert len(s["worker_param_sha256"]) == 2 and s["replicas_identical"]
    assert s["worker_param_sha256"][0] == param_sha256(module) != before  # weights came back
    assert s["threads_per_worker"] * 2 == s["total_threads"]
    # Metrics are summed over both ranks: every training row once per epoch (180 after the
    # 10% validation slice, split evenly), validation evaluated on rank 0.
    assert [e.samples_seen for e in h.epochs] == [180, 360, 540]
    assert h.epochs[-1].val_accuracy is not None and _accuracy(module, X, y) > 0.8
    assert not _workers_alive()


def test_local_sgd_replicas_agree_after_the_final_average():
    X, y = _blobs()
    module = MLP(10, 3, (16,))
    h = PARALLEL_TRAINERS["local_sgd"](module, X, y, TrainSpec(
        epochs=2, lr=0.01, batch_size=32, parallel="local_sgd", n_workers=2, sync_every=3))
    assert h.setup["replicas_identical"] and h.setup["sync_every"] == 3
    assert _accuracy(module, X, y) > 0.7


def test_hogwild_workers_share_one_storage():
    X, y = _blobs()
    module = MLP(10, 3, (32,))
    h = PARALLEL_TRAINERS["hogwild"](module, X, y, TrainSpec(optimizer="sgd", lr=0.05, epochs=3,
                                                             batch_size=20, parallel="hogwild",
                                                             n_workers=2))
    s = h.setup
    assert s["workers_saw_shared_tensors"]
    # The two workers stepped on different shards; only one shared storage explains why both
    # and the parent (which never stepped) end with the same bytes.
    assert s["worker_param_sha256"][0] == s["worker_param_sha256"][1] == param_sha256(module)
    assert s["storage_shared"] and all(n == 3 * 5 for n in s["worker_steps"])
    assert h.n_samples_seen == 540 and _accuracy(module, X, y) > 0.8
    assert not _workers_alive()


def test_a_failing_worker_stops_every_worker_and_raises():
    X, y = _blobs()
    y = y.copy()
    y[::2] = 7  # a label beyond the 3 outputs: cross-entropy fails inside the workers
    with pytest.raises(WorkerFailed, match="worker"):
        PARALLEL_TRAINERS["ddp"](MLP(10, 3, (8,)), X, y, TrainSpec(epochs=2, parallel="ddp",
                                                                   n_workers=2))
    assert not _workers_alive()


def test_stop_cancels_the_run_and_leaves_no_orphans():
    X, y = _blobs(2000)
    progress = []
    h = PARALLEL_TRAINERS["hogwild"](MLP(10, 3, (32,)), X, y, TrainSpec(
        epochs=200, batch_size=8, parallel="hogwild", n_workers=2),
        on_progress=lambda f, m: progress.append(f), should_stop=lambda: len(progress) >= 1)
    assert h.stop_reason == "cancelled" and len(h.epochs) < 200
    assert not _workers_alive()


def test_ddp_ranks_agree_to_stop_on_divergence():
    X, y = _blobs()
    module = MLP(10, 3, (32,))
    h = PARALLEL_TRAINERS["ddp"](module, X * 50, y, TrainSpec(optimizer="sgd", lr=9.0, epochs=4,
                                                              parallel="ddp", n_workers=2))
    assert h.stop_reason == "diverged" and "were kept" in h.message
    assert h.setup["replicas_identical"]  # both ranks stopped at the same step, no hang
    assert all(torch.isfinite(p).all() for p in module.parameters())
    assert not _workers_alive()


KILLED_PARENT = """
import numpy as np
from core.models.neural import MLP
from core.specs import TrainSpec
from core.train import PARALLEL_TRAINERS
if __name__ == "__main__":
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 10)).astype(np.float32)
    y = rng.integers(0, 3, 4000)
    PARALLEL_TRAINERS["hogwild"](MLP(10, 3, (32,)), X, y,
                                 TrainSpec(epochs=500, batch_size=4, parallel="hogwild", n_workers=2))
"""


def test_workers_exit_when_their_parent_is_killed(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    script = tmp_path / "parent.py"
    script.write_text(KILLED_PARENT)
    root = Path(__file__).resolve().parents[2]
    parent = subprocess.Popen([sys.executable, str(script)], cwd=root,
                              env={**os.environ, "PYTHONPATH": str(root)})
    try:
        deadline = time.time() + 180
        workers = []
        while time.time() < deadline and len(workers) < 2:
            time.sleep(0.5)
            workers = [p for p in psutil.Process(parent.pid).children()
                       if any("spawn_main" in part for part in p.cmdline())]
        assert len(workers) == 2, "the workers did not start"
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        gone, alive = psutil.wait_procs(workers, timeout=15)
        assert not alive, f"orphans left: {[p.pid for p in alive]}"
    finally:
        if parent.poll() is None:
            parent.kill()
