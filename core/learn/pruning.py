"""Pruning: which weights go, unstructured (single weights) against structured (whole neurons),
and magnitude |w| against gradient saliency |w * dL/dw|.

The masks, the rebuilt narrower network and the saliency scores all come from the engine
(`core.compress.prune`); this module only picks the layer to draw and sweeps the sparsity.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from ..compress.formats import linear_like
from ..compress.prune import (apply_masks, magnitude_scores, masks_for, saliency_scores,
                              structured_prune, unit_scores)
from ..specs import ModelSpec
from ._shared import accuracy, chart_text, digits, digits_mlp, single_threaded

SPARSITIES = (0.0, 0.25, 0.5, 0.7, 0.8, 0.9, 0.95)
FIRST = "net.0.weight"   # the first Linear of the engine's MLP: (32 hidden, 64 pixels)


CRITERIA = ("l2", "activation")   # how structured pruning ranks neurons (core.specs has both)
_CALIBRATION_ROWS = 256


def _structured(model, amount: float, criterion: str, X: np.ndarray):
    """The engine's narrower network and which first-layer rows (neurons) survived."""
    spec = ModelSpec.from_dict(model.arch["spec"])
    new, new_spec = structured_prune(model.module, spec, model.arch, amount, criterion, X)
    first = unit_scores([m for _, m in linear_like(model.module)], criterion, model.module, X)[0]
    kept = torch.topk(first, new_spec.hidden[0]).indices       # the engine keeps the top scores
    row_mask = torch.zeros(first.numel(), dtype=torch.bool)
    row_mask[kept] = True
    return new, row_mask


def _both(sparsity: float, n_total: int, data, criterion: str) -> dict:
    """Unstructured (magnitude, per layer) and structured (L2 neuron) pruning at ``sparsity``."""
    module = digits_mlp().module
    masks = masks_for(magnitude_scores(module), sparsity, "layer")
    apply_masks(module, masks)
    if sparsity == 0.0:
        s_net, rows = digits_mlp().module, torch.ones(module.net[0].out_features, dtype=torch.bool)
    else:
        X = data.X_train[:_CALIBRATION_ROWS]
        s_net, rows = _structured(digits_mlp(), sparsity, criterion, X)
    return {"unstructured": accuracy(module, data), "structured": accuracy(s_net, data),
            "unstructured_kept": sum(int(torch.count_nonzero(p)) for p in module.parameters()) / n_total,
            "structured_kept": sum(p.numel() for p in s_net.parameters()) / n_total,
            "mask": masks[FIRST], "rows": rows}


@single_threaded
def pruning_demo(sparsity: float = 0.5, criterion: str = "l2") -> dict:
    """Unstructured magnitude pruning and structured (neuron) pruning at ``sparsity``.

    ``criterion`` ranks neurons for structured pruning: "l2" (norm of incoming weights) or
    "activation" (mean activation on training rows x norm of outgoing weights).
    Returns ``weights`` (32, 64) of the first layer, ``unstructured_mask`` and ``structured_mask``
    (32, 64) bool (True = kept), the accuracies at this sparsity and ``sweep``: accuracy and
    share of parameters kept at each of ``SPARSITIES`` for both methods (no fine-tuning).
    """
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1); got {sparsity}")
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {', '.join(CRITERIA)}; got {criterion!r}")
    data = digits()
    base = digits_mlp()
    weights = base.module.net[0].weight.detach().numpy().copy()
    n_total = sum(p.numel() for p in base.module.parameters())
    points = [_both(s, n_total, data, criterion) for s in SPARSITIES]
    sweep = {"sparsity": list(SPARSITIES)}
    for key in ("unstructured", "structured", "unstructured_kept", "structured_kept"):
        sweep[key] = [p[key] for p in points]
    now = _both(sparsity, n_total, data, criterion)
    return {"sparsity": sparsity, "weights": weights, "unstructured_mask": now["mask"].numpy(),
            "structured_mask": np.repeat(now["rows"].numpy()[:, None], weights.shape[1], axis=1),
            "accuracy": {"unpruned": accuracy(base.module, data),
                         "unstructured": now["unstructured"], "structured": now["structured"]},
            "kept": {"unstructured": now["unstructured_kept"], "structured": now["structured_kept"]},
            "sweep": sweep, "criterion": criterion}


def pruning_figure(result: dict, lang: str = "en") -> go.Figure:
    """The first layer as a heat map, pruned entries blank, for both kinds of pruning."""
    w = result["weights"]
    lim = float(np.abs(w).max())
    titles = [chart_text(lang, f"{kind}_title", share=f"{1 - result['kept'][kind]:.0%}",
                         accuracy=f"{result['accuracy'][kind]:.1%}")
              for kind in ("unstructured", "structured")]
    # plotly's own placeholders, passed through the translated template unchanged
    hover = chart_text(lang, "neuron_hover", y="%{y}", x="%{x}", z="%{z:.3f}") + "<extra></extra>"
    fig = make_subplots(1, 2, subplot_titles=titles, horizontal_spacing=0.06)
    for col, key in enumerate(("unstructured_mask", "structured_mask"), start=1):
        shown = np.where(result[key], w, np.nan)   # NaN draws as blank: the pruned weights
        fig.add_heatmap(z=shown, zmin=-lim, zmax=lim, colorscale="RdBu", showscale=col == 2,
                        colorbar=dict(title=chart_text(lang, "weight")), row=1, col=col,
                        hovertemplate=hover)
        fig.update_xaxes(title_text=chart_text(lang, "input_pixel"), row=1, col=col)
    fig.update_yaxes(title_text=chart_text(lang, "hidden_neuron"), autorange="reversed")
    fig.update_layout(height=420, margin=dict(t=80, b=40, l=60, r=20),
                      title=chart_text(lang, "pruning_title", sparsity=f"{result['sparsity']:.0%}"))
    return fig


def sweep_figure(sweep: dict, series: dict[str, str], title: str, lang: str = "en") -> go.Figure:
    """Accuracy against sparsity, one line per ``series`` key (label as value)."""
    fig = go.Figure()
    for key, label in series.items():
        fig.add_scatter(x=[100 * s for s in sweep["sparsity"]], y=[100 * a for a in sweep[key]],
                        mode="lines+markers", name=label)
    fig.update_layout(title=title, xaxis_title=chart_text(lang, "sparsity_axis"),
                      yaxis_title=chart_text(lang, "test_accuracy_axis"),
                      height=340, margin=dict(t=60, b=40, l=60, r=20))
    return fig


@single_threaded
def saliency_demo(sparsity: float = 0.7, calibration_rows: int = 256) -> dict:
    """Magnitude |w| against first-order saliency |w * dL/dw| as the pruning score.

    Scores come from the engine (`magnitude_scores`, `saliency_scores` on ``calibration_rows``
    training rows). Returns first-layer ``abs_weight``, ``abs_grad`` and ``saliency`` (flat),
    the saliency mask (True = kept), the share of pruned weights the two scores agree on, and
    an accuracy ``sweep`` for both scores at each of ``SPARSITIES``.
    """
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1); got {sparsity}")
    data = digits()
    rows = np.random.default_rng(0).permutation(len(data.y_train))[:calibration_rows]
    X, y = data.X_train[rows], data.y_train[rows]
    probe = digits_mlp().module
    sal = saliency_scores(probe, X, y)
    mag = magnitude_scores(probe)
    w = probe.net[0].weight.detach()
    sweep = {"sparsity": list(SPARSITIES), "magnitude": [], "saliency": []}
    for s in SPARSITIES:
        for name, scores in (("magnitude", mag), ("saliency", sal)):
            module = digits_mlp().module
            apply_masks(module, masks_for(scores, s, "layer"))
            sweep[name].append(accuracy(module, data))
    keep_sal = masks_for(sal, sparsity, "layer")[FIRST]
    keep_mag = masks_for(mag, sparsity, "layer")[FIRST]
    pruned_sal, pruned_mag = ~keep_sal, ~keep_mag
    agree = float((pruned_sal & pruned_mag).sum() / max(int(pruned_sal.sum()), 1))
    return {"sparsity": sparsity, "abs_weight": w.abs().flatten().numpy(),
            "saliency": sal[FIRST].flatten().numpy(),
            "abs_grad": (sal[FIRST] / w.abs().clamp(min=1e-12)).flatten().numpy(),
            "kept_by_saliency": keep_sal.flatten().numpy(), "agreement": agree, "sweep": sweep,
            "calibration_rows": len(rows)}


def saliency_figure(result: dict, lang: str = "en") -> go.Figure:
    kept = result["kept_by_saliency"]
    fig = go.Figure()
    for flag, label, color in ((True, "kept", "#17A398"), (False, "pruned_by_saliency", "#E4572E")):
        sel = kept == flag
        fig.add_scatter(x=result["abs_weight"][sel], y=result["abs_grad"][sel], mode="markers",
                        name=chart_text(lang, label), marker=dict(size=4, color=color, opacity=0.6))
    fig.update_layout(title=chart_text(lang, "saliency_title", sparsity=f"{result['sparsity']:.0%}"),
                      xaxis_title="|w| (log)", yaxis_title="|dL/dw| (log)", xaxis_type="log",
                      yaxis_type="log", height=380, margin=dict(t=60, b=40, l=60, r=20))
    return fig


__all__ = ["SPARSITIES", "CRITERIA", "pruning_demo", "pruning_figure", "sweep_figure", "saliency_demo",
           "saliency_figure"]
