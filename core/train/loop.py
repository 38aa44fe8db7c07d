"""Single-process training of a torch classifier: optimiser, schedule, precision, regularisation.

Progress leaves through ``on_progress(fraction, message)``; ``should_stop()`` is polled between
batches. A loss that turns NaN or explodes stops the run and restores the last good weights.
"""

from __future__ import annotations

import copy
import math
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..specs import TrainSpec

Progress = Callable[[float, str], None]
StopCheck = Callable[[], bool]

# A loss this many times the first epoch's loss counts as exploding.
_EXPLODE_FACTOR = 1e3


@dataclass(frozen=True)
class EpochRecord:
    epoch: int                   # 1-based
    wall_seconds: float          # since the start of training
    train_loss: float            # mean over the epoch's batches (with dropout active)
    train_accuracy: float        # over the epoch's batches, as the model was at each batch
    val_loss: float | None       # on the validation slice of the training split, if any
    val_accuracy: float | None
    lr: float                    # learning rate at the end of the epoch


@dataclass
class TrainHistory:
    epochs: list[EpochRecord] = field(default_factory=list)
    train_seconds: float = 0.0
    n_samples_seen: int = 0
    stop_reason: str = "completed"   # completed | early_stopping | cancelled | diverged
    message: str = ""
    best_epoch: int | None = None    # restored epoch when early stopping kept the best weights

    @property
    def throughput_sps(self) -> float:
        return self.n_samples_seen / self.train_seconds if self.train_seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {"epochs": [asdict(e) for e in self.epochs], "train_seconds": self.train_seconds,
                "n_samples_seen": self.n_samples_seen, "throughput_sps": self.throughput_sps,
                "stop_reason": self.stop_reason, "message": self.message,
                "best_epoch": self.best_epoch}


class TrainingDiverged(RuntimeError):
    pass


def make_optimizer(params, spec: TrainSpec) -> torch.optim.Optimizer:
    if spec.optimizer == "sgd":
        return torch.optim.SGD(params, lr=spec.lr, momentum=spec.momentum,
                               nesterov=spec.nesterov and spec.momentum > 0,
                               weight_decay=spec.weight_decay)
    cls = torch.optim.AdamW if spec.optimizer == "adamw" else torch.optim.Adam
    return cls(params, lr=spec.lr, weight_decay=spec.weight_decay)


def make_scheduler(opt, spec: TrainSpec, steps_per_epoch: int):
    """A per-step learning-rate schedule, or None."""
    total = spec.epochs * steps_per_epoch
    if spec.schedule == "step":  # x0.1 at one third and two thirds of training
        return torch.optim.lr_scheduler.MultiStepLR(opt, [total // 3, 2 * total // 3], gamma=0.1)
    if spec.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(total, 1))
    if spec.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=spec.lr, total_steps=max(total, 1))
    return None


def autocast_context(precision: str):
    """Autocast for the forward pass; bf16 runs natively on CPUs with AVX-512 BF16."""
    if precision == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    if precision == "fp16":
        if not torch.cuda.is_available():
            raise ValueError("TrainSpec.precision 'fp16' needs a CUDA device; none is available. "
                             "Use 'bf16' on this CPU.")
        return torch.autocast("cuda", dtype=torch.float16)
    return nullcontext()


def l1_penalty(module: nn.Module) -> torch.Tensor:
    """Sum of |w| over weight matrices and kernels (biases and norms are not penalised)."""
    return sum(p.abs().sum() for name, p in module.named_parameters() if p.dim() > 1)


def split_validation(X: np.ndarray, y: np.ndarray, fraction: float, seed: int):
    """A seeded random slice of the training split for early stopping and curves."""
    if fraction <= 0 or len(y) < 10:
        return X, y, None, None
    order = np.random.default_rng(seed).permutation(len(y))
    n_val = max(1, int(round(len(y) * fraction)))
    val, tr = order[:n_val], order[n_val:]
    return X[tr], y[tr], X[val], y[val]


def evaluate(module: nn.Module, X: torch.Tensor, y: torch.Tensor, batch: int = 1024) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``module`` in eval mode."""
    was_training = module.training
    module.eval()
    loss_sum, correct = 0.0, 0
    with torch.inference_mode():
        for i in range(0, len(y), batch):
            logits = module(X[i:i + batch]).float()
            loss_sum += nn.functional.cross_entropy(logits, y[i:i + batch], reduction="sum").item()
            correct += int((logits.argmax(1) == y[i:i + batch]).sum())
    module.train(was_training)
    return loss_sum / len(y), correct / len(y)


def train_module(module: nn.Module, X: np.ndarray, y: np.ndarray, spec: TrainSpec,
                 on_progress: Progress | None = None, should_stop: StopCheck | None = None,
                 on_step: Callable[[nn.Module, int], None] | None = None) -> TrainHistory:
    """Train ``module`` in place on (X, y); returns the per-epoch history.

    ``on_step(module, step)`` runs after every optimiser step (gradients still populated), the
    hook for techniques that act during training such as gradient-based pruning.
    """
    on_progress = on_progress or (lambda f, m: None)
    should_stop = should_stop or (lambda: False)
    torch.manual_seed(spec.seed)
    X_tr, y_tr, X_val, y_val = split_validation(X, y, spec.validation_fraction, spec.seed)
    Xt, yt = torch.from_numpy(np.ascontiguousarray(X_tr)), torch.from_numpy(y_tr)
    Xv = torch.from_numpy(np.ascontiguousarray(X_val)) if X_val is not None else None
    yv = torch.from_numpy(y_val) if y_val is not None else None
    batch = min(spec.batch_size, len(yt))
    steps_per_epoch = math.ceil(len(yt) / batch)
    opt = make_optimizer(module.parameters(), spec)
    sched = make_scheduler(opt, spec, steps_per_epoch)
    generator = torch.Generator().manual_seed(spec.seed)

    history = TrainHistory()
    good_state = copy.deepcopy(module.state_dict())
    best_val, best_state, since_best = math.inf, None, 0
    first_loss: float | None = None
    step = 0
    start = time.perf_counter()
    module.train()
    for epoch in range(1, spec.epochs + 1):
        order = torch.randperm(len(yt), generator=generator)
        loss_sum, correct, seen = 0.0, 0, 0
        for i in range(0, len(yt), batch):
            if should_stop():
                history.stop_reason, history.message = "cancelled", f"Stopped by the user in epoch {epoch}."
                return _finish(module, history, start, good_state)
            idx = order[i:i + batch]
            xb, yb = Xt[idx], yt[idx]
            with autocast_context(spec.precision):
                logits = module(xb)
                loss = nn.functional.cross_entropy(logits.float(), yb)
            total = loss + spec.l1 * l1_penalty(module) if spec.l1 else loss
            if not torch.isfinite(total) or (first_loss and total.item() > _EXPLODE_FACTOR * first_loss):
                history.stop_reason = "diverged"
                history.message = (f"Training diverged in epoch {epoch} (loss {total.item():.3g}); "
                                   "the last good weights were kept. Lower the learning rate or "
                                   "turn on gradient clipping.")
                return _finish(module, history, start, good_state)
            opt.zero_grad(set_to_none=True)
            total.backward()
            if spec.grad_clip:
                nn.utils.clip_grad_norm_(module.parameters(), spec.grad_clip)
            opt.step()
            if sched is not None:
                sched.step()
            step += 1
            if on_step is not None:
                on_step(module, step)
            loss_sum += loss.item() * len(yb)
            correct += int((logits.argmax(1) == yb).sum())
            seen += len(yb)
        history.n_samples_seen += seen
        train_loss = loss_sum / seen
        if first_loss is None:
            first_loss = max(train_loss, 1e-3)
        val_loss, val_acc = evaluate(module, Xv, yv) if Xv is not None else (None, None)
        history.epochs.append(EpochRecord(epoch, time.perf_counter() - start, train_loss,
                                          correct / seen, val_loss, val_acc,
                                          opt.param_groups[0]["lr"]))
        good_state = copy.deepcopy(module.state_dict())
        on_progress(epoch / spec.epochs,
                    f"epoch {epoch}/{spec.epochs}: loss {train_loss:.3f}"
                    + (f", validation accuracy {val_acc:.1%}" if val_acc is not None else ""))
        if spec.early_stopping_patience and val_loss is not None:
            if val_loss < best_val - 1e-4:
                best_val, best_state, since_best = val_loss, good_state, 0
                history.best_epoch = epoch
            else:
                since_best += 1
                if since_best >= spec.early_stopping_patience:
                    history.stop_reason = "early_stopping"
                    history.message = (f"Early stopping after epoch {epoch}: validation loss has not "
                                       f"improved for {since_best} epochs; weights of epoch "
                                       f"{history.best_epoch} restored.")
                    return _finish(module, history, start, best_state)
    if spec.early_stopping_patience and best_state is not None:
        return _finish(module, history, start, best_state)
    return _finish(module, history, start, None)


def _finish(module: nn.Module, history: TrainHistory, start: float, state: dict | None) -> TrainHistory:
    history.train_seconds = time.perf_counter() - start
    if state is not None:
        module.load_state_dict(state)
    module.eval()
    return history
