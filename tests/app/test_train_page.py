"""The Train page: variants of one network trained as one comparison."""

import json

from streamlit.testing.v1 import AppTest

from .conftest import REPO, wait_for

TIMEOUT = 30


def test_train_page_renders_with_variant_picker():
    at = AppTest.from_file(str(REPO / "pages/train.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.title[0].value == "Train"
    assert any(b.label == "Train all variants" for b in at.button)
    assert at.multiselect[0].value == ["fp32, 1 process", "bf16 autocast"]


def test_train_page_compares_variants_with_curves_table_and_verdicts():
    at = AppTest.from_file(str(REPO / "pages/train.py"), default_timeout=TIMEOUT).run()
    at.selectbox(key="tr-kind").set_value("tiny_mlp").run()
    at.slider(key="tr-base-ep").set_value(3).run()
    at.multiselect(key="tr-var").set_value(["fp32, 1 process", "bf16 autocast",
                                            "fp16 autocast (CUDA only)", "L1 penalty"]).run()
    next(b for b in at.button if b.label == "Train all variants").click().run()
    wait_for(at, lambda a: len(a.get("plotly_chart")) >= 4, timeout=180)
    assert not at.exception
    by_epoch = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = {trace["name"] for trace in by_epoch["data"]}
    assert {"fp32, 1 process", "bf16 autocast", "L1 penalty"} <= names  # fp16 skipped without CUDA
    by_time = json.loads(at.get("plotly_chart")[1].proto.spec)
    assert by_time["layout"]["xaxis"]["title"]["text"].startswith("Wall-clock seconds")
    table = at.dataframe[0].value
    assert list(table["Variant"]) == ["fp32, 1 process", "bf16 autocast",
                                      "fp16 autocast (CUDA only)", "L1 penalty"]
    assert (table["Throughput (samples/s)"].dropna() > 0).all()
    text = " ".join(m.value for m in at.markdown)
    assert "fp16 autocast (CUDA only) was skipped" in text or "CUDA" in text
    assert "bf16 autocast" in text  # a sentence compares it with the fp32 baseline


def test_train_page_in_chinese():
    at = AppTest.from_file(str(REPO / "pages/train.py"), default_timeout=TIMEOUT)
    at.session_state["lang"] = "zh"
    at.run()
    assert not at.exception
    assert at.title[0].value == "训练"
    assert at.button(key="tr-run").label == "训练全部变体"
    variants = at.multiselect(key="tr-var")
    assert variants.label.startswith("训练变体") and "fp32 单进程" in variants.options
    at.selectbox(key="tr-kind").set_value("tiny_mlp").run()
    at.slider(key="tr-base-ep").set_value(2).run()
    at.multiselect(key="tr-var").set_value(["fp32, 1 process", "L1 penalty"]).run()
    at.button(key="tr-run").click().run()
    wait_for(at, lambda a: len(a.get("plotly_chart")) >= 4, timeout=180)
    assert not at.exception and not at.error
    assert at.radio(key="tr-metric").label == "曲线"
    assert any(e.label.startswith("正则化") for e in at.expander)
    assert any(c.value.startswith("测量方式") for c in at.caption)
    names = {trace["name"] for trace in json.loads(at.get("plotly_chart")[0].proto.spec)["data"]}
    assert {"fp32 单进程", "L1 正则"} <= names
    assert list(at.dataframe[0].value["变体"]) == ["fp32 单进程", "L1 正则"]
