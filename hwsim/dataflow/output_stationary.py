"""Output-stationary model (ShiDianNao-like, template ``shi``).

The mechanism (Du et al., "ShiDianNao", ISCA 2015; MAESTRO's YX-P dataflow,
shared/reference/maestro/Resnet50_yxp_os.m):

* **Spatial unrolling.** The PE array is a ``rows x cols`` grid of output pixels:
  output rows (P) on the array rows, output columns (Q) on the array columns. Each
  PE owns one output and accumulates it in place over C x R x S (and over the
  output channels of a block of ``k1`` channels it keeps as ``k1`` partial sums).
  Matmul layers (``op == "matmul"``) have a 1-column output plane, so their output
  plane is M x N (rows x output channels), as ShiDianNao maps the output neurons of
  classifier layers across its PEs; depthwise layers are ``g`` independent
  single-channel convolutions mapped one after another.
* **Array shape.** The logical shape is chosen per layer among
  ``cols`` in {1, 2, 4, ..., 4096}, ``rows = pes // cols`` (MAESTRO's YX-P mapping
  files likewise choose a cluster size per layer); hwsim takes the shape with the
  fewest compute cycles (first on ties). A shape available with ``pes`` PEs is
  available, with at least as many rows, with more PEs, so more PEs never increase
  compute cycles.
* **Compute cycles** = ``n*g * ceil(Y/rows) * ceil(X/cols) * K_t * C * R * S`` (edge
  effects by ``ceil``): one MAC per PE per cycle. Few output pixels (ResNet-50's
  7x7 CONV5 layers on 256 PEs: 49 busy PEs) means low utilization: the known
  weakness of output-stationary arrays for late layers.
* **Reuse inside the array (L2 -> PEs over the NoC).** Weights are broadcast: one
  word per cycle reaches every PE (matmul: one word per PE column). Inputs enter
  at the array edge and shift between neighbouring PEs (FIFO-H/FIFO-V in
  ShiDianNao), so a spatial tile reads each element of its input window once per
  channel and per block of ``k1`` output channels: ``win_y * win_x`` words, not
  ``rows*cols*R*S``. Each output is written once.
* **L1 (per PE)** holds ``k1`` partial sums plus ``IN_FIFO_WORDS`` input words; ``k1``
  is the largest that fits ``l1_bytes`` (at most K). Accesses: each MAC reads and
  writes its partial sum and reads its input operand (3 per MAC); each input word
  that arrives in a PE is written once and used for ``k1`` MACs.
* **L2 -> DRAM tiling** (``os_tiling``): L2 holds one tile (an input band, a block
  of filters, their outputs); of two loop orders and a small set of block sizes,
  the tile with the least DRAM traffic that fits ``l2_bytes`` wins; if none fits,
  MappingError.
* **Latency** = max(compute, each level's bytes / bandwidth) + fill/drain, with
  fill/drain = ``rows + cols`` cycles per layer (shifting in the first window and
  draining the last outputs). **Energy** = accesses x per-access energy of the
  technology tables (SRAM energy by capacity), NoC words (L2 -> PE deliveries and
  inter-PE shifts) x NoC energy, leakage x time. **Area** from hwsim.hardware.area;
  for ``area_model: maestro2020`` a PE is one MAC lane (``MAESTRO_VECTOR_WIDTH = 1``:
  a ShiDianNao PE has one multiplier and one adder) and MAESTRO's NoC bandwidth,
  in elements, is taken as ``noc_bw_bytes_per_cycle`` (1-byte elements, as
  ``load_maestro_layers`` defaults to 8-bit layers).

**Precision** is per tensor: inputs, weights and outputs (partial sums) are stored,
moved and charged at their own widths (accesses count words); MACs at ``bits`` =
max(input, weight).

Vector (non-MAC) layers run on the PEs as ``pes`` ALU lanes and stream their
bytes through L2 and DRAM once, each operation charged an adder's share of a MAC
(``common.vector_layer_costs``, the policy of every ASIC model).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..hardware.area import default_area_mm2, maestro2020_area_mm2
from ..hardware.memory import MemoryLevel
from ..hardware.params import AREA_MODEL, CLOCK_HZ, TECHNOLOGY, Param
from ..units import ceil_div
from .base import ConfigBatch, CostArrays, LayerBatch, bounded_latency, raise_unmappable
from .common import VectorCosts, vector_layer_costs
from .os_tiling import (  # noqa: F401 - best_fitting, dram_tiling: re-exported, part of this model's API
    best_fitting,
    dram_tiling,
    dram_traffic,
    window,
)

PARAMETERS: dict[str, Param] = {
    "pes": Param(int, "number of processing elements (one MAC each)"),
    "noc_bw_bytes_per_cycle": Param(float, "L2 -> PE array bandwidth, bytes/cycle"),
    "l1_bytes": Param(int, "per-PE storage (partial sums and input FIFO), bytes"),
    "l2_bytes": Param(int, "global buffer (inputs, weights, outputs), bytes"),
    "dram_bw_bytes_per_cycle": Param(float, "DRAM bandwidth, bytes/cycle"),
    "clock_hz": CLOCK_HZ,
    "technology": TECHNOLOGY,
    "area_model": AREA_MODEL,
}

# Candidate array widths (columns); rows = pes // cols. Powers of two up to 4096
# PEs wide cover every array hwsim's sweeps use.
ARRAY_COLS = 2 ** np.arange(13)
# Input words a PE keeps besides its partial sums: one in FIFO-H, one in FIFO-V
# (ShiDianNao's neighbour-to-neighbour input shifting). An hwsim assumption: the
# minimum storage for shifting in both directions.
IN_FIFO_WORDS = 2
# Bytes/cycle a PE can receive from its neighbours (two 32-bit ports); never the
# bound for <= 32-bit layers since a PE consumes at most one input word per MAC.
L1_PORT_BYTES_PER_CYCLE = 8.0
# The maestro2020 area model's MAC lanes per PE and NoC element width (see module docstring).
MAESTRO_VECTOR_WIDTH = 1
MAESTRO_NOC_ELEM_BITS = 8


# -- spatial mapping -----------------------------------------------------------

def output_plane(layers: LayerBatch):
    """(Y, X, K_temporal, is_matmul): the output plane unrolled on the array, the
    output channels iterated in time, and which layers are matmuls (their plane is
    M x N, with no temporal channel loop)."""
    is_mm = layers.is_matmul
    return layers.p, np.where(is_mm, layers.k, layers.q), np.where(is_mm, 1, layers.k), is_mm


def choose_array_shape(plane_y, plane_x, pes):
    """Per (config, layer): the ``rows x cols`` shape (cols in ARRAY_COLS, rows =
    pes // cols) with the fewest spatial tiles; returns (rows, cols, tiles)."""
    cols = ARRAY_COLS.reshape(-1, 1, 1)                       # (S, 1, 1)
    rows = np.asarray(pes).reshape(1, -1, 1) // cols          # (S, C, 1)
    valid = rows >= 1
    safe_rows = np.maximum(rows, 1)
    tiles = ceil_div(plane_y, safe_rows) * ceil_div(plane_x, cols)          # (S, C, L)
    tiles = np.where(valid, tiles, np.iinfo(np.int64).max)
    best = np.argmin(tiles, axis=0)[None]                     # first minimum: deterministic
    pick = lambda a: np.take_along_axis(np.broadcast_to(a, tiles.shape), best, axis=0)[0]
    return pick(safe_rows), pick(cols), pick(tiles)


# -- the model, stage by stage ---------------------------------------------------

class SpatialMapping(NamedTuple):
    """How one layer sits on one config's array (each field (C, L) or broadcastable)."""
    rows: np.ndarray          # logical array shape chosen for the layer
    cols: np.ndarray
    tiles: np.ndarray         # spatial tiles of the output plane
    rows_used: np.ndarray     # array rows/cols that hold an output (edge of small planes)
    cols_used: np.ndarray
    k_t: np.ndarray           # output channels iterated in time
    is_mm: np.ndarray         # matmul: M x N output plane
    mac_cycles: np.ndarray    # compute cycles of a MAC layer


def spatial_mapping(layers: LayerBatch, pes) -> SpatialMapping:
    """Unroll the output plane on the array and count compute cycles: each PE does
    one MAC per cycle, so a spatial tile takes ``n*g * K_t * C * R * S`` cycles and
    the layer takes that times the number of tiles (edge effects by ceil)."""
    plane_y, plane_x, k_t, is_mm = output_plane(layers)
    rows, cols, tiles = choose_array_shape(plane_y, plane_x, pes)          # (C, L)
    per_tile = layers.n * layers.g * k_t * layers.c * layers.r * layers.s
    return SpatialMapping(rows, cols, tiles, np.minimum(rows, plane_y), np.minimum(cols, plane_x),
                          k_t, is_mm, (tiles * per_tile).astype(float))


def psums_per_pe(layers: LayerBatch, l1_bytes, k_t):
    """``k1``: the partial sums a PE keeps in L1 (at the output width) besides its
    ``IN_FIFO_WORDS`` input words, at most the temporal output channels. A MAC layer
    whose PEs cannot hold even one is unmappable."""
    k1_max = np.floor((l1_bytes - IN_FIFO_WORDS * layers.input_bytes_per_elem)
                      / layers.output_bytes_per_elem).astype(np.int64)
    def need(_, col):
        bi, bo = layers.input_bits[0][col], layers.output_bits[0][col]
        return (f"too small; a PE needs one partial sum of {bo} bits and {IN_FIFO_WORDS} input FIFO words of "
                f"{bi} bits = {(bo + IN_FIFO_WORDS * bi) / 8:g} bytes")
    raise_unmappable("output_stationary", layers, layers.is_mac & (k1_max < 1), "l1_bytes", l1_bytes, need)
    return np.clip(np.minimum(k1_max, k_t), 1, None)


class ArrayTraffic(NamedTuple):
    """Words moved between L2 and the PE array, and inside the array (each (C, L))."""
    words: np.ndarray         # L2 <-> PE words (inputs + weights + outputs)
    mac_words: np.ndarray     # the same as MAC-precision words
    arrivals: np.ndarray      # input words written into PEs (each used for k1 MACs)
    shifts: np.ndarray        # input words passed PE to PE instead of read from L2


def array_traffic(layers: LayerBatch, m: SpatialMapping, k1) -> ArrayTraffic:
    """NoC words, by the reuse inside the array: a tile reads its input window once
    per channel and per block of ``k1`` output channels (neighbours shift the rest),
    weights are broadcast (matmul: once per PE column), each output is written once."""
    padded_h, padded_w = layers.h + 2 * layers.pad_h, layers.w + 2 * layers.pad_w
    win_y = window(m.rows_used, layers.stride_h, layers.r, layers.dil_h, padded_h)
    win_x = np.where(m.is_mm, 1, window(m.cols_used, layers.stride_w, layers.s, layers.dil_w, padded_w))
    ng = layers.n * layers.g
    input_words = ng * m.tiles * ceil_div(m.k_t, k1) * layers.c * win_y * win_x
    weight_words = ng * m.tiles * m.k_t * layers.c * layers.r * layers.s * np.where(m.is_mm, m.cols_used, 1)
    output_words = layers.output_elems
    arrivals = layers.macs.astype(float) / k1
    return ArrayTraffic(
        words=(input_words + weight_words + output_words).astype(float),
        mac_words=layers.mac_words(input_words, weight_words, output_words),
        arrivals=arrivals,
        shifts=np.where(m.is_mm, 0.0, np.maximum(arrivals - input_words, 0.0)),
    )


# -- per-level bytes, accesses, energy ----------------------------------------------
# MAC layers use the counts above; vector layers stream their operands once from
# DRAM through L2 (common.vector_layer_costs) and never touch L1 or the NoC.

def level_traffic_bytes(layers: LayerBatch, array: ArrayTraffic, dram_mac_words, vec: VectorCosts):
    """Bytes each level delivers (latency bounds): L1 receives the input arrivals,
    L2 feeds the array, DRAM feeds L2."""
    is_mac, bpe = layers.is_mac, layers.bytes_per_elem
    return {
        "l1": np.where(is_mac, array.arrivals * layers.input_bytes_per_elem, 0.0),
        "l2": np.where(is_mac, array.mac_words * bpe, vec.bytes),
        "dram": np.where(is_mac, dram_mac_words * bpe, vec.bytes),
    }


def level_accesses(layers: LayerBatch, array: ArrayTraffic, dram_words, vec: VectorCosts):
    """Word accesses per level. L1: each MAC reads and writes its partial sum and
    reads its input (3 per MAC), and each arriving input is written once. L2: the
    array's words plus the words filled from / drained to DRAM."""
    is_mac, macs = layers.is_mac, layers.macs.astype(float)
    return {
        "l1": np.where(is_mac, 3.0 * macs + array.arrivals, 0.0),
        "l2": np.where(is_mac, array.words + dram_words, vec.words),
        "dram": np.where(is_mac, dram_words, vec.words),
    }


def level_mac_words(layers: LayerBatch, array: ArrayTraffic, dram_mac_words, vec: VectorCosts):
    """Accesses counted in MAC-precision words, the unit energy is charged in (each
    tensor's words scaled by its width / ``bits``); the NoC also carries the inter-PE shifts."""
    is_mac, words, macs = layers.is_mac, layers.mac_words, layers.macs.astype(float)
    return {
        "l1": np.where(is_mac, macs * words(inputs=1.0, outputs=2.0) + words(inputs=array.arrivals), 0.0),
        "l2": np.where(is_mac, array.mac_words + dram_mac_words, vec.mac_words),
        "dram": np.where(is_mac, dram_mac_words, vec.mac_words),
        "noc": np.where(is_mac, array.mac_words + words(inputs=array.shifts), 0.0),
    }


def memory_levels(configs: ConfigBatch) -> tuple[MemoryLevel, ...]:
    """L1 (per PE, ``pes`` copies, fed by the neighbour ports), L2 (fed to the array
    at the NoC bandwidth) and DRAM, with their capacities (SRAM energy) and
    bandwidths (the latency bound)."""
    return (
        MemoryLevel("l1", configs.ints("l1_bytes"), configs.ints("pes") * L1_PORT_BYTES_PER_CYCLE),
        MemoryLevel("l2", configs.ints("l2_bytes"), configs.floats("noc_bw_bytes_per_cycle")),
        MemoryLevel("dram", np.full_like(configs.floats("clock_hz"), np.inf),
                    configs.floats("dram_bw_bytes_per_cycle")),
    )


def energy_pj(layers: LayerBatch, tech, mac_words, levels, area, seconds, vec: VectorCosts):
    """MACs x MAC energy (vector layers: their operations, ``vec.op_pj``), each
    level's MAC-precision words x its per-access energy at ``bits`` (SRAM by
    capacity), leakage x time."""
    bits = layers.bits
    l1, l2 = levels[0].capacity_bytes, levels[1].capacity_bytes          # SRAM energy by capacity
    return {
        "mac": np.where(layers.is_mac, layers.macs.astype(float) * tech.mac_pj(bits), vec.op_pj),
        "l1": mac_words["l1"] * tech.sram_pj_per_access(l1, bits),
        "l2": mac_words["l2"] * tech.sram_pj_per_access(l2, bits),
        "dram": mac_words["dram"] * tech.dram_pj_per_access(bits),
        "noc": mac_words["noc"] * tech.noc_pj_per_access(bits),
        "leakage": tech.leakage_pj(area[:, None], seconds),
    }


# -- the model -------------------------------------------------------------------

def cost(layers: LayerBatch, configs: ConfigBatch) -> CostArrays:
    """Output-stationary cost of every layer on every config (see module docstring):
    map the output plane (compute cycles), size the partial-sum block per PE, count
    the array's and DRAM's words, then per-level bytes -> latency, accesses -> energy."""
    tech, is_mac = configs.technology, layers.is_mac
    pes, clock = configs.ints("pes"), configs.floats("clock_hz")          # (C, 1)
    m = spatial_mapping(layers, pes)
    k1 = psums_per_pe(layers, configs.ints("l1_bytes"), m.k_t)
    array = array_traffic(layers, m, k1)
    dram_mac_words, dram_words = dram_traffic(layers, configs.ints("l2_bytes"))

    vec = vector_layer_costs(layers, pes, tech)
    compute = np.where(is_mac, m.mac_cycles, vec.compute_cycles)
    traffic = level_traffic_bytes(layers, array, dram_mac_words, vec)
    levels = memory_levels(configs)
    fill_drain = np.where(is_mac, (m.rows_used + m.cols_used).astype(float), 0.0)   # shift in, drain out
    latency, bound = bounded_latency(compute, traffic, levels, fill_drain)
    area = _area_mm2(configs, tech)
    energy = energy_pj(layers, tech, level_mac_words(layers, array, dram_mac_words, vec), levels, area,
                       latency / clock, vec)

    macs = layers.macs.astype(float)
    full = lambda a: np.broadcast_to(np.asarray(a, dtype=float), latency.shape)
    return CostArrays(
        levels=levels,
        compute_cycles=full(compute),
        latency_cycles=latency,
        utilization=layers.work / (pes * latency),
        accesses={k: full(v) for k, v in level_accesses(layers, array, dram_words, vec).items()},
        traffic_bytes={k: full(v) for k, v in traffic.items()},
        energy_pj={k: full(v) for k, v in energy.items()},
        bound=bound,
        area_mm2=area,
        peak_macs_per_cycle=pes.reshape(-1).astype(float),
        clock_hz=clock.reshape(-1),
        extras={
            "array_rows": full(np.where(is_mac, m.rows, 0)),
            "array_cols": full(np.where(is_mac, m.cols, 0)),
            "active_pes": full(np.where(is_mac, m.rows_used * m.cols_used, 0)),
            "mapping_efficiency": full(np.where(is_mac, macs / (pes * np.maximum(m.mac_cycles, 1.0)), 0.0)),
            "psums_per_pe": full(np.where(is_mac, k1, 0)),
        },
    )


def _area_mm2(configs: ConfigBatch, tech) -> np.ndarray:
    """(C,) area: hwsim's default model, or MAESTRO's 2020 closed form."""
    pes, l1, l2 = (np.asarray(configs[name]).reshape(-1) for name in ("pes", "l1_bytes", "l2_bytes"))
    noc = configs.floats("noc_bw_bytes_per_cycle").reshape(-1)
    if configs["area_model"] == "maestro2020":
        return maestro2020_area_mm2(pes, MAESTRO_VECTOR_WIDTH, l1, l2, noc, elem_bits=MAESTRO_NOC_ELEM_BITS)
    return default_area_mm2(tech, pes, l1, l2, noc, bits=16)
