"""The target: on the built-in corpus, does a GPT of about 1-3 M parameters trained for at
most 3 minutes reach lower validation bits per character than the best character n-gram?

    .venv/bin/python benchmarks/language_model.py [--seconds 180] [--layers 2 --embd 224] [--threads 2]

Prints every n-gram (n = 2..6, both smoothings), the GPT, their sizes and per-character
latencies, and the conditions: the machine's load and the CPU share this process really got
while training (the machine's cores may be shared with other work).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from core.lm import run_language  # noqa: E402
from core.measure import environment  # noqa: E402
from core.specs import (CorpusSpec, GPTSpec, LanguageExperimentSpec, LMCandidateSpec,  # noqa: E402
                        LMMeasureSpec, LMTrainSpec, NGramSpec)


def _cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _generation_ms(model, threads: int) -> tuple[float, float]:
    """ms per generated character with the model's cache and with a plain window recomputation,
    timed alternately in one process so that both see the same machine load."""
    import numpy as np

    from core.lm.base import RecomputeStream, generate

    class Uncached(type(model)):
        def stream(self, contexts):
            return RecomputeStream(self, contexts)

    plain = Uncached.__new__(Uncached)
    plain.__dict__.update(model.__dict__)
    prompt = np.zeros(model.context_length, dtype=np.int64)
    rounds: dict[str, list[float]] = {"cached": [], "window": []}
    with torch.inference_mode():
        for _ in range(3):
            for label, m in (("cached", model), ("window", plain)):
                t0 = time.perf_counter()
                generate(m, prompt, 256, 1.0, seed=0)
                rounds[label].append((time.perf_counter() - t0) * 1e3 / 256)
    return float(np.median(rounds["cached"])), float(np.median(rounds["window"]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=180.0, help="GPT training wall-clock limit")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--embd", type=int, default=224)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--block", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0, help="seeds the GPT's weights and batches")
    ap.add_argument("--threads", type=int, default=2, help="torch threads for training and timing; "
                    "on cores busy with other work 1 is faster (2 OpenMP threads spin at barriers)")
    ap.add_argument("--steps", type=int, default=100_000, help="schedule length (training stops at "
                    "--seconds if that comes first, and the schedule then follows the time)")
    args = ap.parse_args()

    ngrams = [LMCandidateSpec(f"{n}-gram {'KN' if sm == 'kneser_ney' else 'interp'}",
                              NGramSpec(order=n, smoothing=sm))
              for sm in ("kneser_ney", "interpolated") for n in range(2, 7)]
    gpt = LMCandidateSpec("GPT", GPTSpec(n_layer=args.layers, n_head=args.heads, n_embd=args.embd,
                                         block_size=args.block),
                          LMTrainSpec(lr=args.lr, max_steps=args.steps, max_seconds=args.seconds,
                                      batch_size=args.batch, warmup_steps=30, eval_every=50,
                                      seed=args.seed, precision="bf16", schedule="cosine"))
    torch.set_num_threads(args.threads)
    measure = LMMeasureSpec(n_threads=args.threads, min_repeats=30, min_seconds=0.5, max_seconds=2.0,
                            sample_chars=120)
    spec = LanguageExperimentSpec(CorpusSpec(), tuple(ngrams) + (gpt,), measure)

    load_before = os.getloadavg()
    wall0, cpu0 = time.perf_counter(), _cpu_seconds()

    def progress(fraction: float, message: str) -> None:
        if "step" in message or "done" in message:
            print(f"[{fraction:5.1%}] {message}", file=sys.stderr, flush=True)

    # The GPT runs on its own so that the CPU share it really got can be reported.
    ng_result = run_language(LanguageExperimentSpec(spec.corpus, tuple(ngrams), measure), progress)
    g_wall, g_cpu = time.perf_counter(), _cpu_seconds()
    g_result = run_language(LanguageExperimentSpec(spec.corpus, (gpt,), measure), progress)
    g_wall, g_cpu = time.perf_counter() - g_wall, _cpu_seconds() - g_cpu
    result = ng_result
    result.results += g_result.results
    wall, cpu = time.perf_counter() - wall0, _cpu_seconds() - cpu0
    print(result.table())
    print()
    done = [r for r in result.results if r.metrics is not None]
    best_ng = min((r for r in done if r.kind == "ngram"), key=lambda r: r.metrics.bits_per_char)
    g = result.by_name("GPT")
    if g.metrics is None:
        print(f"GPT failed: {g.error}")
        return 1
    gm, nm = g.metrics, best_ng.metrics
    h = g.history
    print(f"GPT       : {gm.n_params:,} params, {gm.size_bytes / 1e6:.2f} MB, trained {h.train_seconds:.0f} s "
          f"({h.n_steps} steps, {h.n_chars_seen:,} characters, {h.stop_reason}), "
          f"validation {gm.bits_per_char:.3f} bits/char (perplexity {gm.perplexity:.2f}), "
          f"{gm.latency_ms_p50:.2f} ms/char p50 at batch 1")
    print(f"best n-gram: {best_ng.name}, {nm.n_params:,} stored counts, {nm.size_bytes / 1e6:.2f} MB, "
          f"counted in {best_ng.train_seconds:.2f} s, validation {nm.bits_per_char:.3f} bits/char "
          f"(perplexity {nm.perplexity:.2f}), {nm.latency_ms_p50:.2f} ms/char p50 at batch 1")
    verdict = "MET" if gm.bits_per_char < nm.bits_per_char else "NOT MET"
    print(f"target (GPT of 1-3 M params, <= 3 min, below the best n-gram): {verdict} "
          f"({gm.bits_per_char:.3f} vs {nm.bits_per_char:.3f} bits/char)")
    cached_ms, window_ms = _generation_ms(g.model, args.threads)
    print(f"GPT generation at batch 1, 256 characters after a full context: {cached_ms:.2f} ms/char "
          f"with the key/value cache, {window_ms:.2f} ms/char recomputing the window "
          f"({window_ms / cached_ms:.1f}x), median of 3 alternating rounds")
    print()
    print("GPT sample :", repr(g.sample[:120]))
    print("n-gram     :", repr(best_ng.sample[:120]))
    print()
    print(f"conditions: while the GPT trained and was measured this process got {g_cpu / g_wall:.2f} "
          f"CPU-seconds per wall-second (2.00 = both cores to itself); load average before "
          f"{load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}; whole run {wall:.0f} s wall, {cpu:.0f} s CPU.")
    env = environment(measure.n_threads)
    print(f"machine: {env['cpu']}, {env['n_cores']} cores, torch {env['torch']} "
          f"({env['torch_cpu_capability']}), {measure.n_threads} threads")
    print(f"GPT train throughput: {h.throughput_chars_per_s:,.0f} characters/s (bf16 autocast, AdamW, "
          f"cosine schedule, batch {args.batch} x {args.block})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
