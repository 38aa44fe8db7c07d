"""History: every stored run — filter, compare side by side, rename, tag, delete, re-run, export."""

import streamlit as st

from core.store import data_home
from ui.history_view import (SELECT_KEY, active_runs, compare_runs, filters, import_model, manage_run,
                             report_downloads, run_table)
from ui.state import current_dataset, run_store

st.title("History")
st.caption(f"Every comparison is stored in {data_home()} (set TRADEOFF_LAB_HOME to move it), "
           "with its settings, every figure, training curves, the environment and the model files.")
store = run_store()
active_runs(store)

runs = store.list_runs(**filters(store))
if not runs:
    st.info("No stored runs match. Run a comparison on Home or Compare, or import a model below.")
else:
    run_table(runs)
    by_id = {r.id: r for r in runs}
    if SELECT_KEY not in st.session_state:
        st.session_state[SELECT_KEY] = [runs[0].id]
    st.session_state[SELECT_KEY] = [i for i in st.session_state[SELECT_KEY] if i in by_id]
    chosen = st.multiselect("Runs to compare side by side", list(by_id), key=SELECT_KEY,
                            format_func=lambda i: f"{by_id[i].name} ({i}, {by_id[i].created_at[:10]})")
    if chosen:
        selected = [store.get_run(i) for i in chosen]
        st.header("Comparison" if len(selected) > 1 else selected[0].name)
        compare_runs(selected)
        st.subheader("Reports")
        report_downloads(selected)
        st.subheader("Manage")
        for run in selected:
            manage_run(store, run)
    else:
        st.caption("Pick one or more runs above to see their charts and files.")

st.divider()
dataset = current_dataset()
with st.expander(f"Import a model and evaluate it on {dataset.name} (the dataset chosen on the Data page)"):
    import_model(store, dataset)
