"""Small-model counterparts, the summary sentence, sweeps, specs and the experiment chain."""

import pytest

from core.compress import CompressContext, bits_sweep, compress, sparsity_sweep, summarise
from core.compress.classical import Float32Classifier, SparseLinearClassifier
from core.data import load
from core.experiment import run
from core.specfile import parse_spec
from core.specs import (CompressStep, DatasetSpec, Distill, Float32Storage, LinearSVMSpec,
                        LogisticRegressionSpec, MeasureSpec, MLPSpec, PruneMagnitude,
                        PruneStructured, QuantizeInt4, RandomForestSpec, RBFSVMSpec, ShrinkForest,
                        SparsifyLinear, TrainSpec, spec_kinds)
from core.train import fit_classical, fit_neural

QUICK = MeasureSpec(warmup=1, min_repeats=3, min_seconds=0.0, max_seconds=0.2, batch_size=32)


@pytest.fixture(scope="module")
def digits():
    return load(DatasetSpec(name="digits"))


@pytest.fixture(scope="module")
def ctx(digits):
    return CompressContext(digits, TrainSpec(epochs=2))


def test_shrink_forest_keeps_the_first_trees(digits, ctx):
    forest, _ = fit_classical(RandomForestSpec(n_estimators=30), digits)
    out = compress(forest, ShrinkForest(n_estimators=5), ctx).model
    assert len(out.estimator.estimators_) == 5
    assert out.estimator.estimators_[0] is not forest.estimator.estimators_[0]  # a copy
    assert len(forest.estimator.estimators_) == 30
    assert out.param_counts().total == sum(t.tree_.node_count for t in forest.estimator.estimators_[:5])
    assert len(out.artifact()["model.skops"]) < len(forest.artifact()["model.skops"]) / 3
    shallow = compress(forest, ShrinkForest(n_estimators=5, max_depth=3), ctx).model
    assert max(t.tree_.max_depth for t in shallow.estimator.estimators_) <= 3
    with pytest.raises(ValueError, match="at most the forest's 30 trees"):
        compress(forest, ShrinkForest(n_estimators=50), ctx)


def test_sparsify_linear_counts_and_stores_sparse(digits, ctx):
    logreg, _ = fit_classical(LogisticRegressionSpec(), digits)
    out = compress(logreg, SparsifyLinear(C=0.02), ctx)
    assert isinstance(out.model, SparseLinearClassifier)
    counts = out.model.param_counts()
    assert counts.total == 64 * 10 + 10
    assert counts.nonzero == out.model.estimator.coef_.nnz + 10
    assert out.nominal["sparsity"] == pytest.approx(1 - out.model.estimator.coef_.nnz / 640)
    assert (out.model.predict(digits.X_test) == digits.y_test).mean() > 0.8
    with pytest.raises(ValueError, match="applies to LogisticRegression or LinearSVC; this model is a SVC"):
        compress(fit_classical(RBFSVMSpec(), digits)[0], SparsifyLinear(), ctx)


def test_float32_storage_halves_svm_arrays(digits, ctx):
    svm, _ = fit_classical(RBFSVMSpec(), digits)
    out = compress(svm, Float32Storage(), ctx).model
    assert isinstance(out, Float32Classifier) and "support_vectors_" in out.names
    assert len(out.artifact()["model.skops"]) < 0.65 * len(svm.artifact()["model.skops"])
    assert (out.predict(digits.X_test) == svm.predict(digits.X_test)).mean() >= 0.99
    with pytest.raises(ValueError, match="does not apply to RandomForestClassifier"):
        compress(fit_classical(RandomForestSpec(n_estimators=2), digits)[0], Float32Storage(), ctx)


def test_network_steps_refuse_and_classical_steps_refuse_networks(digits, ctx):
    mlp = fit_neural(MLPSpec(hidden=(16,)), TrainSpec(epochs=1), digits)[0]
    with pytest.raises(ValueError, match="ShrinkForest applies to scikit-learn models"):
        compress(mlp, ShrinkForest(), ctx)
    svm, _ = fit_classical(LinearSVMSpec(), digits)
    with pytest.raises(ValueError, match="PruneStructured applies to PyTorch models"):
        compress(svm, PruneStructured(), ctx)


def test_summary_sentence_from_measured_figures():
    before = {"size_bytes": 4000, "latency_ms_p50": 3.1, "accuracy": 0.980}
    after = {"size_bytes": 1000, "latency_ms_p50": 1.0, "accuracy": 0.977}
    assert summarise(before, after) == "4.0x smaller, 3.1x faster at batch 1, 0.3 points less accurate"
    slower = {"size_bytes": 3990, "latency_ms_p50": 6.2, "accuracy": 0.99}
    assert summarise(before, slower) == ("about the same size, 2.0x slower at batch 1, "
                                         "1.0 points more accurate")


@pytest.mark.parametrize("kind,cls", sorted(spec_kinds(CompressStep).items()))
def test_every_step_round_trips_through_dicts(kind, cls):
    step = cls()
    assert cls.from_dict(step.to_dict()) == step
    assert CompressStep.from_dict(step.to_dict()) == step


def test_step_validation_messages():
    with pytest.raises(ValueError, match=r"PruneMagnitude.amount must be in \[0, 1\); got 1.5"):
        PruneMagnitude(amount=1.5)
    with pytest.raises(ValueError, match="QuantizeInt4.group_size must be one of 32, 64, 128; got 48"):
        QuantizeInt4(group_size=48)
    with pytest.raises(ValueError, match="Distill.label_fraction must be in"):
        Distill(label_fraction=0.0)
    with pytest.raises(ValueError, match="Distill.student must be a torch model spec"):
        Distill(student=LogisticRegressionSpec())


def test_sweeps_return_measured_points(digits):
    mlp = fit_neural(MLPSpec(hidden=(128, 128)), TrainSpec(epochs=2), digits)[0]
    bits = bits_sweep(mlp, digits, measure_spec=QUICK)
    assert [p.label for p in bits] == ["fp32", "bf16", "int8", "int4"]
    sizes = [p.size_bytes for p in bits]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > 6 * sizes[-1]
    sp = sparsity_sweep(mlp, digits, sparsities=(0.0, 0.5, 0.9), measure_spec=QUICK)
    assert [p.x for p in sp] == [0.0, 0.5, 0.9]
    assert sp[2].n_nonzero_params < sp[1].n_nonzero_params < sp[0].n_nonzero_params
    assert sp[2].size_bytes < sp[0].size_bytes / 4
    assert all(p.latency_ms_p50 > 0 for p in sp + bits)


SPEC = """
dataset: {name: digits}
candidates:
  - name: net
    model: {kind: mlp, hidden: [64]}
    train: {epochs: 2}
  - name: forest
    model: {kind: random_forest, n_estimators: 10}
  - name: net pruned then int8
    parent: net
    compress: [{kind: prune_structured, amount: 0.5}, {kind: quantize_dynamic}]
  - name: forest int8
    parent: forest
    compress: [{kind: quantize_dynamic}]
  - name: student
    parent: net
    compress: [{kind: distill, student: {kind: tiny_mlp, hidden: [8]}, epochs: 2}]
measure: {warmup: 1, min_repeats: 3, min_seconds: 0.0, max_seconds: 0.2, batch_size: 32}
"""


def test_experiment_runs_chains_and_records_parent_steps_and_failures():
    result = run(parse_spec(SPEC)).to_dict()
    recs = {r["name"]: r for r in result["records"]}
    chain = recs["net pruned then int8"]
    assert chain["status"] == "done" and chain["parent"] == "net"
    assert [s["kind"] for s in chain["steps"]] == ["prune_structured", "quantize_dynamic"]
    assert chain["size_bytes"] < recs["net"]["size_bytes"] / 4
    assert recs["forest int8"]["status"] == "failed"
    assert "applies to PyTorch models" in recs["forest int8"]["error"]
    assert recs["student · labels-only control"]["parent"] == "net"
