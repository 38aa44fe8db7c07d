"""Every model the tool can train: its family, a one-line description and default settings."""

from __future__ import annotations

from dataclasses import dataclass

from ..specs import (CNNSpec, FTTransformerSpec, HistGradientBoostingSpec, KNeighborsSpec, LinearSVMSpec,
                     LogisticRegressionSpec, MLPSpec, ModelSpec, RandomForestSpec, RBFSVMSpec,
                     TinyMLPSpec)


@dataclass(frozen=True)
class ModelInfo:
    kind: str            # the spec's tag, as written in YAML
    label: str           # shown in the UI
    description: str     # one line
    default: ModelSpec   # the settings used when the user changes nothing

    @property
    def family(self) -> str:
        return self.default.family

    @property
    def needs_images(self) -> bool:
        return isinstance(self.default, CNNSpec)


MODELS: dict[str, ModelInfo] = {info.kind: info for info in (
    ModelInfo("mlp", "MLP (PyTorch)", "Fully connected network; width and depth set its size.",
              MLPSpec(hidden=(512, 512))),
    ModelInfo("cnn", "Small CNN (PyTorch)", "Convolutions over 8x8 images; for image-shaped data only.",
              CNNSpec()),
    ModelInfo("logistic_regression", "Logistic regression",
              "One weight per feature and class; L1 makes it sparse.", LogisticRegressionSpec()),
    ModelInfo("linear_svm", "Linear SVM", "A maximum-margin linear boundary.", LinearSVMSpec()),
    ModelInfo("rbf_svm", "RBF SVM", "Kernel SVM; keeps the support vectors it needs.", RBFSVMSpec()),
    ModelInfo("random_forest", "Random forest", "Averages many deep decision trees.",
              RandomForestSpec()),
    ModelInfo("hist_gradient_boosting", "Gradient boosting",
              "Histogram gradient-boosted trees, added one at a time.", HistGradientBoostingSpec()),
    ModelInfo("knn", "k-nearest neighbours", "Stores the training set; votes among the closest rows.",
              KNeighborsSpec()),
    ModelInfo("tiny_mlp", "Tiny MLP (PyTorch)", "A one-hidden-layer network of a few thousand weights.",
              TinyMLPSpec()),
    ModelInfo("ft_transformer", "FT-Transformer (PyTorch)",
              "BERT-style encoder: one token per column (or image row), a [CLS] token, attention.",
              FTTransformerSpec()),
)}

# Width presets for the large MLP, from about 0.1 M to about 10 M parameters (on digits).
MLP_PRESETS: dict[str, tuple[int, ...]] = {
    "S": (256, 256),
    "M": (1024, 1024),
    "L": (1536, 1536),
    "XL": (2048, 2048, 2048),
    "XXL": (2304, 2304, 2304),
}


# Size presets for the FT-Transformer as (width, depth, heads): about 0.1 M, 0.9 M, 2.1 M and
# 4.8 M parameters on 30 features (encoder blocks dominate: ~(4 + 2 * ffn_factor) * width^2 each).
FT_PRESETS: dict[str, tuple[int, int, int]] = {
    "S": (80, 2, 4),
    "M": (192, 3, 8),
    "L": (256, 4, 8),
    "XL": (384, 4, 8),
}


def info_for(spec: ModelSpec) -> ModelInfo:
    return MODELS[spec.kind]
