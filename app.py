"""Tradeoff Lab: see what model size really buys.

Run with `scripts/run` (or `streamlit run app.py` inside the virtual environment).
"""

import warnings

import streamlit as st

from ui.i18n import language_switch, t
from ui.jobs_view import running_jobs_summary
from ui.state import current_dataset, show_data_dir_error, show_store_problem

# torch.ao.quantization and friends warn on import; the pages report what they measure instead.
warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\..*")
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\..*")

st.set_page_config(page_title="Tradeoff Lab", page_icon=":material/balance:", layout="wide")

with st.sidebar:
    language_switch()

PAGES = {
    t("app.section_compare"): [
        st.Page("pages/home.py", title=t("app.page_home"), icon=":material/home:", default=True),
        st.Page("pages/data.py", title=t("app.page_data"), icon=":material/table_view:"),
        st.Page("pages/compare.py", title=t("app.page_compare"), icon=":material/bar_chart:"),
        st.Page("pages/verdict.py", title=t("app.page_verdict"), icon=":material/psychology:"),
        st.Page("pages/compress.py", title=t("app.page_compress"), icon=":material/compress:"),
        st.Page("pages/train.py", title=t("app.page_train"), icon=":material/model_training:"),
        st.Page("pages/language.py", title=t("app.page_language"), icon=":material/text_fields:"),
    ],
    t("app.section_keep"): [
        st.Page("pages/history.py", title=t("app.page_history"), icon=":material/history:"),
    ],
    t("app.section_teach"): [
        st.Page("pages/learn.py", title=t("app.page_learn"), icon=":material/school:"),
        st.Page("pages/scenarios.py", title=t("app.page_scenarios"), icon=":material/auto_stories:"),
    ],
}

page = st.navigation(PAGES)

# A read-only or full data directory is said at the top of every page, not shown as a traceback.
store_open = show_store_problem()

with st.sidebar:
    dataset = current_dataset()
    st.markdown(t("app.sidebar_dataset", name=dataset.name)
                + (t("app.sidebar_your_csv") if dataset.name == "csv" else ""))
    st.caption(t("app.sidebar_split", fraction=dataset.test_fraction, seed=dataset.seed))
    if store_open:
        running_jobs_summary()

try:
    page.run()
except Exception as exc:
    if not show_data_dir_error(exc):
        raise
