"""History page: a real run store in a temporary TRADEOFF_LAB_HOME (set by tests/app/conftest.py)."""

from __future__ import annotations

import json
import os
import pickle

import pytest
from streamlit.testing.v1 import AppTest

from core.experiment import run
from core.specs import (CandidateSpec, DatasetSpec, ExperimentSpec, LogisticRegressionSpec,
                        MeasureSpec, TinyMLPSpec, TrainSpec)
from core.store import RunStore

from .conftest import REPO, wait_for

TIMEOUT = 30
FAST = MeasureSpec(warmup=1, min_repeats=3, min_seconds=0.0, max_seconds=0.05, batch_size=32)


@pytest.fixture(scope="module")
def result():
    # The data page's default dataset is digits, so imports below are measured on it.
    spec = ExperimentSpec(DatasetSpec("digits"), (
        CandidateSpec("tiny net", TinyMLPSpec(hidden=(8,)), TrainSpec(epochs=2, batch_size=64)),
        CandidateSpec("logreg", LogisticRegressionSpec()),
    ), FAST)
    return run(spec)


@pytest.fixture
def store():
    return RunStore(os.environ["TRADEOFF_LAB_HOME"])  # the page's store: same directory


def _page() -> AppTest:
    return AppTest.from_file(str(REPO / "pages/history.py"), default_timeout=TIMEOUT).run()


def _titles(at) -> list[str]:
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def _button(at, label):
    return next(b for b in at.button if b.label == label)


def test_empty_store_explains_what_to_do(store):
    at = _page()
    assert not at.exception
    assert any("No stored runs" in i.value for i in at.info)


def test_runs_are_listed_and_the_newest_is_compared_with_downloads(store, result):
    store.record(result, name="older", tags=("keep",))
    newest = store.record(result, name="newest")
    at = _page()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert list(table["Name"]) == ["newest", "older"] and "Best accuracy (%)" in table.columns
    assert at.multiselect(key="hist-select").value == [newest]
    titles = _titles(at)
    for prefix in ("Accuracy (%)", "Latency p50", "Saved size", "Parameters", "Accuracy against",
                   "Accuracy per epoch"):
        assert any(t.startswith(prefix) for t in titles), titles
    labels = [d.label for d in at.get("download_button")]
    assert "Download report (HTML)" in labels and "Metrics (CSV)" in labels and "Metrics (JSON)" in labels
    assert any("model.safetensors" in label for label in labels)
    assert any("model.skops" in label for label in labels)


def test_filters_and_side_by_side_comparison(store, result):
    a = store.record(result, name="A", tags=("keep",))
    b = store.record(result, name="B")
    at = _page()
    at.selectbox(key="hf-tag").set_value("keep").run()
    assert list(at.dataframe[0].value["Run"]) == [a]
    at.selectbox(key="hf-tag").set_value(None).run()
    at.multiselect(key="hist-select").set_value([a, b]).run()
    assert not at.exception
    bars = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = {x for trace in bars["data"] for x in trace["x"]}
    assert {"A · tiny net", "B · tiny net", "A · logreg", "B · logreg"} <= names


def test_rename_tag_and_delete_with_confirmation(store, result):
    run_id = store.record(result, name="before")
    at = _page()
    at.text_input(key=f"name-{run_id}").set_value("after")
    at.text_input(key=f"tags-{run_id}").set_value("demo, review")
    at.button(key=f"save-{run_id}").click().run()
    summary = store.get_run(run_id).summary
    assert summary.name == "after" and summary.tags == ("demo", "review")
    at.button(key=f"delete-{run_id}").click().run()
    assert any("cannot be undone" in w.value for w in at.warning)
    assert store.list_runs()  # nothing deleted until confirmed
    at.button(key=f"no-delete-{run_id}").click().run()
    assert store.list_runs() and not any("cannot be undone" in w.value for w in at.warning)
    at.button(key=f"delete-{run_id}").click().run()
    artifact_dir = store.artifact_dir / run_id
    assert artifact_dir.exists()
    at.button(key=f"yes-delete-{run_id}").click().run()
    assert not at.exception
    assert store.list_runs() == [] and not artifact_dir.exists()
    assert any("No stored runs" in i.value for i in at.info)


def test_rerun_from_the_stored_spec_stores_a_new_run(store, result):
    first = store.record(result, name="original")
    at = _page()
    at.button(key=f"rerun-{first}").click().run()
    wait_for(at, lambda a: len(store.list_runs(status="done")) == 2, timeout=120)
    new = next(r for r in store.list_runs() if r.id != first)
    assert new.name == "Re-run of original"
    assert store.get_run(new.id).spec == store.get_run(first).spec
    assert not at.exception


def test_import_refuses_a_pickle_and_stores_a_real_model(store, result, tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    at = _page()
    at.file_uploader(key="imp-files").set_value(("model.onnx", pickle.dumps(Payload()), "application/octet-stream")).run()
    at.button(key="imp-go").click().run()
    assert any("pickle" in e.value for e in at.error) and not marker.exists()
    assert store.list_runs() == []

    files = result.results[0].model.artifact()
    at.file_uploader(key="imp-files").set_value([
        ("weights.bin", files["model.safetensors"], "application/octet-stream"),
        ("anything.txt", files["architecture.json"], "application/json")]).run()
    at.button(key="imp-go").click().run()
    assert not at.exception and not at.error
    (imported,) = store.list_runs()
    assert imported.kind == "import" and imported.families == ("imported",)
    assert imported.best_accuracy == result.results[0].metrics.accuracy


def test_onnx_export_of_a_stored_torch_model(store, result):
    run_id = store.record(result, name="net")
    at = _page()
    at.button(key=f"onnx-{run_id}").click().run()
    assert not at.exception and not at.error
    onnx = [a for a in store.get_run(run_id).artifacts if a.role == "onnx"]
    assert len(onnx) == 1 and onnx[0].idx == 0 and onnx[0].meta["check"]["ok"]
    assert any("ONNX parity: 100% same class" in d.label for d in at.get("download_button"))


def test_every_page_lists_runs_recorded_elsewhere_in_the_sidebar(store):
    # A run recorded by the command line (not a job of this server) still shows on any page.
    run_id = store.create_run({"dataset": {"name": "iris"}, "candidates": []}, name="CLI run",
                              status="running")
    store.set_progress(run_id, 0.4, "fitting")
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert any("CLI run (started elsewhere): running, 40%" in c.value for c in at.sidebar.caption)


def test_history_page_in_chinese(store, result):
    empty = AppTest.from_file(str(REPO / "pages/history.py"), default_timeout=TIMEOUT)
    empty.session_state["lang"] = "zh"
    empty.run()
    assert not empty.exception and empty.title[0].value == "历史记录"
    assert any("没有符合条件的已保存运行" in i.value for i in empty.info)

    run_id = store.record(result, name="net")
    at = AppTest.from_file(str(REPO / "pages/history.py"), default_timeout=TIMEOUT)
    at.session_state["lang"] = "zh"
    at.run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert list(table["名称"]) == ["net"] and list(table["状态"]) == ["已完成"]
    assert "最佳准确率（%）" in table.columns
    assert at.selectbox(key="hf-tag").label == "标签"
    assert at.multiselect(key="hist-select").label == "要并排比较的运行"
    assert any(t.startswith("准确率（%）") for t in _titles(at))
    labels = [d.label for d in at.get("download_button")]
    assert "下载报告（HTML）" in labels and "指标（CSV）" in labels
    assert any("model.safetensors" in label and "字节" in label for label in labels)
    assert at.button(key=f"rerun-{run_id}").label == "按原设置重新运行"
    at.button(key=f"delete-{run_id}").click().run()
    assert any("此操作无法撤销" in w.value for w in at.warning)
    at.button(key=f"no-delete-{run_id}").click().run()
    assert not at.exception and store.list_runs()


def test_history_compares_language_model_runs_by_bits_per_char():
    import json as _json

    from core import run as run_spec
    from core.specs import (CorpusSpec, GPTSpec, LanguageExperimentSpec, LMCandidateSpec,
                            LMMeasureSpec, LMTrainSpec, NGramSpec)
    from core.store import RunStore, data_home

    spec = LanguageExperimentSpec(
        CorpusSpec(max_chars=8000),
        (LMCandidateSpec("gpt", GPTSpec(n_layer=1, n_head=2, n_embd=32, block_size=16),
                         LMTrainSpec(max_steps=3, batch_size=4, eval_every=3)),
         LMCandidateSpec("3-gram", NGramSpec(order=3))),
        LMMeasureSpec(warmup=1, min_repeats=3, min_seconds=0.0, max_seconds=0.2, batch_size=4,
                      sample_chars=12, eval_chars=500))
    RunStore(data_home()).record(run_spec(spec), name="text models")
    at = AppTest.from_file(str(REPO / "pages/history.py"), default_timeout=60).run()
    assert not at.exception
    titles = [_json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert titles[0].startswith("Validation bits per character"), titles
    table = at.dataframe[-1].value
    assert list(table["Model"]) == ["gpt", "3-gram"] and (table["Bits/char"] > 0).all()
    assert "Peak memory (bytes)" not in table.columns      # a figure only classifiers have
