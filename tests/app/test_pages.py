import json

from streamlit.testing.v1 import AppTest

from core.specs import DatasetSpec

from .conftest import REPO, wait_for

TIMEOUT = 60


def _charts(at):
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_app_renders_home_with_navigation_and_sidebar():
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.title[0].value == "Tradeoff Lab"
    assert any("Dataset:" in m.value for m in at.sidebar.markdown)


def test_quick_comparison_from_home_shows_charts_and_table():
    at = AppTest.from_file(str(REPO / "pages/home.py"), default_timeout=TIMEOUT).run()
    at.button[0].click().run()
    wait_for(at, lambda a: len(a.get("plotly_chart")) >= 5)
    titles = [c["layout"]["title"]["text"] for c in _charts(at)]
    for prefix in ("Accuracy (%)", "Latency p50", "Saved size", "Parameters"):
        assert any(t.startswith(prefix) for t in titles), titles
    scatter = next(c for c in _charts(at) if "against" in c["layout"]["title"]["text"])
    assert any(trace.get("name") == "Pareto frontier" for trace in scatter["data"])
    assert any(s.value.startswith("**Recommendation.**") for s in at.success)
    table = at.dataframe[0].value
    assert len(table) == 5 and "Latency p50 (ms)" in table.columns
    assert not at.exception and not at.error


def test_data_page_shows_builtin_dataset_summary():
    at = AppTest.from_file(str(REPO / "pages/data.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Classes"] == "10" and metrics["Features (after encoding)"] == "64"
    assert any("Built-in dataset 'digits'" in m.value for m in at.markdown)
    at.selectbox[0].set_value("wine").run()
    assert {m.label: m.value for m in at.metric}["Classes"] == "3"
    assert at.session_state["dataset_spec"].name == "wine"


def test_data_page_explains_a_bad_csv_instead_of_crashing(tmp_path):
    bad = tmp_path / "one_class.csv"
    bad.write_text("a,b,label\n" + "\n".join(f"{i},{i * 2},same" for i in range(30)))
    at = AppTest.from_file(str(REPO / "pages/data.py"), default_timeout=TIMEOUT)
    at.session_state["dataset_spec"] = DatasetSpec("csv", csv_path=str(bad), target="label")
    at.run()
    assert not at.exception
    assert any("single class" in e.value for e in at.error)


def test_data_page_shows_csv_decisions_and_target_choice(tmp_path):
    good = tmp_path / "pets.csv"
    good.write_text("weight,colour,kind\n" + "\n".join(
        f"{i % 13},{['black', 'white', ''][i % 3]},{['cat', 'dog'][i % 2]}" for i in range(60)))
    at = AppTest.from_file(str(REPO / "pages/data.py"), default_timeout=TIMEOUT)
    at.session_state["dataset_spec"] = DatasetSpec("csv", csv_path=str(good), target="kind")
    at.run()
    assert not at.exception and not at.error
    assert any("one-hot encoded" in m.value for m in at.markdown)
    assert at.selectbox[1].value == "kind"


def test_compare_page_trains_the_chosen_models():
    at = AppTest.from_file(str(REPO / "pages/compare.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    at.multiselect[0].set_value(["tiny_mlp", "logistic_regression", "knn"]).run()
    run_button = next(b for b in at.button if b.label == "Train and measure")
    run_button.click().run()
    wait_for(at, lambda a: len(a.get("plotly_chart")) >= 5)
    names = set(at.dataframe[0].value["Model"])
    assert names == {"Tiny MLP (PyTorch)", "Logistic regression", "k-nearest neighbours"}
    assert not at.exception and not at.error
