"""Widgets and drawing for the Language models page (GPT against n-grams)."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from core import report
from core.data import DataError
from core.lm import gpt_param_count, save_text_upload
from core.lm.experiment import LanguageResult
from core.paths import uploads_dir
from core.specs import CorpusSpec, GPTSpec, LMTrainSpec, NGramSpec

CHAR_CHOICES = [20_000, 50_000, 100_000, 200_000, 0]   # 0 = the whole text
_VOCAB_GUESS = 103                                      # the built-in corpus' characters


def corpus_form(key: str) -> CorpusSpec | None:
    """Built-in text or an upload, and how much of it to use; None while an upload is invalid."""
    source = st.radio("Text", ["Python's help pages (built in, 465 K characters)", "My UTF-8 text file"],
                      horizontal=True, key=f"{key}-src")
    chars = st.select_slider("Characters to use (the last 10 % is held out)", CHAR_CHOICES, 100_000,
                             format_func=lambda n: "all" if n == 0 else f"{n:,}", key=f"{key}-chars")
    if source.startswith("Python"):
        return CorpusSpec(max_chars=chars)
    upload = st.file_uploader("UTF-8 text, up to 5 MB", type=["txt", "md", "py", "csv"], key=f"{key}-up")
    if upload is None:
        st.info("Upload a text file to train on it.")
        return None
    try:
        path = save_text_upload(upload.getvalue(), uploads_dir())
    except DataError as exc:
        st.error(str(exc))
        return None
    return CorpusSpec(name="text", text_path=str(path), max_chars=chars)


def gpt_form(key: str) -> tuple[GPTSpec, LMTrainSpec]:
    c1, c2, c3, c4 = st.columns(4)
    layers = c1.slider("Layers", 1, 8, 2, key=f"{key}-l")
    width = c2.select_slider("Width", [32, 64, 96, 128, 160, 192, 256, 384], 128, key=f"{key}-d")
    heads = c3.select_slider("Heads", [1, 2, 4, 8], 4, key=f"{key}-h")
    block = c4.select_slider("Context (characters)", [16, 32, 64, 128, 256], 64, key=f"{key}-t")
    c1, c2, c3 = st.columns(3)
    seconds = c1.slider("Training time limit (s)", 5, 180, 30, key=f"{key}-s")
    lr = c2.select_slider("Peak learning rate", [3e-4, 1e-3, 2e-3, 3e-3, 5e-3], 3e-3, key=f"{key}-lr")
    bf16 = c3.toggle("bf16 autocast", True, key=f"{key}-bf16")
    if width % heads:
        heads = 1
        st.warning("The width is not divisible by the number of heads; using 1 head.")
    spec = GPTSpec(n_layer=layers, n_head=heads, n_embd=width, block_size=block)
    st.caption(f"About {gpt_param_count(_VOCAB_GUESS, spec):,} parameters. AdamW, warm-up then cosine "
               "schedule, batch 32; training stops at the time limit.")
    return spec, LMTrainSpec(lr=lr, max_seconds=float(seconds), max_steps=5000, batch_size=32,
                             warmup_steps=30, eval_every=50, precision="bf16" if bf16 else "fp32")


def ngram_form(key: str) -> NGramSpec:
    c1, c2 = st.columns(2)
    order = c1.slider("n (characters of context + 1)", 2, 6, 5, key=f"{key}-n")
    smoothing = c2.selectbox("Smoothing", ["kneser_ney", "interpolated"], key=f"{key}-sm",
                             format_func=lambda s: {"kneser_ney": "Interpolated Kneser-Ney",
                                                    "interpolated": "Interpolated absolute discounting"}[s])
    return NGramSpec(order=order, smoothing=smoothing)


def _bar(records: list[dict], metric: str, title: str) -> go.Figure:
    fig = go.Figure()
    for family, color in report.FAMILY_COLORS.items():
        rows = [r for r in records if r["family"] == family]
        if rows:
            fig.add_bar(x=[r["name"] for r in rows], y=[r[metric] for r in rows], name=family,
                        marker_color=color, text=[f"{r[metric]:.3g}" for r in rows], textposition="outside")
    fig.update_layout(title=title, height=340, margin=dict(t=60, b=40, l=60, r=20),
                      yaxis_type="log" if report.needs_log_axis([r[metric] for r in records]) else "linear")
    return fig


def show_language_results(result: LanguageResult, key: str = "lm") -> None:
    """Bits per char, latency, size and parameters side by side, then each model's sample."""
    records = [r.to_record() for r in result.results]
    for r in records:
        if r["status"] != "done":
            st.error(f"{r['name']}: {r['status']} — {r['error']}")
    done = [r for r in records if r["status"] == "done" and r.get("bits_per_char") is not None]
    if not done:
        st.warning("No language model finished.")
        return
    cols = st.columns(2)
    charts = [("bits_per_char", "Validation bits per character — lower is better"),
              ("latency_ms_p50", "Latency per generated character, batch 1 (ms)"),
              ("size_bytes", "Saved size (bytes)"), ("n_params", "Parameters (n-grams: stored counts)")]
    for i, (metric, title) in enumerate(charts):
        cols[i % 2].plotly_chart(_bar(done, metric, title), key=f"{key}-{metric}")
    st.dataframe([{"Model": r["name"], "Family": r["family"], "Bits/char": round(r["bits_per_char"], 4),
                   "Perplexity": round(r["perplexity"], 3), "Next-char accuracy (%)": round(100 * r["accuracy"], 2),
                   "Latency p50 (ms/char)": round(r["latency_ms_p50"], 3),
                   "Throughput (chars/s)": round(r["throughput_sps"]), "Saved size (bytes)": r["size_bytes"],
                   "Parameters": r["n_params"], "Train time (s)": round(r["train_seconds"], 2)}
                  for r in done], hide_index=True)
    st.subheader(f"Samples after the prompt {result.spec.measure.prompt!r}")
    sample_cols = st.columns(min(len(done), 3))
    for i, r in enumerate(done):
        with sample_cols[i % len(sample_cols)]:
            st.markdown(f"**{r['name']}**")
            st.code(result.spec.measure.prompt + r["sample"], language=None, wrap_lines=True)
    with st.expander("How these figures were measured"):
        st.write(result.how_measured)
        st.write("; ".join(result.corpus["decisions"]))
        for r in done:
            for note in r["notes"]:
                st.caption(f"{r['name']}: {note}")
