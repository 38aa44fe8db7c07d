"""Bad input and hostile files, tried for real; ends with one line of counts.

    .venv/bin/python benchmarks/robustness.py

Tries every malformed CSV of tests/data/bad_csv plus two generated ones (60 MB, 2,000 columns),
settings at and beyond their limits, and hostile model files (pickles that would create a marker
file if they ever ran, under several names and wrappers; a zip bomb; truncated safetensors; an
ONNX file declaring an absurd shape; random bytes). A run store filled beforehand is checked
afterwards: every run must still be there and readable.

An input counts as "refused with message" when the engine raises its own user-facing error
(DataError, ValueError with the field named, ImportRefused) with a non-empty message; any other
exception is a crash.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import pickle
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
from core.store import RunStore  # noqa: E402

USER_ERRORS = (DataError, ValueError, ImportRefused, LimitExceeded)


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

        after = {r.id for r in store.list_runs()}
        lost = sum(run_id not in after for run_id in before)
        for run_id in before:
            if run_id in after and not store.get_run(run_id).records:
                lost += 1
        integrity = store.integrity_check()
        store.close()
    print(f"store integrity after the attempts: {integrity}")
    print(f"inputs tried {tally.tried}, refused with message {tally.refused}, accepted {tally.accepted}, "
          f"crashes {tally.crashes}, payloads executed {executed}, runs lost {lost}")


if __name__ == "__main__":
    main()
