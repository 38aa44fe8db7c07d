import json

from streamlit.testing.v1 import AppTest

from .conftest import REPO, wait_for

TIMEOUT = 30


def _page(lang: str = "en") -> AppTest:
    at = AppTest.from_file(str(REPO / "pages/compress.py"), default_timeout=TIMEOUT)
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception
    at.selectbox(key="cx-kind").select("tiny_mlp").run()
    at.slider(key="cx-tiny_mlp-train-ep").set_value(2).run()
    at.select_slider(key="cx-measure-sec").set_value(0.2).run()
    return at


def _chart_titles(at):
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def test_compress_page_shows_before_and_after():
    at = _page()
    assert at.multiselect(key="cx-chain").value == ["int8 dynamic"]
    at.button(key="cx-run").click().run()
    wait_for(at, lambda a: len(a.metric) >= 4)
    assert not at.exception
    labels = [m.label for m in at.metric]
    for label in ("Accuracy", "Latency p50, batch 1", "Saved size", "Non-zero parameters"):
        assert label in labels
    sentence = at.success[0].value
    assert "smaller" in sentence and "batch 1" in sentence and "accurate" in sentence
    titles = _chart_titles(at)
    assert any(t.startswith("Weights before and after") for t in titles)
    assert any("against" in t for t in titles)  # the trade-off scatter
    assert len(at.dataframe[0].value) == 2      # before and after rows


def test_compress_page_bit_width_sweep():
    at = _page()
    tab = at.tabs[1]
    tab.radio(key="cx-sweep").set_value("bits").run()
    at.button(key="cx-sweep-run").click().run()
    wait_for(at, lambda a: any("bits per weight" in t for t in _chart_titles(a)))
    assert not at.exception
    assert [row for row in at.dataframe[-1].value["label"]] == ["fp32", "bf16", "int8", "int4"]


def test_compress_page_in_chinese():
    at = _page("zh")
    assert at.title[0].value == "压缩"
    assert at.multiselect(key="cx-chain").label == "压缩技术（按选择顺序依次应用）"
    assert at.multiselect(key="cx-chain").value == ["int8 dynamic"]  # ids stay English
    assert at.radio(key="cx-sweep").label == "扫描"
    assert at.button(key="cx-run").label == "压缩并测量"
    at.button(key="cx-run").click().run()
    wait_for(at, lambda a: len(a.metric) >= 4)
    assert not at.exception and not at.error
    labels = [m.label for m in at.metric]
    assert labels[:4] == ["准确率", "延迟 p50，批大小 1", "保存大小", "非零参数量"]
    assert "个百分点" in at.metric[0].delta
    assert any(t.startswith("压缩前后的权重") for t in _chart_titles(at))
    assert any(e.label == "这些数字是如何测量的" for e in at.expander)
