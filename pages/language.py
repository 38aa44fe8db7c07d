"""Language models: a character-level GPT against character n-grams on the same text."""

import streamlit as st

from core import run
from core.specs import LanguageExperimentSpec, LMCandidateSpec, LMMeasureSpec, LMQuantizeInt8, NGramPrune
from ui.jobs_view import follow, submit
from ui.language_view import corpus_form, gpt_form, ngram_form, show_language_results
from ui.state import model_cache

st.title("Language models")
st.caption("A GPT-style decoder (causal self-attention, learned positions) against character "
           "n-gram tables, trained on the same text and measured by one harness: validation bits "
           "per character, generation latency per character, saved size and parameters.")

corpus = corpus_form("lm-corpus")
with st.expander("GPT (large)", expanded=True):
    gpt, gpt_train = gpt_form("lm-gpt")
with st.expander("n-gram (small)", expanded=True):
    ngram = ngram_form("lm-ngram")
with st.expander("Compression and sampling"):
    c1, c2 = st.columns(2)
    quantize = c1.checkbox("Also measure the GPT with int8 Linear layers", True, key="lm-int8")
    prune_ng = c2.checkbox("Also measure the n-gram without contexts seen once", False, key="lm-ngprune")
    prompt = st.text_input("Prompt (every model continues it)", "The ", max_chars=200, key="lm-prompt")
    n_sample = st.slider("Characters to generate", 20, 400, 150, key="lm-nsample")

candidates = [LMCandidateSpec("GPT", gpt, gpt_train), LMCandidateSpec(f"{ngram.order}-gram", ngram)]
if quantize:
    candidates.insert(1, LMCandidateSpec("GPT int8", parent="GPT", compress=(LMQuantizeInt8(),)))
if prune_ng:
    candidates.append(LMCandidateSpec(f"{ngram.order}-gram pruned", parent=f"{ngram.order}-gram",
                                      compress=(NGramPrune(min_count=2),)))
measure = LMMeasureSpec(prompt=prompt or "The ", sample_chars=n_sample, min_seconds=0.3,
                        max_seconds=1.0, eval_chars=20_000)

if st.button("Train and measure", type="primary", disabled=corpus is None):
    spec = LanguageExperimentSpec(corpus, tuple(candidates), measure)
    submit("language-job", f"Language models on {corpus.name}",
           lambda p, s: run(spec, p, s, cache=model_cache()))

job = follow("language-job")
if job is not None:
    if job.status == "failed":
        st.error(f"The run failed: {job.error}")
    elif job.result is not None:
        st.caption(f"Finished in {job.elapsed_seconds:.1f} s. Latency figures are measured on this "
                   "machine's shared cores; the GPT recomputes its whole context for each character.")
        show_language_results(job.result, key="language")
