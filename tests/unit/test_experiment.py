import pytest

from core.data import DataError
from core.experiment import ModelCache, run
from core.specs import (CandidateSpec, CNNSpec, DatasetSpec, ExperimentSpec, KNeighborsSpec,
                        LogisticRegressionSpec, MeasureSpec, MLPSpec, TrainSpec)

FAST = MeasureSpec(warmup=1, min_repeats=5, min_seconds=0.0, max_seconds=0.3, batch_size=32)
RECORD_FIELDS = {"name", "family", "accuracy", "f1_macro", "latency_ms_p50", "latency_ms_p95",
                 "throughput_sps", "size_bytes", "n_params", "n_nonzero_params",
                 "peak_memory_bytes", "train_seconds"}


def _spec(*candidates, dataset=DatasetSpec("iris")):
    return ExperimentSpec(dataset, tuple(candidates), FAST)


def test_run_returns_a_record_per_candidate_with_every_field():
    spec = _spec(CandidateSpec("net", MLPSpec(hidden=(16,)), TrainSpec(epochs=3)),
                 CandidateSpec("lr", LogisticRegressionSpec()), CandidateSpec("knn", KNeighborsSpec()))
    steps = []
    result = run(spec, on_progress=lambda f, m: steps.append(f))
    records = result.to_dict()["records"]
    assert [r["name"] for r in records] == ["net", "lr", "knn"]
    for r in records:
        assert RECORD_FIELDS <= set(r) and r["status"] == "done"
    assert records[0]["family"] == "large" and records[1]["family"] == "small"
    assert len(records[0]["history"]["epochs"]) == 3
    assert steps == sorted(steps) and steps[-1] == pytest.approx(1.0)
    assert set(result.timings) == {"data", "train", "compress", "measure", "total"}
    assert result.environment["n_threads"] == FAST.n_threads


def test_a_failing_candidate_is_recorded_and_the_others_still_run():
    spec = _spec(CandidateSpec("cnn", CNNSpec()), CandidateSpec("lr", LogisticRegressionSpec()))
    result = run(spec)
    cnn, lr = result.results
    assert cnn.status == "failed" and "image-shaped" in cnn.error and cnn.metrics is None
    assert lr.status == "done" and lr.metrics.accuracy > 0.8


def test_cache_skips_retraining_for_the_same_settings_under_any_name():
    cache = ModelCache()
    first = run(_spec(CandidateSpec("a", MLPSpec(hidden=(8,)), TrainSpec(epochs=2))), cache=cache)
    again = run(_spec(CandidateSpec("renamed", MLPSpec(hidden=(8,)), TrainSpec(epochs=2))), cache=cache)
    assert again.results[0].model is first.results[0].model
    assert again.results[0].metrics == first.results[0].metrics
    assert again.timings["train"] == 0.0
    changed = run(_spec(CandidateSpec("a", MLPSpec(hidden=(8,)), TrainSpec(epochs=3))), cache=cache)
    assert changed.results[0].model is not first.results[0].model


def test_stop_request_cancels_between_batches_and_keeps_finished_models():
    polls = []

    def stop_after_a_while():
        polls.append(1)
        return len(polls) > 5

    spec = _spec(CandidateSpec("lr", LogisticRegressionSpec()),
                 CandidateSpec("net", MLPSpec(hidden=(16,)), TrainSpec(epochs=50, batch_size=8)))
    result = run(spec, should_stop=stop_after_a_while)
    assert result.cancelled
    assert result.results[0].status == "done"
    assert result.results[-1].status == "cancelled"


def test_bad_data_is_raised_not_recorded(tmp_path):
    path = tmp_path / "one_class.csv"
    path.write_text("a,label\n" + "\n".join(f"{i},x" for i in range(10)))
    with pytest.raises(DataError, match="single class"):
        run(_spec(CandidateSpec("lr", LogisticRegressionSpec()),
                  dataset=DatasetSpec("csv", csv_path=str(path), target="label")))


def test_settings_over_the_resource_caps_are_refused_before_training(monkeypatch):
    from core.limits import LimitExceeded

    monkeypatch.setenv("TRADEOFF_LAB_MAX_PARAMS", "500")
    with pytest.raises(LimitExceeded, match="over the limit of 500"):
        run(_spec(CandidateSpec("net", MLPSpec(hidden=(64,)))))


def test_derived_candidates_with_other_training_settings_are_not_served_from_the_cache():
    from core.specs import CompressStep

    cache = ModelCache()
    step = (CompressStep.from_dict({"kind": "prune_structured", "amount": 0.5, "fine_tune_epochs": 1}),)
    base = CandidateSpec("net", MLPSpec(hidden=(16,)), TrainSpec(epochs=2))
    first = run(_spec(base, CandidateSpec("p", parent="net", compress=step, train=TrainSpec(lr=1e-3))),
                cache=cache)
    again = run(_spec(base, CandidateSpec("p", parent="net", compress=step, train=TrainSpec(lr=1e-2))),
                cache=cache)
    assert again.results[0].model is first.results[0].model      # the parent is reused
    assert again.results[1].model is not first.results[1].model  # the fine-tuned child is not
