"""The "Do we need deep learning?" page runs the comparison and writes a verdict per dataset."""

from streamlit.testing.v1 import AppTest

from .conftest import REPO, wait_for


def test_verdict_page_judges_each_dataset_and_switches_language():
    at = AppTest.from_file(str(REPO / "pages/verdict.py"), default_timeout=60).run()
    assert not at.exception
    at.multiselect[0].set_value(["iris", "wine"])
    at.slider(key="verdict-epochs").set_value(5)
    at.run()
    at.button[0].click().run()
    wait_for(at, lambda a: len(a.get("plotly_chart")) > 0, timeout=300)
    assert not at.exception and not at.error
    summary = at.subheader[0].value
    assert summary.startswith("Across 2 datasets: deep learning wins"), summary
    lines = [m.value for m in at.markdown if m.value.startswith((":material/",))]
    assert len(lines) == 2 and "**iris**" in lines[0] and "**wine**" in lines[1]
    assert all("x the latency" in line for line in lines), lines   # measured cost, not canned
    tables = [df.value for df in at.dataframe]
    assert len(tables) == 2 and all(len(tb) == 5 for tb in tables)
    # The same verdict, re-rendered in Chinese without running anything again.
    at.session_state["lang"] = "zh"
    at.run()
    assert not at.exception
    assert at.subheader[0].value.startswith("在 2 个数据集上：深度学习胜出")
    assert at.title[0].value == "我们需要深度学习吗？"
