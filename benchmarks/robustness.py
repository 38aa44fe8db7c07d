"""Bad input and hostile files, tried for real; ends with one line of counts.

    .venv/bin/python benchmarks/robustness.py

Tries every malformed CSV of tests/data/bad_csv plus two generated ones (60 MB, 2,000 columns),
settings at and beyond their limits, hostile model files (pickles that would create a marker
file if they ever ran, under several names and wrappers; a zip bomb; truncated safetensors; an
ONNX file declaring an absurd shape; random bytes), data directories that cannot be used (read-only,
a full disk by SQLite's page limit and by a file-size limit, a file in the way, a database that is
not a run store, a writer killed mid-run) and names that are markup or paths (run names, tags,
candidate names, CSV columns). A run store filled beforehand is checked afterwards: every run must
still be there and readable.

An input counts as "refused with message" when the engine raises its own user-facing error
(DataError, ValueError with the field named, ImportRefused, DataDirError naming the directory and
TRADEOFF_LAB_HOME) with a non-empty message; any other exception is a crash. A markup name that
reaches the HTML report unescaped counts as a payload executed.
"""

from __future__ import annotations

import gzip
import html
import io
import json
import os
import pickle
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.artifacts import ImportRefused, load_model_files  # noqa: E402
from core.data import DataError, load  # noqa: E402
from core.experiment import run  # noqa: E402
from core.limits import LimitExceeded, check_limits  # noqa: E402
from core.specs import (CandidateSpec, DatasetSpec, ExperimentSpec, LogisticRegressionSpec,  # noqa: E402
                        MeasureSpec, ModelSpec, TrainSpec)
from core.export import html_report  # noqa: E402
from core.paths import DataDirError  # noqa: E402
from core.store import RunStore  # noqa: E402

USER_ERRORS = (DataError, ValueError, ImportRefused, LimitExceeded, DataDirError)
MARKUP = "<img src=x onerror=alert(1)>"


class Tally:
    def __init__(self):
        self.tried = self.refused = self.accepted = self.crashes = 0

    def attempt(self, label: str, fn) -> None:
        self.tried += 1
        try:
            fn()
        except USER_ERRORS as exc:
            if not str(exc).strip():
                self.crashes += 1
                print(f"  CRASH (empty message) {label}")
            else:
                self.refused += 1
        except Exception as exc:  # anything else is a bug
            self.crashes += 1
            print(f"  CRASH {label}: {type(exc).__name__}: {exc}")
        else:
            self.accepted += 1
            print(f"  accepted: {label}")


class _Payload:
    """Unpickling this creates the marker file: proof that a load ran the payload."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def hostile_files(marker: Path) -> dict[str, list[bytes]]:
    raw = pickle.dumps(_Payload(marker))
    torch_zip = io.BytesIO()
    with zipfile.ZipFile(torch_zip, "w") as z:  # the layout torch.save writes
        z.writestr("archive/data.pkl", raw)
        z.writestr("archive/version", "3\n")
    fake_skops = io.BytesIO()
    with zipfile.ZipFile(fake_skops, "w") as z:
        z.writestr("schema.json", json.dumps({"__class__": "X", "__module__": "os"}))
        z.writestr("payload.pkl", raw)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("schema.json", b"0" * (200 * 1024 * 1024))  # 200 MB of zeros, ~200 KB zipped
    header = json.dumps({"w": {"dtype": "F32", "shape": [1000, 1000], "data_offsets": [0, 4_000_000]}}).encode()
    truncated = len(header).to_bytes(8, "little") + header + b"\x00" * 100
    arch = json.dumps({"spec": {"kind": "mlp", "hidden": [8]}, "n_features": 4, "n_classes": 3,
                       "image_shape": None}).encode()
    onnx_absurd = _absurd_onnx()
    rng = np.random.default_rng(0)
    return {
        "pickle named .pt": [raw], "pickle named .pkl": [raw], "pickle named .joblib": [raw],
        "pickle named .skops": [raw], "torch.save zip with pickle": [torch_zip.getvalue()],
        "gzip-wrapped pickle": [gzip.compress(raw)], "skops-looking zip with pickle": [fake_skops.getvalue()],
        "zip bomb": [bomb.getvalue()], "truncated safetensors + arch": [truncated, arch],
        "architecture JSON alone": [arch], "ONNX with absurd shape": [onnx_absurd],
        "random bytes": [rng.bytes(4096)], "empty file": [b""],
        "pickle + architecture JSON": [raw, arch],
    }


def _absurd_onnx() -> bytes:
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10 ** 12])
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [10 ** 6, 10 ** 6])
    node = helper.make_node("ConstantOfShape", ["shape"], ["y"])
    graph = helper.make_graph([node], "absurd", [x], [y], initializer=[shape])
    return helper.make_model(graph).SerializeToString()


SETTINGS = [
    lambda: TrainSpec(epochs=0), lambda: TrainSpec(lr=0.0), lambda: TrainSpec(lr=float("nan")),
    lambda: TrainSpec(batch_size=0), lambda: TrainSpec(momentum=1.0), lambda: TrainSpec(prune_sparsity=1.0),
    lambda: TrainSpec(optimizer="magic"), lambda: TrainSpec(epochs=10 ** 9),
    lambda: DatasetSpec(test_fraction=0.0), lambda: DatasetSpec(test_fraction=1.0),
    lambda: DatasetSpec(n_samples=10 ** 9), lambda: DatasetSpec(name="csv"),
    lambda: DatasetSpec("classification", n_features=2, n_classes=50),
    lambda: ModelSpec.from_dict({"kind": "mlp", "hidden": [10 ** 9]}),
    lambda: ModelSpec.from_dict({"kind": "mlp", "hidden": []}),
    lambda: ModelSpec.from_dict({"kind": "random_forest", "n_estimators": -1}),
    lambda: ModelSpec.from_dict({"kind": "nope"}),
    lambda: MeasureSpec(min_repeats=0),
    lambda: CandidateSpec("x"),
]


def _clear(home: Path, fn):
    """Run ``fn``; a DataDirError must name the directory and say what to set, else it is a crash."""
    def attempt():
        try:
            fn()
        except DataDirError as exc:
            if str(home) not in str(exc) or "TRADEOFF_LAB_HOME" not in str(exc):
                raise RuntimeError(f"unclear message: {exc}") from exc
            raise
    return attempt


def _read_only(path: Path):
    """Make ``path`` unwritable (permissions; for root, who ignores them, the immutable attribute).

    Returns the function that undoes it, or None when nothing here can make it read-only.
    """
    paths = [path, *path.rglob("*")]
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in paths}
        for p in reversed(paths):
            p.chmod(0o555 if p.is_dir() else 0o444)
        undo = lambda: [p.chmod(modes[p]) for p in paths]  # noqa: E731
    elif shutil.which("chattr") and subprocess.run(["chattr", "-R", "+i", str(path)],
                                                   capture_output=True).returncode == 0:
        undo = lambda: subprocess.run(["chattr", "-R", "-i", str(path)], check=True)  # noqa: E731
    else:
        return None
    try:
        (path / ".probe").write_bytes(b"x")
    except OSError:
        return undo
    (path / ".probe").unlink()
    undo()
    return None


def data_dir_faults(tally: Tally, tmp: Path, result) -> list[tuple[Path, list[str]]]:
    """Stores that cannot be used or written; each with runs stored before, checked at the end."""
    checked = []

    def filled(name: str) -> tuple[Path, list[str]]:
        home = tmp / name
        with RunStore(home) as store:
            ids = [store.record(result, name=f"kept in {name} {i}") for i in range(2)]
        checked.append((home, ids))
        return home, ids

    home, _ = filled("read-only")
    undo = _read_only(home)
    if undo is None:
        print("  (read-only data directory: nothing here can make a folder read-only; not tried)")
    else:
        try:
            tally.attempt("read-only data directory", _clear(home, lambda: RunStore(home)))
            tally.attempt("new store in a read-only folder", _clear(home / "x", lambda: RunStore(home / "x")))
        finally:
            undo()

    home, _ = filled("full-db")
    store = RunStore(home)
    run_id = store.create_run(result.to_dict()["spec"], status="running")
    store._conn.execute(f"PRAGMA max_page_count = {store._read('PRAGMA page_count')[0][0]}")
    tally.attempt("full disk (SQLite page limit)", _clear(home, lambda: store.save_result(run_id, result)))
    store.close()

    home, _ = filled("full-fsize")
    store = RunStore(home)
    run_id = store.create_run(result.to_dict()["spec"], status="running")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG

    def limited_save():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, hard))  # smaller than any model file
        try:
            store.save_result(run_id, result)
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))

    tally.attempt("full disk (file-size limit)", _clear(home, limited_save))
    signal.signal(signal.SIGXFSZ, handler)
    store.close()

    in_the_way = tmp / "a-file"
    in_the_way.write_text("notes")
    tally.attempt("a file where the data directory should be",
                  _clear(in_the_way, lambda: RunStore(in_the_way)))
    foreign = tmp / "foreign"
    foreign.mkdir()
    (foreign / "runs.sqlite").write_bytes(b"not a database " * 500)
    tally.attempt("a database file that is not a run store", _clear(foreign, lambda: RunStore(foreign)))

    home, _ = filled("killed-writer")

    def writer_killed_mid_run():
        code = ("import sys, time, types\n"
                f"sys.path.insert(0, {str(REPO)!r})\n"
                "pkg = types.ModuleType('core'); pkg.__path__ = [" + repr(str(REPO / "core")) + "]\n"
                "sys.modules['core'] = pkg\n"
                "from core.store import RunStore\n"
                f"s = RunStore({str(home)!r})\n"
                "r = s.create_run({'dataset': {'name': 'iris'}, 'candidates': []}, status='running')\n"
                "print(r, flush=True)\n"
                "while True:\n    s.set_progress(r, 0.5, 'busy')\n")
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        run_id = child.stdout.readline().strip()
        child.send_signal(signal.SIGKILL)  # in the middle of a stream of writes
        child.wait()
        with RunStore(home) as store:
            status = store.get_run(run_id).summary.status
        if status != "interrupted":
            raise RuntimeError(f"a run whose writer was killed shows {status!r}")

    tally.attempt("writer killed mid-run (SIGKILL)", writer_killed_mid_run)
    return checked


def markup_and_path_names(tally: Tally, tmp: Path, result) -> int:
    """Names that are markup or paths: stored as text; the HTML report must escape them."""
    executed = 0
    home = tmp / "names"
    store = RunStore(home)
    names = [MARKUP, "../../evil", "/etc/passwd", "a\\b.csv", "..", "<script>alert(1)</script>"]
    for name in names:
        def store_and_report(name=name):
            nonlocal executed
            run_id = store.record(result, name=name, tags=(name[:40],))
            run_ = store.get_run(run_id)
            assert run_.name == name and run_.summary.tags == (" ".join(name[:40].split()),)
            report = html_report([run_.to_dict()])
            if "<" in name and name in report:
                executed += 1
            assert html.escape(name) in report
        tally.attempt(f"run name and tag {name!r}", store_and_report)
    outside = [p for p in tmp.rglob("*") if "evil" in p.name or p.name == "passwd"]
    if outside:
        raise SystemExit(f"a name was used as a path: {outside}")
    csv = tmp / "markup-columns.csv"
    csv.write_text(f'id,"{MARKUP}",label\n' + "".join(f"{i},{i % 5},{'ab'[i % 2]}\n" for i in range(60)))
    tally.attempt("CSV column named with markup", lambda: load(DatasetSpec("csv", csv_path=str(csv))))
    store.close()
    return executed


def main() -> None:
    tally = Tally()
    corpus = sorted((REPO / "tests" / "data" / "bad_csv").glob("*.csv"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["TRADEOFF_LAB_HOME"] = str(tmp / "home")
        store = RunStore(tmp / "home")
        tiny = ExperimentSpec(DatasetSpec("iris"), (CandidateSpec("lr", LogisticRegressionSpec()),),
                              MeasureSpec(warmup=1, min_repeats=3, min_seconds=0.0, max_seconds=0.2))
        before = [store.record(run(tiny), name=f"kept {i}") for i in range(3)]

        print(f"CSV files: {len(corpus)} from the corpus + 2 generated")
        for path in corpus:
            tally.attempt(path.name, lambda p=path: load(DatasetSpec("csv", csv_path=str(p))))
        big = tmp / "big.csv"
        with open(big, "wb") as f:
            f.write(b"a,b,label\n" + b"1.234567,2.345678,yes\n" * (60 * 1024 * 1024 // 22))
        tally.attempt("60 MB", lambda: load(DatasetSpec("csv", csv_path=str(big))))
        wide = tmp / "wide.csv"
        rng = np.random.default_rng(0)
        rows = "\n".join(",".join(f"{v:.3f}" for v in rng.normal(size=2000)) + f",{i % 3}" for i in range(60))
        wide.write_text(",".join(f"f{i}" for i in range(2000)) + ",label\n" + rows)
        tally.attempt("2,000 columns", lambda: load(DatasetSpec("csv", csv_path=str(wide))))

        print(f"settings: {len(SETTINGS) + 1}")
        for make in SETTINGS:
            tally.attempt("setting", make)
        digits = load(DatasetSpec("digits"))
        huge = ExperimentSpec(DatasetSpec("digits"), (CandidateSpec("huge", ModelSpec.from_dict(
            {"kind": "mlp", "hidden": [8192] * 8})),))
        tally.attempt("470 M-parameter network", lambda: check_limits(huge, digits))

        marker = tmp / "payload-ran"
        files = hostile_files(marker)
        print(f"hostile model files: {len(files)}")
        for label, blobs in files.items():
            tally.attempt(label, lambda b=blobs: load_model_files(b))
        executed = int(marker.exists())

        print("data directories that cannot be used or written:")
        faults = data_dir_faults(tally, tmp, run(tiny))
        print("names that are markup or paths:")
        executed += markup_and_path_names(tally, tmp, run(tiny))

        after = {r.id for r in store.list_runs()}
        lost = sum(run_id not in after for run_id in before)
        for run_id in before:
            if run_id in after and not store.get_run(run_id).records:
                lost += 1
        integrity = [store.integrity_check()]
        store.close()
        for home, ids in faults:  # every store a fault was tried on: its earlier runs are all there
            with RunStore(home) as other:
                integrity.append(other.integrity_check())
                kept = {r.id for r in other.list_runs()}
                lost += sum(i not in kept or not other.get_run(i).records for i in ids)
    print(f"store integrity after the attempts: {', '.join(sorted(set(integrity)))} ({len(integrity)} stores)")
    print(f"inputs tried {tally.tried}, refused with message {tally.refused}, accepted {tally.accepted}, "
          f"crashes {tally.crashes}, payloads executed {executed}, runs lost {lost}")


if __name__ == "__main__":
    main()
