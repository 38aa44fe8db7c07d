"""Language modelling: causal GPT, normalised n-grams, corpus rules, compression, the runner."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from core.data import DataError
from core.experiment import run
from core.lm import (GPT, GPTLanguageModel, NGramLanguageModel, builtin_text, compress_lm, fit_gpt,
                     load_corpus, save_text_upload)
from core.lm.compress import Int8GPT, LMCompressContext
from core.lm.corpus import MAX_TEXT_BYTES
from core.specfile import load_spec
from core.specs import (CorpusSpec, GPTSpec, LanguageExperimentSpec, LMCandidateSpec, LMDistill,
                        LMMeasureSpec, LMPrune, LMQuantizeInt8, LMTrainSpec, NGramPrune, NGramSpec)

TINY = GPTSpec(n_layer=2, n_head=2, n_embd=32, block_size=32)
TEXT = ("the cat sat on the mat. the dog sat on the log. a cat and a dog met on a mat.\n" * 40)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A small, very regular text (3,200 characters) that a tiny GPT learns in seconds."""
    path = save_text_upload(TEXT.encode(), tmp_path_factory.mktemp("text"))
    return load_corpus(CorpusSpec(name="text", text_path=str(path), validation_fraction=0.125))


@pytest.fixture(scope="module")
def trained(corpus):
    """A tiny GPT trained for a fixed number of steps (seeded).

    One thread: on a machine whose cores are busy, two OpenMP threads spin at every barrier and
    train several times slower than one.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train = LMTrainSpec(lr=1e-2, max_steps=120, max_seconds=600, batch_size=16, warmup_steps=5,
                            eval_every=120, precision="bf16")
        spec = GPTSpec(n_layer=2, n_head=2, n_embd=32, block_size=32)
        return fit_gpt(spec, train, corpus.vocab_size, corpus.train_ids, corpus.val_ids)
    finally:
        torch.set_num_threads(before)


def test_causal_mask_later_tokens_do_not_change_earlier_logits():
    torch.manual_seed(0)
    gpt = GPT(20, TINY).eval()
    x = torch.randint(0, 20, (2, 16))
    y = x.clone()
    y[:, 10] = (y[:, 10] + 1) % 20
    y[:, 15] = (y[:, 15] + 3) % 20
    with torch.no_grad():
        a, b = gpt(x), gpt(y)
    torch.testing.assert_close(a[:, :10], b[:, :10], rtol=0, atol=1e-6)  # positions before 10
    assert not torch.allclose(a[:, 10:], b[:, 10:])                     # the change is seen after



def test_kv_cache_stream_matches_full_recomputation_until_the_window_slides(trained):
    model = trained[0]
    block = model.context_length
    contexts = np.random.default_rng(0).integers(0, model.vocab_size, (3, 5))
    stream, grown = model.stream(contexts), contexts
    for i in range(block + 8):
        if grown.shape[1] <= block:          # the cache holds exactly the history a window would
            np.testing.assert_allclose(stream.probs(), model.next_probs(grown), atol=1e-5)
        nxt = np.asarray([i % model.vocab_size, (3 * i) % model.vocab_size, 1])
        stream.push(nxt)
        grown = np.concatenate([grown, nxt[:, None]], 1)
    # Past the block the cache is rebuilt from the last half block and keeps going.
    assert stream.cache[0][0].shape[2] <= block
    np.testing.assert_allclose(stream.probs().sum(1), 1.0, atol=1e-9)


def test_int8_gpt_generates_through_its_cache(trained, corpus):
    """Dynamic int8 picks activation scales per call (and per batch), so a cached step is not
    bit-equal to a full window; it must still give proper distributions past the block size."""
    from core.lm.base import generate

    q = compress_lm(trained[0], LMQuantizeInt8(), None).model
    stream = q.stream(corpus.val_ids[None, :q.context_length])
    for i in range(q.context_length):
        p = stream.probs()
        assert np.isfinite(p).all() and abs(p.sum() - 1) < 1e-9
        stream.push(np.asarray([int(p.argmax())]))
    assert len(generate(q, corpus.encode("the "), 2 * q.context_length, 0.8, seed=0)) == 2 * q.context_length


def test_generation_is_seeded_and_the_same_with_or_without_the_cache(trained, corpus):
    from core.lm.base import RecomputeStream, generate

    model = trained[0]
    prompt = corpus.encode("the ")
    a = generate(model, prompt, 20, 0.8, seed=3)           # 24 < block: no window slide
    assert np.array_equal(a, generate(model, prompt, 20, 0.8, seed=3))

    class NoCache(type(model)):
        def stream(self, contexts):
            return RecomputeStream(self, contexts)

    plain = NoCache(model.module, model.vocab_size, model.arch)
    assert np.array_equal(a, generate(plain, prompt, 20, 0.8, seed=3))


def _ngram(order: int, smoothing: str) -> tuple[NGramLanguageModel, int]:
    vocab = sorted(set(TEXT))
    ids = np.asarray([vocab.index(c) for c in TEXT])
    return NGramLanguageModel.fit(NGramSpec(order=order, smoothing=smoothing), len(vocab), ids), len(vocab)


@settings(max_examples=40, deadline=None)
@given(order=st.integers(2, 6), smoothing=st.sampled_from(["kneser_ney", "interpolated"]),
       context=st.lists(st.integers(0, 16), min_size=0, max_size=8), prune=st.sampled_from([0, 2, 5]))
def test_ngram_probabilities_sum_to_one_for_any_context(order, smoothing, context, prune):
    model, V = _ngram(order, smoothing)
    if prune:
        model = model.prune(prune)
    p = model.next_probs(np.asarray(context, dtype=np.int64)[None, :] % V)
    assert p.shape == (1, V)
    assert (p > 0).all()
    assert p.sum() == pytest.approx(1.0, abs=1e-9)


def test_ngram_score_matches_its_distributions():
    model, V = _ngram(4, "kneser_ney")
    vocab = sorted(set(TEXT))
    ids = np.asarray([vocab.index(c) for c in "the cat met a dog on the log."])
    bits, _ = model.score(ids)
    manual = -np.mean([math.log2(model.next_probs(ids[None, :i])[0, ids[i]]) for i in range(1, len(ids))])
    assert bits == pytest.approx(manual, rel=1e-9)
    seen = np.asarray([vocab.index(c) for c in "the dog sat on the log. a cat and a dog"])
    assert model.score(seen)[0] < _ngram(2, "kneser_ney")[0].score(seen)[0]  # context helps on seen text


def test_ngram_prune_drops_rare_contexts_and_shrinks_the_file():
    model, _ = _ngram(5, "kneser_ney")
    pruned = compress_lm(model, NGramPrune(min_count=3), None).model
    assert pruned.param_counts().total < model.param_counts().total
    size = lambda m: sum(len(b) for b in m.artifact().values())  # noqa: E731
    assert size(pruned) < size(model)
    assert model.param_counts().total == sum(lv.n_entries() for lv in model.levels)  # unchanged input


def test_builtin_corpus_and_split():
    text = builtin_text()
    assert 400_000 < len(text) < 600_000
    c = load_corpus(CorpusSpec(max_chars=10_000, validation_fraction=0.1))
    assert len(c.train_ids) + len(c.val_ids) == 10_000 and len(c.val_ids) == 1_000
    assert c.decode(c.train_ids[:50]) == text[:50]


def test_upload_rules(tmp_path):
    with pytest.raises(DataError, match="limit is 5.2 MB"):
        save_text_upload(b"a" * (MAX_TEXT_BYTES + 1), tmp_path)
    with pytest.raises(DataError, match="not UTF-8"):
        save_text_upload(b"\xff\xfe" + b"abc" * 1000, tmp_path)
    with pytest.raises(DataError, match="at least 2000"):
        save_text_upload(b"short", tmp_path)
    path = save_text_upload(("héllo wörld. " * 300).encode(), tmp_path)
    c = load_corpus(CorpusSpec(name="text", text_path=str(path)))
    assert "ö" in c.vocab and c.n_chars == 13 * 300


def test_int8_quantisation_keeps_bits_per_char_within_0_05(trained, corpus):
    model, history = trained
    ids = corpus.val_ids
    bits, _ = model.score(ids)
    freq = np.bincount(corpus.train_ids, minlength=corpus.vocab_size) / len(corpus.train_ids)
    unigram_bits = -np.sum(freq[freq > 0] * np.log2(freq[freq > 0]))
    assert bits < unigram_bits - 1.0, "the model has not learned to use its context"
    q = compress_lm(model, LMQuantizeInt8(), None).model
    assert isinstance(q, Int8GPT) and not isinstance(model, Int8GPT)
    q_bits, _ = q.score(ids)
    assert abs(q_bits - bits) <= 0.05
    size = lambda m: sum(len(b) for b in m.artifact().values())  # noqa: E731
    assert size(q) < 0.5 * size(model)


def test_head_and_mlp_pruning_really_shrinks(trained, corpus):
    model, _ = trained
    ctx = LMCompressContext(corpus, LMTrainSpec(max_steps=10, batch_size=8))
    out = compress_lm(model, LMPrune(heads_fraction=0.5, mlp_fraction=0.5, finetune_steps=0), ctx)
    pruned = out.model
    assert [b.attn.n_head for b in pruned.module.blocks] == [1, 1]
    assert pruned.param_counts().total < 0.75 * model.param_counts().total
    assert [b.attn.n_head for b in model.module.blocks] == [2, 2]          # input untouched
    assert out.nominal == {"heads_removed_fraction": 0.5, "mlp_removed_fraction": 0.5}
    assert pruned.next_probs(corpus.val_ids[None, :20]).sum() == pytest.approx(1.0)
    assert pruned.score(corpus.val_ids)[0] < 6.0                           # still a working model


def test_distillation_gives_a_smaller_student(trained, corpus):
    model, _ = trained
    ctx = LMCompressContext(corpus, LMTrainSpec(batch_size=8))
    step = LMDistill(student=GPTSpec(n_layer=1, n_head=2, n_embd=16, block_size=32), max_steps=3)
    student = compress_lm(model, step, ctx).model
    assert isinstance(student, GPTLanguageModel)
    assert student.param_counts().total < model.param_counts().total
    with pytest.raises(ValueError, match="block_size must be at most"):
        compress_lm(model, LMDistill(student=GPTSpec(block_size=64), max_steps=1), ctx)


def test_compression_refuses_the_wrong_model_kind(trained):
    ngram, _ = _ngram(3, "kneser_ney")
    with pytest.raises(ValueError, match="applies to a float GPT"):
        compress_lm(ngram, LMQuantizeInt8(), None)
    with pytest.raises(ValueError, match="applies to n-gram models"):
        compress_lm(trained[0], NGramPrune(), None)


def test_runner_records_bits_per_char_through_core_run():
    spec = LanguageExperimentSpec(
        CorpusSpec(max_chars=8_000),
        (LMCandidateSpec("gpt", TINY, LMTrainSpec(max_steps=3, batch_size=4, eval_every=3)),
         LMCandidateSpec("gpt int8", parent="gpt", compress=(LMQuantizeInt8(),)),
         LMCandidateSpec("3-gram", NGramSpec(order=3))),
        LMMeasureSpec(warmup=1, min_repeats=3, min_seconds=0.0, max_seconds=0.2, batch_size=4,
                      sample_chars=12, eval_chars=500))
    result = run(spec)
    recs = result.to_dict()["records"]
    assert [r["status"] for r in recs] == ["done"] * 3
    for r in recs:
        assert r["perplexity"] == pytest.approx(2 ** r["bits_per_char"])
        assert r["size_bytes"] > 0 and r["latency_ms_p50"] > 0 and len(r["sample"]) == 12
    assert recs[1]["family"] == "compressed" and recs[1]["kind"] == "gpt"
    assert recs[2]["n_params"] == result.results[2].model.param_counts().total


def test_example_spec_parses():
    spec = load_spec("examples/language_model.yaml")
    assert isinstance(spec, LanguageExperimentSpec)
    assert any(isinstance(c.model, GPTSpec) for c in spec.candidates)


@pytest.mark.parametrize("factory, match", [
    (lambda: GPTSpec(n_embd=100, n_head=3), r"GPTSpec.n_head must divide n_embd \(100\); got 3"),
    (lambda: NGramSpec(order=7), r"NGramSpec.order must be in \[2, 6\]; got 7"),
    (lambda: CorpusSpec(max_chars=100), r"CorpusSpec.max_chars must be 0 \(all\) or at least 2000"),
    (lambda: LMPrune(heads_fraction=1.0), r"LMPrune.heads_fraction must be in \[0, 1\); got 1.0"),
])
def test_spec_validation(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


def test_gpt_score_uses_the_full_history_within_a_block_and_scores_every_character():
    torch.manual_seed(0)
    spec = GPTSpec(n_layer=1, n_head=2, n_embd=16, block_size=8)
    model = GPTLanguageModel(GPT(11, spec), 11, {"spec": spec.to_dict()})
    ids = np.random.default_rng(1).integers(0, 11, 9)
    logp = torch.log_softmax(model.logits(torch.from_numpy(ids[None, :-1])).double(), -1)[0]
    manual = -float(logp.gather(-1, torch.from_numpy(ids[1:, None])).sum()) / 8 / math.log(2)
    assert model.score(ids)[0] == pytest.approx(manual, rel=1e-12)
    # a longer text: batching must not change the figure (every target scored exactly once)
    long = np.random.default_rng(2).integers(0, 11, 53)
    assert model.score(long, batch=2)[0] == pytest.approx(model.score(long, batch=64)[0], rel=1e-12)


def _roundtrip(model):
    from core.lm import load_language_model

    return load_language_model(model.artifact())


@pytest.mark.parametrize("variant", ["plain", "int8", "pruned"])
def test_gpt_artifacts_load_back_with_the_same_predictions(trained, corpus, variant):
    model = trained[0]
    model.vocab = corpus.vocab
    if variant == "int8":
        model = compress_lm(model, LMQuantizeInt8(), None).model
    elif variant == "pruned":
        ctx = LMCompressContext(corpus, LMTrainSpec(max_steps=1), lambda f, m: None, lambda: False)
        model = compress_lm(model, LMPrune(heads_fraction=0.5, mlp_fraction=0.5, finetune_steps=0), ctx).model
    loaded = _roundtrip(model)
    assert type(loaded) is type(model) and loaded.vocab == corpus.vocab
    assert loaded.param_counts() == model.param_counts()
    ctx = corpus.val_ids[None, :model.context_length]
    np.testing.assert_allclose(loaded.next_probs(ctx), model.next_probs(ctx), atol=1e-6)
    assert loaded.artifact() == model.artifact()        # saving again gives the same bytes


def test_ngram_artifacts_load_back_with_the_same_probabilities(corpus):
    model = NGramLanguageModel.fit(NGramSpec(order=4), corpus.vocab_size, corpus.train_ids)
    model.vocab = corpus.vocab
    for m in (model, model.prune(2)):
        loaded = _roundtrip(m)
        assert loaded.vocab == corpus.vocab and loaded.spec == m.spec
        assert loaded.score(corpus.val_ids) == m.score(corpus.val_ids)
        assert loaded.artifact() == m.artifact()


def test_damaged_language_model_files_are_refused_with_a_message(trained, corpus):
    from core.lm import LMFormatError, load_language_model

    files = trained[0].artifact()
    cases = {
        "missing weights": {"architecture.json": files["architecture.json"]},
        "truncated weights": {**files, "model.safetensors": files["model.safetensors"][:100]},
        "absurd vocabulary": {**files, "architecture.json": files["architecture.json"].replace(
            b'"vocab_size": ', b'"vocab_size": 1', 1)},
        "not json": {**files, "architecture.json": b"\x80\x04K\x01."},   # a pickle, never unpickled
        "nothing": {},
    }
    for label, damaged in cases.items():
        with pytest.raises(LMFormatError) as info:
            load_language_model(damaged)
        assert len(str(info.value)) > 20, label
    ngram = NGramLanguageModel.fit(NGramSpec(order=3), corpus.vocab_size, corpus.train_ids).artifact()
    shuffled = {**ngram, "ngram.json": ngram["ngram.json"].replace(b'"order": 3', b'"order": 4')}
    with pytest.raises(LMFormatError, match="discounts must be 4 numbers|lacks order4"):
        load_language_model(shuffled)
