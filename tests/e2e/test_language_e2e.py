"""The language-modelling flow in a real browser: a GPT and an n-gram on a small slice of text."""

import pytest

from .browser import REPO, wait_idle

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif("pages/language.py" not in (REPO / "app.py").read_text(),
                       reason="pages/language.py is not in app.py's navigation yet"),
]


def _to_minimum(tab, label: str) -> None:
    """Move a slider or select-slider to its first value with the keyboard (Home)."""
    tab.get_by_role("slider", name=label).focus()
    tab.keyboard.press("Home")
    wait_idle(tab)


def test_language_page_trains_both_models_and_shows_samples(app_tab):
    app_tab.get_by_test_id("stSidebarNav").get_by_text("Language models", exact=True).click()
    app_tab.get_by_role("button", name="Train and measure").wait_for(timeout=30_000)
    wait_idle(app_tab)
    # the smallest settings: 20,000 characters, a 1-layer GPT of width 32 trained for 5 s
    for label in ("Characters to use (the last 10 % is held out)", "Layers", "Width", "Heads",
                  "Context (characters)", "Training time limit (s)", "n (characters of context + 1)"):
        _to_minimum(app_tab, label)
    app_tab.get_by_role("button", name="Train and measure").click()
    app_tab.get_by_text("Samples after the prompt").wait_for(timeout=240_000)
    wait_idle(app_tab)
    samples = app_tab.get_by_test_id("stCode")
    samples.nth(2).wait_for(timeout=30_000)          # code blocks load their highlighter lazily
    assert samples.count() == 3                      # GPT, GPT int8, 2-gram
    for i in range(3):
        assert samples.nth(i).inner_text().startswith("The ")
    assert app_tab.locator(".js-plotly-plot").count() == 4
    assert app_tab.get_by_test_id("stException").count() == 0
