"""Both languages carry every key, with the same placeholders, and the code uses only known keys."""

import re
import string
from pathlib import Path

import pytest

from core.i18n import LANGUAGES, strings, translate

REPO = Path(__file__).resolve().parents[2]


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_exists_in_every_language_with_the_same_placeholders():
    reference = strings("en")
    for lang in LANGUAGES:
        table = strings(lang)
        assert set(table) == set(reference), (lang, set(reference) ^ set(table))
        for key, text in table.items():
            assert text.strip(), (lang, key)
            assert _placeholders(text) == _placeholders(reference[key]), (lang, key)


def test_every_key_used_in_the_ui_is_defined():
    used = set()
    for path in [REPO / "app.py", *REPO.glob("pages/*.py"), *REPO.glob("ui/*.py")]:
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_0-9]+)["']""", path.read_text()))
    assert used, "no translated strings found"
    missing = used - set(strings("en"))
    assert not missing, missing


def test_translate_fills_placeholders_and_refuses_unknown_keys():
    assert translate("zh", "compare.job", n=3) == "3 个模型的比较"
    assert translate("en", "compare.job", n=3) == "Comparison of 3 models"
    with pytest.raises(KeyError, match="no English string for 'home.nope'"):
        translate("en", "home.nope")
    with pytest.raises(ValueError, match="language must be one of en, zh; got 'fr'"):
        strings("fr")
