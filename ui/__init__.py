"""Streamlit helpers shared by the pages: cached engine objects, forms, job progress, results.

Not a page itself; pages import from here so that each page script reads like a description of
the page.
"""
