"""L2 -> DRAM tiling of the output-stationary model (template ``shi``).

The global buffer (L2) holds one tile at a time, and the tile decides how often
each tensor is read from DRAM. A tile is

* an **input band**: the input rows feeding ``yb`` adjacent output rows (``window``:
  overlapping filter windows share rows), full width, over ``cb`` channels. Zero
  padding is generated on chip: an edge band reads only its real rows from DRAM
  (``band_rows``); L2 is sized for an interior band, which holds no padding;
* the **weights** of ``kb`` filters over those ``cb`` channels;
* the ``kb x yb x Q`` **outputs**, which stay in L2 until complete: the channel loop
  is innermost, so no partial sum leaves the chip and each output is written once.

Two loop orders around the tile: filter blocks outer (the input bands are re-read
once per filter block) or row bands outer (the weights are re-read once per band).
A block stays resident, and is not re-read, when the loop around it has a single
iteration (one channel block keeps a band resident across filter blocks; one filter
block and one channel block keep all weights resident). Inputs are read at least
once whole (the DMA streams whole rows), so DRAM traffic never drops below the
compulsory traffic.

The search is small and vectorized: band rows ``P / 2^i`` (i < 9), filter blocks
``K / 4^j`` and channel blocks ``C / 4^j`` (j < 7), each plus a block of 1, times
the two loop orders (``dram_tiling``). ``best_fitting`` picks, per (config, layer),
the tile with the least DRAM traffic among those that fit ``l2_bytes``;
``dram_traffic`` raises MappingError for a MAC layer none of whose tiles fits.
"""

from __future__ import annotations

import numpy as np

from ..units import ceil_div
from .base import LayerBatch, raise_unmappable

# Tiling candidates: band rows P/2^i, filter blocks K/4^j, channel blocks C/4^j
# (plus 1), and two loop orders.
_BAND_SPLITS = 2 ** np.arange(9)
_BLOCK_SPLITS = 4 ** np.arange(7)


# -- input band geometry (also the input window of a spatial tile on the array) --

def window(extent_out, stride, kernel, dilation, padded_in):
    """Input extent feeding ``extent_out`` adjacent outputs: overlapping windows
    share rows; when the stride skips past the window, the gaps are not read."""
    span = dilation * (kernel - 1) + 1
    return np.minimum(padded_in, (extent_out - 1) * np.minimum(stride, span) + span)


def band_rows(yb, n_y, stride, kernel, dilation, pad, h):
    """Input rows read from DRAM by ``n_y`` bands of ``yb`` output rows (band i feeds
    output rows [i*yb, (i+1)*yb)). A band reads its ``window`` of the padded input
    less the zero-padding rows in it, which are generated on chip and never read
    from DRAM, and at most the ``h`` real rows. Interior bands read the whole
    window; only edge bands hold padding. The padding rows are enumerated (top
    ``x = j``, bottom ``x = pad + h + j``, j < pad): band i holds row x when one of
    its output rows o has ``o*stride <= x < o*stride + span``."""
    span = dilation * (kernel - 1) + 1
    extent = window(yb, stride, kernel, dilation, h + 2 * pad)            # band window, padded rows
    lead = (1,) * np.ndim(yb)
    band = np.arange(int(np.max(n_y))).reshape((-1, 1) + lead)            # (B, 1, ...)
    j = np.arange(int(np.max(pad))).reshape((1, -1) + lead)                # (1, X, ...)
    padding = 0
    for x in (j, pad + h + j):                                             # top, bottom padding rows
        o_lo = np.maximum(-((span - 1 - x) // stride), 0)                  # ceil((x - span + 1) / stride)
        o_hi = x // stride
        held = np.maximum(o_lo, band * yb) <= np.minimum(o_hi, band * yb + yb - 1)
        padding = padding + ((j < pad) & held).sum(axis=1)                 # (B, ...)
    rows = np.where(band[:, 0] < n_y, np.minimum(h, extent - padding), 0)
    return rows.sum(axis=0)


# -- the tile search ---------------------------------------------------------------

def _candidates(extent, splits):
    """(S, L) block sizes ceil(extent / split), plus 1."""
    sizes = ceil_div(extent, splits.reshape(-1, 1))
    return np.concatenate([sizes, np.ones_like(extent)], axis=0)


def dram_tiling(layers: LayerBatch):
    """All L2 tiles: required bytes and the DRAM (input, weight, output) words of
    each candidate, each of shape (T, L).

    See the module docstring for the tile and the two loop orders. Inputs are
    read at least once whole (the DMA streams whole rows), so DRAM traffic is never
    below the compulsory traffic.
    """
    n, g, k, c, p, q = layers.n, layers.g, layers.k, layers.c, layers.p, layers.q
    r, s, w, h = layers.r, layers.s, layers.w, layers.h
    yb = _candidates(p, _BAND_SPLITS)[:, None, None, :]        # (Y, 1, 1, L)
    kb = _candidates(k, _BLOCK_SPLITS)[None, :, None, :]       # (1, K, 1, L)
    cb = _candidates(c, _BLOCK_SPLITS)[None, None, :, :]       # (1, 1, C, L)
    hb = window(yb, layers.stride_h, r, layers.dil_h, h)       # L2 rows of an (interior) band
    n_y, n_k, n_c = ceil_div(p, yb), ceil_div(k, kb), ceil_div(c, cb)
    rows = band_rows(yb, n_y, layers.stride_h, r, layers.dil_h, layers.pad_h, h)   # no padding rows
    input_pass = np.maximum(rows, h) * w * c                   # one pass over all bands
    weights, outputs = k * c * r * s, k * p * q
    resident_w = (n_k == 1) & (n_c == 1)                       # all weights stay in L2

    def per_tensor(in_reps, w_reps_per_image):
        """DRAM (input, weight, output) words of one loop order."""
        w_reps = np.where(resident_w, 1, n * w_reps_per_image)
        return g * n * in_reps * input_pass, g * w_reps * weights, g * n * outputs

    k_outer = per_tensor(n_k, np.where(n_c == 1, 1, n_y))
    y_outer = per_tensor(np.where(n_c == 1, 1, n_k), n_y)
    req_bytes = np.ceil(layers.tensor_bytes(cb * hb * w, kb * cb * r * s, kb * yb * q))
    shape = np.broadcast_shapes(req_bytes.shape, *(a.shape for a in k_outer + y_outer))
    flat = lambda a: np.broadcast_to(a, shape).reshape(-1, shape[-1])
    req = flat(req_bytes)
    words = tuple(np.concatenate([flat(k), flat(y)]).astype(float) for k, y in zip(k_outer, y_outer))
    return np.concatenate([req, req]), words


def best_fitting(req_bytes, dram_cost, capacity_bytes):
    """Per (config, layer): the least ``dram_cost`` among tiles with req <= capacity
    (NaN where none fits) and the index of that tile (0 where none fits).
    Vectorized: per layer, sort tiles by size, keep the running minimum of the cost
    and where it was reached, and look capacities up with one searchsorted over all
    layers (layer l's keys are offset by l * 2^45 so the rows never interleave)."""
    t, n_layers = req_bytes.shape
    order = np.argsort(req_bytes, axis=0, kind="stable")
    req_sorted = np.take_along_axis(req_bytes, order, axis=0).astype(np.int64)
    cost_sorted = np.take_along_axis(dram_cost, order, axis=0)
    best_so_far = np.minimum.accumulate(cost_sorted, axis=0)
    steps = np.arange(t).reshape(-1, 1)
    best_at = np.maximum.accumulate(np.where(cost_sorted == best_so_far, steps, 0), axis=0)
    best_tile = np.take_along_axis(order, best_at, axis=0)
    limit = np.int64(2) ** 45 - 1
    offset = np.arange(n_layers, dtype=np.int64) * (limit + 1)
    keys = (np.minimum(req_sorted, limit) + offset).T.ravel()
    cap = np.minimum(np.floor(np.asarray(capacity_bytes, dtype=float)), float(limit)).astype(np.int64)
    count = np.searchsorted(keys, cap + offset[None, :], side="right") - np.arange(n_layers) * t
    fits = count > 0
    row, col = np.maximum(count - 1, 0), np.arange(n_layers)[None, :]
    return np.where(fits, best_so_far[row, col], np.nan), np.where(fits, best_tile[row, col], 0)


def dram_traffic(layers: LayerBatch, l2_bytes):
    """(MAC-precision words, words) between DRAM and L2 with the L2 tile of least
    DRAM traffic that fits ``l2_bytes``; a MAC layer with no fitting tile is unmappable."""
    req, (dram_in, dram_w, dram_out) = dram_tiling(layers)
    mac_words, tile = best_fitting(req, layers.mac_words(dram_in, dram_w, dram_out), l2_bytes)
    smallest = req.min(axis=0)
    raise_unmappable("output_stationary", layers, layers.is_mac & np.isnan(mac_words), "l2_bytes", l2_bytes,
                     lambda _, col: f"too small; the smallest tile (one output row, one channel, one filter) "
                                    f"needs {int(smallest[col])} bytes")
    return np.nan_to_num(mac_words), (dram_in + dram_w + dram_out)[tile, np.arange(len(layers))]
