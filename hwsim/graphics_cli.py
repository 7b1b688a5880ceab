"""``hwsim graphics``: one app and encoding on the RTX 3090 baseline and with an NGPC
(a thin wrapper over :mod:`hwsim.graphics.gpu_baseline` and :mod:`hwsim.graphics.ngpc`).

    hwsim graphics --app nerf --encoding multires_hashgrid --scaling-factor 64 --resolution 3840x2160 [--json]
"""

from __future__ import annotations

import json

from .report.json_data import json_safe

__all__ = ["add_graphics_parser"]

ENCODING_ALIASES = {"hashgrid": "multires_hashgrid", "densegrid": "multires_densegrid", "lowres": "lowres_densegrid"}


def _overrides(pairs) -> dict:
    from .cli import typed_sets
    from .graphics.config import INTEGERS, TEXT, parameter_names

    return typed_sets(pairs, parameter_names(), INTEGERS, TEXT, what="NGPC parameter")


def cmd_graphics(args) -> int:
    from .graphics.config import load_ngpc
    from .graphics.gpu_baseline import gpu_frame
    from .graphics.ngpc import ngpc_frame
    from .graphics.study import parse_resolution

    config = load_ngpc(args.ngpc, **_overrides(args.set))
    enc = ENCODING_ALIASES.get(args.encoding, args.encoding)
    w, h = parse_resolution(args.resolution)
    base = gpu_frame(args.app, enc, w, h, config, args.samples_per_pixel)
    frame = ngpc_frame(args.app, enc, w, h, args.scaling_factor, config, args.samples_per_pixel)
    if args.json:
        print(json.dumps(json_safe({"gpu": base.as_dict(), "ngpc": frame.as_dict()}), allow_nan=False))
        return 0
    print(f"{args.app} / {enc} at {w}x{h}: {base.queries:,} queries per frame")
    print(f"  GPU ({config.kernels_template}): {base.frame_s * 1e3:.2f} ms = encoding {base.encoding_s * 1e3:.2f} "
          f"+ MLP {base.mlp_s * 1e3:.2f} + rest {base.rest_s * 1e3:.2f} ms ({base.fps:.1f} FPS, "
          f"encoding + MLP {base.encoding_plus_mlp_share:.1%}, {base.power_w:.0f} W)")
    print(f"  NGPC x{frame.scaling_factor}: {frame.frame_s * 1e3:.3f} ms = max(NGPC {frame.ngpc_s * 1e3:.3f}, "
          f"fused rest on GPU {frame.rest_fused_s * 1e3:.3f}) ms ({frame.fps:.1f} FPS)")
    print(f"  speedup {frame.speedup:.1f}x, bottleneck: {frame.bottleneck}; NGPC area {frame.area_mm2:.1f} mm2 "
          f"({frame.area_fraction_of_gpu:.1%} of the GPU), power {frame.power_w:.1f} W "
          f"({frame.power_fraction_of_gpu:.1%})")
    return 0


def add_graphics_parser(sub) -> None:
    g = sub.add_parser("graphics", help="neural graphics: an app on the RTX 3090 baseline and with an NGPC")
    g.add_argument("--app", default="nerf", help="nerf, nsdf, nvr or gia")
    g.add_argument("--encoding", default="multires_hashgrid",
                   help="multires_hashgrid (hashgrid), multires_densegrid (densegrid), lowres_densegrid (lowres)")
    g.add_argument("--scaling-factor", type=int, default=64, help="neural field processors (paper: 8-64)")
    g.add_argument("--resolution", default="3840x2160", help="WIDTHxHEIGHT or 1080p, 4k, 8k")
    g.add_argument("--samples-per-pixel", type=int, default=None, help="queries per pixel (default: the app's)")
    g.add_argument("--ngpc", default="ngpc", help="cluster name (templates/graphics/) or YAML path")
    g.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override an NGPC parameter")
    g.add_argument("--json", action="store_true", help="print one JSON object (units in keys)")
    g.set_defaults(func=cmd_graphics)
