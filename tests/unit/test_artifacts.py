"""Model files: save/load per format, ONNX parity, and refusing pickles and untrusted skops types."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
import torch
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import FunctionTransformer

from core.artifacts import (ONNX_ATOL, ImportRefused, OnnxClassifier, UntrustedTypesError,
                            evaluate_import, load_model_files, onnx_export, sniff)
from core.data import load
from core.specs import (CNNSpec, DatasetSpec, KNeighborsSpec, LogisticRegressionSpec, MeasureSpec,
                        RandomForestSpec, TinyMLPSpec, TrainSpec)
from core.train import fit_classical, fit_neural

FAST = MeasureSpec(warmup=1, min_repeats=3, min_seconds=0.0, max_seconds=0.05, batch_size=32)


@pytest.fixture(scope="module")
def digits():
    return load(DatasetSpec("digits"))


@pytest.fixture(scope="module")
def nets(digits):
    train = TrainSpec(epochs=2, batch_size=128)
    return {"mlp": fit_neural(TinyMLPSpec(hidden=(16,)), train, digits)[0],
            "cnn": fit_neural(CNNSpec(channels=(4,), hidden=8), train, digits)[0]}


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_torch_safetensors_round_trip_predicts_identically(nets, digits, kind):
    model = nets[kind]
    files = model.artifact()
    assert sniff(files["model.safetensors"]) == "safetensors" and sniff(files["architecture.json"]) == "json"
    # Order does not matter and names are not used: files are recognised by content.
    imported = load_model_files([files["architecture.json"], files["model.safetensors"]])
    assert imported.format == "safetensors+json" and imported.n_features == 64
    np.testing.assert_array_equal(imported.model.predict(digits.X_test), model.predict(digits.X_test))
    assert imported.model.param_counts() == model.param_counts()


@pytest.mark.parametrize("spec", [LogisticRegressionSpec(), KNeighborsSpec()])
def test_skops_round_trip_predicts_identically(digits, spec):
    model, _ = fit_classical(spec, digits)
    blob = model.artifact()["model.skops"]
    assert sniff(blob) == "skops"
    imported = load_model_files([blob])
    np.testing.assert_array_equal(imported.model.predict(digits.X_test), model.predict(digits.X_test))


def test_skops_with_types_outside_skops_defaults_needs_approval(digits):
    model, _ = fit_classical(RandomForestSpec(n_estimators=3), digits)
    blob = model.artifact()["model.skops"]
    with pytest.raises(UntrustedTypesError, match="sklearn.tree._tree.Tree") as refused:
        load_model_files([blob])
    imported = load_model_files([blob], approved_types=refused.value.types)
    np.testing.assert_array_equal(imported.model.predict(digits.X_test), model.predict(digits.X_test))


def test_untrusted_skops_type_is_refused_and_never_loaded(tmp_path):
    marker = tmp_path / "ran"
    # A function reference is an untrusted type: loading it would hand os.system to the caller.
    blob = sio.dumps(FunctionTransformer(func=os.system, kw_args={"command": f"touch {marker}"}))
    with pytest.raises(UntrustedTypesError) as refused:
        load_model_files([blob])
    assert any("system" in t for t in refused.value.types)
    assert "approve them only if you trust" in str(refused.value)
    # Approving some other type does not help.
    with pytest.raises(UntrustedTypesError):
        load_model_files([blob], approved_types=["collections.OrderedDict"])
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_onnx_export_matches_torch_within_tolerance(nets, digits, kind):
    model = nets[kind]
    exported = onnx_export(model, digits.X_test, digits.y_test, FAST)
    assert exported.available and exported.check.ok
    assert exported.check.prediction_agreement == 1.0
    assert exported.check.max_abs_logit_diff <= ONNX_ATOL
    assert exported.check.n_rows == len(digits.X_test)
    # Its size and latency come from the same harness as every other model.
    assert exported.metrics.size_bytes == len(exported.onnx_bytes)
    assert exported.metrics.artifact_format == "onnx" and exported.metrics.latency_ms_p50 > 0
    assert exported.metrics.accuracy == pytest.approx(
        accuracy_score(digits.y_test, model.predict(digits.X_test)))
    # And it loads back as an import, recognised by content.
    assert sniff(exported.onnx_bytes) == "onnx"
    imported = load_model_files([exported.onnx_bytes])
    assert isinstance(imported.model, OnnxClassifier) and imported.n_features == 64
    np.testing.assert_array_equal(imported.model.predict(digits.X_test), model.predict(digits.X_test))
    assert imported.model.param_counts().total == model.param_counts().total


def test_onnx_export_of_sklearn_says_why_not(digits):
    model, _ = fit_classical(LogisticRegressionSpec(), digits)
    exported = onnx_export(model, digits.X_test, digits.y_test, FAST)
    assert not exported.available and "skl2onnx" in exported.reason


class _Payload:
    """Unpickling this creates the marker file: proof that a pickle's code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _disguises(marker: Path) -> dict[str, bytes]:
    payload = _Payload(marker)
    torch_zip = io.BytesIO()
    torch.save({"weights": payload}, torch_zip)
    fake_skops = io.BytesIO()
    with zipfile.ZipFile(fake_skops, "w") as zf:
        zf.writestr("schema.json", '{"__class__": "dict"}')
        zf.writestr("data.pkl", pickle.dumps(payload))
    out = {f"model.pt (protocol {p})": pickle.dumps(payload, protocol=p) for p in range(6)}
    out["model.skops (torch.save zip)"] = torch_zip.getvalue()
    out["model.skops (zip with schema.json and data.pkl)"] = fake_skops.getvalue()
    out["model.safetensors (joblib-style gzip)"] = gzip.compress(pickle.dumps(payload))
    return out


def test_payload_would_run_if_unpickled(tmp_path):
    # The refusal tests below mean something only if these payloads are live.
    marker = tmp_path / "ran"
    pickle.loads(_disguises(marker)["model.pt (protocol 4)"]).close()
    assert marker.exists()


@pytest.mark.parametrize("disguise", list(_disguises(Path("x"))))
def test_pickle_in_any_disguise_is_refused_unloaded(tmp_path, disguise):
    marker = tmp_path / "ran"
    blob = _disguises(marker)[disguise]
    assert sniff(blob) == "pickle"
    with pytest.raises(ImportRefused, match="pickle"):
        load_model_files([blob], approved_types=["builtins.open"])
    with pytest.raises(ImportRefused, match="pickle"):  # beside a valid architecture JSON too
        load_model_files([b'{"spec": {"kind": "mlp"}}', blob])
    assert not marker.exists()


def test_cli_refuses_a_pickle_named_like_a_model(tmp_path, capsys):
    from core.__main__ import main

    marker = tmp_path / "ran"
    for name in ("evil.pt", "evil.skops", "evil.safetensors", "evil.onnx"):
        path = tmp_path / name
        path.write_bytes(pickle.dumps(_Payload(marker)))
        assert main(["--home", str(tmp_path / "home"), "import", str(path), "--dataset", "iris"]) == 2
        assert "pickle" in capsys.readouterr().err
    assert not marker.exists()


def test_unknown_and_mismatched_files_get_clear_messages(nets, digits):
    with pytest.raises(ImportRefused, match="not safetensors, ONNX, skops"):
        load_model_files([b"\x00\x01garbage" * 10])
    files = nets["mlp"].artifact()
    with pytest.raises(ImportRefused, match="add the architecture JSON"):
        load_model_files([files["model.safetensors"]])
    wrong = b'{"spec": {"kind": "tiny_mlp", "hidden": [17]}, "n_features": 64, "n_classes": 10}'
    with pytest.raises(ImportRefused, match="do not match the architecture"):
        load_model_files([files["model.safetensors"], wrong])
    imported = load_model_files([files["model.safetensors"], files["architecture.json"]])
    with pytest.raises(ImportRefused, match="expects 64 features"):
        evaluate_import(imported, DatasetSpec("iris"), FAST)


def test_evaluate_import_measures_with_the_shared_harness(nets, digits):
    files = nets["mlp"].artifact()
    imported = load_model_files([files["model.safetensors"], files["architecture.json"]])
    result = evaluate_import(imported, DatasetSpec("digits"), FAST, name="their model")
    (record,) = result.to_dict()["records"]
    assert record["name"] == "their model" and record["family"] == "imported"
    assert record["accuracy"] == pytest.approx(accuracy_score(digits.y_test, nets["mlp"].predict(digits.X_test)))
    assert record["size_bytes"] == len(files["model.safetensors"]) + len(files["architecture.json"])
    assert result.to_dict()["spec"]["import"]["sha256"] == imported.sha256


class _FixedBatch(torch.nn.Module):
    """Traces to a graph with the example's batch size baked in (as some transformers do)."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(64, 10)
        self.bias = torch.nn.Parameter(torch.zeros(1, 10))

    def forward(self, x):
        return self.lin(x) + self.bias.expand(2, 10)  # 2 = the exporter's example batch


def test_onnx_graph_that_fails_in_onnxruntime_is_reported_not_shipped(digits):
    from core.models.neural import TorchClassifier

    exported = onnx_export(TorchClassifier(_FixedBatch(), {}, "large"), digits.X_test, digits.y_test, FAST)
    assert not exported.available and not exported.onnx_bytes
    assert "does not run in onnxruntime" in exported.reason


def test_onnx_of_a_compressed_variant_says_its_storage_is_not_carried_over(nets, digits):
    from core.models.neural import TorchClassifier

    class Packed(TorchClassifier):  # stands in for int4 / bitmask-sparse classifiers
        pass

    model = nets["mlp"]
    exported = onnx_export(Packed(model.module, model.arch, "compressed"), digits.X_test, digits.y_test, FAST)
    assert exported.available and exported.check.ok
    assert "dense float32" in exported.notes[0]
    assert onnx_export(model, digits.X_test, digits.y_test, FAST).notes == ()


def test_cli_imports_onnx_and_asks_approval_for_untrusted_skops(nets, digits, tmp_path, capsys):
    from core.__main__ import main
    from core.store import RunStore

    home = tmp_path / "home"
    onnx_file = tmp_path / "whatever.bin"  # the name says nothing; the content is ONNX
    onnx_file.write_bytes(onnx_export(nets["mlp"], digits.X_test, digits.y_test, FAST).onnx_bytes)
    assert main(["--home", str(home), "import", str(onnx_file), "--dataset", "digits", "--threads", "1"]) == 0
    (summary,) = RunStore(home).list_runs()
    assert summary.kind == "import" and summary.models == ("imported onnx",)
    assert summary.best_accuracy == pytest.approx(accuracy_score(digits.y_test, nets["mlp"].predict(digits.X_test)))
    capsys.readouterr()

    forest, _ = fit_classical(RandomForestSpec(n_estimators=2), digits)
    skops_file = tmp_path / "forest.skops"
    skops_file.write_bytes(forest.artifact()["model.skops"])
    assert main(["--home", str(home), "import", str(skops_file), "--dataset", "digits"]) == 2
    assert "--trust sklearn.tree._tree.Tree" in capsys.readouterr().err
    assert main(["--home", str(home), "import", str(skops_file), "--dataset", "digits",
                 "--trust", "sklearn.tree._tree.Tree", "--threads", "1"]) == 0
    assert len(RunStore(home).list_runs()) == 2
