"""The single-process training loop: precision, optimisers, schedules, regularisation, divergence."""

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from core.experiment import run
from core.models.neural import MLP
from core.specs import CandidateSpec, DatasetSpec, ExperimentSpec, MeasureSpec, MLPSpec, TrainSpec
from core.train import TechniqueUnavailable, train_module


def _blobs(n=240, f=12, c=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, (c, f))
    y = rng.integers(0, c, n)
    X = (centers[y] + rng.normal(0, 1, (n, f))).astype(np.float32)
    return X, y.astype(np.int64)


class _MatmulDtypes(TorchDispatchMode):
    """Records the output dtype of every matrix multiply, forward and backward."""

    OPS = {"aten::addmm", "aten::mm", "aten::bmm", "aten::matmul", "aten::linear"}

    def __init__(self):
        super().__init__()
        self.dtypes = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func._schema.name in self.OPS:
            self.dtypes.append(out.dtype)
        return out


@pytest.mark.parametrize("precision, expected", [("bf16", torch.bfloat16), ("fp32", torch.float32)])
def test_autocast_runs_the_matmuls_in_the_requested_dtype(precision, expected):
    X, y = _blobs(64)
    module = MLP(12, 3, (16,))
    with _MatmulDtypes() as mode:
        train_module(module, X, y, TrainSpec(epochs=1, batch_size=32, precision=precision,
                                             validation_fraction=0.0))
    assert len(mode.dtypes) >= 2 * 3  # 2 steps x (forward + 2 backward) matmuls per layer
    assert set(mode.dtypes) == {expected}
    assert all(p.dtype == torch.float32 for p in module.parameters())  # master weights stay fp32


def test_fp16_without_cuda_is_skipped_with_a_note():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: fp16 runs")
    X, y = _blobs(64)
    with pytest.raises(TechniqueUnavailable, match="fp16.*CUDA"):
        train_module(MLP(12, 3, (8,)), X, y, TrainSpec(epochs=1, precision="fp16"))
    spec = ExperimentSpec(DatasetSpec("iris", test_fraction=0.3), (
        CandidateSpec("fp16", MLPSpec(hidden=(8,)), TrainSpec(epochs=1, precision="fp16")),),
        MeasureSpec(warmup=1, min_repeats=5, min_seconds=0.01, max_seconds=0.5))
    rec = run(spec).results[0]
    assert rec.status == "skipped" and "CUDA" in rec.error


def test_huge_learning_rate_ends_with_the_divergence_message_and_keeps_good_weights():
    X, y = _blobs(240)
    X = X * 50  # large inputs make a huge step blow the logits up within an epoch
    module = MLP(12, 3, (32,))
    history = train_module(module, X, y, TrainSpec(optimizer="sgd", lr=9.0, momentum=0.9, epochs=5,
                                                   validation_fraction=0.0))
    assert history.stop_reason == "diverged"
    assert "diverged" in history.message and "were kept" in history.message
    assert all(torch.isfinite(p).all() for p in module.parameters())


def test_l1_penalty_raises_the_fraction_of_near_zero_weights():
    X, y = _blobs(240)

    def near_zero(l1):
        torch.manual_seed(0)
        module = MLP(12, 3, (64,))
        train_module(module, X, y, TrainSpec(optimizer="sgd", lr=0.05, epochs=8, l1=l1,
                                             validation_fraction=0.0))
        w = torch.cat([p.detach().flatten() for n, p in module.named_parameters() if p.dim() > 1])
        return float((w.abs() < 1e-2).float().mean())

    plain, sparse = near_zero(0.0), near_zero(1e-2)
    assert sparse > 3 * plain and sparse > plain + 0.15, (plain, sparse)


def test_sgd_nesterov_momentum_is_configured_as_asked():
    from core.train.loop import make_optimizer
    p = [nn.Parameter(torch.zeros(3))]
    opt = make_optimizer(p, TrainSpec(optimizer="sgd", lr=0.05, momentum=0.8, nesterov=True,
                                      weight_decay=1e-4))
    g = opt.param_groups[0]
    assert isinstance(opt, torch.optim.SGD)
    assert (g["lr"], g["momentum"], g["nesterov"], g["weight_decay"]) == (0.05, 0.8, True, 1e-4)
    assert isinstance(make_optimizer(p, TrainSpec(optimizer="adamw")), torch.optim.AdamW)


@pytest.mark.parametrize("schedule", ["step", "cosine", "onecycle", "none"])
def test_learning_rate_schedules_shape_the_recorded_lr(schedule):
    X, y = _blobs(120)
    h = train_module(MLP(12, 3, (8,)), X, y, TrainSpec(optimizer="sgd", lr=0.1, epochs=6,
                                                        batch_size=40, schedule=schedule,
                                                        validation_fraction=0.0))
    lrs = [e.lr for e in h.epochs]
    if schedule == "none":
        assert lrs == [0.1] * 6
    elif schedule == "step":  # x0.1 at one and two thirds of 18 steps
        assert lrs[0] == pytest.approx(0.1) and lrs[-1] == pytest.approx(0.001)
    elif schedule == "cosine":
        assert lrs == sorted(lrs, reverse=True) and lrs[-1] < 1e-6
    else:  # one-cycle warms up to the peak, then anneals far below it
        assert max(lrs) > lrs[0] and lrs[-1] < 0.05 * max(lrs)


def test_gradient_clipping_bounds_the_update():
    X, y = _blobs(64)
    seen = []

    def norm(module, step):
        seen.append(math.sqrt(sum(float((p.grad ** 2).sum()) for p in module.parameters())))

    train_module(MLP(12, 3, (8,)), X * 20, y, TrainSpec(optimizer="sgd", lr=0.01, epochs=1,
                                                        grad_clip=0.5, validation_fraction=0.0),
                 on_step=norm)
    assert seen and max(seen) <= 0.5 + 1e-4


def test_epochs_carry_increasing_wall_clock_stamps_and_cumulative_samples():
    X, y = _blobs(200)
    h = train_module(MLP(12, 3, (8,)), X, y, TrainSpec(epochs=3, batch_size=50))
    walls = [e.wall_seconds for e in h.epochs]
    assert walls == sorted(walls) and walls[-1] <= h.train_seconds
    assert [e.samples_seen for e in h.epochs] == [180, 360, 540]
    assert h.throughput_sps == pytest.approx(540 / h.train_seconds)
    assert h.setup["threads_per_worker"] == torch.get_num_threads()


def test_stop_is_honoured_between_batches():
    X, y = _blobs(200)
    calls = iter(range(10_000))
    h = train_module(MLP(12, 3, (8,)), X, y, TrainSpec(epochs=5, batch_size=20),
                     should_stop=lambda: next(calls) >= 3)
    assert h.stop_reason == "cancelled" and h.n_samples_seen == 0 and not h.epochs
