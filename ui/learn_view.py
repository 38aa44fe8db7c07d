"""The sections of the Learn page: a plain explanation, the key formula and a live mini-demo each.

Every demo calls one function of `core.learn` (real engine code on small data) through
`st.cache_data`, so moving a slider back to a value already seen answers at once. Widget keys
start with the section's prefix so tests can find them.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import learn


def _cached(fn):
    """Cache a core demo by its arguments; results are plain data (arrays, dicts)."""
    return st.cache_data(max_entries=24, show_spinner="Running the demo…")(fn)


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


def large_vs_small() -> None:
    st.markdown(
        "A **parameter** is one number the model learns: a weight or a bias. Logistic regression on "
        "two features has three; a multi-layer perceptron (MLP) has one per connection. More "
        "parameters let the boundary between classes bend more: too few and it cannot follow the "
        "data (**under-fitting**), too many with noisy data and it bends around the noise "
        "(**over-fitting**: high training accuracy, lower test accuracy).")
    st.latex(r"p(y{=}1\mid x)=\sigma(w^\top x+b)\qquad "
             r"P_{\text{MLP}}=\sum_{l=1}^{L}\left(n_{l-1}\,n_l+n_l\right)")
    c1, c2, c3, c4, c5 = st.columns(5)
    shape = c1.radio("Data", learn.SHAPES, horizontal=True, key="lvs-shape")
    noise = c2.slider("Noise", 0.0, 0.5, 0.3, 0.05, key="lvs-noise")
    n = c3.select_slider("Samples", [100, 200, 400], 200, key="lvs-n")
    width = c4.select_slider("MLP width", [2, 4, 8, 16, 32, 64, 128, 256], 64, key="lvs-width")
    depth = c5.slider("Hidden layers", 1, 3, 2, key="lvs-depth")
    r = _boundaries(shape, n, noise, width, depth)
    st.plotly_chart(learn.boundary_figure(r), key="lvs-fig")
    for side in ("small", "large"):
        m = r[side]
        gap = m["train_accuracy"] - m["test_accuracy"]
        st.caption(f"{m['label']} ({m['n_params']:,} parameters): training accuracy "
                   f"{m['train_accuracy']:.1%}, test {m['test_accuracy']:.1%} — a gap of "
                   f"{100 * gap:+.1f} points" + (" (a sign of over-fitting)." if gap > 0.05 else "."))


def distributed() -> None:
    st.markdown(
        "**Data parallelism** (PyTorch DDP): each worker holds a copy of the model, computes the "
        "gradient on its own slice of the batch, and an all-reduce averages the gradients so every "
        "copy takes the same step. With equal slices the average *is* the full-batch gradient.")
    st.latex(r"g=\frac{1}{B}\sum_{i=1}^{B}\nabla\ell_i=\sum_{k=1}^{W}\frac{B_k}{B}\,g_k"
             r"\;\overset{B_k=B/W}{=}\;\frac{1}{W}\sum_{k=1}^{W}g_k")
    c1, c2 = st.columns(2)
    workers = c1.slider("Workers", 1, 8, 4, key="dist-workers")
    batch = c2.select_slider("Batch size", [30, 32, 48, 64, 100], 64, key="dist-batch")
    g = _gradients(workers, batch)
    st.plotly_chart(learn.gradients_figure(g), key="dist-grad-fig")
    st.caption(f"Shard sizes {g['shard_sizes']}. Largest difference from the full-batch gradient over "
               f"all {g['n_params']:,} entries: plain average {g['max_error_mean']:.2e}, size-weighted "
               f"average {g['max_error_weighted']:.2e} (float32 rounding is about 1e-8).")
    st.markdown(
        "**Hogwild!**: workers update shared weights with no locks. Nobody waits, so more workers "
        "make more updates per second, but each update was computed on weights that others have "
        "changed since (it is *stale*).")
    st.latex(r"w_{t+1}=w_t-\eta\,\nabla\ell\left(w_{t-\tau}\right),\qquad \tau\approx P-1")
    c1, c2 = st.columns(2)
    counts = c1.multiselect("Worker counts", [1, 2, 4, 8, 16, 32], [1, 4, 16], key="hog-workers")
    lr = c2.select_slider("Learning rate", [0.25, 0.5, 1.0, 2.0, 4.0], 2.0, key="hog-lr")
    if counts:
        h = _hogwild(tuple(sorted(counts)), lr)
        st.plotly_chart(learn.hogwild_figure(h), key="hog-fig")
        same = learn.loss_after_updates(h, h["time_units"])
        st.caption(f"After the same {h['time_units']} updates the loss is "
                   + ", ".join(f"{v:.3g} with {p} workers" for p, v in same.items())
                   + "; after the same time it is "
                   + ", ".join(f"{c['final_loss']:.3g} with {p}" for p, c in h["curves"].items())
                   + ". Simulated: softmax regression on digits, one gradient per time unit.")


def mixed_precision() -> None:
    st.markdown(
        "A float stores a sign, an exponent (the **range**) and a mantissa (the **precision**). "
        "bf16 keeps fp32's 8 exponent bits but only 7 mantissa bits; fp16 has more precision but "
        "overflows above 65,504. Mixed-precision training computes in 16 bits but keeps sums and "
        "master weights in fp32, because a long sum in 16 bits stops growing once each term is "
        "smaller than half a step of the total.")
    st.latex(r"x=(-1)^s\cdot 2^{\,e-\text{bias}}\cdot(1.m)_2,\qquad "
             r"\varepsilon=2^{-\text{mantissa bits}}")
    st.dataframe(pd.DataFrame(learn.float_formats()), hide_index=True, key="mp-table")
    c1, c2, c3 = st.columns(3)
    n = c1.select_slider("Terms", [100, 1_000, 3_000, 10_000], 3_000, key="mp-n")
    term = c2.radio("Each term", ["0.1", "uniform"], horizontal=True, key="mp-term")
    value = c3.number_input("Store this number", value=70000.123, key="mp-value")
    r = _long_sum(n, term)
    st.plotly_chart(learn.long_sum_figure(r), key="mp-fig")
    stored = learn.round_to_formats(value)
    st.caption(" · ".join(f"{k} stores {v:.8g}" for k, v in stored.items())
               + ". torch.sum of the same terms, which accumulates in fp32, has relative error "
               + ", ".join(f"{k} {d['torch_sum_relative_error']:.1e}" for k, d in r["dtypes"].items()) + ".")


def quantisation() -> None:
    st.markdown(
        "Quantisation stores each weight as a small integer times a shared **scale**. With b bits "
        "there are 2^b levels; one scale per small **group** of weights follows the local range "
        "more closely than one per row, at the cost of storing more scales. The layer below is "
        "the first layer of an MLP the engine trained on digits.")
    st.latex(r"s=\frac{\max_{j\in g}|w_j|}{2^{b-1}-1},\quad "
             r"q_j=\operatorname{clamp}\!\left(\operatorname{round}\tfrac{w_j}{s},-2^{b-1},2^{b-1}-1\right),"
             r"\quad \hat w_j=s\,q_j")
    c1, c2 = st.columns(2)
    bits = c1.select_slider("Bits", [2, 3, 4, 5, 6, 8], 4, key="q-bits")
    group = c2.select_slider("Group size", list(learn.GROUP_SIZES), 32, key="q-group")
    r = _quant(bits, group)
    left, right = st.columns(2)
    left.plotly_chart(learn.histogram_figure(r), key="q-hist")
    right.plotly_chart(learn.error_figure(r), key="q-error")
    acc = r["accuracy"]
    st.caption(f"Relative error of the whole layer at {bits} bits, groups of {group}: {r['error']:.2%}. "
               f"Test accuracy with every layer quantised this way: {acc['quantised']:.1%} "
               f"(float32: {acc['float32']:.1%}).")


def pruning() -> None:
    st.markdown(
        "**Unstructured** pruning zeroes the individual weights of smallest magnitude: accuracy "
        "holds up well, but the matrix keeps its shape, so it is only smaller or faster with "
        "sparse storage or kernels. **Structured** pruning removes whole neurons (rows), which "
        "makes the dense matrices really smaller, but costs more accuracy at the same sparsity.")
    st.latex(r"m_{ij}=\left[\,|w_{ij}|\ge\theta\,\right]\qquad\text{vs}\qquad "
             r"m_{i\cdot}=\left[\,\lVert w_{i\cdot}\rVert_2\text{ among the top }k\,\right]")
    c1, c2 = st.columns(2)
    s = c1.slider("Sparsity", 0.0, 0.95, 0.5, 0.05, key="pr-sparsity")
    criterion = c2.radio("Rank neurons by", learn.CRITERIA, horizontal=True, key="pr-criterion",
                         format_func={"l2": "L2 norm of incoming weights",
                                      "activation": "mean activation x outgoing weights"}.get)
    r = _pruning(s, criterion)
    st.plotly_chart(learn.pruning_figure(r), key="pr-fig")
    st.plotly_chart(learn.sweep_figure(r["sweep"], {"unstructured": "unstructured (weights)",
                                                    "structured": "structured (neurons)"},
                                       "Accuracy against sparsity, no fine-tuning"), key="pr-sweep")


def distillation() -> None:
    st.markdown(
        "A small **student** can learn from a large **teacher**'s output probabilities, not just "
        "the labels. Dividing the teacher's logits by a **temperature** T > 1 softens them and "
        "reveals which wrong classes the teacher finds plausible; that is the extra signal.")
    st.latex(r"p_i^{(T)}=\frac{e^{z_i/T}}{\sum_j e^{z_j/T}},\qquad "
             r"\mathcal{L}=\alpha\,T^2\,\mathrm{KL}\!\left(p^{(T)}_{\text{teacher}}\,\Vert\,"
             r"p^{(T)}_{\text{student}}\right)+(1-\alpha)\,\mathrm{CE}(y,p_{\text{student}})")
    c1, c2 = st.columns(2)
    t = c1.select_slider("Temperature T", [0.5, 1.0, 2.0, 4.0, 8.0, 16.0], 4.0, key="kd-t")
    sample = c2.number_input("Test row", 0, 449, 3, key="kd-row")
    r = _soft(t, int(sample))
    st.plotly_chart(learn.soft_targets_figure(r), key="kd-fig")
    st.caption(f"Mean entropy of the soft targets over the test split at T = {t:g}: "
               f"{r['mean_entropy']:.2f} bits (uniform over 10 classes: 3.32 bits).")


def sgd_and_regularisation() -> None:
    st.markdown(
        "**SGD** steps against the gradient. In a narrow valley a learning rate small enough for "
        "the steep direction crawls along the flat one; **momentum** accumulates past gradients "
        "and speeds up along the valley. Above 2 / (largest curvature) plain SGD diverges.")
    st.latex(r"v_{t+1}=\mu\,v_t+\nabla L(w_t),\qquad w_{t+1}=w_t-\eta\,v_{t+1}")
    c1, c2, c3 = st.columns(3)
    lr = c1.select_slider("Learning rate", [0.003, 0.01, 0.03, 0.05, 0.09, 0.11], 0.01, key="sgd-lr")
    mu = c2.select_slider("Momentum", [0.5, 0.8, 0.9, 0.95], 0.9, key="sgd-mu")
    noise = c3.select_slider("Gradient noise", [0.0, 0.5, 2.0], 0.0, key="sgd-noise")
    st.plotly_chart(learn.sgd_figure(_sgd(lr, mu, 60, noise)), key="sgd-fig")

    st.markdown(
        "**Regularisation** adds a penalty on the weights. L1 pushes every weight toward zero by "
        "the same amount, so many end up at (or near) zero; L2 shrinks each in proportion to its "
        "size, so weights get smaller but rarely vanish. Both networks below are really trained.")
    st.latex(r"L_{\text{L1}}=L+\lambda\sum|w|\qquad L_{\text{L2}}:\ \nabla\leftarrow\nabla+\lambda w")
    lam = st.select_slider("Strength λ", [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], 1e-3, key="reg-lambda")
    st.plotly_chart(learn.regularisation_figure(_regular(lam)), key="reg-fig")

    st.markdown(
        "**Gradient-based pruning** ranks weights by how much the loss would change if each were "
        "removed, to first order: a large weight the loss does not care about can go, a small one "
        "with a large gradient should stay.")
    st.latex(r"\Delta L\approx\left|\,w\cdot\frac{\partial L}{\partial w}\,\right|")
    s = st.slider("Sparsity to prune", 0.1, 0.95, 0.7, 0.05, key="sal-sparsity")
    r = _saliency(s)
    left, right = st.columns(2)
    left.plotly_chart(learn.saliency_figure(r), key="sal-fig")
    right.plotly_chart(learn.sweep_figure(r["sweep"], {"magnitude": "magnitude |w|",
                                                       "saliency": "saliency |w·g|"},
                                          "Accuracy against sparsity, no fine-tuning"), key="sal-sweep")
    st.caption(f"Of the weights saliency prunes at {s:.0%}, magnitude would prune {r['agreement']:.0%} "
               f"too. Gradients from {r['calibration_rows']} training rows.")


SECTIONS = {
    "Large vs small": large_vs_small, "Distributed training": distributed,
    "Mixed precision": mixed_precision, "Quantisation": quantisation, "Pruning": pruning,
    "Distillation": distillation, "SGD & regularisation": sgd_and_regularisation,
}
