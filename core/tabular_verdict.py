""""Do we need deep learning for this table?" — the FT-Transformer and an MLP against tree
ensembles and a linear model on several datasets, measured by the usual harness.

Returns plain data (dicts and lists) for a page, a report or the CLI to show. The sentences in
it are in the language asked for; the figures behind them are kept, so `verdict_in` can render
a finished verdict again in another language without running anything.
"""

from __future__ import annotations

import math
from typing import Callable

from .experiment import ModelCache, run
from .i18n import translate
from .specs import (CandidateSpec, DatasetSpec, ExperimentSpec, FTTransformerSpec,
                    HistGradientBoostingSpec, LogisticRegressionSpec, MeasureSpec, MLPSpec,
                    RandomForestSpec, TrainSpec)

DEFAULT_DATASETS: tuple[DatasetSpec, ...] = (
    DatasetSpec(name="breast_cancer"), DatasetSpec(name="wine"), DatasetSpec(name="digits"),
    DatasetSpec(name="classification", n_samples=1500, n_features=20, n_classes=3, noise=0.05),
)


def verdict_candidates(epochs: int = 30) -> tuple[CandidateSpec, ...]:
    """The contestants: two deep models (early-stopped) and three classical ones, default sizes."""
    train = TrainSpec(optimizer="adamw", lr=1e-3, weight_decay=1e-4, epochs=epochs, batch_size=64,
                      early_stopping_patience=6, validation_fraction=0.15, schedule="cosine")
    return (
        CandidateSpec("FT-Transformer", FTTransformerSpec(), train),
        CandidateSpec("MLP", MLPSpec(hidden=(256, 256), dropout=0.1), train),
        CandidateSpec("Gradient boosting", HistGradientBoostingSpec()),
        CandidateSpec("Random forest", RandomForestSpec(n_estimators=200)),
        CandidateSpec("Logistic regression", LogisticRegressionSpec()),
    )


def do_we_need_deep_learning(datasets: tuple[DatasetSpec, ...] = DEFAULT_DATASETS,
                             candidates: tuple[CandidateSpec, ...] | None = None,
                             measure: MeasureSpec | None = None,
                             on_progress: Callable[[float, str], None] | None = None,
                             should_stop: Callable[[], bool] | None = None,
                             cache: ModelCache | None = None, lang: str = "en") -> dict:
    """Run the deep and classical contestants on every dataset and say which side wins each.

    A side wins a dataset when its best test accuracy beats the other side's best by more than
    two standard errors of that difference (binomial, on the test split); otherwise it is a tie.
    """
    on_progress = on_progress or (lambda f, m: None)
    candidates = candidates or verdict_candidates()
    measure = measure or MeasureSpec(min_repeats=30, min_seconds=0.3, max_seconds=1.0)
    out = []
    for i, ds in enumerate(datasets):
        def sub(f: float, m: str, i=i, ds=ds) -> None:
            on_progress((i + f) / len(datasets), f"{ds.name}: {m}")

        result = run(ExperimentSpec(ds, candidates, measure), sub, should_stop, cache)
        rows = [{"name": r.name, "family": r.family, "kind": r.kind, "status": r.status,
                 "accuracy": r.metrics.accuracy if r.metrics else None,
                 "f1_macro": r.metrics.f1_macro if r.metrics else None,
                 "latency_ms_p50": r.metrics.latency_ms_p50 if r.metrics else None,
                 "size_bytes": r.metrics.size_bytes if r.metrics else None,
                 "n_params": r.metrics.n_params if r.metrics else None,
                 "train_seconds": r.train_seconds, "error": r.error} for r in result.results]
        out.append(_judge(ds.name, result.dataset["n_test"], rows))
        if result.cancelled:
            break
    wins = {side: sum(d["verdict"] == side for d in out) for side in ("deep", "classical", "tie")}
    return verdict_in({"datasets": out, "wins": wins,
                       "how_measured": result.how_measured if datasets else ""}, lang)


def verdict_in(verdict: dict, lang: str = "en") -> dict:
    """``verdict`` (from `do_we_need_deep_learning`) with its sentences in ``lang``."""
    from .measure import how_measured_in

    wins = verdict["wins"]
    return {**verdict, "datasets": [{**d, "message": _message(d, lang)} for d in verdict["datasets"]],
            "summary": _t(lang, "summary", n=len(verdict["datasets"]), deep=wins["deep"],
                          classical=wins["classical"], tie=wins["tie"]),
            "rule": _t(lang, "rule"), "how_measured": how_measured_in(verdict["how_measured"], lang)}


def _t(lang: str, key: str, **values) -> str:
    return translate(lang, f"tabular_verdict.{key}", **values)


def _message(entry: dict, lang: str) -> str:
    """One dataset's verdict in a sentence, from the figures `_judge` keeps."""
    if entry["best_deep"] is None:
        return _t(lang, "one_side")
    names = {"deep": entry["best_deep"], "classical": entry["best_classical"]}
    gap, se = entry["accuracy_gap"], entry["standard_error"]
    verdict = {
        "deep": lambda: _t(lang, "deep_wins", gap=gap, **names),
        "classical": lambda: _t(lang, "classical_wins", gap=-gap, **names),
        "tie": lambda: _t(lang, "tie", gap=gap, se=se, **names),
    }[entry["verdict"]]()
    cost = _t(lang, "cost", speed=entry["latency_ratio"], size=entry["size_ratio"])
    return _t(lang, "message", verdict=verdict, cost=cost)


def _judge(name: str, n_test: int, rows: list[dict]) -> dict:
    done = [r for r in rows if r["accuracy"] is not None]
    deep = [r for r in done if r["kind"] in ("ft_transformer", "mlp", "cnn")]
    classical = [r for r in done if r not in deep]
    entry = {"dataset": name, "n_test": n_test, "rows": rows}
    if not deep or not classical:
        return {**entry, "verdict": "tie", "best_deep": None, "best_classical": None,
                "accuracy_gap": None, "standard_error": None, "message": _message({"best_deep": None}, "en")}
    bd = max(deep, key=lambda r: (r["accuracy"], -r["latency_ms_p50"]))
    bc = max(classical, key=lambda r: (r["accuracy"], -r["latency_ms_p50"]))
    gap = bd["accuracy"] - bc["accuracy"]
    se = math.sqrt(sum(p * (1 - p) for p in (bd["accuracy"], bc["accuracy"])) / n_test)
    se = max(se, 0.5 / n_test)  # both perfect: one test row is the resolution
    verdict = "deep" if gap > 2 * se else "classical" if gap < -2 * se else "tie"
    speed = bd["latency_ms_p50"] / bc["latency_ms_p50"] if bc["latency_ms_p50"] else float("nan")
    size = bd["size_bytes"] / bc["size_bytes"] if bc["size_bytes"] else float("nan")
    entry = {**entry, "verdict": verdict, "best_deep": bd["name"], "best_classical": bc["name"],
             "accuracy_gap": gap, "standard_error": se, "latency_ratio": speed, "size_ratio": size}
    return {**entry, "message": _message(entry, "en")}


__all__ = ["DEFAULT_DATASETS", "do_we_need_deep_learning", "verdict_candidates", "verdict_in"]
