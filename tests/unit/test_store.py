"""The SQLite run store: round trip, migrations, concurrent writers, crash safety, interruption."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from core.artifacts import load_stored_model
from core.data import load
from core.experiment import run
from core.specs import (CandidateSpec, DatasetSpec, ExperimentSpec, LogisticRegressionSpec,
                        MeasureSpec, TinyMLPSpec, TrainSpec)
from core.store import MIGRATIONS, SCHEMA_VERSION, RunStore, data_home
from tests.unit.store_fakes import fake_result as _fake_result

ROOT = Path(__file__).resolve().parents[2]
FAST = MeasureSpec(warmup=1, min_repeats=3, min_seconds=0.0, max_seconds=0.05, batch_size=32)


@pytest.fixture(scope="module")
def result():
    spec = ExperimentSpec(DatasetSpec("iris", seed=1), (
        CandidateSpec("net", TinyMLPSpec(hidden=(8,)), TrainSpec(epochs=3, batch_size=16)),
        CandidateSpec("logreg", LogisticRegressionSpec()),
    ), FAST)
    return run(spec)


def _plain(obj):
    return json.loads(json.dumps(obj, default=str))


# Child processes import core.store without core/__init__ (which loads torch): the store needs
# only the standard library and core.specs, and a loaded 2-core machine takes seconds per torch
# import.
_LIGHT_IMPORT = f"""
import sys, types
sys.path.insert(0, {str(ROOT)!r})
pkg = types.ModuleType("core"); pkg.__path__ = [{str(ROOT / "core")!r}]; sys.modules["core"] = pkg
from core.store import RunStore
"""


def _python(code: str, home: Path, **kw) -> subprocess.Popen:
    env = {**os.environ, "TRADEOFF_LAB_HOME": str(home), "PYTHONPATH": str(ROOT)}
    code = _LIGHT_IMPORT + textwrap.dedent(code)
    return subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_home_comes_from_argument_then_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TRADEOFF_LAB_HOME", str(tmp_path / "env"))
    assert data_home() == tmp_path / "env"
    assert data_home(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("TRADEOFF_LAB_HOME")
    assert data_home() == Path.home() / ".tradeoff-lab"


def test_round_trip_keeps_spec_metrics_curves_environment_and_artifacts(tmp_path, result):
    store = RunStore(tmp_path)
    assert store.schema_version == SCHEMA_VERSION
    assert store._read("PRAGMA journal_mode")[0][0] == "wal"
    run_id = store.record(result, name="first", tags=("demo", "iris"))
    got = store.get_run(run_id)
    expected = _plain(result.to_dict())
    assert got.spec == expected["spec"]
    assert got.records == expected["records"]
    assert got.records[0]["history"]["epochs"][2]["epoch"] == 3  # per-epoch curves kept
    assert got.environment == expected["environment"] and got.how_measured == expected["how_measured"]
    assert got.summary.status == "done" and got.summary.tags == ("demo", "iris")
    assert got.summary.best_accuracy == max(r.metrics.accuracy for r in result.results)
    assert set(got.summary.families) == {"small"} and set(got.summary.models) == {"tiny_mlp", "logistic_regression"}
    # Artifacts: on disk beside the database, bytes and checksum as the model produced them.
    for idx, cand in enumerate(result.results):
        for name, blob in cand.model.artifact().items():
            ref = next(a for a in got.artifacts if a.idx == idx and a.filename == name)
            assert ref.path.is_file() and ref.path.is_relative_to(tmp_path)
            assert ref.size_bytes == len(blob) == cand.metrics.size_bytes - sum(
                len(b) for n, b in cand.model.artifact().items() if n != name)
            assert ref.sha256 == hashlib.sha256(ref.path.read_bytes()).hexdigest()
        loaded = load_stored_model(got.artifacts, idx)
        X = load(result.spec.dataset).X_test
        np.testing.assert_array_equal(loaded.predict(X), cand.model.predict(X))
    store.close()
    # A fresh store over the same directory sees the same run.
    assert RunStore(tmp_path).get_run(run_id).records == expected["records"]


def test_tampered_artifact_is_refused(tmp_path, result):
    store = RunStore(tmp_path)
    got = store.get_run(store.record(result))
    ref = next(a for a in got.artifacts if a.filename == "model.skops")
    ref.path.write_bytes(ref.path.read_bytes() + b"x")
    with pytest.raises(ValueError, match="does not match its recorded sha256"):
        load_stored_model(got.artifacts, ref.idx)


def test_edit_filter_and_delete(tmp_path):
    store = RunStore(tmp_path)
    a = store.record(_fake_result(0), tags=("keep",))
    b = store.record({**_fake_result(1), "spec": {"dataset": {"name": "iris"}, "candidates": [
        {"name": "big", "model": {"kind": "mlp"}, "train": {"precision": "bf16"}},
        {"name": "q", "parent": "big", "compress": [{"kind": "quantize"}]}]}})
    store.rename(a, "  renamed  ")
    store.set_tags(b, ["x", "y", "x"])
    assert store.get_run(a).name == "renamed"
    assert [r.id for r in store.list_runs()] == [b, a]  # newest first
    assert [r.id for r in store.list_runs(dataset="wine")] == [a]
    assert [r.id for r in store.list_runs(tag="y")] == [b]
    assert [r.id for r in store.list_runs(family="compressed")] == [b]
    assert [r.id for r in store.list_runs(technique="quantize")] == [b]
    assert [r.id for r in store.list_runs(technique="precision: bf16")] == [b]
    today = store.get_run(a).summary.created_at[:10]
    assert len(store.list_runs(since=today, until=today)) == 2
    assert store.list_runs(until="2000-01-01") == []
    assert store.facet_values()["tag"] == ["keep", "x", "y"]
    with pytest.raises(ValueError, match="name must be 1 to 200"):
        store.rename(a, "   ")
    with pytest.raises(ValueError, match="status must be one of"):
        store.set_status(a, "finished")
    (store.artifact_dir / a).mkdir(parents=True)
    store.delete(a)
    assert not (store.artifact_dir / a).exists()
    with pytest.raises(KeyError):
        store.get_run(a)
    assert store._read("SELECT COUNT(*) FROM metrics WHERE run_id=?", (a,))[0][0] == 0  # cascaded
    assert store.integrity_check() == "ok"


def test_migration_from_the_first_schema_backfills(tmp_path):
    # A database as version 1 of the app left it.
    conn = sqlite3.connect(tmp_path / "runs.sqlite", isolation_level=None)
    conn.execute("BEGIN")
    MIGRATIONS[0](conn)
    conn.execute("PRAGMA user_version = 1")
    spec = {"dataset": {"name": "digits"}, "candidates": [
        {"name": "MLP", "model": {"kind": "mlp"}}, {"name": "MLP int8", "parent": "MLP",
                                                   "compress": [{"kind": "quantize"}]}]}
    conn.execute("INSERT INTO runs (id, name, status, created_at, updated_at, spec_json, dataset_name)"
                 " VALUES ('abc123', 'old run', 'done', '2026-01-01T00:00:00', '2026-01-01T00:00:00', ?,"
                 " 'digits')", (json.dumps(spec),))
    for idx, (name, family, acc) in enumerate([("MLP", "large", 0.97), ("MLP int8", "compressed", 0.96)]):
        conn.execute("INSERT INTO candidates VALUES ('abc123', ?, ?, ?, 'mlp', 'done', ?)",
                     (idx, name, family, json.dumps({"name": name, "family": family, "accuracy": acc,
                                                     "size_bytes": 1000 - idx})))
    conn.execute("COMMIT")
    conn.close()

    store = RunStore(tmp_path)
    assert store.schema_version == 2
    assert store.integrity_check() == "ok"
    (summary,) = store.list_runs(technique="quantize")
    assert summary.id == "abc123" and summary.best_accuracy == 0.97
    assert set(summary.families) == {"large", "compressed"}
    assert sorted(v for _, _, v in store.metric_values("size_bytes")) == [999.0, 1000.0]
    assert store.get_run("abc123").records[1]["name"] == "MLP int8"
    assert store.get_run("abc123").artifacts == []


def test_a_newer_schema_is_refused(tmp_path):
    RunStore(tmp_path).close()
    conn = sqlite3.connect(tmp_path / "runs.sqlite")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="schema version"):
        RunStore(tmp_path)


def test_two_processes_writing_at_once(tmp_path):
    RunStore(tmp_path).close()
    code = f"""
        from tests.unit.store_fakes import fake_result as _fake_result
        store = RunStore()
        for i in range(25):
            run_id = store.create_run(_fake_result(i)["spec"], status="running")
            store.set_progress(run_id, 0.5, "half way")
            store.save_result(run_id, _fake_result(i))
            store.set_tags(run_id, ["proc-" + sys.argv[-1] if len(sys.argv) > 1 else "proc"])
        print("ok")
    """
    procs = [_python(code, tmp_path) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    store = RunStore(tmp_path)
    runs = store.list_runs()
    assert len(runs) == 50 and {r.status for r in runs} == {"done"}
    assert {r.n_candidates for r in runs} == {3}
    assert store.integrity_check() == "ok"


def test_writer_killed_mid_transaction_leaves_a_consistent_database(tmp_path):
    code = """
        import time
        from tests.unit.store_fakes import fake_result as _fake_result
        store = RunStore()
        print(store.record(_fake_result(0)), flush=True)
        original = RunStore._insert_candidate
        def slow(self, conn, run_id, idx, record):
            original(self, conn, run_id, idx, record)
            if idx == 1:  # two candidate rows written, transaction still open
                print("MID", flush=True)
                time.sleep(600)
        RunStore._insert_candidate = slow
        second = store.create_run(_fake_result(1)["spec"], status="running")
        print(second, flush=True)
        store.save_result(second, _fake_result(1))
    """
    proc = _python(code, tmp_path)
    first, second, mid = (proc.stdout.readline().strip() for _ in range(3))
    assert mid == "MID", proc.stderr.read()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    store = RunStore(tmp_path)
    assert store.integrity_check() == "ok"
    done = store.get_run(first)
    assert done.summary.status == "done" and len(done.records) == 3
    cut = store.get_run(second)
    # The killed transaction left nothing behind; the run itself shows it was cut off.
    assert cut.records == [] and cut.summary.status == "interrupted"
    assert store._read("SELECT COUNT(*) FROM metrics WHERE run_id=?", (second,))[0][0] == 0


def test_runs_of_a_dead_process_become_interrupted_but_live_ones_do_not(tmp_path):
    code = """
        import time
        from tests.unit.store_fakes import fake_result as _fake_result
        store = RunStore()
        print(store.create_run(_fake_result(0)["spec"], status="running"))
        print(store.create_run(_fake_result(1)["spec"], status="queued"), flush=True)
        time.sleep(600)
    """
    proc = _python(code, tmp_path)
    ids = [proc.stdout.readline().strip() for _ in range(2)]
    mine = RunStore(tmp_path)
    live = mine.create_run(_fake_result(2)["spec"], status="running")
    # While the writer lives, opening a store leaves its runs alone.
    assert {r.id: r.status for r in RunStore(tmp_path).list_runs()} == {
        ids[0]: "running", ids[1]: "queued", live: "running"}
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    reopened = RunStore(tmp_path)
    statuses = {r.id: r.status for r in reopened.list_runs()}
    assert statuses == {ids[0]: "interrupted", ids[1]: "interrupted", live: "running"}
    assert reopened.get_run(ids[0]).summary.finished_at is not None
    assert "process running it ended" in reopened.get_run(ids[1]).summary.message


def test_runs_of_another_host_become_interrupted_only_when_stale(tmp_path):
    from datetime import datetime, timedelta, timezone

    store = RunStore(tmp_path)
    old, recent = (store.create_run(_fake_result(i)["spec"], status="running") for i in range(2))
    stale = (datetime.now(timezone.utc) - timedelta(hours=2)).isoformat()
    with store._tx() as conn:
        conn.execute("UPDATE runs SET owner='elsewhere:1:1', updated_at=? WHERE id=?", (stale, old))
        conn.execute("UPDATE runs SET owner='elsewhere:1:1' WHERE id=?", (recent,))
    assert store.mark_interrupted() == [old]
    assert store.get_run(recent).summary.status == "running"
