"""The DDP entry point runs unchanged under torchrun (two ranks on this machine)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SPEC = """
dataset: {name: classification, n_samples: 300, n_features: 8, n_classes: 3, noise: 0.0, seed: 0}
candidates:
  - name: DDP tiny
    model: {kind: mlp, hidden: [16]}
    train: {epochs: 3, lr: 0.01, batch_size: 32, parallel: ddp, n_workers: 2}
measure: {warmup: 1, min_repeats: 5, min_seconds: 0.01, max_seconds: 0.5, batch_size: 32, n_threads: 1}
"""


def test_torchrun_two_ranks_train_one_model_and_rank0_writes_results(tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC)
    torchrun = Path(sys.executable).with_name("torchrun")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node", "2", "-m",
                           "core.train.ddp", str(spec), "--out", str(tmp_path / "out")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "out" / "results.json").read_text())
    rec = result["records"][0]
    setup = rec["history"]["setup"]
    assert setup["launcher"] == "torchrun" and setup["n_workers"] == 2
    assert setup["backend"] == "gloo" and setup["replicas_identical"]
    assert len(set(setup["worker_param_sha256"])) == 1 and len(setup["worker_param_sha256"]) == 2
    assert rec["status"] == "done" and rec["accuracy"] > 0.6
    assert rec["train_throughput_sps"] > 0 and len(rec["history"]["epochs"]) == 3
    assert "[rank 0]" in proc.stderr and "[rank 1]" not in proc.stderr  # rank 0 reports
