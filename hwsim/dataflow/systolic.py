"""TPU-like systolic array (``rows x cols`` MACs), as SCALE-Sim models it.

The model follows SCALE-Sim (Samajdar et al., ISPASS 2020; scalesim-project/scale-sim-v2
and -v3, ``compute/systolic_compute_{os,ws,is}.py``), written in closed form and
vectorized over layers and configurations.

**Lowering.** A convolution (per group) is the GEMM ``(M x K) @ (K x N)`` with
``M = n*p*q`` output pixels (batch folded in), ``N = k`` filters and ``K = c*r*s``
window elements. Each dataflow places two GEMM dimensions on the array and streams
the third in time, ``(Sr, Sc, T)``:

* ``os`` (output stationary): ``Sr = M`` on rows, ``Sc = N`` on cols, ``T = K``;
  ifmap rows enter from the left, filter columns from the top, each PE keeps one output.
* ``ws`` (weight stationary): ``Sr = K``, ``Sc = N``, ``T = M``; a ``rows x cols``
  filter tile is preloaded, ifmap streams from the left, partial sums flow down.
* ``is`` (input stationary): ``Sr = K``, ``Sc = M``, ``T = N``; an ifmap (im2col) tile
  is preloaded, filters stream, partial sums flow down.

**Folding and compute cycles.** ``Sr x Sc`` is cut into ``ceil(Sr/rows) x ceil(Sc/cols)``
folds, run one after another (column folds outer, row folds inner, as in SCALE-Sim).
Each fold streams ``T`` operand vectors through a skewed wavefront: the operands
take ``rows - 1`` and ``cols - 1`` extra cycles to reach the far corner and the
results drain, so a fold takes ``T + rows + cols - 2`` cycles for ``os``, and
``ws``/``is`` add ``rows`` cycles to preload the stationary tile:
``T + 2*rows + cols - 2``. SCALE-Sim skews over the *whole* physical array even
when a fold uses part of it (``fill_drain: array``, the default, which reproduces
its cycle counts exactly). ``fill_drain: mapped`` charges only the rows/cols a fold
uses, as an array whose unused rows/cols are bypassed would; it is a lower bound and
makes cycles monotone in ``rows``/``cols`` (``array`` is not: a bigger array has a
longer pipeline, which a small layer pays). Groups run one after another.

SCALE-Sim reports "Total Cycles" as the index of the last busy cycle (cycles counted
from 0), i.e. this model's ``compute_cycles - 1`` per layer.

**SRAM accesses** (one word per operand per array edge lane per cycle, as SCALE-Sim
counts its SRAM reads): ``os`` reads ifmap ``col_folds*M*K`` and filters
``row_folds*K*N`` times and writes each output once; ``ws`` reads ifmap
``col_folds*M*K``, each weight once, and writes ``row_folds*M*N`` partial sums (reading
back ``(row_folds-1)*M*N`` to accumulate them); ``is`` reads each im2col ifmap element
once, filters ``col_folds*K*N``, and writes/reads partial sums like ``ws``. On top of
these the SRAMs see the DRAM fills (writes) and drains (reads). SCALE-Sim does not
count partial-sum read-backs and adds ``rows + cols`` bookkeeping writes per ``os`` fold.

**DRAM traffic** (double-buffered SRAMs, half of each holds the working set, as
SCALE-Sim's ``active_buf_frac = 0.5``): the ifmap SRAM holds the raw ifmap and the
array reads it through im2col address generation. With the SCALE-Sim loop order
(column folds outer), the operand indexed by the inner (row) folds is reused across
column folds if it fits: else it is re-read once per column fold. ``os``: ifmap once
if it fits (else ``col_folds`` times); a filter column block (``K x cols``) is reused
across row folds if it fits (else re-read per row fold); outputs written once.
``ws``: weights once; ifmap as ``os``; partial sums of one column block
(``M x cols``) stay in the ofmap SRAM if they fit, else they spill: ``row_folds``
writes and ``row_folds - 1`` reads per output. ``is``: ifmap once if it fits, else its
im2col tiles are fetched directly (``K*M``, at least the ifmap); filters once if they
fit (else ``col_folds`` times); partial sums (``N x cols``) as ``ws``. SCALE-Sim itself
counts the fold-padded im2col operand matrices as DRAM reads (im2col duplicates and
null padding included); see tests/validation/test_scalesim.py.

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
through the ofmap SRAM, and stream their bytes from/to DRAM once; each vector op is
charged one MAC's energy.

Memory levels (innermost first): ``ifmap_sram``, ``filter_sram``, ``ofmap_sram``
(siblings, one per operand as in SCALE-Sim) and ``dram``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..errors import MappingError
from ..hardware.area import default_area_mm2
from ..hardware.memory import MemoryLevel
from ..hardware.params import CLOCK_HZ, TECHNOLOGY, Param
from ..hardware.technology import Technology
from .base import ConfigBatch, CostArrays, LayerBatch, bounded_latency
from .common import ceil_div, vector_compute_cycles, vector_traffic_bytes

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


# -- the hardware -----------------------------------------------------------------

@dataclass(frozen=True)
class _Array:
    """The systolic-array design points of one batch: numbers as ``(C, 1)`` arrays;
    the dataflow, the fill/drain rule and the technology are shared by the batch."""

    rows: np.ndarray
    cols: np.ndarray
    mac_bits: np.ndarray
    clock_hz: np.ndarray
    sram_bytes: tuple[np.ndarray, np.ndarray, np.ndarray]     # ifmap, filter, ofmap
    dram_bw_bytes_per_cycle: np.ndarray
    dataflow: str
    fill_drain: str
    tech: Technology

    @classmethod
    def of(cls, configs: ConfigBatch) -> _Array:
        """Read the design points out of a ``ConfigBatch``."""
        return cls(rows=configs["rows"].astype(np.int64), cols=configs["cols"].astype(np.int64),
                   mac_bits=configs["mac_bits"], clock_hz=configs["clock_hz"].astype(float),
                   sram_bytes=tuple(configs[f"{op}_sram_bytes"].astype(float) for op in ("ifmap", "filter", "ofmap")),
                   dram_bw_bytes_per_cycle=configs["dram_bw_bytes_per_cycle"].astype(float),
                   dataflow=configs["dataflow"], fill_drain=configs["fill_drain"], tech=configs.technology)

    @property
    def peak(self) -> np.ndarray:
        """MACs per cycle: one per PE."""
        return (self.rows * self.cols).astype(float)

    @property
    def mac_bytes(self) -> np.ndarray:
        """Bytes of one word at the precision the array is built for."""
        return self.mac_bits / 8.0

    @property
    def lanes(self):
        """Array edge lanes fed by the (ifmap, filter, ofmap) SRAM."""
        return _edge_lanes(self.rows, self.cols, self.dataflow)


def _word_bytes(layers: LayerBatch):
    """Bytes of one word in the (ifmap, filter, ofmap) SRAM: the input, weight and output width."""
    return layers.input_bytes_per_elem, layers.weight_bytes_per_elem, layers.output_bytes_per_elem


def _edge_lanes(rows, cols, dataflow: str):
    """Array edge lanes fed by (ifmap, filter, ofmap) SRAM (SCALE-Sim's demand matrix widths)."""
    if dataflow == "is":
        return cols, rows, cols
    return rows, cols, cols


def _check_fits(layers: LayerBatch, array: _Array):
    """Each SRAM's active half must hold one word (of its operand's width) per edge lane it feeds."""
    for name, capacity, lane, bytes_per_word in zip(("ifmap_sram_bytes", "filter_sram_bytes", "ofmap_sram_bytes"),
                                                    array.sram_bytes, array.lanes, _word_bytes(layers)):
        bad = layers.is_mac & (capacity / 2.0 < lane * bytes_per_word)
        if bad.any():
            cfg, col = np.argwhere(bad)[0]
            value = np.broadcast_to(capacity, bad.shape)[cfg, col]
            need = 2 * np.broadcast_to(lane * bytes_per_word, bad.shape)[cfg, col]
            raise MappingError(f"layer '{layers.names[col]}': field '{name}' = {value:g}: too small to "
                               f"double-buffer one word per array lane; need >= {need:g} bytes")


# -- mapping and compute cycles -----------------------------------------------------

def gemm_dims(layers: LayerBatch, dataflow: str):
    """``(Sr, Sc, T)`` per group: the GEMM dimensions on the rows, on the cols and in time."""
    m = layers.n * layers.p * layers.q      # output pixels
    n = layers.k                            # filters (per group)
    k = layers.c * layers.r * layers.s      # window (per group)
    if dataflow == "os":
        return m, n, k
    if dataflow == "ws":
        return k, n, m
    return k, m, n                          # is


def fold_cycles(sr, sc, t, rows, cols, dataflow: str, fill_drain: str):
    """Cycles to run all folds of one group, and the row/column fold counts.

    ``array``: every fold takes ``T + rows + cols - 2`` (+ ``rows`` preload for ws/is).
    ``mapped``: a fold skews only over the rows/cols it uses; summed over folds the used
    rows add up to ``col_folds * Sr`` and the used cols to ``row_folds * Sc``.
    """
    row_folds = ceil_div(sr, rows)
    col_folds = ceil_div(sc, cols)
    folds = row_folds * col_folds
    preload = 0 if dataflow == "os" else 1
    if fill_drain == "array":
        cycles = folds * (t + (1 + preload) * rows + cols - 2)
    else:
        cycles = folds * (t - 2) + (1 + preload) * col_folds * sr + row_folds * sc
    return cycles, row_folds, col_folds


class _Mapping(NamedTuple):
    """A MAC layer lowered to a GEMM and folded onto the array (per group, but ``mac_cycles``)."""
    sr: np.ndarray              # GEMM dimension on the rows
    sc: np.ndarray              # ... on the cols
    t: np.ndarray               # ... streamed in time
    row_folds: np.ndarray
    col_folds: np.ndarray
    mac_cycles: np.ndarray      # compute cycles of the whole layer: its groups one after another


def _map_layers(layers: LayerBatch, array: _Array) -> _Mapping:
    """Lower each layer to ``(Sr, Sc, T)``, cut it into folds and count the cycles of all
    ``g`` groups, which run one after another."""
    sr, sc, t = gemm_dims(layers, array.dataflow)
    cycles, row_folds, col_folds = fold_cycles(sr, sc, t, array.rows, array.cols, array.dataflow, array.fill_drain)
    return _Mapping(sr, sc, t, row_folds, col_folds, mac_cycles=(layers.g * cycles).astype(float))


def _compute_cycles(layers: LayerBatch, array: _Array, mapping: _Mapping):
    """MAC layers: their folds; vector layers: one op per cycle on each of ``cols`` lanes."""
    return np.where(layers.is_mac, mapping.mac_cycles, vector_compute_cycles(layers, array.cols))


# -- words moved ------------------------------------------------------------------

class _Words(NamedTuple):
    """Words of a MAC layer moved per operand, on one side of the SRAMs."""
    ifmap_reads: np.ndarray
    filter_reads: np.ndarray
    ofmap_writes: np.ndarray
    ofmap_reads: np.ndarray


def _array_accesses(m: _Mapping, dataflow: str):
    """Word accesses between the SRAMs and the array, per group:
    (ifmap reads, filter reads, ofmap writes, ofmap partial-sum reads)."""
    sr, sc, t, row_folds, col_folds = m.sr, m.sc, m.t, m.row_folds, m.col_folds
    if dataflow == "os":
        return col_folds * sr * t, row_folds * t * sc, sr * sc, 0 * sr
    psum_writes = row_folds * t * sc
    psum_reads = (row_folds - 1) * t * sc
    if dataflow == "ws":
        return col_folds * t * sr, sr * sc, psum_writes, psum_reads
    return sr * sc, col_folds * sr * t, psum_writes, psum_reads   # is


def _dram_words(layers: LayerBatch, m: _Mapping, half_words, cols, dataflow):
    """DRAM words per group: (ifmap reads, filter reads, ofmap writes, ofmap reads).
    ``half_words`` = active half of each SRAM in words (ifmap, filter, ofmap)."""
    half_if, half_f, half_of = half_words
    sr, sc, t, row_folds, col_folds = m.sr, m.sc, m.t, m.row_folds, m.col_folds
    ifmap = layers.n * layers.c * layers.h * layers.w      # raw ifmap of one group
    weights = layers.k * layers.c * layers.r * layers.s
    outputs = layers.n * layers.k * layers.p * layers.q
    ifmap_fits = ifmap <= half_if
    if dataflow == "os":
        ifmap_rd = np.where(ifmap_fits, ifmap, col_folds * ifmap)
        block_fits = t * np.minimum(cols, sc) <= half_f        # K x cols filter block
        filter_rd = np.where(block_fits, weights, row_folds * weights)
        return ifmap_rd, filter_rd, outputs, 0 * outputs
    psum_fits = t * np.minimum(cols, sc) <= half_of            # partial sums of one column block
    ofmap_wr = np.where(psum_fits, outputs, row_folds * outputs)
    ofmap_rd = np.where(psum_fits, 0, (row_folds - 1) * outputs)
    if dataflow == "ws":
        ifmap_rd = np.where(ifmap_fits, ifmap, col_folds * ifmap)
        filter_rd = weights
    else:   # is: stationary im2col tiles fetched directly when the raw ifmap does not fit
        ifmap_rd = np.where(ifmap_fits, ifmap, np.maximum(sr * sc, ifmap))
        filter_rd = np.where(weights <= half_f, weights, col_folds * weights)
    return ifmap_rd, filter_rd, ofmap_wr, ofmap_rd


def _words_moved(layers: LayerBatch, array: _Array, mapping: _Mapping) -> tuple[_Words, _Words]:
    """Words a MAC layer moves (all ``g`` groups): between the SRAMs and the array, and
    between DRAM and the SRAMs. Reuse in an SRAM is judged against its active half."""
    g = layers.g
    sram = _Words(*(g * a for a in _array_accesses(mapping, array.dataflow)))
    half_words = tuple(cap / 2.0 / b for cap, b in zip(array.sram_bytes, _word_bytes(layers)))
    dram = _Words(*(g * a for a in _dram_words(layers, mapping, half_words, array.cols, array.dataflow)))
    return sram, dram


# -- per-level accesses and traffic ---------------------------------------------------

def _level_accesses(layers: LayerBatch, sram: _Words, dram: _Words, shape):
    """Word accesses per memory level. A MAC layer's SRAM serves the array and also takes
    the DRAM fills (ifmap, filter) or drains (ofmap); a vector layer reads its inputs
    through the ifmap SRAM and writes through the ofmap SRAM, each word once."""
    is_mac = layers.is_mac
    vec_read_words = layers.read_bytes / layers.input_bytes_per_elem
    vec_write_words = layers.write_bytes / layers.output_bytes_per_elem
    accesses = {
        "ifmap_sram": np.where(is_mac, sram.ifmap_reads + dram.ifmap_reads, vec_read_words),
        "filter_sram": np.where(is_mac, sram.filter_reads + dram.filter_reads, 0.0),
        "ofmap_sram": np.where(is_mac, sram.ofmap_writes + sram.ofmap_reads + dram.ofmap_writes + dram.ofmap_reads,
                               vec_write_words),
        "dram": np.where(is_mac, dram.ifmap_reads + dram.filter_reads + dram.ofmap_writes + dram.ofmap_reads,
                         vec_read_words + vec_write_words),
    }
    return {k: np.broadcast_to(v, shape).astype(float) for k, v in accesses.items()}


def _dram_mac_words(layers: LayerBatch, dram: _Words, shape):
    """DRAM words as MAC-precision words, so that bytes and energy follow each operand's width."""
    mac_word_bytes = layers.bytes_per_elem
    words = np.where(layers.is_mac,
                     layers.mac_words(dram.ifmap_reads, dram.filter_reads, dram.ofmap_writes + dram.ofmap_reads),
                     layers.read_bytes / mac_word_bytes + layers.write_bytes / mac_word_bytes)
    return np.broadcast_to(words, shape).astype(float)


def _level_traffic(layers: LayerBatch, accesses, dram_mac_words):
    """Bytes per level: SRAM words at their operand's width; DRAM at each word's width
    (vector layers stream their stated bytes once)."""
    traffic = {name: accesses[name] * b for name, b in zip(SRAM_LEVELS, _word_bytes(layers))}
    traffic["dram"] = np.where(layers.is_mac, dram_mac_words * layers.bytes_per_elem, vector_traffic_bytes(layers))
    return traffic


def _memory_levels(array: _Array):
    """The three SRAMs, each with a read and a write port per edge lane at ``mac_bits``,
    and DRAM, shared by all operands."""
    tech, mac_bits = array.tech, array.mac_bits
    srams = tuple(
        MemoryLevel(name, capacity_bytes=cap, bw_bytes_per_cycle=2.0 * lane * array.mac_bytes,
                    pj_per_access=tech.sram_pj_per_access(cap, mac_bits))
        for name, cap, lane in zip(SRAM_LEVELS, array.sram_bytes, array.lanes))
    dram = MemoryLevel("dram", capacity_bytes=np.full_like(array.clock_hz, np.inf),
                       bw_bytes_per_cycle=array.dram_bw_bytes_per_cycle,
                       pj_per_access=tech.dram_pj_per_access(mac_bits))
    return srams + (dram,)


# -- area and energy ----------------------------------------------------------------

def _area_mm2(array: _Array):
    """MACs, the three SRAMs, and per PE two operand registers and a partial-sum register
    (passed to ``default_area_mm2`` as its per-PE NoC flip-flops)."""
    return default_area_mm2(array.tech, pes=array.rows * array.cols, l1_bytes=0, l2_bytes=sum(array.sram_bytes),
                            noc_bw_bytes_per_cycle=(2 + PSUM_BITS_PER_MAC_BIT) * array.mac_bytes,
                            bits=array.mac_bits)


def _energy(layers: LayerBatch, array: _Array, accesses, dram_mac_words, area, latency):
    """pJ per component: MACs (vector ops: one MAC each) at the layer's precision, each
    SRAM's accesses at its capacity and operand width, DRAM at the MAC precision
    (``dram_mac_words`` carries the width scaling), and leakage x area x time."""
    tech = array.tech
    bits = layers.bits.astype(float)
    ops = np.where(layers.is_mac, layers.macs, layers.vector_ops)
    energy = {"mac": np.broadcast_to(ops * tech.mac_pj(bits), latency.shape)}
    sram_bits = (layers.input_bits, layers.weight_bits, layers.output_bits)
    for name, cap, width in zip(SRAM_LEVELS, array.sram_bytes, sram_bits):
        energy[name] = accesses[name] * tech.sram_pj_per_access(cap, width.astype(float))
    energy["dram"] = dram_mac_words * tech.dram_pj_per_access(bits)
    energy["leakage"] = tech.leakage_pj(area, latency / array.clock_hz)
    return energy


# -- utilization and SCALE-Sim's columns ------------------------------------------------

def _utilization(layers: LayerBatch, array: _Array, latency):
    """Useful work over peak: MACs over ``rows*cols`` PEs, vector ops over ``cols`` lanes."""
    safe_latency = np.maximum(latency, 1e-30)
    return np.where(layers.is_mac, layers.macs / (array.peak * safe_latency),
                    layers.vector_ops / (array.cols * safe_latency))


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
    compute = _compute_cycles(layers, array, mapping)
    sram, dram = _words_moved(layers, array, mapping)
    accesses = _level_accesses(layers, sram, dram, compute.shape)
    dram_mac_words = _dram_mac_words(layers, dram, compute.shape)
    traffic = _level_traffic(layers, accesses, dram_mac_words)
    levels = _memory_levels(array)
    latency, bound = bounded_latency(compute, traffic, levels)
    area = _area_mm2(array)
    return CostArrays(levels=levels, compute_cycles=compute, latency_cycles=latency,
                      utilization=_utilization(layers, array, latency), accesses=accesses, traffic_bytes=traffic,
                      energy_pj=_energy(layers, array, accesses, dram_mac_words, area, latency), bound=bound,
                      area_mm2=np.asarray(area, dtype=float).reshape(-1),
                      peak_macs_per_cycle=array.peak.reshape(-1), clock_hz=array.clock_hz.reshape(-1),
                      extras=_scalesim_columns(layers, array, mapping, sram, dram, compute.shape))
