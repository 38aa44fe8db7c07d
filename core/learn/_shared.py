"""What the Learn demos share: one small network trained on digits by the real engine, and a
few plain helpers. Kept tiny so every demo answers in about a second on two cores.
"""

from __future__ import annotations

import copy
import functools
from contextlib import contextmanager
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from ..data import Dataset, load
from ..i18n import translate
from ..models.neural import TorchClassifier
from ..specs import DatasetSpec, MLPSpec, TrainSpec
from ..train import fit_neural

@contextmanager
def one_thread():
    """One torch intra-op thread for the block, on the calling thread only.

    The demos' tensors are tiny, so extra threads only add spin-waiting (measured 15x slower on a
    busy 2-core machine). torch's OpenMP backend keeps this setting per calling thread, so a
    background job timing latency on another thread keeps its own budget; BLAS pools, which are
    process-wide, are deliberately left alone.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def single_threaded(fn):
    """Run ``fn`` inside `one_thread`."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with one_thread():
            return fn(*args, **kwargs)

    return wrapper


DIGITS = DatasetSpec("digits", test_fraction=0.25, seed=0)


@lru_cache(maxsize=2)
def digits() -> Dataset:
    """scikit-learn's 8x8 digits, split and standardised by `core.data.load` (cached)."""
    return load(DIGITS)


@lru_cache(maxsize=4)
def _trained_digits_mlp(hidden: tuple[int, ...], epochs: int, seed: int) -> TorchClassifier:
    model, _ = fit_neural(MLPSpec(hidden=hidden), TrainSpec(optimizer="adam", lr=3e-3, epochs=epochs,
                                                            batch_size=64, validation_fraction=0.0,
                                                            seed=seed), digits())
    return model


def digits_mlp(hidden: tuple[int, ...] = (32,), epochs: int = 12, seed: int = 0) -> TorchClassifier:
    """A private copy of an MLP trained on digits with the engine's training loop.

    The trained original is cached and never handed out: callers may change their copy freely.
    """
    return copy.deepcopy(_trained_digits_mlp(tuple(hidden), epochs, seed))


def linears(module: nn.Module) -> list[nn.Linear]:
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


def accuracy(module: nn.Module, data: Dataset) -> float:
    """Held-out accuracy of a torch module on ``data``'s test split."""
    with torch.inference_mode():
        pred = module.eval()(torch.from_numpy(data.X_test)).argmax(1).numpy()
    return float(np.mean(pred == data.y_test))


def chart_text(lang: str, key: str, **values) -> str:
    """A label of the demo charts in ``lang`` (``locales/<lang>/learn.yaml``, area learn_chart)."""
    return translate(lang, f"learn_chart.{key}", **values)


def entropy_bits(p: np.ndarray) -> np.ndarray:
    """Shannon entropy in bits along the last axis of probability rows."""
    p = np.clip(p, 1e-12, 1.0)
    return -(p * np.log2(p)).sum(axis=-1)
