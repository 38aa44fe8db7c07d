"""Honest counterparts for the small side: fewer or shallower trees, L1-sparse linear models,
float32 storage of learned arrays. Each says whether it kept the trained model or refitted it.
"""

from __future__ import annotations

import copy

import numpy as np
import skops.io as sio
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from ..i18n import translate
from ..models.base import Classifier, ParamCounts
from ..models.classical import SklearnClassifier
from ..specs import Float32Storage, ShrinkForest, SparsifyLinear
from . import CompressContext, Compressed, handles


def _require_sklearn(model: Classifier, step_name: str, types: tuple[type, ...] | None = None):
    if not isinstance(model, SklearnClassifier):
        raise ValueError(f"{step_name} applies to scikit-learn models; this is a PyTorch network. "
                         "For networks use quantize_*, prune_*, cast or distill.")
    est = model.estimator
    if types is not None and not isinstance(est, types):
        allowed = " or ".join(t.__name__ for t in types)
        raise ValueError(f"{step_name} applies to {allowed}; this model is a {type(est).__name__}")
    return est


@handles(ShrinkForest)
def shrink_forest(model, step: ShrinkForest, ctx: CompressContext) -> Compressed:
    est = _require_sklearn(model, "ShrinkForest", (RandomForestClassifier,))
    have = len(est.estimators_)
    if step.max_depth is None:
        if step.n_estimators > have:
            raise ValueError(f"ShrinkForest.n_estimators must be at most the forest's {have} trees "
                             f"when max_depth is unset; got {step.n_estimators}")
        small = copy.deepcopy(est)
        small.estimators_ = small.estimators_[: step.n_estimators]
        small.n_estimators = step.n_estimators
        note = translate("en", "notes.forest_kept", n_estimators=step.n_estimators, have=have)
    else:
        ctx.on_progress(0.1, "refitting a shallower forest")
        small = RandomForestClassifier(n_estimators=step.n_estimators, max_depth=step.max_depth,
                                       random_state=est.random_state, n_jobs=1)
        small.set_params(**{k: v for k, v in est.get_params().items()
                            if k not in ("n_estimators", "max_depth", "n_jobs", "random_state")})
        small.fit(ctx.data.X_train, ctx.data.y_train)
        note = translate("en", "notes.forest_refit" if est.max_depth else "notes.forest_refit_unlimited",
                         n_estimators=step.n_estimators, max_depth=step.max_depth, have=have,
                         depth=est.max_depth)
    return Compressed(SklearnClassifier(small, model.family),
                      nominal={"trees_kept": step.n_estimators / have}, notes=(note,))


class SparseLinearClassifier(SklearnClassifier):
    """A linear model whose coef_ is a SciPy CSR matrix (sklearn's ``sparsify``): stored sparse."""

    def param_counts(self) -> ParamCounts:
        coef, intercept = self.estimator.coef_, np.atleast_1d(self.estimator.intercept_)
        total = coef.shape[0] * coef.shape[1] + intercept.size
        nonzero = coef.nnz + int(np.count_nonzero(intercept))
        return ParamCounts(total, nonzero, "coefficients and intercepts (coefficients stored as CSR)")

    def memory_bytes(self) -> int:
        coef = self.estimator.coef_
        return coef.data.nbytes + coef.indices.nbytes + coef.indptr.nbytes + \
            np.atleast_1d(self.estimator.intercept_).nbytes


@handles(SparsifyLinear)
def sparsify_linear(model, step: SparsifyLinear, ctx: CompressContext) -> Compressed:
    est = _require_sklearn(model, "SparsifyLinear", (LogisticRegression, LinearSVC))
    ctx.on_progress(0.1, "refitting with an L1 penalty")
    if isinstance(est, LogisticRegression):
        new = LogisticRegression(C=step.C, l1_ratio=1.0, solver="saga", max_iter=2000,
                                 random_state=est.random_state)
    else:
        new = LinearSVC(C=step.C, penalty="l1", dual=False, max_iter=5000, random_state=est.random_state)
    new.fit(ctx.data.X_train, ctx.data.y_train)
    dense_coef = np.asarray(new.coef_)
    density = np.count_nonzero(dense_coef) / dense_coef.size
    new.sparsify()  # coef_ becomes scipy.sparse CSR; predict uses it as is
    return Compressed(SparseLinearClassifier(new, model.family), nominal={"sparsity": 1 - density},
                      notes=(translate("en", "notes.sparsify_linear", C=step.C, zero=1 - density),))


def _float64_arrays(est) -> list[str]:
    return [k for k, v in vars(est).items()
            if isinstance(v, np.ndarray) and v.dtype == np.float64 and v.size and k.endswith("_")]


class Float32Classifier(SklearnClassifier):
    """Learned float64 arrays saved as float32; predicts with the float32-rounded values.

    Some estimators (libsvm's SVC) only run on float64 arrays, so in memory the rounded values
    stay float64; the saved artifact holds float32.
    """

    def __init__(self, estimator, family: str, names: list[str]):
        super().__init__(estimator, family)
        self.names = names

    def artifact(self) -> dict[str, bytes]:
        stored = copy.copy(self.estimator)
        for k in self.names:
            setattr(stored, k, getattr(self.estimator, k).astype(np.float32))
        return {"model.skops": sio.dumps(stored)}


@handles(Float32Storage)
def float32_storage(model, step: Float32Storage, ctx: CompressContext) -> Compressed:
    est = _require_sklearn(model, "Float32Storage")
    if isinstance(est, RandomForestClassifier) or hasattr(est, "_predictors"):
        raise ValueError(f"Float32Storage does not apply to {type(est).__name__}: its trees are "
                         "stored by scikit-learn's own tree structures. Use shrink_forest instead.")
    names = _float64_arrays(est)
    new = copy.deepcopy(est)
    for k in names:  # round through float32 so predictions are those of the stored model
        setattr(new, k, getattr(new, k).astype(np.float32).astype(np.float64))
    note = (translate("en", "notes.float32", names=", ".join(names)) if names else
            translate("en", "notes.float32_unchanged", estimator=type(est).__name__))
    return Compressed(Float32Classifier(new, model.family, names), nominal={"bits": 32}, notes=(note,))


__all__ = ["shrink_forest", "sparsify_linear", "float32_storage", "SparseLinearClassifier",
           "Float32Classifier"]
