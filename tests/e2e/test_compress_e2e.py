"""One compression in a real browser: a tiny MLP, int8 dynamic, before/after shown."""

import pytest

from .browser import REPO, wait_idle

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _page_registered():
    if "pages/compress.py" not in (REPO / "app.py").read_text():
        pytest.skip("app.py does not list pages/compress.py in st.navigation yet")


def test_int8_compression_shows_before_and_after(app_tab):
    app_tab.get_by_test_id("stSidebarNav").get_by_text("Compress", exact=True).click()
    app_tab.get_by_role("button", name="Compress and measure").wait_for(timeout=60_000)
    wait_idle(app_tab)
    app_tab.get_by_test_id("stSelectbox").first.click()
    app_tab.get_by_role("option", name="Tiny MLP (PyTorch) — small").click()
    wait_idle(app_tab)
    app_tab.get_by_text("Model and training settings").click()
    slider = app_tab.get_by_test_id("stSlider").filter(has_text="Epochs")
    epochs = slider.get_by_role("slider")
    epochs.focus()
    epochs.press("Home")        # 1 epoch
    epochs.press("ArrowRight")  # 2 epochs: enough for a before/after, quick on a busy machine
    wait_idle(app_tab)
    assert slider.get_by_test_id("stSliderThumbValue").inner_text() == "2"
    app_tab.get_by_role("button", name="Compress and measure").click()
    app_tab.get_by_test_id("stMetricValue").nth(3).wait_for(timeout=180_000)
    wait_idle(app_tab, timeout_ms=120_000)
    labels = app_tab.get_by_test_id("stMetricLabel").all_inner_texts()
    for label in ("Accuracy", "Latency p50, batch 1", "Saved size", "Non-zero parameters"):
        assert any(label in t for t in labels), labels
    sentence = app_tab.get_by_test_id("stAlertContentSuccess").first.inner_text()
    assert "smaller" in sentence and "accurate" in sentence
    assert app_tab.locator(".js-plotly-plot").count() >= 2  # histograms and the scatter
    assert app_tab.get_by_test_id("stException").count() == 0
