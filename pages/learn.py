"""Learn: one tab per idea behind the comparison, each with a live demo on real engine code."""

import streamlit as st

from ui.learn_view import SECTIONS

st.title("Learn")
st.markdown(
    "The ideas behind the numbers on the other pages, one per tab. Each tab has a short "
    "explanation, the key formula and a small demo that runs the same engine code as a "
    "comparison (the data loader, the training loop, the compression handlers) on small data, "
    "so it answers in about a second. Move the sliders and watch what changes.")

# on_change="rerun" makes the tabs lazy: only the open tab's demo runs.
tabs = st.tabs(list(SECTIONS), key="learn-section", on_change="rerun")
for tab, render in zip(tabs, SECTIONS.values()):
    if tab.open:
        with tab:
            render()

st.divider()
st.caption("Guided stories that run full comparisons and explain the results are on the "
           "**Scenarios** page.")
