"""Streamlit helpers shared by the pages: cached engine objects, forms, job progress, results.

Not a page itself; pages import from here so that each page script reads like a description of
the page.
"""

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

# Until app.py has run once in a server process, Streamlit treats a folder named pages/ as an
# old-style multipage app and serves a deep link such as /data by running pages/data.py on its
# own, without app.py's st.navigation and sidebar. Every page imports this package, so the first
# such run switches routing to st.navigation and reruns, which then goes through app.py.
# (PagesManager.uses_pages_directory is the flag st.navigation itself clears; Streamlit is pinned.)
if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False
    st.rerun()
