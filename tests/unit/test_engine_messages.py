"""The engine's sentences in Chinese carry the same figures as in English, and English is unchanged."""

import json
import re
from pathlib import Path

import pytest

from core.compress.summary import summarise
from core.data import DataError, decisions_in, load, read_table, save_upload
from core.export import html_report, report_figures
from core.i18n import strings
from core.lm.measure import how_measured as lm_how_measured
from core.measure import how_measured, how_measured_in
from core.recommend import Budget, recommend
from core.report import METRICS, TABLE_COLUMNS, metric_bar, metrics_table, pareto_scatter
from core.specs import DatasetSpec, LMMeasureSpec, MeasureSpec
from core.tabular_verdict import _judge, verdict_in
from core.train.report import curves_figure, training_table, verdicts

from .test_recommend import FIXTURE
from .test_train_report import _record

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_csv"
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _figures(text: str) -> list[str]:
    """Every number in ``text``, in order of size, so word order may differ between languages."""
    return sorted(re.findall(r"\d+(?:[.,]\d+)*", text))


def _same_figures_in_chinese(en: str, zh: str) -> None:
    assert _CJK.search(zh), zh
    assert not _CJK.search(en), en
    assert _figures(zh) == _figures(en), (en, zh)


# -- data loader ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["id_leaks_label.csv", "class_with_one_row.csv", "latin1.csv",
                                  "mixed_types.csv", "nan_and_inf.csv", "pipe_separated.csv",
                                  "row_number_column.csv", "many_missing.csv"])
def test_loader_decisions_in_chinese_keep_the_figures(name):
    data = load(DatasetSpec("csv", csv_path=str(CORPUS / name)))
    zh = data.decisions_in("zh")
    assert data.decisions_in("en") == data.decisions and len(zh) == len(data.decisions)
    for en_line, zh_line in zip(data.decisions, zh):
        _same_figures_in_chinese(en_line, zh_line)


def test_loader_decisions_in_english_are_unchanged(tmp_path):
    data = load(DatasetSpec("digits"))
    assert data.decisions == ("Built-in dataset 'digits': 1797 rows, 64 numeric features.",
                              "Features standardised with mean and variance of the training split only.")
    assert data.decisions_in("zh") == ("内置数据集 'digits'：1797 行，64 个数值特征。",
                                       "特征仅用训练集的均值和方差进行了标准化。")
    rows = ["size,colour,label"] + [f"{'' if i % 10 == 0 else i % 7},{['red', 'green', 'blue'][i % 3]},"
                                    f"{'yes' if i % 2 else 'no'}" for i in range(60)]
    path = save_upload("\n".join(rows).replace(",", ";").encode(), tmp_path)
    data = load(DatasetSpec("csv", csv_path=str(path), target="label"))
    assert data.decisions == (
        "Columns are separated by ';', detected from the file.",
        "Column 'size': 6 missing values imputed with the training median.",
        "Column 'colour': categorical with 3 levels, one-hot encoded.",
        "1 numeric columns (missing values imputed with the training median, then standardised) and "
        "1 categorical columns (missing values imputed with the most frequent level, then one-hot "
        "encoded) give 4 features; every statistic was fitted on the training split only.")
    assert data.decisions_in("zh")[1] == "列 'size'：6 个缺失值用训练集中位数填补。"
    _, _, notes = read_table(DatasetSpec("csv", csv_path=str(path), target="label"), lang="zh")
    assert notes == ("列之间以 ';' 分隔（根据文件内容检测）。",)


def test_decisions_of_a_stored_run_render_in_either_language():
    data = load(DatasetSpec("csv", csv_path=str(CORPUS / "nan_and_inf.csv")))
    stored = json.loads(json.dumps(data.summary()))
    assert decisions_in(stored, "en") == list(data.decisions)
    assert decisions_in(stored, "zh") == list(data.decisions_in("zh"))
    older = {k: v for k, v in stored.items() if k != "decision_messages"}  # stored before messages
    assert decisions_in(older, "zh") == list(data.decisions)


@pytest.mark.parametrize("name, english", [
    ("one_class.csv", "Target column 'label' has a single class ('yes'). A classifier needs at least "
                      "two classes; pick another target column."),
    ("five_hundred_classes.csv", None),
    ("zip_renamed.csv", "This is a zip archive (an Excel .xlsx file is one), not a CSV. Save it as CSV "
                        "(comma-separated values) and upload that."),
    ("ragged_rows.csv", None),
    ("tiny_two_classes.csv", None),
    ("duplicate_columns.csv", None),
])
def test_refusals_in_chinese_keep_the_figures_and_english_is_unchanged(name, english):
    with pytest.raises(DataError) as err:
        load(DatasetSpec("csv", csv_path=str(CORPUS / name)))
    if english is not None:
        assert str(err.value) == english
    assert err.value.text() == str(err.value) == err.value.text("en")
    _same_figures_in_chinese(str(err.value), err.value.text("zh"))


def test_a_plain_string_refusal_reads_the_same_in_every_language():
    err = DataError("The text has 10 characters.")
    assert err.text("zh") == "The text has 10 characters."


def test_upload_limit_in_chinese(tmp_path, monkeypatch):
    monkeypatch.setattr("core.data.MAX_CSV_BYTES", 1000)
    with pytest.raises(DataError) as err:
        save_upload(b"x" * 2500, tmp_path)
    assert str(err.value) == "The file is 0.0 MB; the limit is 0 MB. Upload a sample of the rows instead."
    assert err.value.text("zh") == "文件大小为 0.0 MB，上限为 0 MB。请改为上传部分行的样本。"


# -- recommendation and verdicts --------------------------------------------------------------


@pytest.mark.parametrize("budget", [Budget(), Budget(tolerance_points=0.1), Budget(max_size_bytes=100_000),
                                    Budget(min_accuracy=0.99),
                                    Budget(max_latency_ms=0.05, max_size_bytes=5000)])
def test_recommendation_in_chinese_keeps_the_figures(budget):
    en, zh = recommend(FIXTURE, budget), recommend(FIXTURE, budget, lang="zh")
    assert (zh.name, zh.fitting, zh.frontier) == (en.name, en.fitting, en.frontier)
    _same_figures_in_chinese(en.sentence.replace("RBF SVM", "RBF"), zh.sentence.replace("RBF SVM", "RBF"))


def test_recommendation_in_english_is_unchanged():
    assert recommend(FIXTURE).sentence == ("RBF SVM: within 0.3 points of the best (MLP, 98.2%), "
                                           "9.0x faster, 12.0x smaller.")
    assert recommend(FIXTURE, lang="zh").sentence == (
        "RBF SVM：与最佳模型（MLP，98.2%）相差不超过 0.3 个百分点，速度快 9.0 倍，体积小 12.0 倍。")
    assert recommend(FIXTURE, Budget(min_accuracy=0.99)).sentence == (
        "No model meets every limit. Closest: MLP (accuracy 98.2% < 99.0%). Relax a limit or try a "
        "compressed variant.")
    assert recommend([], lang="zh").sentence == "还没有模型完成。"


def _row(name, kind, acc, lat, size):
    return {"name": name, "kind": kind, "accuracy": acc, "latency_ms_p50": lat, "size_bytes": size}


@pytest.mark.parametrize("rows, english", [
    ([_row("MLP", "mlp", 0.97, 0.5, 400_000), _row("Trees", "random_forest", 0.96, 2.0, 100_000)],
     "MLP and Trees are within noise (+1.0%, standard error 1.5%). The deep model is 0.2x the latency "
     "and 4.0x the size."),
    ([_row("MLP", "mlp", 0.99, 0.5, 400_000), _row("Linear", "logistic_regression", 0.90, 0.05, 1000)],
     "MLP beats Linear by 9.0% (more than 2 standard errors). The deep model is 10.0x the latency and "
     "400.0x the size."),
    ([_row("MLP", "mlp", 0.80, 0.5, 400_000), _row("Trees", "random_forest", 0.95, 2.0, 100_000)],
     "Trees beats MLP by 15.0% (more than 2 standard errors). The deep model is 0.2x the latency and "
     "4.0x the size."),
    ([_row("Trees", "random_forest", 0.95, 2.0, 100_000)],
     "One side has no successful model; nothing to compare."),
])
def test_tabular_verdict_in_both_languages(rows, english):
    entry = _judge("wine", 300, rows)
    assert entry["message"] == english
    wins = {side: int(entry["verdict"] == side) for side in ("deep", "classical", "tie")}
    result = {"datasets": [entry], "wins": wins, "how_measured": how_measured(MeasureSpec())}
    en, zh = verdict_in(result, "en"), verdict_in(result, "zh")
    assert en["datasets"][0]["message"] == english and en["how_measured"] == result["how_measured"]
    for key in ("summary", "rule", "how_measured"):
        _same_figures_in_chinese(en[key], zh[key])
    _same_figures_in_chinese(english, zh["datasets"][0]["message"])
    assert verdict_in(zh, "en") == en


# -- how measured -----------------------------------------------------------------------------


@pytest.mark.parametrize("spec", [MeasureSpec(), MeasureSpec(warmup=1, min_repeats=3, min_seconds=0.0,
                                                             max_seconds=0.05, batch_size=32, n_threads=1)])
def test_how_measured_in_chinese_keeps_the_settings(spec):
    en, zh = how_measured(spec), how_measured(spec, lang="zh")
    assert en.startswith("Accuracy and macro-F1 on the held-out test split. Latency: batch 1, rows taken")
    assert f"{spec.warmup} untimed warm-up calls" in en and f"at least {spec.min_seconds:g} s" in en
    _same_figures_in_chinese(en, zh)
    assert "time.perf_counter" in zh and "safetensors" in zh and "p50" not in zh


def test_a_stored_how_measured_text_renders_in_the_chosen_language():
    spec = MeasureSpec(min_seconds=0.25, max_seconds=2.0)
    stored = how_measured(spec)
    assert how_measured_in(stored, "zh") == how_measured(spec, "zh")
    assert how_measured_in(stored, "en") == stored
    assert how_measured_in("Imported model. " + stored, "zh") == "Imported model. " + how_measured(spec, "zh")
    assert how_measured_in("measured elsewhere", "zh") == "measured elsewhere"
    assert how_measured_in(how_measured(spec, "zh"), "en") == stored
    lm = lm_how_measured(LMMeasureSpec(), 12_345)
    assert "over 12,345 held-out characters" in lm
    assert how_measured_in(lm, "zh") == lm_how_measured(LMMeasureSpec(), 12_345, lang="zh")
    _same_figures_in_chinese(lm, how_measured_in(lm, "zh"))
    assert how_measured_in(how_measured_in(lm, "zh"), "en") == lm


# -- compression and training -----------------------------------------------------------------


def test_compression_summary_in_both_languages():
    before = {"size_bytes": 4000, "latency_ms_p50": 3.1, "accuracy": 0.980}
    after = {"size_bytes": 1000, "latency_ms_p50": 1.0, "accuracy": 0.977}
    slower = {"size_bytes": 3990, "latency_ms_p50": 6.2, "accuracy": 0.99}
    assert summarise(before, after) == "4.0x smaller, 3.1x faster at batch 1, 0.3 points less accurate"
    assert summarise(before, after, lang="zh") == "体积小 4.0 倍，批大小为 1 时速度快 3.1 倍，准确率低 0.3 个百分点"
    _same_figures_in_chinese(summarise(before, slower), summarise(before, slower, lang="zh"))
    assert summarise(before, before, lang="zh") == "体积大致相同，批大小为 1 时速度大致相同，准确率相同"


def test_training_report_in_both_languages():
    records = [_record("base", 200.0, 0.95),
               _record("ddp", 120.0, 0.93, parallel="ddp", workers=2, threads=1),
               _record("hog", 190.0, 0.90, parallel="hogwild", workers=2, threads=1, vals=(0.5, 0.6)),
               _record("fast", 330.0, 0.95, precision="bf16"),
               _record("slow", 150.0, 0.95, precision="bf16"),
               {"name": "half", "status": "skipped", "error": "needs a CUDA device", "history": None}]
    en, zh = verdicts(records, 0.9), verdicts(records, 0.9, lang="zh")
    assert en[0] == "half was skipped: needs a CUDA device"
    assert en[1] == ("ddp did not speed training up here: 120 samples/s, 0.60x the 200 samples/s of base "
                     "(2 processes x 1 thread(s) on 2 cores against one process with 2 threads; "
                     "coordination costs more than the extra processes gain here, and starting the "
                     "workers took another 4.0 s).")
    assert "(Hogwild! workers compute gradients on weights that others are changing)." in " ".join(en)
    assert "slow did not speed training up here: 150 samples/s, 0.75x the 200 samples/s of base " \
           "(bf16 autocast did not pay off for this model on this machine)." in en
    assert len(zh) == len(en)
    for e, z in zip(en[1:], zh[1:]):
        _same_figures_in_chinese(e, z)
    assert list(training_table(records, 0.9)[0])[:3] == ["Variant", "Status", "Precision"]
    zh_table = training_table(records, 0.9, lang="zh")
    assert "达到 90% 验证准确率的用时（秒）" in zh_table[0] and zh_table[1]["吞吐量（样本/秒）"] == 120
    assert curves_figure(records, lang="zh").layout.title.text == "验证准确率随训练轮数的变化"
    assert curves_figure(records).layout.title.text == "Validation accuracy against epoch"


# -- charts and the HTML report ---------------------------------------------------------------


def test_every_metric_and_column_has_a_title_in_every_language():
    for lang in ("en", "zh"):
        table = strings(lang)
        assert all(f"charts.metric_{m}" in table and f"charts.name_{m}" in table for m in METRICS)
        assert all(f"charts.column_{k}" in table for k in TABLE_COLUMNS)
    assert all(strings("en")[f"charts.metric_{m}"] == title for m, (title, _, _) in METRICS.items())
    assert all(strings("en")[f"charts.column_{k}"] == title for k, title in TABLE_COLUMNS.items())


def _metric_record(name, family, accuracy, latency, size):
    return {"name": name, "family": family, "status": "done", "accuracy": accuracy,
            "f1_macro": accuracy - 0.01, "latency_ms_p50": latency, "latency_ms_p95": 1.5 * latency,
            "throughput_sps": 1000 / latency, "size_bytes": size, "memory_bytes": size,
            "peak_memory_bytes": 2 * size, "n_params": size // 4, "n_nonzero_params": size // 4,
            "params_definition": "weights and biases", "latency_repeats": 30, "throughput_batch": 256,
            "n_threads": 2, "artifact_format": "safetensors", "notes": [], "error": None}


@pytest.fixture(scope="module")
def stored_run():
    data = load(DatasetSpec("csv", csv_path=str(CORPUS / "semicolon.csv")))
    return {"id": "abc123", "name": "nightly", "status": "done", "created_at": "2025-01-01T00:00:00",
            "tags": ["a"], "records": [_metric_record("MLP", "large", 0.98, 1.2, 400_000),
                                       _metric_record("Logistic regression", "small", 0.96, 0.1, 8_000)],
            "dataset": data.summary(), "how_measured": how_measured(MeasureSpec()),
            "environment": {"torch": "2.x"}, "spec": {"measure": MeasureSpec().to_dict()},
            "timings": {"data": 0.1, "total": 2.0}, "artifacts": []}


def test_charts_and_table_in_chinese(stored_run):
    records = stored_run["records"]
    assert metric_bar(records, "accuracy").layout.title.text == "Accuracy (%) — higher is better"
    assert metric_bar(records, "accuracy", lang="zh").layout.title.text == "准确率（%） — 越高越好"
    scatter = pareto_scatter(records, lang="zh")
    assert scatter.layout.title.text == "准确率与延迟 p50（批大小 1）的权衡（标记面积：保存大小）"
    assert {t.name for t in scatter.data} == {"大模型", "小模型", "帕累托前沿"}
    assert pareto_scatter(records).layout.title.text == ("Accuracy against latency p50, batch 1 "
                                                         "(marker area: saved size)")
    assert list(metrics_table(records, "zh").columns)[:3] == ["模型", "类别", "准确率（%）"]
    assert list(metrics_table(records).columns)[:3] == ["Model", "Family", "Accuracy (%)"]


def test_html_report_in_chinese_has_chinese_headings(stored_run):
    page = html_report([stored_run], lang="zh")
    assert "<html lang='zh-CN'>" in page and "<title>Tradeoff Lab 报告</title>" in page
    for heading in ("<h2>权衡</h2>", "<h2>全部数字</h2>", "<h2>运行：nightly</h2>", "<h3>测量方法</h3>",
                    "<h3>设置</h3>", "<h3>环境</h3>"):
        assert heading in page, heading
    assert "<th>准确率（%）</th>" in page and "<th>延迟 p50（毫秒）</th>" in page
    assert how_measured(MeasureSpec(), "zh") in page
    assert "列之间以 &#x27;;&#x27; 分隔（根据文件内容检测）。" in page
    assert "分层划分：是" in page and "<th>总计（秒）</th>" in page
    assert [c for c, _ in report_figures([stored_run], lang="zh")][-2:] == ["准确率与延迟", "准确率与保存大小"]
    english = html_report([stored_run])
    assert "<html lang='en'>" in english and "<h2>Trade-offs</h2>" in english
    assert "<h3>How it was measured</h3>" in english and "stratified: True" in english
    assert not _CJK.search(re.sub(r"<script.*?</script>", "", english, flags=re.S))
