"""Report export: self-contained HTML, CSV and JSON of the metrics, PNG charts; the report CLI."""

from __future__ import annotations

import csv
import io
import json
import re
import struct
from pathlib import Path

import pytest
from plotly.offline import get_plotlyjs

from core.__main__ import main
from core.experiment import run
from core.export import (figure_png, html_report, merged_records, metrics_csv, metrics_json,
                         report_figures)
from core.specs import (CandidateSpec, DatasetSpec, ExperimentSpec, LogisticRegressionSpec,
                        MeasureSpec, TinyMLPSpec, TrainSpec)
from core.store import RunStore

FAST = MeasureSpec(warmup=1, min_repeats=3, min_seconds=0.0, max_seconds=0.05, batch_size=32)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two stored runs, as the report reads them back from the store."""
    spec = ExperimentSpec(DatasetSpec("iris"), (
        CandidateSpec("net <b>", TinyMLPSpec(hidden=(8,)), TrainSpec(epochs=3, batch_size=16)),
        CandidateSpec("logreg", LogisticRegressionSpec()),
    ), FAST)
    store = RunStore(tmp_path_factory.mktemp("home"))
    ids = [store.record(run(spec), name=f"run {i}", tags=("t",)) for i in range(2)]
    return [store.get_run(i).to_dict() for i in ids]


def test_html_report_is_offline_with_one_plotlyjs_and_every_chart(runs):
    page = html_report(runs, title="Review <script>")
    figs = report_figures(runs)
    assert len(figs) == 9  # six bars, two Pareto scatters, training curves
    # One embedded copy of plotly.js, and no script fetched from anywhere.
    marker = get_plotlyjs()[5000:5100]
    assert page.count(marker) == 1
    assert "<script src=" not in page and "<link " not in page
    assert len(re.findall(r'<div id="chart-\d+" class="plotly-graph-div"', page)) == len(figs)
    for caption, fig in figs:
        assert f"data-caption='{caption}'" in page
        assert fig.layout.title.text.split(" —")[0] in page
    # User text is escaped, the table has units, and every run's settings and environment are there.
    assert "Review &lt;script&gt;" in page and "net &lt;b&gt;" in page and "net <b>" not in page
    for header in ("Accuracy (%)", "Latency p50 (ms)", "Saved size (bytes)", "Parameters"):
        assert f"<th>{header}</th>" in page
    for r in runs:
        assert f"Run: {r['name']}" in page and r["how_measured"][:60] in page
        assert r["environment"]["torch"] in page
    assert page.count("&quot;kind&quot;: &quot;tiny_mlp&quot;") == 2  # each run's spec, escaped
    for r in runs:  # and the checksum of every stored model file
        assert all(a["sha256"] in page for a in r["artifacts"]) and len(r["artifacts"]) == 3


def test_csv_round_trip_keeps_every_number(runs):
    rows = list(csv.DictReader(io.StringIO(metrics_csv(runs))))
    records = [rec for r in runs for rec in r["records"]]
    assert len(rows) == len(records) == 4
    for row, rec, run_id in zip(rows, records, [r["id"] for r in runs for _ in r["records"]]):
        assert row["run_id"] == run_id and row["name"] == rec["name"] and row["dataset"] == "iris"
        for key, value in rec.items():
            if isinstance(value, float):
                assert float(row[key]) == value, key
            elif isinstance(value, int) and not isinstance(value, bool):
                assert int(row[key]) == value, key
    assert rows[0]["n_epochs"] == "3"


def test_json_round_trip_keeps_everything(runs):
    data = json.loads(metrics_json(runs))
    assert data["format"] == "tradeoff-lab/runs"
    assert data["runs"] == json.loads(json.dumps(runs))
    assert data["runs"][0]["records"][0]["history"]["epochs"][2]["epoch"] == 3


def test_records_of_several_runs_keep_apart(runs):
    names = [r["name"] for r in merged_records(runs)]
    assert len(set(names)) == len(names) == 4
    assert merged_records(runs[:1])[0]["name"] == "net <b>"


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="kaleido needs Debian's chromium")
def test_png_export_renders_a_chart(runs):
    png = figure_png(report_figures(runs)[0][1], width=640, height=400)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (640, 400)  # IHDR width and height
    assert len(png) > 10_000  # a drawn chart, not an empty canvas


def test_cli_run_then_list_then_report(tmp_path, capsys):
    spec = tmp_path / "tiny.yaml"
    spec.write_text("dataset: {name: iris}\ncandidates:\n  - name: lr\n    model: {kind: logistic_regression}\n"
                    "measure: {warmup: 1, min_repeats: 3, min_seconds: 0, max_seconds: 0.05}\n")
    home = str(tmp_path / "home")
    assert main(["--home", home, "run", str(spec), "--quiet", "--tag", "cli"]) == 0
    run_id = re.search(r"stored run ([0-9a-f]+)", capsys.readouterr().out).group(1)
    assert main(["runs", "list", "--home", home, "--tag", "cli"]) == 0
    assert run_id in capsys.readouterr().out
    out = tmp_path / "report.html"
    assert main(["--home", home, "report", run_id, "--out", str(out)]) == 0
    assert "plotly-graph-div" in out.read_text()
    assert main(["--home", home, "report", "0000000000", "--out", str(out)]) == 2
    assert "no run with id" in capsys.readouterr().err
