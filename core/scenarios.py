"""Guided scenarios: one-click stories that run a small real comparison and tell what it found.

Each scenario builds an `ExperimentSpec` (run by `core.experiment.run` like any comparison) and
narrates the measured records (`CandidateResult.to_record` dicts) in sentences computed from
the figures: if the numbers change, so do the sentences, including the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from .specs import (CandidateSpec, DatasetSpec, Distill, ExperimentSpec, LogisticRegressionSpec,
                    MeasureSpec, MLPSpec, PruneStructured, QuantizeDynamic, QuantizeInt4,
                    RandomForestSpec, HistGradientBoostingSpec, TinyMLPSpec, TrainSpec)

# Light timing so a story finishes in well under a minute; the page shows these settings.
SCENARIO_MEASURE = MeasureSpec(n_threads=2, warmup=3, min_repeats=20, min_seconds=0.2,
                               max_seconds=1.0, batch_size=256)
# Accuracy differences up to this many points (of 100) count as "the same" in verdicts.
TOLERANCE_POINTS = 1.0

Records = Sequence[dict]


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str                                         # the question, as the button says it
    summary: str                                       # what will run, in one line
    build: Callable[[MeasureSpec], ExperimentSpec]
    narrate: Callable[[Records], list[str]]

    def spec(self, measure: MeasureSpec = SCENARIO_MEASURE) -> ExperimentSpec:
        return self.build(measure)


# --------------------------------------------------------------------------------------------
# Sentence helpers: all take measured values, none hard-code an outcome.


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _points(delta: float) -> str:
    """An accuracy difference (fractions) in points of 100, e.g. 0.012 -> '1.2 points'."""
    p = abs(100 * delta)
    return f"{p:.1f} point{'s' if round(p, 1) != 1.0 else ''}"


def _signed_points(delta: float) -> str:
    """'+1.2 points', '-0.4 points' or 'no change' (under 0.05 points)."""
    if abs(100 * delta) < 0.05:
        return "no change"
    return f"{'+' if delta > 0 else '-'}{_points(delta)}"


def _times(a: float, b: float, more: str, less: str) -> str:
    """'3.2x {more}' when a > b, '3.2x {less}' when a < b, 'about the same' within 5%."""
    if a <= 0 or b <= 0:
        return "not comparable"
    r = a / b
    if 1 / 1.05 <= r <= 1.05:
        return "about the same"
    return f"{r:.1f}x {more}" if r > 1 else f"{1 / r:.1f}x {less}"


def _done(records: Records) -> dict[str, dict]:
    return {r["name"]: r for r in records if r.get("status", "done") == "done" and r.get("accuracy") is not None}


def _missing(records: Records, names: Sequence[str]) -> list[str]:
    """Sentences for the named candidates that produced no figures (and why)."""
    by_name = {r["name"]: r for r in records}
    done = _done(records)
    out = []
    for n in names:
        if n not in done:
            r = by_name.get(n)
            why = f": {r['error']}" if r and r.get("error") else " (it did not run)"
            out.append(f"{n} has no measured figures{why}, so the story cannot be told in full.")
    return out


def _close(a: float, b: float) -> bool:
    """Within the tolerance; rounded so 0.96 - 0.97 (-0.01000000000000001) counts as 1 point."""
    return round(abs(100 * (a - b)), 9) <= TOLERANCE_POINTS


# --------------------------------------------------------------------------------------------
# 1. Does bigger always win?

BIG, TINY, LINEAR = "Large MLP 512x512", "Tiny MLP 16", "Logistic regression"


def _bigger_spec(measure: MeasureSpec) -> ExperimentSpec:
    # 10 epochs of 6 steps at lr 3e-3: enough for both networks to converge on 358 rows, and
    # cheap enough to run while someone waits.
    train = TrainSpec(optimizer="adam", lr=3e-3, epochs=10, batch_size=64, validation_fraction=0.1)
    return ExperimentSpec(DatasetSpec("breast_cancer", test_fraction=0.3, seed=0), (
        CandidateSpec(BIG, MLPSpec(hidden=(512, 512)), train),
        CandidateSpec(TINY, TinyMLPSpec(hidden=(16,)), train),
        CandidateSpec(LINEAR, LogisticRegressionSpec(C=1.0)),
    ), measure)


def narrate_bigger(records: Records) -> list[str]:
    """Compare the model with the most parameters against the most accurate one."""
    done = list(_done(records).values())
    if len(done) < 2:
        return _missing(records, [r["name"] for r in records]) or ["Fewer than two models finished."]
    biggest = max(done, key=lambda r: r["n_params"])
    best = max(done, key=lambda r: (r["accuracy"], -r["n_params"]))
    smallest = min(done, key=lambda r: r["n_params"])
    out = [f"The biggest model, {biggest['name']} ({biggest['n_params']:,} parameters), scored "
           f"{_pct(biggest['accuracy'])} on the held-out split; the smallest, {smallest['name']} "
           f"({smallest['n_params']:,} parameters), scored {_pct(smallest['accuracy'])}."]
    gap = best["accuracy"] - biggest["accuracy"]
    others = [r for r in done if r is not biggest]
    runner = max(others, key=lambda r: (r["accuracy"], -r["n_params"]))
    if best is biggest and not _close(biggest["accuracy"], runner["accuracy"]):
        out.append(f"Bigger won: {biggest['name']} is {_points(biggest['accuracy'] - runner['accuracy'])} "
                   f"ahead of the next best, {runner['name']}, which is "
                   f"{_times(biggest['latency_ms_p50'], runner['latency_ms_p50'], 'faster', 'slower')} "
                   f"at batch 1 and {_times(biggest['size_bytes'], runner['size_bytes'], 'smaller', 'larger')} "
                   "on disk.")
    elif _close(best["accuracy"], biggest["accuracy"]):
        rival = runner if best is biggest else best
        out.append(f"Bigger did not clearly win: {biggest['name']} and {rival['name']} are within "
                   f"{TOLERANCE_POINTS:g} point of each other ({_pct(biggest['accuracy'])} against "
                   f"{_pct(rival['accuracy'])}), and {rival['name']} has "
                   f"{biggest['n_params'] / max(rival['n_params'], 1):,.0f}x fewer parameters and "
                   f"{_times(biggest['latency_ms_p50'], rival['latency_ms_p50'], 'lower latency', 'higher latency')} "
                   "at batch 1.")
    else:
        out.append(f"Bigger did not win: {best['name']} was the most accurate, {_points(gap)} ahead of "
                   f"{biggest['name']}, with {biggest['n_params'] / max(best['n_params'], 1):,.0f}x "
                   f"fewer parameters and "
                   f"{_times(biggest['latency_ms_p50'], best['latency_ms_p50'], 'lower latency', 'higher latency')} "
                   "at batch 1.")
    tie = [r for r in done if r is not best and r is not biggest and r is not runner
           and _close(r["accuracy"], best["accuracy"])]
    if tie:
        out.append(f"Within {TOLERANCE_POINTS:g} point of the best: " + ", ".join(
            f"{r['name']} ({_pct(r['accuracy'])})" for r in tie) +
                   ". On a test split this size, gaps that small can come from a handful of rows.")
    return out + _missing(records, [r["name"] for r in records])


# --------------------------------------------------------------------------------------------
# 2. Shrink a model 4x without losing accuracy

FP32, INT8, INT4, NARROW = "MLP fp32", "int8 dynamic", "int4 (group 32)", "Half the neurons"


def _shrink_spec(measure: MeasureSpec) -> ExperimentSpec:
    train = TrainSpec(optimizer="adam", lr=1e-3, epochs=12, batch_size=64, validation_fraction=0.1)
    return ExperimentSpec(DatasetSpec("digits", test_fraction=0.25, seed=0), (
        CandidateSpec(FP32, MLPSpec(hidden=(256, 256)), train),
        CandidateSpec(INT8, parent=FP32, compress=(QuantizeDynamic(),)),
        CandidateSpec(INT4, parent=FP32, compress=(QuantizeInt4(group_size=32),)),
        CandidateSpec(NARROW, parent=FP32, compress=(PruneStructured(amount=0.5, fine_tune_epochs=2),)),
    ), measure)


def narrate_shrink(records: Records) -> list[str]:
    """For each compressed copy: measured size ratio, accuracy change, latency ratio; then which
    variants reach 4x smaller within the tolerance."""
    done = _done(records)
    if FP32 not in done:
        return _missing(records, [FP32])
    base = done[FP32]
    out = [f"The original {FP32} scored {_pct(base['accuracy'])}, saved in "
           f"{base['size_bytes'] / 1024:,.0f} KB, {base['latency_ms_p50']:.3f} ms per row."]
    winners = []
    for name in (INT8, INT4, NARROW):
        if name not in done:
            continue
        r = done[name]
        shrink = base["size_bytes"] / max(r["size_bytes"], 1)
        delta = r["accuracy"] - base["accuracy"]
        change = "no change in" if abs(delta) < 0.0005 else (
            f"{_points(delta)} {'more' if delta > 0 else 'less'}")
        out.append(f"{name}: {shrink:.1f}x smaller on disk, {change} accuracy ({_pct(r['accuracy'])}), "
                   f"{_times(r['latency_ms_p50'], base['latency_ms_p50'], 'slower', 'faster')} at batch 1.")
        if shrink >= 4.0 and (delta >= 0 or _close(r["accuracy"], base["accuracy"])):
            winners.append((name, shrink, delta))
    if winners:
        name, shrink, delta = max(winners, key=lambda w: (w[2], w[1]))
        out.append(f"Yes: {name} is {shrink:.1f}x smaller and within {TOLERANCE_POINTS:g} point of the "
                   f"original ({_signed_points(delta)}).")
    else:
        out.append(f"Not here: no variant was both at least 4x smaller and within {TOLERANCE_POINTS:g} "
                   "point of the original.")
    return out + _missing(records, [INT8, INT4, NARROW])


# --------------------------------------------------------------------------------------------
# 3. Teach a small model with a big one

TEACHER, STUDENT = "Teacher MLP 512x512", "Student MLP 32 (distilled)"
CONTROL = f"{STUDENT} · labels-only control"
LABEL_FRACTION = 0.1


def _distill_spec(measure: MeasureSpec) -> ExperimentSpec:
    train = TrainSpec(optimizer="adam", lr=1e-3, epochs=12, batch_size=64, validation_fraction=0.1)
    return ExperimentSpec(DatasetSpec("digits", test_fraction=0.25, seed=0), (
        CandidateSpec(TEACHER, MLPSpec(hidden=(512, 512)), train),
        CandidateSpec(STUDENT, parent=TEACHER, compress=(Distill(
            student=TinyMLPSpec(hidden=(32,)), temperature=4.0, alpha=0.9, epochs=30,
            label_fraction=LABEL_FRACTION, control=True),)),
    ), measure)


def narrate_distill(records: Records) -> list[str]:
    """Student against its labels-only control and against the teacher."""
    done = _done(records)
    missing = _missing(records, [TEACHER, STUDENT, CONTROL])
    if missing:
        return missing
    t, s, c = done[TEACHER], done[STUDENT], done[CONTROL]
    out = [f"The teacher ({t['n_params']:,} parameters) scored {_pct(t['accuracy'])}. The student has "
           f"{s['n_params']:,} parameters ({t['n_params'] / max(s['n_params'], 1):.0f}x fewer) and saw "
           f"the true label of only {LABEL_FRACTION:.0%} of the training rows."]
    gain = s["accuracy"] - c["accuracy"]
    if _close(s["accuracy"], c["accuracy"]):
        out.append(f"The teacher's soft targets made little difference: the distilled student scored "
                   f"{_pct(s['accuracy'])} against {_pct(c['accuracy'])} for the same student trained on "
                   "the labelled rows alone.")
    elif gain > 0:
        out.append(f"Learning from the teacher helped: the distilled student scored {_pct(s['accuracy'])}, "
                   f"{_points(gain)} above the same student trained on the labelled rows alone "
                   f"({_pct(c['accuracy'])}).")
    else:
        out.append(f"Learning from the teacher hurt: the distilled student scored {_pct(s['accuracy'])}, "
                   f"{_points(gain)} below the labels-only control ({_pct(c['accuracy'])}).")
    lag = t["accuracy"] - s["accuracy"]
    out.append(f"It is {_points(lag)} {'behind' if lag > 0 else 'ahead of'} the teacher and "
               f"{_times(s['latency_ms_p50'], t['latency_ms_p50'], 'slower', 'faster')} at batch 1.")
    return out


# --------------------------------------------------------------------------------------------
# 4. When is a random forest enough?

FOREST, BOOSTING, MLP = "Random forest", "Gradient boosting", "MLP 256x256"


def _forest_spec(measure: MeasureSpec) -> ExperimentSpec:
    train = TrainSpec(optimizer="adam", lr=3e-3, epochs=12, batch_size=64, validation_fraction=0.1)
    return ExperimentSpec(DatasetSpec("classification", n_samples=1500, n_features=20, n_classes=3,
                                      noise=0.03, test_fraction=0.25, seed=0), (
        CandidateSpec(FOREST, RandomForestSpec(n_estimators=100)),
        CandidateSpec(BOOSTING, HistGradientBoostingSpec(max_iter=60)),
        CandidateSpec(MLP, MLPSpec(hidden=(256, 256)), train),
    ), measure)


def narrate_forest(records: Records) -> list[str]:
    """Is the forest within the tolerance of the best model, and what does it cost or save?"""
    done = _done(records)
    if FOREST not in done or len(done) < 2:
        return _missing(records, [FOREST, BOOSTING, MLP]) or ["Fewer than two models finished."]
    f = done[FOREST]
    best = max(done.values(), key=lambda r: r["accuracy"])
    out = [f"The forest scored {_pct(f['accuracy'])} with {f['n_params']:,} tree nodes, "
           f"{f['size_bytes'] / 1024:,.0f} KB on disk and {f['latency_ms_p50']:.3f} ms per row."]
    for name in (BOOSTING, MLP):
        if name in done:
            r = done[name]
            out.append(f"{name}: {_pct(r['accuracy'])}, "
                       f"{_times(r['latency_ms_p50'], f['latency_ms_p50'], 'slower', 'faster')} and "
                       f"{_times(r['size_bytes'], f['size_bytes'], 'larger', 'smaller')} than the forest.")
    if best["name"] == FOREST:
        out.append("The forest is enough here: nothing else was more accurate.")
    elif _close(f["accuracy"], best["accuracy"]):
        out.append(f"The forest is enough here: it is within {TOLERANCE_POINTS:g} point of the best, "
                   f"{best['name']} ({_points(best['accuracy'] - f['accuracy'])} behind).")
    else:
        out.append(f"The forest is not enough here: {best['name']} is "
                   f"{_points(best['accuracy'] - f['accuracy'])} more accurate, more than the "
                   f"{TOLERANCE_POINTS:g}-point tolerance.")
    return out + _missing(records, [BOOSTING, MLP])


SCENARIOS: dict[str, Scenario] = {s.key: s for s in (
    Scenario("bigger", "Does bigger always win?",
             "A 512x512 MLP, a 16-unit MLP and logistic regression on the breast-cancer data.",
             _bigger_spec, narrate_bigger),
    Scenario("shrink", "Shrink a model 4x without losing accuracy",
             "A 256x256 MLP on digits, then int8, int4 and half its neurons removed.",
             _shrink_spec, narrate_shrink),
    Scenario("distill", "Teach a small model with a big one",
             "A 512x512 teacher on digits distilled into a 32-unit student that sees 10% of the "
             "labels, against the same student trained on those labels alone.",
             _distill_spec, narrate_distill),
    Scenario("forest", "When is a random forest enough?",
             "A random forest, gradient boosting and a 256x256 MLP on a 20-feature tabular problem.",
             _forest_spec, narrate_forest),
)}


def narrate(key: str, records: Records) -> list[str]:
    """The sentences of scenario ``key`` for these measured records."""
    return SCENARIOS[key].narrate(records)


__all__ = ["Scenario", "SCENARIOS", "SCENARIO_MEASURE", "TOLERANCE_POINTS", "narrate",
           "narrate_bigger", "narrate_shrink", "narrate_distill", "narrate_forest"]
