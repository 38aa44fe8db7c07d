"""Every scenario in a real browser: it runs, and its story is told with the measured figures."""

import re
import time

import pytest

from core.scenarios import SCENARIOS

from .browser import wait_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

STORY = ".st-key-scenario-story"   # the keyed container pages/scenarios.py draws the story in
FIGURE = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")


@pytest.mark.parametrize("key", list(SCENARIOS))
def test_each_scenario_runs_and_tells_its_story_with_figures(app_tab, key):
    scenario = SCENARIOS[key]
    app_tab.get_by_test_id("stSidebarNav").get_by_text("Scenarios", exact=True).click()
    run = app_tab.get_by_role("button", name="Run this story")
    run.wait_for(timeout=30_000)
    wait_idle(app_tab)
    app_tab.get_by_test_id("stRadio").get_by_text(scenario.title, exact=True).click()
    app_tab.get_by_text(scenario.summary).wait_for(timeout=30_000)
    wait_idle(app_tab)
    start = time.perf_counter()
    run.click()
    story = app_tab.locator(STORY)
    story.get_by_role("heading", name=scenario.title).wait_for(timeout=150_000)
    print(f"scenario {key}: {time.perf_counter() - start:.1f} s from click to story")
    wait_idle(app_tab)
    sentences = [s.strip() for s in story.locator("li").all_inner_texts()]
    assert len(sentences) >= 2, sentences
    assert re.search(r"\d+\.\d%", sentences[0]), sentences[0]    # an accuracy, as measured
    assert len(FIGURE.findall(" ".join(sentences))) >= 4, sentences
    assert not any("has no measured figures" in s for s in sentences), sentences
    assert app_tab.get_by_test_id("stException").count() == 0
    app_tab.locator(".js-plotly-plot").nth(3).wait_for(timeout=30_000)   # the figures behind it
