"""Gradient-saliency pruning during training."""

import numpy as np
import torch

from core.models.neural import MLP
from core.specs import TrainSpec
from core.train import train_module
from core.train.pruning import GradientSaliencyPruner, sparsity


def _blobs(n=240, f=12, c=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    X = (rng.normal(0, 3, (c, f))[y] + rng.normal(0, 1, (n, f))).astype(np.float32)
    return X, y.astype(np.int64)


def test_training_reaches_the_target_sparsity_and_keeps_it():
    X, y = _blobs()
    module = MLP(12, 3, (64, 64))
    history = train_module(module, X, y, TrainSpec(epochs=4, batch_size=32, prune_sparsity=0.7,
                                                   prune_every=5, validation_fraction=0.0))
    for _, p in module.named_parameters():
        if p.dim() > 1:  # every layer, not just the whole, is at the target
            assert abs(float((p == 0).float().mean()) - 0.7) < 0.01
    assert abs(sparsity(module) - 0.7) < 0.01
    assert history.setup["pruning"]["reached_sparsity"] == sparsity(module)
    assert history.setup["pruning"]["rounds"] > 1  # gradual, not one cut at the end
    assert history.epochs[-1].train_accuracy > 0.8  # the pruned network still learns


def test_a_round_removes_the_smallest_saliency_weights():
    torch.manual_seed(0)
    layer = torch.nn.Linear(20, 10)
    module = torch.nn.Sequential(layer)
    layer(torch.randn(8, 20)).pow(2).sum().backward()
    saliency = (layer.weight * layer.weight.grad).abs().detach().clone()
    pruner = GradientSaliencyPruner(module, target=0.5, every=1, total_steps=1, ramp=1.0)
    pruner(module, 1)
    pruned = layer.weight == 0
    assert int(pruned.sum()) == 100
    assert saliency[pruned].max() <= saliency[~pruned].min()
