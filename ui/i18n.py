"""The page's language (chosen in the sidebar) and `t(key)` to look strings up in it."""

from __future__ import annotations

import streamlit as st

from core.i18n import DEFAULT_LANGUAGE, LANGUAGES, keys_under, retranslate, translate

LANG_KEY = "lang"


def language() -> str:
    return st.session_state.get(LANG_KEY, DEFAULT_LANGUAGE)


def t(key: str, **values) -> str:
    """The string for ``key`` in the session's language."""
    return translate(language(), key, **values)


def note_text(note: str | None) -> str | None:
    """A per-model note as stored with the run (English, or as an older run wrote it), in the
    session's language; a note no template produced stays as it is."""
    return retranslate(note, language(), keys_under("notes"))


def language_switch() -> None:
    """Sidebar radio that switches every translated label of the app."""
    st.radio("Language / 语言", list(LANGUAGES), format_func=LANGUAGES.get, horizontal=True,
             key=LANG_KEY)
