"""The Scenarios page: every story is offered, and one runs end to end with a measured narration."""

import re

from streamlit.testing.v1 import AppTest

from core.scenarios import SCENARIOS

from .conftest import REPO, wait_for

PAGE = str(REPO / "pages" / "scenarios.py")


def test_every_story_is_offered_with_what_it_runs():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception and at.title[0].value == "Scenarios"
    assert at.radio[0].options == [s.title for s in SCENARIOS.values()]
    for key, scenario in SCENARIOS.items():
        at.radio[0].set_value(key).run()
        assert any(scenario.summary in m.value for m in at.markdown)


def test_every_story_is_offered_in_chinese():
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["lang"] = "zh"
    at.run()
    assert not at.exception and at.title[0].value == "情景"
    assert at.radio[0].label == "故事"
    assert at.radio[0].options == [s.title_in("zh") for s in SCENARIOS.values()]
    assert at.button[0].label == "运行这个故事"
    for key, scenario in SCENARIOS.items():
        at.radio[0].set_value(key).run()
        assert any(scenario.summary_in("zh") in m.value for m in at.markdown)
    assert at.caption[0].value.startswith("计时：2 个线程")


def test_a_story_runs_and_is_narrated_from_the_measured_figures():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.radio[0].set_value("bigger").run()
    next(b for b in at.button if b.label == "Run this story").click().run()
    wait_for(at, lambda a: len(a.dataframe) > 0, timeout=300)
    assert not at.exception and not at.error
    table = at.dataframe[0].value.set_index("Model")
    sentences = [m.value for m in at.markdown if m.value.startswith("- ")]
    assert len(sentences) >= 2
    first = sentences[0]
    biggest = table["Parameters"].idxmax()
    assert f"The biggest model, {biggest} ({table.loc[biggest, 'Parameters']:,} parameters)" in first
    shown = float(re.search(r"scored (\d+\.\d)%", first).group(1))
    assert abs(shown - table.loc[biggest, "Accuracy (%)"]) < 0.051
    assert any(s.startswith("- Bigger") for s in sentences)
