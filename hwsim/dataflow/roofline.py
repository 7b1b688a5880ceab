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

The model reports its activity to the shared cost stage (``hwsim.dataflow.stage``),
which takes the max of the two roofs and adds the launch; the roofs are the model's.

Precision is picked from the layer's ``bits`` = max(input, weight bits), the MAC
operand precision (a documented rule, not a search):

* ``bits <= 8``  -> ``peak_int8_ops_per_s`` (INT8 tensor cores, dense);
* ``bits <= 16`` -> ``peak_fp16_flops_per_s`` (FP16/BF16 tensor cores, FP32
  accumulate, dense);
* ``bits <= 32`` -> ``peak_fp32_flops_per_s`` (IEEE FP32 on the CUDA cores, not
  TF32: TF32 rounds the operands to 10 mantissa bits, and PyTorch has disabled it
  for matmuls by default since 1.12). A user who wants TF32 overrides
  ``peak_fp32_flops_per_s`` with the TF32 figure (given in each template's notes).
* wider layers (FP64) are not modelled -- the templates carry no FP64 peak -- and
  are flagged unmappable rather than costed at a rate the GPU does not have. The
  stage's datapath is 32 bits wide, so every supported precision is one pass.

Vector (non-MAC) layers follow the stage's policy: one operation per lane per
cycle on the FP32 CUDA cores (the datasheet FP32 peak counts an FMA as two FLOPs,
so the lanes are ``peak_fp32_flops_per_s / 2 / clock_hz``). ``compute_fraction``,
measured on GEMMs, is not applied to them; vector layers are memory-bound on every
GPU template anyway (at most ~1 op/byte against a ridge of > 4). Each is a kernel
and pays ``launch_overhead_s``.

Bytes are the *compulsory* bytes: each input, weight and output element crosses
the DRAM interface once, at its tensor's width (``LayerBatch.compulsory_bytes``).
This assumes the kernel's tiles are reused from L2/shared memory, which holds for
the GEMM tilings of cuBLAS when a tile row/column fits on chip (40-50 MiB of L2 on
A100/H100); it underestimates traffic for layers whose re-fetches miss in L2.

Energy is not priced from per-action tables: per-action energies (pJ per FLOP, pJ
per byte) at 7 nm/4 nm are not published by NVIDIA, so hwsim does not invent them.
It is an upper bound, the board at its TDP for the whole kernel, ``tdp_w *
latency_s``, passed to the stage as ``Activity.energy_pj`` and split by what the
time was spent on: ``mac`` is TDP x the compute-roof time, ``dram`` is TDP x the
extra time the memory roof adds beyond it, ``leakage`` is TDP x the launch overhead.

Area is the die area from NVIDIA's whitepapers (``die_mm2``), ``Activity.area_mm2``.

``latency_cycles`` is in cycles of ``clock_hz`` (the boost clock);
``peak_macs_per_cycle`` = peak FLOPs / 2 / clock of the highest-throughput
precision among the evaluated MAC layers (so a whole-network utilization never
exceeds 1), and a layer's ``utilization`` = MACs / (that peak x latency), the
stage's definition (a FP16 layer evaluated beside INT8 layers is measured against
the INT8 peak).
"""

from __future__ import annotations

import numpy as np

from ..hardware.memory import MemoryLevel, dram_level
from ..hardware.params import CLOCK_HZ, Param
from .base import ConfigBatch, LayerBatch
from .common import vector_compute_cycles
from .stage import Activity, Datapath, Unmappable, Words

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
PRECISION_RULE = ((8, "peak_int8_ops_per_s"), (16, "peak_fp16_flops_per_s"), (32, "peak_fp32_flops_per_s"))
# The stage's datapath width: every precision of PRECISION_RULE is one pass.
MAC_BITS = PRECISION_RULE[-1][0]


def peak_flops_per_s(layers: LayerBatch, configs: ConfigBatch) -> np.ndarray:
    """(C, L) datasheet peak for each layer's precision (see PRECISION_RULE)."""
    bits = layers.bits
    int8, fp16, fp32 = (configs.floats(name) for _, name in PRECISION_RULE)
    return np.where(bits <= PRECISION_RULE[0][0], int8, np.where(bits <= PRECISION_RULE[1][0], fp16, fp32))


def _vector_lanes(configs: ConfigBatch):
    """FP32 lanes per cycle: the datasheet FP32 peak counts a fused multiply-add as 2
    FLOPs per lane (A100: 19.5e12 = 2 x 6912 lanes x 1.41 GHz), so an add, max or
    compare -- one op -- runs once per lane per cycle at half that figure."""
    return configs.floats("peak_fp32_flops_per_s") / 2.0 / configs.floats("clock_hz")


def _compute_cycles(layers: LayerBatch, configs: ConfigBatch, mac_peak):
    """Compute roof in cycles: MAC layers do ``2 * MACs`` FLOPs on the tensor cores at
    their precision's achievable peak; vector layers take the stage's cycles on the
    FP32 lanes (the same formula, so the energy split below uses the stage's time)."""
    mac = 2.0 * layers.macs / (mac_peak * configs.floats("compute_fraction")) * configs.floats("clock_hz")
    return np.where(layers.is_mac, mac, vector_compute_cycles(layers, _vector_lanes(configs)))


def _dram_level(configs: ConfigBatch) -> MemoryLevel:
    """The one memory level: DRAM at its achievable bandwidth, in bytes per cycle."""
    return dram_level(configs.floats("mem_bw_bytes_per_s") * configs.floats("bw_fraction")
                      / configs.floats("clock_hz"))


def _compulsory_words(layers: LayerBatch) -> Words:
    """Each tensor crosses DRAM once (the stage streams vector layers' stated bytes)."""
    return Words(layers.input_elems.astype(float), layers.weight_elems.astype(float),
                 layers.output_elems.astype(float))


def _energy(configs: ConfigBatch, compute_cycles, memory_cycles, launch_cycles):
    """TDP x time (an upper bound), split by what the time was spent on: ``mac`` the
    compute roof, ``dram`` what the memory roof adds beyond it, ``leakage`` the launch."""
    pj_per_cycle = configs.floats("tdp_w") / configs.floats("clock_hz") * 1e12
    shape = np.broadcast_shapes(np.shape(compute_cycles), np.shape(memory_cycles))
    return {"mac": np.broadcast_to(pj_per_cycle * compute_cycles, shape),
            "dram": pj_per_cycle * np.maximum(memory_cycles - compute_cycles, 0.0),
            "leakage": np.broadcast_to(pj_per_cycle * launch_cycles, shape)}


def _peak_macs_per_cycle(layers: LayerBatch, configs: ConfigBatch, mac_peak):
    """(C, 1) peak MACs per cycle at the fastest precision among the MAC layers (FP16
    when there are none), so that a whole network's utilization never exceeds 1."""
    mac_layers = np.broadcast_to(layers.is_mac & (layers.bits <= MAC_BITS), mac_peak.shape)
    best = np.where(mac_layers, mac_peak, 0.0).max(axis=1, initial=0.0, keepdims=True)
    best = np.where(mac_layers.any(axis=1, keepdims=True), best, configs.floats("peak_fp16_flops_per_s"))
    return best / 2.0 / configs.floats("clock_hz")


def activity(layers: LayerBatch, configs: ConfigBatch) -> Activity:
    """Roofline activity of each layer (one kernel per layer) on each GPU config."""
    clock = configs.floats("clock_hz")                                        # (C, 1)
    mac_peak = peak_flops_per_s(layers, configs)                               # (C, L)
    compute = _compute_cycles(layers, configs, mac_peak)
    dram = _dram_level(configs)
    words = _compulsory_words(layers)
    nbytes = np.where(layers.is_mac, words.bytes(layers), (layers.read_bytes + layers.write_bytes).astype(float))
    launch = configs.floats("launch_overhead_s") * clock
    unmappable = Unmappable("roofline")
    unmappable.add(layers.is_mac & (layers.bits > MAC_BITS), "bits", layers.bits,
                   f"wider than {MAC_BITS} bits; the GPU roofline has no FP64 peak")
    work = np.where(layers.is_mac, 2.0 * layers.macs, layers.vector_ops).astype(float)
    peak = np.where(layers.is_mac, mac_peak, _vector_lanes(configs) * clock)
    return Activity(
        levels=(dram,),
        accesses={"dram": words},
        compute_cycles=compute,
        fill_drain_cycles=launch,
        vector_fill_drain_cycles=launch,
        datapath=Datapath(pes=_peak_macs_per_cycle(layers, configs, mac_peak), mac_bits=MAC_BITS,
                          vector_lanes=_vector_lanes(configs)),
        clock_hz=clock,
        unmappable=unmappable,
        area_mm2=configs.floats("die_mm2").reshape(-1),
        energy_pj=_energy(configs, compute, nbytes / dram.bw_bytes_per_cycle, launch),
        extras={"arithmetic_intensity_flop_per_byte": np.divide(work, nbytes, out=np.zeros(np.broadcast_shapes(
                    work.shape, nbytes.shape)), where=nbytes > 0),
                "peak_flops_per_s": peak},
    )
