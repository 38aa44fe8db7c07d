"""The Learn page: every section renders its explanation, formula and demo; widgets drive the demo."""

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from ui.learn_view import section_labels

from .conftest import REPO

PAGE = str(REPO / "pages" / "learn.py")
TIMEOUT = 60


def _open(section: str, lang: str = "en") -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.session_state["lang"] = lang
    at.session_state["learn-section"] = section
    return at.run()


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


@pytest.mark.parametrize("section", list(section_labels("en").values()))
def test_every_section_renders_its_formula_and_demo(section):
    at = _open(section)
    assert not at.exception, at.exception
    assert not at.error
    assert at.title[0].value == "Learn"
    assert at.get("latex"), "the key formula is missing"
    charts = _charts(at)
    assert charts and all(c["data"] for c in charts)
    assert len(at.markdown) >= 2  # the page intro and the section's explanation


# (section, widget key, new value, what must change: a chart index or "caption")
CHANGES = [
    ("Large vs small", "lvs-width", 4, 0),
    ("Distributed training", "dist-batch", 30, "caption"),
    ("Mixed precision", "mp-n", 100, 0),
    ("Quantisation", "q-bits", 8, 0),
    ("Pruning", "pr-sparsity", 0.9, 0),
    ("Distillation", "kd-t", 16.0, 0),
    ("SGD & regularisation", "sgd-mu", 0.5, 0),
]


@pytest.mark.parametrize("section,key,value,target", CHANGES)
def test_changing_a_widget_changes_the_demo_output(section, key, value, target):
    at = _open(section)
    before = _charts(at)[target] if target != "caption" else [c.value for c in at.caption]
    widget = next(w for w in at.get("slider") + at.get("select_slider") if w.key == key)
    widget.set_value(value).run()
    assert not at.exception, at.exception
    after = _charts(at)[target] if target != "caption" else [c.value for c in at.caption]
    assert after != before
    if target != "caption":
        assert after["data"] != before["data"] or after["layout"]["title"] != before["layout"]["title"]


def test_data_parallel_caption_reports_an_exact_average_for_equal_shards():
    at = _open("Distributed training")
    caption = next(c.value for c in at.caption if c.value.startswith("Shard sizes"))
    assert "[16, 16, 16, 16]" in caption
    plain = float(caption.split("plain average ")[1].split(",")[0])
    assert plain < 1e-6


CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("section", list(section_labels("zh").values()))
def test_every_section_reads_in_chinese(section):
    at = _open(section, "zh")
    assert not at.exception, at.exception
    assert at.title[0].value == "学习"
    texts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    assert all(CJK.search(text) for text in texts), texts
    widgets = [w for kind in ("slider", "select_slider", "radio", "number_input", "multiselect")
               for w in at.get(kind)]
    assert widgets and all(CJK.search(w.label) for w in widgets), [w.label for w in widgets]
    charts = _charts(at)
    assert charts and all(CJK.search(json.dumps(c["layout"]["title"], ensure_ascii=False)) for c in charts)


def test_switching_the_language_keeps_the_open_section_and_its_settings():
    at = _open("Pruning")
    next(w for w in at.slider if w.key == "pr-sparsity").set_value(0.8).run()
    at.session_state["lang"] = "zh"
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["learn-section"] == "剪枝"
    sparsity = next(w for w in at.slider if w.key == "pr-sparsity")
    assert sparsity.label == "稀疏度" and sparsity.value == 0.8
    assert _charts(at)[0]["layout"]["title"]["text"].startswith("第一层（32 x 64），稀疏度 80%")
