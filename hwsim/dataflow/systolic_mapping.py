"""How a layer maps onto a TPU-like systolic array, as SCALE-Sim maps it: the array's
design points (``_Array``), the GEMM lowering, the folds and their compute cycles, the
words each operand moves between the array and the SRAMs and between the SRAMs and
DRAM, the word-hops of neighbour forwarding, and the choice of the sub-array a layer
runs on. ``systolic.py`` reports these counts to the shared cost stage.

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

**The sub-array is chosen by what it costs.** A layer may fold onto a ``rows' x cols'``
corner of the array, ``rows'`` either ``rows`` or a power of two below it (``cols'``
likewise); the folds, SRAM words and DRAM reuse follow the sub-array, the skew the
physical array under ``fill_drain: array``. Of these, the one of least bounded
latency -- max(compute, each SRAM's and DRAM's bytes / bandwidth) -- then fewest DRAM
bytes, then fewest SRAM words, then the full array wins. A smaller sub-array pays more
folds but can keep a filter (``os``) or partial-sum (``ws``, ``is``) column block in
its SRAM that the full width does not fit, so latency is non-increasing in every
SRAM size and the DRAM bandwidth, and, under ``fill_drain: mapped``, in ``rows`` and
``cols`` (over powers of two: the sub-arrays of ``rows`` are among those of
``2 * rows``). With the SRAMs of SCALE-Sim's TPU config every AlexNet layer runs on
the full array, as in SCALE-Sim.

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
if it fits (else ``col_folds`` times); a filter column block (``K x cols'``) is reused
across row folds if it fits (else re-read per row fold); outputs written once.
``ws``: weights once; ifmap as ``os``; partial sums of one column block
(``M x cols'``) stay in the ofmap SRAM if they fit, else they spill: ``row_folds``
writes and ``row_folds - 1`` reads per output. ``is``: ifmap once if it fits, else its
im2col tiles are fetched directly (``K*M``, at least the ifmap); filters once if they
fit (else ``col_folds`` times); partial sums (``N x cols'``) as ``ws``. SCALE-Sim itself
counts the fold-padded im2col operand matrices as DRAM reads (im2col duplicates and
null padding included); see tests/validation/test_scalesim.py.

**Neighbour forwarding** (NoC word-hops; SCALE-Sim charges none): a word crosses one
PE-to-PE pipeline register per PE it reaches. A streamed operand passes every PE of
its row or column in the fold, and a partial sum every PE of its column, so each is
one hop per MAC; a stationary tile is shifted in from the edge (ws weights, is
ifmap), and os outputs are shifted out, the word at depth i passing i PEs
(``rows'(rows'+1)/2`` per column and fold). Operands stop at the last PE that uses
them, under either ``fill_drain``.

Accesses count words: each SRAM holds words of its operand's width (input, weight,
output), so its capacity in words is its bytes over that width.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..units import ceil_div
from .base import ConfigBatch, LayerBatch
from .stage import Words

SRAM_PARAMS = ("ifmap_sram_bytes", "filter_sram_bytes", "ofmap_sram_bytes")


# -- the hardware -----------------------------------------------------------------

@dataclass(frozen=True)
class _Array:
    """The systolic-array design points of one batch: numbers as ``(C, 1)`` arrays;
    the dataflow and the fill/drain rule are shared by the batch."""

    rows: np.ndarray
    cols: np.ndarray
    mac_bits: np.ndarray
    clock_hz: np.ndarray
    sram_bytes: tuple[np.ndarray, np.ndarray, np.ndarray]     # ifmap, filter, ofmap
    dram_bw_bytes_per_cycle: np.ndarray
    dataflow: str
    fill_drain: str

    @classmethod
    def of(cls, configs: ConfigBatch) -> _Array:
        """Read the design points out of a ``ConfigBatch``."""
        return cls(rows=configs.ints("rows"), cols=configs.ints("cols"),
                   mac_bits=configs.ints("mac_bits"), clock_hz=configs.floats("clock_hz"),
                   sram_bytes=tuple(configs.floats(name) for name in SRAM_PARAMS),
                   dram_bw_bytes_per_cycle=configs.floats("dram_bw_bytes_per_cycle"),
                   dataflow=configs["dataflow"], fill_drain=configs["fill_drain"])

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


def fold_cycles(sr, sc, t, rows, cols, dataflow: str, fill_drain: str, skew_rows=None, skew_cols=None):
    """Cycles to run all folds of one group on a ``rows x cols`` (sub-)array, and the
    row/column fold counts.

    ``array``: every fold takes ``T + skew_rows + skew_cols - 2`` (+ ``skew_rows``
    preload for ws/is), the skew of the physical array (default: ``rows x cols``).
    ``mapped``: a fold skews only over the rows/cols it uses; summed over folds the used
    rows add up to ``col_folds * Sr`` and the used cols to ``row_folds * Sc``.
    """
    row_folds = ceil_div(sr, rows)
    col_folds = ceil_div(sc, cols)
    folds = row_folds * col_folds
    preload = 0 if dataflow == "os" else 1
    if fill_drain == "array":
        skew_rows = rows if skew_rows is None else skew_rows
        skew_cols = cols if skew_cols is None else skew_cols
        cycles = folds * (t + (1 + preload) * skew_rows + skew_cols - 2)
    else:
        cycles = folds * (t - 2) + (1 + preload) * col_folds * sr + row_folds * sc
    return cycles, row_folds, col_folds


class _Mapping(NamedTuple):
    """A MAC layer lowered to a GEMM and folded onto a ``rows x cols`` sub-array (per
    group, but ``mac_cycles``)."""
    rows: np.ndarray            # the sub-array the layer folds onto
    cols: np.ndarray
    sr: np.ndarray              # GEMM dimension on the rows
    sc: np.ndarray              # ... on the cols
    t: np.ndarray               # ... streamed in time
    row_folds: np.ndarray
    col_folds: np.ndarray
    mac_cycles: np.ndarray      # compute cycles of the whole layer (one datapath pass): its groups in turn


def subarray_candidates(array: _Array, max_sr=None, max_sc=None):
    """Candidate sub-arrays, (S, C, 1) each: ``rows'`` in {rows} and the powers of two
    below it, ``cols'`` likewise, the full array first; and which are valid. Powers
    beyond the largest GEMM extent on that edge (``max_sr``, ``max_sc``) are left out:
    they fold every layer as the first power above it does."""
    def options(edge, extent):
        top = int(np.max(edge)).bit_length()
        if extent is not None:
            top = min(top, int(max(np.max(extent), 1) - 1).bit_length() + 1)
        powers = np.broadcast_to((np.int64(1) << np.arange(top, dtype=np.int64)).reshape(-1, 1, 1),
                                 (top,) + edge.shape)
        values = np.concatenate([edge[None], powers])
        return values, np.concatenate([np.ones((1,) + edge.shape, dtype=bool), powers < edge[None]])

    r, r_ok = options(np.asarray(array.rows, dtype=np.int64), max_sr)
    c, c_ok = options(np.asarray(array.cols, dtype=np.int64), max_sc)
    grid = lambda a, b: (a[:, None] * np.ones_like(b[None]), np.ones_like(a[:, None]) * b[None])
    rows, cols = grid(r, c)
    ok_r, ok_c = grid(r_ok, c_ok)
    flat = lambda a: a.reshape((-1,) + a.shape[2:])
    return flat(rows), flat(cols), flat(ok_r & ok_c)


def map_layers(layers: LayerBatch, array: _Array, rows, cols) -> _Mapping:
    """Lower each layer to ``(Sr, Sc, T)``, cut it into folds of the ``rows x cols``
    sub-array and count the cycles of all ``g`` groups, which run one after another."""
    sr, sc, t = gemm_dims(layers, array.dataflow)
    cycles, row_folds, col_folds = fold_cycles(sr, sc, t, rows, cols, array.dataflow, array.fill_drain,
                                               array.rows, array.cols)
    return _Mapping(rows, cols, sr, sc, t, row_folds, col_folds, mac_cycles=(layers.g * cycles).astype(float))


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


def _dram_words(layers: LayerBatch, m: _Mapping, half_words, dataflow):
    """DRAM words per group: (ifmap reads, filter reads, ofmap writes, ofmap reads).
    ``half_words`` = active half of each SRAM in words (ifmap, filter, ofmap)."""
    half_if, half_f, half_of = half_words
    sr, sc, t, row_folds, col_folds = m.sr, m.sc, m.t, m.row_folds, m.col_folds
    ifmap = layers.n * layers.c * layers.h * layers.w      # raw ifmap of one group
    weights = layers.k * layers.c * layers.r * layers.s
    outputs = layers.n * layers.k * layers.p * layers.q
    ifmap_fits = ifmap <= half_if
    block = t * np.minimum(m.cols, sc)                     # one column fold's stationary-side block
    if dataflow == "os":
        ifmap_rd = np.where(ifmap_fits, ifmap, col_folds * ifmap)
        filter_rd = np.where(block <= half_f, weights, row_folds * weights)   # K x cols' filter block
        return ifmap_rd, filter_rd, outputs, 0 * outputs
    psum_fits = block <= half_of                           # partial sums of one column block
    ofmap_wr = np.where(psum_fits, outputs, row_folds * outputs)
    ofmap_rd = np.where(psum_fits, 0, (row_folds - 1) * outputs)
    if dataflow == "ws":
        ifmap_rd = np.where(ifmap_fits, ifmap, col_folds * ifmap)
        filter_rd = weights
    else:   # is: stationary im2col tiles fetched directly when the raw ifmap does not fit
        ifmap_rd = np.where(ifmap_fits, ifmap, np.maximum(sr * sc, ifmap))
        filter_rd = np.where(weights <= half_f, weights, col_folds * weights)
    return ifmap_rd, filter_rd, ofmap_wr, ofmap_rd


def words_moved(layers: LayerBatch, array: _Array, mapping: _Mapping) -> tuple[_Words, _Words]:
    """Words a MAC layer moves (all ``g`` groups): between the SRAMs and the array, and
    between DRAM and the SRAMs. Reuse in an SRAM is judged against its active half."""
    g = layers.g
    sram = _Words(*(g * a for a in _array_accesses(mapping, array.dataflow)))
    half_words = tuple(cap / 2.0 / b for cap, b in zip(array.sram_bytes, _word_bytes(layers)))
    dram = _Words(*(g * a for a in _dram_words(layers, mapping, half_words, array.dataflow)))
    return sram, dram


def level_words(sram: _Words, dram: _Words) -> dict[str, Words]:
    """Per level, the words of each tensor: an SRAM serves the array and takes the
    DRAM fills (ifmap, filter) or drains (ofmap)."""
    return {
        "ifmap_sram": Words(input=sram.ifmap_reads + dram.ifmap_reads),
        "filter_sram": Words(weight=sram.filter_reads + dram.filter_reads),
        "ofmap_sram": Words(output=sram.ofmap_writes + sram.ofmap_reads + dram.ofmap_writes + dram.ofmap_reads),
        "dram": Words(dram.ifmap_reads, dram.filter_reads, dram.ofmap_writes + dram.ofmap_reads),
    }


def lanes_fit(layers: LayerBatch, array: _Array, rows, cols):
    """Per SRAM, whether its active half holds one word (of its operand's width) per
    edge lane of the ``rows x cols`` sub-array it feeds."""
    lanes = _edge_lanes(rows, cols, array.dataflow)
    return [cap / 2.0 >= lane * b for cap, lane, b in zip(array.sram_bytes, lanes, _word_bytes(layers))]


# -- neighbour forwarding -------------------------------------------------------------

def word_hops(layers: LayerBatch, m: _Mapping, dataflow: str) -> Words:
    """PE-to-PE hops (see the module docstring): streamed operands and partial sums one
    per MAC, a stationary tile shifted in (or os outputs shifted out) ``rows'(rows'+1)/2``
    per column of each fold."""
    macs = layers.g * m.sr * m.sc * m.t
    last = m.sr - (m.row_folds - 1) * m.rows                # rows used by the last row fold
    tri = lambda x: x * (x + 1) / 2.0
    shifted = layers.g * m.sc * ((m.row_folds - 1) * tri(m.rows) + tri(last))
    macs, shifted = macs.astype(float), np.asarray(shifted, dtype=float)
    if dataflow == "os":
        return Words(input=macs, weight=macs, output=shifted)
    if dataflow == "ws":
        return Words(input=macs, weight=shifted, output=macs)
    return Words(input=shifted, weight=macs, output=macs)   # is
