"""Quantisation: int8 dynamic, int8 static (calibrated), int4 weight-only, bf16/fp16 casting.

Backends, as measured on this CPU (AMD EPYC, AVX-512 VNNI/BF16, 2 threads, MLP 64-2048x3-10):
torch.ao dynamic int8 with per-channel weight scales ran batch 1 in 0.21 ms against 1.9 ms for
fp32 (and 8.4 ms vs 28 ms at batch 256), so int8 uses the x86/fbgemm kernels of torch.ao. No
int4 kernel beat fp32 here, so int4 weights are dequantised to float32 once at load.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..i18n import translate
from ..specs import CastWeights, QuantizeDynamic, QuantizeInt4, QuantizeStatic
from . import CompressContext, Compressed, handles
from .formats import (CAST_DTYPES, CastClassifier, Int4Classifier, Int8Classifier, base_arch,
                      float_module, int4_dequantize, int4_quantize, quantize_dynamic_module,
                      quantize_static_module, require_torch)


def _arch(model, **compression) -> dict:
    return {**base_arch(model), "family": model.family, "compression": compression}


@handles(QuantizeDynamic)
def quantize_dynamic(model, step: QuantizeDynamic, ctx: CompressContext) -> Compressed:
    model = require_torch(model, "QuantizeDynamic")
    module = float_module(model, "QuantizeDynamic")
    if not any(isinstance(m, nn.Linear) for m in module.modules()):
        raise ValueError("QuantizeDynamic quantises Linear layers; this model has none")
    ctx.on_progress(0.2, "quantising Linear layers to int8 (dynamic)")
    q = quantize_dynamic_module(module, step.granularity)
    n_conv = sum(isinstance(m, nn.Conv2d) for m in module.modules())
    notes = [translate("en", "notes.int8_dynamic", granularity=step.granularity.replace("_", "-"))]
    if n_conv:
        notes.append(translate("en", "notes.conv_float32_dynamic", n_conv=n_conv))
    out = Int8Classifier(q, _arch(model, format="int8_dynamic", granularity=step.granularity),
                         model.family)
    return Compressed(out, nominal={"bits": 8}, notes=tuple(notes))


@handles(QuantizeStatic)
def quantize_static(model, step: QuantizeStatic, ctx: CompressContext) -> Compressed:
    model = require_torch(model, "QuantizeStatic")
    module = float_module(model, "QuantizeStatic")
    rows = np.random.default_rng(0).permutation(len(ctx.data.y_train))[: step.calibration_samples]
    calibration = torch.from_numpy(np.ascontiguousarray(ctx.data.X_train[rows]))
    ctx.on_progress(0.2, f"calibrating activation ranges on {len(rows)} training rows")
    q = quantize_static_module(module, calibration, step.granularity)
    out = Int8Classifier(q, _arch(model, format="int8_static", granularity=step.granularity),
                         model.family)
    return Compressed(out, nominal={"bits": 8},
                      notes=(translate("en", "notes.int8_static", rows=len(rows)),))


@handles(QuantizeInt4)
def quantize_int4(model, step: QuantizeInt4, ctx: CompressContext) -> Compressed:
    model = require_torch(model, "QuantizeInt4")
    module = float_module(model, "QuantizeInt4")
    packed: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    linears = [(n, m) for n, m in module.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("QuantizeInt4 quantises Linear layers; this model has none")
    with torch.no_grad():
        for i, (name, m) in enumerate(linears):
            ctx.on_progress(i / len(linears), f"packing {name} to int4")
            q, scale = int4_quantize(m.weight, step.group_size)
            packed[name] = (q, scale)
            # The network runs on the values int4 can represent, so accuracy is the int4 one.
            m.weight.copy_(int4_dequantize(q, scale, m.in_features))
    n_conv = sum(isinstance(m, nn.Conv2d) for m in module.modules())
    notes = [translate("en", "notes.int4", group_size=step.group_size)]
    if n_conv:
        notes.append(translate("en", "notes.conv_float32", n_conv=n_conv))
    out = Int4Classifier(module, _arch(model, format="int4", group_size=step.group_size),
                         model.family, packed)
    return Compressed(out, nominal={"bits": 4}, notes=tuple(notes))


@handles(CastWeights)
def cast_weights(model, step: CastWeights, ctx: CompressContext) -> Compressed:
    model = require_torch(model, "CastWeights")
    module = float_module(model, "CastWeights")
    out = CastClassifier(module, _arch(model, format="cast", dtype=step.dtype), model.family,
                         CAST_DTYPES[step.dtype])
    return Compressed(out, nominal={"bits": 16},
                      notes=(translate("en", "notes.cast", dtype=step.dtype),))


__all__ = ["quantize_dynamic", "quantize_static", "quantize_int4", "cast_weights"]
