"""The main path in a real browser: the quick comparison from Home, then a Compare run."""

import time

import pytest

from .browser import REPO, full_screenshot, wait_idle

pytestmark = pytest.mark.e2e

ASSETS = REPO / "assets"


def test_navigation_lists_each_page_once(app_tab):
    links = [t.strip() for t in app_tab.get_by_test_id("stSidebarNav").locator("a").all_inner_texts()]
    assert sorted(links) == sorted(set(links))
    for title in ("Home", "Data", "Compare", "Compress", "Train", "Language models", "History",
                  "Learn", "Scenarios"):
        assert sum(title in link for link in links) == 1, links


def test_quick_comparison_draws_four_charts_and_the_frontier(app_tab):
    wait_idle(app_tab)
    start = time.perf_counter()
    app_tab.get_by_role("button", name="Run the quick comparison").click()
    # four metric bars, the scatter and the training curves
    app_tab.locator(".js-plotly-plot").nth(4).wait_for(timeout=240_000)
    seconds = time.perf_counter() - start
    print(f"quick comparison: {seconds:.1f} s from click to charts")
    wait_idle(app_tab)
    charts = app_tab.locator(".js-plotly-plot")
    assert charts.count() >= 5
    bars = app_tab.locator(".js-plotly-plot g.trace.bars g.point")
    assert bars.count() >= 4 * 5  # 5 models on each of the four bar charts
    assert app_tab.get_by_text("Pareto frontier").count() >= 1
    assert app_tab.get_by_test_id("stException").count() == 0
    full_screenshot(app_tab, ASSETS / "home.png")


def test_compare_page_trains_and_shows_the_table(app_tab):
    app_tab.get_by_test_id("stSidebarNav").get_by_text("Compare", exact=True).click()
    app_tab.get_by_role("button", name="Train and measure").wait_for(timeout=30_000)
    wait_idle(app_tab)
    app_tab.get_by_role("button", name="Train and measure").click()
    app_tab.locator(".js-plotly-plot").nth(4).wait_for(timeout=240_000)
    wait_idle(app_tab)
    assert app_tab.get_by_text("Every figure").count() == 1
    assert app_tab.get_by_test_id("stDataFrame").count() >= 1
    assert app_tab.get_by_test_id("stException").count() == 0
    full_screenshot(app_tab, ASSETS / "compare.png")
