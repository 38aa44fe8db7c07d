"""Character-level GPT: token + learned position embeddings, causal pre-norm blocks, tied head.

The blocks are core/models/transformer.py's, built causal. Training uses the engine's
training options: AdamW (decoupled decay on weight matrices only), warm-up then a schedule,
bf16 autocast, gradient clipping; it stops at max_steps or max_seconds, whichever comes first.
"""

from __future__ import annotations

import copy
import json
import math
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..i18n import translate
from ..models.neural import TorchArtifact
from ..models.transformer import Block, KeyValue
from ..specs import GPTSpec, LMTrainSpec
from .base import CharStream, LanguageModel

Progress = Callable[[float, str], None]
StopCheck = Callable[[], bool]


class GPT(nn.Module):
    def __init__(self, vocab_size: int, spec: GPTSpec):
        super().__init__()
        d = spec.n_embd
        self.block_size = spec.block_size
        self.tok = nn.Embedding(vocab_size, d)
        self.pos = nn.Embedding(spec.block_size, d)
        self.drop = nn.Dropout(spec.dropout)
        self.blocks = nn.ModuleList(Block(d, spec.n_head, 4 * d, spec.dropout, causal=True)
                                    for _ in range(spec.n_layer))
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab_size, bias=False)
        self.head.weight = self.tok.weight  # tied input and output embeddings
        self.apply(_init)
        for name, p in self.named_parameters():  # GPT-2: scale residual projections by depth
            if name.endswith("proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * spec.n_layer))

    def forward(self, idx: torch.Tensor) -> torch.Tensor:  # (B, T) ids -> (B, T, vocab) logits
        T = idx.shape[1]
        x = self.drop(self.tok(idx) + self.pos(torch.arange(T, device=idx.device)))  # (B, T, d)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))

    def forward_cached(self, idx: torch.Tensor, cache: list[KeyValue] | None
                       ) -> tuple[torch.Tensor, list[KeyValue]]:
        """Logits for ``idx`` (B, t) after the positions held in ``cache`` (None: a prefill).

        Positions continue from the cache's length, which must stay within block_size.
        """
        start = 0 if cache is None else cache[0][0].shape[2]
        T = idx.shape[1]
        if start + T > self.block_size:
            raise ValueError(f"positions {start}..{start + T - 1} exceed the block size {self.block_size}")
        x = self.tok(idx) + self.pos(torch.arange(start, start + T, device=idx.device))
        new_cache = []
        for i, block in enumerate(self.blocks):
            x, kv = block.forward_cached(x, None if cache is None else cache[i])
            new_cache.append(kv)
        return self.head(self.ln(x)), new_cache


def _init(m: nn.Module) -> None:
    if isinstance(m, (nn.Linear, nn.Embedding)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)


def count_params(module: nn.Module) -> int:
    """Distinct parameters (the tied embedding counted once)."""
    return sum(p.numel() for p in module.parameters())


def gpt_param_count(vocab_size: int, spec: GPTSpec) -> int:
    """Parameters of a GPT without allocating it (for size labels)."""
    with torch.device("meta"):
        return count_params(GPT(vocab_size, spec))


class GPTLanguageModel(TorchArtifact, LanguageModel):
    """A trained GPT (or a compressed copy) with the metadata to save and rebuild it."""

    params_definition = "weights, biases and embeddings (input and output embedding tied, counted once)"

    def __init__(self, module: nn.Module, vocab_size: int, arch: dict, family: str = "large"):
        self.module = module.eval()
        self.vocab_size = vocab_size
        self.context_length = arch["spec"]["block_size"]
        self.arch = arch
        self.family = family

    def logits(self, idx: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.module(idx).float()

    def next_probs(self, contexts: np.ndarray) -> np.ndarray:
        ctx = np.asarray(contexts, dtype=np.int64)[:, -self.context_length:]
        if ctx.shape[1] == 0:  # no history: condition on a newline, the corpus' usual separator
            ctx = np.zeros((len(ctx), 1), dtype=np.int64)
        logits = self.logits(torch.from_numpy(np.ascontiguousarray(ctx)))[:, -1]  # (B, vocab)
        return torch.softmax(logits.double(), -1).numpy()

    def stream(self, contexts: np.ndarray) -> CharStream:
        return KVCacheStream(self, contexts)

    def score(self, ids: np.ndarray, batch: int = 64) -> tuple[float, float]:
        """Windows of block_size with half-block stride (the last one flush with the end); each
        target is scored once, by the first window that reaches it, so after the first half
        block every scored character sees at least half a block of history."""
        ids = torch.from_numpy(np.asarray(ids, dtype=np.int64))
        n_targets = len(ids) - 1
        T = min(self.context_length, n_targets)
        starts = list(range(0, n_targets - T + 1, max(1, T // 2)))
        if starts[-1] != n_targets - T:
            starts.append(n_targets - T)
        nll, correct, covered = 0.0, 0, 0     # covered: targets scored so far (a prefix)
        for i in range(0, len(starts), batch):
            chunk = starts[i:i + batch]
            x = torch.stack([ids[s:s + T] for s in chunk])            # (b, T) inputs
            y = torch.stack([ids[s + 1:s + T + 1] for s in chunk])    # (b, T) next characters
            logp = torch.log_softmax(self.logits(x).double(), -1)     # (b, T, vocab)
            for j, s in enumerate(chunk):
                f = covered - s                                       # first target not yet scored
                nll -= float(logp[j, f:].gather(-1, y[j, f:, None]).sum())
                correct += int((logp[j, f:].argmax(-1) == y[j, f:]).sum())
                covered = s + T
        return nll / n_targets / math.log(2), correct / n_targets

    def artifact(self) -> dict[str, bytes]:
        files = super().artifact()
        if self.vocab:  # so that a reloaded model can turn ids back into text
            files["architecture.json"] = json.dumps({**self.arch, "vocab": "".join(self.vocab)},
                                                    sort_keys=True).encode()
        return files

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Tensors written to the safetensors file (the tied embedding once)."""
        state = {k: v.detach().contiguous() for k, v in self.module.state_dict().items()}
        state.pop("head.weight", None)
        return state


class KVCacheStream(CharStream):
    """Generation with a key/value cache: each new character costs one position, not a window.

    Learned absolute positions end at block_size, so when the cache is full it is rebuilt from
    the last half block (the same minimum history the scorer guarantees). Until then the
    probabilities equal a full recomputation's; that rebuild is the occasional slow step.
    """

    def __init__(self, model: GPTLanguageModel, contexts: np.ndarray):
        self.model = model
        ctx = np.asarray(contexts, dtype=np.int64)[:, -model.context_length:]
        if ctx.shape[1] == 0:  # no history: condition on id 0, as next_probs does
            ctx = np.zeros((len(ctx), 1), dtype=np.int64)
        self._prefill(torch.from_numpy(np.ascontiguousarray(ctx)))

    def _prefill(self, ids: torch.Tensor) -> None:  # ids (B, t), t <= block_size
        self.ids = ids
        with torch.inference_mode():
            logits, self.cache = self.model.module.forward_cached(ids, None)
        self._last = logits[:, -1].float()                                     # (B, vocab)

    def probs(self) -> np.ndarray:
        return torch.softmax(self._last.double(), -1).numpy()

    def push(self, next_ids: np.ndarray) -> None:
        nxt = torch.as_tensor(np.asarray(next_ids, dtype=np.int64)).view(-1, 1)     # (B, 1)
        self.ids = torch.cat([self.ids, nxt], 1)[:, -self.model.context_length:]
        if self.cache[0][0].shape[2] >= self.model.context_length:
            self._prefill(self.ids[:, -(self.model.context_length // 2):])
            return
        with torch.inference_mode():
            logits, self.cache = self.model.module.forward_cached(nxt, self.cache)
        self._last = logits[:, -1].float()


@dataclass
class LMHistory:
    steps: list[dict] = field(default_factory=list)  # {step, wall_seconds, train_loss_bits, val_bits, lr}
    train_seconds: float = 0.0
    n_steps: int = 0
    n_chars_seen: int = 0
    stop_reason: str = "completed"  # completed | time_limit | cancelled | diverged
    message: str = ""

    @property
    def throughput_chars_per_s(self) -> float:
        return self.n_chars_seen / self.train_seconds if self.train_seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "throughput_chars_per_s": self.throughput_chars_per_s}


def lr_at(step: int, spec: LMTrainSpec, progress: float | None = None) -> float:
    """Learning rate for optimiser step ``step`` (0-based): linear warm-up, then the schedule.

    ``progress`` in [0, 1] is how far training is towards whichever limit (steps or seconds)
    comes first; it defaults to step / max_steps. Following it lets a run cut short by its time
    limit still finish its decay instead of stopping at the peak rate.
    """
    t = min(step / max(1, spec.max_steps) if progress is None else progress, 1.0)
    if spec.schedule == "onecycle":  # up for the first 30 %, then cosine down
        if t < 0.3:
            return spec.lr * (0.04 + 0.96 * t / 0.3)
        return spec.lr * 0.5 * (1 + math.cos(math.pi * (t - 0.3) / 0.7))
    if step < spec.warmup_steps:
        return spec.lr * (step + 1) / spec.warmup_steps
    w = spec.warmup_steps / max(1, spec.max_steps) if progress is None else 0.0
    t = min(max((t - w) / max(1e-9, 1 - w), 0.0), 1.0)
    if spec.schedule == "cosine":  # down to a tenth of the peak
        return spec.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))
    if spec.schedule == "step":  # x0.1 at one third and two thirds
        return spec.lr * 0.1 ** min(int(3 * t), 2)
    return spec.lr


def make_optimizer(module: nn.Module, spec: LMTrainSpec) -> torch.optim.Optimizer:
    """Decay on weight matrices and embeddings only; biases and LayerNorms are not decayed."""
    decay = [p for p in module.parameters() if p.dim() >= 2]
    other = [p for p in module.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": spec.weight_decay},
              {"params": other, "weight_decay": 0.0}]
    if spec.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=spec.lr, momentum=0.9)
    cls = torch.optim.AdamW if spec.optimizer == "adamw" else torch.optim.Adam
    if cls is torch.optim.Adam:  # Adam's weight_decay is L2 in the gradient, as the user asked
        return cls(groups, lr=spec.lr, betas=(0.9, 0.99))
    return cls(groups, lr=spec.lr, betas=(0.9, 0.99))


def _autocast(precision: str):
    return torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else nullcontext()


def random_batch(ids: torch.Tensor, block: int, batch: int, gen: torch.Generator):
    """(batch, block) inputs and their next-character targets from random offsets of ``ids``."""
    starts = torch.randint(0, len(ids) - block - 1, (batch,), generator=gen)
    offsets = starts[:, None] + torch.arange(block + 1)     # (batch, block+1)
    chunk = ids[offsets]
    return chunk[:, :-1], chunk[:, 1:]


def train_lm(module: nn.Module, train_ids: np.ndarray, val_ids: np.ndarray, spec: LMTrainSpec,
             on_progress: Progress | None = None, should_stop: StopCheck | None = None,
             loss_fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
             max_steps: int | None = None, max_seconds: float | None = None) -> LMHistory:
    """Train ``module`` (ids -> logits) in place as a next-character predictor.

    ``loss_fn(logits, x, y)`` replaces the cross-entropy (distillation uses it); ``max_steps`` and
    ``max_seconds`` override the spec's limits (fine-tuning after pruning uses them).
    """
    on_progress = on_progress or (lambda f, m: None)
    should_stop = should_stop or (lambda: False)
    steps_cap = max_steps if max_steps is not None else spec.max_steps
    seconds_cap = max_seconds if max_seconds is not None else spec.max_seconds
    sched_spec = spec if steps_cap == spec.max_steps else LMTrainSpec(
        **{**spec.to_dict(), "max_steps": steps_cap, "warmup_steps": min(spec.warmup_steps, steps_cap)})
    torch.manual_seed(spec.seed)
    gen = torch.Generator().manual_seed(spec.seed)
    block = module.block_size
    train_t = torch.from_numpy(np.asarray(train_ids, dtype=np.int64))
    val_probe = np.asarray(val_ids[: 8 * block + 1], dtype=np.int64)  # a quick validation probe
    opt = make_optimizer(module, spec)
    history = LMHistory()
    good_state = copy.deepcopy(module.state_dict())
    first_loss = None
    loss_sum, loss_n = 0.0, 0
    start = time.perf_counter()
    module.train()
    step = 0
    while step < steps_cap:
        elapsed = time.perf_counter() - start
        if elapsed >= seconds_cap:
            history.stop_reason = "time_limit"
            history.message = translate("en", "notes.lm_time_limit", seconds=seconds_cap, step=step,
                                        steps=steps_cap)
            break
        if should_stop():
            history.stop_reason = "cancelled"
            history.message = translate("en", "notes.lm_stopped", step=step)
            break
        lr = lr_at(step, sched_spec, max(step / steps_cap, elapsed / seconds_cap))
        for group in opt.param_groups:
            group["lr"] = lr
        x, y = random_batch(train_t, block, spec.batch_size, gen)
        with _autocast(spec.precision):
            logits = module(x)                                           # (B, T, vocab)
        logits = logits.float()
        loss = loss_fn(logits, x, y) if loss_fn else F.cross_entropy(logits.flatten(0, 1), y.flatten())
        if not torch.isfinite(loss) or (first_loss and loss.item() > 1e3 * first_loss):
            module.load_state_dict(good_state)
            history.stop_reason = "diverged"
            history.message = translate("en", "notes.lm_diverged", step=step, loss=loss.item())
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if spec.grad_clip:
            nn.utils.clip_grad_norm_(module.parameters(), spec.grad_clip)
        opt.step()
        step += 1
        first_loss = first_loss or loss.item()
        loss_sum, loss_n = loss_sum + loss.item(), loss_n + 1
        history.n_chars_seen += x.numel()
        if step % spec.eval_every == 0 or step == steps_cap:
            val_bits = _probe_bits(module, val_probe)
            history.steps.append({"step": step, "wall_seconds": time.perf_counter() - start,
                                  "train_loss_bits": loss_sum / loss_n / math.log(2),
                                  "val_bits_probe": val_bits, "lr": lr})
            loss_sum, loss_n = 0.0, 0
            good_state = copy.deepcopy(module.state_dict())
            module.train()
            on_progress(min(step / steps_cap, (time.perf_counter() - start) / seconds_cap),
                        f"step {step}/{steps_cap}: validation probe {val_bits:.3f} bits/char")
    history.n_steps = step
    history.train_seconds = time.perf_counter() - start
    module.eval()
    return history


def _probe_bits(module: nn.Module, ids: np.ndarray) -> float:
    """Bits per char on a few non-overlapping validation windows (a progress signal only)."""
    block = module.block_size
    n = (len(ids) - 1) // block
    if n == 0:
        return float("nan")
    x = torch.from_numpy(ids[: n * block].reshape(n, block))
    y = torch.from_numpy(ids[1: n * block + 1].reshape(n, block))
    module.eval()
    with torch.inference_mode():
        loss = F.cross_entropy(module(x).float().flatten(0, 1), y.flatten())
    return loss.item() / math.log(2)


def fit_gpt(spec: GPTSpec, train: LMTrainSpec, vocab_size: int, train_ids: np.ndarray,
            val_ids: np.ndarray, on_progress: Progress | None = None,
            should_stop: StopCheck | None = None) -> tuple[GPTLanguageModel, LMHistory]:
    """Build a seeded GPT and train it as ``train`` says."""
    torch.manual_seed(train.seed)
    module = GPT(vocab_size, spec)
    history = train_lm(module, train_ids, val_ids, train, on_progress, should_stop)
    arch = {"spec": spec.to_dict(), "vocab_size": vocab_size}
    return GPTLanguageModel(module, vocab_size, arch, spec.family), history


__all__ = ["GPT", "GPTLanguageModel", "KVCacheStream", "LMHistory", "count_params", "fit_gpt", "gpt_param_count",
           "lr_at", "make_optimizer", "random_batch", "train_lm"]
