"""Language models: a character-level GPT against character n-grams on the same text."""

import streamlit as st

from core import run
from core.specs import LanguageExperimentSpec, LMCandidateSpec, LMMeasureSpec, LMQuantizeInt8, NGramPrune
from ui.i18n import t
from ui.jobs_view import follow, submit
from ui.language_view import corpus_form, gpt_form, ngram_form, show_language_results, write_with_models
from ui.state import model_cache

st.title(t("language.title"))
st.caption(t("language.intro"))

corpus = corpus_form("lm-corpus")
with st.expander(t("language.gpt_section"), expanded=True):
    gpt, gpt_train = gpt_form("lm-gpt")
with st.expander(t("language.ngram_section"), expanded=True):
    ngram = ngram_form("lm-ngram")
with st.expander(t("language.extras_section")):
    c1, c2 = st.columns(2)
    quantize = c1.checkbox(t("language.with_int8"), True, key="lm-int8")
    prune_ng = c2.checkbox(t("language.with_ngram_prune"), False, key="lm-ngprune")
    prompt = st.text_input(t("language.prompt"), "The ", max_chars=200, key="lm-prompt")
    n_sample = st.slider(t("language.n_sample"), 20, 400, 150, key="lm-nsample")

candidates = [LMCandidateSpec("GPT", gpt, gpt_train), LMCandidateSpec(f"{ngram.order}-gram", ngram)]
if quantize:
    candidates.insert(1, LMCandidateSpec("GPT int8", parent="GPT", compress=(LMQuantizeInt8(),)))
if prune_ng:
    candidates.append(LMCandidateSpec(f"{ngram.order}-gram pruned", parent=f"{ngram.order}-gram",
                                      compress=(NGramPrune(min_count=2),)))
measure = LMMeasureSpec(prompt=prompt or "The ", sample_chars=n_sample, min_seconds=0.3,
                        max_seconds=1.0, eval_chars=20_000)

if st.button(t("language.run"), type="primary", disabled=corpus is None):
    spec = LanguageExperimentSpec(corpus, tuple(candidates), measure)
    # recorded in the run store from the start, so History lists it and can follow it
    submit("language-job", t("language.job", corpus=corpus.name),
           lambda p, s: run(spec, p, s, cache=model_cache()), spec=spec)

job = follow("language-job")
if job is not None:
    if job.status == "failed":
        st.error(t("language.failed", error=job.error))
    elif job.result is not None:
        st.caption(t("language.finished", seconds=f"{job.elapsed_seconds:.1f}"))
        show_language_results(job.result, key="language")
        write_with_models(job.result)
