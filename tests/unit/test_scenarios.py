"""Guided scenarios: valid specs, and narration that follows the measured figures."""

import re

import pytest

from core.data import load
from core.scenarios import (CONTROL, FP32, INT4, INT8, NARROW, SCENARIO_MEASURE, SCENARIOS,
                            STUDENT, TEACHER, candidate_name, narrate)
from core.specs import ExperimentSpec


def rec(name, accuracy, n_params=1000, latency=0.1, size=10_000, status="done", error=None):
    """A measured record with the fields narration reads (as CandidateResult.to_record gives)."""
    out = {"name": name, "status": status, "error": error}
    if status == "done":
        out.update(accuracy=accuracy, n_params=n_params, latency_ms_p50=latency, size_bytes=size)
    return out


@pytest.mark.parametrize("key", list(SCENARIOS))
def test_every_scenario_builds_a_valid_spec_that_round_trips(key):
    spec = SCENARIOS[key].spec()
    assert isinstance(spec, ExperimentSpec) and 2 <= len(spec.candidates) <= 5
    assert ExperimentSpec.from_dict(spec.to_dict()) == spec
    assert spec.measure == SCENARIO_MEASURE
    data = load(spec.dataset)                      # the data the story needs can be loaded
    assert len(data.y_test) >= 40
    assert SCENARIOS[key].title.strip() and SCENARIOS[key].summary.strip()


def test_narrated_names_are_the_candidates_of_the_specs():
    shrink = {c.name for c in SCENARIOS["shrink"].spec().candidates}
    assert {FP32, INT8, INT4, NARROW} == shrink
    distill = {c.name for c in SCENARIOS["distill"].spec().candidates}
    assert {TEACHER, STUDENT} == distill and CONTROL.startswith(STUDENT)


BIG = [rec("Large MLP 512x512", 0.99, 280_000, 0.4, 1_100_000), rec("Tiny MLP 16", 0.95, 530, 0.1, 4_000),
       rec("Logistic regression", 0.94, 31, 0.05, 2_000)]


def test_bigger_says_bigger_won_when_the_big_model_is_clearly_best():
    lines = narrate("bigger", BIG)
    assert lines[0] == ("The biggest model, Large MLP 512x512 (280,000 parameters), scored 99.0% on the "
                        "held-out split; the smallest, Logistic regression (31 parameters), scored 94.0%.")
    assert lines[1] == ("Bigger won: Large MLP 512x512 is 4.0 points ahead of the next best, Tiny MLP 16, "
                        "which is 4.0x faster at batch 1 and 275.0x smaller on disk.")


def test_bigger_changes_its_verdict_when_the_figures_change():
    tie = narrate("bigger", [dict(BIG[0], accuracy=0.955), *BIG[1:]])
    assert tie[1].startswith("Bigger did not clearly win: Large MLP 512x512 and Tiny MLP 16 are within 1 "
                             "point of each other (95.5% against 95.0%)")
    assert "528x fewer parameters" in tie[1] and "4.0x lower latency" in tie[1]
    lost = narrate("bigger", [dict(BIG[0], accuracy=0.90), *BIG[1:]])
    assert lost[1].startswith("Bigger did not win: Tiny MLP 16 was the most accurate, 5.0 points ahead")
    assert len({tie[1], lost[1], narrate("bigger", BIG)[1]}) == 3


SHRINK = [rec(FP32, 0.970, size=400_000, latency=0.20), rec(INT8, 0.968, size=105_000, latency=0.10),
          rec(INT4, 0.960, size=60_000, latency=0.20), rec(NARROW, 0.950, size=200_000, latency=0.12)]


def test_shrink_reports_measured_ratios_and_picks_a_variant_that_qualifies():
    lines = narrate("shrink", SHRINK)
    assert lines[0] == "The original MLP fp32 scored 97.0%, saved in 391 KB, 0.200 ms per row."
    assert lines[1] == ("int8 dynamic: 3.8x smaller on disk, 0.2 points less accuracy (96.8%), "
                        "2.0x faster at batch 1.")
    assert lines[2] == ("int4 (group 32): 6.7x smaller on disk, 1.0 point less accuracy (96.0%), "
                        "about the same at batch 1.")
    assert lines[-1] == "Yes: int4 (group 32) is 6.7x smaller and within 1 point of the original (-1.0 point)."


def test_shrink_says_no_when_nothing_is_both_4x_smaller_and_accurate_enough():
    worse = [SHRINK[0], SHRINK[1], dict(SHRINK[2], accuracy=0.93), SHRINK[3]]
    assert narrate("shrink", worse)[-1] == ("Not here: no variant was both at least 4x smaller and "
                                            "within 1 point of the original.")


def test_shrink_names_a_failed_variant_with_its_error():
    failed = [*SHRINK[:2], rec(INT4, None, status="failed", error="no int4 kernel"), SHRINK[3]]
    lines = narrate("shrink", failed)
    assert lines[-1] == ("int4 (group 32) has no measured figures: no int4 kernel, so the story cannot "
                         "be told in full.")
    assert not any(line.startswith("int4 (group 32):") for line in lines)


def test_distill_compares_the_student_with_its_control_and_the_teacher():
    records = [rec(TEACHER, 0.976, 301_066, 0.30), rec(STUDENT, 0.947, 2_410, 0.10),
               rec(CONTROL, 0.891, 2_410, 0.10)]
    lines = narrate("distill", records)
    assert "(125x fewer)" in lines[0] and "only 10% of the training rows" in lines[0]
    assert lines[1] == ("Learning from the teacher helped: the distilled student scored 94.7%, 5.6 points "
                        "above the same student trained on the labelled rows alone (89.1%).")
    assert lines[2] == "It is 2.9 points behind the teacher and 3.0x faster at batch 1."
    hurt = narrate("distill", [records[0], dict(records[1], accuracy=0.85), records[2]])
    assert hurt[1].startswith("Learning from the teacher hurt: the distilled student scored 85.0%, 4.1 points")
    same = narrate("distill", [records[0], dict(records[1], accuracy=0.895), records[2]])
    assert same[1].startswith("The teacher's soft targets made little difference")


def test_forest_is_enough_only_within_the_tolerance():
    base = [rec("Random forest", 0.90, 40_000, 10.0, 5_000_000),
            rec("Gradient boosting", 0.905, 9_000, 40.0, 2_000_000), rec("MLP 256x256", 0.88, 70_000, 0.1, 280_000)]
    lines = narrate("forest", base)
    assert lines[1] == "Gradient boosting: 90.5%, 4.0x slower and 2.5x smaller than the forest."
    assert lines[2] == "MLP 256x256: 88.0%, 100.0x faster and 17.9x smaller than the forest."
    assert lines[-1] == ("The forest is enough here: it is within 1 point of the best, Gradient boosting "
                         "(0.5 points behind).")
    beaten = narrate("forest", [base[0], dict(base[1], accuracy=0.95), base[2]])
    assert beaten[-1] == ("The forest is not enough here: Gradient boosting is 5.0 points more accurate, "
                          "more than the 1-point tolerance.")
    best = narrate("forest", [dict(base[0], accuracy=0.99), *base[1:]])
    assert best[-1] == "The forest is enough here: nothing else was more accurate."


def _figures(text: str) -> set[str]:
    return set(re.findall(r"\d+(?:,\d{3})*(?:\.\d+)?", text))


@pytest.mark.parametrize("key,records", [
    ("bigger", BIG), ("shrink", SHRINK),
    ("distill", [rec(TEACHER, 0.976, 301_066, 0.30), rec(STUDENT, 0.947, 2_410, 0.10),
                 rec(CONTROL, 0.891, 2_410, 0.10)]),
    ("forest", [rec("Random forest", 0.90, 40_000, 10.0, 5_000_000),
                rec("Gradient boosting", 0.905, 9_000, 40.0, 2_000_000),
                rec("MLP 256x256", 0.88, 70_000, 0.1, 280_000)]),
])
def test_chinese_narration_tells_the_same_figures(key, records):
    english, chinese = narrate(key, records), narrate(key, records, "zh")
    assert len(chinese) == len(english)
    for en, zh in zip(english, chinese):
        assert re.search(r"[\u4e00-\u9fff]", zh), zh
        assert _figures(zh) == _figures(en), (en, zh)


def test_chinese_stories_name_their_candidates_in_chinese_and_still_read_english_runs():
    for scenario in SCENARIOS.values():
        assert re.search(r"[\u4e00-\u9fff]", scenario.title_in("zh"))
        assert re.search(r"[\u4e00-\u9fff]", scenario.summary_in("zh"))
    names = [c.name for c in SCENARIOS["shrink"].spec(lang="zh").candidates]
    assert names == [candidate_name(r, "zh") for r in ("fp32", "int8", "int4", "narrow")]
    assert "int8 动态量化" in names
    chinese_run = [dict(r, name=candidate_name(role, "zh"))
                   for r, role in zip(SHRINK, ("fp32", "int8", "int4", "narrow"))]
    assert narrate("shrink", chinese_run, "zh")[1].startswith("int8 动态量化：保存后体积小 3.8 倍")
    # a run made in English and read in Chinese: English names, Chinese sentences, no gaps
    lines = narrate("shrink", SHRINK, "zh")
    assert lines[0] == "原始的 MLP fp32 准确率为 97.0%，保存后 391 KB，每行 0.200 ms。"
    assert lines[-1] == "可以：int4 (group 32) 体积小 6.7 倍，准确率与原模型相差不超过 1 个百分点（-1.0 个百分点）。"


def test_chinese_distill_story_finds_the_control_of_a_chinese_student():
    student = candidate_name("student", "zh")
    records = [rec(candidate_name("teacher", "zh"), 0.976, 301_066, 0.30), rec(student, 0.947, 2_410, 0.10),
               rec(f"{student} · labels-only control", 0.891, 2_410, 0.10)]
    lines = narrate("distill", records, "zh")
    assert lines[1] == ("向教师学习有帮助：蒸馏后的学生模型准确率为 94.7%，比只用有标签的行训练的同一学生模型"
                        "（89.1%）高 5.6 个百分点。")
    assert lines[2] == "它比教师低 2.9 个百分点，批大小为 1 时速度快 3.0 倍。"
    missing = narrate("distill", records[:2], "zh")
    assert missing == [f"{student} · labels-only control 没有测量结果（它没有运行），因此这个故事无法完整讲述。"]
