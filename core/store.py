"""The run store: every experiment and import, kept in SQLite beside its model artifacts.

One run is one experiment (its spec, the record of every candidate with all metrics and
per-epoch curves, the environment it was measured on) or one imported model evaluated on a
dataset. The database lives in the data directory (``$TRADEOFF_LAB_HOME`` or
``~/.tradeoff-lab``) as ``runs.sqlite``; artifact files live under ``artifacts/<run id>/`` and
are referenced by relative path and sha256.

Durability: WAL journal, every write inside one ``BEGIN IMMEDIATE`` transaction, so a process
killed mid-write leaves the database as it was before that write. Artifact files are written
(temp file + rename) before the rows that reference them, so a reference never dangles; a kill
in between leaves at most an unreferenced file. Runs still ``queued`` or ``running`` whose owning
process is gone become ``interrupted`` whenever a store is opened.

A data directory that cannot be used (read-only, a full disk, a file where the folder should be,
a database file that is not a run store) raises `DataDirError` with a message that says what is
wrong and what to do; a failed write is rolled back, so runs stored before are never touched.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import socket
import sqlite3
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from .paths import ENV_HOME, DataDirError, data_dir_error, full_message, read_only_message
from .paths import data_home as _default_home

DB_NAME = "runs.sqlite"
log = logging.getLogger(__name__)
STATUSES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
ACTIVE_STATUSES = ("queued", "running")
FACETS = ("family", "model", "technique")
# A run owned by a process on another host (a data directory on a shared or remounted disk, a
# container with a new hostname) cannot be checked; it counts as interrupted once it has not
# been updated for this long. Progress is written as work advances (each epoch, each model), so
# an hour of silence means its process is gone.
FOREIGN_STALE_S = 3600.0
# SQLite's primary result codes (an extended code keeps its primary code in the low byte).
_SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = (
    8, 10, 11, 13, 14, 26)

# --------------------------------------------------------------------------------------------
# Schema. Each migration moves the database from version i to i + 1 inside one transaction
# (PRAGMA user_version is part of it), so a failed migration leaves the old version intact.

_SCHEMA_V1 = """
CREATE TABLE runs (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    kind             TEXT NOT NULL DEFAULT 'experiment',   -- experiment | import
    status           TEXT NOT NULL CHECK (status IN
                       ('queued','running','done','failed','cancelled','interrupted')),
    created_at       TEXT NOT NULL,                        -- ISO 8601, UTC
    started_at       TEXT,
    finished_at      TEXT,
    updated_at       TEXT NOT NULL,
    spec_json        TEXT NOT NULL,
    spec_hash        TEXT,
    dataset_name     TEXT NOT NULL,
    dataset_json     TEXT,                                 -- Dataset.summary(): split, sizes
    environment_json TEXT,
    how_measured     TEXT,
    timings_json     TEXT,
    progress         REAL NOT NULL DEFAULT 0,
    message          TEXT NOT NULL DEFAULT '',
    error            TEXT,
    owner            TEXT                                  -- host:pid:start-ticks of the writer
);
CREATE INDEX runs_created ON runs(created_at);
CREATE INDEX runs_status ON runs(status);
CREATE TABLE candidates (
    run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    idx         INTEGER NOT NULL,
    name        TEXT NOT NULL,
    family      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    record_json TEXT NOT NULL,          -- CandidateResult.to_record(): metrics, curves, settings
    PRIMARY KEY (run_id, idx)
);
CREATE TABLE tags (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    tag    TEXT NOT NULL,
    PRIMARY KEY (run_id, tag)
);
"""

_SCHEMA_V2 = """
CREATE TABLE metrics (                  -- one row per numeric figure, for filtering and sorting
    run_id TEXT NOT NULL,
    idx    INTEGER NOT NULL,
    key    TEXT NOT NULL,               -- the metric's name, unit included (latency_ms_p50)
    value  REAL,
    PRIMARY KEY (run_id, idx, key),
    FOREIGN KEY (run_id, idx) REFERENCES candidates(run_id, idx) ON DELETE CASCADE
);
CREATE TABLE facets (                   -- what the History filters select on
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    facet  TEXT NOT NULL CHECK (facet IN ('family','model','technique')),
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, facet, value)
);
CREATE INDEX facets_value ON facets(facet, value);
CREATE TABLE artifacts (
    run_id     TEXT NOT NULL,
    idx        INTEGER NOT NULL,
    filename   TEXT NOT NULL,
    role       TEXT NOT NULL DEFAULT 'model',   -- model | onnx
    path       TEXT NOT NULL,                   -- relative to the data directory
    sha256     TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    meta_json  TEXT NOT NULL DEFAULT '{}',      -- e.g. ONNX parity and latency
    created_at TEXT NOT NULL,
    PRIMARY KEY (run_id, idx, filename),
    FOREIGN KEY (run_id, idx) REFERENCES candidates(run_id, idx) ON DELETE CASCADE
);
"""


def _migrate_v2(conn: sqlite3.Connection) -> None:
    """Adds metrics, facets and artifacts; backfills metrics and facets from the v1 rows."""
    for statement in _SCHEMA_V2.split(";"):
        if statement.strip():
            conn.execute(statement)
    for run_id, spec_json in conn.execute("SELECT id, spec_json FROM runs").fetchall():
        records = [json.loads(r) for (r,) in conn.execute(
            "SELECT record_json FROM candidates WHERE run_id = ? ORDER BY idx", (run_id,))]
        _write_facets(conn, run_id, json.loads(spec_json), records)
        for idx, record in enumerate(records):
            _write_metrics(conn, run_id, idx, record)


def _migrate_v1(conn: sqlite3.Connection) -> None:
    # Statement by statement: executescript would commit the surrounding transaction.
    for statement in _SCHEMA_V1.split(";"):
        if statement.strip():
            conn.execute(statement)


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_migrate_v1, _migrate_v2)
SCHEMA_VERSION = len(MIGRATIONS)


# --------------------------------------------------------------------------------------------
# Records handed to callers


@dataclass(frozen=True)
class ArtifactRef:
    idx: int                 # candidate index within the run
    filename: str
    role: str                # model | onnx
    path: Path               # absolute path on disk
    sha256: str
    size_bytes: int
    meta: dict = field(default_factory=dict)

    def read_verified(self) -> bytes:
        """The file's bytes, after checking them against the recorded sha256."""
        data = self.path.read_bytes()
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise ValueError(f"artifact {self.filename} of candidate {self.idx} does not match its "
                             f"recorded sha256 {self.sha256[:12]}…: the file was changed on disk")
        return data


@dataclass(frozen=True)
class RunSummary:
    id: str
    name: str
    kind: str                # experiment | import
    status: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    dataset: str
    progress: float          # 0..1 while queued or running
    message: str
    error: str | None
    tags: tuple[str, ...]
    families: tuple[str, ...]
    models: tuple[str, ...]
    techniques: tuple[str, ...]
    n_candidates: int
    best_accuracy: float | None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


@dataclass(frozen=True)
class Run:
    summary: RunSummary
    spec: dict               # ExperimentSpec.to_dict(), or the import description
    dataset: dict            # Dataset.summary()
    records: list[dict]      # CandidateResult.to_record() per candidate, in order
    environment: dict
    how_measured: str
    timings: dict
    artifacts: list[ArtifactRef]

    @property
    def id(self) -> str:
        return self.summary.id

    @property
    def name(self) -> str:
        return self.summary.name

    def to_dict(self) -> dict[str, Any]:
        """ExperimentResult.to_dict()'s shape, plus the run's identity: what reports consume."""
        s = self.summary
        return {"id": s.id, "name": s.name, "kind": s.kind, "status": s.status,
                "created_at": s.created_at, "finished_at": s.finished_at, "tags": list(s.tags),
                "spec": self.spec, "dataset": self.dataset, "records": self.records,
                "environment": self.environment, "how_measured": self.how_measured,
                "timings": self.timings, "cancelled": s.status == "cancelled",
                "artifacts": [{"candidate": a.idx, "filename": a.filename, "role": a.role,
                               "size_bytes": a.size_bytes, "sha256": a.sha256} for a in self.artifacts]}


# --------------------------------------------------------------------------------------------


def data_home(home: str | os.PathLike | None = None) -> Path:
    """The data directory: ``home`` if given, else $TRADEOFF_LAB_HOME, else ~/.tradeoff-lab."""
    return Path(home).expanduser() if home else _default_home()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _process_start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ")".
    return stat.rsplit(")", 1)[1].split()[19]


def _owner_token() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start_ticks(pid) or '?'}"


def _owner_alive(owner: str | None, updated_at: str | None = None) -> bool:
    if not owner:
        return False
    try:
        host, pid_text, ticks = owner.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname():
        try:
            age = (datetime.now(timezone.utc) - datetime.fromisoformat(updated_at or "")).total_seconds()
        except ValueError:
            return False
        return age < FOREIGN_STALE_S
    if ticks != "?" and os.path.exists("/proc"):
        return _process_start_ticks(pid) == ticks
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _write_metrics(conn: sqlite3.Connection, run_id: str, idx: int, record: dict) -> None:
    for key, value in record.items():
        number = _finite(value)
        if number is not None:
            conn.execute("INSERT OR REPLACE INTO metrics (run_id, idx, key, value) VALUES (?, ?, ?, ?)",
                         (run_id, idx, key, number))


def facets_of(spec: dict, records: list[dict] | None = None) -> dict[str, set[str]]:
    """Model families, model kinds and techniques of a run, from its spec (and records if any).

    A technique is a compression step kind, or a training choice away from the plain default
    (a precision other than fp32, a parallel mode, a schedule, pruning during training,
    early stopping).
    """
    out: dict[str, set[str]] = {f: set() for f in FACETS}
    if spec.get("import"):
        out["family"].add("imported")
        out["model"].add(f"imported {spec['import'].get('format', '?')}")
    from .specs import ModelSpec, spec_kinds  # local: specs is light, but keeps this usable alone
    model_kinds = spec_kinds(ModelSpec)
    for cand in spec.get("candidates", []):
        model = cand.get("model")
        if model:
            out["model"].add(model.get("kind", "?"))
            cls = model_kinds.get(model.get("kind"))
            if cls is not None:
                out["family"].add(cls.family)
            if cls is not None and cls.is_neural:
                train = cand.get("train") or {}
                for key, default in (("precision", "fp32"), ("parallel", "single"), ("schedule", "none")):
                    if train.get(key, default) != default:
                        out["technique"].add(f"{key}: {train[key]}")
                if train.get("prune_sparsity"):
                    out["technique"].add("pruning during training")
                if train.get("early_stopping_patience"):
                    out["technique"].add("early stopping")
        if cand.get("parent"):
            out["family"].add("compressed")
        for step in cand.get("compress") or []:
            out["technique"].add(step.get("kind", "?"))
    for record in records or []:
        if record.get("family"):
            out["family"].add(record["family"])
        if record.get("kind") and not spec.get("import"):
            out["model"].add(record["kind"])
    return out


def _write_facets(conn: sqlite3.Connection, run_id: str, spec: dict, records: list[dict]) -> None:
    for facet, values in facets_of(spec, records).items():
        for value in values:
            conn.execute("INSERT OR IGNORE INTO facets (run_id, facet, value) VALUES (?, ?, ?)",
                         (run_id, facet, value))


_SAFE_FILENAME = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def _check_filename(name: str) -> str:
    """Artifact names come from our own Classifier.artifact(); refuse anything path-like anyway."""
    if not name or name.startswith(".") or not set(name) <= _SAFE_FILENAME or len(name) > 80:
        raise ValueError(f"artifact file name must be 1 to 80 of [A-Za-z0-9._-], not starting "
                         f"with '.'; got {name!r}")
    return name


def _write_file_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # a full disk must not keep the half-written file as well
        tmp.unlink(missing_ok=True)
        raise


def _probe_writable(home: Path) -> OSError | None:
    """The error creating a file in ``home`` gives, or None when it can be written."""
    try:
        fd, name = tempfile.mkstemp(prefix=".write-probe-", dir=home)
    except OSError as exc:
        return exc
    os.close(fd)
    os.unlink(name)
    return None


class RunStore:
    """The SQLite run store in one data directory; safe to share between threads."""

    def __init__(self, home: str | os.PathLike | None = None):
        self.home = data_home(home)
        self.path = self.home / DB_NAME
        self.artifact_dir = self.home / "artifacts"
        self.owner = _owner_token()
        # Why the last write failed (read-only, disk full), until a write succeeds: for the pages.
        self.last_write_error: str | None = None
        # One connection guarded by a lock: Streamlit sessions and job threads share a store.
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                         check_same_thread=False)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a killed process; only a power cut may lose the last commit.
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA busy_timeout=30000")
            self._migrate()
            self.mark_interrupted()
        except (OSError, sqlite3.Error, DataDirError) as exc:
            if self._conn is not None:
                self._conn.close()
            error = exc if isinstance(exc, DataDirError) else self._explain(exc, "the run store")
            if error is None:
                raise
            raise error from exc

    # -- plumbing ------------------------------------------------------------------------------

    def _explain(self, exc: BaseException, what: str) -> DataDirError | None:
        """The user-facing error for a failure to use the data directory; None for other errors."""
        if isinstance(exc, OSError):
            return data_dir_error(exc, self.home, what)
        if not isinstance(exc, sqlite3.Error):
            return None
        code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
        if code == _SQLITE_FULL:
            return DataDirError(full_message(self.home, what), self.home, "full")
        if code in (_SQLITE_READONLY, _SQLITE_CANTOPEN, _SQLITE_IOERR):
            # SQLite's code does not say which: ask the file system whether the folder is writable.
            probe = _probe_writable(self.home) if self.home.is_dir() else None
            if probe is not None:
                return data_dir_error(probe, self.home, what)
            if code == _SQLITE_READONLY:
                return DataDirError(read_only_message(self.home), self.home, "read-only")
            if code == _SQLITE_IOERR:
                return DataDirError(
                    f"The disk holding the data directory {self.home} is full or failing (a disk I/O "
                    f"error): {what} could not be written. Runs stored before are unchanged. Free some "
                    f"space or check the disk, or set {ENV_HOME} to a folder on a disk with room.",
                    self.home, "full")
            return DataDirError(f"The run store {self.path} cannot be opened ({exc}). Check that "
                                f"{self.home} is a writable folder, or set {ENV_HOME} to one.",
                                self.home, "unusable")
        if code in (_SQLITE_NOTADB, _SQLITE_CORRUPT):
            return DataDirError(f"{self.path} is not a Tradeoff Lab run store, or it is damaged "
                                f"(SQLite: {exc}). Move it aside to start a new store there, or set "
                                f"{ENV_HOME} to another folder.", self.home, "not-a-store")
        return None

    def _fail(self, exc: BaseException, what: str) -> DataDirError | None:
        error = self._explain(exc, what)
        if error is not None:
            self.last_write_error = str(error)
        return error

    @contextmanager
    def _tx(self, what: str = "the run") -> Iterator[sqlite3.Connection]:
        """One write transaction; taken IMMEDIATE so two writers queue instead of deadlocking.

        Any failure, COMMIT's included (a full disk shows there), rolls the whole write back.
        """
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._rollback()
                    raise
            except sqlite3.Error as exc:
                error = self._fail(exc, what)
                if error is None:
                    raise
                raise error from exc
            self.last_write_error = None

    def _rollback(self) -> None:
        if not self._conn.in_transaction:  # SQLite already rolled back (e.g. after SQLITE_FULL)
            return
        try:
            self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            log.warning("rollback failed; SQLite rolls back on the next open", exc_info=True)

    def _read(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _migrate(self, target: int = SCHEMA_VERSION) -> None:
        with self._tx("the run store") as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(f"{self.path} has schema version {version}; this version of "
                                   f"Tradeoff Lab knows up to {SCHEMA_VERSION}. Upgrade it, or point "
                                   f"{ENV_HOME} at another directory.")
            for step in range(version, target):
                MIGRATIONS[step](conn)
                conn.execute(f"PRAGMA user_version = {step + 1}")

    @property
    def schema_version(self) -> int:
        return self._read("PRAGMA user_version")[0][0]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()

    def __enter__(self) -> "RunStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def integrity_check(self) -> str:
        """SQLite's own consistency check plus foreign keys: 'ok' when all is well."""
        rows = self._read("PRAGMA integrity_check")
        result = ", ".join(r[0] for r in rows)
        broken = self._read("PRAGMA foreign_key_check")
        return result if not broken else f"{result}; {len(broken)} rows break a foreign key"

    # -- writing -------------------------------------------------------------------------------

    def mark_interrupted(self) -> list[str]:
        """Mark queued/running runs whose owning process is gone as interrupted; their ids."""
        with self._tx("the run store") as conn:
            rows = conn.execute("SELECT id, owner, updated_at FROM runs WHERE status IN "
                                "('queued','running')").fetchall()
            dead = [r["id"] for r in rows if not _owner_alive(r["owner"], r["updated_at"])]
            now = _now()
            for run_id in dead:
                conn.execute("UPDATE runs SET status='interrupted', finished_at=?, updated_at=?, "
                             "message='stopped before it finished: the process running it ended' "
                             "WHERE id=?", (now, now, run_id))
        return dead

    def create_run(self, spec: dict, *, name: str | None = None, status: str = "queued",
                   kind: str = "experiment", tags: tuple[str, ...] = ()) -> str:
        """Record a new run (queued unless told otherwise) owned by this process; its id."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}; got {status!r}")
        run_id = uuid.uuid4().hex[:10]
        now = _now()
        spec_blob = json.dumps(spec, sort_keys=True)
        # a language-model run names its text under "corpus" (pydoc_topics or text)
        dataset = (spec.get("dataset") or spec.get("corpus") or {}).get("name", "?")
        if not name:
            names = [c.get("name", "?") for c in spec.get("candidates", [])]
            name = f"{dataset}: " + ", ".join(names[:3]) + (f" +{len(names) - 3}" if len(names) > 3 else "")
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO runs (id, name, kind, status, created_at, started_at, updated_at, spec_json,"
                " spec_hash, dataset_name, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, name[:200], kind, status, now, now if status == "running" else None, now,
                 spec_blob, hashlib.sha256(spec_blob.encode()).hexdigest()[:16], dataset, self.owner))
            for tag in tags:
                conn.execute("INSERT OR IGNORE INTO tags VALUES (?, ?)", (run_id, _clean_tag(tag)))
            _write_facets(conn, run_id, spec, [])
        return run_id

    def set_status(self, run_id: str, status: str, *, message: str | None = None,
                   error: str | None = None) -> None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}; got {status!r}")
        now = _now()
        with self._tx() as conn:
            started = now if status == "running" else None
            finished = now if status not in ACTIVE_STATUSES else None
            cur = conn.execute(
                "UPDATE runs SET status=?, updated_at=?, started_at=COALESCE(started_at, ?), "
                "finished_at=COALESCE(?, finished_at), message=COALESCE(?, message), "
                "error=COALESCE(?, error), owner=? WHERE id=?",
                (status, now, started, finished, message, error, self.owner, run_id))
            _require(cur, run_id)

    def set_progress(self, run_id: str, fraction: float, message: str) -> None:
        with self._tx() as conn:
            conn.execute("UPDATE runs SET progress=?, message=?, updated_at=? WHERE id=?",
                         (min(max(float(fraction), 0.0), 1.0), message[:500], _now(), run_id))

    def progress_writer(self, run_id: str, min_interval_s: float = 0.5) -> Callable[[float, str], None]:
        """An ``on_progress`` callback that records progress at most every ``min_interval_s``."""
        last = [-math.inf]

        def write(fraction: float, message: str) -> None:
            now = time.monotonic()
            if now - last[0] < min_interval_s and fraction < 1.0:
                return
            last[0] = now
            try:
                self.set_progress(run_id, fraction, message)
            except (sqlite3.Error, DataDirError):  # best effort: a busy or full disk must not stop a run
                log.warning("could not record progress of run %s", run_id, exc_info=True)

        return write

    def save_result(self, run_id: str, result, *, status: str | None = None,
                    save_artifacts: bool = True) -> None:
        """Store an ExperimentResult (or its ``to_dict()``) as the outcome of ``run_id``.

        Model artifacts of the result's candidates (``CandidateResult.model``) are written to
        disk first, then every row in one transaction.
        """
        data = result.to_dict() if hasattr(result, "to_dict") else dict(result)
        models = [getattr(r, "model", None) for r in getattr(result, "results", [])]
        records = data["records"]
        if status is None:
            status = "cancelled" if data.get("cancelled") else "done"
        files: list[tuple[int, str, bytes]] = []
        if save_artifacts:
            for idx, model in enumerate(models):
                if model is not None:
                    files += [(idx, name, blob) for name, blob in model.artifact().items()]
        written, created = [], []
        try:
            for idx, name, blob in files:
                path = self.home / self._artifact_rel(run_id, idx, name)
                existed = path.exists()
                written.append(self._write_artifact_file(run_id, idx, name, blob))
                if not existed:
                    created.append(path)
            self._save_rows(run_id, data, records, written, status)
        except DataDirError as exc:
            # Read-only or full: drop the files no row references, and say why the run ended.
            for path in created:
                path.unlink(missing_ok=True)
                for folder in (path.parent, path.parent.parent):
                    try:
                        folder.rmdir()  # only if empty: files of earlier saves stay
                    except OSError:
                        pass
            try:
                self.set_status(run_id, "failed", message="its results could not be stored",
                                error=str(exc))
            except (DataDirError, KeyError):
                pass  # still "running"; it becomes "interrupted" when this process has ended
            self.last_write_error = str(exc)  # the small status write may fit; the results did not
            raise

    def _save_rows(self, run_id: str, data: dict, records: list[dict], written: list, status: str) -> None:
        now = _now()
        with self._tx("the run's results") as conn:
            row = conn.execute("SELECT spec_json FROM runs WHERE id=?", (run_id,)).fetchone()
            if row is None:
                raise KeyError(f"no run with id {run_id!r}")
            conn.execute("DELETE FROM candidates WHERE run_id=?", (run_id,))
            for idx, record in enumerate(records):
                self._insert_candidate(conn, run_id, idx, record)
            for idx, name, rel, sha, size in written:
                conn.execute("INSERT INTO artifacts (run_id, idx, filename, role, path, sha256, size_bytes,"
                             " created_at) VALUES (?, ?, ?, 'model', ?, ?, ?, ?)",
                             (run_id, idx, name, rel, sha, size, now))
            _write_facets(conn, run_id, json.loads(row["spec_json"]), records)
            conn.execute(
                "UPDATE runs SET status=?, dataset_json=?, environment_json=?, how_measured=?, "
                "timings_json=?, progress=COALESCE(?, progress), message=?, updated_at=?, finished_at=?, "
                "started_at=COALESCE(started_at, created_at) WHERE id=?",
                (status, json.dumps(data.get("dataset", {})), json.dumps(data.get("environment", {})),
                 data.get("how_measured", ""), json.dumps(data.get("timings", {})),
                 1.0 if status == "done" else None, _status_message(status, records), now, now, run_id))

    def _insert_candidate(self, conn: sqlite3.Connection, run_id: str, idx: int, record: dict) -> None:
        conn.execute("INSERT INTO candidates (run_id, idx, name, family, kind, status, record_json) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (run_id, idx, record.get("name", f"#{idx}"), record.get("family", "?"),
                      record.get("kind", "?"), record.get("status", "done"),
                      json.dumps(record, default=str)))
        _write_metrics(conn, run_id, idx, record)

    def record(self, result, *, name: str | None = None, tags: tuple[str, ...] = (),
               kind: str = "experiment") -> str:
        """Create a run for a finished result and store it; its id (the CLI's path)."""
        data = result.to_dict() if hasattr(result, "to_dict") else dict(result)
        run_id = self.create_run(data["spec"], name=name, status="running", kind=kind, tags=tags)
        self.save_result(run_id, result)
        return run_id

    @staticmethod
    def _artifact_rel(run_id: str, idx: int, filename: str) -> Path:
        return Path("artifacts") / _check_run_id(run_id) / str(int(idx)) / _check_filename(filename)

    def _write_artifact_file(self, run_id: str, idx: int, filename: str,
                             blob: bytes) -> tuple[int, str, str, str, int]:
        rel = self._artifact_rel(run_id, idx, filename)
        try:
            _write_file_atomic(self.home / rel, blob)
        except OSError as exc:
            raise self._fail(exc, f"the model file {rel.as_posix()}") from exc
        return idx, filename, rel.as_posix(), hashlib.sha256(blob).hexdigest(), len(blob)

    def add_artifact(self, run_id: str, idx: int, filename: str, blob: bytes, *, role: str = "model",
                     meta: dict | None = None) -> ArtifactRef:
        """Keep one more file for a candidate (e.g. its ONNX export), replacing one of that name."""
        _, _, rel, sha, size = self._write_artifact_file(run_id, idx, filename, blob)
        with self._tx() as conn:
            conn.execute("INSERT OR REPLACE INTO artifacts (run_id, idx, filename, role, path, sha256,"
                         " size_bytes, meta_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (run_id, idx, filename, role, rel, sha, size, json.dumps(meta or {}), _now()))
        return ArtifactRef(idx, filename, role, self.home / rel, sha, size, dict(meta or {}))

    def rename(self, run_id: str, name: str) -> None:
        name = name.strip()
        if not 1 <= len(name) <= 200:
            raise ValueError(f"a run name must be 1 to 200 characters; got {len(name)}")
        with self._tx() as conn:
            _require(conn.execute("UPDATE runs SET name=?, updated_at=? WHERE id=?",
                                  (name, _now(), run_id)), run_id)

    def set_tags(self, run_id: str, tags: list[str] | tuple[str, ...]) -> None:
        clean = sorted({_clean_tag(t) for t in tags if t.strip()})
        with self._tx() as conn:
            _require(conn.execute("UPDATE runs SET updated_at=? WHERE id=?", (_now(), run_id)), run_id)
            conn.execute("DELETE FROM tags WHERE run_id=?", (run_id,))
            conn.executemany("INSERT INTO tags VALUES (?, ?)", [(run_id, t) for t in clean])

    def delete(self, run_id: str) -> None:
        """Delete a run's rows, then its artifact folder (rows first: no reference may dangle)."""
        with self._tx() as conn:
            _require(conn.execute("DELETE FROM runs WHERE id=?", (run_id,)), run_id)
        shutil.rmtree(self.artifact_dir / _check_run_id(run_id), ignore_errors=True)

    # -- reading -------------------------------------------------------------------------------

    def list_runs(self, *, dataset: str | None = None, family: str | None = None,
                  model: str | None = None, technique: str | None = None, tag: str | None = None,
                  status: str | tuple[str, ...] | None = None, since: str | None = None,
                  until: str | None = None, limit: int = 500) -> list[RunSummary]:
        """Runs newest first, filtered; ``since``/``until`` compare ISO dates or timestamps (UTC)."""
        where, params = [], []
        if dataset:
            where.append("r.dataset_name = ?")
            params.append(dataset)
        for facet, value in (("family", family), ("model", model), ("technique", technique)):
            if value:
                where.append("EXISTS (SELECT 1 FROM facets f WHERE f.run_id = r.id AND f.facet = ? "
                             "AND f.value = ?)")
                params += [facet, value]
        if tag:
            where.append("EXISTS (SELECT 1 FROM tags t WHERE t.run_id = r.id AND t.tag = ?)")
            params.append(tag)
        if status:
            statuses = (status,) if isinstance(status, str) else tuple(status)
            where.append(f"r.status IN ({','.join('?' * len(statuses))})")
            params += list(statuses)
        if since:
            where.append("r.created_at >= ?")
            params.append(since)
        if until:
            # A bare date includes the whole day.
            where.append("r.created_at < ?" if "T" in until else "substr(r.created_at, 1, 10) <= ?")
            params.append(until)
        sql = ("SELECT r.*, (SELECT COUNT(*) FROM candidates c WHERE c.run_id = r.id) AS n_candidates,"
               " (SELECT MAX(value) FROM metrics m WHERE m.run_id = r.id AND m.key = 'accuracy')"
               " AS best_accuracy FROM runs r"
               + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY r.created_at DESC, r.rowid DESC LIMIT ?")
        with self._lock:
            rows = self._conn.execute(sql, (*params, int(limit))).fetchall()
            return [self._summary(row) for row in rows]

    def _summary(self, row: sqlite3.Row) -> RunSummary:
        facets: dict[str, list[str]] = {f: [] for f in FACETS}
        for f in self._conn.execute("SELECT facet, value FROM facets WHERE run_id=? ORDER BY value",
                                    (row["id"],)):
            facets[f["facet"]].append(f["value"])
        tags = tuple(t[0] for t in self._conn.execute(
            "SELECT tag FROM tags WHERE run_id=? ORDER BY tag", (row["id"],)))
        return RunSummary(row["id"], row["name"], row["kind"], row["status"], row["created_at"],
                          row["started_at"], row["finished_at"], row["dataset_name"], row["progress"],
                          row["message"], row["error"], tags, tuple(facets["family"]),
                          tuple(facets["model"]), tuple(facets["technique"]), row["n_candidates"],
                          row["best_accuracy"])

    def get_run(self, run_id: str) -> Run:
        with self._lock:
            rows = self._conn.execute(
                "SELECT r.*, (SELECT COUNT(*) FROM candidates c WHERE c.run_id = r.id) AS n_candidates,"
                " (SELECT MAX(value) FROM metrics m WHERE m.run_id = r.id AND m.key = 'accuracy')"
                " AS best_accuracy FROM runs r WHERE r.id = ?", (run_id,)).fetchall()
            if not rows:
                raise KeyError(f"no run with id {run_id!r}")
            row = rows[0]
            summary = self._summary(row)
            records = [json.loads(r[0]) for r in self._conn.execute(
                "SELECT record_json FROM candidates WHERE run_id=? ORDER BY idx", (run_id,))]
            artifacts = [ArtifactRef(a["idx"], a["filename"], a["role"], self.home / a["path"],
                                     a["sha256"], a["size_bytes"], json.loads(a["meta_json"]))
                         for a in self._conn.execute(
                             "SELECT * FROM artifacts WHERE run_id=? ORDER BY idx, role, filename",
                             (run_id,))]
        return Run(summary, json.loads(row["spec_json"]), json.loads(row["dataset_json"] or "{}"),
                   records, json.loads(row["environment_json"] or "{}"), row["how_measured"] or "",
                   json.loads(row["timings_json"] or "{}"), artifacts)

    def facet_values(self) -> dict[str, list[str]]:
        """Every value present per filter (dataset, family, model, technique, tag), sorted."""
        out = {f: [r[0] for r in self._read("SELECT DISTINCT value FROM facets WHERE facet=? "
                                              "ORDER BY value", (f,))] for f in FACETS}
        out["dataset"] = [r[0] for r in self._read("SELECT DISTINCT dataset_name FROM runs ORDER BY 1")]
        out["tag"] = [r[0] for r in self._read("SELECT DISTINCT tag FROM tags ORDER BY 1")]
        return out

    def metric_values(self, key: str) -> list[tuple[str, int, float]]:
        """(run id, candidate index, value) of one metric over every stored candidate."""
        return [(r[0], r[1], r[2]) for r in self._read(
            "SELECT run_id, idx, value FROM metrics WHERE key=? ORDER BY run_id, idx", (key,))]


def _clean_tag(tag: str) -> str:
    tag = " ".join(str(tag).split())
    if not 1 <= len(tag) <= 40:
        raise ValueError(f"a tag must be 1 to 40 characters; got {tag!r}")
    return tag


def _check_run_id(run_id: str) -> str:
    if not run_id or not all(c in "0123456789abcdef" for c in run_id) or len(run_id) > 32:
        raise ValueError(f"run id must be lowercase hex; got {run_id!r}")
    return run_id


def _require(cursor: sqlite3.Cursor, run_id: str) -> None:
    if cursor.rowcount == 0:
        raise KeyError(f"no run with id {run_id!r}")


def _status_message(status: str, records: list[dict]) -> str:
    failed = sum(r.get("status") == "failed" for r in records)
    text = {"done": "finished", "cancelled": "stopped by the user", "failed": "failed"}.get(status, status)
    return f"{text}; {len(records)} candidates" + (f", {failed} failed" if failed else "")


__all__ = ["ACTIVE_STATUSES", "ArtifactRef", "ENV_HOME", "MIGRATIONS", "Run", "RunStore", "RunSummary",
           "SCHEMA_VERSION", "STATUSES", "DataDirError", "data_home", "facets_of"]
