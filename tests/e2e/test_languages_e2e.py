"""Both languages in a real browser: the sidebar switch relabels Home and Learn; screenshots of each."""

import re

import pytest

from core.i18n import translate

from .browser import REPO, full_screenshot, wait_idle

pytestmark = pytest.mark.e2e

ASSETS = REPO / "assets"
CJK = re.compile(r"[\u4e00-\u9fff]")
# every page in app.py's navigation, by the key of its title
PAGES = tuple(re.findall(r'title=t\("app\.page_(\w+)"\)', (REPO / "app.py").read_text()))


def _nav_labels(tab) -> list[str]:
    """The page names of the navigation (each link's text starts with its icon's name)."""
    return [text.strip().splitlines()[-1].strip()
            for text in tab.get_by_test_id("stSidebarNav").locator("a").all_inner_texts()]


def _check_language(tab, lang: str) -> None:
    """The navigation and the page itself are in ``lang``, and only in it."""
    labels = _nav_labels(tab)
    assert sorted(labels) == sorted(translate(lang, f"app.page_{p}") for p in PAGES), labels
    main = tab.get_by_test_id("stMain").inner_text()
    if lang == "zh":
        assert CJK.search(" ".join(labels)) and CJK.search(main), main[:300]
    else:
        assert not CJK.search(" ".join(labels)) and not CJK.search(main), main[:300]


def _screenshot(tab, name: str) -> None:
    """A full-page screenshot, measured from the default window so a short page is not padded."""
    tab.set_viewport_size({"width": 1400, "height": 1000})
    tab.wait_for_timeout(300)
    full_screenshot(tab, ASSETS / name)


def _open(tab, lang: str, page: str) -> None:
    tab.get_by_test_id("stSidebarNav").get_by_text(translate(lang, f"app.page_{page}"), exact=True).click()
    tab.get_by_role("heading", name=translate(lang, f"{page}.title"), exact=True).wait_for(timeout=30_000)
    if page == "learn":
        tab.locator(".js-plotly-plot").first.wait_for(timeout=60_000)   # the open tab's demo
    wait_idle(tab)


def test_sidebar_switch_translates_home_and_learn(app_tab):
    _check_language(app_tab, "en")
    _screenshot(app_tab, "home_en.png")
    _open(app_tab, "en", "learn")
    _check_language(app_tab, "en")
    _screenshot(app_tab, "learn_en.png")

    app_tab.get_by_test_id("stSidebar").get_by_text("简体中文", exact=True).click()
    app_tab.get_by_role("heading", name=translate("zh", "learn.title"), exact=True).wait_for(timeout=30_000)
    app_tab.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    wait_idle(app_tab)
    _check_language(app_tab, "zh")
    assert app_tab.get_by_role("tab", name=translate("zh", "learn.tab_large_vs_small")).count() == 1
    _screenshot(app_tab, "learn_zh.png")
    _open(app_tab, "zh", "home")
    _check_language(app_tab, "zh")
    _screenshot(app_tab, "home_zh.png")
    assert app_tab.get_by_test_id("stException").count() == 0
