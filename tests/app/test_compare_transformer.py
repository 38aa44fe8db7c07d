"""Compare page: the FT-Transformer's own settings reach the trained model."""

from streamlit.testing.v1 import AppTest

from core.models import FT_PRESETS

from .conftest import REPO, wait_for


def _caption(at, needle):
    return next(c.value for c in at.caption if needle in c.value)


def test_ft_transformer_settings_change_the_network_that_is_trained():
    at = AppTest.from_file(str(REPO / "pages/compare.py"), default_timeout=60).run()
    at.multiselect[0].set_value(["ft_transformer", "logistic_regression"]).run()
    assert not at.exception
    small = _caption(at, "parameters for a table of 64 numeric columns")
    at.select_slider(key="cmp-ft_transformer-size").set_value("M").run()
    width, depth, heads = FT_PRESETS["M"]
    assert at.select_slider(key="cmp-ft_transformer-M-w").value == width
    assert at.slider(key="cmp-ft_transformer-M-d").value == depth
    medium = _caption(at, "parameters for a table of 64 numeric columns")
    n = lambda text: int(text.split(" parameters")[0].replace(",", ""))  # noqa: E731
    assert n(medium) > 5 * n(small)
    # A small custom network, trained briefly: the record carries exactly these settings.
    at.select_slider(key="cmp-ft_transformer-M-w").set_value(32)
    at.slider(key="cmp-ft_transformer-M-d").set_value(1)
    at.select_slider(key="cmp-ft_transformer-M-h").set_value(8)
    at.slider(key="cmp-ft_transformer-train-ep").set_value(1)
    at.run()
    assert not at.exception
    next(b for b in at.button if b.label == "Train and measure").click().run()
    wait_for(at, lambda a: len(a.dataframe) > 0, timeout=240)
    assert not at.exception and not at.error
    from ui.state import job_manager  # the finished job holds the result the page drew
    (job,) = [j for j in job_manager().jobs() if j.result is not None]
    ft = next(r for r in job.result.results if r.kind == "ft_transformer")
    assert ft.status == "done" and ft.settings["model"]["width"] == 32
    assert ft.settings["model"]["depth"] == 1 and ft.settings["model"]["heads"] == 8


def test_compare_page_names_models_in_chinese():
    at = AppTest.from_file(str(REPO / "pages/compare.py"), default_timeout=60)
    at.session_state["lang"] = "zh"
    at.run()
    assert not at.exception
    options = at.multiselect[0].options
    assert "随机森林 — 小模型" in options and "MLP（PyTorch） — 大模型" in options, options
    assert any(e.label.startswith("随机森林（小模型）：") for e in at.expander)
