import dataclasses

import pytest

from core.specs import (CandidateSpec, DatasetSpec, ExperimentSpec, LogisticRegressionSpec,
                        MeasureSpec, MLPSpec, ModelSpec, RandomForestSpec, TinyMLPSpec, TrainSpec)


@pytest.mark.parametrize("make, match", [
    (lambda: TrainSpec(epochs=0), r"TrainSpec.epochs must be .*\[1, 1000\]; got 0"),
    (lambda: TrainSpec(lr=-1.0), r"TrainSpec.lr must be in \(0, 10\]; got -1.0"),
    (lambda: TrainSpec(optimizer="lbfgs"), r"TrainSpec.optimizer must be one of adam, adamw, sgd; got 'lbfgs'"),
    (lambda: DatasetSpec(test_fraction=0.95), r"DatasetSpec.test_fraction must be in \[0.05, 0.8\]; got 0.95"),
    (lambda: DatasetSpec(name="mnist"), r"DatasetSpec.name must be one of .*; got 'mnist'"),
    (lambda: DatasetSpec(name="csv"), r"DatasetSpec.csv_path is required"),
    (lambda: MLPSpec(hidden=(10**9,)), r"MLPSpec.hidden must be .*\[1, 8192\]; got 1000000000"),
    (lambda: MLPSpec(hidden=()), r"MLPSpec.hidden must list 1 to 8"),
    (lambda: RandomForestSpec(n_estimators=1.5), r"RandomForestSpec.n_estimators must be a whole number"),
    (lambda: MeasureSpec(min_seconds=5, max_seconds=1), r"MeasureSpec.max_seconds must be >= min_seconds"),
    (lambda: TrainSpec(prune_sparsity=1.0), r"TrainSpec.prune_sparsity must be in \[0, 1\); got 1.0"),
])
def test_impossible_values_are_refused_naming_the_field(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_specs_are_frozen():
    spec = TrainSpec()
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.epochs = 3


def test_experiment_round_trips_through_dicts_with_a_stable_hash():
    spec = ExperimentSpec(
        DatasetSpec("wine", seed=3),
        (CandidateSpec("big", MLPSpec(hidden=(64, 32)), TrainSpec(epochs=3)),
         CandidateSpec("lr", LogisticRegressionSpec(penalty="l1", C=0.5))))
    data = spec.to_dict()
    assert data["candidates"][0]["model"] == {"kind": "mlp", "hidden": [64, 32], "dropout": 0.0}
    again = ExperimentSpec.from_dict(data)
    assert again == spec
    assert again.spec_hash() == spec.spec_hash()
    assert ExperimentSpec.from_dict({**data, "dataset": {"name": "wine", "seed": 4}}).spec_hash() != spec.spec_hash()


def test_model_kind_selects_the_spec_class_and_its_family():
    tiny = ModelSpec.from_dict({"kind": "tiny_mlp", "hidden": [16]})
    assert isinstance(tiny, TinyMLPSpec) and tiny.hidden == (16,) and tiny.family == "small"
    assert MLPSpec().family == "large"


@pytest.mark.parametrize("data, match", [
    ({"kind": "transformer9000"}, r"ModelSpec.kind must be one of .*; got 'transformer9000'"),
    ({"kind": "mlp", "widths": [3]}, r"MLPSpec has no field 'widths'"),
    ({"hidden": [3]}, r"ModelSpec needs a 'kind'"),
])
def test_bad_dicts_get_one_line_reasons(data, match):
    with pytest.raises(ValueError, match=match):
        ModelSpec.from_dict(data)


def test_candidates_must_have_model_or_parent_and_parents_come_first():
    with pytest.raises(ValueError, match="exactly one must be set"):
        CandidateSpec("x")
    with pytest.raises(ValueError, match="must be listed before it"):
        ExperimentSpec(DatasetSpec(), (CandidateSpec("child", parent="base", compress=(_AnyStep(),)),
                                      CandidateSpec("base", MLPSpec())))
    with pytest.raises(ValueError, match="used twice"):
        ExperimentSpec(DatasetSpec(), (CandidateSpec("a", MLPSpec()), CandidateSpec("a", MLPSpec())))


class _AnyStep:
    """Stands in for a compression step; only its presence matters to the ordering check."""
