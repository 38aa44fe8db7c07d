"""History page helpers: filters, the run table, side-by-side comparison, run management, files."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from core import report
from core.artifacts import ImportRefused, load_stored_model, onnx_export
from core.export import figure_png, html_report, merged_records, metrics_csv, metrics_json, report_figures
from core.measure import how_measured_in
from core.specs import DatasetSpec, ExperimentSpec, MeasureSpec
from core.store import Run, RunStore, RunSummary

from .i18n import language, note_text, t
from .results_view import decision_panel, table_formats
from .state import job_manager, load_dataset

POLL_SECONDS = 1.0
SELECT_KEY = "hist-select"  # the multiselect of runs to compare (the page owns the widget)


def active_runs(store: RunStore) -> None:
    """Runs still queued or running, in this server or any other process, with their progress."""
    if not store.list_runs(status=("queued", "running"), limit=1):
        return

    @st.fragment(run_every=POLL_SECONDS)
    def _live() -> None:
        active = store.list_runs(status=("queued", "running"))
        if not active:
            st.rerun()  # something finished: redraw the table with it
        st.subheader(t("history.running_now"))
        for r in active:
            st.progress(r.progress, text=t("history.progress", name=r.name, status=_status(r.status),
                                            message=r.message))
            job = job_manager().job_for_run(r.id)
            if job is not None and st.button(t("history.stop"), key=f"hist-stop-{r.id}"):
                job_manager().stop(job.id)
            elif job is None:
                st.caption(t("history.elsewhere"))

    _live()


def filters(store: RunStore) -> dict:
    """Filter widgets; the keyword arguments for `RunStore.list_runs`."""
    values = store.facet_values()
    c = st.columns(6)
    out = {
        "dataset": c[0].selectbox(t("history.filter_dataset"), [None, *values["dataset"]], format_func=_any,
                                  key="hf-ds"),
        "family": c[1].selectbox(t("history.filter_family"), [None, *values["family"]], format_func=_any,
                                 key="hf-fam"),
        "technique": c[2].selectbox(t("history.filter_technique"), [None, *values["technique"]],
                                    format_func=_any, key="hf-tech"),
        "tag": c[3].selectbox(t("history.filter_tag"), [None, *values["tag"]], format_func=_any,
                              key="hf-tag"),
    }
    since = c[4].date_input(t("history.filter_from"), value=None, key="hf-since")
    until = c[5].date_input(t("history.filter_to"), value=None, key="hf-until")
    out["since"] = since.isoformat() if isinstance(since, date) else None
    out["until"] = until.isoformat() if isinstance(until, date) else None
    return out


def _any(value) -> str:
    return t("history.any") if value is None else str(value)


def _status(status: str) -> str:
    """A run's status in the page's language (an unknown one as stored)."""
    return {"queued": t("history.status_queued"), "running": t("history.status_running"),
            "done": t("history.status_done"), "failed": t("history.status_failed"),
            "cancelled": t("history.status_cancelled"),
            "interrupted": t("history.status_interrupted")}.get(status, status)


def run_table(runs: list[RunSummary]) -> None:
    best = t("history.col_best_accuracy")
    rows = [{t("history.col_run"): r.id, t("history.col_name"): r.name,
             t("history.col_created"): r.created_at[:19].replace("T", " "),
             t("history.col_status"): _status(r.status), t("history.col_dataset"): r.dataset,
             t("history.col_models"): r.n_candidates,
             best: None if r.best_accuracy is None else round(100 * r.best_accuracy, 2),
             t("history.col_families"): ", ".join(r.families),
             t("history.col_techniques"): ", ".join(r.techniques),
             t("history.col_tags"): ", ".join(r.tags)} for r in runs]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="hist-table",
                 column_config={best: st.column_config.NumberColumn(format="%.2f")})


def compare_runs(runs: list[Run], key: str = "hist") -> None:
    """The Compare page's charts and table for the candidates of every selected run."""
    dicts = [r.to_dict() for r in runs]
    records = merged_records(dicts)
    for rec in records:
        if rec.get("status") == "failed":
            st.error(t("history.did_not_run", name=rec["name"], error=note_text(rec.get("error"))))
    lang = language()
    done = report.measured(records)
    if not done:
        st.warning(t("history.nothing"))
        return
    # Language models are judged by bits per character; accuracy budgets do not apply to them.
    language_models = all(r.get("bits_per_char") is not None for r in done)
    cols = st.columns(2)
    for i, metric in enumerate(("bits_per_char" if language_models else "accuracy", "latency_ms_p50",
                                "size_bytes", "n_params")):
        with cols[i % 2]:
            st.plotly_chart(report.metric_bar(done, metric, lang=lang), key=f"{key}-{metric}")
    if not language_models:
        _frontier(done, key, lang)
    st.subheader(t("history.every_figure"))
    st.dataframe(report.metrics_table(records, lang), hide_index=True, column_config=table_formats(lang))
    with st.expander(t("history.how_measured")):
        for r in dicts:
            split = (r["dataset"] or {}).get("split") or {}
            split = split if isinstance(split, dict) else {}  # a text corpus describes its split in words
            st.markdown(f"**{r['name']}** ({r['id']}): {how_measured_in(r['how_measured'], lang)}")
            ds = r["dataset"]
            st.caption(t("history.data_split", name=ds.get("name"), n_train=ds.get("n_train"),
                         n_test=ds.get("n_test"), fraction=split.get("test_fraction"), seed=split.get("seed")))
            st.json(r["environment"], expanded=False)


def _frontier(done: list[dict], key: str, lang: str) -> None:
    """Accuracy against a chosen cost with the Pareto frontier and budgets; training curves."""
    x_axis = st.selectbox(t("history.scatter_x"), ["latency_ms_p50", "latency_ms_p95", "size_bytes",
                                                   "peak_memory_bytes", "n_params", "train_seconds"],
                          format_func=lambda m: report.metric_title(m, lang), key=f"{key}-x")
    fitting = decision_panel(done, key)
    st.plotly_chart(report.pareto_scatter(done, x=x_axis, highlight=fitting, lang=lang), key=f"{key}-scatter")
    if any((r.get("history") or {}).get("epochs") for r in done):
        st.plotly_chart(report.training_curves(done, lang=lang), key=f"{key}-curves")


def manage_run(store: RunStore, run: Run) -> None:
    """Rename, tag, delete (with confirmation), re-run, and the run's model files."""
    s = run.summary
    with st.expander(t("history.run_title", name=s.name, id=s.id, status=_status(s.status),
                       created=s.created_at[:16].replace("T", " "))):
        c1, c2 = st.columns(2)
        name = c1.text_input(t("history.name"), s.name, key=f"name-{s.id}")
        tags = c2.text_input(t("history.tags"), ", ".join(s.tags), key=f"tags-{s.id}")
        b1, b2, b3 = st.columns(3)
        if b1.button(t("history.save"), key=f"save-{s.id}"):
            try:
                store.rename(s.id, name)
                store.set_tags(s.id, [tag for tag in tags.split(",") if tag.strip()])
                st.rerun()
            except ValueError as exc:
                st.error(str(exc))
        if b2.button(t("history.rerun"), key=f"rerun-{s.id}", disabled=s.kind != "experiment"):
            _rerun(run)
        confirm_key = f"confirm-delete-{s.id}"
        if b3.button(t("history.delete"), key=f"delete-{s.id}", disabled=s.active,
                     help=t("history.delete_help") if s.active else None):
            st.session_state[confirm_key] = True
        if st.session_state.get(confirm_key):
            st.warning(t("history.confirm_delete", name=s.name, n=len(run.artifacts)))
            y, n = st.columns(2)
            if y.button(t("history.yes_delete"), key=f"yes-delete-{s.id}", type="primary"):
                store.delete(s.id)
                st.session_state.pop(confirm_key)
                st.rerun()
            if n.button(t("history.cancel"), key=f"no-delete-{s.id}"):
                st.session_state.pop(confirm_key)
                st.rerun()
        _artifact_buttons(store, run)


def _rerun(run: Run) -> None:
    from core.experiment import run as run_experiment

    from .jobs_view import submit
    from .state import model_cache

    try:
        spec = ExperimentSpec.from_dict(run.spec)
    except (ValueError, TypeError) as exc:
        st.error(t("history.spec_invalid", error=exc))
        return
    submit("history-rerun", t("history.rerun_job", name=run.name),
           lambda p, s: run_experiment(spec, p, s, cache=model_cache()), spec=spec)
    st.toast(t("history.rerun_started"))


def _artifact_buttons(store: RunStore, run: Run) -> None:
    names = {i: rec["name"] for i, rec in enumerate(run.records)}
    if not run.artifacts:
        st.caption(t("history.no_files"))
    for ref in run.artifacts:
        extra = ""
        if ref.role == "onnx" and ref.meta.get("check"):
            chk, m = ref.meta["check"], ref.meta.get("metrics") or {}
            extra = " — " + t("history.onnx_parity", agreement=f"{chk['prediction_agreement']:.0%}",
                                diff=f"{chk['max_abs_logit_diff']:.1e}", tolerance=f"{chk['tolerance']:.0e}",
                                latency=f"{m.get('latency_ms_p50', float('nan')):.3f}")
        st.download_button(t("history.file", name=names.get(ref.idx, ref.idx), filename=ref.filename,
                             size=f"{ref.size_bytes:,}", extra=extra),
                           data=ref.read_verified, file_name=f"{run.id}-{ref.idx}-{ref.filename}",
                           key=f"dl-{run.id}-{ref.idx}-{ref.filename}")
        for note in ref.meta.get("notes", []):
            st.caption(note_text(note))
    neural = sorted({a.idx for a in run.artifacts if a.filename == "model.safetensors"} -
                    {a.idx for a in run.artifacts if a.role == "onnx"})
    if neural and st.button(t("history.export_onnx"), key=f"onnx-{run.id}"):
        _export_onnx(store, run, neural)
    elif any(a.filename == "model.skops" for a in run.artifacts):
        st.caption(t("history.skops_only"))


def _export_onnx(store: RunStore, run: Run, indices: list[int]) -> None:
    data = load_dataset(DatasetSpec.from_dict(run.spec["dataset"]))
    measure = MeasureSpec.from_dict(run.spec.get("measure") or {})
    for idx in indices:
        with st.spinner(t("history.exporting", name=run.records[idx]["name"])):
            try:
                exported = onnx_export(load_stored_model(run.artifacts, idx), data.X_test, data.y_test, measure)
            except (ImportRefused, ValueError) as exc:
                st.error(f"{run.records[idx]['name']}: {exc}")
                continue
        if exported.available:
            store.add_artifact(run.id, idx, "model.onnx", exported.onnx_bytes, role="onnx",
                               meta=exported.to_dict())
        else:
            st.warning(f"{run.records[idx]['name']}: {exported.reason}")
    st.rerun()


def report_downloads(runs: list[Run]) -> None:
    """The report (HTML), the metrics (CSV, JSON) and any chart as PNG, for the selected runs."""
    dicts = [r.to_dict() for r in runs]
    stem = "tradeoff-lab-" + "-".join(r.id for r in runs[:4])
    lang = language()
    c1, c2, c3 = st.columns(3)
    c1.download_button(t("history.report_html"), data=lambda: html_report(dicts, lang=lang),
                       file_name=f"{stem}.html", mime="text/html", key="dl-report-html", type="primary",
                       help=t("history.report_html_help"))
    c2.download_button(t("history.metrics_csv"), data=lambda: metrics_csv(dicts), file_name=f"{stem}.csv",
                       mime="text/csv", key="dl-report-csv")
    c3.download_button(t("history.metrics_json"), data=lambda: metrics_json(dicts), file_name=f"{stem}.json",
                       mime="application/json", key="dl-report-json")
    figs = dict(report_figures(dicts, lang))
    if figs:
        p1, p2 = st.columns([3, 1])
        chart = p1.selectbox(t("history.chart_png"), list(figs), key="png-chart")
        if p2.button(t("history.render_png"), key="png-render"):
            try:
                st.session_state["png-bytes"] = (chart, figure_png(figs[chart]))
            except RuntimeError as exc:
                st.error(str(exc))
        rendered = st.session_state.get("png-bytes")
        if rendered and rendered[0] == chart:
            p2.download_button(t("history.download_png"), data=rendered[1], file_name=f"{stem}-chart.png",
                               mime="image/png", key="dl-png")


def import_model(store: RunStore, dataset: DatasetSpec) -> None:
    """Upload a model (names are never used; content decides the format) and measure it."""
    from core.artifacts import UntrustedTypesError, evaluate_import, load_model_files

    files = st.file_uploader(t("history.model_files"), accept_multiple_files=True, key="imp-files")
    untrusted = st.session_state.get("imp-untrusted", [])
    approved = st.multiselect(t("history.approve_types"), untrusted, key="imp-approve") if untrusted else []
    name = st.text_input(t("history.name"), t("history.imported_model"), key="imp-name")
    if not st.button(t("history.evaluate", dataset=dataset.name), key="imp-go", disabled=not files):
        return
    try:
        imported = load_model_files([f.getvalue() for f in files], approved)
        with st.spinner(t("history.measuring")):
            result = evaluate_import(imported, dataset, MeasureSpec(), name=name)
    except UntrustedTypesError as exc:
        st.session_state["imp-untrusted"] = exc.types
        st.warning(t("history.approve_then_retry", error=exc))
        return
    except ValueError as exc:  # ImportRefused and DataError: the message says what to do
        st.error(str(exc))
        return
    st.session_state.pop("imp-untrusted", None)
    run_id = store.record(result, name=t("history.import_run_name", name=name, dataset=dataset.name),
                          kind="import")
    st.success(t("history.stored", id=run_id, dataset=dataset.name))
