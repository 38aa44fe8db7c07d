"""Frozen, self-validating dataclasses for every choice a user can make.

A spec is pure data: it validates itself on construction, round-trips through plain dicts
(`to_dict` / `from_dict`, the shape used by YAML spec files) and has a stable content hash that
the engine uses as a cache key. Union-typed fields (a model, a compression step) are tagged in
dict form by a ``kind`` key whose values are registered with `@tagged("name")`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import types
import typing
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

# --------------------------------------------------------------------------------------------
# Validation helpers: every message names the field, the allowed range and the value received.


def _check_range(owner: str, name: str, value: float, low: float, high: float,
                 low_open: bool = False, high_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValueError(f"{owner}.{name} must be a number; got {value!r}")
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise ValueError(f"{owner}.{name} must be in {lo}{_fmt(low)}, {_fmt(high)}{hi}; got {value!r}")


def _check_int(owner: str, name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{owner}.{name} must be a whole number in [{low}, {high}]; got {value!r}")
    _check_range(owner, name, value, low, high)


def _check_choice(owner: str, name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{owner}.{name} must be one of {', '.join(allowed)}; got {value!r}")


def _fmt(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


# --------------------------------------------------------------------------------------------
# Tagged unions: ``kind`` in dict form <-> a dataclass type.

_KINDS: dict[str, type] = {}


def tagged(kind: str):
    """Register a spec class under ``kind`` for dict round-trips."""

    def register(cls):
        if kind in _KINDS:
            raise RuntimeError(f"spec kind {kind!r} registered twice")
        cls.kind = kind
        _KINDS[kind] = cls
        return cls

    return register


def spec_kinds(base: type) -> dict[str, type]:
    """All registered kinds that are subclasses of ``base`` (e.g. every model spec)."""
    return {k: c for k, c in _KINDS.items() if issubclass(c, base)}


class Spec:
    """Mixin: dict round-trip and a stable hash for frozen dataclasses."""

    kind: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind} if self.kind else {}
        for f in fields(self):
            out[f.name] = _to_plain(getattr(self, f.name))
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        if not isinstance(data, dict):
            raise ValueError(f"{cls.__name__} must be a mapping; got {type(data).__name__}")
        data = dict(data)
        target = cls
        kind = data.pop("kind", None)
        if kind is not None:
            if kind not in _KINDS or not issubclass(_KINDS[kind], cls):
                allowed = ", ".join(sorted(spec_kinds(cls))) or "(none)"
                raise ValueError(f"{cls.__name__}.kind must be one of {allowed}; got {kind!r}")
            target = _KINDS[kind]
        elif target.kind == "" and spec_kinds(target):
            raise ValueError(f"{cls.__name__} needs a 'kind': one of {', '.join(sorted(spec_kinds(cls)))}")
        known = {f.name: f for f in fields(target)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"{target.__name__} has no field {unknown[0]!r}; fields are {', '.join(known)}")
        hints = typing.get_type_hints(target)
        kwargs = {name: _from_plain(hints[name], value, f"{target.__name__}.{name}")
                  for name, value in data.items()}
        return target(**kwargs)

    def spec_hash(self) -> str:
        """Stable content hash: equal specs hash equal across processes and versions of Python."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _to_plain(value: Any) -> Any:
    if isinstance(value, Spec):
        return value.to_dict()
    if isinstance(value, (tuple, list)):
        return [_to_plain(v) for v in value]
    return value


def _from_plain(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        return _from_plain(non_none[0], value, where) if len(non_none) == 1 else value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{where} must be a list; got {value!r}")
        item = args[0] if args else Any
        return tuple(_from_plain(item, v, where) for v in value)
    if isinstance(hint, type) and issubclass(hint, Spec):
        return hint.from_dict(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


# --------------------------------------------------------------------------------------------
# Data

BUILTIN_DATASETS = ("digits", "breast_cancer", "wine", "iris", "moons", "circles", "classification")
SYNTHETIC_DATASETS = ("moons", "circles", "classification")


@dataclass(frozen=True)
class DatasetSpec(Spec):
    name: str = "digits"          # a built-in name, or "csv" for a user's file
    n_samples: int = 600          # synthetic datasets only
    n_features: int = 20          # make_classification only (moons/circles are 2-D)
    n_classes: int = 2            # make_classification only
    noise: float = 0.2            # moons/circles: gaussian noise sd; classification: label flip rate
    csv_path: str | None = None   # content-addressed copy of the user's CSV
    target: str | None = None     # CSV target column; None means the last column
    test_fraction: float = 0.25   # held-out share, split stratified by class
    seed: int = 0                 # seeds the synthetic generator and the split

    def __post_init__(self):
        o = "DatasetSpec"
        _check_choice(o, "name", self.name, BUILTIN_DATASETS + ("csv",))
        _check_int(o, "n_samples", self.n_samples, 20, 200_000)
        _check_int(o, "n_features", self.n_features, 2, 2_000)
        _check_int(o, "n_classes", self.n_classes, 2, 50)
        _check_range(o, "noise", self.noise, 0.0, 1.0)
        _check_range(o, "test_fraction", self.test_fraction, 0.05, 0.8)
        _check_int(o, "seed", self.seed, 0, 2**31 - 1)
        if self.name == "csv" and not self.csv_path:
            raise ValueError("DatasetSpec.csv_path is required when name is 'csv'; got None")
        if self.name == "classification" and self.n_classes * 2 > 2 ** min(self.n_features, 20):
            raise ValueError(f"DatasetSpec.n_classes must be at most 2**n_features / 2 for "
                             f"make_classification; got {self.n_classes} with {self.n_features} features")


# --------------------------------------------------------------------------------------------
# Models. ``family`` says which side of the comparison a model is on.


class ModelSpec(Spec):
    family: ClassVar[str] = "small"
    is_neural: ClassVar[bool] = False


@tagged("mlp")
@dataclass(frozen=True)
class MLPSpec(ModelSpec):
    hidden: tuple[int, ...] = (256, 256)  # width of each hidden layer, input to output
    dropout: float = 0.0                  # applied after every hidden activation while training
    family: ClassVar[str] = "large"
    is_neural: ClassVar[bool] = True

    def __post_init__(self):
        o = type(self).__name__
        if not isinstance(self.hidden, tuple) or not 1 <= len(self.hidden) <= 8:
            raise ValueError(f"{o}.hidden must list 1 to 8 layer widths; got {self.hidden!r}")
        for width in self.hidden:
            _check_int(o, "hidden", width, 1, 8192)
        _check_range(o, "dropout", self.dropout, 0.0, 0.9)


@tagged("tiny_mlp")
@dataclass(frozen=True)
class TinyMLPSpec(MLPSpec):
    """The same torch MLP, sized to sit on the small side of the comparison."""

    hidden: tuple[int, ...] = (32,)
    family: ClassVar[str] = "small"


@tagged("cnn")
@dataclass(frozen=True)
class CNNSpec(ModelSpec):
    channels: tuple[int, ...] = (32, 64)  # output channels of each 3x3 conv block
    hidden: int = 128                     # width of the dense layer before the classifier
    dropout: float = 0.0
    family: ClassVar[str] = "large"
    is_neural: ClassVar[bool] = True

    def __post_init__(self):
        o = "CNNSpec"
        if not isinstance(self.channels, tuple) or not 1 <= len(self.channels) <= 4:
            raise ValueError(f"{o}.channels must list 1 to 4 conv widths; got {self.channels!r}")
        for c in self.channels:
            _check_int(o, "channels", c, 1, 1024)
        _check_int(o, "hidden", self.hidden, 1, 8192)
        _check_range(o, "dropout", self.dropout, 0.0, 0.9)


@tagged("logistic_regression")
@dataclass(frozen=True)
class LogisticRegressionSpec(ModelSpec):
    penalty: str = "l2"   # "l1" gives sparse coefficients
    C: float = 1.0        # inverse regularisation strength

    def __post_init__(self):
        _check_choice("LogisticRegressionSpec", "penalty", self.penalty, ("l1", "l2"))
        _check_range("LogisticRegressionSpec", "C", self.C, 1e-6, 1e6)


@tagged("linear_svm")
@dataclass(frozen=True)
class LinearSVMSpec(ModelSpec):
    C: float = 1.0

    def __post_init__(self):
        _check_range("LinearSVMSpec", "C", self.C, 1e-6, 1e6)


@tagged("rbf_svm")
@dataclass(frozen=True)
class RBFSVMSpec(ModelSpec):
    C: float = 10.0
    gamma: str | float = "scale"  # "scale" (sklearn's default rule) or a positive number

    def __post_init__(self):
        _check_range("RBFSVMSpec", "C", self.C, 1e-6, 1e6)
        if self.gamma != "scale":
            _check_range("RBFSVMSpec", "gamma", self.gamma, 0.0, 1e6, low_open=True)


@tagged("random_forest")
@dataclass(frozen=True)
class RandomForestSpec(ModelSpec):
    n_estimators: int = 100
    max_depth: int | None = None  # None grows trees until leaves are pure

    def __post_init__(self):
        _check_int("RandomForestSpec", "n_estimators", self.n_estimators, 1, 2000)
        if self.max_depth is not None:
            _check_int("RandomForestSpec", "max_depth", self.max_depth, 1, 100)


@tagged("hist_gradient_boosting")
@dataclass(frozen=True)
class HistGradientBoostingSpec(ModelSpec):
    max_iter: int = 100
    learning_rate: float = 0.1
    max_depth: int | None = None

    def __post_init__(self):
        _check_int("HistGradientBoostingSpec", "max_iter", self.max_iter, 1, 5000)
        _check_range("HistGradientBoostingSpec", "learning_rate", self.learning_rate, 0.0, 1.0,
                     low_open=True)
        if self.max_depth is not None:
            _check_int("HistGradientBoostingSpec", "max_depth", self.max_depth, 1, 100)


@tagged("knn")
@dataclass(frozen=True)
class KNeighborsSpec(ModelSpec):
    n_neighbors: int = 5

    def __post_init__(self):
        _check_int("KNeighborsSpec", "n_neighbors", self.n_neighbors, 1, 500)


# --------------------------------------------------------------------------------------------
# Training (torch models only; classical models use their estimator's own fit)

OPTIMIZERS = ("adam", "adamw", "sgd")
PRECISIONS = ("fp32", "bf16", "fp16")
SCHEDULES = ("none", "step", "cosine", "onecycle")
PARALLEL = ("single", "ddp", "hogwild", "local_sgd")


@dataclass(frozen=True)
class TrainSpec(Spec):
    optimizer: str = "adam"         # adam | adamw | sgd
    lr: float = 1e-3                # peak learning rate
    momentum: float = 0.9           # sgd only
    nesterov: bool = False          # sgd only
    epochs: int = 20
    batch_size: int = 64
    weight_decay: float = 0.0       # L2 (decoupled for adamw)
    l1: float = 0.0                 # coefficient of sum(|w|) added to the loss
    schedule: str = "none"          # learning-rate schedule
    grad_clip: float = 0.0          # max global grad norm; 0 disables clipping
    early_stopping_patience: int = 0  # epochs without val improvement before stopping; 0 = off
    validation_fraction: float = 0.1  # slice of the training split used for early stopping
    precision: str = "fp32"         # autocast dtype for forward/backward
    parallel: str = "single"        # single process, DDP workers, Hogwild! workers, or local SGD
    n_workers: int = 1              # processes for ddp / hogwild / local_sgd
    sync_every: int = 8             # local_sgd: optimizer steps between parameter averaging
    prune_sparsity: float = 0.0     # gradient-saliency pruning target during training; 0 = off
    prune_every: int = 50           # optimizer steps between pruning rounds
    seed: int = 0

    def __post_init__(self):
        o = "TrainSpec"
        _check_choice(o, "optimizer", self.optimizer, OPTIMIZERS)
        _check_range(o, "lr", self.lr, 0.0, 10.0, low_open=True)
        _check_range(o, "momentum", self.momentum, 0.0, 1.0, high_open=True)
        _check_int(o, "epochs", self.epochs, 1, 1000)
        _check_int(o, "batch_size", self.batch_size, 1, 65_536)
        _check_range(o, "weight_decay", self.weight_decay, 0.0, 1.0)
        _check_range(o, "l1", self.l1, 0.0, 1.0)
        _check_choice(o, "schedule", self.schedule, SCHEDULES)
        _check_range(o, "grad_clip", self.grad_clip, 0.0, 1e6)
        _check_int(o, "early_stopping_patience", self.early_stopping_patience, 0, 1000)
        _check_range(o, "validation_fraction", self.validation_fraction, 0.0, 0.5)
        _check_choice(o, "precision", self.precision, PRECISIONS)
        _check_choice(o, "parallel", self.parallel, PARALLEL)
        _check_int(o, "n_workers", self.n_workers, 1, 64)
        _check_int(o, "sync_every", self.sync_every, 1, 100_000)
        _check_range(o, "prune_sparsity", self.prune_sparsity, 0.0, 1.0, high_open=True)
        _check_int(o, "prune_every", self.prune_every, 1, 100_000)
        _check_int(o, "seed", self.seed, 0, 2**31 - 1)
        if self.early_stopping_patience and self.validation_fraction == 0:
            raise ValueError("TrainSpec.validation_fraction must be > 0 when early stopping is on; got 0")
        if self.parallel == "local_sgd" and self.prune_sparsity:
            raise ValueError("TrainSpec.prune_sparsity must be 0 when parallel is 'local_sgd' "
                             f"(replicas would prune different weights); got {self.prune_sparsity}")


# --------------------------------------------------------------------------------------------
# Compression steps. Each step is one verb applied to a copy of its parent's model; the handlers
# live in core/compress and are found by the step's type.


class CompressStep(Spec):
    pass


# --- compression steps (filled in by core/compress) ---
# Handlers: core/compress/quantize.py, prune.py, distill.py, classical.py (one per step type).

QUANT_GRANULARITIES = ("per_channel", "per_tensor")
INT4_GROUP_SIZES = (32, 64, 128)
CAST_DTYPES = ("bf16", "fp16")
PRUNE_SCOPES = ("layer", "global")
SPARSE_STORAGES = ("bitmask", "csr", "dense")
SPARSE_EXECUTIONS = ("auto", "dense", "sparse")
STRUCTURED_CRITERIA = ("activation", "l2", "l1")


def _check_fine_tune(o: str, epochs: int, lr_scale: float) -> None:
    _check_int(o, "fine_tune_epochs", epochs, 0, 100)
    _check_range(o, "fine_tune_lr_scale", lr_scale, 0.0, 10.0, low_open=True)


@tagged("quantize_dynamic")
@dataclass(frozen=True)
class QuantizeDynamic(CompressStep):
    """int8 weights, activations quantised on the fly per call (Linear layers)."""

    granularity: str = "per_channel"  # one weight scale per output row, or one per layer

    def __post_init__(self):
        _check_choice("QuantizeDynamic", "granularity", self.granularity, QUANT_GRANULARITIES)


@tagged("quantize_static")
@dataclass(frozen=True)
class QuantizeStatic(CompressStep):
    """int8 weights and activations; activation ranges calibrated on training rows."""

    calibration_samples: int = 256    # training rows run through the observers
    granularity: str = "per_channel"

    def __post_init__(self):
        _check_int("QuantizeStatic", "calibration_samples", self.calibration_samples, 1, 100_000)
        _check_choice("QuantizeStatic", "granularity", self.granularity, QUANT_GRANULARITIES)


@tagged("quantize_int4")
@dataclass(frozen=True)
class QuantizeInt4(CompressStep):
    """Weight-only int4, symmetric, one scale per group of input weights; stored packed."""

    group_size: int = 64              # weights sharing one scale along a row: 32, 64 or 128

    def __post_init__(self):
        if self.group_size not in INT4_GROUP_SIZES:
            raise ValueError(f"QuantizeInt4.group_size must be one of 32, 64, 128; got {self.group_size!r}")


@tagged("cast")
@dataclass(frozen=True)
class CastWeights(CompressStep):
    """Weights and compute in a 16-bit float type."""

    dtype: str = "bf16"

    def __post_init__(self):
        _check_choice("CastWeights", "dtype", self.dtype, CAST_DTYPES)


@dataclass(frozen=True)
class _UnstructuredPrune(CompressStep):
    amount: float = 0.5               # share of weights (matrices and kernels) set to zero
    scope: str = "layer"              # the same share in every layer, or one global threshold
    fine_tune_epochs: int = 0         # epochs of training afterwards, zeros kept at zero
    fine_tune_lr_scale: float = 0.1   # fine-tuning lr = the training spec's lr x this
    storage: str = "bitmask"          # saved artifact: bitmask + values, CSR, or dense
    execution: str = "auto"           # auto picks dense or sparse kernels by timing both

    def __post_init__(self):
        o = type(self).__name__
        _check_range(o, "amount", self.amount, 0.0, 1.0, high_open=True)
        _check_choice(o, "scope", self.scope, PRUNE_SCOPES)
        _check_fine_tune(o, self.fine_tune_epochs, self.fine_tune_lr_scale)
        _check_choice(o, "storage", self.storage, SPARSE_STORAGES)
        _check_choice(o, "execution", self.execution, SPARSE_EXECUTIONS)


@tagged("prune_magnitude")
@dataclass(frozen=True)
class PruneMagnitude(_UnstructuredPrune):
    """Zero the weights of smallest |w|."""


@tagged("prune_saliency")
@dataclass(frozen=True)
class PruneSaliency(_UnstructuredPrune):
    """Zero the weights of smallest |w * dL/dw| on a calibration batch."""

    calibration_samples: int = 256    # training rows in the calibration batch

    def __post_init__(self):
        super().__post_init__()
        _check_int("PruneSaliency", "calibration_samples", self.calibration_samples, 1, 100_000)


@tagged("prune_structured")
@dataclass(frozen=True)
class PruneStructured(CompressStep):
    """Remove whole hidden neurons (MLP) or channels (CNN) and rebuild smaller layers."""

    amount: float = 0.5               # share of neurons / channels removed from every hidden layer
    # What ranks a unit: "activation" = mean ReLU output on calibration rows x norm of its outgoing
    # weights (its contribution to the next layer); "l2"/"l1" = norm of its incoming weights.
    criterion: str = "activation"
    calibration_samples: int = 512    # training rows for the activation criterion
    fine_tune_epochs: int = 0
    fine_tune_lr_scale: float = 1.0   # fine-tuning lr = the training spec's lr x this

    def __post_init__(self):
        _check_range("PruneStructured", "amount", self.amount, 0.0, 1.0, high_open=True)
        _check_choice("PruneStructured", "criterion", self.criterion, STRUCTURED_CRITERIA)
        _check_int("PruneStructured", "calibration_samples", self.calibration_samples, 1, 100_000)
        _check_fine_tune("PruneStructured", self.fine_tune_epochs, self.fine_tune_lr_scale)


@tagged("fine_tune")
@dataclass(frozen=True)
class FineTune(CompressStep):
    """More training of a float model; zero weights of a pruned model stay zero."""

    epochs: int = 1
    lr_scale: float = 0.1             # lr = the training spec's lr x this

    def __post_init__(self):
        _check_int("FineTune", "epochs", self.epochs, 1, 100)
        _check_range("FineTune", "lr_scale", self.lr_scale, 0.0, 10.0, low_open=True)


@tagged("distill")
@dataclass(frozen=True)
class Distill(CompressStep):
    """Train a small student on the teacher's softened outputs and a fraction of the labels."""

    student: ModelSpec = TinyMLPSpec(hidden=(64,))  # a torch model spec (mlp, tiny_mlp, cnn)
    temperature: float = 4.0          # softens teacher and student logits in the soft loss
    alpha: float = 0.9                # weight of the soft loss; 1 - alpha weighs the label loss
    epochs: int = 40
    label_fraction: float = 0.1       # share of training rows whose true label the student sees
    seed: int = 0                     # student initialisation, label subset, batch order
    control: bool = True              # also train the student on the labelled rows alone

    def __post_init__(self):
        o = "Distill"
        if not isinstance(self.student, ModelSpec) or not self.student.is_neural:
            raise ValueError(f"{o}.student must be a torch model spec (mlp, tiny_mlp, cnn); "
                             f"got {self.student!r}")
        _check_range(o, "temperature", self.temperature, 0.0, 100.0, low_open=True)
        _check_range(o, "alpha", self.alpha, 0.0, 1.0)
        _check_int(o, "epochs", self.epochs, 1, 1000)
        _check_range(o, "label_fraction", self.label_fraction, 0.0, 1.0, low_open=True)
        _check_int(o, "seed", self.seed, 0, 2**31 - 1)
        if not isinstance(self.control, bool):
            raise ValueError(f"{o}.control must be true or false; got {self.control!r}")


@tagged("shrink_forest")
@dataclass(frozen=True)
class ShrinkForest(CompressStep):
    """A random forest with fewer trees (kept as trained) and/or shallower trees (refitted)."""

    n_estimators: int = 20
    max_depth: int | None = None      # None keeps the trees' depth and the trained trees

    def __post_init__(self):
        _check_int("ShrinkForest", "n_estimators", self.n_estimators, 1, 2000)
        if self.max_depth is not None:
            _check_int("ShrinkForest", "max_depth", self.max_depth, 1, 100)


@tagged("sparsify_linear")
@dataclass(frozen=True)
class SparsifyLinear(CompressStep):
    """Refit a linear model with an L1 penalty and store its coefficients sparse."""

    C: float = 0.1                    # inverse L1 strength: smaller gives more zeros

    def __post_init__(self):
        _check_range("SparsifyLinear", "C", self.C, 1e-6, 1e6)


@tagged("float32_storage")
@dataclass(frozen=True)
class Float32Storage(CompressStep):
    """Keep a classical model's learned float64 arrays as float32."""


# --------------------------------------------------------------------------------------------
# Measurement and the experiment


@dataclass(frozen=True)
class MeasureSpec(Spec):
    n_threads: int = 2            # torch intra-op threads and BLAS/OpenMP threads while timing
    warmup: int = 5               # untimed calls before timing
    min_repeats: int = 30         # timed calls at least ...
    min_seconds: float = 1.0      # ... and at least this long, for each latency figure
    max_seconds: float = 3.0      # stop timing after this long even if min_repeats is not reached
    batch_size: int = 256         # batch for the throughput figure

    def __post_init__(self):
        o = "MeasureSpec"
        _check_int(o, "n_threads", self.n_threads, 1, 256)
        _check_int(o, "warmup", self.warmup, 0, 10_000)
        _check_int(o, "min_repeats", self.min_repeats, 1, 100_000)
        _check_range(o, "min_seconds", self.min_seconds, 0.0, 600.0)
        _check_range(o, "max_seconds", self.max_seconds, 0.01, 3600.0)
        _check_int(o, "batch_size", self.batch_size, 1, 65_536)
        if self.max_seconds < self.min_seconds:
            raise ValueError(f"MeasureSpec.max_seconds must be >= min_seconds ({self.min_seconds}); "
                             f"got {self.max_seconds}")


@dataclass(frozen=True)
class CandidateSpec(Spec):
    """One row of the comparison: a model trained from scratch, or a compressed copy of another.

    Exactly one of ``model`` and ``parent`` is set. A derived candidate names an earlier
    candidate as ``parent`` and lists the ``compress`` steps applied, in order, to its model.
    """

    name: str
    model: ModelSpec | None = None
    train: TrainSpec = field(default_factory=TrainSpec)
    parent: str | None = None
    compress: tuple[CompressStep, ...] = ()

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip() or len(self.name) > 80:
            raise ValueError(f"CandidateSpec.name must be 1 to 80 characters; got {self.name!r}")
        if (self.model is None) == (self.parent is None):
            raise ValueError(f"CandidateSpec.model and .parent: exactly one must be set for "
                             f"{self.name!r}; got model={self.model!r}, parent={self.parent!r}")
        if self.parent is not None and not self.compress:
            raise ValueError(f"CandidateSpec.compress must list at least one step when parent is "
                             f"set; got none for {self.name!r}")
        if self.model is not None and not isinstance(self.model, ModelSpec):
            raise ValueError(f"CandidateSpec.model must be a model spec; got {self.model!r}")

    @property
    def family(self) -> str:
        return self.model.family if self.model is not None else "compressed"


@dataclass(frozen=True)
class ExperimentSpec(Spec):
    dataset: DatasetSpec
    candidates: tuple[CandidateSpec, ...]
    measure: MeasureSpec = field(default_factory=MeasureSpec)

    def __post_init__(self):
        if not self.candidates:
            raise ValueError("ExperimentSpec.candidates must list at least 1 candidate; got 0")
        if len(self.candidates) > 40:
            raise ValueError(f"ExperimentSpec.candidates must list at most 40; got {len(self.candidates)}")
        seen: set[str] = set()
        for c in self.candidates:
            if c.name in seen:
                raise ValueError(f"ExperimentSpec.candidates: name {c.name!r} is used twice")
            if c.parent is not None and c.parent not in seen:
                raise ValueError(f"ExperimentSpec.candidates: {c.name!r} derives from {c.parent!r}, "
                                 "which must be listed before it")
            seen.add(c.name)


# --------------------------------------------------------------------------------------------
# --- transformers and language modelling ---
# The FT-Transformer is one more classifier (a ModelSpec). Language modelling is a separate task
# with its own experiment spec, candidates and compression steps, run by core/lm.

IMAGE_TOKENS = ("rows", "patches", "pixels")


@tagged("ft_transformer")
@dataclass(frozen=True)
class FTTransformerSpec(ModelSpec):
    """FT-Transformer (Gorishniy et al., 2021): one token per feature, [CLS], pre-norm encoder."""

    width: int = 80               # token embedding size d
    depth: int = 2                # encoder blocks
    heads: int = 4                # attention heads; must divide width
    ffn_factor: float = 2.0       # feed-forward hidden size = ffn_factor * width
    dropout: float = 0.1          # attention, feed-forward and residual dropout while training
    image_tokens: str = "rows"    # image-shaped data: one token per pixel row, per patch, or per pixel
    patch_size: int = 2           # side of the square patches when image_tokens is "patches"
    family: ClassVar[str] = "large"
    is_neural: ClassVar[bool] = True

    def __post_init__(self):
        o = "FTTransformerSpec"
        _check_int(o, "width", self.width, 8, 1024)
        _check_int(o, "depth", self.depth, 1, 12)
        _check_int(o, "heads", self.heads, 1, 32)
        if self.width % self.heads:
            raise ValueError(f"{o}.heads must divide width ({self.width}); got {self.heads}")
        _check_range(o, "ffn_factor", self.ffn_factor, 0.5, 8.0)
        _check_range(o, "dropout", self.dropout, 0.0, 0.9)
        _check_choice(o, "image_tokens", self.image_tokens, IMAGE_TOKENS)
        _check_int(o, "patch_size", self.patch_size, 1, 16)


LM_CORPORA = ("pydoc_topics", "text")
NGRAM_SMOOTHING = ("kneser_ney", "interpolated")


@dataclass(frozen=True)
class CorpusSpec(Spec):
    name: str = "pydoc_topics"        # Python's own pydoc_data.topics text, or "text" for an upload
    text_path: str | None = None      # content-addressed copy of the user's UTF-8 text file
    max_chars: int = 0                # use only the first max_chars characters; 0 uses all
    validation_fraction: float = 0.1  # the last share of the text, held out for bits per char

    def __post_init__(self):
        o = "CorpusSpec"
        _check_choice(o, "name", self.name, LM_CORPORA)
        _check_int(o, "max_chars", self.max_chars, 0, 50_000_000)
        if 0 < self.max_chars < 2_000:
            raise ValueError(f"CorpusSpec.max_chars must be 0 (all) or at least 2000; got {self.max_chars}")
        _check_range(o, "validation_fraction", self.validation_fraction, 0.01, 0.5)
        if self.name == "text" and not self.text_path:
            raise ValueError("CorpusSpec.text_path is required when name is 'text'; got None")


class LanguageModelSpec(Spec):
    family: ClassVar[str] = "small"
    is_neural: ClassVar[bool] = False


@tagged("gpt")
@dataclass(frozen=True)
class GPTSpec(LanguageModelSpec):
    """Character-level GPT decoder: causal self-attention, learned positions, pre-norm blocks."""

    n_layer: int = 4              # decoder blocks
    n_head: int = 4               # attention heads per block; must divide n_embd
    n_embd: int = 192             # residual stream width
    block_size: int = 128         # context length in characters
    dropout: float = 0.0          # attention, MLP and residual dropout while training
    family: ClassVar[str] = "large"
    is_neural: ClassVar[bool] = True

    def __post_init__(self):
        o = "GPTSpec"
        _check_int(o, "n_layer", self.n_layer, 1, 24)
        _check_int(o, "n_head", self.n_head, 1, 32)
        _check_int(o, "n_embd", self.n_embd, 8, 2048)
        if self.n_embd % self.n_head:
            raise ValueError(f"{o}.n_head must divide n_embd ({self.n_embd}); got {self.n_head}")
        _check_int(o, "block_size", self.block_size, 8, 2048)
        _check_range(o, "dropout", self.dropout, 0.0, 0.9)


@tagged("ngram")
@dataclass(frozen=True)
class NGramSpec(LanguageModelSpec):
    """Character n-gram model; predicts from the previous order-1 characters."""

    order: int = 5                     # n: 2 (bigram) to 6
    smoothing: str = "kneser_ney"      # interpolated Kneser-Ney, or interpolated absolute discounting
    family: ClassVar[str] = "small"

    def __post_init__(self):
        _check_int("NGramSpec", "order", self.order, 2, 6)
        _check_choice("NGramSpec", "smoothing", self.smoothing, NGRAM_SMOOTHING)


LM_OPTIMIZERS = ("adamw", "adam", "sgd")


@dataclass(frozen=True)
class LMTrainSpec(Spec):
    """How a GPT is trained (n-grams only count, so they ignore this)."""

    optimizer: str = "adamw"
    lr: float = 2e-3               # peak learning rate
    weight_decay: float = 0.1      # decoupled, on weight matrices only
    schedule: str = "cosine"       # none | step | cosine | onecycle, over max_steps
    warmup_steps: int = 50         # linear warm-up before the schedule (not for onecycle)
    max_steps: int = 2000          # optimiser steps at most ...
    max_seconds: float = 180.0     # ... and wall-clock seconds at most; the schedule follows the
                                   # limit that comes first (progress = max(steps, seconds) share)
    batch_size: int = 32           # sequences of block_size characters per step
    grad_clip: float = 1.0         # max global grad norm; 0 disables clipping
    precision: str = "bf16"        # autocast dtype for forward/backward
    eval_every: int = 200          # steps between validation estimates in the history
    seed: int = 0

    def __post_init__(self):
        o = "LMTrainSpec"
        _check_choice(o, "optimizer", self.optimizer, LM_OPTIMIZERS)
        _check_range(o, "lr", self.lr, 0.0, 1.0, low_open=True)
        _check_range(o, "weight_decay", self.weight_decay, 0.0, 1.0)
        _check_choice(o, "schedule", self.schedule, SCHEDULES)
        _check_int(o, "warmup_steps", self.warmup_steps, 0, 100_000)
        _check_int(o, "max_steps", self.max_steps, 1, 1_000_000)
        _check_range(o, "max_seconds", self.max_seconds, 0.1, 86_400.0)
        _check_int(o, "batch_size", self.batch_size, 1, 4096)
        _check_range(o, "grad_clip", self.grad_clip, 0.0, 1e6)
        _check_choice(o, "precision", self.precision, ("fp32", "bf16"))
        _check_int(o, "eval_every", self.eval_every, 1, 1_000_000)
        _check_int(o, "seed", self.seed, 0, 2**31 - 1)


class LMCompressStep(Spec):
    """A compression step for a language model; handlers live in core/lm/compress.py."""


@tagged("lm_quantize_int8")
@dataclass(frozen=True)
class LMQuantizeInt8(LMCompressStep):
    """int8 dynamic quantisation of the GPT's Linear layers (weights int8, activations per call)."""


@tagged("lm_prune")
@dataclass(frozen=True)
class LMPrune(LMCompressStep):
    """Structured pruning of the GPT: whole attention heads and MLP hidden units are removed."""

    heads_fraction: float = 0.25   # share of heads removed in every block (least important first)
    mlp_fraction: float = 0.25     # share of MLP hidden units removed in every block
    finetune_steps: int = 100      # optimiser steps of recovery training afterwards; 0 = none

    def __post_init__(self):
        _check_range("LMPrune", "heads_fraction", self.heads_fraction, 0.0, 1.0, high_open=True)
        _check_range("LMPrune", "mlp_fraction", self.mlp_fraction, 0.0, 1.0, high_open=True)
        _check_int("LMPrune", "finetune_steps", self.finetune_steps, 0, 100_000)


@tagged("lm_distill")
@dataclass(frozen=True)
class LMDistill(LMCompressStep):
    """Train a smaller GPT on the teacher's softened next-character distributions."""

    student: GPTSpec = field(default_factory=lambda: GPTSpec(n_layer=2, n_head=4, n_embd=128))
    temperature: float = 2.0       # softens teacher and student distributions in the KD term
    alpha: float = 0.5             # weight of the KD term; 1 - alpha weights the true next char
    max_steps: int = 600
    max_seconds: float = 60.0

    def __post_init__(self):
        o = "LMDistill"
        if not isinstance(self.student, GPTSpec):
            raise ValueError(f"{o}.student must be a GPT spec; got {self.student!r}")
        _check_range(o, "temperature", self.temperature, 0.1, 20.0)
        _check_range(o, "alpha", self.alpha, 0.0, 1.0)
        _check_int(o, "max_steps", self.max_steps, 1, 1_000_000)
        _check_range(o, "max_seconds", self.max_seconds, 0.1, 86_400.0)


@tagged("ngram_prune")
@dataclass(frozen=True)
class NGramPrune(LMCompressStep):
    """Drop n-gram contexts (order >= 2) seen fewer than min_count times; they back off."""

    min_count: int = 2

    def __post_init__(self):
        _check_int("NGramPrune", "min_count", self.min_count, 2, 1_000_000)


@dataclass(frozen=True)
class LMCandidateSpec(Spec):
    """One language model to train, or a compressed copy of an earlier one (as CandidateSpec)."""

    name: str
    model: LanguageModelSpec | None = None
    train: LMTrainSpec = field(default_factory=LMTrainSpec)
    parent: str | None = None
    compress: tuple[LMCompressStep, ...] = ()

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip() or len(self.name) > 80:
            raise ValueError(f"LMCandidateSpec.name must be 1 to 80 characters; got {self.name!r}")
        if (self.model is None) == (self.parent is None):
            raise ValueError(f"LMCandidateSpec.model and .parent: exactly one must be set for "
                             f"{self.name!r}; got model={self.model!r}, parent={self.parent!r}")
        if self.parent is not None and not self.compress:
            raise ValueError(f"LMCandidateSpec.compress must list at least one step when parent is "
                             f"set; got none for {self.name!r}")
        if self.model is not None and not isinstance(self.model, LanguageModelSpec):
            raise ValueError(f"LMCandidateSpec.model must be a language-model spec; got {self.model!r}")

    @property
    def family(self) -> str:
        return self.model.family if self.model is not None else "compressed"


@dataclass(frozen=True)
class LMMeasureSpec(Spec):
    n_threads: int = 2            # torch intra-op threads while timing
    warmup: int = 3               # untimed generation steps before timing
    min_repeats: int = 30         # timed single-character steps at least ...
    min_seconds: float = 1.0      # ... and at least this long
    max_seconds: float = 3.0      # stop timing after this long even if min_repeats is not reached
    batch_size: int = 32          # independent streams for the throughput figure
    prompt: str = "The "          # every model continues this prompt for its sample
    sample_chars: int = 200       # characters generated for the sample
    temperature: float = 0.8      # sampling temperature for the sample
    eval_chars: int = 0           # validation characters scored; 0 scores the whole split
    seed: int = 0                 # seeds sampling

    def __post_init__(self):
        o = "LMMeasureSpec"
        _check_int(o, "n_threads", self.n_threads, 1, 256)
        _check_int(o, "warmup", self.warmup, 0, 10_000)
        _check_int(o, "min_repeats", self.min_repeats, 1, 100_000)
        _check_range(o, "min_seconds", self.min_seconds, 0.0, 600.0)
        _check_range(o, "max_seconds", self.max_seconds, 0.01, 3600.0)
        if self.max_seconds < self.min_seconds:
            raise ValueError(f"LMMeasureSpec.max_seconds must be >= min_seconds ({self.min_seconds}); "
                             f"got {self.max_seconds}")
        _check_int(o, "batch_size", self.batch_size, 1, 4096)
        if not isinstance(self.prompt, str) or not 1 <= len(self.prompt) <= 500:
            raise ValueError(f"LMMeasureSpec.prompt must be 1 to 500 characters; got {self.prompt!r}")
        _check_int(o, "sample_chars", self.sample_chars, 1, 5_000)
        _check_range(o, "temperature", self.temperature, 0.0, 5.0, low_open=True)
        _check_int(o, "eval_chars", self.eval_chars, 0, 50_000_000)
        _check_int(o, "seed", self.seed, 0, 2**31 - 1)


@dataclass(frozen=True)
class LanguageExperimentSpec(Spec):
    """The language-modelling task: language models on one corpus, measured side by side."""

    corpus: CorpusSpec
    candidates: tuple[LMCandidateSpec, ...]
    measure: LMMeasureSpec = field(default_factory=LMMeasureSpec)

    def __post_init__(self):
        if not self.candidates:
            raise ValueError("LanguageExperimentSpec.candidates must list at least 1 candidate; got 0")
        if len(self.candidates) > 20:
            raise ValueError(f"LanguageExperimentSpec.candidates must list at most 20; "
                             f"got {len(self.candidates)}")
        seen: set[str] = set()
        for c in self.candidates:
            if c.name in seen:
                raise ValueError(f"LanguageExperimentSpec.candidates: name {c.name!r} is used twice")
            if c.parent is not None and c.parent not in seen:
                raise ValueError(f"LanguageExperimentSpec.candidates: {c.name!r} derives from "
                                 f"{c.parent!r}, which must be listed before it")
            seen.add(c.name)
