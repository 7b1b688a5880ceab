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
from .common import vector_traffic_bytes

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
    int8, fp16, fp32 = (np.asarray(configs[name], dtype=float) for _, name in PRECISION_RULE)
    return np.where(bits <= PRECISION_RULE[0][0], int8, np.where(bits <= PRECISION_RULE[1][0], fp16, fp32))


def cost(layers: LayerBatch, configs: ConfigBatch) -> CostArrays:
    """Roofline cost of each layer (one kernel per layer) on each GPU config."""
    clock = np.asarray(configs["clock_hz"], dtype=float)                     # (C, 1)
    compute_fraction = np.asarray(configs["compute_fraction"], dtype=float)
    bw_fraction = np.asarray(configs["bw_fraction"], dtype=float)
    fp32 = np.asarray(configs["peak_fp32_flops_per_s"], dtype=float)

    # Compute roof: MAC layers on the tensor cores at their precision, vector
    # layers on the FP32 lanes (one op per lane).
    mac_peak = peak_flops_per_s(layers, configs)                             # (C, L)
    flops = 2.0 * layers.macs.astype(float)
    vector_ops = layers.vector_ops.astype(float)
    peak = np.where(layers.is_mac, mac_peak, fp32)
    work = np.where(layers.is_mac, flops, vector_ops)
    compute_cycles = work / (peak * compute_fraction) * clock

    # Memory roof: compulsory bytes over the achievable DRAM bandwidth.
    dram_bytes = np.where(layers.is_mac, layers.compulsory_bytes, vector_traffic_bytes(layers)).astype(float)
    dram_bytes = np.broadcast_to(dram_bytes, compute_cycles.shape)
    dram = MemoryLevel(name="dram", capacity_bytes=np.full_like(clock, np.inf),
                       bw_bytes_per_cycle=np.asarray(configs["mem_bw_bytes_per_s"], dtype=float) * bw_fraction / clock,
                       pj_per_access=np.zeros_like(clock))
    launch_cycles = np.asarray(configs["launch_overhead_s"], dtype=float) * clock
    latency, bound = bounded_latency(compute_cycles, {"dram": dram_bytes}, (dram,), launch_cycles)

    # Utilization against the layer's own precision peak (vector layers: FP32 lanes).
    peak_per_cycle = np.where(layers.is_mac, mac_peak / 2.0, fp32) / clock
    useful = np.where(layers.is_mac, layers.macs, vector_ops)
    utilization = np.divide(useful, peak_per_cycle * latency, out=np.zeros_like(latency),
                            where=latency > 0)

    # Energy: TDP x time (upper bound), split by what the time was spent on.
    pj_per_cycle = np.asarray(configs["tdp_w"], dtype=float) / clock * 1e12
    memory_extra = np.maximum(latency - launch_cycles - compute_cycles, 0.0)
    energy = {"mac": pj_per_cycle * compute_cycles, "dram": pj_per_cycle * memory_extra,
              "leakage": np.broadcast_to(pj_per_cycle * launch_cycles, latency.shape)}

    mac_layers = np.broadcast_to(layers.is_mac, mac_peak.shape)
    fp16 = np.asarray(configs["peak_fp16_flops_per_s"], dtype=float)
    best = np.where(mac_layers, mac_peak, 0.0).max(axis=1, initial=0.0)
    best = np.where(mac_layers.any(axis=1), best, fp16[:, 0])
    return CostArrays(
        levels=(dram,),
        compute_cycles=compute_cycles,
        latency_cycles=latency,
        utilization=utilization,
        accesses={"dram": layers.compulsory_words * np.ones_like(dram_bytes)},
        traffic_bytes={"dram": dram_bytes},
        energy_pj=energy,
        bound=bound,
        area_mm2=np.asarray(configs["die_mm2"], dtype=float).reshape(-1),
        peak_macs_per_cycle=best / 2.0 / clock[:, 0],
        clock_hz=clock.reshape(-1),
        extras={"arithmetic_intensity_flop_per_byte": np.divide(
                    work * np.ones_like(dram_bytes), dram_bytes, out=np.zeros_like(latency), where=dram_bytes > 0),
                "peak_flops_per_s": np.broadcast_to(peak, latency.shape)},
    )
