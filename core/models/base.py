"""The one interface the measurement harness sees, for torch and scikit-learn models alike."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class ParamCounts:
    total: int
    nonzero: int
    definition: str   # what was counted, in words (differs between model kinds)


class SavedModel(ABC):
    """What every measured model has, whatever it predicts: an artifact, counts, memory."""

    family: str = "small"

    @abstractmethod
    def artifact(self) -> dict[str, bytes]:
        """The files that make up the saved model, by file name: its size is their total length."""

    @abstractmethod
    def param_counts(self) -> ParamCounts:
        ...

    @abstractmethod
    def memory_bytes(self) -> int:
        """Bytes the learned state occupies in memory while loaded."""

    @property
    def format(self) -> str:
        """Short name of the artifact format, shown beside its size."""
        return "+".join(sorted(Path(n).suffix.lstrip(".") for n in self.artifact()))

    def save(self, directory: Path) -> list[Path]:
        """Write the artifact files into ``directory`` and return their paths."""
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, blob in self.artifact().items():
            path = directory / name
            path.write_bytes(blob)
            paths.append(path)
        return paths


class Classifier(SavedModel):
    """A trained classifier: predicts, counts its parameters and serialises itself."""

    @abstractmethod
    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class indices, shape (n,), for float32 features of shape (n, n_features)."""
