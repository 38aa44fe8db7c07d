"""Knowledge distillation: a small student learns from a teacher's softened outputs.

The student sees every training input through the teacher's softened probabilities but only a
``label_fraction`` of the true labels; the labels-only control is the same student (same
initialisation, optimiser and batch size) trained on the labelled rows alone for the same number
of optimiser steps.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..i18n import translate
from ..measure import thread_budget
from ..models.base import Classifier
from ..models.classical import SklearnClassifier
from ..models.neural import TorchClassifier, build_module
from ..specs import Distill
from ..train.loop import make_optimizer
from . import CompressContext, Compressed, handles


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                      labels: torch.Tensor, labelled: torch.Tensor, temperature: float,
                      alpha: float) -> torch.Tensor:
    """alpha * T^2 * KL(softmax(teacher/T) || softmax(student/T)) + (1 - alpha) * CE on labelled rows.

    Shapes: logits (B, C); labels (B,) int64; labelled (B,) bool (rows whose label may be used).
    The T^2 factor keeps the soft term's gradient scale independent of the temperature (Hinton 2015).
    """
    soft_teacher = torch.softmax(teacher_logits.float() / temperature, dim=1)
    log_student = torch.log_softmax(student_logits.float() / temperature, dim=1)
    soft = nn.functional.kl_div(log_student, soft_teacher, reduction="batchmean") * temperature ** 2
    if alpha >= 1.0 or not bool(labelled.any()):
        return alpha * soft
    hard = nn.functional.cross_entropy(student_logits[labelled].float(), labels[labelled])
    return alpha * soft + (1 - alpha) * hard


def teacher_logits(teacher: Classifier, X: np.ndarray) -> torch.Tensor:
    """(n, C) logits of any trained model: torch logits, or log-probabilities of a sklearn model."""
    if isinstance(teacher, TorchClassifier):
        out = []
        for i in range(0, len(X), 512):
            out.append(teacher.logits(X[i:i + 512]).float())
        return torch.cat(out)
    if isinstance(teacher, SklearnClassifier) and hasattr(teacher.estimator, "predict_proba"):
        proba = teacher.estimator.predict_proba(X)
        return torch.from_numpy(np.log(np.clip(proba, 1e-7, 1.0))).float()
    raise ValueError(f"Distill needs a teacher with logits or probabilities; "
                     f"{type(getattr(teacher, 'estimator', teacher)).__name__} has neither")


def labelled_subset(y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Bool mask of the rows whose label the student may use: ``fraction`` of each class, >= 1."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        n = max(1, int(round(fraction * len(rows))))
        mask[rng.choice(rows, n, replace=False)] = True
    return mask


def _student(step: Distill, ctx: CompressContext) -> nn.Module:
    torch.manual_seed(step.seed)
    d = ctx.data
    return build_module(step.student, d.n_features, d.n_classes, d.image_shape)


# Students below this many parameters train on one thread: their per-op work is too small to
# split, and on a busy 2-core machine two threads were measured 15x slower per step (61 vs 4 ms).
_ONE_THREAD_BELOW = 1_000_000


@handles(Distill)
def distill(teacher, step: Distill, ctx: CompressContext) -> Compressed:
    n = sum(p.numel() for p in _student(step, ctx).parameters())
    if n < _ONE_THREAD_BELOW:
        with thread_budget(1):
            return _distill(teacher, step, ctx)
    return _distill(teacher, step, ctx)


def _distill(teacher, step: Distill, ctx: CompressContext) -> Compressed:
    d = ctx.data
    X = np.ascontiguousarray(d.X_train, dtype=np.float32)
    ctx.on_progress(0.02, "computing the teacher's outputs")
    t_logits = teacher_logits(teacher, X)
    labelled = labelled_subset(d.y_train, step.label_fraction, step.seed)
    student = _student(step, ctx)
    init = {k: v.clone() for k, v in student.state_dict().items()}
    n_student = sum(p.numel() for p in student.parameters())

    spec = ctx.train
    batch = min(spec.batch_size, len(X))
    opt = make_optimizer(student.parameters(), spec)
    gen = torch.Generator().manual_seed(step.seed)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(d.y_train)
    lab = torch.from_numpy(labelled)
    n_steps = 0
    student.train()
    for epoch in range(step.epochs):
        order = torch.randperm(len(Xt), generator=gen)
        for i in range(0, len(Xt), batch):
            if ctx.should_stop():
                break
            idx = order[i:i + batch]
            loss = distillation_loss(student(Xt[idx]), t_logits[idx], yt[idx], lab[idx],
                                     step.temperature, step.alpha)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            n_steps += 1
        ctx.on_progress(0.05 + 0.6 * (epoch + 1) / step.epochs,
                        f"distilling: epoch {epoch + 1}/{step.epochs}, loss {loss.item():.3f}")
    student.eval()
    arch = {"spec": step.student.to_dict(), "n_features": d.n_features, "n_classes": d.n_classes,
            "image_shape": list(d.image_shape) if d.image_shape else None,
            "family": step.student.family}
    result = TorchClassifier(student, arch, step.student.family)
    n_teacher = _n_params(teacher)
    figures = dict(kind=step.student.kind, spec=step.student.to_dict(), n_student=n_student,
                   temperature=step.temperature, alpha=step.alpha, epochs=step.epochs,
                   n_steps=n_steps, n_inputs=len(X), n_labelled=int(labelled.sum()),
                   label_fraction=step.label_fraction)
    notes = [translate("en", "notes.distilled", ratio=n_teacher / n_student, n_teacher=n_teacher,
                       **figures)
             if n_teacher else translate("en", "notes.distilled_no_teacher", **figures)]
    companions = ()
    if step.control:
        control = _student(step, ctx)
        control.load_state_dict(init)
        n_lab = _train_control(control, X[labelled], d.y_train[labelled], spec, n_steps, step, ctx)
        companions = (("labels-only control", TorchClassifier(control, dict(arch), step.student.family)),)
        notes.append(translate("en", "notes.distill_control", n_labelled=n_lab, n_steps=n_steps))
    return Compressed(result, nominal={"label_fraction": step.label_fraction,
                                       "student_params": float(n_student)},
                      notes=tuple(notes), companions=companions)


def _train_control(module: nn.Module, X: np.ndarray, y: np.ndarray, spec, n_steps: int,
                   step: Distill, ctx: CompressContext) -> int:
    """Cross-entropy on the labelled rows only, ``n_steps`` steps of shuffled passes over them."""
    batch = min(spec.batch_size, len(y))
    opt = make_optimizer(module.parameters(), spec)
    gen = torch.Generator().manual_seed(step.seed)
    Xt, yt = torch.from_numpy(np.ascontiguousarray(X)), torch.from_numpy(y)
    order = torch.empty(0, dtype=torch.long)
    module.train()
    for i in range(n_steps):
        if ctx.should_stop():
            break
        if len(order) < batch:  # next shuffled pass over the labelled rows
            order = torch.cat([order, torch.randperm(len(yt), generator=gen)])
        idx, order = order[:batch], order[batch:]
        loss = nn.functional.cross_entropy(module(Xt[idx]), yt[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i % 50 == 0:
            ctx.on_progress(0.7 + 0.25 * i / max(n_steps, 1), f"control: step {i}/{n_steps}")
    module.eval()
    return len(y)


def _n_params(model: Classifier) -> int:
    try:
        return model.param_counts().total
    except Exception:  # a teacher whose count is undefined still teaches
        return 0


__all__ = ["distillation_loss", "teacher_logits", "labelled_subset", "distill"]
