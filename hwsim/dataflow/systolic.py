"""TPU-like systolic array (``rows x cols`` MACs), as SCALE-Sim models it: the cost model.

The model follows SCALE-Sim (Samajdar et al., ISPASS 2020; scalesim-project/scale-sim-v2
and -v3, ``compute/systolic_compute_{os,ws,is}.py``), written in closed form and
vectorized over layers and configurations.

**Mapping** (``systolic_mapping.py``): a convolution (per group) is lowered to the GEMM
``(M x K) @ (K x N)``; the dataflow (``os``, ``ws``, ``is``) places two GEMM dimensions
on the array's rows and cols and streams the third in time; the result is cut into
``row_folds x col_folds`` folds run one after another (``fill_drain`` sets how much
skew each fold pays). That module also counts the words each operand moves between the
array and the SRAMs and between DRAM and the SRAMs; this one checks the SRAMs, and
assembles the per-level accesses and traffic, latency, energy, area and utilization,
and SCALE-Sim's per-layer report columns.

**Latency** = max(compute, each level's traffic / bandwidth) (``base.bounded_latency``;
the fill/drain is already inside ``compute_cycles``). Each SRAM has one read and one
write port per array edge lane it feeds (``2 * lanes * mac_bits / 8`` bytes/cycle).

**Precision** is per tensor: the ifmap, filter and ofmap SRAMs hold words of the
input, weight and output width (capacity in words, DRAM traffic in bytes and
per-access energy follow each operand's width); MACs are at ``bits`` = max(input,
weight). Accesses count words.

**Energy**: MACs x ``Technology.mac_pj(bits)``; each SRAM's accesses x its per-access
energy at its capacity and operand width (``sram_pj_per_access``); DRAM words x
``dram_pj_per_access`` at each word's width;
leakage x area x time. Forwarding between neighbouring PEs is not charged separately
(the technology tables have no pipeline-register energy; the Eyeriss NoC hop of
``noc_pj_per_16b`` describes a multicast network, not a neighbour register).

**Area** (``hardware.area.default_area_mm2``): ``rows*cols`` MACs of ``mac_bits``, the
three SRAMs, and per PE two operand registers (``mac_bits`` each) plus a partial-sum
register of ``4*mac_bits`` (TPU v1: 8-bit operands, 32-bit accumulation, Jouppi et al.
ISCA 2017) as flip-flops.

**Vector layers** (pooling, add, ...) run on ``cols`` lanes (TPU v1's activation
pipeline is as wide as the array), read their inputs through the ifmap SRAM and write
through the ofmap SRAM (one access per word), and stream their bytes from/to DRAM
once; each vector op is charged an adder's share of a MAC (``common.vector_layer_costs``,
the policy of every ASIC model).

Memory levels (innermost first): ``ifmap_sram``, ``filter_sram``, ``ofmap_sram``
(siblings, one per operand as in SCALE-Sim) and ``dram``.
"""

from __future__ import annotations

import numpy as np

from ..hardware.area import default_area_mm2
from ..hardware.memory import MemoryLevel
from ..hardware.params import CLOCK_HZ, TECHNOLOGY, Param
from .base import ConfigBatch, CostArrays, LayerBatch, bounded_latency, raise_unmappable
from .common import VectorCosts, vector_layer_costs
from .systolic_mapping import (_Array, _compute_cycles, _map_layers, _Mapping, _word_bytes, _Words,
                               _words_moved, fold_cycles, gemm_dims)

DATAFLOWS = ("os", "ws", "is")
FILL_DRAIN = ("array", "mapped")
SRAM_LEVELS = ("ifmap_sram", "filter_sram", "ofmap_sram")
LEVEL_NAMES = SRAM_LEVELS + ("dram",)
# Width of the partial-sum register per PE, in units of mac_bits (TPU v1: 8-bit
# operands, 32-bit accumulators; Jouppi et al., ISCA 2017, section 2).
PSUM_BITS_PER_MAC_BIT = 4

PARAMETERS = {
    "rows": Param(int, "systolic array rows (PEs along the ifmap-streaming edge)"),
    "cols": Param(int, "systolic array columns (PEs along the filter/ofmap edge)"),
    "dataflow": Param(str, "os (output), ws (weight) or is (input stationary), as SCALE-Sim",
                      choices=DATAFLOWS),
    "fill_drain": Param(str, "array: each fold skews over the whole physical array (SCALE-Sim); "
                             "mapped: only over the rows/cols the fold uses (a lower bound)",
                        choices=FILL_DRAIN),
    "ifmap_sram_bytes": Param(int, "ifmap SRAM capacity, bytes (double-buffered: half is active)"),
    "filter_sram_bytes": Param(int, "filter SRAM capacity, bytes (double-buffered)"),
    "ofmap_sram_bytes": Param(int, "ofmap SRAM capacity, bytes (double-buffered)"),
    "dram_bw_bytes_per_cycle": Param(float, "DRAM bandwidth shared by all operands, bytes per cycle"),
    "mac_bits": Param(int, "operand precision the MAC array is built for, bits (area, SRAM ports)"),
    "clock_hz": CLOCK_HZ,
    "technology": TECHNOLOGY,
}

__all__ = ["DATAFLOWS", "LEVEL_NAMES", "PARAMETERS", "cost", "fold_cycles", "gemm_dims"]


# -- the SRAMs must hold the edge lanes -------------------------------------------------

def _check_fits(layers: LayerBatch, array: _Array):
    """Each SRAM's active half must hold one word (of its operand's width) per edge lane it feeds."""
    for name, capacity, lane, bytes_per_word in zip(("ifmap_sram_bytes", "filter_sram_bytes", "ofmap_sram_bytes"),
                                                    array.sram_bytes, array.lanes, _word_bytes(layers)):
        bad = layers.is_mac & (capacity / 2.0 < lane * bytes_per_word)
        need = np.broadcast_to(2 * lane * bytes_per_word, bad.shape)
        raise_unmappable("systolic", layers, bad, name, capacity,
                         lambda cfg, col, need=need: f"too small to double-buffer one word per array lane; "
                                                     f"need >= {need[cfg, col]:g} bytes")


# -- per-level accesses and traffic ---------------------------------------------------

def _level_accesses(layers: LayerBatch, sram: _Words, dram: _Words, vec: VectorCosts, shape):
    """Word accesses per memory level. A MAC layer's SRAM serves the array and also takes
    the DRAM fills (ifmap, filter) or drains (ofmap); a vector layer reads its inputs
    through the ifmap SRAM and writes through the ofmap SRAM, each word once."""
    is_mac = layers.is_mac
    accesses = {
        "ifmap_sram": np.where(is_mac, sram.ifmap_reads + dram.ifmap_reads, vec.read_words),
        "filter_sram": np.where(is_mac, sram.filter_reads + dram.filter_reads, 0.0),
        "ofmap_sram": np.where(is_mac, sram.ofmap_writes + sram.ofmap_reads + dram.ofmap_writes + dram.ofmap_reads,
                               vec.write_words),
        "dram": np.where(is_mac, dram.ifmap_reads + dram.filter_reads + dram.ofmap_writes + dram.ofmap_reads,
                         vec.read_words + vec.write_words),
    }
    return {k: np.broadcast_to(v, shape).astype(float) for k, v in accesses.items()}


def _dram_mac_words(layers: LayerBatch, dram: _Words, vec: VectorCosts, shape):
    """DRAM words as MAC-precision words, so that bytes and energy follow each operand's width."""
    words = np.where(layers.is_mac,
                     layers.mac_words(dram.ifmap_reads, dram.filter_reads, dram.ofmap_writes + dram.ofmap_reads),
                     vec.mac_words)
    return np.broadcast_to(words, shape).astype(float)


def _level_traffic(layers: LayerBatch, accesses, dram_mac_words, vec: VectorCosts):
    """Bytes per level: SRAM words at their operand's width; DRAM at each word's width
    (vector layers stream their stated bytes once)."""
    traffic = {name: accesses[name] * b for name, b in zip(SRAM_LEVELS, _word_bytes(layers))}
    traffic["dram"] = np.where(layers.is_mac, dram_mac_words * layers.bytes_per_elem, vec.bytes)
    return traffic


def _memory_levels(array: _Array):
    """The three SRAMs, each with a read and a write port per edge lane at ``mac_bits``,
    and DRAM, shared by all operands."""
    srams = tuple(
        MemoryLevel(name, capacity_bytes=cap, bw_bytes_per_cycle=2.0 * lane * array.mac_bytes)
        for name, cap, lane in zip(SRAM_LEVELS, array.sram_bytes, array.lanes))
    dram = MemoryLevel("dram", capacity_bytes=np.full_like(array.clock_hz, np.inf),
                       bw_bytes_per_cycle=array.dram_bw_bytes_per_cycle)
    return srams + (dram,)


# -- area and energy ----------------------------------------------------------------

def _area_mm2(array: _Array):
    """MACs, the three SRAMs, and per PE two operand registers and a partial-sum register
    (passed to ``default_area_mm2`` as its per-PE NoC flip-flops)."""
    return default_area_mm2(array.tech, pes=array.rows * array.cols, l1_bytes=0, l2_bytes=sum(array.sram_bytes),
                            noc_bw_bytes_per_cycle=(2 + PSUM_BITS_PER_MAC_BIT) * array.mac_bytes,
                            bits=array.mac_bits)


def _energy(layers: LayerBatch, array: _Array, accesses, dram_mac_words, area, latency, vec: VectorCosts):
    """pJ per component: MACs (vector layers: ``vec.op_pj``) at the layer's precision, each
    SRAM's accesses at its capacity and operand width, DRAM at the MAC precision
    (``dram_mac_words`` carries the width scaling), and leakage x area x time."""
    tech = array.tech
    bits = layers.bits.astype(float)
    mac_pj = np.where(layers.is_mac, layers.macs * tech.mac_pj(bits), vec.op_pj)
    energy = {"mac": np.broadcast_to(mac_pj, latency.shape)}
    sram_bits = (layers.input_bits, layers.weight_bits, layers.output_bits)
    for name, cap, width in zip(SRAM_LEVELS, array.sram_bytes, sram_bits):
        energy[name] = accesses[name] * tech.sram_pj_per_access(cap, width.astype(float))
    energy["dram"] = dram_mac_words * tech.dram_pj_per_access(bits)
    energy["leakage"] = tech.leakage_pj(area, latency / array.clock_hz)
    return energy


# -- utilization and SCALE-Sim's columns ------------------------------------------------

def _utilization(layers: LayerBatch, array: _Array, latency):
    """Useful work over peak: MACs over ``rows*cols`` PEs, vector ops over ``cols`` lanes."""
    lanes = np.where(layers.is_mac, array.peak, array.cols)
    return layers.work / (lanes * np.maximum(latency, 1e-30))


def _scalesim_columns(layers: LayerBatch, array: _Array, mapping: _Mapping, sram: _Words, dram: _Words, shape):
    """SCALE-Sim's per-layer report columns (zero for vector layers): folds, mapping
    efficiency (mean over folds of used / total PEs), utilization of the compute
    cycles alone, and the SRAM and DRAM word counts per operand."""
    is_mac, peak = layers.is_mac, array.peak
    mapping_eff = mapping.sr * mapping.sc / (mapping.row_folds * mapping.col_folds * peak)
    extras = {
        "row_folds": np.where(is_mac, mapping.row_folds, 0),
        "col_folds": np.where(is_mac, mapping.col_folds, 0),
        "mapping_efficiency": np.where(is_mac, mapping_eff, 0.0),
        "compute_utilization": np.where(is_mac, layers.macs / (peak * np.maximum(mapping.mac_cycles, 1.0)), 0.0),
        "sram_ifmap_reads": np.where(is_mac, sram.ifmap_reads, 0),
        "sram_filter_reads": np.where(is_mac, sram.filter_reads, 0),
        "sram_ofmap_writes": np.where(is_mac, sram.ofmap_writes, 0),
        "sram_ofmap_reads": np.where(is_mac, sram.ofmap_reads, 0),
        "dram_ifmap_reads": np.where(is_mac, dram.ifmap_reads, 0),
        "dram_filter_reads": np.where(is_mac, dram.filter_reads, 0),
        "dram_ofmap_writes": np.where(is_mac, dram.ofmap_writes, 0),
        "dram_ofmap_reads": np.where(is_mac, dram.ofmap_reads, 0),
    }
    return {k: np.broadcast_to(v, shape).astype(float) for k, v in extras.items()}


# -- the model --------------------------------------------------------------------

def cost(layers: LayerBatch, configs: ConfigBatch) -> CostArrays:
    """Cost of every (config, layer) pair on a systolic array; see the module docstring."""
    array = _Array.of(configs)
    _check_fits(layers, array)
    mapping = _map_layers(layers, array)
    vec = vector_layer_costs(layers, array.cols, array.tech)
    compute = _compute_cycles(layers, mapping, vec)
    sram, dram = _words_moved(layers, array, mapping)
    accesses = _level_accesses(layers, sram, dram, vec, compute.shape)
    dram_mac_words = _dram_mac_words(layers, dram, vec, compute.shape)
    traffic = _level_traffic(layers, accesses, dram_mac_words, vec)
    levels = _memory_levels(array)
    latency, bound = bounded_latency(compute, traffic, levels)
    area = _area_mm2(array)
    return CostArrays(levels=levels, compute_cycles=compute, latency_cycles=latency,
                      utilization=_utilization(layers, array, latency), accesses=accesses, traffic_bytes=traffic,
                      energy_pj=_energy(layers, array, accesses, dram_mac_words, area, latency, vec), bound=bound,
                      area_mm2=np.asarray(area, dtype=float).reshape(-1),
                      peak_macs_per_cycle=array.peak.reshape(-1), clock_hz=array.clock_hz.reshape(-1),
                      extras=_scalesim_columns(layers, array, mapping, sram, dram, compute.shape))
