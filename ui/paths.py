"""Files that ship with the app."""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
QUICKSTART_SPEC = REPO / "examples" / "quickstart.yaml"
