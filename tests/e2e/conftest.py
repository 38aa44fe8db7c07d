import pytest
from playwright.sync_api import sync_playwright

from .browser import CHROMIUM, CHROMIUM_ARGS, streamlit_server, wait_idle


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """A running app with its own empty data directory."""
    home = tmp_path_factory.mktemp("home")
    with streamlit_server(home, home / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def fresh_app_url(tmp_path_factory):
    """A server of this module's own, so its first request can be a deep link."""
    home = tmp_path_factory.mktemp("fresh-home")
    with streamlit_server(home, home / "server.log") as url:
        yield url


@pytest.fixture(scope="session")
def chromium_browser():
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def app_tab(chromium_browser, app_url):
    """A fresh browser context (its own Streamlit session) on the app's Home page."""
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.goto(app_url)
    # The navigation is final once app.py has run st.navigation: wait for a page title.
    tab.get_by_test_id("stSidebarNav").get_by_text("Compare", exact=True).wait_for(timeout=60_000)
    wait_idle(tab)
    yield tab
    context.close()
