import pytest

from core.data import load
from core.limits import LimitExceeded, Limits, check_limits, count_params
from core.specs import (CandidateSpec, CNNSpec, DatasetSpec, ExperimentSpec, LogisticRegressionSpec,
                        MLPSpec, TrainSpec)


@pytest.fixture(scope="module")
def digits():
    return load(DatasetSpec("digits"))


def _spec(*cands):
    return ExperimentSpec(DatasetSpec("digits"), tuple(cands))


def test_parameter_count_on_the_meta_device_matches_a_real_build(digits):
    from core.models import build_module

    for model in (MLPSpec(hidden=(100, 50)), CNNSpec(channels=(4, 8), hidden=16)):
        real = build_module(model, digits.n_features, digits.n_classes, digits.image_shape)
        assert count_params(model, digits) == sum(p.numel() for p in real.parameters())


def test_a_network_over_the_parameter_cap_is_refused_before_allocation(digits):
    huge = CandidateSpec("huge", MLPSpec(hidden=(8192,) * 8))  # about 470 M parameters
    with pytest.raises(LimitExceeded, match=r"huge: 470,\d{3},\d{3} parameters is over the limit of 50,000,000"):
        check_limits(_spec(huge), digits)


def test_epochs_and_batch_larger_than_the_data_are_refused(digits):
    with pytest.raises(LimitExceeded, match="300 epochs is over the limit of 200"):
        check_limits(_spec(CandidateSpec("a", MLPSpec(), TrainSpec(epochs=300))), digits)
    with pytest.raises(LimitExceeded, match=r"batch size 5000 is larger than the 1347 training rows"):
        check_limits(_spec(CandidateSpec("a", MLPSpec(), TrainSpec(batch_size=5000))), digits)


def test_caps_come_from_the_environment(monkeypatch, digits):
    monkeypatch.setenv("TRADEOFF_LAB_MAX_PARAMS", "1000")
    limits = Limits.from_env()
    assert limits.max_params == 1000
    with pytest.raises(LimitExceeded, match="over the limit of 1,000"):
        check_limits(_spec(CandidateSpec("a", MLPSpec(hidden=(64,)))), digits)
    check_limits(_spec(CandidateSpec("lr", LogisticRegressionSpec())), digits)  # no cap on sklearn
    monkeypatch.setenv("TRADEOFF_LAB_MAX_EPOCHS", "lots")
    with pytest.raises(ValueError, match="TRADEOFF_LAB_MAX_EPOCHS must be a number; got 'lots'"):
        Limits.from_env()


def test_language_runs_are_held_to_the_same_caps(monkeypatch):
    from core.limits import LimitExceeded, check_language_limits
    from core.specs import (CorpusSpec, GPTSpec, LanguageExperimentSpec, LMCandidateSpec, LMDistill,
                            LMTrainSpec, NGramSpec)

    def spec(*cands):
        return LanguageExperimentSpec(CorpusSpec(), tuple(cands))

    small = LMCandidateSpec("gpt", GPTSpec(n_layer=1, n_embd=32, n_head=2, block_size=32))
    check_language_limits(spec(small, LMCandidateSpec("3-gram", NGramSpec(order=3))), 96, 10_000)
    huge = LMCandidateSpec("huge", GPTSpec(n_layer=24, n_embd=2048, n_head=16))
    with pytest.raises(LimitExceeded, match=r"huge: [\d,]+ parameters is over the limit of 50,000,000"):
        check_language_limits(spec(huge), 96, 10_000)
    student = LMCandidateSpec("student", parent="gpt",
                              compress=(LMDistill(student=GPTSpec(n_layer=24, n_embd=2048, n_head=16)),))
    with pytest.raises(LimitExceeded, match="student: .* parameters"):
        check_language_limits(spec(small, student), 96, 10_000)
    with pytest.raises(LimitExceeded, match="context of 32 characters does not fit in the 20 training"):
        check_language_limits(spec(small), 96, 20)
    monkeypatch.setenv("TRADEOFF_LAB_MAX_JOB_SECONDS", "60")
    slow = LMCandidateSpec("slow", small.model, LMTrainSpec(max_seconds=120))
    with pytest.raises(LimitExceeded, match="slow: a training limit of 120 s is over the job limit of 60 s"):
        check_language_limits(spec(slow), 96, 10_000)
    monkeypatch.setenv("TRADEOFF_LAB_MAX_CANDIDATES", "1")
    with pytest.raises(LimitExceeded, match="2 candidates is over the limit of 1"):
        check_language_limits(spec(small, LMCandidateSpec("3-gram", NGramSpec(order=3))), 96, 10_000)
