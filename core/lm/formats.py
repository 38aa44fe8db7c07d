"""Language models back from their saved files, without pickle.

A GPT is ``model.safetensors`` + ``architecture.json`` (plain, head/MLP-pruned or int8); an
n-gram model is ``counts.safetensors`` + ``ngram.json``. Shapes and names are checked against
the architecture before anything is copied, so a damaged or foreign file gets a message.
"""

from __future__ import annotations

import json

import numpy as np
import torch
from safetensors.torch import load as safetensors_load
from torch.ao.nn.quantized import dynamic as nnqd

from ..compress.formats import quantize_dynamic_module, quiet_torch_ao
from ..specs import GPTSpec, NGramSpec
from .base import LanguageModel
from .compress import Int8GPT, rebuild_pruned
from .gpt import GPTLanguageModel
from .ngram import NGramLanguageModel, _Level

MAX_VOCAB = 100_000


class LMFormatError(ValueError):
    """The files are not a language model this tool saved, or they are damaged."""


def load_language_model(files: dict[str, bytes]) -> LanguageModel:
    """Rebuild a GPT (plain, pruned or int8) or an n-gram model from its artifact files."""
    if "ngram.json" in files:
        return _load_ngram(_json(files, "ngram.json"), _tensors(files, "counts.safetensors"))
    if "architecture.json" in files:
        return _load_gpt(_json(files, "architecture.json"), _tensors(files, "model.safetensors"))
    raise LMFormatError(f"no language-model files among {', '.join(sorted(files)) or 'none'}: a GPT "
                        "needs architecture.json + model.safetensors, an n-gram model ngram.json + "
                        "counts.safetensors")


def _json(files: dict[str, bytes], name: str) -> dict:
    try:
        meta = json.loads(files[name])
    except (KeyError, ValueError) as exc:
        raise LMFormatError(f"{name} is missing or does not parse ({exc})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("spec"), dict):
        raise LMFormatError(f"{name} must be an object with a 'spec'")
    vocab_size = meta.get("vocab_size")
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or not 1 <= vocab_size <= MAX_VOCAB:
        raise LMFormatError(f"{name}: vocab_size must be a whole number in [1, {MAX_VOCAB:,}]; got {vocab_size!r}")
    vocab = meta.get("vocab")
    if vocab is not None and (not isinstance(vocab, str) or len(vocab) != vocab_size):
        raise LMFormatError(f"{name}: vocab must be a string of vocab_size ({vocab_size}) characters")
    return meta


def _tensors(files: dict[str, bytes], name: str) -> dict[str, torch.Tensor]:
    try:
        return safetensors_load(files[name])
    except KeyError:
        raise LMFormatError(f"{name} is missing") from None
    except Exception as exc:  # safetensors raises its own error types for damaged headers
        raise LMFormatError(f"{name} is not a readable safetensors file ({exc})") from None


def _vocab(meta: dict) -> tuple[str, ...]:
    return tuple(meta["vocab"]) if meta.get("vocab") else ()


def _load_gpt(arch: dict, tensors: dict[str, torch.Tensor]) -> GPTLanguageModel:
    try:
        spec = GPTSpec.from_dict(arch["spec"])
    except (ValueError, TypeError, KeyError) as exc:
        raise LMFormatError(f"architecture.json's spec is not a GPT spec: {exc}") from None
    vocab_size = arch["vocab_size"]
    if arch.get("blocks") is not None and (not isinstance(arch["blocks"], list)
                                           or len(arch["blocks"]) != spec.n_layer):
        raise LMFormatError(f"architecture.json: blocks must list {spec.n_layer} pruned block shapes")
    try:
        module = rebuild_pruned(vocab_size, arch)        # the plain GPT when nothing was pruned
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise LMFormatError(f"architecture.json's block shapes are not valid: {exc}") from None
    family = "compressed" if ("blocks" in arch or "compression" in arch) else spec.family
    if arch.get("compression", {}).get("int8_dynamic"):
        model = Int8GPT(quantize_dynamic_module(module, "per_channel"), vocab_size, arch, family)
        _copy_int8(model.module, tensors)
    else:
        state = {k: v for k, v in module.state_dict().items() if k != "head.weight"}  # tied
        _check_names_and_shapes(state, tensors)
        module.load_state_dict({**tensors, "head.weight": tensors["tok.weight"]}, strict=True)
        model = GPTLanguageModel(module, vocab_size, arch, family)
    model.vocab = _vocab(arch)
    return model


def _check_names_and_shapes(expected: dict[str, torch.Tensor], got: dict[str, torch.Tensor]) -> None:
    missing = sorted(set(expected) - set(got))
    unexpected = sorted(set(got) - set(expected))
    wrong = [f"{k} {tuple(got[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
             if k in got and got[k].shape != v.shape]
    if missing or unexpected or wrong:
        raise LMFormatError("the weights do not match architecture.json"
                            + (f"; missing {', '.join(missing[:4])}" if missing else "")
                            + (f"; unexpected {', '.join(unexpected[:4])}" if unexpected else "")
                            + (f"; wrong shape {', '.join(wrong[:4])}" if wrong else ""))


def _copy_int8(module: torch.nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Write Int8GPT.state_tensors()' names back into a freshly quantised skeleton."""
    expected: dict[str, tuple] = {}
    for name, m in module.named_modules():
        if isinstance(m, nnqd.Linear):
            w = m.weight()
            expected[f"{name}.weight_int8"] = tuple(w.shape)
            expected[f"{name}.weight_scale"] = (w.shape[0],)
            if m.bias() is not None:
                expected[f"{name}.bias"] = (w.shape[0],)
        elif not list(m.children()):
            for pname, p in m.named_parameters(recurse=False):
                expected[f"{name}.{pname}"] = tuple(p.shape)
    _check_names_and_shapes({k: torch.empty(s) for k, s in expected.items()}, tensors)
    for name, m in module.named_modules():
        if isinstance(m, nnqd.Linear):
            ints = tensors[f"{name}.weight_int8"].to(torch.int8)
            scale = tensors[f"{name}.weight_scale"].double()
            qw = torch._make_per_channel_quantized_tensor(ints, scale, torch.zeros_like(scale, dtype=torch.long), 0)
            with quiet_torch_ao():
                m.set_weight_bias(qw, tensors.get(f"{name}.bias"))
        elif not list(m.children()):
            for pname, p in m.named_parameters(recurse=False):
                p.data.copy_(tensors[f"{name}.{pname}"])


def _load_ngram(meta: dict, tensors: dict[str, torch.Tensor]) -> NGramLanguageModel:
    try:
        spec = NGramSpec.from_dict(meta["spec"])
    except (ValueError, TypeError, KeyError) as exc:
        raise LMFormatError(f"ngram.json's spec is not an n-gram spec: {exc}") from None
    discounts = meta.get("discounts")
    if not isinstance(discounts, list) or len(discounts) != spec.order or \
            not all(isinstance(d, (int, float)) and 0 < d < 1 for d in discounts):
        raise LMFormatError(f"ngram.json: discounts must be {spec.order} numbers in (0, 1)")
    V = meta["vocab_size"]
    levels = []
    for k in range(1, spec.order + 1):
        names = [f"order{k}.{part}" for part in ("gram_keys", "gram_counts", "ctx_keys", "ctx_totals",
                                                 "ctx_types")]
        missing = [n for n in names if n not in tensors]
        if missing:
            raise LMFormatError(f"counts.safetensors lacks {', '.join(missing)}")
        gk, gc, ck, ct, cty = (tensors[n].numpy() for n in names)
        if len(gk) != len(gc) or not len(ck) == len(ct) == len(cty):
            raise LMFormatError(f"counts.safetensors: order {k}'s keys and counts differ in length")
        if len(gk) and (gk.min() < 0 or gk.max() >= V ** k or np.any(np.diff(gk) <= 0)):
            raise LMFormatError(f"counts.safetensors: order {k}'s n-gram keys are not sorted ids "
                                f"of a {V}-character vocabulary")
        if len(ck) and np.any(np.diff(ck) <= 0):
            raise LMFormatError(f"counts.safetensors: order {k}'s context keys are not sorted")
        level = _Level.__new__(_Level)
        level.k, level.discount = k, float(discounts[k - 1])
        level.gram_keys, level.gram_counts = gk.astype(np.int64), gc.astype(np.float64)
        level.ctx_keys, level.ctx_totals, level.ctx_types = (ck.astype(np.int64), ct.astype(np.float64),
                                                             cty.astype(np.float64))
        levels.append(level)
    model = NGramLanguageModel(spec, V, levels)
    if meta.get("family"):
        model.family = str(meta["family"])
    model.vocab = _vocab(meta)
    return model


def load_stored_language_model(artifacts, idx: int) -> LanguageModel:
    """Candidate ``idx``'s model from a run's stored `ArtifactRef`s, each sha256-checked first."""
    files = {a.filename: a.read_verified() for a in artifacts if a.idx == idx and a.role == "model"}
    return load_language_model(files)


__all__ = ["LMFormatError", "load_language_model", "load_stored_language_model"]
