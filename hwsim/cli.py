"""The ``hwsim`` command: a thin wrapper over the Python API.

    hwsim eval --network resnet50 --template dla --set pes=1024 [--csv out.csv] [--json]
    hwsim chip chip.yaml [--simulate] [--gantt out.png] [--json] [--spec-latency-cycles N ...]
    hwsim sweep spec.yaml --out results/ [--workers N | --scheduler ADDR] [--resume] [--json]
    hwsim report results/ --out reports/x/ [--json]
    hwsim rdu fusion|coe|capacity ... [--json]   (hwsim/rdu_cli.py)
    hwsim graphics --app nerf --encoding hashgrid --scaling-factor 64 --resolution 3840x2160 [--json]   (hwsim/graphics_cli.py)
    hwsim templates
    hwsim networks

Errors print one line on stderr and exit with status 2, never a traceback; an
unexpected exception (a bug in hwsim) prints one "internal error" line and exits
with status 3. The evaluation and report modules (and so pandas) are imported
inside the commands that need them, so ``hwsim templates`` starts fast.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

from .dataflow.registry import load_all_templates, load_template
from .errors import HwsimError, UsageError
from .graphics_cli import add_graphics_parser
from .rdu_cli import add_rdu_parser
from .report.json_data import json_safe
from .workload import zoo
from .workload.loaders import load_network

EXIT_ERROR = 2        # the user's input is wrong (HwsimError, OSError)
EXIT_INTERNAL = 3     # hwsim is wrong: please report


def typed_sets(pairs: list[str], names: list[str], integers=(), texts=(), what: str = "parameter") -> dict:
    """``--set`` pairs of a sectioned data file's parameters, typed: an integer, a name
    (``texts``) or a float; an unknown name or a non-number is a UsageError."""
    out: dict = {}
    for key, text in parse_sets(pairs).items():
        if key not in names:
            raise UsageError(f"field '--set' = {key}={text}: unknown {what}; valid: {names}")
        if key in texts:
            out[key] = text
            continue
        try:
            out[key] = int(text) if key in integers else float(text)
        except ValueError:
            raise UsageError(f"field '--set' = {key}={text}: expected a number") from None
    return out


def parse_sets(pairs: list[str]) -> dict[str, str]:
    """``["pes=1024", ...]`` as ``{"pes": "1024"}``; a parameter given twice is an
    error (keeping the last would silently drop the first)."""
    overrides: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise UsageError(f"field '--set' = {pair!r}: expected NAME=VALUE, e.g. --set pes=1024")
        if key in overrides:
            raise UsageError(f"field '--set' = {pair!r}: parameter '{key}' is already set "
                             f"({key}={overrides[key]}); give each parameter once")
        overrides[key] = value
    return overrides


def cmd_eval(args) -> int:
    from .evaluate import evaluate
    from .report.text import format_report

    network = load_network(args.network, batch=args.batch, bits=args.bits, skip_unsupported=args.skip_unsupported)
    accelerator = load_template(args.template, **parse_sets(args.set))
    report = evaluate(network, accelerator)
    print(json.dumps(report_json(report), allow_nan=False) if args.json else format_report(report))
    if args.csv:
        write_csv(report.columns, args.csv)
        print(f"per-layer table written to {args.csv}", file=sys.stderr if args.json else sys.stdout)
    return 0


def write_csv(columns, path) -> None:
    """The per-layer table as CSV (the csv module: no pandas for one table)."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(zip(*(json_safe(v) for v in columns.values())))


def report_json(report) -> dict:
    """A CostReport as one JSON-ready object: units are in the keys, numpy values
    become Python ones, and inf / NaN (an unbounded or undefined number) become null."""
    accelerator = report.accelerator
    return json_safe({
        "network": report.network,
        "template": accelerator.name,
        "dataflow": accelerator.dataflow,
        "parameters": dict(accelerator.params),
        "totals": report.total.as_dict(),
        "layers": [dict(zip(report.columns, row)) for row in zip(*report.columns.values())],
    })


SPEC_OPTIONS = (("latency_cycles", "N"), ("latency_s", "S"), ("energy_pj", "PJ"), ("area_mm2", "MM2"),
                ("edp_pj_s", "PJ_S"))


def cmd_chip(args) -> int:
    from .system.chip_yaml import load_chip

    specs = {key: getattr(args, f"spec_{key}") for key, _ in SPEC_OPTIONS}
    chip = load_chip(args.chip, **{k: v for k, v in specs.items() if v is not None})
    if args.simulate or args.gantt:
        from .system.simulate import simulate
        report = simulate(chip)
    else:
        from .system.closed_form import evaluate_chip
        report = evaluate_chip(chip)
    print(json.dumps(report.as_dict(), allow_nan=False) if args.json else report.summary())
    if args.gantt:
        from .system.gantt import write_gantt
        write_gantt(report, args.gantt)
        print(f"Gantt chart written to {args.gantt}", file=sys.stderr if args.json else sys.stdout)
    return 0


def cmd_sweep(args) -> int:
    from .sweep import run_sweep

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"field '--workers' = {args.workers}: expected an integer >= 1")
    result = run_sweep(args.spec, args.out, workers=args.workers, scheduler=args.scheduler, executor=args.executor,
                       resume=args.resume)
    if args.json:
        print(json.dumps(json_safe(result.as_dict()), allow_nan=False))
        return 0
    print(f"{result.name}: {result.points:,} points ({result.feasible:,} feasible rows of {result.rows:,}) in "
          f"{result.out}; {result.points_run:,} run in {result.seconds:.1f} s ({result.points_per_s:,.0f} points/s, "
          f"{result.executor}, {result.workers} worker(s)); {result.chunks_skipped} chunk(s) resumed")
    for best in result.best:
        params = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in best["parameters"].items())
        where = f"on {best['network']}" if best.get("network") else "of the chip"
        print(f"  best {best['objective']} ({best['sense']}) {where}: {best['value']:.6g} at point "
              f"{best['point']} ({params})")
    return 0


def cmd_report(args) -> int:
    from .report.sweep_report import write_sweep_report

    objectives = [o.strip() for o in args.objectives.split(",") if o.strip()] if args.objectives else None
    paths = write_sweep_report(str(args.results), str(args.out), objectives=objectives, title=args.title)
    shown = {k: ([str(p) for p in v] if isinstance(v, (list, tuple)) else str(v) if isinstance(v, os.PathLike) else v)
             for k, v in paths.items()}
    if args.json:
        print(json.dumps(json_safe(shown), allow_nan=False, default=str))
    else:
        for key, value in shown.items():
            print(f"{key}: {', '.join(value) if isinstance(value, list) else value}")
    return 0


def cmd_templates(args) -> int:
    from .report.text import format_templates

    accelerators, errors = load_all_templates()
    for error in errors:
        print(f"hwsim: warning: {one_line(error)}", file=sys.stderr)
    docs = {acc.name: {k: p.doc for k, p in acc.declared.items()} for acc in accelerators}
    print(format_templates(accelerators, docs))
    return 0


def cmd_networks(args) -> int:
    for name in zoo.network_names():
        net = zoo.get_network(name)
        print(f"{name:<14} {len(net):>4} layers  {net.macs / 1e9:8.3f} G MACs  {net.weight_elems / 1e6:8.2f} M weights")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hwsim", description="Hardware-cost models of DNN accelerators.")
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("eval", help="cost of a network on a template")
    ev.add_argument("--network", default="resnet50",
                    help="zoo name (see 'hwsim networks'), an ONNX model (.onnx), a MAESTRO layer CSV or a SCALE-Sim topology CSV "
                         "(convolution or GEMM)")
    ev.add_argument("--template", default="dla", help="template name (see 'hwsim templates') or a YAML path")
    ev.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="override a template parameter (repeatable, once per parameter)")
    ev.add_argument("--batch", type=int, default=None, help="batch size (zoo networks)")
    ev.add_argument("--bits", type=int, default=None, help="precision in bits of every tensor")
    ev.add_argument("--skip-unsupported", action="store_true",
                    help="ONNX models: cost ops hwsim does not model as zero (listed in a warning) instead of failing")
    ev.add_argument("--csv", type=Path, help="write the per-layer table as CSV")
    ev.add_argument("--json", action="store_true",
                    help="print one JSON object (network, template, parameters, totals, layers) instead of tables")
    ev.set_defaults(func=cmd_eval)
    ch = sub.add_parser("chip", help="cost of a heterogeneous chip (YAML: sub-accelerators, budget, DRAM, tasks)")
    ch.add_argument("chip", type=Path, help="chip YAML file (e.g. specs/chips/dla_shi.yaml)")
    ch.add_argument("--simulate", action="store_true",
                    help="simulate with simpy (shared-DRAM contention, layer-level mapping) instead of the closed form")
    ch.add_argument("--gantt", type=Path, metavar="OUT.png", help="write a Gantt chart of the simulated schedule "
                    "(implies --simulate)")
    ch.add_argument("--json", action="store_true", help="print the report as one JSON object (units in keys)")
    for key, metavar in SPEC_OPTIONS:
        ch.add_argument(f"--spec-{key.replace('_', '-')}", dest=f"spec_{key}", type=float, metavar=metavar,
                        help=f"spec: {key} <= {metavar} (overrides the file's specs.{key})")
    ch.set_defaults(func=cmd_chip)
    sw = sub.add_parser("sweep", help="design-space sweep of a template (YAML spec) into a Parquet dataset")
    sw.add_argument("spec", type=Path, help="sweep spec YAML (e.g. specs/sweeps/dla_grid.yaml)")
    sw.add_argument("--out", type=Path, required=True, help="output folder: part-*.parquet and _sweep.json")
    where = sw.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None, metavar="N",
                       help="local worker processes (default: all cores above 100,000 points, else serial); "
                            "with --executor dask, the LocalCluster's workers")
    where.add_argument("--scheduler", default=None, metavar="ADDR",
                       help="run on an existing Dask cluster, e.g. tcp://host:8786 (needs hwsim[dask])")
    sw.add_argument("--executor", choices=("serial", "processes", "dask"), default=None,
                    help="force an executor (dask without --scheduler: an embedded LocalCluster)")
    sw.add_argument("--resume", action="store_true", help="continue the sweep in --out, skipping written chunks")
    sw.add_argument("--json", action="store_true", help="print one JSON object (points, feasible, seconds, "
                    "points_per_s, out, best per objective)")
    sw.set_defaults(func=cmd_sweep)
    rp = sub.add_parser("report", help="Markdown + HTML report with plots of a sweep's results")
    rp.add_argument("results", type=Path, help="a sweep's output folder or a Parquet file")
    rp.add_argument("--out", type=Path, required=True, help="report folder (report.md, report.html, PNGs)")
    rp.add_argument("--objectives", default=None, metavar="A,B,..", help="objective columns (default: the sweep's)")
    rp.add_argument("--title", default=None, help="report title")
    rp.add_argument("--json", action="store_true", help="print the written paths as one JSON object")
    rp.set_defaults(func=cmd_report)
    add_rdu_parser(sub)
    add_graphics_parser(sub)
    sub.add_parser("templates", help="list templates, their parameters and defaults").set_defaults(func=cmd_templates)
    sub.add_parser("networks", help="list the model zoo").set_defaults(func=cmd_networks)
    return parser


def one_line(text) -> str:
    """A message on one line, whatever it contains."""
    return " ".join(line.strip() for line in str(text).splitlines() if line.strip())


def run_command(args, prog: str = "hwsim", interrupted: str = "interrupted") -> int:
    """Run ``args.func(args)`` with the command-line error policy (shared by ``nasaic``): a
    user error prints one line and exits 2, a bug one line and 3, never a traceback."""
    try:
        return args.func(args)
    except BrokenPipeError:            # the reader went away (``hwsim networks | head``): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (HwsimError, OSError) as exc:
        print(f"{prog}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{prog}: {interrupted}", file=sys.stderr)
        return 130
    except Exception as exc:    # noqa: BLE001 - the last resort: a bug, reported in one line
        print(f"{prog}: internal error ({type(exc).__name__}: {one_line(exc)}), please report", file=sys.stderr)
        return EXIT_INTERNAL


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
