"""Helpers for driving the app in Debian's Chromium (see shared testing notes in the README)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
# Without the networking flags Chromium keeps trying to reach the internet, which is closed here.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, log_path: Path) -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py` on a free localhost port in its own process group, once healthy.

    The log is appended to, so a restarted server keeps the first one's lines.
    """
    port = free_port()
    env = {**os.environ, "TRADEOFF_LAB_HOME": str(home)}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while not _healthy(url):
        if proc.poll() is not None or time.time() > deadline:
            stop_process_group(proc)
            raise RuntimeError(f"streamlit did not start; see {log_path}")
        time.sleep(0.3)
    return proc, url


def _healthy(url: str) -> bool:
    try:
        return urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok"
    except OSError:
        return False


@contextmanager
def streamlit_server(home: Path, log_path: Path):
    """A server for the duration of the block (see `start_server`), stopped with its group."""
    proc, url = start_server(home, log_path)
    try:
        yield url
    finally:
        stop_process_group(proc)


def stop_process_group(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit has finished the current script run (the status widget is gone)."""
    page.wait_for_timeout(300)
    page.get_by_test_id("stStatusWidget").wait_for(state="detached", timeout=timeout_ms)


def full_screenshot(page, path: Path) -> None:
    """Screenshot of the whole page: Streamlit scrolls inside stMain, so grow the viewport first."""
    height = page.evaluate(
        "() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    width = page.viewport_size["width"]
    page.set_viewport_size({"width": width, "height": min(max(height + 40, 800), 6000)})
    page.wait_for_timeout(800)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
