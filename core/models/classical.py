"""scikit-learn estimators: construction from specs, parameter counts, skops artifacts."""

from __future__ import annotations

from typing import Callable

import numpy as np
import skops.io as sio
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC, LinearSVC

from ..specs import (HistGradientBoostingSpec, KNeighborsSpec, LinearSVMSpec,
                     LogisticRegressionSpec, ModelSpec, RandomForestSpec, RBFSVMSpec)
from .base import Classifier, ParamCounts

# One constructor per spec type. n_jobs stays at 1 so that latency is measured on the thread
# budget the harness sets, like the torch models.
ESTIMATORS: dict[type, Callable[[ModelSpec, int], BaseEstimator]] = {
    LogisticRegressionSpec: lambda s, seed: LogisticRegression(
        C=s.C, l1_ratio=1.0 if s.penalty == "l1" else 0.0,
        solver="saga" if s.penalty == "l1" else "lbfgs", max_iter=2000, random_state=seed),
    LinearSVMSpec: lambda s, seed: LinearSVC(C=s.C, max_iter=5000, random_state=seed),
    RBFSVMSpec: lambda s, seed: SVC(C=s.C, gamma=s.gamma, kernel="rbf", random_state=seed),
    RandomForestSpec: lambda s, seed: RandomForestClassifier(
        n_estimators=s.n_estimators, max_depth=s.max_depth, random_state=seed, n_jobs=1),
    HistGradientBoostingSpec: lambda s, seed: HistGradientBoostingClassifier(
        max_iter=s.max_iter, learning_rate=s.learning_rate, max_depth=s.max_depth,
        early_stopping=False, random_state=seed),
    KNeighborsSpec: lambda s, seed: KNeighborsClassifier(n_neighbors=s.n_neighbors, n_jobs=1),
}


def make_estimator(spec: ModelSpec, seed: int = 0) -> BaseEstimator:
    return ESTIMATORS[type(spec)](spec, seed)


def _linear_counts(est) -> ParamCounts:
    arrays = [est.coef_, np.atleast_1d(est.intercept_)]
    return ParamCounts(sum(a.size for a in arrays), sum(int(np.count_nonzero(a)) for a in arrays),
                       "coefficients and intercepts")


def _svm_counts(est: SVC) -> ParamCounts:
    arrays = [est.support_vectors_, est.dual_coef_, est.intercept_]
    return ParamCounts(sum(a.size for a in arrays), sum(int(np.count_nonzero(a)) for a in arrays),
                       f"support vectors x features ({est.support_vectors_.shape[0]} x "
                       f"{est.support_vectors_.shape[1]}) + dual coefficients + intercepts")


def _forest_counts(est: RandomForestClassifier) -> ParamCounts:
    nodes = sum(t.tree_.node_count for t in est.estimators_)
    return ParamCounts(nodes, nodes, f"tree nodes over {len(est.estimators_)} trees")


def _hgb_counts(est: HistGradientBoostingClassifier) -> ParamCounts:
    nodes = sum(len(p.nodes) for stage in est._predictors for p in stage)
    n_trees = sum(len(stage) for stage in est._predictors)
    return ParamCounts(nodes, nodes, f"tree nodes over {n_trees} trees")


def _knn_counts(est: KNeighborsClassifier) -> ParamCounts:
    X = est._fit_X
    return ParamCounts(X.size + len(est._y), int(np.count_nonzero(X)) + len(est._y),
                       f"stored training rows x features ({X.shape[0]} x {X.shape[1]}) + their labels")


_COUNTERS: dict[type, Callable[[BaseEstimator], ParamCounts]] = {
    LogisticRegression: _linear_counts, LinearSVC: _linear_counts, SVC: _svm_counts,
    RandomForestClassifier: _forest_counts, HistGradientBoostingClassifier: _hgb_counts,
    KNeighborsClassifier: _knn_counts,
}


def _array_bytes(obj, seen: set[int], depth: int = 0) -> int:
    """Bytes of numpy arrays reachable from a fitted estimator's learned attributes."""
    if id(obj) in seen or depth > 6:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, (list, tuple)):
        return sum(_array_bytes(o, seen, depth + 1) for o in obj)
    if isinstance(obj, dict):
        return sum(_array_bytes(o, seen, depth + 1) for o in obj.values())
    tree = getattr(obj, "tree_", None)
    if tree is not None:  # sklearn's Cython Tree keeps its arrays behind properties
        return tree.value.nbytes + tree.node_count * 64  # 64 = sizeof(sklearn's Node struct)
    if hasattr(obj, "nodes") and isinstance(obj.nodes, np.ndarray):  # HistGB TreePredictor
        return obj.nodes.nbytes
    if hasattr(obj, "__dict__"):
        return sum(_array_bytes(v, seen, depth + 1) for k, v in vars(obj).items() if k.endswith("_"))
    return 0


class SklearnClassifier(Classifier):
    """A fitted scikit-learn estimator, saved with skops (no pickle)."""

    def __init__(self, estimator: BaseEstimator, family: str = "small"):
        self.estimator = estimator
        self.family = family

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.estimator.predict(X))

    def artifact(self) -> dict[str, bytes]:
        return {"model.skops": sio.dumps(self.estimator)}

    def param_counts(self) -> ParamCounts:
        return _COUNTERS[type(self.estimator)](self.estimator)

    def memory_bytes(self) -> int:
        return _array_bytes(self.estimator, set())
