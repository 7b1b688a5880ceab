"""The neural-graphics apps and input encodings of NGPC (Mubarik et al., ISCA 2023).

Every app queries a small MLP at points of its domain, each point first encoded by a
grid of trainable feature vectors (instant-ngp; Müller et al. 2022):

* ``multires_hashgrid``: ``n_levels`` grids of growing resolution; a level whose
  vertices do not fit ``2**log2_hashmap_size`` entries is hashed into them;
* ``multires_densegrid``: the same levels, every vertex stored (no hash): a hash
  grid whose table holds the finest level, so that every level is indexed densely
  (:func:`dense_grid`; one encoding class, :class:`~hwsim.graphics.encoding.HashGridEncoding`);
* ``lowres_densegrid``: two coarse dense levels of wide feature vectors.

A query at one level reads the 2^d corners of its cell (d = 3; 2 for GIA) and
interpolates them d-linearly: ``lookups_per_query = n_levels x 2^d``. The MLPs are
tiny-cuda-nn "fully fused" networks of width 64 whose output is padded to 16; NeRF
runs a density network (1 hidden layer) and a colour network (2 hidden layers) on
the density features and a 16-wide spherical-harmonics view encoding.

Settings: ``../shared/reference/ngpc.yaml`` ``instant_ngp_settings`` (names as
tiny-cuda-nn's encoding config). Queries per frame = pixels x ``samples_per_pixel``,
a per-app parameter (:data:`SAMPLES_PER_PIXEL`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import SpecError
from ..workload.graph import GraphBuilder
from ..workload.layer import matmul
from ..workload.network import Network
from .encoding import HashGridEncoding

__all__ = ["APPS", "ENCODINGS", "SAMPLES_PER_PIXEL", "App", "app", "dense_grid", "encoding", "frame_workload",
           "mlp_network"]

ENCODINGS = ("multires_hashgrid", "multires_densegrid", "lowres_densegrid")
MLP_WIDTH = 64            # ngpc.yaml instant_ngp_settings.mlp_width
OUTPUT_PAD = 16           # tiny-cuda-nn pads a fully fused MLP's output to 16
SH_DIMS = 16              # NeRF's view direction: spherical harmonics of degree 4
# Assumption (not in ngpc.yaml): samples per pixel after instant-ngp's occupancy-grid skipping
# (NeRF), sphere-tracing steps (NSDF), ray-marching steps (NVR), one query per pixel (GIA).
# NeRF's meets data in the GPU baseline (1080p frame 260 ms vs the paper's 231 ms, a test); the others'
# do not (the paper's 8k / 120 FPS claim implies a few queries per pixel for NSDF and NVR).
SAMPLES_PER_PIXEL = {"nerf": 32, "nsdf": 16, "nvr": 32, "gia": 1}


def _positive_int(where: str, field: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise SpecError(f"{where}: field '{field}' = {value!r}: expected an integer >= 1")
    return int(value)


def dense_grid(n_levels: int, n_features_per_level: int, base_resolution: int, per_level_scale: float,
               dims: int) -> HashGridEncoding:
    """A dense grid (every vertex stored) is a hash grid whose table is big enough that
    every level is indexed densely: the smallest power of two holding the finest level."""
    finest = int(np.floor(base_resolution * per_level_scale ** (n_levels - 1)))
    log2 = max(1, math.ceil(math.log2((finest + 1) ** dims)))
    return HashGridEncoding(n_levels, n_features_per_level, log2, base_resolution, per_level_scale, dims)


@dataclass(frozen=True)
class App:
    name: str
    dims: int
    mlps: tuple[tuple[int, ...], ...]        # hidden layers of each MLP (widths), input added per encoding
    extra_inputs: tuple[int, ...]            # inputs of each MLP besides the encoding (NeRF colour: density + SH)
    view_dims: int = 0                       # coordinates besides the position a query carries (NeRF: direction)
    outputs: int = 4                         # values a query returns (RGB + density; NSDF: the distance)

    @property
    def coordinates(self) -> int:
        return self.dims + self.view_dims


APPS = {
    "nerf": App("nerf", 3, ((MLP_WIDTH,), (MLP_WIDTH, MLP_WIDTH)), (0, OUTPUT_PAD + SH_DIMS), view_dims=3),
    "nsdf": App("nsdf", 3, ((MLP_WIDTH, MLP_WIDTH),), (0,), outputs=1),
    "nvr": App("nvr", 3, ((MLP_WIDTH, MLP_WIDTH),), (0,)),
    "gia": App("gia", 2, ((MLP_WIDTH, MLP_WIDTH),), (0,), outputs=3),
}


def app(name: str) -> App:
    if name not in APPS:
        raise SpecError(f"field 'app' = {name!r}: unknown app; valid: {sorted(APPS)}")
    return APPS[name]


def encoding(name: str, app_name: str = "nerf") -> HashGridEncoding:
    """The instant-ngp setting of encoding ``name`` for ``app_name`` (ngpc.yaml).
    per_level_scale: 1.382 as NeRF's config for the hash grid (assumed for every app);
    the dense grid's 8 levels span 16 -> 173 (scale (173/16)^(1/7))."""
    dims = app(app_name).dims
    if name == "multires_hashgrid":
        return HashGridEncoding(16, 2, 24 if app_name == "gia" else 19, 16, 1.382, dims)
    if name == "multires_densegrid":
        return dense_grid(8, 2, 16, (173 / 16) ** (1 / 7) * (1 + 1e-12), dims)   # floor() lands on 173
    if name == "lowres_densegrid":
        return dense_grid(2, 8, 128, 1.0, dims)
    raise SpecError(f"field 'encoding' = {name!r}: unknown encoding; valid: {list(ENCODINGS)}")


def mlp_network(app_name: str, encoding_name: str, queries: int, bits: int = 16) -> Network:
    """The app's MLPs for ``queries`` queries as matmul layers (FP16 by default)."""
    a, enc = app(app_name), encoding(encoding_name, app_name)
    _positive_int(f"app '{app_name}'", "queries", queries)
    b = GraphBuilder(f"{app_name}-{encoding_name}-mlp")
    previous = None
    for m, (hidden, extra) in enumerate(zip(a.mlps, a.extra_inputs)):
        width = (enc.output_dims if m == 0 else 0) + extra
        for i, out in enumerate((*hidden, OUTPUT_PAD)):
            previous = b.add(matmul(f"mlp{m}.fc{i}", queries, out, width, bits=bits), *([previous] if previous else []))
            width = out
    return b.network(check_shapes=False)


def frame_workload(app_name: str, encoding_name: str, width: int, height: int,
                   samples_per_pixel: int | None = None) -> dict:
    """Queries, encoding lookups / bytes / FLOPs and MLP MACs of one frame."""
    where = f"app '{app_name}'"
    pixels = _positive_int(where, "width", width) * _positive_int(where, "height", height)
    spp = SAMPLES_PER_PIXEL[app(app_name).name] if samples_per_pixel is None else _positive_int(
        where, "samples_per_pixel", samples_per_pixel)
    queries = pixels * spp
    enc = encoding(encoding_name, app_name)
    mlp = mlp_network(app_name, encoding_name, 1)
    return {"app": app_name, "encoding": encoding_name, "pixels": pixels, "samples_per_pixel": spp,
            "queries": queries, "lookups": queries * enc.lookups_per_query,
            "encoding_bytes": queries * enc.bytes_per_query(), "encoding_flops": queries * enc.flops_per_query(),
            "table_bytes": float(sum(enc.table_sizes)) * enc.n_features_per_level * 2, "mlp_macs_per_query": mlp.macs, "mlp_macs": queries * mlp.macs}
