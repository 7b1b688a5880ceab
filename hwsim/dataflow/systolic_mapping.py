"""How a layer maps onto a TPU-like systolic array, as SCALE-Sim maps it: the array's
design points (``_Array``), the GEMM lowering, the folds and their compute cycles, and
the words each operand moves between the array and the SRAMs and between the SRAMs and
DRAM. ``systolic.py`` turns these
counts into per-level accesses, traffic, latency, energy, area and SCALE-Sim's report
columns.

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

Accesses count words: each SRAM holds words of its operand's width (input, weight,
output), so its capacity in words is its bytes over that width.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..hardware.technology import Technology
from .base import ConfigBatch, LayerBatch
from ..units import ceil_div
from .common import VectorCosts


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
        return cls(rows=configs.ints("rows"), cols=configs.ints("cols"),
                   mac_bits=configs["mac_bits"], clock_hz=configs.floats("clock_hz"),
                   sram_bytes=tuple(configs.floats(f"{op}_sram_bytes") for op in ("ifmap", "filter", "ofmap")),
                   dram_bw_bytes_per_cycle=configs.floats("dram_bw_bytes_per_cycle"),
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


def _compute_cycles(layers: LayerBatch, mapping: _Mapping, vec: VectorCosts):
    """MAC layers: their folds; vector layers: one op per cycle on each of the array's
    ``cols`` lanes (``vec``, from ``common.vector_layer_costs``)."""
    return np.where(layers.is_mac, mapping.mac_cycles, vec.compute_cycles)


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
