"""Translated strings: one folder per language under locales/, looked up by dotted key.

``locales/<lang>/<area>.yaml`` holds one area's strings (app, data, compare, ...); the files of a
language are merged, and a key defined twice is an error rather than a silent override.

The engine stays UI-free: pages pick the language (ui/i18n.py) and pass it here, and so can
reports. A key missing in one language is a test failure, not a silent fallback.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
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


def keys_under(prefix: str, lang: str = DEFAULT_LANGUAGE) -> tuple[str, ...]:
    """Every key under ``prefix`` (``notes`` gives ``notes.int4``, ...), sorted."""
    head = prefix.rstrip(".") + "."
    return tuple(sorted(k for k in strings(lang) if k.startswith(head)))


# Stored text (how-measured lines, per-model notes) is kept in English with the run, and runs
# stored before there was a choice of language have nothing else. Rather than store a key beside
# it, a page or report renders the stored text in its language on demand: the template that
# produced it (in any language) is recognised, and the same figures fill the template of the
# language asked for, exactly as they were written.

# Placeholders whose figures may contain white space (a layer list, a network spec); every
# other placeholder matches a figure without white space, so a template cannot swallow the
# words of another.
FREE_TEXT_PLACEHOLDERS = frozenset({"spec", "names", "model", "label", "description"})


def retranslate(text: str, lang: str, keys: Iterable[str]) -> str:
    """``text`` produced by one of the templates ``keys`` (in any language), rendered in ``lang``
    with the same figures; text that no template produced stays as it is.

    A text one template produced as a whole is rendered from that template; otherwise every
    template found inside the text is replaced where it stands (a note with words appended, a
    how-measured line after a prefix).
    """
    if not text:
        return text
    # Where two templates read the same text ("depth {depth}" and "depth unlimited"), the one
    # with more fixed words wins.
    keys = sorted(keys, key=lambda k: -len(_literal(strings(DEFAULT_LANGUAGE)[k])))
    for key in keys:
        for source in LANGUAGES:
            if source != lang:
                m = _template_pattern(key, source).fullmatch(text)
                if m:
                    return _Verbatim().format(strings(lang)[key], **m.groupdict())
    for key in keys:
        template = strings(lang)[key]
        for source in LANGUAGES:
            if source != lang:
                text = _template_pattern(key, source).sub(
                    lambda m: _Verbatim().format(template, **m.groupdict()), text)
    return text


def _literal(template: str) -> str:
    """A template's fixed text, without its placeholders."""
    return "".join(literal for literal, _, _, _ in string.Formatter().parse(template))


@lru_cache(maxsize=None)
def _template_pattern(key: str, lang: str) -> re.Pattern:
    """The template of ``key`` in ``lang`` as a regex, one named group per placeholder."""
    parts, seen = [], set()
    for literal, name, _, _ in string.Formatter().parse(strings(lang)[key]):
        parts.append(re.escape(literal))
        if name:  # a name seen before must repeat its figure
            figure = r".+?" if name in FREE_TEXT_PLACEHOLDERS else r"\S+?"
            parts.append(f"(?P={name})" if name in seen else rf"(?P<{name}>{figure})")
            seen.add(name)
    return re.compile("".join(parts))


class _Verbatim(string.Formatter):
    """Fills placeholders with the figures exactly as the stored text showed them."""

    def format_field(self, value, format_spec):
        return value if isinstance(value, str) else super().format_field(value, format_spec)


def _flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tree.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, full + "."))
        else:
            out[full] = str(value)
    return out


__all__ = ["LANGUAGES", "DEFAULT_LANGUAGE", "FREE_TEXT_PLACEHOLDERS", "strings", "translate",
           "keys_under", "retranslate"]
