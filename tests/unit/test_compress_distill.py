"""Distillation: the loss uses the teacher's softened outputs; the control sees only the labels."""

import math

import numpy as np
import pytest
import torch

from core.compress import CompressContext, compress
from core.compress.distill import distillation_loss, labelled_subset, teacher_logits
from core.data import load
from core.specs import (DatasetSpec, Distill, LogisticRegressionSpec, MLPSpec, TinyMLPSpec,
                        TrainSpec)
from core.train import fit_classical, fit_neural


def test_soft_loss_is_kl_to_the_teachers_softened_distribution():
    torch.manual_seed(0)
    s, t = torch.randn(8, 5), torch.randn(8, 5) * 3
    y = torch.randint(0, 5, (8,))
    none = torch.zeros(8, dtype=torch.bool)
    T = 4.0
    p = torch.softmax(t / T, 1)
    expected = (p * (p.log() - torch.log_softmax(s / T, 1))).sum(1).mean() * T * T
    torch.testing.assert_close(distillation_loss(s, t, y, none, T, 1.0), expected)
    # At T=4 the target is softer than the teacher's plain softmax: not the same loss.
    hard_target = torch.softmax(t, 1)
    assert (p.max(1).values < hard_target.max(1).values).all()
    assert not torch.isclose(distillation_loss(s, t, y, none, 1.0, 1.0),
                             distillation_loss(s, t, y, none, T, 1.0))


def test_loss_depends_on_teacher_and_only_labelled_rows():
    torch.manual_seed(1)
    s, t = torch.randn(6, 3, requires_grad=True), torch.randn(6, 3)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    lab = torch.tensor([True, True, False, False, False, False])
    base = distillation_loss(s, t, y, lab, 2.0, 0.5)
    assert not torch.isclose(base, distillation_loss(s, t + torch.randn(6, 3), y, lab, 2.0, 0.5))
    y2 = y.clone()
    y2[2:] = (y2[2:] + 1) % 3  # changing unlabelled rows' labels changes nothing
    assert torch.isclose(base, distillation_loss(s, t, y2, lab, 2.0, 0.5))
    # A student equal to the teacher gets zero soft-loss gradient.
    st = t.clone().requires_grad_(True)
    distillation_loss(st, t, y, torch.zeros(6, dtype=torch.bool), 3.0, 1.0).backward()
    assert st.grad.abs().max() < 1e-6


def test_labelled_subset_takes_the_fraction_of_every_class():
    y = np.repeat(np.arange(10), 50)
    mask = labelled_subset(y, 0.1, seed=3)
    assert mask.sum() == 50 and all(mask[y == c].sum() == 5 for c in range(10))
    assert not np.array_equal(mask, labelled_subset(y, 0.1, seed=4))


@pytest.fixture(scope="module")
def digits():
    return load(DatasetSpec(name="digits"))


def test_distilled_student_and_control(digits):
    teacher = fit_neural(MLPSpec(hidden=(512, 256)), TrainSpec(epochs=4), digits)[0]
    step = Distill(student=TinyMLPSpec(hidden=(16,)), epochs=40, label_fraction=0.05,
                   temperature=4.0, alpha=0.9, seed=0)
    out = compress(teacher, step, CompressContext(digits, TrainSpec()))
    student = out.model
    assert student.param_counts().total == 64 * 16 + 16 + 16 * 10 + 10
    assert student.param_counts().total * 50 <= teacher.param_counts().total
    (label, control), = out.companions
    assert label == "labels-only control"
    acc = lambda m: (m.predict(digits.X_test) == digits.y_test).mean()
    # 5% labels on digits: the teacher's soft outputs on every input are worth a lot.
    assert acc(student) > acc(control)
    assert any("Control:" in n for n in out.notes)


def test_sklearn_teacher_gives_log_probabilities(digits):
    logreg, _ = fit_classical(LogisticRegressionSpec(), digits)
    logits = teacher_logits(logreg, digits.X_train[:20])
    torch.testing.assert_close(torch.softmax(logits, 1).sum(1), torch.ones(20))
    assert math.isclose(float(torch.exp(logits[0]).sum()), 1.0, rel_tol=1e-4)
