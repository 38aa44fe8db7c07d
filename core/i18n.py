"""Translated strings: one YAML file per language under locales/, looked up by dotted key.

The engine stays UI-free: pages pick the language (ui/i18n.py) and pass it here, and so can
reports. A key missing in one language is a test failure, not a silent fallback.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

LOCALES = Path(__file__).resolve().parent.parent / "locales"
LANGUAGES = {"en": "English", "zh": "简体中文"}
DEFAULT_LANGUAGE = "en"


@lru_cache(maxsize=None)
def strings(lang: str) -> dict[str, str]:
    """Every string of ``lang``, flattened to dotted keys (``home.title``)."""
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}; got {lang!r}")
    with open(LOCALES / f"{lang}.yaml", encoding="utf-8") as f:
        return _flatten(yaml.safe_load(f) or {})


def translate(lang: str, key: str, **values) -> str:
    """The string for ``key`` in ``lang``, with ``{name}`` placeholders filled from ``values``."""
    text = strings(lang).get(key)
    if text is None:
        raise KeyError(f"no {LANGUAGES.get(lang, lang)} string for {key!r} in locales/{lang}.yaml")
    return text.format(**values) if values else text


def _flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tree.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, full + "."))
        else:
            out[full] = str(value)
    return out


__all__ = ["LANGUAGES", "DEFAULT_LANGUAGE", "strings", "translate"]
