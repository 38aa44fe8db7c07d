"""Pruning: structured pruning really rebuilds smaller layers; sparse storage really shrinks the file."""

import numpy as np
import pytest
import torch
from torch import nn

from core.compress import CompressContext, compress, load_classifier
from core.compress.formats import SparseClassifier, decode_sparse, encode_sparse
from core.compress.prune import masks_for, saliency_scores
from core.data import load
from core.specs import (CNNSpec, DatasetSpec, FineTune, MLPSpec, PruneMagnitude, PruneSaliency,
                        PruneStructured, QuantizeDynamic, TrainSpec)
from core.train import fit_neural


@pytest.fixture(scope="module")
def digits():
    return load(DatasetSpec(name="digits"))


@pytest.fixture(scope="module")
def mlp(digits):
    return fit_neural(MLPSpec(hidden=(128, 128)), TrainSpec(epochs=3), digits)[0]


@pytest.fixture(scope="module")
def ctx(digits):
    return CompressContext(digits, TrainSpec(epochs=3))


def _acc(model, d):
    return float((model.predict(d.X_test) == d.y_test).mean())


def test_structured_pruning_builds_layers_with_fewer_outputs(mlp, ctx, digits):
    out = compress(mlp, PruneStructured(amount=0.75), ctx)
    net = out.model.module.net
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(64, 32), (32, 32), (32, 10)]
    assert out.model.arch["spec"]["hidden"] == [32, 32]
    n = sum(p.numel() for p in out.model.module.parameters())
    assert out.model.param_counts().total == n == 64 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10
    assert len(out.model.artifact()["model.safetensors"]) < len(mlp.artifact()["model.safetensors"]) / 5


def test_structured_pruning_keeps_the_strongest_neurons_exactly(mlp, ctx, digits):
    out = compress(mlp, PruneStructured(amount=0.5, criterion="l2"), ctx).model
    w0 = mlp.module.net[0].weight.detach()
    keep = torch.sort(torch.topk(w0.norm(dim=1), 64).indices).values
    assert torch.equal(out.module.net[0].weight, w0[keep])
    # Each layer's neurons are ranked on the trained weights (full incoming rows), then sliced.
    w2 = mlp.module.net[2].weight.detach()
    keep2 = torch.sort(torch.topk(w2.norm(dim=1), 64).indices).values
    assert torch.equal(out.module.net[2].weight, w2[keep2][:, keep])
    assert torch.equal(out.module.net[4].weight, mlp.module.net[4].weight.detach()[:, keep2])


def test_structured_pruning_of_cnn_channels(digits, ctx):
    cnn = fit_neural(CNNSpec(channels=(8, 16), hidden=32), TrainSpec(epochs=1), digits)[0]
    out = compress(cnn, PruneStructured(amount=0.5), ctx).model
    convs = [m for m in out.module.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 8]
    assert out.module.head[1].in_features == 8 * 2 * 2 and out.module.head[1].out_features == 16
    assert out.predict(digits.X_test).shape == digits.y_test.shape


def test_masks_hit_the_target_share_per_layer_and_globally():
    scores = {"a": torch.rand(100, 50), "b": torch.rand(10, 10) * 10}
    layer = masks_for(scores, 0.9, "layer")
    assert (~layer["a"]).sum() == 4500 and (~layer["b"]).sum() == 90
    glob = masks_for(scores, 0.5, "global")
    assert (~glob["a"]).sum() + (~glob["b"]).sum() == 2550
    assert (~glob["b"]).sum() < 50  # the larger scores of b survive a global threshold


def test_unstructured_90_with_sparse_storage_really_shrinks_the_file(mlp, ctx, digits, tmp_path):
    dense = compress(mlp, PruneMagnitude(amount=0.9, storage="dense", execution="dense"), ctx).model
    packed = compress(mlp, PruneMagnitude(amount=0.9, storage="bitmask", execution="dense"), ctx).model
    csr = compress(mlp, PruneMagnitude(amount=0.9, storage="csr", execution="dense"), ctx).model
    size = lambda m, n: sum(p.stat().st_size for p in m.save(tmp_path / n))
    base = size(mlp, "base")
    assert abs(size(dense, "dense") - base) < 0.01 * base   # zeros stored: no smaller
    assert size(packed, "bitmask") * 4 <= base
    assert size(csr, "csr") * 4 <= base
    counts = packed.param_counts()
    assert counts.total == mlp.param_counts().total
    weights = sum(m.weight.numel() for m in packed.module.modules() if isinstance(m, nn.Linear))
    assert counts.total - counts.nonzero == pytest.approx(0.9 * weights, abs=3)
    for m in (packed, csr):
        np.testing.assert_array_equal(load_classifier(m.artifact()).predict(digits.X_test),
                                      dense.predict(digits.X_test))


def test_sparse_encodings_roundtrip():
    w = torch.randn(7, 3, 3, 3) * (torch.rand(7, 3, 3, 3) > 0.8)
    for storage in ("bitmask", "csr"):
        enc = encode_sparse(w, storage, "x")
        assert torch.equal(decode_sparse(enc, "x", list(w.shape)), w)


def test_sparse_execution_matches_dense(mlp, ctx, digits):
    out = compress(mlp, PruneMagnitude(amount=0.8, execution="sparse"), ctx)
    assert isinstance(out.model, SparseClassifier) and out.model.execution == "sparse"
    dense_logits = out.model.module(torch.from_numpy(digits.X_test)).detach()
    torch.testing.assert_close(out.model.logits(digits.X_test), dense_logits, atol=1e-4, rtol=1e-4)
    assert any("Sparse (CSR) execution measured" in n for n in out.notes)


def test_fine_tuning_keeps_pruned_weights_at_zero_and_recovers(mlp, ctx, digits):
    pruned = compress(mlp, PruneMagnitude(amount=0.9, execution="dense"), ctx).model
    tuned = compress(pruned, FineTune(epochs=2, lr_scale=1.0), ctx).model
    for a, b in zip(pruned.module.parameters(), tuned.module.parameters()):
        if a.dim() > 1:
            assert torch.all(b[a == 0] == 0)
            assert not torch.equal(a, b)
    assert _acc(tuned, digits) > _acc(pruned, digits)


def test_saliency_scores_are_weight_times_gradient(mlp, digits):
    module = mlp.module
    X, y = digits.X_train[:64], digits.y_train[:64]
    scores = saliency_scores(module, X, y)
    loss = nn.functional.cross_entropy(module(torch.from_numpy(X)), torch.from_numpy(y))
    grad = torch.autograd.grad(loss, module.net[0].weight)[0]
    torch.testing.assert_close(scores["net.0.weight"], (module.net[0].weight * grad).abs().detach())
    assert all(p.grad is None for p in module.parameters())


def test_saliency_pruning_reaches_the_sparsity(mlp, ctx):
    out = compress(mlp, PruneSaliency(amount=0.6, scope="global", calibration_samples=128), ctx)
    assert out.nominal["sparsity"] == pytest.approx(0.6, abs=0.01)


def test_chain_structured_then_int8(mlp, ctx, digits):
    small = compress(mlp, PruneStructured(amount=0.5, fine_tune_epochs=1), ctx).model
    q = compress(small, QuantizeDynamic(), ctx).model
    assert _acc(q, digits) > 0.8
    assert len(q.artifact()["model.safetensors"]) < len(small.artifact()["model.safetensors"]) / 3
