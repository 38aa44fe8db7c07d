"""Result dicts of the stored shape, made without training: for the store's process tests.

Kept free of heavy imports so child processes start in a fraction of a second.
"""


def fake_result(i: int, n_candidates: int = 3) -> dict:
    spec = {"dataset": {"name": "wine"}, "candidates": [
        {"name": f"c{j}", "model": {"kind": "logistic_regression"}} for j in range(n_candidates)]}
    records = [{"name": f"c{j}", "family": "small", "kind": "logistic_regression", "status": "done",
                "accuracy": 0.5 + j / 10, "latency_ms_p50": 0.1 * (i + 1)} for j in range(n_candidates)]
    return {"spec": spec, "dataset": {"name": "wine"}, "records": records, "environment": {"cpu": "x"},
            "how_measured": "test", "timings": {"total": 1.0}, "cancelled": False}
