"""A data directory that cannot be written: read-only, full, not a folder, not a run store.

Each fault is made for real, not mocked: a read-only folder by permissions (or, for root, who
ignores permission bits, by the immutable attribute), a full disk by SQLite's page limit and by
a file-size limit (RLIMIT_FSIZE) on a child process. The store and the CLI must say what is
wrong and what to do, and every run stored before must come through intact.
"""

from __future__ import annotations

import os
import resource
import shutil
import sqlite3
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.experiment import run
from core.paths import DataDirError
from core.specs import (CandidateSpec, DatasetSpec, ExperimentSpec, LogisticRegressionSpec,
                        MeasureSpec, TinyMLPSpec, TrainSpec)
from core.store import RunStore
from tests.unit.store_fakes import fake_result

ROOT = Path(__file__).resolve().parents[2]
FAST = MeasureSpec(warmup=1, min_repeats=3, min_seconds=0.0, max_seconds=0.05, batch_size=32)


@contextmanager
def read_only(path: Path):
    """Make ``path`` and everything under it unwritable for this process and its children.

    Permission bits for an ordinary user; root ignores those, so for root the immutable
    attribute (chattr +i), which stops root too. Checked by trying a write; skipped with the
    reason only where neither works (e.g. root on a file system without that attribute).
    """
    paths = [path, *path.rglob("*")]
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in paths}
        for p in reversed(paths):
            p.chmod(0o555 if p.is_dir() else 0o444)

        def undo():
            for p in paths:
                p.chmod(modes[p])
    else:
        if shutil.which("chattr") is None:
            pytest.skip("running as root (permission bits do not stop root) and chattr is missing")
        made = subprocess.run(["chattr", "-R", "+i", str(path)], capture_output=True, text=True)
        if made.returncode != 0:
            pytest.skip(f"running as root and chattr +i fails here: {made.stderr.strip()}")

        def undo():
            subprocess.run(["chattr", "-R", "-i", str(path)], check=True)
    try:
        probe = path / ".probe"
        try:
            probe.write_bytes(b"x")
        except OSError:
            pass
        else:
            probe.unlink()
            pytest.skip(f"could not make {path} read-only for this process")
        yield
    finally:
        undo()


def _store_with_runs(home: Path, result=None) -> tuple[list[str], dict]:
    """A closed store in ``home`` with three runs (one with model files); their ids and contents."""
    with RunStore(home) as store:
        ids = [store.record(fake_result(i), name=f"kept {i}") for i in range(2)]
        if result is not None:
            ids.append(store.record(result, name="kept with models"))
        contents = {i: _content(store, i) for i in ids}
    return ids, contents


def _content(store: RunStore, run_id: str) -> dict:
    run_ = store.get_run(run_id)
    return {"status": run_.summary.status, "records": run_.records, "name": run_.name,
            "artifacts": {a.filename: (a.sha256, a.read_verified()) for a in run_.artifacts}}


def _assert_intact(home: Path, ids: list[str], contents: dict) -> None:
    with RunStore(home) as store:
        assert store.integrity_check() == "ok"
        for run_id in ids:
            assert _content(store, run_id) == contents[run_id]  # read_verified checks every sha256


def _assert_clear(exc: DataDirError, home: Path, *words: str) -> None:
    text = str(exc)
    assert str(home) in text and "TRADEOFF_LAB_HOME" in text, text
    for word in words:
        assert word in text, text
    assert "Traceback" not in text and "sqlite3" not in text, text


@pytest.fixture(scope="module")
def result():
    spec = ExperimentSpec(DatasetSpec("iris", seed=1), (
        CandidateSpec("net", TinyMLPSpec(hidden=(8,)), TrainSpec(epochs=2, batch_size=16)),
        CandidateSpec("logreg", LogisticRegressionSpec()),
    ), FAST)
    return run(spec)


# -- read-only ------------------------------------------------------------------------------------


def test_read_only_data_directory_is_refused_with_a_message_and_runs_survive(tmp_path, result):
    home = tmp_path / "home"
    ids, contents = _store_with_runs(home, result)
    with read_only(home):
        with pytest.raises(DataDirError) as caught:
            RunStore(home)
        _assert_clear(caught.value, home, "read-only", "writable folder")
        assert caught.value.reason == "read-only"
        with pytest.raises(DataDirError, match="read-only"):  # a new store inside it, too
            RunStore(home / "inner")
    _assert_intact(home, ids, contents)


def test_cli_says_the_data_directory_is_read_only_without_a_traceback(tmp_path):
    home = tmp_path / "home"
    ids, contents = _store_with_runs(home)
    with read_only(home):
        proc = subprocess.run([sys.executable, "-m", "core", "runs", "list", "--home", str(home)],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"The data directory {home} is read-only" in proc.stderr
    assert "set TRADEOFF_LAB_HOME to a writable folder" in proc.stderr
    _assert_intact(home, ids, contents)


# -- full disk ------------------------------------------------------------------------------------


def test_full_database_rolls_back_says_so_and_recovers_when_there_is_room(tmp_path, result):
    home = tmp_path / "home"
    ids, contents = _store_with_runs(home, result)
    store = RunStore(home)
    new_run = store.create_run(result.to_dict()["spec"], name="too big", status="running")
    # SQLite refuses to grow the file past this many pages with SQLITE_FULL, as on a full disk.
    pages = store._read("PRAGMA page_count")[0][0]
    store._conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(DataDirError) as caught:
        store.save_result(new_run, result)
    _assert_clear(caught.value, home, "full", "Runs stored before are unchanged")
    assert caught.value.reason == "full"
    assert store.last_write_error == str(caught.value)
    assert store.integrity_check() == "ok"
    failed = store.get_run(new_run)
    # The outcome was rolled back as a whole: no candidate rows, no artifact rows, no files.
    assert failed.records == [] and failed.artifacts == []
    assert failed.summary.status in ("failed", "running")
    assert not list((home / "artifacts" / new_run).rglob("*"))
    with pytest.raises(DataDirError, match="full"):  # still full: a retry fails the same way
        store.save_result(new_run, result)
    store._conn.execute("PRAGMA max_page_count = 1073741823")  # room again
    store.save_result(new_run, result)
    assert store.last_write_error is None
    assert store.get_run(new_run).summary.status == "done" and store.get_run(new_run).records
    store.close()
    _assert_intact(home, ids, contents)


_LIMITED_RUN = """
dataset: {name: iris, seed: 0}
candidates:
  - name: wide net
    model: {kind: mlp, hidden: [256, 256]}
    train: {epochs: 2, batch_size: 16}
measure: {warmup: 1, min_repeats: 3, min_seconds: 0.0, max_seconds: 0.05, batch_size: 32}
"""


def test_cli_run_on_a_full_disk_says_so_and_keeps_earlier_runs(tmp_path, result):
    home = tmp_path / "home"
    ids, contents = _store_with_runs(home, result)
    spec = tmp_path / "wide.yaml"
    spec.write_text(_LIMITED_RUN)
    limit = 64 * 1024  # the network's safetensors file is ~270 KB: it cannot be written whole

    def limit_file_size():  # in the child only; Python ignores SIGXFSZ, so writes fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, "-m", "core", "run", str(spec), "--quiet", "--home", str(home),
                           "--name", "on a full disk"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, preexec_fn=limit_file_size)
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"The disk holding the data directory {home} is full" in proc.stderr, proc.stderr
    assert "set TRADEOFF_LAB_HOME to a folder on a disk with room" in proc.stderr
    _assert_intact(home, ids, contents)
    assert not list(home.rglob("*.tmp")), "a half-written file was left behind"
    with RunStore(home) as store:
        cut = [r for r in store.list_runs() if r.name == "on a full disk"]
        # Recorded as failed when there was room for that, else interrupted once its process ended.
        assert all(r.status in ("failed", "interrupted") and r.n_candidates == 0 for r in cut), cut
        for r in cut:
            assert not store.get_run(r.id).artifacts
            assert not list((home / "artifacts" / r.id).rglob("*.safetensors"))


# -- not a folder, not a run store --------------------------------------------------------------------


def test_a_file_where_the_data_directory_should_be(tmp_path):
    home = tmp_path / "home"
    home.write_text("my notes")
    with pytest.raises(DataDirError) as caught:
        RunStore(home)
    _assert_clear(caught.value, home, "not a folder")
    assert home.read_text() == "my notes"


def test_a_database_file_that_is_not_a_run_store_is_left_alone(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "runs.sqlite").write_bytes(b"not a database " * 400)
    with pytest.raises(DataDirError) as caught:
        RunStore(home)
    assert "is not a Tradeoff Lab run store" in str(caught.value) and "Move it aside" in str(caught.value)
    assert (home / "runs.sqlite").read_bytes() == b"not a database " * 400


def test_other_sqlite_errors_are_not_disguised_as_data_directory_faults(tmp_path):
    store = RunStore(tmp_path)
    with pytest.raises(sqlite3.IntegrityError), store._tx() as conn:
        conn.execute("INSERT INTO tags VALUES ('no such run', 'x')")  # a foreign key, not the disk
    assert store.last_write_error is None
    store.create_run(fake_result(0)["spec"])  # the failed transaction was rolled back
    store.close()


def test_an_upload_on_a_full_disk_says_so_and_leaves_no_partial_file(tmp_path):
    """Both upload paths (CSV and language-model text) under a file-size limit in a child."""
    home = tmp_path / "home"
    script = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "from core.data import save_upload\n"
        "from core.lm.corpus import save_text_upload\n"
        "from core.paths import DataDirError\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))\n"
        "uploads = Path(sys.argv[1]) / 'uploads'\n"
        "for save, data in ((save_upload, b'a,b\\n' + b'1,2\\n' * 50_000),\n"
        "                   (save_text_upload, b'some text ' * 20_000)):\n"
        "    try:\n"
        "        save(data, uploads)\n"
        "    except DataDirError as exc:\n"
        "        print(exc.reason, '|', exc)\n"
        "    small = save(data[:4000], uploads)\n"   # a small one still fits, so the folder is usable
        "    print('stored', small.name)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(home)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len([line for line in lines if line.startswith("full | ")]) == 2, lines
    assert all(f"The disk holding the data directory {home} is full" in line
               for line in lines if line.startswith("full"))
    assert not list(home.rglob("*.tmp")), "a half-written upload was left behind"
    stored = sorted(p.name for p in (home / "uploads").iterdir())
    assert len(stored) == 2 and all(len(name.split(".")[0]) == 24 for name in stored), stored
