"""Where Tradeoff Lab keeps its files: one data directory, moved by TRADEOFF_LAB_HOME."""

from __future__ import annotations

import os
from pathlib import Path

ENV_HOME = "TRADEOFF_LAB_HOME"


def data_home() -> Path:
    """The data directory (runs, artifacts, uploads): $TRADEOFF_LAB_HOME or ~/.tradeoff-lab."""
    return Path(os.environ.get(ENV_HOME) or Path.home() / ".tradeoff-lab").expanduser()


def uploads_dir() -> Path:
    return data_home() / "uploads"
