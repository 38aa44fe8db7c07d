"""Guided scenarios: one-click stories that run a small real comparison and tell what it found.

Each scenario builds an `ExperimentSpec` (run by `core.experiment.run` like any comparison) and
narrates the measured records (`CandidateResult.to_record` dicts) in sentences computed from
the figures: if the numbers change, so do the sentences, including the verdict. The sentence
templates live in ``locales/<lang>/scenarios.yaml``; every figure in them is filled in here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from .i18n import LANGUAGES, translate
from .specs import (CandidateSpec, DatasetSpec, Distill, ExperimentSpec, LogisticRegressionSpec,
                    MeasureSpec, MLPSpec, PruneStructured, QuantizeDynamic, QuantizeInt4,
                    RandomForestSpec, HistGradientBoostingSpec, TinyMLPSpec, TrainSpec)

# Light timing so a story finishes in well under a minute; the page shows these settings.
SCENARIO_MEASURE = MeasureSpec(n_threads=2, warmup=3, min_repeats=20, min_seconds=0.2,
                               max_seconds=1.0, batch_size=256)
# Accuracy differences up to this many points (of 100) count as "the same" in verdicts.
TOLERANCE_POINTS = 1.0

Records = Sequence[dict]


def _s(lang: str, key: str, **values) -> str:
    """A sentence or phrase of the stories in ``lang``."""
    return translate(lang, f"scenario_story.{key}", **values)


def candidate_name(role: str, lang: str = "en") -> str:
    """The display name of a scenario's candidate (``role``: big, fp32, teacher, ...) in ``lang``."""
    return _s(lang, f"name_{role}")


@dataclass(frozen=True)
class Scenario:
    key: str
    build: Callable[[MeasureSpec, str], ExperimentSpec]
    narrate: Callable[[Records, str], list[str]]

    def title_in(self, lang: str = "en") -> str:
        """The question, as the page offers it."""
        return _s(lang, f"{self.key}_title")

    def summary_in(self, lang: str = "en") -> str:
        """What will run, in one line."""
        return _s(lang, f"{self.key}_summary")

    @property
    def title(self) -> str:
        return self.title_in("en")

    @property
    def summary(self) -> str:
        return self.summary_in("en")

    def spec(self, measure: MeasureSpec = SCENARIO_MEASURE, lang: str = "en") -> ExperimentSpec:
        """The comparison to run, its candidates named in ``lang``."""
        return self.build(measure, lang)


# --------------------------------------------------------------------------------------------
# Sentence helpers: all take measured values, none hard-code an outcome.


def _pct(x: float, lang: str = "en") -> str:
    return _s(lang, "percent", value=f"{100 * x:.1f}")


def _points(delta: float, lang: str = "en") -> str:
    """An accuracy difference (fractions) in points of 100, e.g. 0.012 -> '1.2 points'."""
    p = abs(100 * delta)
    return _s(lang, "point" if round(p, 1) == 1.0 else "points", value=f"{p:.1f}")


def _signed_points(delta: float, lang: str = "en") -> str:
    """'+1.2 points', '-0.4 points' or 'no change' (under 0.05 points)."""
    if abs(100 * delta) < 0.05:
        return _s(lang, "no_change")
    return _s(lang, "plus" if delta > 0 else "minus", points=_points(delta, lang))


def _times(a: float, b: float, more: str, less: str, lang: str = "en") -> str:
    """'3.2x {more}' when a > b, '3.2x {less}' when a < b, 'about the same' within 5%.

    ``more`` and ``less`` are phrase keys: faster, slower, smaller, larger, lower_latency, ...
    """
    if a <= 0 or b <= 0:
        return _s(lang, "not_comparable")
    r = a / b
    if 1 / 1.05 <= r <= 1.05:
        return _s(lang, "about_same")
    return _s(lang, more, ratio=f"{r:.1f}") if r > 1 else _s(lang, less, ratio=f"{1 / r:.1f}")


def _done(records: Records) -> dict[str, dict]:
    return {r["name"]: r for r in records if r.get("status", "done") == "done" and r.get("accuracy") is not None}


def _find(records: dict[str, dict], role: str) -> dict | None:
    """The record of ``role`` under its name in any language (a run may be read in another)."""
    return next((records[n] for n in _names_of(role) if n in records), None)


def _names_of(role: str) -> list[str]:
    return list(dict.fromkeys(candidate_name(role, lang) for lang in LANGUAGES))


def _missing(records: Records, roles: Sequence[str], lang: str = "en") -> list[str]:
    """Sentences for the candidates of ``roles`` that produced no figures (and why)."""
    by_name = {r["name"]: r for r in records}
    done = _done(records)
    out = []
    for role in roles:
        if _find(done, role) is None:
            r = _find(by_name, role)
            shown = r["name"] if r else candidate_name(role, lang)
            out.append(_s(lang, "missing_error", name=shown, error=r["error"]) if r and r.get("error")
                       else _s(lang, "missing_not_run", name=shown))
    return out


def _missing_named(records: Records, names: Sequence[str], lang: str = "en") -> list[str]:
    """`_missing` for candidates known by their record names rather than their roles."""
    done = _done(records)
    by_name = {r["name"]: r for r in records}
    errors = {n: (by_name.get(n) or {}).get("error") for n in names}
    return [_s(lang, "missing_error", name=n, error=errors[n]) if errors[n]
            else _s(lang, "missing_not_run", name=n) for n in names if n not in done]


def _close(a: float, b: float) -> bool:
    """Within the tolerance; rounded so 0.96 - 0.97 (-0.01000000000000001) counts as 1 point."""
    return round(abs(100 * (a - b)), 9) <= TOLERANCE_POINTS


def _count(n: int) -> str:
    return f"{n:,}"


# --------------------------------------------------------------------------------------------
# 1. Does bigger always win?

BIG, TINY, LINEAR = (candidate_name(role) for role in ("big", "tiny", "linear"))


def _bigger_spec(measure: MeasureSpec, lang: str = "en") -> ExperimentSpec:
    # 10 epochs of 6 steps at lr 3e-3: enough for both networks to converge on 358 rows, and
    # cheap enough to run while someone waits.
    train = TrainSpec(optimizer="adam", lr=3e-3, epochs=10, batch_size=64, validation_fraction=0.1)
    return ExperimentSpec(DatasetSpec("breast_cancer", test_fraction=0.3, seed=0), (
        CandidateSpec(candidate_name("big", lang), MLPSpec(hidden=(512, 512)), train),
        CandidateSpec(candidate_name("tiny", lang), TinyMLPSpec(hidden=(16,)), train),
        CandidateSpec(candidate_name("linear", lang), LogisticRegressionSpec(C=1.0)),
    ), measure)


def narrate_bigger(records: Records, lang: str = "en") -> list[str]:
    """Compare the model with the most parameters against the most accurate one."""
    done = list(_done(records).values())
    if len(done) < 2:
        return (_missing_named(records, [r["name"] for r in records], lang)
                or [_s(lang, "fewer_than_two")])
    biggest = max(done, key=lambda r: r["n_params"])
    best = max(done, key=lambda r: (r["accuracy"], -r["n_params"]))
    smallest = min(done, key=lambda r: r["n_params"])
    tol = f"{TOLERANCE_POINTS:g}"
    out = [_s(lang, "bigger_first", big=biggest["name"], big_params=_count(biggest["n_params"]),
              big_accuracy=_pct(biggest["accuracy"], lang), small=smallest["name"],
              small_params=_count(smallest["n_params"]), small_accuracy=_pct(smallest["accuracy"], lang))]
    gap = best["accuracy"] - biggest["accuracy"]
    others = [r for r in done if r is not biggest]
    runner = max(others, key=lambda r: (r["accuracy"], -r["n_params"]))
    if best is biggest and not _close(biggest["accuracy"], runner["accuracy"]):
        out.append(_s(lang, "bigger_won", big=biggest["name"], runner=runner["name"],
                      gap=_points(biggest["accuracy"] - runner["accuracy"], lang),
                      latency=_times(biggest["latency_ms_p50"], runner["latency_ms_p50"],
                                     "faster", "slower", lang),
                      size=_times(biggest["size_bytes"], runner["size_bytes"], "smaller", "larger", lang)))
    elif _close(best["accuracy"], biggest["accuracy"]):
        rival = runner if best is biggest else best
        out.append(_s(lang, "bigger_unclear", big=biggest["name"], rival=rival["name"], tolerance=tol,
                      big_accuracy=_pct(biggest["accuracy"], lang),
                      rival_accuracy=_pct(rival["accuracy"], lang),
                      fewer=f"{biggest['n_params'] / max(rival['n_params'], 1):,.0f}",
                      latency=_times(biggest["latency_ms_p50"], rival["latency_ms_p50"],
                                     "lower_latency", "higher_latency", lang)))
    else:
        out.append(_s(lang, "bigger_lost", best=best["name"], big=biggest["name"], gap=_points(gap, lang),
                      fewer=f"{biggest['n_params'] / max(best['n_params'], 1):,.0f}",
                      latency=_times(biggest["latency_ms_p50"], best["latency_ms_p50"],
                                     "lower_latency", "higher_latency", lang)))
    tie = [r for r in done if r is not best and r is not biggest and r is not runner
           and _close(r["accuracy"], best["accuracy"])]
    if tie:
        models = _s(lang, "list_separator").join(
            _s(lang, "bigger_tie_item", name=r["name"], accuracy=_pct(r["accuracy"], lang)) for r in tie)
        out.append(_s(lang, "bigger_tie", tolerance=tol, models=models))
    return out + _missing_named(records, [r["name"] for r in records], lang)


# --------------------------------------------------------------------------------------------
# 2. Shrink a model 4x without losing accuracy

FP32, INT8, INT4, NARROW = (candidate_name(role) for role in ("fp32", "int8", "int4", "narrow"))


def _shrink_spec(measure: MeasureSpec, lang: str = "en") -> ExperimentSpec:
    train = TrainSpec(optimizer="adam", lr=1e-3, epochs=12, batch_size=64, validation_fraction=0.1)
    fp32 = candidate_name("fp32", lang)
    return ExperimentSpec(DatasetSpec("digits", test_fraction=0.25, seed=0), (
        CandidateSpec(fp32, MLPSpec(hidden=(256, 256)), train),
        CandidateSpec(candidate_name("int8", lang), parent=fp32, compress=(QuantizeDynamic(),)),
        CandidateSpec(candidate_name("int4", lang), parent=fp32, compress=(QuantizeInt4(group_size=32),)),
        CandidateSpec(candidate_name("narrow", lang), parent=fp32,
                      compress=(PruneStructured(amount=0.5, fine_tune_epochs=2),)),
    ), measure)


def narrate_shrink(records: Records, lang: str = "en") -> list[str]:
    """For each compressed copy: measured size ratio, accuracy change, latency ratio; then which
    variants reach 4x smaller within the tolerance."""
    done = _done(records)
    base = _find(done, "fp32")
    if base is None:
        return _missing(records, ["fp32"], lang)
    tol = f"{TOLERANCE_POINTS:g}"
    out = [_s(lang, "shrink_original", name=base["name"], accuracy=_pct(base["accuracy"], lang),
              kb=f"{base['size_bytes'] / 1024:,.0f}", ms=f"{base['latency_ms_p50']:.3f}")]
    winners = []
    for role in ("int8", "int4", "narrow"):
        r = _find(done, role)
        if r is None:
            continue
        shrink = base["size_bytes"] / max(r["size_bytes"], 1)
        delta = r["accuracy"] - base["accuracy"]
        change = _s(lang, "shrink_same_accuracy") if abs(delta) < 0.0005 else _s(
            lang, "shrink_more_accuracy" if delta > 0 else "shrink_less_accuracy",
            points=_points(delta, lang))
        out.append(_s(lang, "shrink_variant", name=r["name"], ratio=f"{shrink:.1f}", change=change,
                      accuracy=_pct(r["accuracy"], lang),
                      latency=_times(r["latency_ms_p50"], base["latency_ms_p50"], "slower", "faster",
                                     lang)))
        if shrink >= 4.0 and (delta >= 0 or _close(r["accuracy"], base["accuracy"])):
            winners.append((r["name"], shrink, delta))
    if winners:
        best, shrink, delta = max(winners, key=lambda w: (w[2], w[1]))
        out.append(_s(lang, "shrink_yes", name=best, ratio=f"{shrink:.1f}", tolerance=tol,
                      change=_signed_points(delta, lang)))
    else:
        out.append(_s(lang, "shrink_no", tolerance=tol))
    return out + _missing(records, ["int8", "int4", "narrow"], lang)


# --------------------------------------------------------------------------------------------
# 3. Teach a small model with a big one

TEACHER, STUDENT = (candidate_name(role) for role in ("teacher", "student"))
CONTROL = f"{STUDENT} · labels-only control"   # the name the engine gives the companion record
LABEL_FRACTION = 0.1


def _distill_spec(measure: MeasureSpec, lang: str = "en") -> ExperimentSpec:
    train = TrainSpec(optimizer="adam", lr=1e-3, epochs=12, batch_size=64, validation_fraction=0.1)
    teacher = candidate_name("teacher", lang)
    return ExperimentSpec(DatasetSpec("digits", test_fraction=0.25, seed=0), (
        CandidateSpec(teacher, MLPSpec(hidden=(512, 512)), train),
        CandidateSpec(candidate_name("student", lang), parent=teacher, compress=(Distill(
            student=TinyMLPSpec(hidden=(32,)), temperature=4.0, alpha=0.9, epochs=30,
            label_fraction=LABEL_FRACTION, control=True),)),
    ), measure)


def _control(records: dict[str, dict], student: dict | None) -> dict | None:
    """The labels-only control: the engine names it after the student ("<student> · ...")."""
    if student is None:
        return None
    return next((r for n, r in records.items() if n.startswith(f"{student['name']} · ")), None)


def narrate_distill(records: Records, lang: str = "en") -> list[str]:
    """Student against its labels-only control and against the teacher."""
    done = _done(records)
    t, s = _find(done, "teacher"), _find(done, "student")
    c = _control(done, s)
    missing = _missing(records, ["teacher", "student"], lang)
    if s is not None and c is None:
        listed = _control({r["name"]: r for r in records}, s)
        shown = listed["name"] if listed else f"{s['name']} · labels-only control"
        missing += _missing_named(records, [shown], lang)
    if missing:
        return missing
    out = [_s(lang, "distill_first", teacher_params=_count(t["n_params"]),
              teacher_accuracy=_pct(t["accuracy"], lang), student_params=_count(s["n_params"]),
              fewer=f"{t['n_params'] / max(s['n_params'], 1):.0f}", fraction=f"{LABEL_FRACTION:.0%}")]
    gain = s["accuracy"] - c["accuracy"]
    accuracies = dict(student_accuracy=_pct(s["accuracy"], lang), control_accuracy=_pct(c["accuracy"], lang))
    if _close(s["accuracy"], c["accuracy"]):
        out.append(_s(lang, "distill_same", **accuracies))
    else:
        out.append(_s(lang, "distill_helped" if gain > 0 else "distill_hurt", gain=_points(gain, lang),
                      **accuracies))
    lag = t["accuracy"] - s["accuracy"]
    out.append(_s(lang, "distill_behind" if lag > 0 else "distill_ahead", points=_points(lag, lang),
                  latency=_times(s["latency_ms_p50"], t["latency_ms_p50"], "slower", "faster", lang)))
    return out


# --------------------------------------------------------------------------------------------
# 4. When is a random forest enough?

FOREST, BOOSTING, MLP = (candidate_name(role) for role in ("forest", "boosting", "mlp"))


def _forest_spec(measure: MeasureSpec, lang: str = "en") -> ExperimentSpec:
    train = TrainSpec(optimizer="adam", lr=3e-3, epochs=12, batch_size=64, validation_fraction=0.1)
    return ExperimentSpec(DatasetSpec("classification", n_samples=1500, n_features=20, n_classes=3,
                                      noise=0.03, test_fraction=0.25, seed=0), (
        CandidateSpec(candidate_name("forest", lang), RandomForestSpec(n_estimators=100)),
        CandidateSpec(candidate_name("boosting", lang), HistGradientBoostingSpec(max_iter=60)),
        CandidateSpec(candidate_name("mlp", lang), MLPSpec(hidden=(256, 256)), train),
    ), measure)


def narrate_forest(records: Records, lang: str = "en") -> list[str]:
    """Is the forest within the tolerance of the best model, and what does it cost or save?"""
    done = _done(records)
    f = _find(done, "forest")
    if f is None or len(done) < 2:
        return _missing(records, ["forest", "boosting", "mlp"], lang) or [_s(lang, "fewer_than_two")]
    best = max(done.values(), key=lambda r: r["accuracy"])
    tol = f"{TOLERANCE_POINTS:g}"
    out = [_s(lang, "forest_first", accuracy=_pct(f["accuracy"], lang), n_nodes=_count(f["n_params"]),
              kb=f"{f['size_bytes'] / 1024:,.0f}", ms=f"{f['latency_ms_p50']:.3f}")]
    for role in ("boosting", "mlp"):
        r = _find(done, role)
        if r is not None:
            out.append(_s(lang, "forest_other", name=r["name"], accuracy=_pct(r["accuracy"], lang),
                          latency=_times(r["latency_ms_p50"], f["latency_ms_p50"], "slower", "faster",
                                         lang),
                          size=_times(r["size_bytes"], f["size_bytes"], "larger", "smaller", lang)))
    if best is f:
        out.append(_s(lang, "forest_best"))
    elif _close(f["accuracy"], best["accuracy"]):
        out.append(_s(lang, "forest_close", tolerance=tol, best=best["name"],
                      points=_points(best["accuracy"] - f["accuracy"], lang)))
    else:
        out.append(_s(lang, "forest_beaten", best=best["name"], tolerance=tol,
                      points=_points(best["accuracy"] - f["accuracy"], lang)))
    return out + _missing(records, ["boosting", "mlp"], lang)


SCENARIOS: dict[str, Scenario] = {s.key: s for s in (
    Scenario("bigger", _bigger_spec, narrate_bigger),
    Scenario("shrink", _shrink_spec, narrate_shrink),
    Scenario("distill", _distill_spec, narrate_distill),
    Scenario("forest", _forest_spec, narrate_forest),
)}


def narrate(key: str, records: Records, lang: str = "en") -> list[str]:
    """The sentences of scenario ``key`` for these measured records, in ``lang``."""
    return SCENARIOS[key].narrate(records, lang)


__all__ = ["Scenario", "SCENARIOS", "SCENARIO_MEASURE", "TOLERANCE_POINTS", "candidate_name", "narrate",
           "narrate_bigger", "narrate_shrink", "narrate_distill", "narrate_forest"]
