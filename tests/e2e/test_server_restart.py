"""The server is killed (SIGKILL) in the middle of a training job and started again.

After the restart the History page and the store must show the cut-off run as interrupted, the
run stored before it must be intact (records, metrics, model files matching their sha256), the
database must pass SQLite's integrity check, and no worker process may outlive the server.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from .browser import REPO, start_server, stop_process_group, wait_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]

# Shown as text on the History page, never run as markup.
HOSTILE_NAME = '<img src=x onerror="window.__xss=1">'
QUICK_SPEC = """
dataset: {name: iris, seed: 0}
candidates:
  - name: tiny net
    model: {kind: tiny_mlp, hidden: [8]}
    train: {epochs: 2, batch_size: 16}
  - name: logreg
    model: {kind: logistic_regression}
measure: {warmup: 1, min_repeats: 3, min_seconds: 0.0, max_seconds: 0.05, batch_size: 32}
"""


def _wait_until(condition, what: str, timeout_s: float, alive: subprocess.Popen | None = None):
    """Poll ``condition`` until it returns something truthy; fail (not time) if it never does."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if alive is not None and alive.poll() is not None:
            raise AssertionError(f"the server exited while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.3)


def _runs(home: Path) -> list[tuple]:
    """(id, name, status, progress) of every run, read without writing anything."""
    db = home / "runs.sqlite"
    if not db.exists():
        return []
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute("SELECT id, name, status, progress FROM runs ORDER BY created_at").fetchall()
        finally:
            conn.close()
    except sqlite3.OperationalError:  # the writer holds a lock for a moment
        return []


def _rows_of(home: Path, run_id: str) -> dict[str, list[tuple]]:
    """Every candidate, metric and artifact row of one run, read without writing anything."""
    conn = sqlite3.connect(f"file:{home / 'runs.sqlite'}?mode=ro", uri=True, timeout=30)
    try:
        return {table: conn.execute(f"SELECT * FROM {table} WHERE run_id=? ORDER BY 1, 2, 3",
                                    (run_id,)).fetchall()
                for table in ("candidates", "metrics", "artifacts")}
    finally:
        conn.close()


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _using_home(home: Path) -> list[psutil.Process]:
    """Live processes started with this data directory (a server, or anything it spawned)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("TRADEOFF_LAB_HOME") == str(home) and _alive(proc):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL every process of ``proc``'s group; the group outlives its leader while members live."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(30)


@contextmanager
def _server(home: Path, log_path: Path):
    proc, url = start_server(home, log_path)
    try:
        yield proc, url
    finally:
        stop_process_group(proc)


def _open(chromium_browser, url: str, path: str, ready):
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.goto(url + path)
    ready(tab).wait_for(timeout=90_000)
    wait_idle(tab)
    return context, tab


def test_killed_server_leaves_an_interrupted_run_and_an_intact_store(chromium_browser, tmp_path):
    home = tmp_path / "home"
    log = tmp_path / "server.log"
    spec = tmp_path / "quick.yaml"
    spec.write_text(QUICK_SPEC)
    # The earlier run, stored by the command line while the server starts.
    env = {**os.environ, "TRADEOFF_LAB_HOME": str(home)}
    cli = subprocess.Popen([sys.executable, "-m", "core", "run", str(spec), "--quiet", "--name", HOSTILE_NAME,
                            "--out", str(tmp_path / "out")], cwd=REPO, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)

    server, url = start_server(home, log)
    try:
        out, err = cli.communicate(timeout=300)
        assert cli.returncode == 0, err
        (earlier_id, _, earlier_status, _), = _runs(home)
        assert earlier_status == "done"
        earlier_rows = _rows_of(home, earlier_id)
        assert len(earlier_rows["metrics"]) > 10 and len(earlier_rows["artifacts"]) >= 3

        # A long training job, started from the browser: DDP with two worker processes.
        context, tab = _open(chromium_browser, url, "/train",
                             lambda t: t.get_by_role("button", name="Train all variants"))
        for name in ("fp32, 1 process", "bf16 autocast"):
            tab.get_by_role("button", name=f"Remove {name}").click()
            wait_idle(tab)
        tab.get_by_test_id("stMultiSelect").locator("input").click()
        tab.get_by_role("option", name="DDP", exact=True).click()
        wait_idle(tab)
        tab.keyboard.press("Escape")
        tab.get_by_text("Network and base training settings").click()
        epochs = tab.get_by_test_id("stSlider").filter(has_text="Epochs")
        epochs.locator("input[type=range]").focus()
        tab.keyboard.press("End")  # 100 epochs: far longer than this test waits
        wait_idle(tab)
        assert epochs.get_by_test_id("stSliderThumbValue").inner_text() == "100"
        tab.get_by_role("button", name="Train all variants").click()

        def training():
            running = [r for r in _runs(home) if r[2] == "running" and r[3] > 0]
            workers = [p for p in psutil.Process(server.pid).children(recursive=True)
                       if "spawn_main" in " ".join(p.cmdline())]
            return (running, workers) if running and workers else None

        (killed,), workers = _wait_until(training, "the job to be running with its workers", 240,
                                         alive=server)
        killed_id = killed[0]
        descendants = psutil.Process(server.pid).children(recursive=True)
        context.close()

        os.kill(server.pid, signal.SIGKILL)  # the server only: its workers must notice and leave
        server.wait(30)
        _wait_until(lambda: not any(_alive(p) for p in descendants),
                    "the workers to exit after their server died", 60)
    finally:
        _kill_group(server)  # anything left of the group, and the server if a step above failed
    assert not _using_home(home), "processes of the killed server are still running"
    assert [r[2] for r in _runs(home) if r[0] == killed_id] == ["running"]  # as the kill left it
    assert _rows_of(home, earlier_id) == earlier_rows

    with _server(home, log) as (restarted, url):
        # The restarted server marked the run interrupted when it opened the store.
        context, tab = _open(chromium_browser, url, "/history",
                             lambda t: t.get_by_role("heading", name="History"))
        tab.get_by_test_id("stDataFrame").first.wait_for(timeout=60_000)
        # The newest run (the killed one) is selected; its title line says interrupted.
        tab.get_by_text(re.compile(rf"— {killed_id}, interrupted,")).wait_for(timeout=60_000)
        assert tab.get_by_test_id("stSidebar").get_by_text("No work running.").count() == 1
        # Select the earlier run too: its charts draw from the stored records, its name is text.
        tab.get_by_test_id("stMultiSelect").locator("input").click()
        tab.get_by_role("option").filter(has_text=earlier_id).click()
        tab.keyboard.press("Escape")
        wait_idle(tab)
        tab.get_by_text(re.compile(rf"— {earlier_id}, done,")).wait_for(timeout=60_000)
        title = tab.get_by_text(re.compile(rf"— {earlier_id}, done,")).first.inner_text()
        assert title.startswith(HOSTILE_NAME), title
        assert tab.locator("img[src='x']").count() == 0
        assert tab.evaluate("() => window.__xss") is None
        assert tab.get_by_test_id("stException").count() == 0
        context.close()
        assert [r[2] for r in _runs(home) if r[0] == killed_id] == ["interrupted"]
    assert not _using_home(home), "processes of the restarted server are still running"

    from core.store import RunStore

    with RunStore(home) as store:
        assert store.integrity_check() == "ok"
        cut = store.get_run(killed_id)
        assert cut.summary.status == "interrupted" and cut.summary.finished_at
        assert "process running it ended" in cut.summary.message
        earlier = store.get_run(earlier_id)
        assert earlier.summary.status == "done" and earlier.name == HOSTILE_NAME
        assert earlier.records == json.loads((tmp_path / "out" / "results.json").read_text())["records"]
        assert [r["name"] for r in earlier.records] == ["tiny net", "logreg"]
        assert all(0 < r["accuracy"] <= 1 and r["latency_ms_p50"] > 0 for r in earlier.records)
        assert {a.filename for a in earlier.artifacts} >= {"model.safetensors", "architecture.json"}
        for artifact in earlier.artifacts:
            assert len(artifact.read_verified()) == artifact.size_bytes  # sha256 checked on read
    assert _rows_of(home, earlier_id) == earlier_rows  # every metric and artifact row as stored
