"""TPU-like systolic array (``rows x cols`` MACs), as SCALE-Sim models it: the model.

The model follows SCALE-Sim (Samajdar et al., ISPASS 2020; scalesim-project/scale-sim-v2
and -v3, ``compute/systolic_compute_{os,ws,is}.py``), written in closed form and
vectorized over layers and configurations, and reports its activity to the shared
cost stage (``hwsim.dataflow.stage``), which turns it into bytes, latency, energy
and area.

**Mapping** (``systolic_mapping.py``): a convolution (per group) is lowered to the GEMM
``(M x K) @ (K x N)``; the dataflow (``os``, ``ws``, ``is``) places two GEMM dimensions
on the array's rows and cols and streams the third in time; the result is cut into
``row_folds x col_folds`` folds run one after another (``fill_drain`` sets how much
skew each fold pays), on the sub-array of least bounded latency (then fewest DRAM
bytes, then SRAM words). That module also counts the words each operand moves
between the array and the SRAMs, between DRAM and the SRAMs, and from PE to PE.

**Latency** = max(compute, each level's bytes / bandwidth): the fold skew is part of
the compute cycles (SCALE-Sim's cycle count), so the stage adds no fill/drain. Each
SRAM has one read and one write port per array edge lane it feeds
(``2 * lanes * mac_bits / 8`` bytes/cycle).

**Precision** is per tensor: the ifmap, filter and ofmap SRAMs hold words of the
input, weight and output width (capacity in words, DRAM traffic in bytes and
per-access energy follow each operand's width). The MACs are ``mac_bits`` wide: a
wider layer takes ``ceil(input bits / mac_bits) * ceil(weight bits / mac_bits)``
passes (the stage multiplies the compute cycles, skew included, and MAC energy).

**Energy** (the stage): MACs at ``mac_bits``; each SRAM's words at its capacity and
operand width; DRAM per bit; the neighbour-forwarding word-hops (one PE-to-PE pipeline
register per PE a word reaches; SCALE-Sim charges none, see ``systolic_mapping``) x
the technology's hop energy; leakage x time.

**Area** (the stage): ``rows*cols`` MACs of ``mac_bits``, the three SRAMs, and per PE
two operand registers (``mac_bits`` each) plus a partial-sum register of
``4*mac_bits`` (TPU v1: 8-bit operands, 32-bit accumulation, Jouppi et al. ISCA 2017)
as flip-flops (the stage's NoC flip-flops, ``(pes + 1) x width``).

**Vector layers** (pooling, add, ...) follow the stage's policy on ``cols`` lanes (TPU
v1's activation pipeline is as wide as the array), reading through the ifmap SRAM and
writing through the ofmap SRAM.

A layer that cannot map (an SRAM whose active half holds less than one word of its
operand, even for a one-lane sub-array) is flagged ``stage.Unmappable``.

Memory levels (innermost first): ``ifmap_sram``, ``filter_sram``, ``ofmap_sram``
(siblings, one per operand as in SCALE-Sim) and ``dram``.
"""

from __future__ import annotations

import numpy as np

from ..hardware.memory import MemoryLevel, dram_level
from ..hardware.params import CLOCK_HZ, TECHNOLOGY, Param
from .base import ConfigBatch, LayerBatch, bounded_latency
from .common import solve_per_unique
from .stage import Activity, Datapath, Unmappable, cheapest, datapath_passes
from .systolic_mapping import (SRAM_PARAMS, _Array, _Mapping, _Words, _word_bytes, fold_cycles, gemm_dims,
                               lanes_fit, level_words, map_layers, subarray_candidates, word_hops, words_moved)

DATAFLOWS = ("os", "ws", "is")
FILL_DRAIN = ("array", "mapped")
SRAM_LEVELS = ("ifmap_sram", "filter_sram", "ofmap_sram")
LEVEL_NAMES = SRAM_LEVELS + ("dram",)
# Width of the partial-sum register per PE, in units of mac_bits (TPU v1: 8-bit
# operands, 32-bit accumulators; Jouppi et al., ISCA 2017, section 2).
PSUM_BITS_PER_MAC_BIT = 4
MAX_EDGE = 2**12          # rows, cols: up to 2^24 PEs, exact in every product below
MAX_BYTES = 2**40
BANDWIDTH = dict(minimum=1e-6, inclusive=True, maximum=1e9)

PARAMETERS = {
    "rows": Param(int, "systolic array rows (PEs along the ifmap-streaming edge)", maximum=MAX_EDGE),
    "cols": Param(int, "systolic array columns (PEs along the filter/ofmap edge)", maximum=MAX_EDGE),
    "dataflow": Param(str, "os (output), ws (weight) or is (input stationary), as SCALE-Sim",
                      choices=DATAFLOWS),
    "fill_drain": Param(str, "array: each fold skews over the whole physical array (SCALE-Sim); "
                             "mapped: only over the rows/cols the fold uses (a lower bound)",
                        choices=FILL_DRAIN),
    "ifmap_sram_bytes": Param(int, "ifmap SRAM capacity, bytes (double-buffered: half is active)",
                              maximum=MAX_BYTES),
    "filter_sram_bytes": Param(int, "filter SRAM capacity, bytes (double-buffered)", maximum=MAX_BYTES),
    "ofmap_sram_bytes": Param(int, "ofmap SRAM capacity, bytes (double-buffered)", maximum=MAX_BYTES),
    "dram_bw_bytes_per_cycle": Param(float, "DRAM bandwidth shared by all operands, bytes per cycle", **BANDWIDTH),
    "mac_bits": Param(int, "MAC datapath width, bits: wider layers take several passes; MAC energy, area, "
                           "SRAM ports", maximum=64),
    "clock_hz": CLOCK_HZ,
    "technology": TECHNOLOGY,
}

__all__ = ["DATAFLOWS", "LEVEL_NAMES", "PARAMETERS", "activity", "fold_cycles", "gemm_dims"]


def memory_levels(array: _Array) -> tuple[MemoryLevel, ...]:
    """The three SRAMs, each with a read and a write port per edge lane at ``mac_bits``,
    and DRAM, shared by all operands."""
    srams = tuple(MemoryLevel(name, capacity_bytes=cap, bw_bytes_per_cycle=2.0 * lane * array.mac_bytes)
                  for name, cap, lane in zip(SRAM_LEVELS, array.sram_bytes, array.lanes))
    return srams + (dram_level(array.dram_bw_bytes_per_cycle),)


# -- the sub-array choice -----------------------------------------------------------------

def choose_mapping(layers: LayerBatch, array: _Array, levels, passes):
    """The sub-array of least bounded latency, then fewest DRAM bytes, then fewest SRAM
    words, then the first (the full array) -- see ``systolic_mapping``. Returns the
    mapping, its SRAM and DRAM words, and which (config, layer) points have any
    sub-array whose SRAMs hold a word per lane."""
    sr, sc, _ = gemm_dims(layers, array.dataflow)
    mac = layers.is_mac
    rows, cols, valid = subarray_candidates(array, np.where(mac, sr, 1), np.where(mac, sc, 1))   # (S, C, 1)
    for fits in lanes_fit(layers, array, rows, cols):
        valid = valid & fits                                              # (S, C, L)
    m = map_layers(layers, array, rows, cols)
    sram, dram = words_moved(layers, array, m)
    words = level_words(sram, dram)
    traffic = {name: w.bytes(layers) for name, w in words.items()}
    latency, _ = bounded_latency(m.mac_cycles * passes, traffic, levels)
    on_chip = sum(words[name].total for name in SRAM_LEVELS)
    shape = np.broadcast_shapes(latency.shape, valid.shape)
    inf = lambda a: np.where(valid, a, np.inf)
    best = cheapest((inf(latency), inf(traffic["dram"]), inf(on_chip)))[None]
    pick = lambda a: np.take_along_axis(np.broadcast_to(a, shape), best, axis=0)[0]
    return (_Mapping(*(pick(a) for a in m)), _Words(*(pick(a) for a in sram)), _Words(*(pick(a) for a in dram)),
            valid.any(axis=0))


# The parameters the mapping depends on.
MAPPING_PARAMETERS = ("rows", "cols", "mac_bits", "ifmap_sram_bytes", "filter_sram_bytes", "ofmap_sram_bytes",
                      "dram_bw_bytes_per_cycle")


def solve_mapping(layers: LayerBatch, configs: ConfigBatch):
    """``choose_mapping`` once per distinct set of the parameters it depends on."""
    def solve(**columns):
        array = _Array.of(ConfigBatch({**columns, "clock_hz": np.ones_like(columns["dram_bw_bytes_per_cycle"])},
                                      configs.options, configs.technology, len(columns["rows"])))
        return choose_mapping(layers, array, memory_levels(array), datapath_passes(layers, array.mac_bits))
    columns = {name: configs.floats(name) if name.endswith("_cycle") else configs.ints(name)
               for name in MAPPING_PARAMETERS}
    return solve_per_unique(columns, solve)


def _flag_small_srams(layers: LayerBatch, array: _Array, mappable, unmappable: Unmappable):
    """An SRAM whose active half holds less than one word of its operand cannot feed
    even a one-lane sub-array: the point is unmappable, naming that SRAM."""
    one = lanes_fit(layers, array, 1, 1)
    for name, fits, cap, b in zip(SRAM_PARAMS, one, array.sram_bytes, _word_bytes(layers)):
        need = np.broadcast_to(2.0 * b, np.broadcast_shapes(np.shape(fits), np.shape(cap)))
        unmappable.add(layers.is_mac & ~mappable & ~fits, name, cap,
                       lambda cfg, col, need=need: f"too small to double-buffer one word per array lane; "
                                                   f"need >= {need[min(cfg, need.shape[0] - 1), col]:g} bytes")


def _scalesim_columns(layers: LayerBatch, array: _Array, mapping: _Mapping, sram: _Words, dram: _Words):
    """SCALE-Sim's per-layer report columns (zero for vector layers): folds, mapping
    efficiency (mean over folds of used / total PEs), utilization of the compute
    cycles alone, and the SRAM and DRAM word counts per operand; and the sub-array."""
    is_mac, peak = layers.is_mac, array.peak
    mapping_eff = mapping.sr * mapping.sc / (mapping.row_folds * mapping.col_folds * peak)
    columns = {
        "row_folds": mapping.row_folds, "col_folds": mapping.col_folds,
        "mapping_efficiency": mapping_eff,
        "compute_utilization": layers.macs / (peak * np.maximum(mapping.mac_cycles, 1.0)),
        "array_rows_used": np.minimum(mapping.rows, mapping.sr), "array_cols_used": np.minimum(mapping.cols, mapping.sc),
        "sram_ifmap_reads": sram.ifmap_reads, "sram_filter_reads": sram.filter_reads,
        "sram_ofmap_writes": sram.ofmap_writes, "sram_ofmap_reads": sram.ofmap_reads,
        "dram_ifmap_reads": dram.ifmap_reads, "dram_filter_reads": dram.filter_reads,
        "dram_ofmap_writes": dram.ofmap_writes, "dram_ofmap_reads": dram.ofmap_reads,
    }
    columns["active_pes"] = columns["array_rows_used"] * columns["array_cols_used"]
    return {k: np.where(is_mac, v, 0) for k, v in columns.items()}


# -- the model --------------------------------------------------------------------

def activity(layers: LayerBatch, configs: ConfigBatch) -> Activity:
    """Activity of every (config, layer) pair on a systolic array; see the module docstring."""
    array = _Array.of(configs)
    unmappable = Unmappable("systolic")
    levels = memory_levels(array)
    mapping, sram, dram, mappable = solve_mapping(layers, configs)
    _flag_small_srams(layers, array, mappable, unmappable)
    pes = array.rows * array.cols
    return Activity(
        levels=levels,
        accesses=level_words(sram, dram),
        compute_cycles=mapping.mac_cycles,
        datapath=Datapath(pes=pes, mac_bits=array.mac_bits, vector_lanes=array.cols),
        clock_hz=array.clock_hz,
        noc_word_hops=word_hops(layers, mapping, array.dataflow),
        noc_bw_bytes_per_cycle=(2 + PSUM_BITS_PER_MAC_BIT) * array.mac_bytes,
        unmappable=unmappable,
        vector_levels=("ifmap_sram", "ofmap_sram"),
        extras=_scalesim_columns(layers, array, mapping, sram, dram),
    )
