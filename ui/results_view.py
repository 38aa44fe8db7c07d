"""Drawing a comparison: four metric charts, the trade-off scatter, the full table, and how."""

from __future__ import annotations

import streamlit as st

from core import report
from core.experiment import ExperimentResult
from core.recommend import Budget, recommend


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
    d = result.dataset
    st.caption(f"Results on **{d['name']}**: {d['n_train']} training rows, {d['n_test']} test rows, "
               f"{d['n_features']} features, {d['n_classes']} classes.")
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
    fitting = decision_panel(done, key)
    st.plotly_chart(report.pareto_scatter(done, x=x_axis, highlight=fitting), key=f"{key}-scatter")
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


def decision_panel(done: list[dict], key: str) -> set[str]:
    """Budget sliders and the recommendation they lead to; returns the models within budget."""
    st.subheader("Decide")
    lat = [r["latency_ms_p50"] for r in done]
    size_kb = [r["size_bytes"] / 1024 for r in done]
    c1, c2, c3, c4 = st.columns(4)
    max_lat = c1.slider("Max latency p50 (ms)", 0.0, _ceil(max(lat)), _ceil(max(lat)), _ceil(max(lat)) / 200,
                        key=f"{key}-maxlat", format="%.3f")
    max_kb = c2.slider("Max saved size (KB)", 0.0, _ceil(max(size_kb)), _ceil(max(size_kb)),
                       _ceil(max(size_kb)) / 200, key=f"{key}-maxsize", format="%.1f")
    min_acc = c3.slider("Min accuracy (%)", 0.0, 100.0, 0.0, 0.5, key=f"{key}-minacc")
    tol = c4.slider("Accuracy you would trade (points)", 0.0, 5.0, 1.0, 0.1, key=f"{key}-tol",
                    help="A cheaper model within this many points of the best that fits is preferred.")
    rec = recommend(done, Budget(max_lat, max_kb * 1024, min_acc / 100, tol))
    (st.success if rec.name else st.warning)(f"**Recommendation.** {rec.sentence}")
    st.caption(f"Within budget: {', '.join(rec.fitting) or 'none'}. Pareto frontier (latency against "
               f"accuracy): {', '.join(rec.frontier)}. Figures as measured above.")
    return set(rec.fitting)


def _ceil(x: float) -> float:
    """A slider bound a little above ``x`` with two significant digits."""
    import math

    if x <= 0:
        return 1.0
    magnitude = 10 ** (math.floor(math.log10(x)) - 1)
    return float(math.ceil(x * 1.05 / magnitude) * magnitude)
