"""Distillation: a trained teacher's soft targets, softmax(z / T), as the temperature T changes.

At T = 1 a confident teacher puts nearly all its probability on one class; raising T spreads it
over the classes the teacher finds similar ("dark knowledge"), which is what the student learns
from. The teacher is an MLP the engine trained on digits; its logits come from the engine's
`teacher_logits`, the same call distillation uses.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots
import torch

from ..compress.distill import teacher_logits
from ._shared import chart_text, digits, digits_mlp, entropy_bits, single_threaded

TEACHER_HIDDEN = (128,)
TEMPERATURES = tuple(float(t) for t in np.geomspace(0.5, 20, 13).round(2))


@single_threaded
def soft_targets(temperature: float = 4.0, sample: int = 0) -> dict:
    """The teacher's softened distribution for test row ``sample`` at ``temperature`` and at T=1.

    Returns ``probs`` and ``probs_t1`` (10,), the row's ``image`` (8, 8, standardised pixels),
    ``true_class``, the mean entropy in bits over the test split at each of ``TEMPERATURES``
    (``entropy_curve``) and at ``temperature`` (``mean_entropy``).
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0; got {temperature}")
    data = digits()
    if not 0 <= sample < len(data.y_test):
        raise ValueError(f"sample must be in [0, {len(data.y_test) - 1}]; got {sample}")
    teacher = digits_mlp(TEACHER_HIDDEN)
    logits = teacher_logits(teacher, data.X_test)                   # (n_test, 10)

    def soften(t: float) -> np.ndarray:
        return torch.softmax(logits / t, dim=1).numpy()

    probs = soften(temperature)
    return {"temperature": temperature, "sample": sample, "probs": probs[sample],
            "probs_t1": soften(1.0)[sample], "true_class": int(data.y_test[sample]),
            "class_names": list(data.class_names), "image": data.X_test[sample].reshape(8, 8),
            "mean_entropy": float(entropy_bits(probs).mean()),
            "temperatures": list(TEMPERATURES),
            "entropy_curve": [float(entropy_bits(soften(t)).mean()) for t in TEMPERATURES],
            "teacher_accuracy": float((logits.argmax(1).numpy() == data.y_test).mean()),
            "teacher_params": teacher.param_counts().total}


def soft_targets_figure(result: dict, lang: str = "en") -> go.Figure:
    fig = make_subplots(1, 2, column_widths=[0.6, 0.4], subplot_titles=(
        chart_text(lang, "kd_row_title", row=result["sample"], true_class=result["true_class"]),
        chart_text(lang, "kd_entropy_title")))
    names = result["class_names"]
    fig.add_bar(x=names, y=result["probs_t1"], name="T = 1", marker_color="#c6dbef", row=1, col=1)
    fig.add_bar(x=names, y=result["probs"], name=f"T = {result['temperature']:g}",
                marker_color="#08519c", row=1, col=1)
    fig.add_scatter(x=result["temperatures"], y=result["entropy_curve"], mode="lines+markers",
                    name=chart_text(lang, "entropy_bits"), marker_color="#7B5EA7", row=1, col=2)
    fig.add_scatter(x=[result["temperature"]], y=[result["mean_entropy"]], mode="markers",
                    marker=dict(size=14, color="#E4572E"), name=chart_text(lang, "chosen_t"),
                    row=1, col=2)
    fig.update_xaxes(title_text=chart_text(lang, "class"), type="category", row=1, col=1)
    fig.update_yaxes(title_text=chart_text(lang, "teacher_probability"), row=1, col=1)
    fig.update_xaxes(title_text=chart_text(lang, "temperature_log"), type="log", row=1, col=2)
    fig.update_yaxes(title_text=chart_text(lang, "entropy_axis"), row=1, col=2)
    fig.update_layout(barmode="group", height=380, margin=dict(t=60, b=40, l=60, r=20),
                      title=chart_text(lang, "kd_title", n_params=f"{result['teacher_params']:,}",
                                       accuracy=f"{result['teacher_accuracy']:.1%}"))
    return fig


__all__ = ["TEACHER_HIDDEN", "TEMPERATURES", "soft_targets", "soft_targets_figure"]
