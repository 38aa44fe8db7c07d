import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _cli(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_quickstart_writes_results_json_with_every_field(tmp_path):
    proc = _cli("run", "examples/quickstart.yaml", "--out", str(tmp_path), "--quiet")
    assert proc.returncode == 0, proc.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    records = results["records"]
    assert sum(r["family"] == "large" for r in records) >= 1
    assert sum(r["family"] == "small" for r in records) >= 3
    for r in records:
        for field in ("name", "family", "accuracy", "f1_macro", "latency_ms_p50", "latency_ms_p95",
                      "throughput_sps", "size_bytes", "n_params", "n_nonzero_params",
                      "peak_memory_bytes", "train_seconds"):
            assert r[field] is not None, (r["name"], field)
    mlp = next(r for r in records if r["kind"] == "mlp")
    assert mlp["accuracy"] >= 0.97
    assert results["spec"]["dataset"]["name"] == "digits"
    assert results["environment"]["torch"]


def test_bad_spec_exits_non_zero_with_one_line(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("dataset: {name: digits}\ncandidates:\n  - name: x\n    model: {kind: mlp, hidden: [0]}\n")
    proc = _cli("run", str(spec), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "MLPSpec.hidden must be in [1, 8192]; got 0" in proc.stderr


def test_bad_data_file_exits_non_zero_with_one_line(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    spec = tmp_path / "spec.yaml"
    spec.write_text("dataset: {name: csv, csv_path: empty.csv}\n"
                    "candidates:\n  - name: lr\n    model: {kind: logistic_regression}\n")
    proc = _cli("run", str(spec), "--out", str(tmp_path / "out"), "--quiet")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: The file is empty. Upload a CSV with a header row and at least a few rows."
    assert not (tmp_path / "out" / "results.json").exists()


def test_invalid_yaml_names_the_line(tmp_path):
    spec = tmp_path / "broken.yaml"
    spec.write_text("dataset: {name: digits\ncandidates: [\n")
    proc = _cli("run", str(spec), "--out", str(tmp_path))
    assert proc.returncode == 2 and "not valid YAML at line" in proc.stderr
