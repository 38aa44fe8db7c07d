"""Model files in and out: loading saved artifacts, ONNX export, and importing a user's model.

Formats: torch models as safetensors weights plus an architecture JSON (``{"spec": <model
spec dict>, "n_features", "n_classes", "image_shape"}``, what `TorchClassifier.artifact()`
writes); scikit-learn models as skops; any model as ONNX (run with onnxruntime).

Safety: a file's format is decided by its content, never by its name, and only the three
formats above are loaded. Anything that parses as a pickle (raw, inside a zip as torch.save
writes, or compressed as joblib writes) is refused with a message before any loader sees it.
skops files load only when every type they need is trusted by skops or approved by the caller.
Nothing here unpickles: torch weights come from safetensors, ONNX is protobuf.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import math
import lzma
import pickletools
import struct
import time
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .i18n import translate
from .models.base import Classifier, ParamCounts
from .models.classical import _COUNTERS, SklearnClassifier
from .models.neural import TorchClassifier, build_module
from .specs import DatasetSpec, MeasureSpec, ModelSpec

MAX_IMPORT_BYTES = 500 * 1024 * 1024
# Largest decompressed size inspected when looking for a pickle inside gzip/bz2/xz/zlib.
_MAX_INFLATE = 64 * 1024 * 1024

# ONNX parity: the exported graph must give the same class on every row and logits within this
# absolute tolerance of torch's (float32 kernels differ in summation order, not in results).
ONNX_ATOL = 1e-4

# Types that the app's own scikit-learn trainers put in skops files and that skops does not
# trust by default. Approved only when loading the app's own stored artifacts, after their
# sha256 matched the recorded one; an uploaded file must have them approved by the user.
OWN_SKOPS_TYPES = (
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
)

FORMATS = ("safetensors", "json", "onnx", "skops")


class ImportRefused(ValueError):
    """A model file that will not be loaded: the message says why and what to do."""


class UntrustedTypesError(ImportRefused):
    """A skops file needs types that nobody approved; ``types`` lists them for the user."""

    def __init__(self, types: list[str]):
        self.types = list(types)
        super().__init__("This skops file needs types that are not trusted by default: "
                         + ", ".join(self.types) + ". Loading them can run their code; approve "
                         "them only if you trust where the file came from.")


# --------------------------------------------------------------------------------------------
# Recognising a file by its bytes


def _is_pickle(data: bytes) -> bool:
    """True when ``data`` parses as a pickle stream (parsing only: pickletools runs nothing)."""
    if len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5:
        return True  # PROTO opcode: protocol 2 and later always start this way
    if not data:
        return False
    try:
        n_ops = 0
        for opcode, _arg, _pos in pickletools.genops(io.BytesIO(data[:_MAX_INFLATE])):
            n_ops += 1
            if opcode.name == "STOP":
                return n_ops > 1
    except Exception:  # not a pickle: genops meets an unknown opcode or runs off the end
        return False
    return False


def _inflate(data: bytes) -> bytes | None:
    """The decompressed bytes of a gzip/bz2/xz/zlib stream (capped), or None if not one."""
    for magic, opener in ((b"\x1f\x8b", lambda b: gzip.GzipFile(fileobj=io.BytesIO(b))),
                          (b"BZh", lambda b: bz2.BZ2File(io.BytesIO(b))),
                          (b"\xfd7zXZ\x00", lambda b: lzma.LZMAFile(io.BytesIO(b)))):
        if data.startswith(magic):
            try:
                with opener(data) as f:
                    return f.read(_MAX_INFLATE)
            except Exception:
                return None
    if len(data) >= 2 and data[0] == 0x78 and (data[0] * 256 + data[1]) % 31 == 0:  # zlib header
        try:
            return zlib.decompressobj().decompress(data, _MAX_INFLATE)
        except zlib.error:
            return None
    return None


def _zip_members(data: bytes) -> dict[str, bytes] | None:
    if not data.startswith(b"PK"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            out, total = {}, 0
            for info in zf.infolist():
                total += info.file_size
                if total > _MAX_INFLATE * 4:
                    raise ImportRefused("The zip archive inflates to more than 256 MB; refused.")
                out[info.filename] = zf.read(info)
            return out
    except zipfile.BadZipFile:
        return None


def _safetensors_header(data: bytes) -> dict | None:
    if len(data) < 10:
        return None
    (n,) = struct.unpack("<Q", data[:8])
    if n < 2 or 8 + n > len(data) or data[8:9] != b"{":
        return None
    try:
        header = json.loads(data[8:8 + n])
    except ValueError:
        return None
    return header if isinstance(header, dict) else None


def sniff(data: bytes) -> str:
    """The format of a model file from its content: one of FORMATS, 'pickle' or 'unknown'."""
    if _safetensors_header(data) is not None:
        return "safetensors"
    if _is_pickle(data):
        return "pickle"
    inflated = _inflate(data)
    if inflated is not None:
        return "pickle" if _is_pickle(inflated) or sniff(inflated) == "pickle" else "unknown"
    members = _zip_members(data)
    if members is not None:
        # torch.save writes a zip whose data.pkl is a pickle; skops writes schema.json + .npy.
        if any(name.endswith((".pkl", ".pickle")) or _is_pickle(blob) or
               (name.endswith(".npy") and b"'descr': '|O'" in blob[:256])
               for name, blob in members.items()):
            return "pickle"
        return "skops" if "schema.json" in members else "unknown"
    if data.startswith(b"\x93NUMPY"):
        return "unknown"  # .npy may hold object arrays, which numpy loads by unpickling
    try:
        parsed = json.loads(data.decode("utf-8"))
        return "json" if isinstance(parsed, dict) else "unknown"
    except (UnicodeDecodeError, ValueError):
        pass
    return "onnx" if _parse_onnx(data) is not None else "unknown"


def _parse_onnx(data: bytes):
    import onnx

    try:
        model = onnx.load_model_from_string(data)
        if not model.graph.node or model.ir_version <= 0:
            return None
        onnx.checker.check_model(model)
        return model
    except Exception:  # protobuf accepts many byte strings; a failed check means "not ONNX"
        return None


# Largest tensor an imported ONNX graph may declare or build from constants (elements; 1 GiB of
# float32). A hostile file can declare a 10^12-element output and exhaust memory on first run.
MAX_ONNX_ELEMENTS = 2 ** 28
_SHAPE_OPS = {"ConstantOfShape": 0, "Expand": 1, "Tile": 1, "Reshape": 1}  # op -> shape input


def _refuse_huge_onnx_tensors(model) -> None:
    """Refuse a graph whose declared or constant-built tensors exceed MAX_ONNX_ELEMENTS.

    Symbolic dimensions (a batch of any size) count as 1; only fixed sizes are judged.
    """
    import onnx
    from onnx import numpy_helper

    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # inference is best effort; the declared shapes are still checked
        inferred = model
    graph = inferred.graph
    for info in [*graph.input, *graph.output, *graph.value_info]:
        dims = [d.dim_value if d.HasField("dim_value") else 1
                for d in info.type.tensor_type.shape.dim]
        if dims and math.prod(dims) > MAX_ONNX_ELEMENTS:
            raise ImportRefused(f"The ONNX graph declares tensor {info.name!r} of shape {dims} "
                                f"({math.prod(dims):,} elements, over the limit of "
                                f"{MAX_ONNX_ELEMENTS:,}), so it was not run.")
    constants = {t.name: t for t in graph.initializer}
    for node in graph.node:
        index = _SHAPE_OPS.get(node.op_type)
        if index is None or len(node.input) <= index or node.input[index] not in constants:
            continue
        shape = numpy_helper.to_array(constants[node.input[index]]).astype("float64")
        if shape.size and float(abs(shape).prod()) > MAX_ONNX_ELEMENTS:
            raise ImportRefused(f"The ONNX graph's {node.op_type} node builds a tensor of shape "
                                f"{shape.astype('int64').tolist()}, over the limit of "
                                f"{MAX_ONNX_ELEMENTS:,} elements, so it was not run.")


# --------------------------------------------------------------------------------------------
# Loaders (bytes in, Classifier out)


def load_torch(weights: bytes, arch: dict) -> TorchClassifier:
    """Rebuild a torch model from safetensors bytes and its architecture description."""
    from safetensors.torch import load as load_safetensors

    if not isinstance(arch, dict) or not isinstance(arch.get("spec"), dict):
        raise ImportRefused("The architecture JSON must be an object with a 'spec' (the model "
                            "spec, e.g. {\"kind\": \"mlp\", \"hidden\": [256, 256]}), 'n_features' "
                            "and 'n_classes'.")
    try:
        spec = ModelSpec.from_dict(arch["spec"])
    except (ValueError, TypeError) as exc:
        raise ImportRefused(f"The architecture's spec is not valid: {exc}") from None
    if not spec.is_neural:
        raise ImportRefused(f"The architecture describes a {spec.kind} model, which is not a torch "
                            "network; scikit-learn models are imported as skops files.")
    n_features, n_classes = arch.get("n_features"), arch.get("n_classes")
    for key, value, high in (("n_features", n_features, 100_000), ("n_classes", n_classes, 10_000)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
            raise ImportRefused(f"architecture.{key} must be a whole number in [1, {high}]; got {value!r}")
    compression = arch.get("compression")
    if isinstance(compression, dict) and compression.get("format", "fp32") != "fp32":
        # int8 / int4 / sparse artifacts keep their own tensors; their loader rebuilds them
        from .compress.formats import load_classifier

        try:
            return load_classifier({"architecture.json": json.dumps(arch).encode(),
                                    "model.safetensors": weights})
        except Exception as exc:
            raise ImportRefused(f"Could not rebuild the compressed network "
                                f"({compression.get('format')}): {exc}") from None
    shape = arch.get("image_shape")
    image_shape = tuple(int(v) for v in shape) if shape else None
    try:
        groups = arch.get("feature_groups")
        module = build_module(spec, n_features, n_classes, image_shape,
                              tuple(int(g) for g in groups) if groups else None)
        tensors = load_safetensors(weights)
    except Exception as exc:
        raise ImportRefused(f"Could not rebuild the network: {exc}") from None
    # Compare names and shapes first: load_state_dict raises a long RuntimeError on a mismatch.
    shapes = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    missing = [k for k in shapes if k not in tensors]
    unexpected = [k for k in tensors if k not in shapes]
    wrong = [f"{k} {tuple(t.shape)} != {shapes[k]}" for k, t in tensors.items()
             if k in shapes and tuple(t.shape) != shapes[k]]
    if missing or unexpected or wrong:
        raise ImportRefused(
            "The weights do not match the architecture"
            + (f"; missing {', '.join(missing[:4])}" if missing else "")
            + (f"; unexpected {', '.join(unexpected[:4])}" if unexpected else "")
            + (f"; wrong shape {', '.join(wrong[:4])}" if wrong else "")
            + ". (A compressed model's weights are stored differently and need its own loader.)")
    module.load_state_dict(tensors, strict=True)
    return TorchClassifier(module, dict(arch), spec.family)


def load_skops(data: bytes, approved_types: Sequence[str] = ()) -> SklearnClassifier:
    """Load a skops file if every untrusted type it needs is in ``approved_types``."""
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:
        raise ImportRefused(f"This is not a readable skops file: {exc}") from None
    missing = sorted(set(untrusted) - set(approved_types))
    if missing:
        raise UntrustedTypesError(missing)
    try:
        estimator = sio.loads(data, trusted=list(untrusted))
    except Exception as exc:
        raise ImportRefused(f"The skops file could not be loaded: {exc}") from None
    if not hasattr(estimator, "predict"):
        raise ImportRefused(f"The skops file holds a {type(estimator).__name__}, not a model "
                            "with a predict method.")
    return _ImportedSklearn(estimator, "imported")


class _ImportedSklearn(SklearnClassifier):
    """A loaded estimator of any type: parameter counts fall back to its learned arrays."""

    def param_counts(self) -> ParamCounts:
        counter = _COUNTERS.get(type(self.estimator))
        if counter is not None:
            return counter(self.estimator)
        arrays = [v for k, v in vars(self.estimator).items()
                  if k.endswith("_") and isinstance(v, np.ndarray) and v.dtype.kind in "fiu"]
        return ParamCounts(sum(a.size for a in arrays), sum(int(np.count_nonzero(a)) for a in arrays),
                           "numeric learned arrays of the estimator (generic count for an imported type)")


class OnnxClassifier(Classifier):
    """An ONNX graph run by onnxruntime on the CPU; the first output is logits or labels."""

    def __init__(self, onnx_bytes: bytes, n_threads: int = 1, family: str = "imported"):
        import onnxruntime as ort

        self.onnx_bytes = onnx_bytes
        self.family = family
        self.n_threads = n_threads
        options = ort.SessionOptions()
        # onnxruntime keeps its own thread pool, outside torch's and BLAS's: pin it here so the
        # harness's thread budget holds for ONNX too.
        options.intra_op_num_threads = n_threads
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ImportRefused(f"onnxruntime cannot run this ONNX model: {exc}") from None
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        dim = inp.shape[1] if len(inp.shape) == 2 else None
        self.n_features = dim if isinstance(dim, int) else None

    def outputs(self, X: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: np.ascontiguousarray(X, dtype=np.float32)})[0]

    def predict(self, X: np.ndarray) -> np.ndarray:
        out = self.outputs(X)
        return out.argmax(axis=1) if out.ndim == 2 else out.astype(np.int64)

    def artifact(self) -> dict[str, bytes]:
        return {"model.onnx": self.onnx_bytes}

    def _initializers(self) -> list[np.ndarray]:
        import onnx
        from onnx import numpy_helper

        model = onnx.load_model_from_string(self.onnx_bytes)
        return [numpy_helper.to_array(t) for t in model.graph.initializer]

    def param_counts(self) -> ParamCounts:
        arrays = [a for a in self._initializers() if a.dtype.kind in "fiu"]
        return ParamCounts(sum(a.size for a in arrays), sum(int(np.count_nonzero(a)) for a in arrays),
                           "elements of the graph's initializers (weights, biases, constants)")

    def memory_bytes(self) -> int:
        return sum(a.nbytes for a in self._initializers())


# --------------------------------------------------------------------------------------------
# ONNX export


@dataclass(frozen=True)
class OnnxCheck:
    n_rows: int
    prediction_agreement: float      # share of rows where ONNX and torch pick the same class
    max_abs_logit_diff: float
    tolerance: float                 # ONNX_ATOL: the allowed max_abs_logit_diff

    @property
    def ok(self) -> bool:
        return self.prediction_agreement == 1.0 and self.max_abs_logit_diff <= self.tolerance


@dataclass(frozen=True)
class OnnxExport:
    available: bool
    reason: str = ""                 # why not, when not available
    onnx_bytes: bytes = field(default=b"", repr=False)
    check: OnnxCheck | None = None
    metrics: Any = None              # core.measure.Metrics of the ONNX model, same harness
    export_seconds: float = 0.0
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"available": self.available, "reason": self.reason, "size_bytes": len(self.onnx_bytes),
                "check": None if self.check is None else {**self.check.__dict__, "ok": self.check.ok},
                "metrics": None if self.metrics is None else self.metrics.to_dict(),
                "export_seconds": self.export_seconds, "notes": list(self.notes)}


def onnx_unavailable_reason(model: Classifier) -> str | None:
    """Why ``model`` cannot be exported to ONNX here, or None when it can."""
    if isinstance(model, OnnxClassifier):
        return None
    if isinstance(model, SklearnClassifier):
        return ("scikit-learn models are not exported to ONNX: that needs skl2onnx, which is not "
                "installed. They are saved with skops only.")
    if not isinstance(model, TorchClassifier):
        return f"no ONNX exporter for {type(model).__name__}"
    return None


def export_onnx(model: TorchClassifier, n_features: int) -> bytes:
    """The model as an ONNX graph: input ``features`` (batch, n_features) float32 -> ``logits``."""
    import torch

    buffer = io.BytesIO()
    example = torch.zeros(2, n_features, dtype=torch.float32)
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of the dynamo one, which needs
        # onnxscript (not installed); it still exports these plain networks exactly.
        warnings.simplefilter("ignore")
        torch.onnx.export(model.module.eval(), (example,), buffer, input_names=["features"],
                          output_names=["logits"], dynamo=False,
                          dynamic_axes={"features": {0: "batch"}, "logits": {0: "batch"}})
    return buffer.getvalue()


def check_onnx(model: TorchClassifier, onnx_model: OnnxClassifier, X: np.ndarray) -> OnnxCheck:
    """Compare ONNX with torch on the rows of ``X``: classes against ``model.predict`` (the model
    as the harness measured it), logits against the module's."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    ref = model.logits(X).float().numpy()
    got = onnx_model.outputs(X)
    return OnnxCheck(len(X), float(np.mean(model.predict(X) == got.argmax(1))),
                     float(np.max(np.abs(ref - got))) if ref.size else 0.0, ONNX_ATOL)


def onnx_export(model: Classifier, X_test: np.ndarray, y_test: np.ndarray,
                spec: MeasureSpec | None = None) -> OnnxExport:
    """Export to ONNX, check parity on the test rows, and measure the ONNX model's figures."""
    from .measure import measure

    reason = onnx_unavailable_reason(model)
    if reason is not None:
        return OnnxExport(False, reason)
    spec = spec or MeasureSpec()
    t0 = time.perf_counter()
    if isinstance(model, OnnxClassifier):
        onnx_bytes, check = model.onnx_bytes, None
        onnx_model = model
    else:
        try:
            onnx_bytes = export_onnx(model, X_test.shape[1])
        except Exception as exc:  # e.g. a compressed model with ops the exporter lacks
            return OnnxExport(False, f"torch.onnx.export failed: {str(exc).splitlines()[0][:300]}")
        try:
            onnx_model = OnnxClassifier(onnx_bytes, spec.n_threads, model.family)
            check = check_onnx(model, onnx_model, X_test)
        except Exception as exc:  # e.g. a shape the tracer fixed to the example's batch size
            return OnnxExport(False, "the exported graph does not run in onnxruntime on the test "
                                     f"rows: {str(exc).splitlines()[0][:300]}")
    seconds = time.perf_counter() - t0
    notes = ()
    if type(model) is not TorchClassifier and not isinstance(model, OnnxClassifier):
        # Compressed variants keep their saved format (int4, bitmask sparse) outside the module;
        # the exporter traces the module, so the ONNX file holds dense float32 weights.
        notes = (translate("en", "notes.onnx_dense", model_class=type(model).__name__),)
    return OnnxExport(True, "", onnx_bytes, check, measure(onnx_model, X_test, y_test, spec), seconds,
                      notes)


# --------------------------------------------------------------------------------------------
# Import: bytes from a user (names ignored) -> a model evaluated on a chosen dataset


@dataclass
class Imported:
    model: Classifier
    format: str                      # safetensors+json | onnx | skops
    sha256: str                      # of the model file (weights for torch)
    size_bytes: int
    n_features: int | None           # what the model expects, when the file says
    n_classes: int | None
    description: str


def load_model_files(blobs: Sequence[bytes], approved_types: Sequence[str] = (),
                     n_threads: int = 1) -> Imported:
    """Load one uploaded model: an ONNX or skops file, or safetensors plus its architecture JSON.

    Files are recognised by content; a pickle in any form is refused before anything loads it.
    """
    blobs = [bytes(b) for b in blobs]
    if not 1 <= len(blobs) <= 2:
        raise ImportRefused(f"Give one model file, or safetensors weights plus an architecture "
                            f"JSON; got {len(blobs)} files.")
    for blob in blobs:
        if len(blob) > MAX_IMPORT_BYTES:
            raise ImportRefused(f"The file is {len(blob) / 1e6:.0f} MB; the limit is "
                                f"{MAX_IMPORT_BYTES / 1e6:.0f} MB.")
    kinds = [sniff(b) for b in blobs]
    if "pickle" in kinds:
        raise ImportRefused("This file is a Python pickle (whatever its name says). Pickles can run "
                            "arbitrary code when loaded, so it was not opened. Save torch weights "
                            "with safetensors, scikit-learn models with skops, or export to ONNX.")
    if "unknown" in kinds:
        raise ImportRefused("The file is not safetensors, ONNX, skops or an architecture JSON, so "
                            "it was not loaded.")
    by_kind = dict(zip(kinds, blobs))
    if len(by_kind) != len(blobs):
        raise ImportRefused(f"Two files of the same kind ({kinds[0]}); give one model file.")
    if "safetensors" in by_kind:
        if "json" not in by_kind:
            raise ImportRefused("safetensors holds only weights: add the architecture JSON saved "
                                "beside it (architecture.json).")
        try:
            arch = json.loads(by_kind["json"])
        except ValueError as exc:
            raise ImportRefused(f"The architecture JSON does not parse: {exc}") from None
        model = load_torch(by_kind["safetensors"], arch)
        weights = by_kind["safetensors"]
        return Imported(model, "safetensors+json", hashlib.sha256(weights).hexdigest(), len(weights),
                        arch["n_features"], arch["n_classes"],
                        f"torch {arch['spec'].get('kind')} from safetensors + architecture JSON")
    if len(blobs) != 1:
        raise ImportRefused(f"Expected one model file; got {' and '.join(kinds)}.")
    blob, kind = blobs[0], kinds[0]
    sha = hashlib.sha256(blob).hexdigest()
    if kind == "json":
        raise ImportRefused("An architecture JSON alone has no weights: add the safetensors file.")
    if kind == "onnx":
        _refuse_huge_onnx_tensors(_parse_onnx(blob))
        model = OnnxClassifier(blob, n_threads)
        n_out = model.session.get_outputs()[0].shape
        n_classes = n_out[1] if len(n_out) == 2 and isinstance(n_out[1], int) else None
        return Imported(model, "onnx", sha, len(blob), model.n_features, n_classes, "ONNX graph")
    model = load_skops(blob, approved_types)
    est = model.estimator
    classes = getattr(est, "classes_", None)
    return Imported(model, "skops", sha, len(blob), getattr(est, "n_features_in_", None),
                    len(classes) if classes is not None else None,
                    f"scikit-learn {type(est).__name__} from skops")


@dataclass
class ImportResult:
    """An imported model measured on a dataset, shaped like ExperimentResult for the store."""

    spec: dict
    dataset: dict
    results: list                    # one core.experiment.CandidateResult
    environment: dict
    how_measured: str
    timings: dict

    def to_dict(self) -> dict:
        return {"spec": self.spec, "dataset": self.dataset,
                "records": [r.to_record() for r in self.results], "environment": self.environment,
                "how_measured": self.how_measured, "timings": self.timings, "cancelled": False}


def evaluate_import(imported: Imported, dataset: DatasetSpec, measure_spec: MeasureSpec | None = None,
                    name: str = "Imported model") -> ImportResult:
    """Measure an imported model on ``dataset``'s test split with the shared harness."""
    from .data import load
    from .experiment import CandidateResult
    from .measure import environment, how_measured, measure

    measure_spec = measure_spec or MeasureSpec()
    t0 = time.perf_counter()
    data = load(dataset)
    if imported.n_features is not None and imported.n_features != data.n_features:
        raise ImportRefused(f"The model expects {imported.n_features} features; dataset "
                            f"{dataset.name!r} has {data.n_features}. Pick the dataset it was trained on.")
    if imported.n_classes is not None and imported.n_classes != data.n_classes:
        raise ImportRefused(f"The model predicts {imported.n_classes} classes; dataset "
                            f"{dataset.name!r} has {data.n_classes}.")
    classes = getattr(getattr(imported.model, "estimator", None), "classes_", None)
    if classes is not None and not np.array_equal(np.asarray(classes), np.arange(data.n_classes)):
        raise ImportRefused(f"The model's classes are {list(classes)[:6]}; this tool's datasets use "
                            f"class indices 0..{data.n_classes - 1}.")
    t_data = time.perf_counter() - t0
    try:
        metrics = measure(imported.model, data.X_test, data.y_test, measure_spec)
    except Exception as exc:
        raise ImportRefused(f"The model failed on {dataset.name!r}'s rows: {exc}") from None
    described = {"format": imported.format, "sha256": imported.sha256,
                 "size_bytes": imported.size_bytes, "description": imported.description}
    record = CandidateResult(name, "imported", f"imported {imported.format}", metrics=metrics,
                             notes=(translate("en", "notes.imported", description=imported.description,
                                              sha256=imported.sha256[:16]),),
                             settings={"import": described}, model=imported.model)
    t_total = time.perf_counter() - t0
    spec = {"import": described, "dataset": dataset.to_dict(), "measure": measure_spec.to_dict(),
            "candidates": [{"name": name, "imported": described}]}
    return ImportResult(spec, data.summary(), [record], environment(measure_spec.n_threads),
                        how_measured(measure_spec),
                        {"data": t_data, "measure": t_total - t_data, "total": t_total})


# --------------------------------------------------------------------------------------------
# The app's own stored artifacts


def load_stored_model(artifacts: Sequence, idx: int, n_threads: int = 1) -> Classifier:
    """Load candidate ``idx``'s model from a run's `ArtifactRef`s, checking each sha256 first."""
    files = {a.filename: a for a in artifacts if a.idx == idx and a.role == "model"}
    if "model.safetensors" in files and "architecture.json" in files:
        arch = json.loads(files["architecture.json"].read_verified())
        return load_torch(files["model.safetensors"].read_verified(), arch)
    if "model.skops" in files:
        return load_skops(files["model.skops"].read_verified(), OWN_SKOPS_TYPES)
    if "model.onnx" in files:
        return OnnxClassifier(files["model.onnx"].read_verified(), n_threads)
    raise ImportRefused(f"candidate {idx} has no stored model files that can be loaded "
                        f"(has: {', '.join(sorted(files)) or 'none'})")


__all__ = ["FORMATS", "ImportRefused", "ImportResult", "Imported", "MAX_IMPORT_BYTES", "ONNX_ATOL",
           "OWN_SKOPS_TYPES", "OnnxCheck", "OnnxClassifier", "OnnxExport", "UntrustedTypesError",
           "check_onnx", "evaluate_import", "export_onnx", "load_model_files", "load_skops",
           "load_stored_model", "load_torch", "onnx_export", "onnx_unavailable_reason", "sniff"]
