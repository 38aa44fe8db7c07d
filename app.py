"""Tradeoff Lab: see what model size really buys.

Run with `./scripts/run` (or `streamlit run app.py` inside the virtual environment).
"""

import warnings

import streamlit as st

from ui.jobs_view import running_jobs_summary
from ui.state import current_dataset

# torch.ao.quantization and friends warn on import; the pages report what they measure instead.
warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\..*")
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\..*")

st.set_page_config(page_title="Tradeoff Lab", page_icon=":material/balance:", layout="wide")

PAGES = {
    "Compare models": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/data.py", title="Data", icon=":material/table_view:"),
        st.Page("pages/compare.py", title="Compare", icon=":material/bar_chart:"),
        st.Page("pages/compress.py", title="Compress", icon=":material/compress:"),
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("pages/language.py", title="Language models", icon=":material/text_fields:"),
    ],
    "Keep and share": [
        st.Page("pages/history.py", title="History", icon=":material/history:"),
    ],
    "Teach": [
        st.Page("pages/learn.py", title="Learn", icon=":material/school:"),
        st.Page("pages/scenarios.py", title="Scenarios", icon=":material/auto_stories:"),
    ],
}

page = st.navigation(PAGES)

with st.sidebar:
    dataset = current_dataset()
    st.markdown(f"**Dataset:** {dataset.name}" + (" (your CSV)" if dataset.name == "csv" else ""))
    st.caption(f"test fraction {dataset.test_fraction}, seed {dataset.seed} — change it on the Data page")
    running_jobs_summary()

page.run()
