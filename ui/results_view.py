"""Drawing a comparison: four metric charts, the trade-off scatter, the full table, and how."""

from __future__ import annotations

import streamlit as st

from core import report
from core.experiment import ExperimentResult


_NUM = st.column_config.NumberColumn
TABLE_FORMATS = {
    "Accuracy (%)": _NUM(format="%.2f"), "Macro-F1 (%)": _NUM(format="%.2f"),
    "Latency p50 (ms)": _NUM(format="%.3f"), "Latency p95 (ms)": _NUM(format="%.3f"),
    "Throughput (rows/s)": _NUM(format="localized"), "Saved size (bytes)": _NUM(format="localized"),
    "Model memory (bytes)": _NUM(format="localized"), "Peak memory (bytes)": _NUM(format="localized"),
    "Parameters": _NUM(format="localized"), "Non-zero parameters": _NUM(format="localized"),
    "Train time (s)": _NUM(format="%.2f"),
}


def show_results(result: ExperimentResult, key: str = "results") -> None:
    records = [r.to_record() for r in result.results]
    _show_problems(result)
    done = report.measured(records)
    if not done:
        st.warning("No model finished, so there is nothing to compare yet.")
        return
    cols = st.columns(2)
    for i, metric in enumerate(("accuracy", "latency_ms_p50", "size_bytes", "n_params")):
        with cols[i % 2]:
            st.plotly_chart(report.metric_bar(done, metric), key=f"{key}-{metric}")
    c1, c2 = st.columns(2)
    x_axis = c1.selectbox("Scatter x-axis", ["latency_ms_p50", "latency_ms_p95", "size_bytes",
                                             "peak_memory_bytes", "n_params", "train_seconds"],
                          format_func=lambda m: report.METRICS[m][0], key=f"{key}-x")
    c2.caption("The dashed line is the Pareto frontier: no other model is both faster (or smaller) "
               "and more accurate than the models on it.")
    st.plotly_chart(report.pareto_scatter(done, x=x_axis), key=f"{key}-scatter")
    if any(r.get("history") for r in done):
        st.plotly_chart(report.training_curves(done), key=f"{key}-curves")
    st.subheader("Every figure")
    st.dataframe(report.metrics_table(records), hide_index=True, column_config=TABLE_FORMATS)
    with st.expander("How these figures were measured"):
        st.write(result.how_measured)
        st.write(f"Split: {result.dataset['n_train']} training rows, {result.dataset['n_test']} test rows "
                 f"(test fraction {result.dataset['split']['test_fraction']}, seed "
                 f"{result.dataset['split']['seed']}, stratified by class).")
        st.json(result.environment, expanded=False)
        for r in done:
            st.caption(f"{r['name']}: parameters counted as {r['params_definition']}.")


def _show_problems(result: ExperimentResult) -> None:
    if result.cancelled:
        st.warning("The run was stopped; the models that finished are shown.")
    for r in result.results:
        if r.status == "failed":
            st.error(f"{r.name} did not run: {r.error}")
        for note in r.notes:
            st.info(f"{r.name}: {note}")
