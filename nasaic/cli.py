"""The ``nasaic`` command: a thin wrapper over :mod:`nasaic.workflow`.

    nasaic search --spec specs/w1.yaml --out runs/w1 [--resume] [--controller C] [--episodes N] [--seed K]
    nasaic optimum --spec specs/w1.yaml [--json]
    nasaic report runs/w1
    nasaic compare --spec specs/w2.yaml --out runs/w2-compare [--seeds 5] [--episodes 500]
    nasaic demo [--out nasaic-demo]

Errors print one line on stderr and exit with status 2 (3 for an internal error), as ``hwsim``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from hwsim.cli import run_command
from hwsim.report.json_data import json_safe

from .spec import CONTROLLERS, load_spec, spec_to_dict


def _spec(args):
    """The spec file with the command line's overrides, validated again as a whole."""
    spec = load_spec(args.spec)
    data = spec_to_dict(spec)
    overrides = {key: getattr(args, key) for key in ("controller", "episodes", "seed")
                 if getattr(args, key, None) is not None}
    for key, value in overrides.items():
        (data if key == "seed" else data["search"])[key] = value
    origin = " ".join([spec.source] + [f"--{key} {value}" for key, value in overrides.items()])
    return replace(load_spec(data, origin=origin), source=spec.source)


def _print(args, summary: dict, text: str) -> None:
    print(json.dumps(json_safe(summary), allow_nan=False) if args.json else text)


def _summary_text(best: dict) -> str:
    if "latency_cycles" not in best:
        return f"{best.get('spec')}: {best.get('reason', 'no design')}"
    state = "meets every spec" if best["meets_specs"] else "no design meets every spec; closest:"
    lines = [f"{best['spec']}: best design {state} (objective accuracy {best['objective_pct']:.3f} %)"]
    for t in best["tasks"]:
        lines.append(f"  {t['name']}: {t['accuracy_pct']:.2f} % on {t['sub_accelerator']} ({t['accuracy_source']})")
    for s in best["sub_accelerators"]:
        lines.append(f"  {s['name']}: {s['template']} {s['pes']} PEs {s['noc_bw_bytes_per_cycle']:g} B/cycle "
                     f"-> {', '.join(s['tasks'])}")
    lines.append(f"  latency_cycles {best['latency_cycles']:.4g}  energy_nj {best['energy_nj']:.4g}  "
                 f"area_mm2 {best['area_mm2']:.4g}")
    if best.get("misses_by_pct"):
        lines.append("  misses: " + ", ".join(f"{k} by {v:.1f} %" for k, v in best["misses_by_pct"].items()))
    if best.get("report"):
        lines.append(f"report: {best['report']}")
    return "\n".join(lines)


def cmd_search(args) -> int:
    from .workflow import search
    best = search(_spec(args), args.out, resume=args.resume, progress=not args.json)
    _print(args, best, _summary_text(best))
    return 0


def cmd_optimum(args) -> int:
    from .workflow import optimum
    data = optimum(_spec(args))
    text = (f"exact optimum ({data['over']}): objective accuracy {data['objective_pct']:.3f} %, "
            f"latency_cycles {data['latency_cycles']:.4g}, energy_nj {data['energy_nj']:.4g}, "
            f"area_mm2 {data['area_mm2']:.4g} ({data['chips_considered']:,} chips, {data['seconds']:.1f} s)"
            if data["status"] == "optimal" else f"no design meets the specs: {data['reason']}")
    _print(args, data, text)
    return 0


def cmd_report(args) -> int:
    from .workflow import report
    path = report(args.folder)
    _print(args, {"report": str(path)}, f"report: {path}")
    return 0


def cmd_compare(args) -> int:
    from .compare import compare
    data = compare(_spec(args), args.out, seeds=args.seeds, controllers=args.controllers, progress=not args.json)
    _print(args, data, f"comparison: {data['report']}")
    return 0


def cmd_demo(args) -> int:
    from .workflow import demo
    best = demo(args.out, progress=not args.json)
    _print(args, best, _summary_text(best))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nasaic", description="Co-search of networks and heterogeneous "
                                     "accelerators under latency / energy / area specs (NASAIC-style).")
    sub = parser.add_subparsers(dest="command", required=True)

    def spec_args(p, search_options=True):
        p.add_argument("--spec", required=True, help="a co-search spec YAML (e.g. specs/w1.yaml)")
        if search_options:
            p.add_argument("--controller", choices=CONTROLLERS, help="override search.controller")
            p.add_argument("--episodes", type=int, help="override search.episodes")
            p.add_argument("--seed", type=int, help="override the spec's seed")
        p.add_argument("--json", action="store_true", help="print one JSON object (units in keys)")

    p = sub.add_parser("search", help="run a co-search; write designs, Pareto set, best design and report")
    spec_args(p)
    p.add_argument("--out", required=True, help="output folder (checkpoints go there too)")
    p.add_argument("--resume", action="store_true", help="continue the search checkpointed in --out")
    p.set_defaults(func=cmd_search)
    p = sub.add_parser("optimum", help="the exact optimum of a spec (the ground truth)")
    spec_args(p, search_options=False)
    p.set_defaults(func=cmd_optimum)
    p = sub.add_parser("report", help="rewrite the report of a finished search folder")
    p.add_argument("folder")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("compare", help="every controller over several seeds: best accuracy and regret")
    spec_args(p)
    p.add_argument("--out", required=True)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--controllers", nargs="+", default=["rl", "evolution", "hybrid", "random"],
                   choices=[c for c in CONTROLLERS if c != "successive"])
    p.set_defaults(func=cmd_compare)
    p = sub.add_parser("demo", help="a short co-search on built-in defaults that writes a report")
    p.add_argument("--out", default="nasaic-demo")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser().parse_args(argv), "nasaic", "interrupted (resume with --resume)")


if __name__ == "__main__":
    sys.exit(main())
