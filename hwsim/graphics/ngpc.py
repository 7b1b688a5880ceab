"""The NGPC cluster (Mubarik et al., ISCA 2023): ``scaling_factor`` neural field
processors at the GPU's L2, pipelined with the GPU running the fused remaining kernels.

One processor (``templates/graphics/ngpc.yaml``, section ``ngpc``):

* **encoding engines**: ``encoding_engines`` engines each read ``lookups_per_cycle``
  table entries per cycle (one point-level's 2^3 corners): a processor encodes
  ``engines x lookups_per_cycle / lookups_per_query`` queries per cycle. The levels
  share the engines' SRAM evenly (``engines x sram_bytes_per_engine / n_levels`` per
  level); a level whose table does not fit keeps the part that does (its hit rate,
  :mod:`.tables`) and fetches the rest, in sectors, from the GPU's L2 -- which in turn
  holds the missed parts smallest-first and leaves the rest to DRAM;
* **MLP engine**: a ``mlp_rows x mlp_cols`` FP16 array costed by hwsim's systolic
  model (``mlp_template``, ``mlp_dataflow``) on a tile of queries, its activations
  on chip (the engines are fused): cycles per query from the dataflow machinery, not
  from the MAC count (a 64 x 64 array streams one query per layer per cycle, so a
  32-wide or 16-wide layer leaves part of it idle).

The cluster's query rate is the least of: processors x encoding rate, processors x
MLP rate, the L2 port (``l2_bw_bytes_per_s`` over the bytes a query moves through
the L2: coordinates in, outputs back, table misses) and DRAM (the misses the L2 does
not hold). The GPU meanwhile runs the remaining kernels fused, ``fused_rest_speedup``
times faster than unfused; the two are pipelined over tiles of rays, so a frame
takes the longer of the two (the pipeline's fill, one tile, is neglected). The
*bottleneck* names the resource that sets the frame time. Area and power are
``scaling_factor`` times one processor's (the paper's SF 8 fractions of the GPU).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from ..errors import SpecError
from .apps import app, encoding, mlp_network
from .config import NgpcConfig, load_ngpc
from .gpu_baseline import baseline_gpu, dram_bw_bytes_per_s, gpu_frame, query_cost
from .tables import resident_fractions, sector_bytes_per_query, table_bytes

__all__ = ["BOTTLENECKS", "NgpcFrame", "ProcessorRates", "ngpc_frame", "ngpc_frames", "processor_rates"]

MLP_TILE_QUERIES = 1 << 14
BOTTLENECKS = ("encoding engines", "MLP engine", "GPU L2 port", "GPU DRAM", "fused remaining kernels")


@dataclass(frozen=True)
class ProcessorRates:
    """Per-query demands of one app and encoding on the cluster."""

    encoding_queries_per_s: float      # one processor's encoding engines
    mlp_queries_per_s: float           # one processor's MLP engine
    l2_bytes_per_query: float          # through the cluster's L2 port
    dram_bytes_per_query: float        # table misses the GPU L2 does not hold
    table_hit_rate: float              # of the lookups, in the engines' SRAM


@dataclass(frozen=True)
class NgpcFrame:
    app: str
    encoding: str
    width_px: int
    height_px: int
    scaling_factor: int
    queries: int
    gpu_frame_s: float
    ngpc_s: float
    rest_fused_s: float
    frame_s: float
    speedup: float
    fps: float
    bottleneck: str
    area_mm2: float
    power_w: float
    area_fraction_of_gpu: float
    power_fraction_of_gpu: float

    def as_dict(self) -> dict:
        return asdict(self)


def _mlp_engine(config: NgpcConfig):
    from ..hardware import load_template
    return load_template(config.mlp_template, rows=config.mlp_rows, cols=config.mlp_cols,
                         mac_bits=8 * config.feature_bytes, clock_hz=config.clock_hz, dataflow=config.mlp_dataflow,
                         dram_bw_bytes_per_cycle=float(2 ** 20))   # activations stay on chip (fused engines)


@lru_cache(maxsize=256)
def processor_rates(app_name: str, encoding_name: str, config: NgpcConfig | None = None) -> ProcessorRates:
    from ..evaluate import evaluate

    config = config or load_ngpc()
    enc, a = encoding(encoding_name, app_name), app(app_name)
    encoding_qps = config.encoding_engines * config.lookups_per_cycle / enc.lookups_per_query * config.clock_hz
    mlp = evaluate(mlp_network(app_name, encoding_name, MLP_TILE_QUERIES), _mlp_engine(config)).total
    mlp_qps = MLP_TILE_QUERIES / mlp.latency_cycles * config.clock_hz

    tables = table_bytes(enc, config.feature_bytes)
    per_level_share = config.encoding_engines * config.sram_bytes_per_engine / enc.n_levels
    in_sram = np.minimum(1.0, per_level_share / tables)               # each level its share of the SRAM
    missed = sector_bytes_per_query(enc, config.feature_bytes, config.sector_bytes) * (1 - in_sram)
    in_l2 = resident_fractions(tables * (1 - in_sram), config.l2_bytes)
    io = a.coordinates * config.io_bytes_per_coordinate + a.outputs * config.feature_bytes
    return ProcessorRates(encoding_qps, mlp_qps, float(io + missed.sum()), float(np.sum(missed * (1 - in_l2))),
                          float(np.mean(in_sram)))


def _check_scaling(values) -> np.ndarray:
    sf = np.atleast_1d(np.asarray(values))
    if sf.dtype.kind not in "iu" or np.any(sf < 1):
        raise SpecError(f"field 'scaling_factor' = {values!r}: expected integers >= 1 (processors)")
    return sf.astype(np.int64)


def ngpc_frames(app_name: str, encoding_name: str, width: int, height: int, scaling_factors,
                config: NgpcConfig | None = None, samples_per_pixel: int | None = None) -> dict[str, np.ndarray]:
    """One frame on the GPU + NGPC for each scaling factor (vectorized over them)."""
    config = config or load_ngpc()
    sf = _check_scaling(scaling_factors)
    base = gpu_frame(app_name, encoding_name, width, height, config, samples_per_pixel)
    rates, cost = processor_rates(app_name, encoding_name, config), query_cost(app_name, encoding_name, config)
    gpu = baseline_gpu(config)
    dram_bw = dram_bw_bytes_per_s(gpu)
    limits = np.stack([sf * rates.encoding_queries_per_s, sf * rates.mlp_queries_per_s,
                       np.full(sf.shape, config.l2_bw_bytes_per_s / rates.l2_bytes_per_query),
                       np.full(sf.shape, dram_bw / rates.dram_bytes_per_query if rates.dram_bytes_per_query else np.inf)])
    rest_fused_s = np.full(sf.shape, base.queries * cost.rest_s / config.fused_rest_speedup)
    times = np.vstack([base.queries / limits, rest_fused_s])      # one row per resource (BOTTLENECKS)
    ngpc_s, frame_s = times[:-1].max(axis=0), times.max(axis=0)
    area, power = sf * config.area_mm2_per_processor, sf * config.power_w_per_processor
    return {"scaling_factor": sf, "queries": np.full(sf.shape, base.queries), "gpu_frame_s": np.full(sf.shape, base.frame_s),
            "ngpc_s": ngpc_s, "rest_fused_s": rest_fused_s, "frame_s": frame_s, "speedup": base.frame_s / frame_s,
            "fps": 1.0 / frame_s, "bottleneck": np.array(BOTTLENECKS)[times.argmax(axis=0)],
            "area_mm2": area, "power_w": power, "area_fraction_of_gpu": area / float(gpu.params["die_mm2"]),
            "power_fraction_of_gpu": power / float(gpu.params["tdp_w"])}


def ngpc_frame(app_name: str, encoding_name: str, width: int, height: int, scaling_factor: int,
               config: NgpcConfig | None = None, samples_per_pixel: int | None = None) -> NgpcFrame:
    """One frame at one scaling factor (see :func:`ngpc_frames`)."""
    if isinstance(scaling_factor, bool) or not isinstance(scaling_factor, (int, np.integer)) or scaling_factor < 1:
        raise SpecError(f"field 'scaling_factor' = {scaling_factor!r}: expected an integer >= 1 (processors)")
    row = ngpc_frames(app_name, encoding_name, width, height, [scaling_factor], config, samples_per_pixel)
    values = {k: v[0].item() for k, v in row.items()}
    return NgpcFrame(app_name, encoding_name, int(width), int(height), **values)

