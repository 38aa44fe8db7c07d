"""Quick comparison, cold: the engine's wall time by phase, against the same library calls made directly.

    .venv/bin/python benchmarks/quickstart.py [--rounds 2]

The direct baseline does the same work with plain scikit-learn, torch, safetensors and skops
calls: the same split and scaling, the same network, optimiser, epochs and validation slice, the
same estimators, and the same timing rules (warm-up, repeats, seconds, batch). The ratio of the
two totals is the engine's overhead. Rounds alternate engine and direct so that machine noise
hits both alike; no cache is shared between rounds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import skops.io as sio
import torch
from safetensors.torch import save as safetensors_bytes
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import load_spec, run  # noqa: E402
from core.models import make_estimator  # noqa: E402
from core.specs import MeasureSpec  # noqa: E402

SPEC = Path(__file__).resolve().parents[1] / "examples" / "quickstart.yaml"


def _timed(fn, m: MeasureSpec) -> list[float]:
    for i in range(m.warmup):
        fn(i)
    times, start, i = [], time.perf_counter(), 0
    while True:
        t0 = time.perf_counter()
        fn(i)
        t1 = time.perf_counter()
        times.append(t1 - t0)
        i += 1
        if (i >= m.min_repeats and t1 - start >= m.min_seconds) or t1 - start >= m.max_seconds:
            return times


def direct(spec) -> dict[str, float]:
    """The quickstart done by hand with the libraries; returns seconds per phase."""
    m, phases = spec.measure, {"data": 0.0, "train": 0.0, "measure": 0.0}
    t0 = time.perf_counter()
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=spec.dataset.test_fraction,
                                              random_state=spec.dataset.seed, stratify=y)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr).astype(np.float32), scaler.transform(X_te).astype(np.float32)
    phases["data"] = time.perf_counter() - t0

    predictors = []
    for cand in spec.candidates:
        t0 = time.perf_counter()
        if cand.model.is_neural:
            tr = cand.train
            torch.manual_seed(tr.seed)
            widths = (X_tr.shape[1], *cand.model.hidden)
            layers = []
            for a, b in zip(widths[:-1], widths[1:]):
                layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
            net = torch.nn.Sequential(*layers, torch.nn.Linear(widths[-1], 10))
            order = np.random.default_rng(tr.seed).permutation(len(y_tr))
            n_val = round(len(y_tr) * tr.validation_fraction)
            Xt, yt = torch.from_numpy(X_tr[order[n_val:]]), torch.from_numpy(y_tr[order[n_val:]])
            Xv, yv = torch.from_numpy(X_tr[order[:n_val]]), torch.from_numpy(y_tr[order[:n_val]])
            opt = torch.optim.Adam(net.parameters(), lr=tr.lr)
            gen = torch.Generator().manual_seed(tr.seed)
            for _ in range(tr.epochs):
                net.train()
                perm = torch.randperm(len(yt), generator=gen)
                for i in range(0, len(yt), tr.batch_size):
                    idx = perm[i:i + tr.batch_size]
                    loss = torch.nn.functional.cross_entropy(net(Xt[idx]), yt[idx])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                net.eval()
                with torch.inference_mode():
                    (net(Xv).argmax(1) == yv).float().mean().item()
            net.eval()

            def predict(a, net=net):
                with torch.inference_mode():
                    return net(torch.from_numpy(a)).argmax(1).numpy()

            def size(net=net):
                return len(safetensors_bytes({k: v.contiguous() for k, v in net.state_dict().items()}))
        else:
            est = make_estimator(cand.model, cand.train.seed).fit(X_tr, y_tr)
            predict = est.predict

            def size(est=est):
                return len(sio.dumps(est))
        phases["train"] += time.perf_counter() - t0
        predictors.append((predict, size))

    t0 = time.perf_counter()
    torch.set_num_threads(m.n_threads)
    batch = np.ascontiguousarray(np.tile(X_te, (-(-m.batch_size // len(X_te)), 1))[:m.batch_size])
    for predict, size in predictors:
        pred = predict(X_te)
        accuracy_score(y_te, pred), f1_score(y_te, pred, average="macro")
        single = _timed(lambda i: predict(X_te[i % len(X_te):i % len(X_te) + 1]), m)
        _timed(lambda i: predict(batch), m)
        np.percentile(single, [50, 95]), size()
    phases["measure"] = time.perf_counter() - t0
    phases["total"] = sum(phases.values())
    return phases


def engine(spec) -> dict[str, float]:
    t0 = time.perf_counter()
    result = run(spec)  # a fresh ModelCache: nothing reused
    total = time.perf_counter() - t0
    phases = {k: result.timings[k] for k in ("data", "train", "measure")}
    phases["compress"] = result.timings["compress"]
    phases["overhead"] = total - sum(phases.values())
    phases["total"] = total
    mlp = next(r for r in result.results if r.family == "large")
    phases["mlp_accuracy"] = mlp.metrics.accuracy
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    spec = load_spec(SPEC)
    print(f"spec: {SPEC.name}: {', '.join(c.name for c in spec.candidates)}; "
          f"measure: {spec.measure.n_threads} threads, warm-up {spec.measure.warmup}, "
          f">= {spec.measure.min_repeats} calls and >= {spec.measure.min_seconds} s per figure")
    engine_runs, direct_runs = [], []
    for r in range(args.rounds):
        e, d = engine(spec), direct(spec)
        engine_runs.append(e)
        direct_runs.append(d)
        print(f"round {r + 1}: engine {e['total']:.2f} s (data {e['data']:.2f}, train {e['train']:.2f}, "
              f"measure {e['measure']:.2f}, overhead {e['overhead']:.2f}); direct {d['total']:.2f} s "
              f"(data {d['data']:.2f}, train {d['train']:.2f}, measure {d['measure']:.2f}); "
              f"MLP accuracy {e['mlp_accuracy']:.2%}")
    e_total = statistics.median(x["total"] for x in engine_runs)
    d_total = statistics.median(x["total"] for x in direct_runs)
    ratio = e_total / d_total
    print(f"median engine {e_total:.2f} s, direct library calls {d_total:.2f} s: "
          f"overhead ratio {ratio:.2f}x (target <= 1.3x: {'met' if ratio <= 1.3 else 'NOT met'}); "
          f"engine run {'within' if e_total <= 20 else 'OVER'} the 20 s budget")


if __name__ == "__main__":
    main()
