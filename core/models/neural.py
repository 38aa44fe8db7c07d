"""PyTorch networks (an MLP and a small CNN) and the classifier wrapper the harness measures."""

from __future__ import annotations

import json

import numpy as np
import torch
from safetensors.torch import save as safetensors_bytes
from torch import nn

from ..specs import CNNSpec, FTTransformerSpec, MLPSpec
from .base import Classifier, ParamCounts
from .transformer import build_ft_transformer


class MLP(nn.Module):
    """Linear -> ReLU (-> Dropout) blocks, then a linear classifier head."""

    def __init__(self, n_features: int, n_classes: int, hidden: tuple[int, ...], dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = []
        width = n_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, n_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, F) -> (B, C) logits
        return self.net(x.flatten(1))


class SmallCNN(nn.Module):
    """3x3 conv blocks with 2x2 max-pooling while the map is larger than 2x2, then a dense head."""

    def __init__(self, image_shape: tuple[int, int, int], n_classes: int, channels: tuple[int, ...],
                 hidden: int, dropout: float = 0.0):
        super().__init__()
        c, h, w = image_shape
        blocks: list[nn.Module] = []
        for out in channels:
            blocks += [nn.Conv2d(c, out, 3, padding=1), nn.ReLU()]
            if min(h, w) >= 4:
                blocks.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
            c = out
        self.features = nn.Sequential(*blocks)
        head: list[nn.Module] = [nn.Flatten(), nn.Linear(c * h * w, hidden), nn.ReLU()]
        if dropout:
            head.append(nn.Dropout(dropout))
        head.append(nn.Linear(hidden, n_classes))
        self.head = nn.Sequential(*head)
        self.image_shape = image_shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C*H*W) or (B, C, H, W) -> (B, classes)
        return self.head(self.features(x.reshape(-1, *self.image_shape)))


def build_module(spec: MLPSpec | CNNSpec, n_features: int, n_classes: int,
                 image_shape: tuple[int, int, int] | None,
                 feature_groups: tuple[int, ...] | None = None) -> nn.Module:
    """The torch network for ``spec``; ``feature_groups`` (Dataset.feature_groups) is used by
    models that embed each source column as one token (the FT-Transformer)."""
    if isinstance(spec, FTTransformerSpec):
        return build_ft_transformer(spec, n_features, n_classes, image_shape, feature_groups)
    if isinstance(spec, CNNSpec):
        if image_shape is None:
            raise ValueError("CNNSpec needs image-shaped data (the digits dataset); "
                             "this dataset's rows are not images. Use an MLP instead.")
        return SmallCNN(image_shape, n_classes, spec.channels, spec.hidden, spec.dropout)
    return MLP(n_features, n_classes, spec.hidden, spec.dropout)


def count_mlp_params(n_features: int, n_classes: int, hidden: tuple[int, ...]) -> int:
    """Parameters of an MLP without building it (for preset labels)."""
    widths = (n_features, *hidden, n_classes)
    return sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))


class TorchArtifact:
    """Saving and counting for wrappers that hold a torch ``module`` and its JSON ``arch``.

    The safetensors file plus the architecture JSON rebuild the model without unpickling.
    """

    module: nn.Module
    arch: dict
    params_definition = "weights and biases of every layer"

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Tensors written to the safetensors file; compressed variants override this."""
        return {k: v.detach().contiguous() for k, v in self.module.state_dict().items()}

    def artifact(self) -> dict[str, bytes]:
        return {"model.safetensors": safetensors_bytes(self.state_tensors()),
                "architecture.json": json.dumps(self.arch, sort_keys=True).encode()}

    def param_counts(self) -> ParamCounts:
        params = list(self.module.parameters())
        return ParamCounts(sum(p.numel() for p in params),
                           sum(int(torch.count_nonzero(p)) for p in params), self.params_definition)

    def memory_bytes(self) -> int:
        tensors = list(self.module.parameters()) + list(self.module.buffers())
        return sum(t.numel() * t.element_size() for t in tensors)


class TorchClassifier(TorchArtifact, Classifier):
    """A torch module with the metadata needed to run, save and rebuild it.

    ``arch`` is the JSON-serialisable description saved beside the weights; together with the
    safetensors file it rebuilds the model without unpickling anything.
    """

    def __init__(self, module: nn.Module, arch: dict, family: str):
        self.module = module.eval()
        self.arch = arch
        self.family = family

    def logits(self, X: np.ndarray) -> torch.Tensor:
        with torch.inference_mode():
            return self.module(torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.logits(X).argmax(dim=1).numpy()

