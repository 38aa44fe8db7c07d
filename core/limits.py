"""Resource caps that keep one user's settings from taking the machine down.

Specs validate what is impossible (zero epochs, sparsity 1.0); these caps refuse what is
possible but too expensive for a shared machine. Each can be changed by an environment variable,
so a teaching lab and a workstation can set their own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from .data import Dataset
from .specs import ExperimentSpec


@dataclass(frozen=True)
class Limits:
    max_params: int = 50_000_000        # per network, counted before any memory is allocated
    max_epochs: int = 200
    max_candidates: int = 24
    max_job_seconds: float = 1800.0     # a background job is stopped after this long

    ENV = {"max_params": "TRADEOFF_LAB_MAX_PARAMS", "max_epochs": "TRADEOFF_LAB_MAX_EPOCHS",
           "max_candidates": "TRADEOFF_LAB_MAX_CANDIDATES",
           "max_job_seconds": "TRADEOFF_LAB_MAX_JOB_SECONDS"}

    @classmethod
    def from_env(cls) -> "Limits":
        """Defaults, overridden by any TRADEOFF_LAB_MAX_* variable that is set."""
        values = {}
        for name, var in cls.ENV.items():
            raw = os.environ.get(var)
            if raw is None or raw == "":
                continue
            kind = type(getattr(cls, name))
            try:
                values[name] = kind(float(raw)) if kind is int else kind(raw)
            except ValueError:
                raise ValueError(f"{var} must be a number; got {raw!r}") from None
            if values[name] <= 0:
                raise ValueError(f"{var} must be positive; got {raw!r}")
        return cls(**values)


class LimitExceeded(ValueError):
    """A setting is valid but over a configured resource cap."""


def count_params(model_spec, data: Dataset) -> int:
    """Parameters of the network a spec would build, counted on the meta device (no memory used)."""
    from .models.neural import build_module  # deferred: models imports torch-heavy modules

    with torch.device("meta"):
        module = build_module(model_spec, data.n_features, data.n_classes, data.image_shape,
                              data.feature_groups)
    return sum(p.numel() for p in module.parameters())


def check_limits(spec: ExperimentSpec, data: Dataset, limits: Limits | None = None) -> None:
    """Raise LimitExceeded naming the candidate, the setting and the cap it breaks."""
    limits = limits or Limits.from_env()
    if len(spec.candidates) > limits.max_candidates:
        raise LimitExceeded(f"{len(spec.candidates)} candidates is over the limit of "
                            f"{limits.max_candidates} ({Limits.ENV['max_candidates']}); compare fewer models.")
    n_train = len(data.y_train)
    for cand in spec.candidates:
        if cand.model is None or not cand.model.is_neural:
            continue
        train = cand.train
        if train.epochs > limits.max_epochs:
            raise LimitExceeded(f"{cand.name}: {train.epochs} epochs is over the limit of "
                                f"{limits.max_epochs} ({Limits.ENV['max_epochs']}).")
        if train.batch_size > n_train:
            raise LimitExceeded(f"{cand.name}: batch size {train.batch_size} is larger than the "
                                f"{n_train} training rows; choose at most {n_train}.")
        try:
            n_params = count_params(cand.model, data)
        except (ValueError, RuntimeError):
            continue  # an unbuildable model fails with its own message when it is trained
        if n_params > limits.max_params:
            raise LimitExceeded(f"{cand.name}: {n_params:,} parameters is over the limit of "
                                f"{limits.max_params:,} ({Limits.ENV['max_params']}); choose a "
                                "smaller size.")


def check_language_limits(spec, vocab_size: int, n_train_chars: int, limits: Limits | None = None) -> None:
    """The same caps for a language-model run: candidates, GPT parameters, training time, batch.

    ``spec`` is a LanguageExperimentSpec; a GPT trains for at most its max_seconds, so that limit
    (not epochs) is what is checked against the job time cap.
    """
    from .lm.gpt import gpt_param_count   # deferred: core.lm imports this module's users
    from .specs import GPTSpec, LMDistill

    limits = limits or Limits.from_env()
    if len(spec.candidates) > limits.max_candidates:
        raise LimitExceeded(f"{len(spec.candidates)} candidates is over the limit of "
                            f"{limits.max_candidates} ({Limits.ENV['max_candidates']}); compare fewer models.")
    for cand in spec.candidates:
        gpts = [cand.model] if isinstance(cand.model, GPTSpec) else []
        gpts += [s.student for s in cand.compress if isinstance(s, LMDistill)]
        for gpt in gpts:
            n_params = gpt_param_count(vocab_size, gpt)
            if n_params > limits.max_params:
                raise LimitExceeded(f"{cand.name}: {n_params:,} parameters is over the limit of "
                                    f"{limits.max_params:,} ({Limits.ENV['max_params']}); choose a "
                                    "smaller size.")
            if gpt.block_size + 1 >= n_train_chars:
                raise LimitExceeded(f"{cand.name}: a context of {gpt.block_size} characters does not "
                                    f"fit in the {n_train_chars:,} training characters; use more text "
                                    "or a shorter context.")
        if cand.train is not None and isinstance(cand.model, GPTSpec) and \
                cand.train.max_seconds > limits.max_job_seconds:
            raise LimitExceeded(f"{cand.name}: a training limit of {cand.train.max_seconds:g} s is "
                                f"over the job limit of {limits.max_job_seconds:g} s "
                                f"({Limits.ENV['max_job_seconds']}).")


__all__ = ["Limits", "LimitExceeded", "check_language_limits", "check_limits", "count_params"]
