"""Buffer tiling of the NVDLA-style weight-stationary model (``weight_stationary.py``).

How a layer's operands are tiled into the two on-chip buffer levels; the cost
model turns the tiles into cycles, traffic and energy.

* L1 (per PE): a double-buffered chunk of the PE's R x S filter window and the
  matching input window, plus one accumulator. The chunk is the largest that
  fits (the window is split into balanced chunks when it does not); a MAC layer
  whose one-tap chunk does not fit raises MappingError (``l1_chunk``).
* L2 (global buffer): a tile of ``k2`` filters x ``p2`` output rows x ``c2``
  channels. Over a small grid of row and channel splits, with the most filters
  that fit in half of L2 (the other half double-buffers), and two loop orders
  (filters or rows outermost), the tile with the least DRAM traffic in bytes
  wins (``l2_tiling``). The winner's DRAM bytes and words, and how often the PE
  array reloads each weight (its row tiles), feed the cost model (``_l2_dram``,
  solved once per distinct L2 size); a MAC layer with no fitting tile raises
  MappingError.

Each tensor is sized at its own width (inputs, weights, outputs).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..units import ceil_div
from .base import ConfigBatch, LayerBatch, raise_unmappable
from .common import solve_per_unique

# -- L1 chunk ------------------------------------------------------------------

def l1_chunk(layers: LayerBatch, l1_bytes):
    """Filter taps per PE per L1 residency: ``(taps, chunks, fit)``, each ``(C, L)``.

    L1 holds ``taps`` weights and ``taps`` inputs, both double-buffered, plus one
    accumulator: ``2 * taps * (input + weight bytes) + output bytes`` <= ``l1_bytes``
    (counted in MAC-precision words). The R x S window is split into ``chunks``
    balanced chunks when it does not fit. ``fit`` is the most taps L1 could hold
    (< 1: not even one tap fits; see ``_check_l1``).
    """
    window = layers.r * layers.s
    words = np.asarray(l1_bytes, dtype=float) / layers.bytes_per_elem
    fit = (words - layers.mac_words(outputs=1.0)) // (2.0 * layers.mac_words(inputs=1.0, weights=1.0))
    fit = np.minimum(fit, window).astype(np.int64)
    chunks = ceil_div(window, np.maximum(fit, 1))
    return ceil_div(window, chunks), chunks, fit


def _check_l1(layers: LayerBatch, configs: ConfigBatch, fit):
    """Raise MappingError naming ``l1_bytes`` if a MAC layer's one-tap L1 tile
    (``fit < 1`` from ``l1_chunk``) does not fit."""
    def need(_, col):
        bi, bw, bo = (int(bits[0, col]) for bits in (layers.input_bits, layers.weight_bits, layers.output_bits))
        return (f"smaller than the smallest L1 tile (one weight and one input, double-buffered, plus "
                f"an accumulator = {(2 * (bi + bw) + bo) / 8:g} bytes at {bi}/{bw}/{bo} input/weight/output bits)")
    raise_unmappable("weight_stationary", layers, layers.is_mac & (fit < 1), "l1_bytes", configs["l1_bytes"], need)


# -- L2 tiling (DRAM traffic) ---------------------------------------------------

# L2 tiling candidates: output rows ceil(P / 2**i) and input channels ceil(c / 4**j).
_ROW_SPLITS = 2 ** np.arange(6)
_CHANNEL_SPLITS = 4 ** np.arange(4)


def _grid(a):
    """A (1, L) layer field as floats shaped (1, L, 1, 1), to broadcast against the
    (U, L, I, J) grid of L2 sizes x layers x row splits x channel splits."""
    return np.asarray(a, dtype=float)[..., None, None]


class _L2Candidates(NamedTuple):
    """The candidate L2 tiles of ``l2_tiling``, each broadcastable to (U, L, I, J)."""
    row_tiles: np.ndarray   # output-row tiles per layer: ceil(P / p2)
    in_rows: np.ndarray     # input rows (with halo) of one row tile
    k2: np.ndarray          # filters per tile (>= 1)
    fits: np.ndarray        # at least one filter fits beside the tile's inputs
    full_c: np.ndarray      # the tile holds all c channels of a group
    rows_fit: np.ndarray    # a row tile's inputs of every channel fit with one filter


def _l2_candidates(layers: LayerBatch, l2_bytes) -> _L2Candidates:
    """Row and channel splits of every candidate and the most filters that fit.

    A tile of ``p2`` output rows and ``c2`` channels keeps, per channel, its
    input rows (halo included); each of its ``k2`` filters adds a ``c2 x R x S``
    weight slice and ``p2`` rows of outputs (and, in a grouped layer, the inputs
    of its own group, shared by the group's ``k`` filters). All of it must fit in
    half of L2; the other half double-buffers the next tile.
    """
    f = _grid
    cap = np.asarray(l2_bytes, dtype=float)[..., None, None] / 2.0          # (U, 1, 1, 1)
    n, g, k, c = f(layers.n), f(layers.g), f(layers.k), f(layers.c)
    bi, bw, bo = f(layers.input_bytes_per_elem), f(layers.weight_bytes_per_elem), f(layers.output_bytes_per_elem)
    p, q, w, rs = f(layers.p), f(layers.q), f(layers.w), f(layers.r * layers.s)
    p2 = np.ceil(p / _ROW_SPLITS.reshape(1, 1, -1, 1))                      # (1, L, I, 1)
    c2 = np.ceil(c / _CHANNEL_SPLITS.reshape(1, 1, 1, -1))                  # (1, L, 1, J)
    in_rows = np.minimum((p2 - 1) * f(layers.stride_h) + (f(layers.r) - 1) * f(layers.dil_h) + 1, f(layers.h))
    in_row_tile = n * in_rows * w * bi                                      # bytes per channel of a row tile
    per_filter = c2 * rs * bw + n * p2 * q * bo + np.where(g > 1, c2 * in_row_tile / k, 0.0)
    k2 = np.minimum(np.floor((cap - c2 * in_row_tile) / per_filter), g * k)
    fits = k2 >= 1
    full_c = c2 == c
    return _L2Candidates(
        row_tiles=np.ceil(p / p2), in_rows=in_rows, k2=np.maximum(k2, 1.0), fits=fits, full_c=full_c,
        rows_fit=fits & full_c & (g * c * in_row_tile + per_filter <= cap))


def _loop_order_traffic(layers: LayerBatch, t: _L2Candidates, bi, bw, bo):
    """DRAM traffic of every candidate, ``(filters outermost, rows outermost)``, with
    input, weight and output elements of ``bi``, ``bw`` and ``bo`` units each
    (bytes per element for bytes, 1.0 for words); ``inf`` where rows-outermost
    does not fit. See ``l2_tiling`` for the two loop orders."""
    f = _grid
    n, g, k, c = f(layers.n), f(layers.g), f(layers.k), f(layers.c)
    p, q, w, rs = f(layers.p), f(layers.q), f(layers.w), f(layers.r * layers.s)
    weights = g * k * c * rs * bw
    outputs = n * g * k * p * q * bo
    inputs_halo = g * c * t.row_tiles * (n * t.in_rows * w * bi)
    filters_outer = (weights * np.where(t.full_c, 1.0, t.row_tiles) + inputs_halo * np.ceil(k / np.minimum(t.k2, k))
                     + outputs)
    rows_outer = np.where(t.rows_fit, inputs_halo + weights * t.row_tiles + outputs, np.inf)
    return filters_outer, rows_outer


def l2_tiling(layers: LayerBatch, l2_bytes):
    """Least-DRAM-traffic L2 tile for each ``l2_bytes`` (``(U, 1)``) and layer.

    Candidates: ``p2 = ceil(P / 2**i)`` output rows, ``c2 = ceil(c / 4**j)``
    channels, and the most filters ``k2`` that fit beside them in half of L2
    (the other half double-buffers). Two loop orders over the tiles:

    * filters outermost: a filter tile's weights stay in L2 across row tiles
      (read once if ``c2 == c``, else once per row tile); inputs are re-read
      once per filter tile of a group;
    * rows outermost (only ``c2 == c``): a row tile's inputs stay in L2 across
      all filter tiles (read once, with halo); weights re-read per row tile.

    Outputs (partial sums) of a tile stay in L2, so are written once.
    Each tensor is sized at its own width; the tile with the fewest DRAM *bytes*
    wins. Returns ``(dram_bytes, dram_words, row_tiles)``, each ``(U, L)``
    (``inf`` where nothing fits); ``row_tiles`` is how often the PE array reloads
    each weight.
    """
    t = _l2_candidates(layers, l2_bytes)
    bi, bw, bo = (_grid(b) for b in (layers.input_bytes_per_elem, layers.weight_bytes_per_elem,
                                      layers.output_bytes_per_elem))
    filters_bytes, rows_bytes = _loop_order_traffic(layers, t, bi, bw, bo)
    filters_words, rows_words = _loop_order_traffic(layers, t, 1.0, 1.0, 1.0)
    dram_bytes = np.where(t.fits, np.minimum(filters_bytes, rows_bytes), np.inf)
    dram_words = np.where(t.fits, np.where(filters_bytes <= rows_bytes, filters_words, rows_words), np.inf)
    return _least(dram_bytes, dram_bytes, dram_words, t.row_tiles)


def _least(key, *arrays):
    """Each of ``arrays`` (broadcast to ``key``'s (U, L, I, J)) at the (I, J)
    candidate with the smallest ``key`` (the first one on ties), shaped (U, L)."""
    flat = key.reshape(key.shape[:2] + (-1,))
    best = np.argmin(flat, axis=-1)[..., None]
    return tuple(np.take_along_axis(np.broadcast_to(a, key.shape).reshape(flat.shape), best, -1)[..., 0]
                 for a in arrays)


def _l2_dram(layers: LayerBatch, configs: ConfigBatch):
    """DRAM bytes, DRAM words and weight passes per (config, layer), solved once per
    distinct L2 size. Raises MappingError naming ``l2_bytes`` if a MAC layer has
    no fitting tile; vector layers get 0 bytes/words and 1 pass."""
    dram, words, passes = solve_per_unique({"l2_bytes": configs["l2_bytes"]},
                                           lambda l2_bytes: l2_tiling(layers, l2_bytes))
    raise_unmappable("weight_stationary", layers, layers.is_mac & ~np.isfinite(dram), "l2_bytes", configs["l2_bytes"],
                     f"no L2 tile fits (one filter slice of c/{_CHANNEL_SPLITS[-1]} channels, one output row "
                     "and its input rows must fit in half of L2)")
    ok = np.isfinite(dram)
    return np.where(ok, dram, 0.0), np.where(ok, words, 0.0), np.where(ok, passes, 1)
