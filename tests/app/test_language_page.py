"""Language models page: trains a small GPT and an n-gram on a slice and shows their samples."""

import pytest
from streamlit.testing.v1 import AppTest

from .conftest import REPO, wait_for


@pytest.mark.slow  # trains a GPT for 5 s and times 3 models: about 50 s on 2 busy cores
def test_language_page_trains_both_models_and_shows_samples():
    at = AppTest.from_file(str(REPO / "pages/language.py"), default_timeout=30).run()
    assert not at.exception
    at.select_slider(key="lm-corpus-chars").set_value(20_000)
    at.slider(key="lm-gpt-l").set_value(1)
    at.select_slider(key="lm-gpt-d").set_value(32)
    at.select_slider(key="lm-gpt-h").set_value(2)
    at.select_slider(key="lm-gpt-t").set_value(16)
    at.slider(key="lm-gpt-s").set_value(5)
    at.slider(key="lm-ngram-n").set_value(3)
    at.slider(key="lm-nsample").set_value(20)
    at.run()
    assert not at.exception
    at.button[0].click().run()
    wait_for(at, lambda a: len(a.code) >= 3, timeout=240)
    assert not at.exception and not at.error
    names = [m.value for m in at.markdown]
    for name in ("**GPT**", "**GPT int8**", "**3-gram**"):
        assert name in names, names
    samples = [c.value for c in at.code]
    # the prompt, then up to 20 generated characters (st.code drops trailing white space)
    assert all(s.startswith("The ") and len("The ") < len(s) <= len("The ") + 20 for s in samples), samples
    table = at.dataframe[0].value
    assert list(table["Model"]) == ["GPT", "GPT int8", "3-gram"]
    assert (table["Bits/char"] > 0).all()
    # The finished run is in the store under its corpus' name, recorded when it was submitted.
    from core.store import RunStore, data_home

    store = RunStore(data_home())
    runs = store.list_runs()
    assert [(r.dataset, r.status) for r in runs] == [("pydoc_topics", "done")]
    stored = store.get_run(runs[0].id)
    assert [r["name"] for r in stored.records] == ["GPT", "GPT int8", "3-gram"]
    assert all(r["bits_per_char"] > 0 for r in stored.records)
    # Each model's files are stored and load back as the same model (the vocabulary with it).
    from core.lm import load_stored_language_model

    reloaded = load_stored_language_model(stored.artifacts, 2)
    assert reloaded.spec.order == 3 and len(reloaded.vocab) == reloaded.vocab_size
    # Writing on demand: every model continues the user's prompt through its generation state.
    at.text_input(key="lm-write-prompt").set_value("class ")
    at.number_input(key="lm-write-n").set_value(30)
    at.button(key="lm-write-go").click().run()
    assert not at.exception
    written = [c.value for c in at.code if c.value.startswith("class ")]
    assert len(written) == 3, [c.value for c in at.code]
    timings = [c.value for c in at.caption if "ms per character over" in c.value]
    assert len(timings) == 3, timings


def test_language_page_in_chinese_before_any_run():
    at = AppTest.from_file(str(REPO / "pages/language.py"), default_timeout=30)
    at.session_state["lang"] = "zh"
    at.run()
    assert not at.exception
    assert at.title[0].value == "语言模型"
    assert at.button[0].label == "训练并测量"
    assert "层数" in [s.label for s in at.slider]
