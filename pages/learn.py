"""Learn: one tab per idea behind the comparison, each with a live demo on real engine code."""

import streamlit as st

from ui.i18n import language, t
from ui.learn_view import SECTIONS, section_labels, section_of

TAB_KEY = "learn-section"

st.title(t("learn.title"))
st.markdown(t("learn.intro"))

labels = section_labels(language())
# The open tab is remembered by its label: after a language switch, name it in the new language.
open_section = section_of(st.session_state.get(TAB_KEY))
if open_section and st.session_state[TAB_KEY] != labels[open_section]:
    st.session_state[TAB_KEY] = labels[open_section]

# on_change="rerun" makes the tabs lazy: only the open tab's demo runs.
tabs = st.tabs(list(labels.values()), key=TAB_KEY, on_change="rerun")
for tab, render in zip(tabs, SECTIONS.values()):
    if tab.open:
        with tab:
            render()

st.divider()
st.caption(t("learn.scenarios_hint"))
