import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]


def wait_for(at: AppTest, predicate, timeout: float = 120.0) -> AppTest:
    """Re-run the script until ``predicate(at)`` holds: jobs run on background threads."""
    deadline = time.time() + timeout
    while not predicate(at):
        assert not at.exception, at.exception
        if time.time() > deadline:
            raise AssertionError("the page did not reach the expected state in time")
        time.sleep(0.5)
        at.run()
    return at


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TRADEOFF_LAB_HOME", str(tmp_path / "home"))
