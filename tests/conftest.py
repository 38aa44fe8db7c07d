"""Test-wide setup: no test writes into the user's real data directory."""

import os
import tempfile

import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_data_home():
    # Session scope and os.environ (not monkeypatch) so that subprocesses started by tests,
    # such as `python -m core run`, store their runs here too.
    previous = os.environ.get("TRADEOFF_LAB_HOME")
    with tempfile.TemporaryDirectory(prefix="tradeoff-lab-test-home-") as home:
        os.environ["TRADEOFF_LAB_HOME"] = home
        yield home
    if previous is None:
        os.environ.pop("TRADEOFF_LAB_HOME", None)
    else:
        os.environ["TRADEOFF_LAB_HOME"] = previous
