"""``hwsim rdu ...``: the SN40L studies from the command line (thin wrappers over
:mod:`hwsim.rdu.study` and :mod:`hwsim.rdu.capacity`).

    hwsim rdu fusion --model llama2-7b --phase decode [--batch 1] [--context 4096] [--sockets 8] [--json]
    hwsim rdu coe --experts 150 --batch 8 --tokens 20 --system sn40l-node|dgx-a100|dgx-h100 [--requests N] [--json]
    hwsim rdu capacity [--expert llama2-7b] [--dgx dgx-a100] [--json]
"""

from __future__ import annotations

import json

from .report.json_data import json_safe

__all__ = ["add_rdu_parser"]


def _rdu_overrides(pairs) -> dict:
    from .cli import typed_sets
    from .rdu.fabric import INTEGERS, parameter_names

    return typed_sets(pairs, parameter_names(), INTEGERS, what="RDU parameter")


def cmd_fusion(args) -> int:
    from .rdu.fabric import load_rdu
    from .rdu.study import fusion_study

    result = fusion_study(args.model, args.phase, args.batch, args.context, args.sockets,
                          load_rdu(args.rdu, **_rdu_overrides(args.set)))
    if args.json:
        print(json.dumps(json_safe(result), allow_nan=False))
        return 0
    print(f"{result['model']} {args.phase}, batch {args.batch}, context {args.context}, {args.sockets} sockets")
    print(f"{'plan':<24}{'kernels':>8}{'latency_ms':>12}{'busy_ms':>10}{'launch_ms':>11}{'allreduce_ms':>14}")
    for name, cost in result["plans"].items():
        print(f"{name:<24}{cost['kernels']:>8}{cost['latency_s'] * 1e3:>12.3f}{cost['busy_s'] * 1e3:>10.3f}"
              f"{cost['launch_s'] * 1e3:>11.3f}{cost['allreduce_s'] * 1e3:>14.3f}")
    print(f"fusion speedup {result['fusion_speedup']:.2f}x, hardware launch {result['hardware_launch_speedup']:.2f}x,"
          f" kernel calls {result['kernel_call_ratio']:.1f}x fewer")
    return 0


def cmd_coe(args) -> int:
    from .rdu.study import coe_study

    result = coe_study(args.experts, args.batch, args.tokens, args.system, args.requests, args.prompt,
                       args.per_device_links, args.routing, args.seed, args.expert, args.gpu_runtime)
    if args.json:
        print(json.dumps(json_safe(result), allow_nan=False))
        return 0
    if result["oom"]:
        print(f"{result['system']}: out of memory: {result['oom_reason']}")
        return 0
    print(f"{result['system']}: {result['requests']} requests over {result['experts']} experts "
          f"({result['cache_experts']} fit in HBM), batch {args.batch}, {args.tokens} tokens")
    for key in ("hbm_hit_rate", "mean_latency_s", "mean_switch_s", "mean_execute_s", "mean_router_s",
                "mean_queue_s", "p99_latency_s", "throughput_tokens_per_s"):
        print(f"  {key:<26}{result[key]:.4g}")
    return 0


def cmd_capacity(args) -> int:
    from .rdu.capacity import capacity

    result = capacity(args.expert, dgx=args.dgx)
    if args.json:
        print(json.dumps(json_safe(result), allow_nan=False))
        return 0
    for key, value in result.items():
        print(f"{key:<30}{value}")
    return 0


def add_rdu_parser(sub) -> None:
    rdu = sub.add_parser("rdu", help="SN40L-style RDU: fusion study, composition-of-experts serving, capacity")
    cmds = rdu.add_subparsers(dest="rdu_command", required=True)
    fu = cmds.add_parser("fusion", help="one decoder phase unfused, fused, fused with hardware launches")
    fu.add_argument("--model", default="llama2-7b", help="llama2-7b, llama3.1-8b or mistral-7b")
    fu.add_argument("--phase", default="decode", choices=("prefill", "decode"))
    fu.add_argument("--batch", type=int, default=1)
    fu.add_argument("--context", type=int, default=4096, help="prompt (prefill) or KV-cache (decode) tokens")
    fu.add_argument("--sockets", type=int, default=8, help="tensor-parallel sockets")
    fu.add_argument("--rdu", default="sn40l", help="RDU name (templates/rdu/) or YAML path")
    fu.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override an RDU parameter")
    fu.add_argument("--json", action="store_true", help="print one JSON object (units in keys)")
    fu.set_defaults(func=cmd_fusion)
    co = cmds.add_parser("coe", help="serve a composition of experts (simpy): switching, execution, hit rate")
    co.add_argument("--experts", type=int, default=150)
    co.add_argument("--batch", type=int, default=1, help="sequences per request")
    co.add_argument("--tokens", type=int, default=20, help="generated tokens per request")
    co.add_argument("--prompt", type=int, default=128, help="prompt tokens per request")
    co.add_argument("--system", default="sn40l-node", choices=("sn40l-node", "dgx-a100", "dgx-h100"))
    co.add_argument("--requests", type=int, default=100)
    co.add_argument("--expert", default="llama2-7b", help="the experts' architecture")
    co.add_argument("--routing", default="uniform", choices=("uniform", "zipf", "round_robin"))
    co.add_argument("--seed", type=int, default=0)
    co.add_argument("--per-device-links", action="store_true",
                    help="one slow-tier link per device (DGX: PCIe per GPU) instead of the node-wide one")
    co.add_argument("--gpu-runtime", default="serving", choices=("eager", "serving"),
                    help="DGX kernels: eager (one per op) or a serving runtime's fused kernels")
    co.add_argument("--json", action="store_true", help="print one JSON object (units in keys)")
    co.set_defaults(func=cmd_coe)
    ca = cmds.add_parser("capacity", help="experts per SN40L node and DGX nodes for the same experts")
    ca.add_argument("--expert", default="llama2-7b")
    ca.add_argument("--dgx", default="dgx-a100", choices=("dgx-a100", "dgx-h100"))
    ca.add_argument("--json", action="store_true")
    ca.set_defaults(func=cmd_capacity)
