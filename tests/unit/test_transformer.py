"""FT-Transformer: feature tokenizer, image tokens, specs, registry, training through the loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.data import load
from core.experiment import run
from core.models import FT_PRESETS, MODELS, build_module, count_ft_params
from core.models.transformer import FeatureTokenizer, ImageTokenizer, SelfAttention
from core.specs import CandidateSpec, DatasetSpec, ExperimentSpec, FTTransformerSpec, MeasureSpec, TrainSpec
from core.tabular_verdict import _judge
from core.train import fit_neural

FAST = MeasureSpec(warmup=1, min_repeats=3, min_seconds=0.0, max_seconds=0.2, batch_size=16)


def test_tokenizer_numeric_and_categorical_columns():
    # columns: numeric a, numeric b, categorical c with 3 one-hot levels
    tok = FeatureTokenizer((0, 1, 2, 2, 2), d_model=4)
    x = torch.tensor([[0.5, -2.0, 0.0, 1.0, 0.0],
                      [1.0, 0.0, 0.0, 0.0, 0.0]])    # second row: an unseen level (all zeros)
    t = tok(x)
    assert t.shape == (2, 3, 4)
    W, b = tok.weight.detach(), tok.bias.detach()
    torch.testing.assert_close(t[0, 0], 0.5 * W[0] + b[0])       # numeric: x * W + b
    torch.testing.assert_close(t[0, 1], -2.0 * W[1] + b[1])
    torch.testing.assert_close(t[0, 2], W[3] + b[2])             # categorical: embedding of level 2
    torch.testing.assert_close(t[1, 2], b[2])                    # unseen level: bias only


def test_tokenizer_rejects_gaps_in_groups():
    with pytest.raises(ValueError, match="feature groups"):
        FeatureTokenizer((0, 2), 4)


def test_csv_with_categorical_columns_trains_one_token_per_column(tmp_path):
    rng = np.random.default_rng(0)
    n = 240
    colour = rng.choice(["red", "green", "blue"], n)
    size = rng.normal(size=n)
    noise = rng.normal(size=n)
    label = np.where((colour == "red") | (size > 1.0), "yes", "no")  # depends on the category
    path = tmp_path / "t.csv"
    path.write_text("size,colour,noise,label\n" + "\n".join(
        f"{s:.3f},{c},{z:.3f},{y}" for s, c, z, y in zip(size, colour, noise, label)))
    data = load(DatasetSpec(name="csv", csv_path=str(path), seed=0))
    assert data.feature_groups == (0, 1, 2, 2, 2)               # 2 numeric, 3 levels of colour
    spec = FTTransformerSpec(width=16, depth=1, heads=2, dropout=0.0)
    module = build_module(spec, data.n_features, data.n_classes, None, data.feature_groups)
    assert module.tokenizer.n_tokens == 3
    model, _ = fit_neural(spec, TrainSpec(optimizer="adamw", lr=3e-3, epochs=25, batch_size=32,
                                          validation_fraction=0.0), data)
    assert model.arch["feature_groups"] == [0, 1, 2, 2, 2]
    accuracy = float((model.predict(data.X_test) == data.y_test).mean())
    majority = max(np.mean(data.y_test), 1 - np.mean(data.y_test))
    assert accuracy > majority + 0.1


@pytest.mark.parametrize("mode, patch, n_tokens", [("rows", 2, 8), ("patches", 2, 16), ("patches", 4, 4)])
def test_image_tokens(mode, patch, n_tokens):
    tok = ImageTokenizer((1, 8, 8), 8, mode, patch)
    x = torch.arange(2 * 64, dtype=torch.float32).reshape(2, 64)
    assert tok(x).shape == (2, n_tokens, 8)
    if mode == "rows":  # token i embeds exactly pixel row i
        manual = tok.embed(x.reshape(2, 8, 8)) + tok.pos
        torch.testing.assert_close(tok(x), manual)


def test_patch_size_must_divide_the_image():
    with pytest.raises(ValueError, match="patch_size must divide"):
        build_module(FTTransformerSpec(image_tokens="patches", patch_size=3), 64, 10, (1, 8, 8))


def test_pixels_mode_uses_feature_tokens():
    m = build_module(FTTransformerSpec(image_tokens="pixels"), 64, 10, (1, 8, 8))
    assert isinstance(m.tokenizer, FeatureTokenizer) and m.tokenizer.n_tokens == 64


@pytest.mark.parametrize("kwargs, match", [
    ({"width": 30, "heads": 4}, r"FTTransformerSpec.heads must divide width \(30\); got 4"),
    ({"depth": 0}, r"FTTransformerSpec.depth must be"),
    ({"dropout": 0.95}, r"FTTransformerSpec.dropout must be in \[0, 0.9\]; got 0.95"),
    ({"image_tokens": "cols"}, r"FTTransformerSpec.image_tokens must be one of rows, patches, pixels"),
])
def test_spec_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FTTransformerSpec(**kwargs)


def test_registry_and_presets_span_100k_to_5m():
    info = MODELS["ft_transformer"]
    assert info.family == "large" and isinstance(info.default, FTTransformerSpec)
    sizes = {k: count_ft_params(FTTransformerSpec(width=w, depth=d, heads=h), 30, 2)
             for k, (w, d, h) in FT_PRESETS.items()}
    assert 80_000 <= sizes["S"] <= 150_000 and 3_500_000 <= sizes["XL"] <= 6_000_000
    module = build_module(FTTransformerSpec(), 30, 2, None)
    assert sum(p.numel() for p in module.parameters()) == sizes["S"]


def test_attention_is_not_causal_in_the_encoder():
    torch.manual_seed(0)
    attn = SelfAttention(8, 2, 4).eval()
    x = torch.randn(1, 5, 8)
    y = x.clone()
    y[0, 4] += 1.0
    assert not torch.allclose(attn(x)[0, 0], attn(y)[0, 0])   # early tokens see later ones


def test_experiment_measures_ft_transformer_on_digits():
    spec = ExperimentSpec(DatasetSpec(name="digits"), (CandidateSpec(
        "FT", FTTransformerSpec(width=16, depth=1, heads=2, dropout=0.0),
        TrainSpec(optimizer="adamw", lr=3e-3, epochs=3, batch_size=64)),), FAST)
    rec = run(spec).results[0]
    assert rec.status == "done" and rec.family == "large"
    m = rec.metrics
    assert m.n_params == sum(p.numel() for p in rec.model.module.parameters())
    assert m.size_bytes == sum(len(b) for b in rec.model.artifact().values())
    assert m.accuracy > 0.5                                      # 10 classes, chance is 0.1


def test_verdict_rule():
    rows = [{"name": "FT", "kind": "ft_transformer", "accuracy": 0.90, "latency_ms_p50": 1.0, "size_bytes": 10},
            {"name": "HGB", "kind": "hist_gradient_boosting", "accuracy": 0.97, "latency_ms_p50": 0.5,
             "size_bytes": 5}]
    v = _judge("t", 400, rows)
    assert v["verdict"] == "classical" and v["best_classical"] == "HGB"
    assert v["accuracy_gap"] == pytest.approx(-0.07)
    close = [dict(rows[0], accuracy=0.96), rows[1]]
    assert _judge("t", 100, close)["verdict"] == "tie"
