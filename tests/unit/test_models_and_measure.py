import json

import numpy as np
import pytest
import skops.io as sio
import torch
from safetensors.torch import load as safetensors_load
from sklearn.metrics import accuracy_score, f1_score

from core.data import load
from core.measure import environment, measure, time_calls, working_memory_bytes
from core.models import MODELS, SklearnClassifier, TorchClassifier, build_module, make_estimator
from core.specs import (CNNSpec, DatasetSpec, LogisticRegressionSpec, MeasureSpec, MLPSpec,
                        RandomForestSpec, RBFSVMSpec, TrainSpec)
from core.train import fit_classical, fit_neural

FAST = MeasureSpec(warmup=1, min_repeats=5, min_seconds=0.0, max_seconds=0.5, batch_size=64)


@pytest.fixture(scope="module")
def iris():
    return load(DatasetSpec("iris"))


@pytest.fixture(scope="module")
def digits():
    return load(DatasetSpec("digits"))


def test_registry_lists_both_families_with_descriptions():
    families = {info.family for info in MODELS.values()}
    assert families == {"large", "small"}
    for kind, info in MODELS.items():
        assert info.default.kind == kind and info.description and info.label


def test_torch_metrics_match_sklearn_and_the_bytes_on_disk(iris, tmp_path):
    model, history = fit_neural(MLPSpec(hidden=(32, 16)), TrainSpec(epochs=5, seed=1), iris)
    m = measure(model, iris.X_test, iris.y_test, FAST)
    pred = model.predict(iris.X_test)
    assert m.accuracy == accuracy_score(iris.y_test, pred)
    assert m.f1_macro == pytest.approx(f1_score(iris.y_test, pred, average="macro"))
    assert m.n_params == sum(p.numel() for p in model.module.parameters()) == 4 * 32 + 32 + 32 * 16 + 16 + 16 * 3 + 3
    written = model.save(tmp_path / "mlp")
    assert m.size_bytes == sum(p.stat().st_size for p in written)
    assert m.latency_repeats >= 5 and m.latency_ms_p50 > 0 and m.latency_ms_p95 >= m.latency_ms_p50
    assert m.throughput_batch == 64 and m.throughput_sps > 0 and m.n_threads == FAST.n_threads
    assert m.peak_memory_bytes > m.memory_bytes == m.n_params * 4


def test_nonzero_count_sees_zeroed_weights(iris):
    model, _ = fit_neural(MLPSpec(hidden=(8,)), TrainSpec(epochs=1), iris)
    with torch.no_grad():
        model.module.net[0].weight[:4] = 0
    counts = model.param_counts()
    assert counts.total - counts.nonzero == 4 * iris.n_features


def test_torch_artifact_rebuilds_without_pickle(iris):
    model, _ = fit_neural(MLPSpec(hidden=(16,)), TrainSpec(epochs=2), iris)
    files = model.artifact()
    arch = json.loads(files["architecture.json"])
    rebuilt = build_module(MLPSpec.from_dict(arch["spec"]), arch["n_features"], arch["n_classes"], None)
    rebuilt.load_state_dict(safetensors_load(files["model.safetensors"]))
    again = TorchClassifier(rebuilt, arch, "large")
    np.testing.assert_array_equal(again.predict(iris.X_test), model.predict(iris.X_test))


def test_cnn_runs_on_image_data_and_refuses_tables(digits, iris):
    model, history = fit_neural(CNNSpec(channels=(4, 8), hidden=16), TrainSpec(epochs=1), digits)
    assert model.predict(digits.X_test[:5]).shape == (5,)
    with pytest.raises(ValueError, match="needs image-shaped data"):
        fit_neural(CNNSpec(), TrainSpec(epochs=1), iris)


@pytest.mark.parametrize("spec, expected", [
    (LogisticRegressionSpec(), lambda e: e.coef_.size + e.intercept_.size),
    (RBFSVMSpec(), lambda e: e.support_vectors_.size + e.dual_coef_.size + e.intercept_.size),
    (RandomForestSpec(n_estimators=7), lambda e: sum(t.tree_.node_count for t in e.estimators_)),
])
def test_classical_parameter_counts_follow_their_definition(iris, spec, expected):
    model, seconds = fit_classical(spec, iris)
    counts = model.param_counts()
    assert counts.total == expected(model.estimator) and counts.definition
    assert seconds > 0


def test_l1_logistic_regression_reports_its_zeros(digits):
    model, _ = fit_classical(LogisticRegressionSpec(penalty="l1", C=0.05), digits)
    counts = model.param_counts()
    assert counts.nonzero == np.count_nonzero(model.estimator.coef_) + np.count_nonzero(model.estimator.intercept_)
    assert counts.nonzero < counts.total


def test_sklearn_artifact_is_skops_and_loads_back_identically(iris, tmp_path):
    model, _ = fit_classical(RBFSVMSpec(), iris)
    m = measure(model, iris.X_test, iris.y_test, FAST)
    [path] = model.save(tmp_path)
    assert path.suffix == ".skops" and m.size_bytes == path.stat().st_size
    blob = path.read_bytes()
    back = sio.loads(blob, trusted=sio.get_untrusted_types(data=blob))
    np.testing.assert_array_equal(back.predict(iris.X_test), model.predict(iris.X_test))
    assert m.accuracy == accuracy_score(iris.y_test, model.predict(iris.X_test))


def test_timing_honours_repeats_and_time_budget():
    calls = []
    times = time_calls(lambda i: calls.append(i), MeasureSpec(warmup=3, min_repeats=40, min_seconds=0.05))
    assert len(times) >= 40 and len(calls) == len(times) + 3
    slow = time_calls(lambda i: __import__("time").sleep(0.01),
                      MeasureSpec(warmup=0, min_repeats=1000, min_seconds=0.0, max_seconds=0.1))
    assert len(slow) < 1000  # the time cap wins over the repeat count


def test_working_memory_grows_with_the_batch(digits):
    model = TorchClassifier(build_module(MLPSpec(hidden=(256,)), 64, 10, None), {}, "large")
    small = working_memory_bytes(model, digits.X_test[:8])
    large = working_memory_bytes(model, np.tile(digits.X_test[:64], (8, 1)))
    assert large > 4 * small > 0
    forest = SklearnClassifier(make_estimator(RandomForestSpec(n_estimators=5)).fit(digits.X_train, digits.y_train))
    assert working_memory_bytes(forest, digits.X_test) > 0


def test_environment_records_cpu_threads_and_versions():
    env = environment(3)
    assert env["n_threads"] == 3 and env["torch"] == torch.__version__
    assert {"cpu", "python", "scikit-learn", "numpy", "torch_cpu_capability"} <= set(env)
