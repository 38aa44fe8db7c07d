"""A comparison survives a reload: found in History, and its HTML report renders offline."""

import re

import pytest

from .browser import wait_idle

pytestmark = pytest.mark.e2e


def _open_history(tab):
    nav = tab.get_by_test_id("stSidebarNav")
    if nav.get_by_text("History", exact=True).count() == 0:
        pytest.skip("pages/history.py is not registered in app.py's navigation yet")
    nav.get_by_text("History", exact=True).click()
    tab.get_by_role("heading", name="History").wait_for(timeout=30_000)
    wait_idle(tab)


def test_comparison_reload_history_and_offline_report(app_tab, chromium_browser, tmp_path):
    if app_tab.get_by_test_id("stSidebarNav").get_by_text("History", exact=True).count() == 0:
        pytest.skip("pages/history.py is not registered in app.py's navigation yet")
    # A light comparison (one small model) so the test stays quick on a loaded machine.
    app_tab.get_by_test_id("stSidebarNav").get_by_text("Compare", exact=True).click()
    app_tab.get_by_role("button", name="Train and measure").wait_for(timeout=60_000)
    wait_idle(app_tab)
    for label in ("MLP (PyTorch) — large", "RBF SVM — small", "Random forest — small"):
        app_tab.get_by_role("button", name=f"Remove {label}").click()
        wait_idle(app_tab)
    app_tab.get_by_role("button", name="Train and measure").click()
    app_tab.locator(".js-plotly-plot").nth(4).wait_for(timeout=180_000)  # four bars and the scatter
    wait_idle(app_tab)

    # A reload is a new Streamlit session: only the store remembers the run.
    app_tab.reload()
    app_tab.get_by_test_id("stSidebarNav").wait_for(timeout=60_000)
    wait_idle(app_tab)
    _open_history(app_tab)
    table = app_tab.get_by_test_id("stDataFrame").first
    table.wait_for(timeout=30_000)
    # The newest run is selected: its charts are drawn from the stored records.
    app_tab.locator(".js-plotly-plot").nth(4).wait_for(timeout=60_000)
    assert app_tab.get_by_role("heading", name="Comparison of 1 models").count() >= 1
    assert app_tab.get_by_test_id("stException").count() == 0

    with app_tab.expect_download(timeout=60_000) as download:
        app_tab.get_by_role("button", name="Download report (HTML)").click()
    report = tmp_path / "report.html"
    download.value.save_as(report)
    html = report.read_text(encoding="utf-8")
    n_charts = len(re.findall(r'class="plotly-graph-div"', html))
    assert n_charts == 8  # six bars and two Pareto scatters (no training curves for this model)

    # Open it with every network request refused: only the file itself may load.
    context = chromium_browser.new_context(viewport={"width": 1300, "height": 900})
    requested = []

    def guard(route):
        requested.append(route.request.url)
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", guard)
    context.set_offline(True)
    tab = context.new_page()
    errors = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.goto(report.as_uri())
    plots = tab.locator(".js-plotly-plot")
    plots.nth(n_charts - 1).wait_for(timeout=30_000)
    assert plots.count() == n_charts
    for i in range(n_charts):
        # Each chart drew its data: a plotly SVG with at least one trace in it.
        assert plots.nth(i).locator("svg.main-svg g.trace").count() >= 1, f"chart {i} is empty"
    assert tab.locator(".js-plotly-plot g.trace.bars g.point").count() == 6  # one bar per chart
    assert not errors, errors
    assert [u for u in requested if not u.startswith("file://")] == []
    context.close()
