"""Compression of language models: one verb, `compress_lm(model, step, context)`, dispatched on
the step's type through `LM_HANDLERS` (as core/compress does for classifiers).

Every handler works on a deep copy: the caller's model may be shared by every app session.
int8 dynamic quantisation reuses core/compress's `quantize_dynamic_module`.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from ..compress.formats import quantize_dynamic_module, quiet_torch_ao
from ..i18n import translate
from ..models.base import ParamCounts
from ..models.transformer import FeedForward, SelfAttention
from ..specs import LMCompressStep, LMDistill, LMPrune, LMQuantizeInt8, LMTrainSpec, NGramPrune
from .base import LanguageModel
from .corpus import Corpus
from .gpt import GPT, GPTLanguageModel, count_params, train_lm
from .ngram import NGramLanguageModel

with quiet_torch_ao():
    import torch.ao.nn.quantized.dynamic as nnqd

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class LMCompressContext:
    corpus: Corpus                       # training text for fine-tuning and distillation
    train: LMTrainSpec                   # the parent's training settings
    on_progress: Progress = lambda fraction, message: None
    should_stop: Callable[[], bool] = lambda: False


@dataclass(frozen=True)
class LMCompressed:
    model: LanguageModel
    nominal: dict[str, float] = field(default_factory=dict)  # claimed effects; the harness measures
    notes: tuple[str, ...] = ()


LMHandler = Callable[[LanguageModel, LMCompressStep, LMCompressContext], LMCompressed]
LM_HANDLERS: dict[type, LMHandler] = {}


def _handles(step_type: type):
    def register(fn: LMHandler) -> LMHandler:
        LM_HANDLERS[step_type] = fn
        return fn
    return register


def compress_lm(model: LanguageModel, step: LMCompressStep, context: LMCompressContext) -> LMCompressed:
    """Apply one compression step to a copy of ``model``."""
    handler = LM_HANDLERS.get(type(step))
    if handler is None:
        raise ValueError(f"No language-model compression handler for {type(step).__name__}; "
                         f"available: {', '.join(t.__name__ for t in LM_HANDLERS)}")
    out = handler(copy.deepcopy(model), step, context)
    out.model.vocab = model.vocab   # a compressed model reads the same characters
    return out


def _require_gpt(model: LanguageModel, step: LMCompressStep) -> GPTLanguageModel:
    if not isinstance(model, GPTLanguageModel) or isinstance(model, Int8GPT):
        what = "an n-gram model" if isinstance(model, NGramLanguageModel) else "already int8"
        raise ValueError(f"{step.kind} applies to a float GPT; its parent is {what}")
    return model


# ---------------------------------------------------------------------------------------------
# int8 dynamic quantisation


class Int8GPT(GPTLanguageModel):
    """A GPT whose Linear layers hold int8 weights (per-output-channel scales)."""

    def state_tensors(self) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for name, m in self.module.named_modules():
            if isinstance(m, nnqd.Linear):
                w = m.weight()                                   # quantised (out, in)
                out[f"{name}.weight_int8"] = w.int_repr().contiguous()
                if w.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric):
                    out[f"{name}.weight_scale"] = w.q_per_channel_scales().float().contiguous()
                else:
                    out[f"{name}.weight_scale"] = torch.tensor([w.q_scale()], dtype=torch.float32)
                if m.bias() is not None:
                    out[f"{name}.bias"] = m.bias().detach().float().contiguous()
            elif not list(m.children()):
                for pname, p in m.named_parameters(recurse=False):
                    out[f"{name}.{pname}"] = p.detach().contiguous()
        return out

    def param_counts(self) -> ParamCounts:
        tensors = [t for k, t in self.state_tensors().items() if not k.endswith("weight_scale")]
        return ParamCounts(sum(t.numel() for t in tensors), sum(int(torch.count_nonzero(t)) for t in tensors),
                           "int8 Linear weights (the output layer now holds its own int8 copy of the "
                           "embedding) + float embeddings, norms and biases; scales not counted")

    def memory_bytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.state_tensors().values())


@_handles(LMQuantizeInt8)
def _quantize(model: LanguageModel, step: LMQuantizeInt8, ctx: LMCompressContext) -> LMCompressed:
    gpt = _require_gpt(model, step)
    q = quantize_dynamic_module(gpt.module, "per_channel")
    arch = {**gpt.arch, "compression": {"int8_dynamic": "per_channel"}}
    return LMCompressed(Int8GPT(q, gpt.vocab_size, arch, "compressed"), {"bits": 8.0},
                        ("Linear weights int8 per output channel; activations quantised per call "
                         "(dynamic); embeddings and norms stay float32.",))


# ---------------------------------------------------------------------------------------------
# Structured pruning: heads and MLP units are removed, so the saved file and the matmuls shrink.


def _keep_top(scores: torch.Tensor, fraction_removed: float) -> torch.Tensor:
    n_keep = max(1, len(scores) - int(math.floor(fraction_removed * len(scores))))
    return torch.sort(torch.topk(scores, n_keep).indices).values


def _prune_heads(attn: SelfAttention, fraction: float) -> int:
    H, hd = attn.n_head, attn.head_dim
    inner = H * hd
    qkv_w = attn.qkv.weight.detach().view(3, H, hd, -1)          # (3, H, hd, d)
    proj_w = attn.proj.weight.detach().view(-1, H, hd)          # (d, H, hd)
    # a head matters as much as its value path feeds the output: ||W_v,h|| * ||W_o,h||
    scores = qkv_w[2].flatten(1).norm(dim=1) * proj_w.transpose(0, 1).flatten(1).norm(dim=1)
    keep = _keep_top(scores, fraction)                          # kept head indices
    rows = torch.cat([(part * inner + h * hd + torch.arange(hd)) for part in range(3) for h in keep])
    cols = torch.cat([h * hd + torch.arange(hd) for h in keep])
    qkv = nn.Linear(attn.qkv.in_features, len(rows))
    qkv.weight.data, qkv.bias.data = attn.qkv.weight.data[rows].clone(), attn.qkv.bias.data[rows].clone()
    proj = nn.Linear(len(cols), attn.proj.out_features)
    proj.weight.data, proj.bias.data = attn.proj.weight.data[:, cols].clone(), attn.proj.bias.data.clone()
    attn.qkv, attn.proj, attn.n_head = qkv, proj, len(keep)
    return H - len(keep)


def _prune_mlp(ffn: FeedForward, fraction: float) -> int:
    scores = ffn.fc.weight.detach().norm(dim=1) * ffn.proj.weight.detach().norm(dim=0)  # (hidden,)
    keep = _keep_top(scores, fraction)
    fc = nn.Linear(ffn.fc.in_features, len(keep))
    fc.weight.data, fc.bias.data = ffn.fc.weight.data[keep].clone(), ffn.fc.bias.data[keep].clone()
    proj = nn.Linear(len(keep), ffn.proj.out_features)
    proj.weight.data, proj.bias.data = ffn.proj.weight.data[:, keep].clone(), ffn.proj.bias.data.clone()
    removed = ffn.fc.out_features - len(keep)
    ffn.fc, ffn.proj = fc, proj
    return removed


def rebuild_pruned(vocab_size: int, arch: dict) -> GPT:
    """An (untrained) GPT with the per-block head counts and MLP widths recorded in ``arch``."""
    from ..specs import GPTSpec

    module = GPT(vocab_size, GPTSpec.from_dict(arch["spec"]))
    for block, shape in zip(module.blocks, arch.get("blocks", [])):
        _prune_heads(block.attn, 1 - shape["n_head"] / block.attn.n_head)
        _prune_mlp(block.ffn, 1 - shape["ffn_hidden"] / block.ffn.fc.out_features)
    return module


@_handles(LMPrune)
def _prune(model: LanguageModel, step: LMPrune, ctx: LMCompressContext) -> LMCompressed:
    gpt = _require_gpt(model, step)
    module = gpt.module
    before = count_params(module)
    heads_before = sum(b.attn.n_head for b in module.blocks)
    units_before = sum(b.ffn.fc.out_features for b in module.blocks)
    heads_removed = sum(_prune_heads(b.attn, step.heads_fraction) for b in module.blocks)
    units_removed = sum(_prune_mlp(b.ffn, step.mlp_fraction) for b in module.blocks)
    notes = [translate("en", "notes.lm_pruned", heads_removed=heads_removed,
                       heads_before=heads_before, units_removed=units_removed,
                       units_before=units_before, before=before, after=count_params(module))]
    if step.finetune_steps:
        ctx.on_progress(0.1, f"fine-tuning for {step.finetune_steps} steps")
        hist = train_lm(module, ctx.corpus.train_ids, ctx.corpus.val_ids, ctx.train,
                        ctx.on_progress, ctx.should_stop, max_steps=step.finetune_steps)
        notes.append(translate("en", "notes.lm_fine_tuned", n_steps=hist.n_steps,
                               seconds=hist.train_seconds))
    arch = {**gpt.arch, "blocks": [{"n_head": b.attn.n_head, "ffn_hidden": b.ffn.fc.out_features}
                                   for b in module.blocks]}
    return LMCompressed(GPTLanguageModel(module, gpt.vocab_size, arch, "compressed"),
                        {"heads_removed_fraction": heads_removed / heads_before,
                         "mlp_removed_fraction": units_removed / units_before}, tuple(notes))


# ---------------------------------------------------------------------------------------------
# Distillation into a smaller GPT


@_handles(LMDistill)
def _distill(model: LanguageModel, step: LMDistill, ctx: LMCompressContext) -> LMCompressed:
    teacher = _require_gpt(model, step)
    if step.student.block_size > teacher.context_length:
        raise ValueError(f"LMDistill.student.block_size must be at most the teacher's "
                         f"({teacher.context_length}); got {step.student.block_size}")
    torch.manual_seed(ctx.train.seed)
    student = GPT(teacher.vocab_size, step.student)
    T, alpha = step.temperature, step.alpha

    def loss_fn(logits: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16,
                                                    enabled=ctx.train.precision == "bf16"):
            t_logits = teacher.module(x).float()                 # (B, T, vocab)
        t_logits = t_logits.clone()  # leave inference mode so autograd can use it as a constant
        kd = F.kl_div(F.log_softmax(logits / T, -1).flatten(0, 1),
                      F.log_softmax(t_logits / T, -1).flatten(0, 1), log_target=True,
                      reduction="batchmean") * T * T
        ce = F.cross_entropy(logits.flatten(0, 1), y.flatten())
        return alpha * kd + (1 - alpha) * ce

    hist = train_lm(student, ctx.corpus.train_ids, ctx.corpus.val_ids, ctx.train, ctx.on_progress,
                    ctx.should_stop, loss_fn=loss_fn, max_steps=step.max_steps,
                    max_seconds=step.max_seconds)
    arch = {"spec": step.student.to_dict(), "vocab_size": teacher.vocab_size}
    return LMCompressed(GPTLanguageModel(student, teacher.vocab_size, arch, "compressed"),
                        {"student_params": float(count_params(student))},
                        (f"Student GPT of {count_params(student):,} parameters trained for "
                         f"{hist.n_steps} steps ({hist.train_seconds:.1f} s) on {alpha:g} x KL to the "
                         f"teacher at temperature {T:g} + {1 - alpha:g} x cross-entropy.",))


# ---------------------------------------------------------------------------------------------
# n-gram pruning


@_handles(NGramPrune)
def _ngram_prune(model: LanguageModel, step: NGramPrune, ctx: LMCompressContext) -> LMCompressed:
    if not isinstance(model, NGramLanguageModel):
        raise ValueError("ngram_prune applies to n-gram models; its parent is a GPT")
    before = sum(len(lv.ctx_keys) for lv in model.levels[1:])
    pruned = model.prune(step.min_count)
    pruned.family = "compressed"
    after = sum(len(lv.ctx_keys) for lv in pruned.levels[1:])
    removed = (before - after) / before if before else 0.0
    return LMCompressed(pruned, {"contexts_removed_fraction": removed},
                        (f"Dropped {before - after:,} of {before:,} contexts (orders >= 2) seen fewer "
                         f"than {step.min_count} times; their n-grams back off to shorter contexts.",))


__all__ = ["Int8GPT", "LMCompressContext", "LMCompressed", "LM_HANDLERS", "compress_lm",
           "rebuild_pruned"]
