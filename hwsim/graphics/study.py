"""The NGPC study as tables: every app x encoding x scaling factor x resolution, and
where each app stops scaling.

:func:`grid` is what the report, the benchmark and ``hwsim graphics`` read: one row
per (app, encoding, resolution, scaling factor) with the GPU baseline and the NGPC
frame side by side (units in the column names).
"""

from __future__ import annotations

import numpy as np

from ..errors import SpecError
from .apps import APPS, ENCODINGS
from .config import NgpcConfig, load_ngpc
from .gpu_baseline import gpu_frame
from .ngpc import BOTTLENECKS, ngpc_frames

__all__ = ["RESOLUTIONS", "SCALING_FACTORS", "average_speedup", "grid", "parse_resolution", "saturation_point"]

SCALING_FACTORS = (8, 16, 32, 64)                      # the paper's
RESOLUTIONS = {"1080p": (1920, 1080), "4k": (3840, 2160), "8k": (7680, 4320)}
ENGINE_BOTTLENECKS = BOTTLENECKS[:2]                   # more processors help only while these bind


def parse_resolution(text: str) -> tuple[int, int]:
    """``"3840x2160"`` or a name in :data:`RESOLUTIONS`."""
    if text in RESOLUTIONS:
        return RESOLUTIONS[text]
    w, sep, h = str(text).lower().partition("x")
    if not sep or not w.isdigit() or not h.isdigit() or int(w) < 1 or int(h) < 1:
        raise SpecError(f"field 'resolution' = {text!r}: expected WIDTHxHEIGHT (e.g. 3840x2160) or one of "
                        f"{list(RESOLUTIONS)}")
    return int(w), int(h)


def grid(config: NgpcConfig | None = None, apps=tuple(APPS), encodings=ENCODINGS,
         resolutions=("1080p", "4k", "8k"), scaling_factors=SCALING_FACTORS):
    """A DataFrame of every combination (vectorized over the scaling factors)."""
    import pandas as pd

    config = config or load_ngpc()
    rows = []
    for res in resolutions:
        w, h = parse_resolution(res)
        for a in apps:
            for e in encodings:
                base = gpu_frame(a, e, w, h, config)
                frames = ngpc_frames(a, e, w, h, scaling_factors, config)
                for i, sf in enumerate(frames["scaling_factor"]):
                    rows.append({
                        "app": a, "encoding": e, "resolution": res, "width_px": w, "height_px": h,
                        "scaling_factor": int(sf), "queries": base.queries,
                        "gpu_encoding_s": base.encoding_s, "gpu_mlp_s": base.mlp_s, "gpu_rest_s": base.rest_s,
                        "gpu_frame_s": base.frame_s, "gpu_fps": base.fps, "gpu_power_w": base.power_w,
                        "gpu_encoding_plus_mlp_share": base.encoding_plus_mlp_share,
                        "ngpc_s": float(frames["ngpc_s"][i]), "rest_fused_s": float(frames["rest_fused_s"][i]),
                        "frame_s": float(frames["frame_s"][i]), "speedup": float(frames["speedup"][i]),
                        "fps": float(frames["fps"][i]), "bottleneck": str(frames["bottleneck"][i]),
                        "ngpc_area_mm2": float(frames["area_mm2"][i]), "ngpc_power_w": float(frames["power_w"][i]),
                        "ngpc_area_fraction_of_gpu": float(frames["area_fraction_of_gpu"][i]),
                        "ngpc_power_fraction_of_gpu": float(frames["power_fraction_of_gpu"][i])})
    return pd.DataFrame(rows)


def saturation_point(app_name: str, encoding_name: str, config: NgpcConfig | None = None,
                     scaling_factors=SCALING_FACTORS) -> tuple[int | None, str | None]:
    """The first scaling factor at which the frame stops being engine-bound (more
    processors no longer help), and the resource that binds there; ``(None, None)``
    when every listed scaling factor is still engine-bound."""
    frames = ngpc_frames(app_name, encoding_name, 1920, 1080, scaling_factors, config)
    for sf, where in zip(frames["scaling_factor"], frames["bottleneck"]):
        if where not in ENGINE_BOTTLENECKS:
            return int(sf), str(where)
    return None, None


def average_speedup(config: NgpcConfig | None = None, encoding_name: str = "multires_hashgrid",
                    scaling_factors=SCALING_FACTORS) -> np.ndarray:
    """Mean end-to-end speed-up over the four apps at each scaling factor (the paper's headline)."""
    return np.mean([ngpc_frames(a, encoding_name, 1920, 1080, scaling_factors, config)["speedup"] for a in APPS],
                   axis=0)

