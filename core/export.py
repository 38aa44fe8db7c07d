"""Reports that travel: a self-contained HTML report, CSV and JSON of the metrics, PNG charts.

Input is one or more runs as plain dicts (`core.store.Run.to_dict()`, or
`ExperimentResult.to_dict()` for a run not stored yet); the charts come from `core.report`, so
a report shows what the Compare and History pages show.
"""

from __future__ import annotations

import csv
import html
import io
import json
import warnings
from datetime import datetime, timezone
from typing import Sequence

import plotly.graph_objects as go

from . import report

# Flat columns of the CSV, identity first; units are in the names (rule 5 of DESIGN.md).
CSV_IDENTITY = ("run_id", "run_name", "dataset", "name", "family", "kind", "status", "parent")
_NOT_FLAT = ("history", "settings", "steps", "nominal", "notes")

KALEIDO_BROWSER = "/usr/bin/chromium"


def merged_records(runs: Sequence[dict]) -> list[dict]:
    """Every candidate record of ``runs``, named so that records of different runs stay apart."""
    prefix = len(runs) > 1
    out = []
    for i, run in enumerate(runs):
        label = run.get("name") or run.get("id") or f"run {i + 1}"
        for rec in run.get("records", []):
            out.append({**rec, "name": f"{label} · {rec['name']}" if prefix else rec["name"],
                        "run_id": run.get("id"), "run_name": run.get("name")})
    return out


def report_figures(runs: Sequence[dict]) -> list[tuple[str, go.Figure]]:
    """The trade-off charts of a report, by caption: bars, Pareto scatters, training curves."""
    records = report.measured(merged_records(runs))
    if not records:
        return []
    figs = [(report.METRICS[m][0], report.metric_bar(records, m))
            for m in ("accuracy", "latency_ms_p50", "throughput_sps", "size_bytes", "n_params",
                      "peak_memory_bytes")]
    figs.append(("Accuracy against latency", report.pareto_scatter(records, x="latency_ms_p50")))
    figs.append(("Accuracy against saved size", report.pareto_scatter(records, x="size_bytes")))
    if any((r.get("history") or {}).get("epochs") for r in records):
        figs.append(("Training curves", report.training_curves(records)))
    return figs


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;
color:#222;padding:0 1rem}h1{margin-bottom:.2rem}table{border-collapse:collapse;font-size:.85rem;
margin:.5rem 0 1.5rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}.chart{margin:1rem 0}
pre{background:#f7f7f7;padding:.75rem;overflow-x:auto;font-size:.8rem}.muted{color:#666}
"""


def _table(rows: list[dict]) -> str:
    if not rows:
        return "<p class='muted'>none</p>"
    cols = list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(r.get(c)))}</td>" for c in cols) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def html_report(runs: Sequence[dict], title: str = "Tradeoff Lab report") -> str:
    """One self-contained HTML page: works offline, with a single copy of plotly.js."""
    figs = report_figures(runs)
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>",
             f"<p class='muted'>Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC} from "
             f"{len(runs)} run(s): " + ", ".join(html.escape(f"{r.get('name') or ''} ({r.get('id') or 'unsaved'})")
                                                for r in runs) + "</p>"]
    parts.append("<h2>Trade-offs</h2>")
    if not figs:
        parts.append("<p>No model finished in these runs, so there is nothing to chart.</p>")
    for i, (caption, fig) in enumerate(figs):
        # plotly.js is embedded once, with the first chart; the others reuse it.
        div = fig.to_html(full_html=False, include_plotlyjs=(i == 0), div_id=f"chart-{i}",
                          config={"displaylogo": False, "responsive": True})
        parts.append(f"<div class='chart' data-caption='{html.escape(caption)}'>{div}</div>")
    parts.append("<h2>Every figure</h2>")
    table = report.metrics_table(merged_records(runs))
    parts.append(table.to_html(index=False, na_rep="", escape=True, float_format=lambda v: f"{v:.6g}")
                 if not table.empty else "<p>No records.</p>")
    for run in runs:
        parts.append(_run_section(run))
    parts.append("</body></html>")
    return "\n".join(parts)


def _run_section(run: dict) -> str:
    name = html.escape(str(run.get("name") or run.get("id") or "run"))
    out = [f"<h2>Run: {name}</h2>"]
    meta = {k: run.get(k) for k in ("id", "status", "created_at", "finished_at") if run.get(k)}
    if run.get("tags"):
        meta["tags"] = ", ".join(run["tags"])
    if meta:
        out.append(_table([meta]))
    ds = run.get("dataset") or {}
    split = ds.get("split") or {}
    out.append("<h3>How it was measured</h3>")
    out.append(f"<p>{html.escape(run.get('how_measured') or 'not recorded')}</p>")
    if ds:
        out.append(f"<p>Data: {html.escape(str(ds.get('name')))}, {ds.get('n_train')} training rows, "
                   f"{ds.get('n_test')} test rows, {ds.get('n_features')} features, "
                   f"{ds.get('n_classes')} classes; test fraction {split.get('test_fraction')}, seed "
                   f"{split.get('seed')}, stratified: {split.get('stratified')}.</p>")
        for note in ds.get("decisions") or []:
            out.append(f"<p class='muted'>{html.escape(str(note))}</p>")
    counted = [{"model": r["name"], "parameters counted": r.get("params_definition"),
                "notes": " ".join(r.get("notes") or []), "error": r.get("error")}
               for r in run.get("records", [])]
    out.append(_table(counted))
    out.append("<h3>Settings</h3>")
    out.append(f"<pre>{html.escape(json.dumps(run.get('spec', {}), indent=2, sort_keys=True))}</pre>")
    if run.get("timings"):
        out.append(_table([{f"{k} (s)": v for k, v in run["timings"].items()}]))
    if run.get("artifacts"):
        names = {i: r["name"] for i, r in enumerate(run.get("records", []))}
        out.append("<h3>Model files</h3>")
        out.append(_table([{"model": names.get(a["candidate"], a["candidate"]), "file": a["filename"],
                            "size (bytes)": a["size_bytes"], "sha256": a["sha256"]}
                           for a in run["artifacts"]]))
    out.append("<h3>Environment</h3>")
    out.append(_table([{"key": k, "value": v} for k, v in (run.get("environment") or {}).items()]))
    return "\n".join(out)


def metrics_rows(runs: Sequence[dict]) -> list[dict]:
    """One flat row per candidate: identity columns, then every scalar metric (units in names)."""
    rows = []
    for run in runs:
        for rec in run.get("records", []):
            row = {"run_id": run.get("id"), "run_name": run.get("name"),
                   "dataset": (run.get("dataset") or {}).get("name")
                   or (run.get("spec", {}).get("dataset") or {}).get("name")}
            for key, value in rec.items():
                if key not in _NOT_FLAT:
                    row[key] = value
            if rec.get("history"):
                row["n_epochs"] = len(rec["history"].get("epochs") or [])
            rows.append(row)
    return rows


def metrics_csv(runs: Sequence[dict]) -> str:
    rows = metrics_rows(runs)
    cols = list(CSV_IDENTITY) + sorted({k for r in rows for k in r} - set(CSV_IDENTITY))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in cols})
    return buf.getvalue()


def metrics_json(runs: Sequence[dict]) -> str:
    """Every run in full (records with curves and settings, environment, how measured)."""
    return json.dumps({"format": "tradeoff-lab/runs", "version": 1, "runs": list(runs)},
                      indent=2, default=str, sort_keys=False)


def figure_png(fig: go.Figure, width: int = 1000, height: int = 560, scale: float = 1.0) -> bytes:
    """A chart as PNG bytes via kaleido, which drives Debian's chromium (/usr/bin/chromium)."""
    import os

    if "BROWSER_PATH" not in os.environ and os.path.exists(KALEIDO_BROWSER):
        os.environ["BROWSER_PATH"] = KALEIDO_BROWSER  # where kaleido's choreographer looks first
    try:
        _start_kaleido()
        with warnings.catch_warnings():
            # plotly warns that its default kaleido options are ignored by the shared server.
            warnings.simplefilter("ignore", UserWarning)
            return fig.to_image(format="png", width=width, height=height, scale=scale)
    except Exception as exc:  # no browser, or it failed to start: say what is missing
        raise RuntimeError(f"PNG export needs Chromium for kaleido ({KALEIDO_BROWSER}); "
                           f"it failed: {str(exc).splitlines()[0][:200]}") from None


_kaleido_started = False


def _start_kaleido() -> None:
    """Keep one browser for every export: the first image takes seconds, later ones a fraction."""
    global _kaleido_started
    if not _kaleido_started:
        import kaleido

        kaleido.start_sync_server(silence_warnings=True)
        _kaleido_started = True


__all__ = ["figure_png", "html_report", "merged_records", "metrics_csv", "metrics_json",
           "metrics_rows", "report_figures"]
