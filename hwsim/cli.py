"""The ``hwsim`` command: a thin wrapper over the Python API.

    hwsim eval --network resnet50 --template dla --set pes=1024 [--csv out.csv]
    hwsim templates
    hwsim networks

Errors print one line on stderr and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import HwsimError
from .evaluate import evaluate
from .hardware.accelerator import load_template, model_parameters, template_names
from .report.text import format_report, format_templates
from .workload import zoo
from .workload.loaders import load_network


def _parse_sets(pairs: list[str]) -> dict[str, str]:
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise HwsimError(f"field '--set' = {pair!r}: expected NAME=VALUE, e.g. --set pes=1024")
        overrides[key.strip()] = value.strip()
    return overrides


def cmd_eval(args) -> int:
    network = load_network(args.network, batch=args.batch, bits=args.bits)
    accelerator = load_template(args.template, **_parse_sets(args.set))
    report = evaluate(network, accelerator)
    print(format_report(report))
    if args.csv:
        report.layers.to_csv(args.csv, index=False)
        print(f"per-layer table written to {args.csv}")
    return 0


def cmd_templates(args) -> int:
    accelerators = [load_template(name) for name in template_names()]
    docs = {acc.name: {k: p.doc for k, p in model_parameters(acc.dataflow).items()} for acc in accelerators}
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
                    help="zoo name (see 'hwsim networks') or a MAESTRO layer / SCALE-Sim topology CSV")
    ev.add_argument("--template", default="dla", help="template name (see 'hwsim templates') or a YAML path")
    ev.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="override a template parameter (repeatable)")
    ev.add_argument("--batch", type=int, default=None, help="batch size (zoo networks)")
    ev.add_argument("--bits", type=int, default=None, help="precision in bits of every tensor")
    ev.add_argument("--csv", type=Path, help="write the per-layer table as CSV")
    ev.set_defaults(func=cmd_eval)
    sub.add_parser("templates", help="list templates, their parameters and defaults").set_defaults(func=cmd_templates)
    sub.add_parser("networks", help="list the model zoo").set_defaults(func=cmd_networks)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except HwsimError as exc:
        print(f"hwsim: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"hwsim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
