"""The sections of the Learn page: a plain explanation, the key formula and a live mini-demo each.

Every demo calls one function of `core.learn` (real engine code on small data) through
`st.cache_data`, so moving a slider back to a value already seen answers at once; the demos'
results do not depend on the language, only their labels and charts do. Widget keys start with
the section's prefix so tests can find them.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import learn
from core.i18n import LANGUAGES, translate

from .i18n import language, t


def _cached(fn):
    """Cache a core demo by its arguments; results are plain data (arrays, dicts)."""
    cached = st.cache_data(max_entries=24, show_spinner=False)(fn)

    def call(*args):
        with st.spinner(t("learn.running_demo")):
            return cached(*args)

    return call


_boundaries = _cached(learn.decision_boundaries)
_gradients = _cached(learn.data_parallel_gradients)
_hogwild = _cached(learn.hogwild_simulation)
_long_sum = _cached(learn.long_sum)
_quant = _cached(learn.quantisation_demo)
_pruning = _cached(learn.pruning_demo)
_soft = _cached(learn.soft_targets)
_sgd = _cached(learn.sgd_paths)
_regular = _cached(learn.regularisation_demo)
_saliency = _cached(learn.saliency_demo)


def _join(items) -> str:
    return t("learn.list_separator").join(items)


def large_vs_small() -> None:
    lang = language()
    st.markdown(t("learn.lvs_text"))
    st.latex(r"p(y{=}1\mid x)=\sigma(w^\top x+b)\qquad "
             r"P_{\text{MLP}}=\sum_{l=1}^{L}\left(n_{l-1}\,n_l+n_l\right)")
    c1, c2, c3, c4, c5 = st.columns(5)
    shape = c1.radio(t("learn.lvs_data"), learn.SHAPES, horizontal=True, key="lvs-shape",
                     format_func=lambda s: translate(lang, f"learn_chart.shape_{s}"))
    noise = c2.slider(t("learn.lvs_noise"), 0.0, 0.5, 0.3, 0.05, key="lvs-noise")
    n = c3.select_slider(t("learn.lvs_samples"), [100, 200, 400], 200, key="lvs-n")
    width = c4.select_slider(t("learn.lvs_width"), [2, 4, 8, 16, 32, 64, 128, 256], 64, key="lvs-width")
    depth = c5.slider(t("learn.lvs_depth"), 1, 3, 2, key="lvs-depth")
    r = _boundaries(shape, n, noise, width, depth)
    st.plotly_chart(learn.boundary_figure(r, lang), key="lvs-fig")
    for side in ("small", "large"):
        m = r[side]
        gap = m["train_accuracy"] - m["test_accuracy"]
        st.caption(t("learn.lvs_caption_overfit" if gap > 0.05 else "learn.lvs_caption",
                     label=learn.model_label(m, lang), n_params=f"{m['n_params']:,}",
                     train=f"{m['train_accuracy']:.1%}", test=f"{m['test_accuracy']:.1%}",
                     gap=f"{100 * gap:+.1f}"))


def distributed() -> None:
    lang = language()
    st.markdown(t("learn.dp_text"))
    st.latex(r"g=\frac{1}{B}\sum_{i=1}^{B}\nabla\ell_i=\sum_{k=1}^{W}\frac{B_k}{B}\,g_k"
             r"\;\overset{B_k=B/W}{=}\;\frac{1}{W}\sum_{k=1}^{W}g_k")
    c1, c2 = st.columns(2)
    workers = c1.slider(t("learn.dp_workers"), 1, 8, 4, key="dist-workers")
    batch = c2.select_slider(t("learn.dp_batch"), [30, 32, 48, 64, 100], 64, key="dist-batch")
    g = _gradients(workers, batch)
    st.plotly_chart(learn.gradients_figure(g, lang), key="dist-grad-fig")
    st.caption(t("learn.dp_caption", sizes=g["shard_sizes"], n_params=f"{g['n_params']:,}",
                 mean=f"{g['max_error_mean']:.2e}", weighted=f"{g['max_error_weighted']:.2e}"))
    st.markdown(t("learn.hog_text"))
    st.latex(r"w_{t+1}=w_t-\eta\,\nabla\ell\left(w_{t-\tau}\right),\qquad \tau\approx P-1")
    c1, c2 = st.columns(2)
    counts = c1.multiselect(t("learn.hog_workers"), [1, 2, 4, 8, 16, 32], [1, 4, 16], key="hog-workers")
    lr = c2.select_slider(t("learn.learning_rate"), [0.25, 0.5, 1.0, 2.0, 4.0], 2.0, key="hog-lr")
    if counts:
        h = _hogwild(tuple(sorted(counts)), lr)
        st.plotly_chart(learn.hogwild_figure(h, lang), key="hog-fig")
        same = learn.loss_after_updates(h, h["time_units"])
        same_updates = _join(t("learn.hog_same_item", loss=f"{v:.3g}", workers=p) for p, v in same.items())
        same_time = _join(t("learn.hog_time_item", loss=f"{c['final_loss']:.3g}", workers=p)
                          for p, c in h["curves"].items())
        st.caption(t("learn.hog_caption", updates=h["time_units"], same=same_updates, timed=same_time))


def mixed_precision() -> None:
    lang = language()
    st.markdown(t("learn.mp_text"))
    st.latex(r"x=(-1)^s\cdot 2^{\,e-\text{bias}}\cdot(1.m)_2,\qquad "
             r"\varepsilon=2^{-\text{" + t("learn.mp_mantissa_bits") + "}}")
    table = pd.DataFrame(learn.float_formats())
    st.dataframe(table.rename(columns=lambda c: t(f"learn.mp_col_{c}")), hide_index=True, key="mp-table")
    c1, c2, c3 = st.columns(3)
    n = c1.select_slider(t("learn.mp_terms"), [100, 1_000, 3_000, 10_000], 3_000, key="mp-n")
    term = c2.radio(t("learn.mp_each_term"), ["0.1", "uniform"], horizontal=True, key="mp-term",
                    format_func=lambda v: t("learn.mp_term_uniform") if v == "uniform" else v)
    value = c3.number_input(t("learn.mp_value"), value=70000.123, key="mp-value")
    r = _long_sum(n, term)
    st.plotly_chart(learn.long_sum_figure(r, lang), key="mp-fig")
    stored = learn.round_to_formats(value)
    st.caption(t("learn.mp_caption",
                 stored=" · ".join(t("learn.mp_stored_item", format=k, value=f"{v:.8g}")
                                   for k, v in stored.items()),
                 errors=_join(t("learn.mp_error_item", format=k, error=f"{d['torch_sum_relative_error']:.1e}")
                              for k, d in r["dtypes"].items())))


def quantisation() -> None:
    lang = language()
    st.markdown(t("learn.q_text"))
    st.latex(r"s=\frac{\max_{j\in g}|w_j|}{2^{b-1}-1},\quad "
             r"q_j=\operatorname{clamp}\!\left(\operatorname{round}\tfrac{w_j}{s},-2^{b-1},2^{b-1}-1\right),"
             r"\quad \hat w_j=s\,q_j")
    c1, c2 = st.columns(2)
    bits = c1.select_slider(t("learn.q_bits"), [2, 3, 4, 5, 6, 8], 4, key="q-bits")
    group = c2.select_slider(t("learn.q_group"), list(learn.GROUP_SIZES), 32, key="q-group")
    r = _quant(bits, group)
    left, right = st.columns(2)
    left.plotly_chart(learn.histogram_figure(r, lang), key="q-hist")
    right.plotly_chart(learn.error_figure(r, lang), key="q-error")
    acc = r["accuracy"]
    st.caption(t("learn.q_caption", bits=bits, group=group, error=f"{r['error']:.2%}",
                 quantised=f"{acc['quantised']:.1%}", float32=f"{acc['float32']:.1%}"))


def pruning() -> None:
    lang = language()
    st.markdown(t("learn.pr_text"))
    st.latex(r"m_{ij}=\left[\,|w_{ij}|\ge\theta\,\right]\qquad\text{" + t("learn.pr_formula_vs")
             + r"}\qquad m_{i\cdot}=\left[\,\lVert w_{i\cdot}\rVert_2\text{" + t("learn.pr_formula_top")
             + r"}k\,\right]")
    c1, c2 = st.columns(2)
    s = c1.slider(t("learn.pr_sparsity"), 0.0, 0.95, 0.5, 0.05, key="pr-sparsity")
    criterion = c2.radio(t("learn.pr_rank_by"), learn.CRITERIA, horizontal=True, key="pr-criterion",
                         format_func=lambda c: t(f"learn.pr_criterion_{c}"))
    r = _pruning(s, criterion)
    st.plotly_chart(learn.pruning_figure(r, lang), key="pr-fig")
    st.plotly_chart(learn.sweep_figure(r["sweep"], {"unstructured": t("learn.pr_unstructured"),
                                                    "structured": t("learn.pr_structured")},
                                       t("learn.sweep_title"), lang), key="pr-sweep")


def distillation() -> None:
    lang = language()
    st.markdown(t("learn.kd_text"))
    st.latex(r"p_i^{(T)}=\frac{e^{z_i/T}}{\sum_j e^{z_j/T}},\qquad "
             r"\mathcal{L}=\alpha\,T^2\,\mathrm{KL}\!\left(p^{(T)}_{\text{teacher}}\,\Vert\,"
             r"p^{(T)}_{\text{student}}\right)+(1-\alpha)\,\mathrm{CE}(y,p_{\text{student}})")
    c1, c2 = st.columns(2)
    temperature = c1.select_slider(t("learn.kd_temperature"), [0.5, 1.0, 2.0, 4.0, 8.0, 16.0], 4.0,
                                   key="kd-t")
    sample = c2.number_input(t("learn.kd_row"), 0, 449, 3, key="kd-row")
    r = _soft(temperature, int(sample))
    st.plotly_chart(learn.soft_targets_figure(r, lang), key="kd-fig")
    st.caption(t("learn.kd_caption", temperature=f"{temperature:g}", entropy=f"{r['mean_entropy']:.2f}"))


def sgd_and_regularisation() -> None:
    lang = language()
    st.markdown(t("learn.sgd_text"))
    st.latex(r"v_{t+1}=\mu\,v_t+\nabla L(w_t),\qquad w_{t+1}=w_t-\eta\,v_{t+1}")
    c1, c2, c3 = st.columns(3)
    lr = c1.select_slider(t("learn.learning_rate"), [0.003, 0.01, 0.03, 0.05, 0.09, 0.11], 0.01,
                          key="sgd-lr")
    mu = c2.select_slider(t("learn.sgd_momentum"), [0.5, 0.8, 0.9, 0.95], 0.9, key="sgd-mu")
    noise = c3.select_slider(t("learn.sgd_noise"), [0.0, 0.5, 2.0], 0.0, key="sgd-noise")
    st.plotly_chart(learn.sgd_figure(_sgd(lr, mu, 60, noise), lang), key="sgd-fig")

    st.markdown(t("learn.reg_text"))
    st.latex(r"L_{\text{L1}}=L+\lambda\sum|w|\qquad L_{\text{L2}}:\ \nabla\leftarrow\nabla+\lambda w")
    lam = st.select_slider(t("learn.reg_strength"), [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], 1e-3, key="reg-lambda")
    st.plotly_chart(learn.regularisation_figure(_regular(lam), lang), key="reg-fig")

    st.markdown(t("learn.sal_text"))
    st.latex(r"\Delta L\approx\left|\,w\cdot\frac{\partial L}{\partial w}\,\right|")
    s = st.slider(t("learn.sal_sparsity"), 0.1, 0.95, 0.7, 0.05, key="sal-sparsity")
    r = _saliency(s)
    left, right = st.columns(2)
    left.plotly_chart(learn.saliency_figure(r, lang), key="sal-fig")
    right.plotly_chart(learn.sweep_figure(r["sweep"], {"magnitude": t("learn.sal_magnitude"),
                                                       "saliency": t("learn.sal_saliency")},
                                          t("learn.sweep_title"), lang), key="sal-sweep")
    st.caption(t("learn.sal_caption", sparsity=f"{s:.0%}", agreement=f"{r['agreement']:.0%}",
                 rows=r["calibration_rows"]))


# Section id -> its renderer; the tab labels are `learn.tab_<id>` in each language.
SECTIONS = {
    "large_vs_small": large_vs_small, "distributed": distributed,
    "mixed_precision": mixed_precision, "quantisation": quantisation, "pruning": pruning,
    "distillation": distillation, "sgd": sgd_and_regularisation,
}


def section_labels(lang: str) -> dict[str, str]:
    """Section id -> tab label in ``lang``."""
    return {section: translate(lang, f"learn.tab_{section}") for section in SECTIONS}


def section_of(label: str | None) -> str | None:
    """The section id whose tab label, in any language, is ``label``."""
    return next((section for lang in LANGUAGES for section, text in section_labels(lang).items()
                 if text == label), None)
