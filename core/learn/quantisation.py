"""Quantisation: a trained weight tensor, the grid of values b bits can represent, and the error.

Symmetric quantisation with one scale per group of ``group`` consecutive input weights of a row:
scale = max|w| / (2^(b-1) - 1), q = clamp(round(w / scale), -2^(b-1), 2^(b-1) - 1), w' = q * scale.
At 4 bits this is exactly what the engine's int4 format stores (`core.compress.formats`); the
tests check the two agree.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch

from ._shared import accuracy, chart_text, digits, digits_mlp, linears, single_threaded

GROUP_SIZES = (8, 16, 32, 64)   # the digits MLP's first layer has 64 inputs: 64 = one scale per row
BITS = (2, 3, 4, 5, 6, 8)


def fake_quantize(w: torch.Tensor, bits: int, group: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(out, in) weights -> (dequantised weights (out, in), scales (out, n_groups)).

    Scales are rounded to fp16, as the engine's int4 format stores them.
    """
    out_f, in_f = w.shape
    pad = (-in_f) % group
    wp = torch.nn.functional.pad(w.float(), (0, pad)).reshape(out_f, -1, group)  # (out, G, group)
    qmax = 2 ** (bits - 1) - 1
    scale = (wp.abs().amax(dim=2, keepdim=True) / qmax).clamp(min=1e-8).half().float()
    q = torch.clamp(torch.round(wp / scale), -qmax - 1, qmax)
    return (q * scale).reshape(out_f, -1)[:, :in_f], scale.squeeze(2)


def _error(w: torch.Tensor, wq: torch.Tensor) -> float:
    """Relative error ||w - w'|| / ||w|| (Frobenius)."""
    return float((w - wq).norm() / w.norm())


@single_threaded
def quantisation_demo(bits: int = 4, group: int = 32, row: int = 0) -> dict:
    """The first layer (32 x 64) of an MLP the engine trained on digits, quantised to ``bits``.

    Returns ``weights`` (the first group of row ``row``, for the histogram), ``grid`` (the
    values that group can take), ``error`` (relative error of the whole layer at these
    settings), ``sweep``: {group: [relative error at each of ``BITS``]}, and ``accuracy``:
    {"float32": test accuracy, "quantised": with every layer quantised at these settings}.
    """
    if bits not in range(2, 9):
        raise ValueError(f"bits must be in [2, 8]; got {bits}")
    model = digits_mlp()
    layers = linears(model.module)
    w = layers[0].weight.detach().clone()                      # (32, 64)
    if not 0 <= row < w.shape[0]:
        raise ValueError(f"row must be in [0, {w.shape[0] - 1}]; got {row}")
    wq, scales = fake_quantize(w, bits, group)
    qmax = 2 ** (bits - 1) - 1
    grid = np.arange(-qmax - 1, qmax + 1) * float(scales[row, 0])
    data = digits()
    base = accuracy(model.module, data)
    with torch.no_grad():
        for layer in layers:
            layer.weight.copy_(fake_quantize(layer.weight, bits, group)[0])
    sweep = {g: [_error(w, fake_quantize(w, b, g)[0]) for b in BITS] for g in GROUP_SIZES}
    return {"bits": bits, "group": group, "row": row,
            "weights": w[row, :group].numpy(), "layer_weights": w.flatten().numpy(),
            "grid": grid, "error": _error(w, wq), "sweep": sweep, "bits_axis": list(BITS),
            "accuracy": {"float32": base, "quantised": accuracy(model.module, data)},
            "shape": tuple(w.shape)}


def histogram_figure(result: dict, lang: str = "en") -> go.Figure:
    """The whole layer's weights, with the chosen group's grid drawn as vertical lines."""
    fig = go.Figure()
    fig.add_histogram(x=result["layer_weights"], nbinsx=80, name=chart_text(lang, "layer_weights"),
                      marker_color="#c6dbef")
    # One trace of vertical segments separated by gaps: add_vline per level is O(levels^2) in plotly.
    top = float(np.histogram(result["layer_weights"], bins=80)[0].max())
    grid = np.asarray(result["grid"], dtype=float)
    xs = np.repeat(grid, 3)
    ys = np.tile([0.0, top * 1.1, np.nan], len(grid))
    xs[2::3] = np.nan
    fig.add_scatter(x=xs, y=ys, mode="lines", name=chart_text(lang, "group_levels", bits=result["bits"]),
                    line=dict(color="#E4572E", width=1), opacity=0.5 if len(grid) > 32 else 0.9,
                    hoverinfo="skip")
    # The group's own weights as a rug above the histogram, so each can be seen against its level.
    fig.add_scatter(x=result["weights"], y=np.full(len(result["weights"]), top * 1.1),
                    mode="markers", name=chart_text(lang, "group_weights", row=result["row"],
                                                    group=result["group"]),
                    marker=dict(symbol="line-ns-open", size=14, color="#08519c", line_width=2))
    fig.update_layout(height=360, margin=dict(t=60, b=40, l=60, r=20),
                      title=chart_text(lang, "grid_title", bits=result["bits"], levels=len(grid)),
                      xaxis_title=chart_text(lang, "weight_value"), yaxis_title=chart_text(lang, "count"),
                      legend=dict(orientation="h", x=0.0, y=-0.2))
    return fig


def error_figure(result: dict, lang: str = "en") -> go.Figure:
    fig = go.Figure()
    for g, errors in result["sweep"].items():
        label = (chart_text(lang, "one_scale_per_row") if g >= result["shape"][1]
                 else chart_text(lang, "group_of", group=g))
        fig.add_scatter(x=result["bits_axis"], y=errors, mode="lines+markers", name=label)
    fig.update_layout(title=chart_text(lang, "error_title"),
                      xaxis_title=chart_text(lang, "bits_per_weight"),
                      yaxis_title=chart_text(lang, "relative_error_log"),
                      yaxis_type="log", height=360, margin=dict(t=60, b=40, l=60, r=20))
    return fig


__all__ = ["GROUP_SIZES", "BITS", "fake_quantize", "quantisation_demo", "histogram_figure",
           "error_figure"]
