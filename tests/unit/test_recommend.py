from core.recommend import Budget, recommend


def _rec(name, accuracy, latency, size, family="small"):
    return {"name": name, "family": family, "status": "done", "accuracy": accuracy,
            "latency_ms_p50": latency, "size_bytes": size, "n_params": 1}


FIXTURE = [
    _rec("MLP", 0.982, 1.20, 4_500_000, "large"),
    _rec("RBF SVM", 0.979, 0.133, 375_000),
    _rec("Logistic regression", 0.962, 0.10, 12_000),
    _rec("Random forest", 0.975, 6.5, 6_000_000),
]


def test_picks_the_cheapest_model_within_a_point_of_the_best_and_says_why():
    rec = recommend(FIXTURE)
    assert rec.name == "RBF SVM"
    assert rec.sentence == "RBF SVM: within 0.3 points of the best (MLP, 98.2%), 9.0x faster, 12.0x smaller."
    assert rec.frontier == ("Logistic regression", "RBF SVM", "MLP")
    assert "Random forest" not in rec.frontier


def test_a_tight_tolerance_keeps_the_most_accurate_model():
    rec = recommend(FIXTURE, Budget(tolerance_points=0.1))
    assert rec.name == "MLP" and rec.sentence.startswith("MLP: the most accurate model (98.2%)")


def test_budgets_filter_the_candidates():
    rec = recommend(FIXTURE, Budget(max_size_bytes=100_000))
    assert rec.fitting == ("Logistic regression",) and rec.name == "Logistic regression"
    assert "2.0 points" in rec.sentence and "375.0x smaller" in rec.sentence


def test_no_model_fits_names_the_closest_and_the_broken_limit():
    rec = recommend(FIXTURE, Budget(min_accuracy=0.99))
    assert rec.name is None and "No model meets every limit" in rec.sentence
    assert "< 99.0%" in rec.sentence


def test_failed_records_are_ignored():
    rec = recommend([*FIXTURE, {"name": "broken", "family": "large", "status": "failed", "accuracy": None}])
    assert "broken" not in rec.fitting
