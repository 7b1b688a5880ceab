"""The neural-graphics apps and input encodings of NGPC (Mubarik et al., ISCA 2023).

Every app queries a small MLP at points of its domain, each point first encoded by a
grid of trainable feature vectors (instant-ngp; Müller et al. 2022):

* ``multires_hashgrid``: ``n_levels`` grids of growing resolution; a level whose
  vertices do not fit ``2**log2_hashmap_size`` entries is hashed into them;
* ``multires_densegrid``: the same levels, every vertex stored (no hash);
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
from .encoding import PRIMES

__all__ = ["APPS", "ENCODINGS", "SAMPLES_PER_PIXEL", "App", "GridEncoding", "app", "encoding", "frame_workload",
           "mlp_network"]

ENCODINGS = ("multires_hashgrid", "multires_densegrid", "lowres_densegrid")
MLP_WIDTH = 64            # ngpc.yaml instant_ngp_settings.mlp_width
OUTPUT_PAD = 16           # tiny-cuda-nn pads a fully fused MLP's output to 16
SH_DIMS = 16              # NeRF's view direction: spherical harmonics of degree 4
# Assumption (not in ngpc.yaml): samples per pixel after instant-ngp's occupancy-grid skipping
# (NeRF), sphere-tracing steps (NSDF), ray-marching steps (NVR), one query per pixel (GIA).
# The GPU-baseline calibration (reports/neural_graphics.md, when it lands) is where they meet data.
SAMPLES_PER_PIXEL = {"nerf": 32, "nsdf": 16, "nvr": 32, "gia": 1}


def _int_field(where: str, field: str, value, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (
            high is not None and value > high):
        bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise SpecError(f"{where}: field '{field}' = {value!r}: expected an integer {bound}")
    return int(value)


def check_grid(where: str, n_levels, n_features_per_level, base_resolution, per_level_scale, dims,
               log2_hashmap_size=None) -> None:
    """Validate a multi-resolution grid's settings (shared by every grid encoding)."""
    _int_field(where, "n_levels", n_levels, 1)
    _int_field(where, "n_features_per_level", n_features_per_level, 1)
    _int_field(where, "base_resolution", base_resolution, 1)
    _int_field(where, "dims", dims, 1, len(PRIMES))
    if log2_hashmap_size is not None:
        try:
            _int_field(where, "log2_hashmap_size", log2_hashmap_size, 1, 32)
        except SpecError as exc:
            raise SpecError(f"{exc} (the table holds 2**log2_hashmap_size entries: a power of two)") from None
    b = per_level_scale
    if isinstance(b, bool) or not isinstance(b, (int, float)) or not math.isfinite(b) or b < 1:
        raise SpecError(f"{where}: field 'per_level_scale' = {b!r}: expected a finite number >= 1")


def level_resolutions(base_resolution: int, per_level_scale: float, n_levels: int) -> np.ndarray:
    """N_l = floor(N_min x b^l) for l < n_levels."""
    return np.floor(base_resolution * per_level_scale ** np.arange(n_levels)).astype(np.int64)


def _positive_int(where: str, field: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise SpecError(f"{where}: field '{field}' = {value!r}: expected an integer >= 1")
    return int(value)


@dataclass(frozen=True)
class GridEncoding:
    """A multi-resolution grid encoding; ``log2_hashmap_size=None``: dense (no hash)."""

    name: str
    n_levels: int
    n_features_per_level: int
    base_resolution: int
    per_level_scale: float
    log2_hashmap_size: int | None = None
    dims: int = 3

    def __post_init__(self):
        check_grid(f"encoding '{self.name}'", self.n_levels, self.n_features_per_level, self.base_resolution,
                   self.per_level_scale, self.dims, self.log2_hashmap_size)

    @property
    def resolutions(self) -> np.ndarray:
        return level_resolutions(self.base_resolution, self.per_level_scale, self.n_levels)

    @property
    def table_entries(self) -> np.ndarray:
        """Feature vectors stored per level: every vertex, or at most the hash table."""
        vertices = (self.resolutions.astype(float) + 1) ** self.dims
        if self.log2_hashmap_size is None:
            return vertices
        return np.minimum(vertices, 2.0 ** self.log2_hashmap_size)

    @property
    def output_dims(self) -> int:
        return self.n_levels * self.n_features_per_level

    @property
    def lookups_per_query(self) -> int:
        return self.n_levels * 2 ** self.dims

    def bytes_per_query(self, bytes_per_feature: float = 2.0) -> float:
        """Feature bytes read per query (FP16 features by default)."""
        return self.lookups_per_query * self.n_features_per_level * bytes_per_feature

    @property
    def flops_per_query(self) -> int:
        """Per level: the 2^d corner weights (d - 1 multiplies each, after the d
        fractions and their complements: 2d subtractions) and the weighted sum
        (a multiply-add per corner and feature)."""
        corners = 2 ** self.dims
        per_level = 2 * self.dims + corners * (self.dims - 1) + 2 * corners * self.n_features_per_level
        return self.n_levels * per_level

    def table_bytes(self, bytes_per_feature: float = 2.0) -> float:
        return float(self.table_entries.sum() * self.n_features_per_level * bytes_per_feature)


@dataclass(frozen=True)
class App:
    name: str
    dims: int
    mlps: tuple[tuple[int, ...], ...]        # hidden layers of each MLP (widths), input added per encoding
    extra_inputs: tuple[int, ...]            # inputs of each MLP besides the encoding (NeRF colour: density + SH)


APPS = {
    "nerf": App("nerf", 3, ((MLP_WIDTH,), (MLP_WIDTH, MLP_WIDTH)), (0, OUTPUT_PAD + SH_DIMS)),
    "nsdf": App("nsdf", 3, ((MLP_WIDTH, MLP_WIDTH),), (0,)),
    "nvr": App("nvr", 3, ((MLP_WIDTH, MLP_WIDTH),), (0,)),
    "gia": App("gia", 2, ((MLP_WIDTH, MLP_WIDTH),), (0,)),
}


def app(name: str) -> App:
    if name not in APPS:
        raise SpecError(f"field 'app' = {name!r}: unknown app; valid: {sorted(APPS)}")
    return APPS[name]


def encoding(name: str, app_name: str = "nerf") -> GridEncoding:
    """The instant-ngp setting of encoding ``name`` for ``app_name`` (ngpc.yaml).
    per_level_scale: 1.382 as NeRF's config for the hash grid (assumed for every app);
    the dense grid's 8 levels span 16 -> 173 (scale (173/16)^(1/7))."""
    dims = app(app_name).dims
    if name == "multires_hashgrid":
        return GridEncoding(name, 16, 2, 16, 1.382, 24 if app_name == "gia" else 19, dims)
    if name == "multires_densegrid":
        return GridEncoding(name, 8, 2, 16, (173 / 16) ** (1 / 7) * (1 + 1e-12), None, dims)   # floor() lands on 173
    if name == "lowres_densegrid":
        return GridEncoding(name, 2, 8, 128, 1.0, None, dims)
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
            "encoding_bytes": queries * enc.bytes_per_query(), "encoding_flops": queries * enc.flops_per_query,
            "table_bytes": enc.table_bytes(), "mlp_macs_per_query": mlp.macs, "mlp_macs": queries * mlp.macs}
