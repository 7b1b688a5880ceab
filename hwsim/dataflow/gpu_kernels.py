"""Per-kernel GPU model (templates ``a100_kernels``, ``h100_kernels``, ``h200_kernels``,
``rtx3090_kernels``): what a GPU user profiling a network would see, kernel by kernel.

Each layer is one kernel; a convolution is followed by ``epilogue_passes`` element-wise
kernels (hwsim's CNN graphs fold batch-norm and the activation into the conv, but an
eager framework runs them as kernels of their own: each reads and writes the conv's
output once more, after it, not overlapped with it). A ``matmul`` is a bare GEMM (a
transformer graph lists its norms and activations as layers of their own):

    latency_s = max(compute_s, compulsory_bytes / bw)               the layer's kernel
                + epilogue_passes * 2 * output_bytes / bw            its epilogue kernels
                + (1 + epilogue_passes) * launch_overhead_s          every kernel's fixed cost
    bw        = mem_bw_bytes_per_s * bw_fraction

The shared cost stage (``hwsim.dataflow.stage``) takes the max and adds the rest (reported
as fill/drain); the epilogue bytes count as DRAM accesses (energy) but not as the layer
kernel's traffic (``dram_bytes`` is the layer kernel's, ``epilogue_dram_bytes`` the
epilogue kernels'). The per-class compute roofs are this model's:

* **dense GEMM / convolution** (implicit GEMM: M = N*P*Q output pixels, N = K filters,
  depth = C*R*S, per group) on the tensor cores at the precision's peak times
  ``gemm_efficiency`` (the measured best large-GEMM fraction) times three shape terms
  a CUTLASS / cuDNN user knows:

  - *tile quantization*: the output is cut into ``gemm_tile_m`` x ``tile_n`` CTA tiles,
    ``tile_n`` chosen among ``gemm_tile_n / 4``, ``/ 2`` and ``gemm_tile_n`` (the library
    heuristic picks the narrow tile for few filters); padded tile slots do no work;
  - *wave quantization*: tiles run in waves of ``sms`` (one CTA per SM), the last wave
    partly idle;
  - *small-depth efficiency* ``min(1, depth / gemm_depth_full)``: a tile's main loop must
    run ``gemm_depth_full`` deep to hide its operand-load prologue and store epilogue
    behind the MMAs; a shallower reduction leaves the tensor cores idle for that
    fixed time (1x1 convs with few input channels);
  - *skinny GEMMs* (a decode step's GEMV: a few rows): the tile is no taller than the
    rows need (down to 16, the MMA's M), and when the tiles cannot fill the SMs the
    reduction is split (split-K) into up to ``sms / tiles`` slices of at least
    ``gemm_depth_full``; a GEMM whose tiles fill the SMs is unchanged (the A100
    calibration moved from 1.28 to 1.29 % median error when this was added).

* **depthwise convolution** (one input channel per group) on the CUDA cores at
  ``peak_fp32_flops_per_s * depthwise_efficiency`` (no tensor-core mapping; the
  per-channel windows reuse little);
* **element-wise, normalization, pooling** (vector layers) stream their bytes at the
  achievable bandwidth (the stage's vector policy: one op per FP32 lane per cycle,
  ``peak_fp32_flops_per_s / 2 / clock_hz`` lanes);
* **attention** is the GEMMs and the softmax (a vector layer) it is made of.

Precision (``bits`` = max(input, weight bits)): <= 8 INT8 tensor, <= 16 FP16/BF16 tensor,
<= 32 ``peak_fp32_gemm_flops_per_s`` (set to TF32 tensor cores where the framework uses
them for convolutions -- cuDNN does by default in PyTorch -- or to the IEEE FP32 peak);
wider layers are unmappable. Bytes are compulsory (each tensor crosses DRAM once) plus
the epilogue passes' reads and writes of the output.

**Power from activity**: energy = ``static_power_w`` x time (the board's idle/static
draw, charged as ``leakage``) + FLOPs x energy per FLOP of the unit that ran them
(``mac``) + DRAM bytes x ``energy_pj_per_dram_byte`` (``dram``). The per-FLOP energies
are derived in the templates so that the measured-best large GEMM draws TDP; an idle or
launch-bound GPU draws little more than its static power.
"""

from __future__ import annotations

import numpy as np

from ..hardware.memory import dram_level
from ..hardware.params import CLOCK_HZ, Param
from .base import ConfigBatch, LayerBatch
from .stage import Activity, Datapath, Unmappable, Words

_FRACTION = dict(maximum=1.0)
PARAMETERS: dict[str, Param] = {
    "clock_hz": CLOCK_HZ,
    "sms": Param(int, "streaming multiprocessors (CTAs of one GEMM wave)"),
    "peak_int8_ops_per_s": Param(float, "dense INT8 tensor-core peak, OP/s (bits <= 8)"),
    "peak_fp16_flops_per_s": Param(float, "dense FP16/BF16 tensor-core peak, FP32 accumulate, FLOP/s"),
    "peak_fp32_gemm_flops_per_s": Param(float, "32-bit dense GEMM/conv peak (TF32 tensor or IEEE FP32), FLOP/s"),
    "peak_fp32_flops_per_s": Param(float, "IEEE FP32 CUDA-core peak (FMA = 2 FLOPs), FLOP/s: depthwise, vector"),
    "mem_bw_bytes_per_s": Param(float, "DRAM (HBM/GDDR) datasheet bandwidth, bytes/s"),
    "bw_fraction": Param(float, "achievable fraction of the DRAM bandwidth (streaming kernel)", **_FRACTION),
    "gemm_efficiency": Param(float, "fraction of the tensor peak a large tuned GEMM reaches", **_FRACTION),
    "gemm_tile_m": Param(int, "CTA tile rows (output pixels) of a GEMM/conv kernel"),
    "gemm_tile_n": Param(int, "widest CTA tile columns (filters); /2 and /4 are also tried"),
    "gemm_depth_full": Param(float, "reduction depth C*R*S from which a GEMM tile runs at full speed"),
    "depthwise_efficiency": Param(float, "fraction of the FP32 CUDA-core peak a depthwise conv reaches",
                                  **_FRACTION),
    "epilogue_passes": Param(float, "unfused element-wise kernels after each convolution (BN, activation)",
                             minimum=0.0, inclusive=True, maximum=16.0),
    "launch_overhead_s": Param(float, "fixed cost of each kernel (launch + framework dispatch), s",
                               minimum=0.0, inclusive=True),
    "static_power_w": Param(float, "board power drawn whatever the activity (idle/static), W",
                            minimum=0.0, inclusive=True),
    "energy_pj_per_int8_op": Param(float, "board energy per INT8 tensor op at full load, pJ"),
    "energy_pj_per_fp16_flop": Param(float, "board energy per FP16 tensor FLOP at full load, pJ"),
    "energy_pj_per_fp32_gemm_flop": Param(float, "board energy per 32-bit GEMM FLOP at full load, pJ"),
    "energy_pj_per_cuda_flop": Param(float, "board energy per CUDA-core FLOP (depthwise, vector), pJ"),
    "energy_pj_per_dram_byte": Param(float, "energy per DRAM byte moved (device + interface), pJ"),
    "die_mm2": Param(float, "die area, mm2"),
    "tdp_w": Param(float, "board power limit (TDP), W; a full-load GEMM approaches it"),
}

# (largest bits, peak parameter, energy-per-FLOP parameter) of the tensor-core precisions.
PRECISION_RULE = ((8, "peak_int8_ops_per_s", "energy_pj_per_int8_op"),
                  (16, "peak_fp16_flops_per_s", "energy_pj_per_fp16_flop"),
                  (32, "peak_fp32_gemm_flops_per_s", "energy_pj_per_fp32_gemm_flop"))
MAC_BITS = PRECISION_RULE[-1][0]
TILE_N_DIVISORS = (4, 2, 1)     # candidate tile widths gemm_tile_n / d
MIN_TILE_M = 16.0               # the tensor-core MMA's M: no CTA tile is shorter


def _by_precision(layers: LayerBatch, configs: ConfigBatch, column: int) -> np.ndarray:
    """(C, L) value of a PRECISION_RULE column (1: peak, 2: energy) for each layer's bits."""
    values = [configs.floats(rule[column]) for rule in PRECISION_RULE]
    bits = layers.bits
    return np.where(bits <= PRECISION_RULE[0][0], values[0], np.where(bits <= PRECISION_RULE[1][0], values[1],
                                                                       values[2]))


def is_depthwise(layers: LayerBatch) -> np.ndarray:
    """(1, L): one input channel per group, several groups (not a plain dense layer)."""
    return layers.is_mac & (layers.c == 1) & (layers.g > 1)


def _quantized(size, tile):
    return size / (np.ceil(size / tile) * tile)


def gemm_shape_efficiency(layers: LayerBatch, configs: ConfigBatch) -> np.ndarray:
    """(C, L) tile x wave x depth efficiency of each layer as an implicit GEMM, with the
    best of the candidate tile widths (``TILE_N_DIVISORS``).

    Skinny GEMMs (a decode step's GEMV) get the two things a GPU library does for
    them: a tile no taller than the rows need (down to ``MIN_TILE_M``, the tensor-core
    MMA's M), and split-K -- when the output tiles cannot fill the SMs, the reduction
    is split into up to ``sms / tiles`` slices, each at least ``gemm_depth_full``
    deep, one CTA per slice. Neither changes a GEMM whose tiles fill the SMs."""
    m = (layers.n * layers.p * layers.q).astype(float)
    n = layers.k.astype(float)
    depth = (layers.c * layers.r * layers.s).astype(float)
    sms = configs.floats("sms")
    depth_full = configs.floats("gemm_depth_full")
    rows = np.maximum(MIN_TILE_M, 2.0 ** np.ceil(np.log2(np.maximum(m, 1.0))))
    tile_m = np.minimum(configs.floats("gemm_tile_m"), rows)
    best = np.zeros(np.broadcast_shapes(m.shape, sms.shape))
    for divisor in TILE_N_DIVISORS:
        tile_n = np.maximum(np.floor(configs.floats("gemm_tile_n") / divisor), 1.0)
        tiles = layers.g * np.ceil(m / tile_m) * np.ceil(n / tile_n)
        splits = np.maximum(1.0, np.minimum(np.floor(sms / tiles), np.floor(depth / depth_full)))
        ctas = tiles * splits
        waves = ctas / (np.ceil(ctas / sms) * sms)
        depth_eff = np.minimum(1.0, depth / splits / depth_full)
        best = np.maximum(best, _quantized(m, tile_m) * _quantized(n, tile_n) * waves * depth_eff)
    return best


def compute_s(layers: LayerBatch, configs: ConfigBatch) -> np.ndarray:
    """(C, L) compute-roof seconds of each MAC layer (vector layers: the stage's lanes)."""
    flops = 2.0 * layers.macs
    dense = flops / (_by_precision(layers, configs, 1) * configs.floats("gemm_efficiency")
                     * gemm_shape_efficiency(layers, configs))
    depthwise = flops / (configs.floats("peak_fp32_flops_per_s") * configs.floats("depthwise_efficiency"))
    return np.where(is_depthwise(layers), depthwise, dense)


def compulsory_words(layers: LayerBatch) -> Words:
    """Each tensor of the layer's own kernel crossing DRAM once."""
    return Words(layers.input_elems.astype(float), layers.weight_elems.astype(float),
                 layers.output_elems.astype(float))


def epilogue_passes(layers: LayerBatch, configs: ConfigBatch) -> np.ndarray:
    """(C, L) element-wise kernels after each layer: convolutions only."""
    return np.where(layers.is_mac & ~layers.is_matmul, configs.floats("epilogue_passes"), 0.0)


def epilogue_words(layers: LayerBatch, configs: ConfigBatch) -> Words:
    """Each epilogue kernel reads and writes the output once."""
    return Words(output=2.0 * epilogue_passes(layers, configs) * layers.output_elems)


def _lanes(configs: ConfigBatch):
    """FP32 lanes per cycle (the datasheet counts an FMA as 2 FLOPs per lane)."""
    return configs.floats("peak_fp32_flops_per_s") / 2.0 / configs.floats("clock_hz")


def _peak_macs_per_cycle(layers: LayerBatch, configs: ConfigBatch, peak):
    """(C, 1) MACs per cycle at the fastest precision among the MAC layers (FP16 when
    there are none), so a network's utilization never exceeds 1."""
    mac = np.broadcast_to(layers.is_mac & (layers.bits <= MAC_BITS), peak.shape)
    best = np.where(mac, peak, 0.0).max(axis=1, initial=0.0, keepdims=True)
    best = np.where(mac.any(axis=1, keepdims=True), best, configs.floats("peak_fp16_flops_per_s"))
    return best / 2.0 / configs.floats("clock_hz")


def _energy(layers: LayerBatch, configs: ConfigBatch, nbytes, latency_s):
    """Activity energy: FLOPs x per-FLOP energy of their unit, bytes x per-byte energy,
    static power x time (the stage's latency is recomputed here from the same terms)."""
    mac_pj = np.where(is_depthwise(layers), configs.floats("energy_pj_per_cuda_flop"),
                      _by_precision(layers, configs, 2)) * 2.0 * layers.macs
    vector_pj = configs.floats("energy_pj_per_cuda_flop") * layers.vector_ops
    shape = np.broadcast_shapes(np.shape(mac_pj), np.shape(nbytes), np.shape(latency_s))
    return {"mac": np.broadcast_to(np.where(layers.is_mac, mac_pj, vector_pj), shape),
            "dram": np.broadcast_to(configs.floats("energy_pj_per_dram_byte") * nbytes, shape),
            "leakage": np.broadcast_to(configs.floats("static_power_w") * latency_s * 1e12, shape)}


def activity(layers: LayerBatch, configs: ConfigBatch) -> Activity:
    """Per-kernel activity of each layer (its kernel + epilogue kernels) on each GPU config."""
    clock = configs.floats("clock_hz")
    bw = configs.floats("mem_bw_bytes_per_s") * configs.floats("bw_fraction")
    compute = np.where(layers.is_mac, compute_s(layers, configs), 0.0) * clock
    own, epilogue = compulsory_words(layers), epilogue_words(layers, configs)
    epilogue_s = epilogue.bytes(layers) / bw
    kernels = 1.0 + epilogue_passes(layers, configs)
    fixed_s = configs.floats("launch_overhead_s") * kernels + epilogue_s
    own_bytes = np.where(layers.is_mac, own.bytes(layers), (layers.read_bytes + layers.write_bytes).astype(float))
    vector_s = np.ceil(layers.vector_ops / np.maximum(np.floor(_lanes(configs)), 1.0)) / clock
    busy_s = np.where(layers.is_mac, compute / clock, vector_s)
    latency_s = np.maximum(busy_s, own_bytes / bw) + fixed_s
    unmappable = Unmappable("gpu_kernels")
    unmappable.add(layers.is_mac & (layers.bits > MAC_BITS), "bits", layers.bits,
                   f"wider than {MAC_BITS} bits; the GPU templates carry no FP64 peak")
    peak = np.where(is_depthwise(layers), configs.floats("peak_fp32_flops_per_s"), _by_precision(layers, configs, 1))
    return Activity(
        levels=(dram_level(bw / clock),),
        accesses={"dram": own + epilogue},
        traffic={"dram": own},
        compute_cycles=compute,
        fill_drain_cycles=fixed_s * clock,
        vector_fill_drain_cycles=configs.floats("launch_overhead_s") * clock,
        datapath=Datapath(pes=_peak_macs_per_cycle(layers, configs, peak), mac_bits=MAC_BITS,
                          vector_lanes=_lanes(configs)),
        clock_hz=clock,
        unmappable=unmappable,
        area_mm2=configs.floats("die_mm2").reshape(-1),
        energy_pj=_energy(layers, configs, own_bytes + epilogue_s * bw, latency_s),
        extras={"gemm_shape_efficiency": np.where(layers.is_mac & ~is_depthwise(layers),
                                                  gemm_shape_efficiency(layers, configs), 0.0),
                "peak_flops_per_s": np.where(layers.is_mac, peak, _lanes(configs) * clock),
                "epilogue_dram_bytes": epilogue.bytes(layers),
                "kernels": np.broadcast_to(kernels, np.broadcast_shapes(np.shape(kernels), compute.shape))},
    )
