"""Large vs small models: decision boundaries on 2-D moons or circles.

Logistic regression (3 parameters: two weights and a bias) draws one straight line; an MLP of
the user's width and depth can bend its boundary around every noisy point. Both are trained by
the engine (`fit_classical`, `fit_neural`) on the same split; the grid predictions show where
each one says "class 1", and train against test accuracy shows under- and over-fitting.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from ..data import load
from ..specs import DatasetSpec, LogisticRegressionSpec, MLPSpec, TrainSpec
from ..train import fit_classical, fit_neural
from ._shared import chart_text, single_threaded

SHAPES = ("moons", "circles")


@single_threaded
def decision_boundaries(shape: str = "moons", n_samples: int = 200, noise: float = 0.3,
                        width: int = 64, depth: int = 2, epochs: int = 150, seed: int = 0,
                        grid: int = 60) -> dict:
    """Train both models and predict P(class 1) on a ``grid`` x ``grid`` mesh around the data.

    Returns plain arrays: ``xs``/``ys`` (grid,) axis ticks, ``small``/``large`` dicts with
    ``proba`` (grid, grid), ``train_accuracy``, ``test_accuracy``, ``n_params``, ``hidden``
    (None for logistic regression; name them with `model_label`); and the points ``X_train``
    (n, 2), ``y_train``, ``X_test``, ``y_test``.
    """
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {', '.join(SHAPES)}; got {shape!r}")
    data = load(DatasetSpec(shape, n_samples=n_samples, noise=noise, test_fraction=0.3, seed=seed))
    X_all = np.vstack([data.X_train, data.X_test])
    lo, hi = X_all.min(0) - 0.5, X_all.max(0) + 0.5
    xs, ys = np.linspace(lo[0], hi[0], grid), np.linspace(lo[1], hi[1], grid)
    mesh = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2).astype(np.float32)  # (grid*grid, 2)

    small, _ = fit_classical(LogisticRegressionSpec(C=1.0), data, seed)
    # Full-batch-ish Adam with no regularisation and no early stopping: a wide net is free to
    # memorise the noise, which is the point of the demo.
    hidden = (int(width),) * int(depth)
    large, _ = fit_neural(MLPSpec(hidden=hidden), TrainSpec(
        optimizer="adam", lr=1e-2, epochs=epochs, batch_size=64, validation_fraction=0.0,
        seed=seed), data)
    with torch.inference_mode():
        large_proba = torch.softmax(large.logits(mesh), 1)[:, 1].numpy()
    small_proba = small.estimator.predict_proba(mesh)[:, 1]

    def summary(model, proba, layers):
        return {"hidden": layers, "proba": proba.reshape(grid, grid),
                "train_accuracy": float(np.mean(model.predict(data.X_train) == data.y_train)),
                "test_accuracy": float(np.mean(model.predict(data.X_test) == data.y_test)),
                "n_params": model.param_counts().total}

    return {"shape": shape, "noise": noise, "xs": xs, "ys": ys,
            "small": summary(small, small_proba, None),
            "large": summary(large, large_proba, hidden),
            "X_train": data.X_train, "y_train": data.y_train,
            "X_test": data.X_test, "y_test": data.y_test}


def model_label(side: dict, lang: str = "en") -> str:
    """"Logistic regression" or "MLP 64x64" for one side of a `decision_boundaries` result."""
    if side["hidden"] is None:
        return chart_text(lang, "logistic_regression")
    return f"MLP {'x'.join(map(str, side['hidden']))}"


def boundary_figure(result: dict, lang: str = "en") -> go.Figure:
    """Side-by-side heat maps of P(class 1) with the 0.5 contour and the points on top."""
    titles = [chart_text(lang, "boundary_subtitle", label=model_label(result[k], lang),
                         n_params=f"{result[k]['n_params']:,}", train=f"{result[k]['train_accuracy']:.0%}",
                         test=f"{result[k]['test_accuracy']:.0%}")
              for k in ("small", "large")]
    class_1 = chart_text(lang, "class_1")
    fig = make_subplots(1, 2, subplot_titles=titles, shared_yaxes=True, horizontal_spacing=0.04)
    for col, key in enumerate(("small", "large"), start=1):
        fig.add_contour(x=result["xs"], y=result["ys"], z=result[key]["proba"], zmin=0, zmax=1,
                        colorscale="RdBu", opacity=0.6, showscale=col == 2,
                        contours=dict(start=0, end=1, size=0.1), line_width=0,
                        colorbar=dict(title=class_1), row=1, col=col,
                        hovertemplate=f"{class_1} = %{{z:.2f}}<extra></extra>")
        fig.add_contour(x=result["xs"], y=result["ys"], z=result[key]["proba"], showscale=False,
                        contours=dict(start=0.5, end=0.5, size=1, coloring="lines"),
                        line=dict(width=2, color="black"), row=1, col=col, hoverinfo="skip")
        for split, symbol in (("train", "circle"), ("test", "x")):
            X, y = result[f"X_{split}"], result[f"y_{split}"]
            fig.add_scatter(x=X[:, 0], y=X[:, 1], mode="markers", name=chart_text(lang, f"{split}_points"),
                            marker=dict(color=np.where(y == 1, "#08306b", "#67000d"), size=5,
                                        symbol=symbol), showlegend=col == 1, row=1, col=col)
    fig.update_layout(height=470, margin=dict(t=110, b=30, l=30, r=30),
                      title=dict(text=chart_text(lang, "boundary_title", noise=f"{result['noise']:g}",
                                                 shape=chart_text(lang, f"shape_{result['shape']}")),
                                 y=0.97),
                      legend=dict(orientation="h", x=0.0, y=-0.08))
    return fig


__all__ = ["SHAPES", "decision_boundaries", "model_label", "boundary_figure"]
