"""Models on both sides of the comparison, behind one `Classifier` interface."""

from .base import Classifier, ParamCounts
from .classical import SklearnClassifier, make_estimator
from .neural import MLP, SmallCNN, TorchClassifier, build_module, count_mlp_params
from .registry import FT_PRESETS, MLP_PRESETS, MODELS, ModelInfo, info_for
from .transformer import FTTransformer, build_ft_transformer, count_ft_params

__all__ = ["Classifier", "ParamCounts", "SklearnClassifier", "make_estimator", "MLP", "SmallCNN",
           "TorchClassifier", "build_module", "count_mlp_params", "MLP_PRESETS", "MODELS",
           "ModelInfo", "info_for", "FT_PRESETS", "FTTransformer", "build_ft_transformer",
           "count_ft_params"]
