"""Distributed and asynchronous training, shown on a real network and a small simulation.

Data parallelism: every worker computes the mean gradient of its shard of the batch on a copy
of the same weights; all-reducing (summing) and dividing by the number of workers gives the
full-batch gradient exactly when the shards are equal in size (DistributedSampler pads them so).
Hogwild!: workers write updates into shared weights without locks, so an update may have been
computed on weights that are several updates old. The simulation measures what that costs.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots
from torch import nn

from ..models.neural import build_module
from ..specs import MLPSpec
from ._shared import chart_text, digits, single_threaded


def _flat_grad(module: nn.Module, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Gradient of the mean cross-entropy on (X, y), all parameters flattened: (n_params,)."""
    module.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(module(X), y).backward()
    return torch.cat([p.grad.flatten() for p in module.parameters()]).clone()


@single_threaded
def data_parallel_gradients(n_workers: int = 4, batch_size: int = 64, seed: int = 0,
                            n_shown: int = 8) -> dict:
    """Per-worker gradients of one batch, their plain and size-weighted means, the full gradient.

    The network is the engine's MLP (64 -> 32 -> 10, seeded initialisation) on digits. Returns
    ``shard_sizes`` (n_workers,), ``workers`` (n_workers, n_shown) gradient entries, ``mean``,
    ``weighted_mean``, ``full`` (n_shown,) for the ``n_shown`` largest full-batch entries named in
    ``labels``, and ``max_error_mean`` / ``max_error_weighted``: max |. - full| over all entries.
    """
    if not 1 <= n_workers <= batch_size:
        raise ValueError(f"n_workers must be in [1, batch_size={batch_size}]; got {n_workers}")
    data = digits()
    torch.manual_seed(seed)
    module = build_module(MLPSpec(hidden=(32,)), data.n_features, data.n_classes, None)
    rows = np.random.default_rng(seed).permutation(len(data.y_train))[:batch_size]
    X, y = torch.from_numpy(data.X_train[rows]), torch.from_numpy(data.y_train[rows])
    full = _flat_grad(module, X, y).double()
    shards = np.array_split(np.arange(batch_size), n_workers)  # unequal when it does not divide
    grads = torch.stack([_flat_grad(module, X[s], y[s]).double() for s in shards])  # (W, P)
    sizes = torch.tensor([len(s) for s in shards], dtype=torch.float64)
    mean = grads.mean(0)                                      # what an all-reduce / W computes
    weighted = (grads * sizes[:, None]).sum(0) / sizes.sum()  # exact for any shard sizes
    names = [(n, p.shape) for n, p in module.named_parameters()]
    top = torch.topk(full.abs(), n_shown).indices.sort().values
    return {"shard_sizes": sizes.int().tolist(), "labels": [_entry_name(names, int(i)) for i in top],
            "workers": grads[:, top].numpy(), "mean": mean[top].numpy(),
            "weighted_mean": weighted[top].numpy(), "full": full[top].numpy(),
            "max_error_mean": float((mean - full).abs().max()),
            "max_error_weighted": float((weighted - full).abs().max()),
            "n_params": int(full.numel())}


def _entry_name(names, flat_index: int) -> str:
    for name, shape in names:
        size = int(np.prod(shape))
        if flat_index < size:
            return f"{name}[{','.join(map(str, np.unravel_index(flat_index, shape)))}]"
        flat_index -= size
    raise IndexError(flat_index)


def gradients_figure(result: dict, lang: str = "en") -> go.Figure:
    fig = go.Figure()
    for k, g in enumerate(result["workers"]):
        fig.add_bar(x=result["labels"], y=g,
                    name=chart_text(lang, "worker", k=k, rows=result["shard_sizes"][k]),
                    marker_color="#9ecae1", opacity=0.8, showlegend=k == 0 or len(result["workers"]) <= 4)
    fig.add_bar(x=result["labels"], y=result["mean"], name=chart_text(lang, "workers_average"),
                marker_color="#08519c")
    fig.add_scatter(x=result["labels"], y=result["full"], mode="markers", name=chart_text(lang, "full_batch"),
                    marker=dict(symbol="diamond", size=12, color="#E4572E"))
    fig.update_layout(barmode="group", height=380, title=chart_text(lang, "gradients_title"),
                      yaxis_title="dL/dw",
                      margin=dict(t=60, b=40, l=60, r=20))
    return fig


@single_threaded
def hogwild_simulation(worker_counts: tuple[int, ...] = (1, 4, 16), lr: float = 2.0,
                       time_units: int = 30, batch_size: int = 32, seed: int = 0) -> dict:
    """Lock-free SGD with P workers, simulated step by step on softmax regression over digits.

    Time model: one gradient takes one time unit, P workers finish P updates per unit, and each
    update was computed on the weights as they were P - 1 updates earlier (the others wrote in
    the meantime). Returns, per P, ``updates`` (0..P*time_units), ``time`` (updates / P) and
    ``loss`` (full training cross-entropy after each update), ``final_loss``, ``staleness`` and
    ``time_to_target`` (time units until the loss first falls below ``target``; None if never).
    """
    data = digits()
    X, y = torch.from_numpy(data.X_train), torch.from_numpy(data.y_train)
    Xb = torch.cat([X, torch.ones(len(y), 1)], 1)            # features and a bias column, (n, F+1)
    n = len(y)
    curves = {}
    for P in worker_counts:
        gen = torch.Generator().manual_seed(seed)
        W = torch.zeros(Xb.shape[1], data.n_classes)            # (F+1, C)
        history = [W.clone()]                                   # the last P versions of W
        loss = [float(nn.functional.cross_entropy(Xb @ W, y))]
        for _ in range(P * time_units):
            stale = history[0]                                  # what this worker read P-1 updates ago
            idx = torch.randint(0, n, (batch_size,), generator=gen)
            p = torch.softmax(Xb[idx] @ stale, 1)               # (B, C)
            p[torch.arange(batch_size), y[idx]] -= 1.0          # dCE/dlogits
            W = W - lr * (Xb[idx].T @ p) / batch_size           # mean-CE gradient wrt W, (F+1, C)
            history = (history + [W])[-P:]
            value = float(nn.functional.cross_entropy(Xb @ W, y))
            loss.append(value if np.isfinite(value) else float("inf"))
        updates = list(range(len(loss)))
        curves[P] = {"updates": updates, "time": [u / P for u in updates], "loss": loss,
                     "final_loss": loss[-1], "staleness": P - 1}
    target = 0.3
    for cv in curves.values():
        cv["time_to_target"] = next((t for t, v in zip(cv["time"], cv["loss"]) if v < target), None)
    return {"curves": curves, "lr": lr, "target": target, "batch_size": batch_size,
            "time_units": time_units}


def loss_after_updates(result: dict, n_updates: int) -> dict[int, float]:
    """Each worker count's training loss once ``n_updates`` updates have been applied."""
    return {P: cv["loss"][min(n_updates, len(cv["loss"]) - 1)] for P, cv in result["curves"].items()}


def hogwild_figure(result: dict, lang: str = "en") -> go.Figure:
    fig = make_subplots(1, 2, subplot_titles=(chart_text(lang, "loss_time"),
                                              chart_text(lang, "loss_updates")))
    for P, cv in result["curves"].items():
        loss = [min(v, 10.0) for v in cv["loss"]]  # diverged runs are clipped to stay on the chart
        label = chart_text(lang, "hog_workers" if P > 1 else "hog_one_worker", workers=P,
                           staleness=cv["staleness"])
        fig.add_scatter(x=cv["time"], y=loss, mode="lines", name=label, legendgroup=str(P),
                        row=1, col=1)
        fig.add_scatter(x=cv["updates"], y=loss, mode="lines", name=label, legendgroup=str(P),
                        showlegend=False, row=1, col=2)
    fig.add_hline(y=result["target"], line_dash="dot", line_color="#888")
    fig.update_yaxes(type="log", title_text=chart_text(lang, "cross_entropy_log"))
    fig.update_xaxes(title_text=chart_text(lang, "time_units"), row=1, col=1)
    fig.update_xaxes(title_text=chart_text(lang, "updates_applied"), row=1, col=2)
    fig.update_layout(height=380, margin=dict(t=60, b=40, l=60, r=20),
                      title=chart_text(lang, "hogwild_title", lr=f"{result['lr']:g}"))
    return fig


__all__ = ["data_parallel_gradients", "gradients_figure", "hogwild_simulation", "loss_after_updates",
           "hogwild_figure"]
