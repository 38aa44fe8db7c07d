"""Reports that travel: a self-contained HTML report, CSV and JSON of the metrics, PNG charts.

Input is one or more runs as plain dicts (`core.store.Run.to_dict()`, or
`ExperimentResult.to_dict()` for a run not stored yet); the charts come from `core.report`, so
a report shows what the Compare and History pages show. The HTML report is written in the
language asked for (``lang``): headings, labels, chart titles and the loader's decisions, and
the stored how-measured text rendered in that language (`core.measure.how_measured_in`).
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
from .data import decisions_in
from .i18n import keys_under, retranslate, strings, translate

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


def _t(lang: str, key: str, **values) -> str:
    return translate(lang, f"report.{key}", **values)


def report_figures(runs: Sequence[dict], lang: str = "en") -> list[tuple[str, go.Figure]]:
    """The trade-off charts of a report, by caption: bars, Pareto scatters, training curves."""
    records = report.measured(merged_records(runs))
    if not records:
        return []
    figs = [(report.metric_title(m, lang), report.metric_bar(records, m, lang=lang))
            for m in ("accuracy", "latency_ms_p50", "throughput_sps", "size_bytes", "n_params",
                      "peak_memory_bytes")]
    figs.append((_t(lang, "caption_latency"), report.pareto_scatter(records, x="latency_ms_p50", lang=lang)))
    figs.append((_t(lang, "caption_size"), report.pareto_scatter(records, x="size_bytes", lang=lang)))
    if any((r.get("history") or {}).get("epochs") for r in records):
        figs.append((_t(lang, "caption_curves"), report.training_curves(records, lang=lang)))
    return figs


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;
color:#222;padding:0 1rem}h1{margin-bottom:.2rem}table{border-collapse:collapse;font-size:.85rem;
margin:.5rem 0 1.5rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}.chart{margin:1rem 0}
pre{background:#f7f7f7;padding:.75rem;overflow-x:auto;font-size:.8rem}.muted{color:#666}
"""


def _table(rows: list[dict], lang: str = "en") -> str:
    if not rows:
        return f"<p class='muted'>{html.escape(_t(lang, 'none'))}</p>"
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


def html_report(runs: Sequence[dict], title: str | None = None, lang: str = "en") -> str:
    """One self-contained HTML page: works offline, with a single copy of plotly.js.

    ``title`` defaults to "Tradeoff Lab report" in ``lang``.
    """
    title = _t(lang, "title") if title is None else title
    figs = report_figures(runs, lang)
    listed = _t(lang, "list_separator").join(
        html.escape(_t(lang, "run_label", name=r.get("name") or "", id=r.get("id") or _t(lang, "unsaved")))
        for r in runs)
    parts = [f"<!DOCTYPE html><html lang='{_t(lang, 'html_lang')}'><head><meta charset='utf-8'>"
             f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>",
             "<p class='muted'>" + html.escape(_t(lang, "generated", n=len(runs),
                                                  when=f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}"))
             + listed + "</p>"]
    parts.append(f"<h2>{_t(lang, 'trade_offs')}</h2>")
    if not figs:
        parts.append(f"<p>{_t(lang, 'nothing_to_chart')}</p>")
    for i, (caption, fig) in enumerate(figs):
        # plotly.js is embedded once, with the first chart; the others reuse it.
        div = fig.to_html(full_html=False, include_plotlyjs=(i == 0), div_id=f"chart-{i}",
                          config={"displaylogo": False, "responsive": True})
        parts.append(f"<div class='chart' data-caption='{html.escape(caption)}'>{div}</div>")
    parts.append(f"<h2>{_t(lang, 'every_figure')}</h2>")
    table = report.metrics_table(merged_records(runs), lang)
    parts.append(table.to_html(index=False, na_rep="", escape=True, float_format=lambda v: f"{v:.6g}")
                 if not table.empty else f"<p>{_t(lang, 'no_records')}</p>")
    for run in runs:
        parts.append(_run_section(run, lang))
    parts.append("</body></html>")
    return "\n".join(parts)


def _run_section(run: dict, lang: str = "en") -> str:
    from .measure import how_measured_in  # torch is only needed once a report is written

    def h(key: str, **values) -> str:
        return html.escape(_t(lang, key, **values))

    name = str(run.get("name") or run.get("id") or _t(lang, "run"))
    out = [f"<h2>{h('run_heading', name=name)}</h2>"]
    meta = {_t(lang, f"meta_{k}"): run.get(k)
            for k in ("id", "status", "created_at", "finished_at") if run.get(k)}
    if run.get("tags"):
        meta[_t(lang, "meta_tags")] = ", ".join(run["tags"])
    if meta:
        out.append(_table([meta], lang))
    ds = run.get("dataset") or {}
    split = ds.get("split") or {}
    out.append(f"<h3>{h('how_measured')}</h3>")
    stored = run.get("how_measured")
    out.append(f"<p>{html.escape(how_measured_in(stored, lang) if stored else _t(lang, 'not_recorded'))}</p>")
    if ds:
        out.append("<p>" + h("data", name=str(ds.get("name")), n_train=ds.get("n_train"),
                             n_test=ds.get("n_test"), n_features=ds.get("n_features"),
                             n_classes=ds.get("n_classes"), fraction=split.get("test_fraction"),
                             seed=split.get("seed"),
                             stratified=_yes_no(split.get("stratified"), lang)) + "</p>")
        for note in decisions_in(ds, lang):
            out.append(f"<p class='muted'>{html.escape(str(note))}</p>")
    counted = [{_t(lang, "col_model"): r["name"], _t(lang, "col_params_counted"): r.get("params_definition"),
                _t(lang, "col_notes"): " ".join(retranslate(n, lang, keys_under("notes"))
                                               for n in r.get("notes") or []), _t(lang, "col_error"): r.get("error")}
               for r in run.get("records", [])]
    out.append(_table(counted, lang))
    out.append(f"<h3>{h('settings')}</h3>")
    out.append(f"<pre>{html.escape(json.dumps(run.get('spec', {}), indent=2, sort_keys=True))}</pre>")
    if run.get("timings"):
        timing = strings(lang)
        out.append(_table([{_t(lang, "seconds", what=timing.get(f"report.timing_{k}", k)): v
                            for k, v in run["timings"].items()}], lang))
    if run.get("artifacts"):
        names = {i: r["name"] for i, r in enumerate(run.get("records", []))}
        out.append(f"<h3>{h('model_files')}</h3>")
        out.append(_table([{_t(lang, "col_model"): names.get(a["candidate"], a["candidate"]),
                            _t(lang, "col_file"): a["filename"], _t(lang, "col_size"): a["size_bytes"],
                            _t(lang, "col_sha256"): a["sha256"]}
                           for a in run["artifacts"]], lang))
    out.append(f"<h3>{h('environment')}</h3>")
    out.append(_table([{_t(lang, "col_key"): k, _t(lang, "col_value"): v}
                       for k, v in (run.get("environment") or {}).items()], lang))
    return "\n".join(out)


def _yes_no(value, lang: str):
    return _t(lang, "true" if value else "false") if isinstance(value, bool) else value


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
