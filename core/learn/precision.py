"""Mixed precision: what fp32, bf16 and fp16 can hold, and what rounding does to a long sum.

Every figure comes from torch itself: ``torch.finfo`` for the formats, and a running sum kept
in each dtype, element by element, against the float64 sum of the same values.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import torch

from ._shared import chart_text, single_threaded

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
_LAYOUT = {"fp32": (8, 23), "bf16": (8, 7), "fp16": (5, 10)}  # (exponent bits, mantissa bits)


def float_formats() -> list[dict]:
    """One row per format: bit layout, largest and smallest normal value, machine epsilon."""
    rows = []
    for name, dtype in DTYPES.items():
        info = torch.finfo(dtype)
        exp_bits, man_bits = _LAYOUT[name]
        rows.append({"format": name, "bits": info.bits, "exponent_bits": exp_bits,
                     "mantissa_bits": man_bits, "max": float(info.max),
                     "smallest_normal": float(info.smallest_normal), "eps": float(info.eps),
                     "decimal_digits": round(math.log10(2 ** (man_bits + 1)), 1)})
    return rows


def round_to_formats(value: float) -> dict[str, float]:
    """``value`` stored in each format (inf when it overflows), and its relative error."""
    out = {}
    for name, dtype in DTYPES.items():
        stored = float(torch.tensor(value, dtype=torch.float64).to(dtype).double())
        out[name] = stored
    return out


@single_threaded
def long_sum(n_terms: int = 10_000, term: str = "0.1", seed: int = 0, n_points: int = 60) -> dict:
    """Add ``n_terms`` numbers one at a time, the running total kept in each dtype.

    ``term``: "0.1" (the same value every time) or "uniform" (seeded values in [0, 1)). The
    terms are first rounded to each dtype, so the only error measured is the accumulation's.
    Returns ``counts`` (n_points,) log-spaced term counts, per dtype ``relative_error``
    (n_points,) of the running sum against float64, and ``final`` totals and errors.
    """
    if term == "0.1":
        values = np.full(n_terms, 0.1)
    elif term == "uniform":
        values = np.random.default_rng(seed).random(n_terms)
    else:
        raise ValueError(f"term must be '0.1' or 'uniform'; got {term!r}")
    counts = np.unique(np.geomspace(1, n_terms, n_points).astype(int))
    result = {"counts": counts, "n_terms": n_terms, "term": term, "dtypes": {}}
    for name, dtype in DTYPES.items():
        x = torch.from_numpy(values).to(dtype)                  # (n,) terms in this dtype
        exact = np.cumsum(x.double().numpy())                   # float64 sums of the same terms
        total = torch.zeros((), dtype=dtype)
        running = np.empty(n_terms)
        for i in range(n_terms):                                # sequential: one rounding per add
            total = total + x[i]
            running[i] = float(total)
        rel = np.abs(running - exact) / np.abs(exact).clip(1e-30)
        result["dtypes"][name] = {
            "relative_error": rel[counts - 1], "final_sum": float(running[-1]),
            "exact_sum": float(exact[-1]), "final_relative_error": float(rel[-1]),
            # torch.sum accumulates in float32 internally (as mixed-precision training does)
            "torch_sum_relative_error": float(abs(float(x.sum()) - exact[-1]) / abs(exact[-1]))}
    return result


def long_sum_figure(result: dict, lang: str = "en") -> go.Figure:
    colors = {"fp32": "#17A398", "bf16": "#E4572E", "fp16": "#7B5EA7"}
    fig = go.Figure()
    for name, r in result["dtypes"].items():
        fig.add_scatter(x=result["counts"], y=np.maximum(r["relative_error"], 1e-10), mode="lines",
                        name=chart_text(lang, "sum_legend", format=name, final=f"{r['final_sum']:.6g}",
                                        exact=f"{r['exact_sum']:.6g}"),
                        line=dict(color=colors[name]))
    term = chart_text(lang, "sum_term_constant" if result["term"] == "0.1" else "sum_term_uniform")
    fig.update_layout(title=chart_text(lang, "sum_title", n=f"{result['n_terms']:,}", term=term),
                      xaxis_title=chart_text(lang, "terms_added"),
                      yaxis_title=chart_text(lang, "sum_error_axis"),
                      xaxis_type="log", yaxis_type="log", height=380,
                      margin=dict(t=60, b=40, l=60, r=20), legend=dict(x=0.01, y=0.99))
    return fig


__all__ = ["DTYPES", "float_formats", "round_to_formats", "long_sum", "long_sum_figure"]
