"""Drawing a comparison: four metric charts, the trade-off scatter, the full table, and how."""

from __future__ import annotations

import streamlit as st

from core import report
from core.experiment import ExperimentResult
from core.measure import how_measured_in
from core.recommend import Budget, recommend

from .i18n import language, note_text, t


_NUM = st.column_config.NumberColumn
_FORMATS = {  # record key -> number format of its column
    "accuracy": "%.2f", "f1_macro": "%.2f", "latency_ms_p50": "%.3f", "latency_ms_p95": "%.3f",
    "throughput_sps": "localized", "size_bytes": "localized", "memory_bytes": "localized",
    "peak_memory_bytes": "localized", "n_params": "localized", "n_nonzero_params": "localized",
    "train_seconds": "%.2f",
}


def table_formats(lang: str = "en") -> dict:
    """Column formats of `report.metrics_table` in ``lang``, keyed by its headers."""
    titles = report.column_titles(lang)
    return {titles[key]: _NUM(format=fmt) for key, fmt in _FORMATS.items()}


TABLE_FORMATS = table_formats("en")


def show_results(result: ExperimentResult, key: str = "results") -> None:
    records = [r.to_record() for r in result.results]
    lang = language()
    d = result.dataset
    st.caption(t("results.caption", name=d["name"], n_train=d["n_train"], n_test=d["n_test"],
                 n_features=d["n_features"], n_classes=d["n_classes"]))
    _show_problems(result)
    done = report.measured(records)
    if not done:
        st.warning(t("results.nothing"))
        return
    cols = st.columns(2)
    for i, metric in enumerate(("accuracy", "latency_ms_p50", "size_bytes", "n_params")):
        with cols[i % 2]:
            st.plotly_chart(report.metric_bar(done, metric, lang=lang), key=f"{key}-{metric}")
    c1, c2 = st.columns(2)
    x_axis = c1.selectbox(t("results.scatter_x"), ["latency_ms_p50", "latency_ms_p95", "size_bytes",
                                             "peak_memory_bytes", "n_params", "train_seconds"],
                          format_func=lambda m: report.metric_title(m, lang), key=f"{key}-x")
    c2.caption(t("results.frontier_help"))
    fitting = decision_panel(done, key)
    st.plotly_chart(report.pareto_scatter(done, x=x_axis, highlight=fitting, lang=lang),
                    key=f"{key}-scatter")
    if any(r.get("history") for r in done):
        st.plotly_chart(report.training_curves(done, lang=lang), key=f"{key}-curves")
    st.subheader(t("results.every_figure"))
    st.dataframe(report.metrics_table(records, lang), hide_index=True, column_config=table_formats(lang))
    with st.expander(t("results.how_measured")):
        st.write(how_measured_in(result.how_measured, lang))
        st.write(t("results.split", n_train=d["n_train"], n_test=d["n_test"],
                   fraction=d["split"]["test_fraction"], seed=d["split"]["seed"]))
        st.json(result.environment, expanded=False)
        for r in done:
            st.caption(t("results.params_counted", name=r["name"], definition=r["params_definition"]))


def _show_problems(result: ExperimentResult) -> None:
    if result.cancelled:
        st.warning(t("results.stopped"))
    for r in result.results:
        if r.status == "failed":
            st.error(t("results.did_not_run", name=r.name, error=note_text(r.error)))
        for note in r.notes:
            st.info(f"{r.name}: {note_text(note)}")


def decision_panel(done: list[dict], key: str) -> set[str]:
    """Budget sliders and the recommendation they lead to; returns the models within budget."""
    st.subheader(t("results.decide"))
    lat = [r["latency_ms_p50"] for r in done]
    size_kb = [r["size_bytes"] / 1024 for r in done]
    c1, c2, c3, c4 = st.columns(4)
    max_lat = c1.slider(t("results.max_latency"), 0.0, _ceil(max(lat)), _ceil(max(lat)), _ceil(max(lat)) / 200,
                        key=f"{key}-maxlat", format="%.3f")
    max_kb = c2.slider(t("results.max_size"), 0.0, _ceil(max(size_kb)), _ceil(max(size_kb)),
                       _ceil(max(size_kb)) / 200, key=f"{key}-maxsize", format="%.1f")
    min_acc = c3.slider(t("results.min_accuracy"), 0.0, 100.0, 0.0, 0.5, key=f"{key}-minacc")
    tol = c4.slider(t("results.tolerance"), 0.0, 5.0, 1.0, 0.1, key=f"{key}-tol",
                    help=t("results.tolerance_help"))
    rec = recommend(done, Budget(max_lat, max_kb * 1024, min_acc / 100, tol), lang=language())
    (st.success if rec.name else st.warning)(t("results.recommendation", sentence=rec.sentence))
    st.caption(t("results.within_budget", fitting=", ".join(rec.fitting) or t("results.none"),
                 frontier=", ".join(rec.frontier)))
    return set(rec.fitting)


def _ceil(x: float) -> float:
    """A slider bound a little above ``x`` with two significant digits."""
    import math

    if x <= 0:
        return 1.0
    magnitude = 10 ** (math.floor(math.log10(x)) - 1)
    return float(math.ceil(x * 1.05 / magnitude) * magnitude)
