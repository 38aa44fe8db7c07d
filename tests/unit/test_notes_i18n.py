"""Per-model notes: stored in English, rendered in the page's language with the same figures."""

import re
import string

import pytest

from core.compress import CompressContext, compress
from core.data import load
from core.i18n import FREE_TEXT_PLACEHOLDERS, _literal, _template_pattern, keys_under, retranslate, strings, translate
from core.specs import (DatasetSpec, Distill, MLPSpec, PruneMagnitude, PruneStructured, QuantizeDynamic,
                        QuantizeInt4, TinyMLPSpec, TrainSpec)
from core.train import fit_neural

NOTES = keys_under("notes")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _figures(text: str) -> list[str]:
    return sorted(re.findall(r"\d+(?:[.,]\d+)*", text))


@pytest.fixture(scope="module")
def digits():
    return load(DatasetSpec(name="digits"))


@pytest.fixture(scope="module")
def mlp(digits):
    return fit_neural(MLPSpec(hidden=(64, 64)), TrainSpec(epochs=2, seed=0), digits)[0]


@pytest.fixture(scope="module")
def ctx(digits):
    return CompressContext(digits, TrainSpec(epochs=2))


def test_notes_keys_are_listed_from_the_locales():
    assert "notes.int4" in NOTES and "notes.lm_pruned" in NOTES
    assert NOTES == keys_under("notes.", "zh") == keys_under("notes", "zh")
    assert all(k.startswith("notes.") for k in NOTES)


def test_real_compression_notes_read_the_same_in_english_and_carry_their_figures_into_chinese(mlp, ctx):
    notes = []
    for step in (QuantizeInt4(group_size=32), QuantizeDynamic(),
                 PruneMagnitude(amount=0.5, fine_tune_epochs=1, storage="csr"),
                 PruneStructured(amount=0.5, criterion="l2"),
                 Distill(student=TinyMLPSpec(hidden=(16,)), epochs=1)):
        notes += compress(mlp, step, ctx).notes
    assert notes[0].startswith("int4 weight-only, symmetric, one fp16 scale per group of 32 weights; "
                               "saved packed two values per byte.")
    assert "int8 dynamic quantisation (torch.ao x86/fbgemm kernels): int8 weights with per-channel " \
           "scales; activations quantised per call." in notes
    assert "PruneMagnitude: 50% of weights zeroed (layer threshold; biases kept)." in notes
    assert "Saved sparse (CSR) for weight matrices and kernels." in notes
    assert any(re.fullmatch(r"Fine-tuned 1 epochs \(\w+, lr \S+ = training lr x 0\.1, batch \d+\); "
                            r"pruned weights held at zero\.( .*)?", n) for n in notes)
    assert any(re.fullmatch(r"Sparse \(CSR\) execution measured \d+\.\d\dx (faster|slower) than dense at "
                            r"batch 1 \(median of 40 calls each, \d+ threads, while compressing\): "
                            r"\d+\.\d{3} ms vs \d+\.\d{3} ms; the model runs (sparse|dense)\.", n)
               for n in notes)
    assert any(n.startswith("Structured pruning removed 50% of the units of every hidden layer (ranked by "
                            "L2 norm of incoming weights) and rebuilt the network as {") for n in notes)
    assert any(n.startswith("Distilled into tiny_mlp {") for n in notes)
    for note in notes:
        zh = retranslate(note, "zh", NOTES)
        assert zh != note and CJK.search(zh), note
        assert _figures(zh) == _figures(note), (note, zh)
        assert retranslate(zh, "en", NOTES) == note
        assert retranslate(note, "en", NOTES) == note
        assert retranslate(zh, "zh", NOTES) == zh


def test_text_no_template_produced_is_left_as_it_is():
    for text in ("", "Imported from elsewhere.", "int4 weights, saved somehow", "3 convolution layers"):
        assert retranslate(text, "zh", NOTES) == text
        assert retranslate(text, "en", NOTES) == text


def _sample(name: str, spec: str, i: int):
    if name == "spec":
        return {"kind": "mlp", "hidden": [32, 16], "dropout": 0.1}
    if name in FREE_TEXT_PLACEHOLDERS:
        return "coef_, intercept_"
    if "%" in spec:
        return (i + 1) / 40
    if spec in (",", ""):
        return 1000 * i + 7 if spec == "," else f"v{i}"
    return i + 0.25


@pytest.mark.parametrize("key", NOTES)
def test_every_note_template_round_trips_through_chinese(key):
    values, seen = {}, 0
    for _, name, spec, _ in string.Formatter().parse(strings("en")[key]):
        if name and name not in values:
            seen += 1
            values[name] = _sample(name, spec or "", seen)
    en = translate("en", key, **values)
    zh = retranslate(en, "zh", NOTES)
    assert zh == translate("zh", key, **values)
    assert CJK.search(zh) and _figures(zh) == _figures(en)
    assert retranslate(zh, "en", NOTES) == en
    # Another template that reads this note as its own has fewer fixed words, so it loses.
    for other in NOTES:
        if other != key and _template_pattern(other, "en").fullmatch(en):
            assert len(_literal(strings("en")[other])) < len(_literal(strings("en")[key])), (key, other)
        if other != key and _template_pattern(other, "zh").fullmatch(zh):
            assert len(_literal(strings("en")[other])) < len(_literal(strings("en")[key])), (key, other)


def test_a_note_with_a_training_message_appended_translates_both_parts():
    note = (translate("en", "notes.fine_tuned_masked", epochs=3, optimizer="adam", lr=0.0001,
                      lr_scale=0.1, batch_size=64)
            + " " + translate("en", "notes.early_stopping", epoch=3, patience=2, best_epoch=1))
    zh = retranslate(note, "zh", NOTES)
    assert zh == (translate("zh", "notes.fine_tuned_masked", epochs=3, optimizer="adam", lr=0.0001,
                            lr_scale=0.1, batch_size=64)
                  + " " + translate("zh", "notes.early_stopping", epoch=3, patience=2, best_epoch=1))
    assert retranslate(zh, "en", NOTES) == note
