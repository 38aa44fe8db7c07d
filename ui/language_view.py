"""Widgets and drawing for the Language models page (GPT against n-grams)."""

from __future__ import annotations

import time

import plotly.graph_objects as go
import streamlit as st

from core import report
from core.data import DataError
from core.lm import generate, gpt_param_count, save_text_upload
from core.lm.corpus import encode
from core.lm.experiment import LanguageResult
from core.measure import how_measured_in, thread_budget
from core.paths import uploads_dir
from core.specs import CorpusSpec, GPTSpec, LMTrainSpec, NGramSpec

from .i18n import language, note_text, t

CHAR_CHOICES = [20_000, 50_000, 100_000, 200_000, 0]   # 0 = the whole text
_VOCAB_GUESS = 103                                      # the built-in corpus' characters
WRITE_THREADS = 1                                       # torch threads while writing on demand


def corpus_form(key: str) -> CorpusSpec | None:
    """Built-in text or an upload, and how much of it to use; None while an upload is invalid."""
    builtin = st.radio(t("language.text_source"), [True, False], horizontal=True, key=f"{key}-src",
                       format_func=lambda b: t("language.source_builtin") if b else t("language.source_upload"))
    chars = st.select_slider(t("language.chars"), CHAR_CHOICES, 100_000, key=f"{key}-chars",
                             format_func=lambda n: t("language.chars_all") if n == 0 else f"{n:,}")
    if builtin:
        return CorpusSpec(max_chars=chars)
    upload = st.file_uploader(t("language.upload"), type=["txt", "md", "py", "csv"], key=f"{key}-up")
    if upload is None:
        st.info(t("language.upload_hint"))
        return None
    try:  # stored under a name derived from its content; the upload's own name is never a path
        path = save_text_upload(upload.getvalue(), uploads_dir())
    except DataError as exc:
        st.error(exc.text(language()))
        return None
    return CorpusSpec(name="text", text_path=str(path), max_chars=chars)


def gpt_form(key: str) -> tuple[GPTSpec, LMTrainSpec]:
    c1, c2, c3, c4 = st.columns(4)
    layers = c1.slider(t("language.layers"), 1, 8, 2, key=f"{key}-l")
    width = c2.select_slider(t("language.width"), [32, 64, 96, 128, 160, 192, 224, 256, 384], 128,
                             key=f"{key}-d")
    heads = c3.select_slider(t("language.heads"), [1, 2, 4, 8], 4, key=f"{key}-h")
    block = c4.select_slider(t("language.context"), [16, 32, 64, 128, 256], 64, key=f"{key}-t")
    c1, c2, c3, c4 = st.columns(4)
    seconds = c1.slider(t("language.seconds"), 5, 180, 30, key=f"{key}-s")
    lr = c2.select_slider(t("language.lr"), [3e-4, 1e-3, 2e-3, 3e-3, 5e-3], 3e-3, key=f"{key}-lr")
    batch = c3.select_slider(t("language.batch"), [8, 16, 32, 64], 32, key=f"{key}-b")
    bf16 = c4.toggle(t("language.bf16"), True, key=f"{key}-bf16")
    if width % heads:
        heads = 1
        st.warning(t("language.heads_warning"))
    spec = GPTSpec(n_layer=layers, n_head=heads, n_embd=width, block_size=block)
    st.caption(t("language.gpt_caption", n=f"{gpt_param_count(_VOCAB_GUESS, spec):,}", batch=batch))
    return spec, LMTrainSpec(lr=lr, max_seconds=float(seconds), max_steps=100_000, batch_size=batch,
                             warmup_steps=30, eval_every=50, precision="bf16" if bf16 else "fp32")


def ngram_form(key: str) -> NGramSpec:
    c1, c2 = st.columns(2)
    order = c1.slider(t("language.order"), 2, 6, 5, key=f"{key}-n")
    smoothing = c2.selectbox(t("language.smoothing"), ["kneser_ney", "interpolated"], key=f"{key}-sm",
                             format_func=lambda s: t(f"language.smoothing_{s}"))
    return NGramSpec(order=order, smoothing=smoothing)


def _bar(records: list[dict], metric: str, title: str) -> go.Figure:
    fig = go.Figure()
    for family, color in report.FAMILY_COLORS.items():
        rows = [r for r in records if r["family"] == family]
        if rows:
            fig.add_bar(x=[r["name"] for r in rows], y=[r[metric] for r in rows],
                        name=t(f"language.family_{family}"), marker_color=color,
                        text=[f"{r[metric]:.3g}" for r in rows], textposition="outside")
    fig.update_layout(title=title, height=340, margin=dict(t=60, b=40, l=60, r=20),
                      yaxis_type="log" if report.needs_log_axis([r[metric] for r in records]) else "linear")
    return fig


def show_language_results(result: LanguageResult, key: str = "lm") -> None:
    """Bits per char, latency, size and parameters side by side, then each model's sample."""
    records = [r.to_record() for r in result.results]
    for r in records:
        if r["status"] != "done":
            st.error(t("language.model_failed", name=r["name"], status=r["status"], error=r["error"]))
    done = [r for r in records if r["status"] == "done" and r.get("bits_per_char") is not None]
    if not done:
        st.warning(t("language.none_finished"))
        return
    cols = st.columns(2)
    for i, metric in enumerate(("bits_per_char", "latency_ms_p50", "size_bytes", "n_params")):
        cols[i % 2].plotly_chart(_bar(done, metric, t(f"language.chart_{metric}")), key=f"{key}-{metric}")
    st.dataframe([{t("language.col_model"): r["name"], t("language.col_family"): t(f"language.family_{r['family']}"),
                   t("language.col_bits"): round(r["bits_per_char"], 4),
                   t("language.col_ppl"): round(r["perplexity"], 3),
                   t("language.col_accuracy"): round(100 * r["accuracy"], 2),
                   t("language.col_latency"): round(r["latency_ms_p50"], 3),
                   t("language.col_throughput"): round(r["throughput_sps"]),
                   t("language.col_size"): r["size_bytes"], t("language.col_params"): r["n_params"],
                   t("language.col_train"): round(r["train_seconds"], 2)}
                  for r in done], hide_index=True)
    st.subheader(t("language.samples", prompt=repr(result.spec.measure.prompt)))
    sample_cols = st.columns(min(len(done), 3))
    for i, r in enumerate(done):
        with sample_cols[i % len(sample_cols)]:
            st.markdown(f"**{r['name']}**")
            st.code(result.spec.measure.prompt + r["sample"], language=None, wrap_lines=True)
    with st.expander(t("language.how_measured")):
        st.write(how_measured_in(result.how_measured, language()))
        st.write("; ".join(result.corpus["decisions"]))
        for r in done:
            for note in r["notes"]:
                st.caption(f"{r['name']}: {note_text(note)}")


def write_with_models(result: LanguageResult, key: str = "lm-write") -> None:
    """Continue the user's own prompt with every finished model, timing each character."""
    models = [r for r in result.results if r.status == "done" and r.model is not None and r.model.vocab]
    if not models:
        return
    st.subheader(t("language.write_title"))
    c1, c2 = st.columns([3, 1])
    prompt = c1.text_input(t("language.write_prompt"), "def ", max_chars=200, key=f"{key}-prompt")
    n_chars = c2.number_input(t("language.write_chars"), 10, 500, 120, step=10, key=f"{key}-n")
    if not st.button(t("language.write_button"), key=f"{key}-go"):
        return
    vocab = set(models[0].model.vocab)
    dropped = sorted({c for c in prompt if c not in vocab})
    if dropped:
        st.caption(t("language.write_dropped", chars=", ".join(repr(c) for c in dropped[:10])))
    cols = st.columns(min(len(models), 3))
    for i, r in enumerate(models):
        ids = encode(r.model.vocab, prompt)
        with thread_budget(WRITE_THREADS):
            t0 = time.perf_counter()
            out = generate(r.model, ids, int(n_chars), temperature=0.8, seed=0)
            ms = (time.perf_counter() - t0) * 1e3 / max(len(out), 1)
        with cols[i % len(cols)]:
            st.markdown(f"**{r.name}**")
            st.code(prompt + "".join(r.model.vocab[j] for j in out), language=None, wrap_lines=True)
            st.caption(t("language.write_timing", ms=f"{ms:.2f}", n=len(out), threads=WRITE_THREADS))
