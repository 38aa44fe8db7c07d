"""Translated strings: one folder per language under locales/, looked up by dotted key.

``locales/<lang>/<area>.yaml`` holds one area's strings (app, data, compare, ...); the files of a
language are merged, and a key defined twice is an error rather than a silent override.

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
    merged: dict[str, str] = {}
    for path in sorted((LOCALES / lang).glob("*.yaml")):
        with open(path, encoding="utf-8") as f:
            table = _flatten(yaml.safe_load(f) or {})
        twice = set(table) & set(merged)
        if twice:
            raise ValueError(f"{path.name} redefines {', '.join(sorted(twice))} in locales/{lang}/")
        merged.update(table)
    return merged


def translate(lang: str, key: str, **values) -> str:
    """The string for ``key`` in ``lang``, with ``{name}`` placeholders filled from ``values``."""
    text = strings(lang).get(key)
    if text is None:
        raise KeyError(f"no {LANGUAGES.get(lang, lang)} string for {key!r} in locales/{lang}/")
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
