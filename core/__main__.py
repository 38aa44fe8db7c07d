"""Command line: the same runs as the dashboard, without a browser.

    python -m core run examples/quickstart.yaml --out out/
    python -m core runs list
    python -m core report RUN_ID... --out report.html
    python -m core import model.onnx --dataset digits

Runs are kept in the store of the data directory: --home, else $TRADEOFF_LAB_HOME, else
~/.tradeoff-lab.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from .data import DataError
from .experiment import ExperimentResult, run
from .paths import DataDirError
from .specfile import load_spec
from .specs import BUILTIN_DATASETS
from .store import RunStore


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

    store = _store(args)
    run_id = store.create_run(spec.to_dict(), name=args.name, status="running", tags=tuple(args.tag))
    record = store.progress_writer(run_id)

    def progress_and_record(fraction: float, message: str) -> None:
        progress(fraction, message)
        record(fraction, message)

    try:
        result = run(spec, on_progress=progress_and_record)
    except BaseException as exc:  # recorded, then re-raised: the run must not stay "running"
        status = "cancelled" if isinstance(exc, KeyboardInterrupt) else "failed"
        store.set_status(run_id, status, error=str(exc) or type(exc).__name__)
        raise
    store.save_result(run_id, result)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(result.to_dict(), indent=2, default=str))
    if hasattr(result, "table"):  # language-model runs carry bits per character
        print(result.table())
    else:
        _print_table(result)
    if args.out:
        print(f"wrote {out / 'results.json'}")
    print(f"stored run {run_id} in {store.home}")
    failed = [r for r in result.results if r.status == "failed"]
    return 1 if failed else 0


# --- run store, reports, import -------------------------------------------------------------


def _store(args: argparse.Namespace) -> RunStore:
    return RunStore(getattr(args, "home", None))


def _cmd_runs_list(args: argparse.Namespace) -> int:
    runs = _store(args).list_runs(dataset=args.dataset, family=args.family, model=args.model,
                                  technique=args.technique, tag=args.tag, status=args.status,
                                  since=args.since, until=args.until, limit=args.limit)
    if args.json:
        print(json.dumps([r.__dict__ for r in runs], indent=2))
        return 0
    header = f"{'id':<10}  {'created (UTC)':<16}  {'status':<11}  {'dataset':<13} {'n':>3} {'best acc':>8}  name"
    print(header)
    print("-" * len(header))
    for r in runs:
        best = f"{r.best_accuracy:.2%}" if r.best_accuracy is not None else ""
        status = f"{r.status} {r.progress:.0%}" if r.active else r.status
        tags = f"  [{', '.join(r.tags)}]" if r.tags else ""
        print(f"{r.id:<10}  {r.created_at[:16].replace('T', ' '):<16}  {status:<11}  "
              f"{r.dataset[:13]:<13} {r.n_candidates:>3} {best:>8}  {r.name}{tags}")
    return 0


def _cmd_runs_show(args: argparse.Namespace) -> int:
    from .export import metrics_rows

    run_ = _store(args).get_run(args.run_id)
    s = run_.summary
    print(f"{s.id}  {s.name}  [{s.status}]  {s.dataset}  created {s.created_at}")
    for row in metrics_rows([run_.to_dict()]):
        if row.get("accuracy") is None:
            print(f"  {row['name']:<28} {row.get('status')}: {row.get('error')}")
        else:
            print(f"  {row['name']:<28} {row['accuracy']:>8.2%} {row['latency_ms_p50']:>9.3f} ms "
                  f"{row['size_bytes'] / 1024:>9.1f} KB {row['n_params']:>11,} params")
    for a in run_.artifacts:
        print(f"  artifact {a.idx}/{a.filename}: {a.size_bytes:,} bytes sha256 {a.sha256[:16]}… {a.path}")
    return 0


def _cmd_runs_delete(args: argparse.Namespace) -> int:
    _store(args).delete(args.run_id)
    print(f"deleted run {args.run_id}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .export import html_report, metrics_csv, metrics_json

    store = _store(args)
    runs = [store.get_run(run_id).to_dict() for run_id in args.run_ids]
    out = Path(args.out)
    writers = {".html": lambda: html_report(runs, args.title), ".htm": lambda: html_report(runs, args.title),
               ".csv": lambda: metrics_csv(runs), ".json": lambda: metrics_json(runs)}
    if out.suffix.lower() not in writers:
        raise ValueError(f"--out must end in .html, .csv or .json; got {out.name!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(writers[out.suffix.lower()](), encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size:,} bytes, {len(runs)} run(s))")
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from .artifacts import UntrustedTypesError, evaluate_import, load_model_files, sniff
    from .specs import DatasetSpec, MeasureSpec

    path = Path(args.file)
    blobs = [path.read_bytes()]
    arch = Path(args.arch) if args.arch else path.with_name("architecture.json")
    if sniff(blobs[0]) == "safetensors" and arch.is_file():
        blobs.append(arch.read_bytes())
    if args.dataset in BUILTIN_DATASETS:
        dataset = DatasetSpec(args.dataset, seed=args.seed, test_fraction=args.test_fraction)
    elif args.dataset.lower().endswith(".csv"):
        dataset = DatasetSpec("csv", csv_path=str(Path(args.dataset).resolve()), target=args.target,
                              seed=args.seed, test_fraction=args.test_fraction)
    else:
        raise ValueError(f"--dataset must be one of {', '.join(BUILTIN_DATASETS)} or a .csv file; "
                         f"got {args.dataset!r}")
    try:
        imported = load_model_files(blobs, approved_types=args.trust, n_threads=args.threads)
    except UntrustedTypesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("To approve them, repeat the command with " + " ".join(f"--trust {t}" for t in exc.types),
              file=sys.stderr)
        return 2
    result = evaluate_import(imported, dataset, MeasureSpec(n_threads=args.threads),
                             name=args.name or f"imported {imported.format}")
    store = _store(args)
    run_id = store.record(result, name=args.name or f"import: {imported.description} on {dataset.name}",
                          kind="import")
    m = result.results[0].metrics
    print(f"{imported.description}: accuracy {m.accuracy:.2%}, latency p50 {m.latency_ms_p50:.3f} ms, "
          f"size {m.size_bytes:,} bytes, {m.n_params:,} parameters")
    print(f"stored run {run_id} in {store.home}")
    return 0


def _add_store_commands(sub, common: argparse.ArgumentParser) -> None:
    p_runs = sub.add_parser("runs", parents=[common], help="list, show or delete stored runs")
    runs_sub = p_runs.add_subparsers(dest="runs_command", required=True)
    p_list = runs_sub.add_parser("list", parents=[common], help="stored runs, newest first")
    for flag in ("dataset", "family", "model", "technique", "tag", "status"):
        p_list.add_argument(f"--{flag}", help=f"only runs with this {flag}")
    p_list.add_argument("--since", help="created on or after this date (YYYY-MM-DD, UTC)")
    p_list.add_argument("--until", help="created on or before this date (YYYY-MM-DD, UTC)")
    p_list.add_argument("--limit", type=int, default=50)
    p_list.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p_list.set_defaults(handler=_cmd_runs_list)
    p_show = runs_sub.add_parser("show", parents=[common], help="one run's figures and artifacts")
    p_show.add_argument("run_id")
    p_show.set_defaults(handler=_cmd_runs_show)
    p_del = runs_sub.add_parser("delete", parents=[common], help="delete a run and its artifacts")
    p_del.add_argument("run_id")
    p_del.set_defaults(handler=_cmd_runs_delete)

    p_report = sub.add_parser("report", parents=[common],
                              help="write a report of stored runs: .html (self-contained), .csv or .json")
    p_report.add_argument("run_ids", nargs="+", metavar="RUN_ID")
    p_report.add_argument("--out", required=True, help="report.html, metrics.csv or metrics.json")
    p_report.add_argument("--title", default="Tradeoff Lab report")
    p_report.set_defaults(handler=_cmd_report)

    p_import = sub.add_parser("import", parents=[common],
                              help="evaluate a model file (ONNX, skops, or safetensors + architecture "
                                   "JSON) on a dataset and store it as a run; pickles are refused")
    p_import.add_argument("file")
    p_import.add_argument("--dataset", required=True, help="a built-in dataset name or a .csv file")
    p_import.add_argument("--arch", help="architecture JSON for safetensors weights "
                                         "(default: architecture.json beside the file)")
    p_import.add_argument("--target", help="target column of a CSV dataset (default: the last)")
    p_import.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    p_import.add_argument("--test-fraction", type=float, default=0.25)
    p_import.add_argument("--trust", action="append", default=[], metavar="TYPE",
                          help="approve one type a skops file needs (repeatable)")
    p_import.add_argument("--threads", type=int, default=2, help="threads while measuring")
    p_import.add_argument("--name", help="name of the stored run")
    p_import.set_defaults(handler=_cmd_import)


def main(argv: list[str] | None = None) -> int:
    # --home is accepted before or after the subcommand.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--home", default=argparse.SUPPRESS,
                        help="data directory (default: $TRADEOFF_LAB_HOME or ~/.tradeoff-lab)")
    parser = argparse.ArgumentParser(prog="python -m core", description="Tradeoff Lab engine",
                                     parents=[common])
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", parents=[common],
                           help="run an experiment spec (YAML), store it and print its run id")
    p_run.add_argument("spec", help="path to a YAML spec, e.g. examples/quickstart.yaml")
    p_run.add_argument("--out", help="also write results.json into this directory")
    p_run.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p_run.add_argument("--name", help="name of the stored run (default: dataset and models)")
    p_run.add_argument("--tag", action="append", default=[], help="tag the stored run (repeatable)")
    p_run.set_defaults(handler=_cmd_run)
    _add_store_commands(sub, common)
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, DataError) as exc:  # bad spec or bad data: one line, non-zero exit
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyError as exc:  # an unknown run id
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    except DataDirError as exc:  # read-only, full, not a folder: the message says what to do
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except OSError as exc:  # e.g. --out in a read-only folder or on a full disk
        where = f" {exc.filename}" if exc.filename else ""
        print(f"error: could not use{where}: {exc.strerror or exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    warnings.filterwarnings("ignore", category=UserWarning, module="torch")
    sys.exit(main())
