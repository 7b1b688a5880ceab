"""Roofline model of a GPU (templates ``rtx3090``, ``a100``, ``h100``, ``h200``).

A GPU is not modelled PE by PE. Each layer is one kernel, and the kernel takes

    latency_s = max(FLOPs / (peak_flops_per_s[precision] * compute_fraction),
                    bytes / (mem_bw_bytes_per_s * bw_fraction))
                + launch_overhead_s

(Williams, Waterman and Patterson, "Roofline", CACM 2009), with two refinements
over the textbook roofline:

* the roofs are *achievable*, not datasheet, roofs: ``compute_fraction`` is the
  fraction of the datasheet peak a tuned library GEMM reaches and ``bw_fraction``
  the fraction of the datasheet DRAM bandwidth a streaming kernel reaches (both
  measured; the templates cite their sources);
* every kernel pays a fixed ``launch_overhead_s``, which is what makes tiny
  layers slower than either roof predicts.

Precision is picked from the layer's ``bits`` = max(input, weight bits), the MAC
operand precision (a documented rule, not a search):

* ``bits <= 8``  -> ``peak_int8_ops_per_s`` (INT8 tensor cores, dense);
* ``bits <= 16`` -> ``peak_fp16_flops_per_s`` (FP16/BF16 tensor cores, FP32
  accumulate, dense);
* ``bits > 16``  -> ``peak_fp32_flops_per_s`` (IEEE FP32 on the CUDA cores, not
  TF32: TF32 rounds the operands to 10 mantissa bits, and PyTorch has disabled it
  for matmuls by default since 1.12). A user who wants TF32 overrides
  ``peak_fp32_flops_per_s`` with the TF32 figure (given in each template's notes).

Vector (non-MAC) layers run on the CUDA cores: one operation per FP32 lane, so
their compute roof is ``peak_fp32_flops_per_s * compute_fraction``.

Bytes are the *compulsory* bytes: each input, weight and output element crosses
the DRAM interface once, at its tensor's width (``LayerBatch.compulsory_bytes``).
This assumes the kernel's tiles are reused from L2/shared memory, which holds for
the GEMM tilings of cuBLAS when a tile row/column fits on chip (40-50 MiB of L2 on
A100/H100); it underestimates traffic for layers whose re-fetches miss in L2.

Energy is an upper bound: the board at its TDP for the whole kernel,
``tdp_w * latency_s``. It is split by what the time was spent on: ``mac`` is TDP
x the compute-roof time, ``dram`` is TDP x the extra time the memory roof adds
beyond it, ``leakage`` is TDP x the launch overhead. Per-action energies (pJ per
FLOP, pJ per byte) at 7 nm/4 nm are not published by NVIDIA, so hwsim does not
invent them.

Area is the die area from NVIDIA's whitepapers (``die_mm2``).

``latency_cycles`` is in cycles of ``clock_hz`` (the boost clock);
``peak_macs_per_cycle`` = peak FLOPs / 2 / clock of the highest-throughput
precision among the evaluated MAC layers (so a whole-network utilization never
exceeds 1), and a layer's ``utilization`` = MACs / (its precision's peak MACs per
cycle x latency).
"""

from __future__ import annotations

import numpy as np

from ..hardware.memory import MemoryLevel
from ..hardware.params import CLOCK_HZ, Param
from .base import ConfigBatch, CostArrays, LayerBatch, bounded_latency

PARAMETERS: dict[str, Param] = {
    "clock_hz": CLOCK_HZ,
    "peak_fp16_flops_per_s": Param(float, "dense FP16/BF16 tensor-core peak (FP32 accumulate), FLOP/s"),
    "peak_fp32_flops_per_s": Param(float, "FP32 (non-tensor, IEEE) peak, FLOP/s; used for bits > 16 and vector ops"),
    "peak_int8_ops_per_s": Param(float, "dense INT8 tensor-core peak, OP/s; used for bits <= 8"),
    "mem_bw_bytes_per_s": Param(float, "DRAM (HBM/GDDR) datasheet bandwidth, bytes/s"),
    "compute_fraction": Param(float, "achievable fraction of the compute peak (0, 1]", maximum=1.0),
    "bw_fraction": Param(float, "achievable fraction of the DRAM bandwidth (0, 1]", maximum=1.0),
    "launch_overhead_s": Param(float, "fixed cost of one kernel launch, s", minimum=0.0, inclusive=True),
    "die_mm2": Param(float, "die area, mm2"),
    "tdp_w": Param(float, "board power (TDP), W"),
}

# The precision rule, in one place: (largest bits, parameter holding the peak).
PRECISION_RULE = ((8, "peak_int8_ops_per_s"), (16, "peak_fp16_flops_per_s"), (np.inf, "peak_fp32_flops_per_s"))


def peak_flops_per_s(layers: LayerBatch, configs: ConfigBatch) -> np.ndarray:
    """(C, L) datasheet peak for each layer's precision (see PRECISION_RULE)."""
    bits = layers.bits
    int8, fp16, fp32 = (configs.floats(name) for _, name in PRECISION_RULE)
    return np.where(bits <= PRECISION_RULE[0][0], int8, np.where(bits <= PRECISION_RULE[1][0], fp16, fp32))


def _compute_cycles(layers: LayerBatch, configs: ConfigBatch, mac_peak):
    """Compute roof: work over the achievable peak, in cycles. MAC layers do ``2 * MACs``
    FLOPs on the tensor cores at their precision (``mac_peak``); vector layers do one op
    per FP32 lane per cycle. Returns ``(cycles, peak, work)``, the latter two per (config, layer)."""
    peak = np.where(layers.is_mac, mac_peak, _vector_ops_per_s(configs))
    work = np.where(layers.is_mac, 2.0 * layers.macs.astype(float), layers.vector_ops.astype(float))
    cycles = work / (peak * configs.floats("compute_fraction")) * configs.floats("clock_hz")
    return cycles, peak, work


def _vector_ops_per_s(configs: ConfigBatch):
    """One op per FP32 lane per cycle. The datasheet FP32 peak counts a fused multiply-add
    as 2 FLOPs per lane (A100: 19.5e12 = 2 x 6912 lanes x 1.41 GHz), so an add, max or
    compare -- one op -- runs at half that figure."""
    return configs.floats("peak_fp32_flops_per_s") / 2.0


def _dram_level(configs: ConfigBatch) -> MemoryLevel:
    """The one memory level: DRAM at its achievable bandwidth, in bytes per cycle
    (energy is TDP x time, see ``_energy``)."""
    clock = configs.floats("clock_hz")
    return MemoryLevel(name="dram", capacity_bytes=np.full_like(clock, np.inf),
                       bw_bytes_per_cycle=configs.floats("mem_bw_bytes_per_s") * configs.floats("bw_fraction") / clock)


def _dram_bytes(layers: LayerBatch, shape):
    """Memory roof's bytes: the compulsory bytes (vector layers: their stated bytes)."""
    return np.broadcast_to(layers.compulsory_bytes.astype(float), shape)


def _utilization(layers: LayerBatch, configs: ConfigBatch, mac_peak, latency):
    """MACs per cycle over the layer's own precision peak (vector layers: ops over FP32 lanes)."""
    peak_per_cycle = np.where(layers.is_mac, mac_peak / 2.0, _vector_ops_per_s(configs)) / configs.floats("clock_hz")
    return np.divide(layers.work, peak_per_cycle * latency, out=np.zeros_like(latency), where=latency > 0)


def _energy(configs: ConfigBatch, compute_cycles, launch_cycles, latency):
    """TDP x time (an upper bound), split by what the time was spent on: ``mac`` the
    compute roof, ``dram`` what the memory roof adds beyond it, ``leakage`` the launch."""
    pj_per_cycle = configs.floats("tdp_w") / configs.floats("clock_hz") * 1e12
    memory_extra = np.maximum(latency - launch_cycles - compute_cycles, 0.0)
    return {"mac": pj_per_cycle * compute_cycles, "dram": pj_per_cycle * memory_extra,
            "leakage": np.broadcast_to(pj_per_cycle * launch_cycles, latency.shape)}


def _peak_macs_per_cycle(layers: LayerBatch, configs: ConfigBatch, mac_peak):
    """(C,) peak MACs per cycle at the fastest precision among the MAC layers (FP16 when
    there are none), so that a whole network's utilization never exceeds 1."""
    mac_layers = np.broadcast_to(layers.is_mac, mac_peak.shape)
    best = np.where(mac_layers, mac_peak, 0.0).max(axis=1, initial=0.0)
    best = np.where(mac_layers.any(axis=1), best, configs.floats("peak_fp16_flops_per_s")[:, 0])
    return best / 2.0 / configs.floats("clock_hz")[:, 0]


def cost(layers: LayerBatch, configs: ConfigBatch) -> CostArrays:
    """Roofline cost of each layer (one kernel per layer) on each GPU config."""
    clock = configs.floats("clock_hz")                                        # (C, 1)
    mac_peak = peak_flops_per_s(layers, configs)                               # (C, L)
    compute_cycles, peak, work = _compute_cycles(layers, configs, mac_peak)
    dram = _dram_level(configs)
    dram_bytes = _dram_bytes(layers, compute_cycles.shape)
    launch_cycles = configs.floats("launch_overhead_s") * clock
    latency, bound = bounded_latency(compute_cycles, {"dram": dram_bytes}, (dram,), launch_cycles)
    intensity = np.divide(work * np.ones_like(dram_bytes), dram_bytes, out=np.zeros_like(latency),
                          where=dram_bytes > 0)
    return CostArrays(
        levels=(dram,),
        compute_cycles=compute_cycles,
        latency_cycles=latency,
        utilization=_utilization(layers, configs, mac_peak, latency),
        accesses={"dram": layers.compulsory_words * np.ones_like(dram_bytes)},
        traffic_bytes={"dram": dram_bytes},
        energy_pj=_energy(configs, compute_cycles, launch_cycles, latency),
        bound=bound,
        area_mm2=configs.floats("die_mm2").reshape(-1),
        peak_macs_per_cycle=_peak_macs_per_cycle(layers, configs, mac_peak),
        clock_hz=clock.reshape(-1),
        extras={"arithmetic_intensity_flop_per_byte": intensity,
                "peak_flops_per_s": np.broadcast_to(peak, latency.shape)},
    )
