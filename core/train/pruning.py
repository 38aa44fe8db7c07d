"""Gradient-saliency pruning during training: remove the weights with the smallest |w * g|.

Every ``every`` optimiser steps the target sparsity of the round grows linearly until it reaches
``target`` at ``ramp`` of the planned steps; each weight matrix or kernel then loses its entries
with the smallest saliency |w * dL/dw| (a first-order estimate of the loss change if the weight
were removed). Pruned weights stay zero: the mask is applied after every optimiser step, so
momentum or Adam state cannot regrow them.
"""

from __future__ import annotations

import torch
from torch import nn


def prunable(module: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """Weight matrices and conv kernels; biases and norm parameters are left dense."""
    return [(n, p) for n, p in module.named_parameters() if p.dim() > 1]


def make_masks(module: nn.Module) -> list[torch.Tensor]:
    """All-ones float masks shaped like the prunable weights (share_memory_() them for Hogwild)."""
    return [torch.ones_like(p, dtype=torch.float32, device="cpu") for _, p in prunable(module)]


def sparsity(module: nn.Module) -> float:
    """Fraction of exactly-zero entries over the prunable weights."""
    params = [p for _, p in prunable(module)]
    total = sum(p.numel() for p in params)
    return sum(int((p == 0).sum()) for p in params) / max(total, 1)


class GradientSaliencyPruner:
    """An ``on_step(module, step)`` hook that prunes to ``target`` sparsity while training.

    Sparsity is per layer (each weight tensor reaches the same fraction) so that a small layer,
    such as a 2048x10 classifier head, cannot be wiped out by a global threshold set by large
    layers. With shared ``masks`` (Hogwild!), only the owner decides; the others apply them.
    """

    def __init__(self, module: nn.Module, target: float, every: int, total_steps: int,
                 ramp: float = 0.75, masks: list[torch.Tensor] | None = None, owns_masks: bool = True):
        if not 0.0 <= target < 1.0:
            raise ValueError(f"GradientSaliencyPruner.target must be in [0, 1); got {target}")
        self.target, self.every = target, max(1, every)
        self.n_rounds = max(1, int(ramp * total_steps) // self.every)
        self.params = [p for _, p in prunable(module)]
        device = self.params[0].device if self.params else torch.device("cpu")
        self.masks = masks if masks is not None else [m.to(device) for m in make_masks(module)]
        self.owns_masks = owns_masks
        self.rounds = 0
        self.current = 0.0   # sparsity the masks enforce now

    def __call__(self, module: nn.Module, step: int) -> None:
        if self.owns_masks and step % self.every == 0 and self.current < self.target:
            self.rounds += 1
            self._prune_to(self.target * min(1.0, self.rounds / self.n_rounds))
        self.apply()

    @torch.no_grad()
    def apply(self) -> None:
        for p, m in zip(self.params, self.masks):
            p.mul_(m.to(p.device, p.dtype) if m.device != p.device else m)

    @torch.no_grad()
    def _prune_to(self, level: float) -> None:
        for p, m in zip(self.params, self.masks):
            n_prune = int(level * p.numel())
            if n_prune <= int((m == 0).sum()):
                continue
            g = p.grad if p.grad is not None else torch.ones_like(p)  # no gradient: magnitude
            score = (p.detach().float() * g.float()).abs().flatten()   # (numel,) saliency
            score[m.flatten().to(score.device) == 0] = -1.0             # already pruned stay pruned
            drop = torch.topk(score, n_prune, largest=False).indices
            m.view(-1)[drop.to(m.device)] = 0.0
        self.current = level

    def finish(self, module: nn.Module) -> None:
        """Reach the target now if the run ended before the ramp did, and apply the masks."""
        if self.owns_masks and self.current < self.target:
            self.rounds += 1
            self._prune_to(self.target)
        self.apply()

    def summary(self) -> dict:
        total = sum(p.numel() for p in self.params)
        zeros = sum(int((p == 0).sum()) for p in self.params)
        return {"target_sparsity": self.target, "reached_sparsity": zeros / max(total, 1),
                "rounds": self.rounds, "every_steps": self.every,
                "scope": "weight matrices and kernels, per layer; biases dense",
                "note": "zeroed weights keep their dense storage: nominal sparsity, not a "
                        "smaller or faster model by itself"}


__all__ = ["GradientSaliencyPruner", "make_masks", "prunable", "sparsity"]
