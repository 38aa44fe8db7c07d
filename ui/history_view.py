"""History page helpers: filters, the run table, side-by-side comparison, run management, files."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from core import report
from core.artifacts import ImportRefused, load_stored_model, onnx_export
from core.export import figure_png, html_report, merged_records, metrics_csv, metrics_json, report_figures
from core.specs import DatasetSpec, ExperimentSpec, MeasureSpec
from core.store import Run, RunStore, RunSummary

from .results_view import TABLE_FORMATS, decision_panel
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
        st.subheader("Running now")
        for r in active:
            st.progress(r.progress, text=f"{r.name} — {r.status}: {r.message}")
            job = job_manager().job_for_run(r.id)
            if job is not None and st.button("Stop", key=f"hist-stop-{r.id}"):
                job_manager().stop(job.id)
            elif job is None:
                st.caption("Started by another process (the command line, or another server).")

    _live()


def filters(store: RunStore) -> dict:
    """Filter widgets; the keyword arguments for `RunStore.list_runs`."""
    values = store.facet_values()
    c = st.columns(6)
    out = {
        "dataset": c[0].selectbox("Dataset", [None, *values["dataset"]], format_func=_any, key="hf-ds"),
        "family": c[1].selectbox("Model family", [None, *values["family"]], format_func=_any, key="hf-fam"),
        "technique": c[2].selectbox("Technique", [None, *values["technique"]], format_func=_any,
                                    key="hf-tech"),
        "tag": c[3].selectbox("Tag", [None, *values["tag"]], format_func=_any, key="hf-tag"),
    }
    since = c[4].date_input("From", value=None, key="hf-since")
    until = c[5].date_input("To", value=None, key="hf-until")
    out["since"] = since.isoformat() if isinstance(since, date) else None
    out["until"] = until.isoformat() if isinstance(until, date) else None
    return out


def _any(value) -> str:
    return "any" if value is None else str(value)


def run_table(runs: list[RunSummary]) -> None:
    rows = [{"Run": r.id, "Name": r.name, "Created (UTC)": r.created_at[:19].replace("T", " "),
             "Status": r.status, "Dataset": r.dataset, "Models": r.n_candidates,
             "Best accuracy (%)": None if r.best_accuracy is None else round(100 * r.best_accuracy, 2),
             "Families": ", ".join(r.families), "Techniques": ", ".join(r.techniques),
             "Tags": ", ".join(r.tags)} for r in runs]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="hist-table",
                 column_config={"Best accuracy (%)": st.column_config.NumberColumn(format="%.2f")})


def compare_runs(runs: list[Run], key: str = "hist") -> None:
    """The Compare page's charts and table for the candidates of every selected run."""
    dicts = [r.to_dict() for r in runs]
    records = merged_records(dicts)
    for rec in records:
        if rec.get("status") == "failed":
            st.error(f"{rec['name']} did not run: {rec.get('error')}")
    done = report.measured(records)
    if not done:
        st.warning("No model finished in the selected runs, so there is nothing to compare.")
        return
    cols = st.columns(2)
    for i, metric in enumerate(("accuracy", "latency_ms_p50", "size_bytes", "n_params")):
        with cols[i % 2]:
            st.plotly_chart(report.metric_bar(done, metric), key=f"{key}-{metric}")
    x_axis = st.selectbox("Scatter x-axis", ["latency_ms_p50", "latency_ms_p95", "size_bytes",
                                             "peak_memory_bytes", "n_params", "train_seconds"],
                          format_func=lambda m: report.METRICS[m][0], key=f"{key}-x")
    fitting = decision_panel(done, key)
    st.plotly_chart(report.pareto_scatter(done, x=x_axis, highlight=fitting), key=f"{key}-scatter")
    if any((r.get("history") or {}).get("epochs") for r in done):
        st.plotly_chart(report.training_curves(done), key=f"{key}-curves")
    st.subheader("Every figure")
    st.dataframe(report.metrics_table(records), hide_index=True, column_config=TABLE_FORMATS)
    with st.expander("How these figures were measured"):
        for r in dicts:
            split = (r["dataset"] or {}).get("split") or {}
            st.markdown(f"**{r['name']}** ({r['id']}): {r['how_measured']}")
            st.caption(f"Data {r['dataset'].get('name')}: {r['dataset'].get('n_train')} training rows, "
                       f"{r['dataset'].get('n_test')} test rows, test fraction "
                       f"{split.get('test_fraction')}, seed {split.get('seed')}, stratified.")
            st.json(r["environment"], expanded=False)


def manage_run(store: RunStore, run: Run) -> None:
    """Rename, tag, delete (with confirmation), re-run, and the run's model files."""
    s = run.summary
    with st.expander(f"{s.name} — {s.id}, {s.status}, {s.created_at[:16].replace('T', ' ')} UTC"):
        c1, c2 = st.columns(2)
        name = c1.text_input("Name", s.name, key=f"name-{s.id}")
        tags = c2.text_input("Tags (comma-separated)", ", ".join(s.tags), key=f"tags-{s.id}")
        b1, b2, b3 = st.columns(3)
        if b1.button("Save name and tags", key=f"save-{s.id}"):
            try:
                store.rename(s.id, name)
                store.set_tags(s.id, [t for t in tags.split(",") if t.strip()])
                st.rerun()
            except ValueError as exc:
                st.error(str(exc))
        if b2.button("Re-run from its settings", key=f"rerun-{s.id}", disabled=s.kind != "experiment"):
            _rerun(run)
        confirm_key = f"confirm-delete-{s.id}"
        if b3.button("Delete…", key=f"delete-{s.id}", disabled=s.active,
                     help="Stop a running job before deleting its run." if s.active else None):
            st.session_state[confirm_key] = True
        if st.session_state.get(confirm_key):
            st.warning(f"Delete run **{s.name}** and its {len(run.artifacts)} model files? This cannot be undone.")
            y, n = st.columns(2)
            if y.button("Yes, delete it", key=f"yes-delete-{s.id}", type="primary"):
                store.delete(s.id)
                st.session_state.pop(confirm_key)
                st.rerun()
            if n.button("Cancel", key=f"no-delete-{s.id}"):
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
        st.error(f"The stored settings no longer validate, so the run cannot be repeated: {exc}")
        return
    submit("history-rerun", f"Re-run of {run.name}",
           lambda p, s: run_experiment(spec, p, s, cache=model_cache()), spec=spec)
    st.toast("Re-run started: it shows under Running now, then in the table.")


def _artifact_buttons(store: RunStore, run: Run) -> None:
    names = {i: rec["name"] for i, rec in enumerate(run.records)}
    if not run.artifacts:
        st.caption("No model files stored for this run.")
    for ref in run.artifacts:
        extra = ""
        if ref.role == "onnx" and ref.meta.get("check"):
            chk, m = ref.meta["check"], ref.meta.get("metrics") or {}
            extra = (f" — ONNX parity: {chk['prediction_agreement']:.0%} same class, max logit "
                     f"difference {chk['max_abs_logit_diff']:.1e} (tolerance {chk['tolerance']:.0e}); "
                     f"latency p50 {m.get('latency_ms_p50', float('nan')):.3f} ms")
        st.download_button(f"{names.get(ref.idx, ref.idx)}: {ref.filename} ({ref.size_bytes:,} bytes){extra}",
                           data=ref.read_verified, file_name=f"{run.id}-{ref.idx}-{ref.filename}",
                           key=f"dl-{run.id}-{ref.idx}-{ref.filename}")
        for note in ref.meta.get("notes", []):
            st.caption(note)
    neural = sorted({a.idx for a in run.artifacts if a.filename == "model.safetensors"} -
                    {a.idx for a in run.artifacts if a.role == "onnx"})
    if neural and st.button("Export the torch models to ONNX (checked with onnxruntime)", key=f"onnx-{run.id}"):
        _export_onnx(store, run, neural)
    elif any(a.filename == "model.skops" for a in run.artifacts):
        st.caption("scikit-learn models are saved with skops only: ONNX export needs skl2onnx, "
                   "which is not installed.")


def _export_onnx(store: RunStore, run: Run, indices: list[int]) -> None:
    data = load_dataset(DatasetSpec.from_dict(run.spec["dataset"]))
    measure = MeasureSpec.from_dict(run.spec.get("measure") or {})
    for idx in indices:
        with st.spinner(f"Exporting and measuring {run.records[idx]['name']}…"):
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
    c1, c2, c3 = st.columns(3)
    c1.download_button("Download report (HTML)", data=lambda: html_report(dicts), file_name=f"{stem}.html",
                       mime="text/html", key="dl-report-html", type="primary",
                       help="One self-contained file: charts work offline; settings, how it was "
                            "measured and the environment included.")
    c2.download_button("Metrics (CSV)", data=lambda: metrics_csv(dicts), file_name=f"{stem}.csv",
                       mime="text/csv", key="dl-report-csv")
    c3.download_button("Metrics (JSON)", data=lambda: metrics_json(dicts), file_name=f"{stem}.json",
                       mime="application/json", key="dl-report-json")
    figs = dict(report_figures(dicts))
    if figs:
        p1, p2 = st.columns([3, 1])
        chart = p1.selectbox("Chart as PNG", list(figs), key="png-chart")
        if p2.button("Render PNG", key="png-render"):
            try:
                st.session_state["png-bytes"] = (chart, figure_png(figs[chart]))
            except RuntimeError as exc:
                st.error(str(exc))
        rendered = st.session_state.get("png-bytes")
        if rendered and rendered[0] == chart:
            p2.download_button("Download PNG", data=rendered[1], file_name=f"{stem}-chart.png",
                               mime="image/png", key="dl-png")


def import_model(store: RunStore, dataset: DatasetSpec) -> None:
    """Upload a model (names are never used; content decides the format) and measure it."""
    from core.artifacts import UntrustedTypesError, evaluate_import, load_model_files

    files = st.file_uploader("Model file: ONNX or skops, or safetensors plus its architecture JSON",
                             accept_multiple_files=True, key="imp-files")
    untrusted = st.session_state.get("imp-untrusted", [])
    approved = st.multiselect("Approve these types the skops file needs (only if you trust its source)",
                              untrusted, key="imp-approve") if untrusted else []
    name = st.text_input("Name", "Imported model", key="imp-name")
    if not st.button(f"Evaluate on {dataset.name}", key="imp-go", disabled=not files):
        return
    try:
        imported = load_model_files([f.getvalue() for f in files], approved)
        with st.spinner("Measuring with the shared harness…"):
            result = evaluate_import(imported, dataset, MeasureSpec(), name=name)
    except UntrustedTypesError as exc:
        st.session_state["imp-untrusted"] = exc.types
        st.warning(str(exc) + " Tick them above to approve, then evaluate again.")
        return
    except ValueError as exc:  # ImportRefused and DataError: the message says what to do
        st.error(str(exc))
        return
    st.session_state.pop("imp-untrusted", None)
    run_id = store.record(result, name=f"{name} on {dataset.name}", kind="import")
    st.success(f"Stored as run {run_id}: select it above to compare it with other runs on {dataset.name}.")
