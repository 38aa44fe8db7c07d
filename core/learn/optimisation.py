"""SGD and regularisation: optimiser paths on a 2-D loss surface, and the weights that L1 and L2
penalties leave behind in really trained networks.

The paths are taken by torch.optim.SGD built by the engine's `make_optimizer`; the networks are
trained by the engine's loop with ``TrainSpec.l1`` (adds l1 * sum|w| to the loss) or
``TrainSpec.weight_decay`` (adds weight_decay * w to the gradient: an L2 penalty).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from ..specs import TrainSpec
from ..train.loop import make_optimizer
from ._shared import accuracy, chart_text, digits, linears, single_threaded

# A long narrow valley: curvature 1 along x and ``CURVATURE`` along y, minimum at (0, 0).
CURVATURE = 20.0
START = (-4.0, 1.5)


def valley_loss(p: torch.Tensor) -> torch.Tensor:
    """0.5 * (x^2 + CURVATURE * y^2) for p = (x, y)."""
    return 0.5 * (p[..., 0] ** 2 + CURVATURE * p[..., 1] ** 2)


@single_threaded
def sgd_paths(lr: float = 0.01, momentum: float = 0.9, steps: int = 60, noise: float = 0.0,
              seed: int = 0) -> dict:
    """Plain SGD and SGD with ``momentum`` from the same start on the valley.

    ``noise``: standard deviation of Gaussian noise added to each gradient (a stand-in for
    minibatch noise). Returns per optimiser ``path`` (steps + 1, 2) and ``loss`` (steps + 1,),
    and the surface: ``xs``, ``ys`` and ``z`` (len(ys), len(xs)).
    """
    out = {"lr": lr, "momentum": momentum, "steps": steps, "noise": noise, "runs": {}}
    for label, m in (("plain SGD", 0.0), (f"momentum {momentum:g}", momentum)):
        gen = torch.Generator().manual_seed(seed)
        p = torch.tensor(START, requires_grad=True)
        opt = make_optimizer([p], TrainSpec(optimizer="sgd", lr=lr, momentum=m))
        path, loss = [p.detach().clone()], [float(valley_loss(p.detach()))]
        for _ in range(steps):
            opt.zero_grad()
            value = valley_loss(p)
            value.backward()
            if noise:
                p.grad += noise * torch.randn(2, generator=gen)
            opt.step()
            if not torch.isfinite(p).all() or float(p.detach().abs().max()) > 100:
                break  # left the chart: diverged, stop before the numbers overflow
            path.append(p.detach().clone())
            loss.append(float(valley_loss(p.detach())))
        out["runs"][label] = {"momentum": m, "path": torch.stack(path).numpy(), "loss": np.array(loss),
                              "final_loss": loss[-1], "diverged": len(loss) < steps + 1}
    xs, ys = np.linspace(-5, 5, 101), np.linspace(-2.5, 2.5, 61)
    grid = torch.from_numpy(np.stack(np.meshgrid(xs, ys), -1))  # (len(ys), len(xs), 2)
    out.update(xs=xs, ys=ys, z=valley_loss(grid).numpy())
    return out


def sgd_figure(result: dict, lang: str = "en") -> go.Figure:
    fig = make_subplots(1, 2, column_widths=[0.6, 0.4],
                        subplot_titles=(chart_text(lang, "paths"), chart_text(lang, "loss_per_step")))
    fig.add_contour(x=result["xs"], y=result["ys"], z=np.log10(result["z"] + 1e-3), showscale=False,
                    colorscale="Greys", reversescale=True, contours=dict(coloring="lines"),
                    row=1, col=1, hoverinfo="skip")
    colors = ["#E4572E", "#17A398"]
    for run, color in zip(result["runs"].values(), colors):
        label = (chart_text(lang, "momentum", momentum=f"{run['momentum']:g}") if run["momentum"]
                 else chart_text(lang, "plain_sgd"))
        path = run["path"]
        fig.add_scatter(x=path[:, 0], y=path[:, 1], mode="lines+markers", name=label,
                        marker=dict(size=4, color=color), line=dict(color=color), row=1, col=1)
        fig.add_scatter(y=np.maximum(run["loss"], 1e-12), mode="lines", name=label, showlegend=False,
                        line=dict(color=color), row=1, col=2)
    fig.update_xaxes(range=[-5, 5], row=1, col=1)
    fig.update_yaxes(range=[-2.5, 2.5], row=1, col=1)
    fig.update_yaxes(type="log", title_text=chart_text(lang, "loss_log"), row=1, col=2)
    fig.update_xaxes(title_text=chart_text(lang, "step"), row=1, col=2)
    fig.update_layout(height=400, margin=dict(t=60, b=40, l=60, r=20),
                      title=chart_text(lang, "sgd_title", curvature=f"{CURVATURE:g}", lr=f"{result['lr']:g}"))
    return fig


NEAR_ZERO = 1e-2  # |w| below this counts as "near zero" in the histogram summary


@single_threaded
def regularisation_demo(strength: float = 1e-3, epochs: int = 12, seed: int = 0) -> dict:
    """Three digits MLPs trained by the engine: no penalty, L1 (``l1=strength``) and L2
    (``weight_decay=strength``). Returns, per run, the first-layer ``weights`` (flat), the share
    with |w| < ``NEAR_ZERO``, test accuracy and the L1 and L2 norms of all weight matrices.
    """
    from ..models.neural import build_module
    from ..specs import MLPSpec
    from ..train.loop import train_module

    data = digits()
    runs = {}
    for label, kwargs in (("none", {}), ("L1", {"l1": strength}), ("L2", {"weight_decay": strength})):
        torch.manual_seed(seed)
        module = build_module(MLPSpec(hidden=(32,)), data.n_features, data.n_classes, None)
        spec = TrainSpec(optimizer="adam", lr=3e-3, epochs=epochs, batch_size=64,
                         validation_fraction=0.0, seed=seed, **kwargs)
        train_module(module, data.X_train, data.y_train, spec)
        mats = [m.weight.detach() for m in linears(module)]
        w = mats[0].flatten().numpy()
        runs[label] = {"weights": w, "near_zero": float(np.mean(np.abs(w) < NEAR_ZERO)),
                       "accuracy": accuracy(module, data),
                       "l1_norm": float(sum(m.abs().sum() for m in mats)),
                       "l2_norm": float(torch.sqrt(sum((m ** 2).sum() for m in mats)))}
    return {"strength": strength, "epochs": epochs, "runs": runs, "near_zero_threshold": NEAR_ZERO}


def regularisation_figure(result: dict, lang: str = "en") -> go.Figure:
    fig = go.Figure()
    colors = {"none": "#969696", "L1": "#E4572E", "L2": "#17A398"}
    for label, run in result["runs"].items():
        penalty = chart_text(lang, "penalty_none") if label == "none" else label
        fig.add_histogram(x=run["weights"], nbinsx=100, opacity=0.55, marker_color=colors[label],
                          name=chart_text(lang, "reg_legend", penalty=penalty,
                                          near_zero=f"{run['near_zero']:.0%}",
                                          accuracy=f"{run['accuracy']:.1%}"))
    fig.update_layout(barmode="overlay", height=380, margin=dict(t=60, b=40, l=60, r=20),
                      title=chart_text(lang, "reg_title", strength=f"{result['strength']:g}",
                                       threshold=f"{result['near_zero_threshold']:g}"),
                      xaxis_title=chart_text(lang, "weight"), yaxis_title=chart_text(lang, "count"),
                      legend=dict(x=0.01, y=0.99))
    return fig


__all__ = ["CURVATURE", "START", "valley_loss", "sgd_paths", "sgd_figure", "NEAR_ZERO",
           "regularisation_demo", "regularisation_figure"]
