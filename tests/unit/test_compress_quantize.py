"""Quantisation: the saved artifact really is smaller, predictions stay close, input untouched."""

import numpy as np
import pytest
import torch

from core.compress import CompressContext, compress, load_classifier
from core.compress.formats import Int4Classifier, Int8Classifier, int4_dequantize, int4_quantize
from core.data import load
from core.models.neural import TorchClassifier
from core.specs import (CastWeights, DatasetSpec, LogisticRegressionSpec, MLPSpec, PruneMagnitude,
                        PruneStructured, QuantizeDynamic, QuantizeInt4, QuantizeStatic, TrainSpec,
                        FineTune, PruneSaliency, Distill, TinyMLPSpec, RandomForestSpec)
from core.train import fit_classical, fit_neural


@pytest.fixture(scope="module")
def digits():
    return load(DatasetSpec(name="digits"))


@pytest.fixture(scope="module")
def mlp(digits):
    model, _ = fit_neural(MLPSpec(hidden=(256, 256)), TrainSpec(epochs=4, seed=0), digits)
    return model


@pytest.fixture(scope="module")
def ctx(digits):
    return CompressContext(digits, TrainSpec(epochs=4))


def _file_bytes(model, tmp_path, name):
    return sum(p.stat().st_size for p in model.save(tmp_path / name) if p.suffix == ".safetensors")


def test_int4_saved_file_is_at_most_a_seventh_of_fp32(mlp, ctx, tmp_path):
    out = compress(mlp, QuantizeInt4(group_size=64), ctx).model
    fp32, int4 = _file_bytes(mlp, tmp_path, "fp32"), _file_bytes(out, tmp_path, "int4")
    assert int4 * 7 <= fp32, (int4, fp32)
    stored = out.state_tensors()
    assert stored["net.2.weight_int4"].dtype == torch.uint8
    assert stored["net.2.weight_int4"].shape == (256, 128)  # two 4-bit values per byte
    assert stored["net.2.weight_scale"].shape == (256, 4)   # one scale per 64 inputs


def test_int4_accuracy_close_to_fp32(mlp, ctx, digits):
    out = compress(mlp, QuantizeInt4(group_size=32), ctx).model
    acc = lambda m: (m.predict(digits.X_test) == digits.y_test).mean()
    assert acc(out) >= acc(mlp) - 0.02


def test_int4_pack_roundtrip_error_within_half_a_step():
    w = torch.randn(12, 100)
    packed, scale = int4_quantize(w, 32)
    assert packed.dtype == torch.uint8 and packed.shape == (12, 64)  # 100 padded to 128 -> 64 bytes
    back = int4_dequantize(packed, scale, 100)
    step = scale.float().repeat_interleave(32, dim=1)[:, :100]
    assert torch.all((back - w).abs() <= step / 2 + 1e-3 * step)


def test_int8_dynamic_smaller_and_agrees_with_fp32(mlp, ctx, digits, tmp_path):
    out = compress(mlp, QuantizeDynamic(), ctx).model
    assert isinstance(out, Int8Classifier)
    assert out.state_tensors()["net.0.weight_int8"].dtype == torch.int8
    assert _file_bytes(mlp, tmp_path, "a") / _file_bytes(out, tmp_path, "b") >= 3.5
    agree = (out.predict(digits.X_test) == mlp.predict(digits.X_test)).mean()
    assert agree >= 0.97
    counts = out.param_counts()
    assert counts.total == mlp.param_counts().total


def test_int8_static_calibrated_agrees(mlp, ctx, digits):
    out = compress(mlp, QuantizeStatic(calibration_samples=128), ctx).model
    assert (out.predict(digits.X_test) == mlp.predict(digits.X_test)).mean() >= 0.95
    assert "model.net.0.out_scale" in out.state_tensors()  # inside the QuantStub wrapper


def test_bf16_cast_halves_the_file(mlp, ctx, digits, tmp_path):
    out = compress(mlp, CastWeights(dtype="bf16"), ctx).model
    ratio = _file_bytes(mlp, tmp_path, "a") / _file_bytes(out, tmp_path, "b")
    assert 1.95 <= ratio <= 2.05
    assert (out.predict(digits.X_test) == mlp.predict(digits.X_test)).mean() >= 0.97


STEPS = [QuantizeDynamic(), QuantizeDynamic(granularity="per_tensor"), QuantizeStatic(calibration_samples=64),
         QuantizeInt4(group_size=128), CastWeights(dtype="fp16"), PruneMagnitude(amount=0.5),
         PruneMagnitude(amount=0.8, storage="csr", execution="sparse"),
         PruneSaliency(amount=0.3, scope="global"), PruneStructured(amount=0.5, fine_tune_epochs=1),
         FineTune(epochs=1), Distill(student=TinyMLPSpec(hidden=(16,)), epochs=2)]


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.kind)
def test_input_model_is_bit_for_bit_unchanged(mlp, ctx, step):
    before = {k: v.clone() for k, v in mlp.module.state_dict().items()}
    compress(mlp, step, ctx)
    after = mlp.module.state_dict()
    assert before.keys() == after.keys()
    for k in before:
        assert torch.equal(before[k], after[k]), k
    assert type(mlp) is TorchClassifier


@pytest.mark.parametrize("step", STEPS[:8], ids=lambda s: s.kind)
def test_artifact_loads_back_without_pickle(mlp, ctx, digits, step):
    out = compress(mlp, step, ctx).model
    back = load_classifier(out.artifact())
    assert type(back) is type(out)
    np.testing.assert_array_equal(back.predict(digits.X_test), out.predict(digits.X_test))
    assert back.artifact()["model.safetensors"] == out.artifact()["model.safetensors"]


def test_torch_steps_refuse_sklearn_models(digits, ctx):
    forest, _ = fit_classical(RandomForestSpec(n_estimators=5), digits)
    with pytest.raises(ValueError, match="applies to PyTorch models.*RandomForestClassifier"):
        compress(forest, QuantizeDynamic(), ctx)
    logreg, _ = fit_classical(LogisticRegressionSpec(), digits)
    with pytest.raises(ValueError, match="QuantizeInt4 applies to PyTorch models"):
        compress(logreg, QuantizeInt4(), ctx)


def test_int8_model_cannot_be_pruned_afterwards(mlp, ctx):
    q = compress(mlp, QuantizeDynamic(), ctx).model
    with pytest.raises(ValueError, match="already int8-quantised"):
        compress(q, PruneMagnitude(amount=0.5), ctx)


def test_int4_then_load_is_int4(mlp, ctx):
    out = compress(mlp, QuantizeInt4(), ctx).model
    assert isinstance(load_classifier(out.artifact()), Int4Classifier)
