"""Command line: the same runs as the dashboard, without a browser.

    python -m core run examples/quickstart.yaml --out out/
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from .data import DataError
from .experiment import ExperimentResult, run
from .specfile import load_spec


def _print_table(result: ExperimentResult) -> None:
    header = f"{'name':<28} {'family':<10} {'accuracy':>8} {'p50 ms':>8} {'rows/s':>10} {'size KB':>9} {'params':>10}"
    print(header)
    print("-" * len(header))
    for r in result.results:
        if r.metrics is None:
            print(f"{r.name:<28} {r.family:<10} {r.status}: {r.error}")
            continue
        m = r.metrics
        print(f"{r.name:<28} {r.family:<10} {m.accuracy:>8.2%} {m.latency_ms_p50:>8.3f} "
              f"{m.throughput_sps:>10.0f} {m.size_bytes / 1024:>9.1f} {m.n_params:>10,}")


def _cmd_run(args: argparse.Namespace) -> int:
    spec = load_spec(Path(args.spec))

    def progress(fraction: float, message: str) -> None:
        if not args.quiet:
            print(f"[{fraction:5.1%}] {message}", file=sys.stderr)

    result = run(spec, on_progress=progress)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result.to_dict(), indent=2, default=str))
    _print_table(result)
    print(f"wrote {out / 'results.json'}")
    failed = [r for r in result.results if r.status == "failed"]
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core", description="Tradeoff Lab engine")
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="run an experiment spec (YAML) and write results.json")
    p_run.add_argument("spec", help="path to a YAML spec, e.g. examples/quickstart.yaml")
    p_run.add_argument("--out", required=True, help="directory for results.json")
    p_run.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p_run.set_defaults(handler=_cmd_run)
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, DataError) as exc:  # bad spec or bad data: one line, non-zero exit
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    warnings.filterwarnings("ignore", category=UserWarning, module="torch")
    sys.exit(main())
