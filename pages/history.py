"""History: every stored run — filter, compare side by side, rename, tag, delete, re-run, export."""

import streamlit as st

from core.store import data_home
from ui.history_view import (SELECT_KEY, active_runs, compare_runs, filters, import_model, manage_run,
                             report_downloads, run_table)
from ui.i18n import t
from ui.state import current_dataset, run_store

st.title(t("history.title"))
st.caption(t("history.intro", home=data_home()))
store = run_store()
active_runs(store)

runs = store.list_runs(**filters(store))
if not runs:
    st.info(t("history.no_runs"))
else:
    run_table(runs)
    by_id = {r.id: r for r in runs}
    if SELECT_KEY not in st.session_state:
        st.session_state[SELECT_KEY] = [runs[0].id]
    st.session_state[SELECT_KEY] = [i for i in st.session_state[SELECT_KEY] if i in by_id]
    chosen = st.multiselect(t("history.runs_to_compare"), list(by_id), key=SELECT_KEY,
                            format_func=lambda i: f"{by_id[i].name} ({i}, {by_id[i].created_at[:10]})")
    if chosen:
        selected = [store.get_run(i) for i in chosen]
        st.header(t("history.comparison") if len(selected) > 1 else selected[0].name)
        compare_runs(selected)
        st.subheader(t("history.reports"))
        report_downloads(selected)
        st.subheader(t("history.manage"))
        for run in selected:
            manage_run(store, run)
    else:
        st.caption(t("history.pick_runs"))

st.divider()
dataset = current_dataset()
with st.expander(t("history.import", dataset=dataset.name)):
    import_model(store, dataset)
