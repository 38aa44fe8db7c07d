"""Five browser sessions compare models at once: all finish, each sees only its own results."""

import threading
import time

import psutil
import pytest

from .browser import wait_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]

# The bound the README promises for a server running five comparisons of these sizes.
SERVER_RSS_BOUND_BYTES = 3 * 1024 ** 3

DATASETS = {  # dataset option label on the Data page -> name shown with the results
    "Iris (4 features, 3 classes)": "iris",
    "Wine (13 features, 3 classes)": "wine",
    "Breast cancer (30 features)": "breast_cancer",
    "Two moons (synthetic, 2-D)": "moons",
    "Circles (synthetic, 2-D)": "circles",
}


def _server_rss(url: str) -> int:
    port = int(url.rsplit(":", 1)[1])
    for conn in psutil.net_connections(kind="tcp"):
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
            proc = psutil.Process(conn.pid)
            return proc.memory_info().rss + sum(_rss(c) for c in proc.children(recursive=True))
    return 0


def _rss(proc: psutil.Process) -> int:
    """A child's resident memory; 0 when it ended between listing and reading (e.g. a worker)."""
    try:
        return proc.memory_info().rss
    except psutil.NoSuchProcess:
        return 0


def test_five_sessions_run_comparisons_at_the_same_time(chromium_browser, fresh_app_url):
    app_url = fresh_app_url
    contexts = [chromium_browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in DATASETS]
    tabs = [c.new_page() for c in contexts]
    peak_rss = [0]
    done = threading.Event()

    def watch_memory():
        while not done.is_set():
            peak_rss[0] = max(peak_rss[0], _server_rss(app_url))
            time.sleep(0.5)

    try:
        for tab, label in zip(tabs, DATASETS):
            tab.goto(app_url + "/data")  # a deep link as the server's very first request
            tab.get_by_test_id("stSelectbox").first.wait_for(timeout=60_000)
            wait_idle(tab)
            tab.get_by_test_id("stSelectbox").first.click()
            tab.get_by_role("option", name=label).click()
            wait_idle(tab)
            tab.get_by_test_id("stSidebarNav").get_by_text("Compare", exact=True).click()
            tab.get_by_role("button", name="Train and measure").wait_for(timeout=60_000)
            wait_idle(tab)
        watcher = threading.Thread(target=watch_memory, daemon=True)
        watcher.start()
        start = time.perf_counter()
        for tab in tabs:  # all five submitted before any has finished
            tab.get_by_role("button", name="Train and measure").click()
        for tab, name in zip(tabs, DATASETS.values()):
            tab.get_by_text("Every figure").wait_for(timeout=300_000)
            wait_idle(tab)
            caption = tab.get_by_text("Results on").inner_text()
            assert f"Results on {name}:" in caption, caption
            others = [n for n in DATASETS.values() if n != name]
            assert not any(f"Results on {o}:" in tab.inner_text("body") for o in others)
            assert tab.get_by_test_id("stException").count() == 0
        seconds = time.perf_counter() - start
    finally:
        done.set()
        for c in contexts:
            c.close()
    print(f"five concurrent comparisons: {seconds:.1f} s until all finished; "
          f"server peak RSS {peak_rss[0] / 1024 ** 2:.0f} MiB (bound {SERVER_RSS_BOUND_BYTES / 1024 ** 3:.0f} GiB)")
    assert 0 < peak_rss[0] < SERVER_RSS_BOUND_BYTES
