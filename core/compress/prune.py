"""Pruning: unstructured (magnitude or gradient saliency), structured (whole neurons or channels,
rebuilt as smaller layers), and fine-tuning that keeps pruned weights at zero.

Unstructured pruning only zeroes weights: the saved artifact shrinks only with sparse storage
(bitmask + values, or CSR), and inference is faster only if sparse kernels are; the handler
times dense and CSR execution at batch 1 and says which won. Structured pruning makes the
matrices themselves smaller, which is what speeds up dense CPU kernels.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import torch
from torch import nn

from ..i18n import translate
from ..models.neural import MLP, SmallCNN, TorchClassifier, build_module
from ..specs import (FineTune, ModelSpec, PruneMagnitude, PruneSaliency, PruneStructured,
                     _UnstructuredPrune)
from ..train.loop import train_module
from . import CompressContext, Compressed, handles
from .formats import (SparseClassifier, base_arch, float_module, linear_like, require_torch,
                      sparse_runner)

Masks = dict[str, torch.Tensor]  # parameter name -> bool tensor of the weight's shape (True = kept)


def magnitude_scores(module: nn.Module) -> dict[str, torch.Tensor]:
    return {f"{n}.weight": m.weight.detach().abs() for n, m in linear_like(module)}


def saliency_scores(module: nn.Module, X: np.ndarray, y: np.ndarray) -> dict[str, torch.Tensor]:
    """|w * dL/dw| with L the mean cross-entropy on the calibration rows (first-order Taylor)."""
    module.zero_grad(set_to_none=True)
    module.eval()
    loss = nn.functional.cross_entropy(module(torch.from_numpy(np.ascontiguousarray(X))),
                                       torch.from_numpy(y))
    loss.backward()
    scores = {f"{n}.weight": (m.weight.detach() * m.weight.grad).abs() for n, m in linear_like(module)}
    module.zero_grad(set_to_none=True)
    return scores


def masks_for(scores: dict[str, torch.Tensor], amount: float, scope: str) -> Masks:
    """Keep masks zeroing the ``amount`` share of lowest scores, per layer or over all layers."""
    if scope == "global":
        flat = torch.cat([s.flatten() for s in scores.values()])
        k = int(round(amount * flat.numel()))
        if k == 0:
            return {n: torch.ones_like(s, dtype=torch.bool) for n, s in scores.items()}
        pruned = torch.zeros(flat.numel(), dtype=torch.bool)
        pruned[torch.topk(flat, k, largest=False).indices] = True
        out, i = {}, 0
        for n, s in scores.items():
            out[n] = ~pruned[i:i + s.numel()].reshape(s.shape)
            i += s.numel()
        return out
    out = {}
    for n, s in scores.items():
        k = int(round(amount * s.numel()))
        keep = torch.ones(s.numel(), dtype=torch.bool)
        if k:
            keep[torch.topk(s.flatten(), k, largest=False).indices] = False
        out[n] = keep.reshape(s.shape)
    return out


def apply_masks(module: nn.Module, masks: Masks) -> None:
    params = dict(module.named_parameters())
    with torch.no_grad():
        for name, mask in masks.items():
            params[name].mul_(mask)


def fine_tune(module: nn.Module, ctx: CompressContext, epochs: int, lr_scale: float,
              masks: Masks | None = None) -> str:
    """Train ``module`` in place with the context's TrainSpec; masked weights are re-zeroed each step."""
    spec = dataclasses.replace(ctx.train, epochs=epochs, lr=ctx.train.lr * lr_scale,
                               early_stopping_patience=0, schedule="none", prune_sparsity=0.0,
                               parallel="single")
    on_step = (lambda m, step: apply_masks(m, masks)) if masks else None
    history = train_module(module, ctx.data.X_train, ctx.data.y_train, spec,
                           lambda f, m: ctx.on_progress(0.3 + 0.6 * f, f"fine-tuning {m}"),
                           ctx.should_stop, on_step)
    if masks:
        apply_masks(module, masks)
    note = translate("en", "notes.fine_tuned_masked" if masks else "notes.fine_tuned",
                     epochs=len(history.epochs), optimizer=spec.optimizer, lr=spec.lr,
                     lr_scale=lr_scale, batch_size=spec.batch_size)
    return note + (f" {history.message}" if history.message else "")


def _time_batch1(module: nn.Module, X: np.ndarray, n: int = 40) -> float:
    """Median ms of ``n`` batch-1 calls after 5 warm-up calls, on the current thread setting."""
    rows = [torch.from_numpy(np.ascontiguousarray(X[i % len(X)][None])) for i in range(n + 5)]
    times = []
    with torch.inference_mode():
        for i, r in enumerate(rows):
            t0 = time.perf_counter()
            module(r)
            if i >= 5:
                times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e3


def sparsity(module: nn.Module) -> float:
    ws = [m.weight for _, m in linear_like(module)]
    total = sum(w.numel() for w in ws)
    return sum(int((w == 0).sum()) for w in ws) / total if total else 0.0


def _unstructured(model, step: _UnstructuredPrune, ctx: CompressContext, scores_fn) -> Compressed:
    name = type(step).__name__
    model = require_torch(model, name)
    module = float_module(model, name)
    ctx.on_progress(0.05, "scoring weights")
    masks = masks_for(scores_fn(module), step.amount, step.scope)
    apply_masks(module, masks)
    notes = [translate("en", "notes.unstructured", name=name, amount=step.amount, scope=step.scope)]
    if step.fine_tune_epochs:
        notes.append(fine_tune(module, ctx, step.fine_tune_epochs, step.fine_tune_lr_scale, masks))
    execution = step.execution
    dense_ms = sparse_ms = None
    if step.execution == "auto" or step.execution == "sparse":
        ctx.on_progress(0.92, "timing dense and sparse execution at batch 1")
        dense_ms = _time_batch1(module, ctx.data.X_train)
        sparse_ms = _time_batch1(sparse_runner(module), ctx.data.X_train)
        if step.execution == "auto":
            execution = "sparse" if sparse_ms < dense_ms else "dense"
        ratio = dense_ms / sparse_ms
        notes.append(translate("en", "notes.sparse_faster" if ratio >= 1 else "notes.sparse_slower",
                               ratio=ratio if ratio >= 1 else 1 / ratio,
                               threads=torch.get_num_threads(), sparse_ms=sparse_ms,
                               dense_ms=dense_ms, execution=execution))
    else:
        notes.append(translate("en", "notes.dense_kernels"))
    if step.storage == "dense":
        notes.append(translate("en", "notes.saved_dense"))
    else:
        notes.append(translate("en", "notes.saved_sparse_bitmask" if step.storage == "bitmask"
                               else "notes.saved_sparse_csr"))
    arch = {**base_arch(model), "family": model.family,
            "compression": {"format": "sparse", "storage": step.storage, "execution": execution}}
    out = SparseClassifier(module, arch, model.family, step.storage, execution)
    return Compressed(out, nominal={"sparsity": sparsity(module)}, notes=tuple(notes))


@handles(PruneMagnitude)
def prune_magnitude(model, step: PruneMagnitude, ctx: CompressContext) -> Compressed:
    return _unstructured(model, step, ctx, magnitude_scores)


@handles(PruneSaliency)
def prune_saliency(model, step: PruneSaliency, ctx: CompressContext) -> Compressed:
    rows = np.random.default_rng(0).permutation(len(ctx.data.y_train))[: step.calibration_samples]
    X, y = ctx.data.X_train[rows], ctx.data.y_train[rows]
    return _unstructured(model, step, ctx, lambda module: saliency_scores(module, X, y))


# ----------------------------------------------------------------------------------------------
# Structured pruning: rank each hidden neuron (row of a Linear) or channel (output of a Conv)
# by the norm of its incoming weights, keep the best, and copy the surviving slices into a
# freshly built, narrower network of the same kind.


def _top(score: torch.Tensor, amount: float) -> torch.Tensor:
    n_keep = max(1, int(round((1 - amount) * score.numel())))
    return torch.sort(torch.topk(score, n_keep).indices).values


def unit_scores(layers: list[nn.Module], criterion: str, module: nn.Module | None = None,
                X: np.ndarray | None = None) -> list[torch.Tensor]:
    """One score per output unit of every layer but the last (higher = keep)."""
    if criterion in ("l1", "l2"):
        p = 2 if criterion == "l2" else 1
        return [m.weight.detach().reshape(m.weight.shape[0], -1).norm(p=p, dim=1) for m in layers[:-1]]
    # activation: mean ReLU output of each unit on X (every hidden Linear/Conv is followed by a
    # ReLU in these networks) times the norm of the weights that carry it to the next layer.
    means: dict[int, torch.Tensor] = {}
    hooks = [m.register_forward_hook(
        lambda mod, inp, out, i=i: means.__setitem__(
            i, out.detach().clamp(min=0).transpose(0, 1).reshape(out.shape[1], -1).mean(dim=1)))
        for i, m in enumerate(layers[:-1])]
    try:
        with torch.inference_mode():
            module.eval()(torch.from_numpy(np.ascontiguousarray(X)))
    finally:
        for h in hooks:
            h.remove()
    scores = []
    for i, m in enumerate(layers[:-1]):
        nxt = layers[i + 1].weight.detach()
        units = m.weight.shape[0]
        # (out, units, rest): a conv feeding a Linear owns hw consecutive inputs per channel
        outgoing = nxt.reshape(nxt.shape[0], units, -1).norm(dim=(0, 2))
        scores.append(means[i] * outgoing)
    return scores


def structured_prune(module: nn.Module, spec: ModelSpec, arch: dict, amount: float,
                     criterion: str, X: np.ndarray | None = None) -> tuple[nn.Module, ModelSpec]:
    """A narrower copy of an MLP or SmallCNN with ``amount`` of each hidden layer's units removed.

    Scores are computed on the trained network before anything is removed; ``X`` (calibration
    rows) is needed for the activation criterion.
    """
    layers = [m for _, m in linear_like(module)]  # convs then linears, in forward order
    keeps_out = [_top(s, amount) for s in unit_scores(layers, criterion, module, X)]
    keeps_out.append(torch.arange(layers[-1].weight.shape[0]))
    if isinstance(module, MLP):
        new_spec = dataclasses.replace(spec, hidden=tuple(len(k) for k in keeps_out[:-1]))
    elif isinstance(module, SmallCNN):
        n_conv = sum(isinstance(m, nn.Conv2d) for m in layers)
        new_spec = dataclasses.replace(spec, channels=tuple(len(k) for k in keeps_out[:n_conv]),
                                       hidden=len(keeps_out[n_conv]))
    else:
        raise ValueError(f"PruneStructured supports the MLP and the small CNN; got {type(module).__name__}")
    shape = tuple(arch["image_shape"]) if arch.get("image_shape") else None
    new = build_module(new_spec, arch["n_features"], arch["n_classes"], shape).eval()
    new_layers = [m for _, m in linear_like(new)]
    keep_in = torch.arange(layers[0].weight.shape[1])
    with torch.no_grad():
        for i, (old, fresh, keep) in enumerate(zip(layers, new_layers, keeps_out)):
            fresh.weight.copy_(old.weight[keep][:, keep_in])  # (kept out, kept in[, kh, kw])
            fresh.bias.copy_(old.bias[keep])
            keep_in = keep
            if isinstance(old, nn.Conv2d) and isinstance(layers[i + 1], nn.Linear):
                # Flatten is (C, H, W): channel c owns the dense layer's inputs c*hw .. c*hw+hw-1.
                hw = layers[i + 1].in_features // old.out_channels
                keep_in = (keep[:, None] * hw + torch.arange(hw)[None, :]).flatten()
    return new, new_spec


@handles(PruneStructured)
def prune_structured(model, step: PruneStructured, ctx: CompressContext) -> Compressed:
    model = require_torch(model, "PruneStructured")
    module = float_module(model, "PruneStructured")
    spec = ModelSpec.from_dict(model.arch["spec"])
    ctx.on_progress(0.05, "removing neurons and rebuilding smaller layers")
    rows = np.random.default_rng(0).permutation(len(ctx.data.y_train))[: step.calibration_samples]
    new, new_spec = structured_prune(module, spec, model.arch, step.amount, step.criterion,
                                     ctx.data.X_train[rows])
    before = sum(p.numel() for p in module.parameters())
    after = sum(p.numel() for p in new.parameters())
    figures = dict(amount=step.amount, spec=new_spec.to_dict(), before=before, after=after)
    notes = [translate("en", "notes.structured_activation", rows=len(rows), **figures)
             if step.criterion == "activation" else
             translate("en", "notes.structured_norm", norm=step.criterion.upper(), **figures)]
    if step.fine_tune_epochs:
        notes.append(fine_tune(new, ctx, step.fine_tune_epochs, step.fine_tune_lr_scale))
    arch = {**base_arch(model), "family": model.family, "spec": new_spec.to_dict()}
    return Compressed(TorchClassifier(new, arch, model.family),
                      nominal={"units_removed": step.amount, "params_removed": 1 - after / before},
                      notes=tuple(notes))


@handles(FineTune)
def fine_tune_step(model, step: FineTune, ctx: CompressContext) -> Compressed:
    model = require_torch(model, "FineTune")
    module = float_module(model, "FineTune")
    if isinstance(model, SparseClassifier):
        masks = {f"{n}.weight": m.weight != 0 for n, m in linear_like(module)}
        note = fine_tune(module, ctx, step.epochs, step.lr_scale, masks)
        return Compressed(SparseClassifier(module, model.arch, model.family, model.storage,
                                           model.execution),
                          nominal={"sparsity": sparsity(module)}, notes=(note,))
    note = fine_tune(module, ctx, step.epochs, step.lr_scale)
    extra = () if type(model) is TorchClassifier else (
        translate("en", "notes.fine_tune_float32"),)
    return Compressed(TorchClassifier(module, {**base_arch(model), "family": model.family}, model.family),
                      notes=(note, *extra))


__all__ = ["magnitude_scores", "saliency_scores", "masks_for", "apply_masks", "fine_tune",
           "structured_prune", "sparsity", "prune_magnitude", "prune_saliency", "prune_structured",
           "fine_tune_step"]
