"""L2 -> DRAM tiling of the output-stationary model (template ``shi``).

The global buffer (L2) holds one tile at a time, and the tile decides how often
each tensor is read from DRAM. A tile is

* an **input band**: the input rows feeding ``yb`` adjacent output rows (``window``:
  overlapping filter windows share rows), full width, over ``cb`` channels. Zero
  padding is generated on chip: an edge band reads only its real rows from DRAM
  (``band_rows``), and the last band, which may hold fewer than ``yb`` output rows,
  reads only the rows those need; L2 is sized for a full interior band;
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
the two loop orders (``dram_tiling``). The tile changes nothing but the DRAM traffic
(and the L2 accesses that fill and drain it), so the tile that bounds latency least
is the one with the fewest DRAM bytes; ``dram_traffic`` picks, per (config, layer),
among the tiles that fit ``l2_bytes``, the fewest DRAM bytes, then the fewest DRAM
words (energy), then the first (``cheapest_fitting``). A bigger L2 fits every tile
a smaller one fits, so DRAM traffic never grows with ``l2_bytes``. A MAC layer none
of whose tiles fits is flagged unmappable.
"""

from __future__ import annotations

import numpy as np

from ..units import ceil_div
from .base import LayerBatch
from .stage import Words

# Tiling candidates: band rows P/2^i, filter blocks K/4^j, channel blocks C/4^j
# (plus 1), and two loop orders.
_BAND_SPLITS = 2 ** np.arange(9)
_BLOCK_SPLITS = 4 ** np.arange(7)
# Above this many (tile x capacity x layer) elements, ``cheapest_fitting`` looks
# capacities up in the tiles sorted by size instead of testing every tile.
_DIRECT_ELEMENTS = 1 << 21


# -- input band geometry (also the input window of a spatial tile on the array) --

def window(extent_out, stride, kernel, dilation, padded_in):
    """Input extent feeding ``extent_out`` adjacent outputs: overlapping windows
    share rows; when the stride skips past the window, the gaps are not read."""
    span = dilation * (kernel - 1) + 1
    return np.minimum(padded_in, (extent_out - 1) * np.minimum(stride, span) + span)


def window_sum(extent_out, parts, stride, kernel, dilation, padded_in):
    """Input extent read by ``parts`` tiles that split ``extent_out`` outputs as
    evenly as they can (``extent mod parts`` tiles of one output more): each tile
    reads its own ``window``, so a partial tile is not charged a full one."""
    small = extent_out // parts
    big = extent_out - small * parts
    return (big * window(small + 1, stride, kernel, dilation, padded_in)
            + (parts - big) * window(small, stride, kernel, dilation, padded_in))


def band_rows(yb, n_y, stride, kernel, dilation, pad, h, p=None):
    """Real input rows read from DRAM by ``n_y`` bands of ``yb`` output rows, band i
    feeding output rows [i*yb, min((i+1)*yb, p)) (``p``, the output rows, defaults
    to ``n_y * yb``: all bands full).

    A band reads the padded rows its outputs' windows cover, less the zero-padding
    rows, which are generated on chip. Closed form: band i covers padded rows
    [i*yb*stride, i*yb*stride + (e_i - 1)*stride + span) for its e_i outputs, so all
    bands cover (p - n_y)*stride + n_y*span rows; the top padding rows [0, pad) fall
    only in the first ``pad + 1`` bands and the bottom ones [pad + h, h + 2*pad) only in
    the last ``pad + 1``, which are enumerated. When the stride skips past the window
    no two outputs share a row and the gaps are never read: each output row is then
    its own band."""
    p = n_y * yb if p is None else p
    span = dilation * (kernel - 1) + 1
    gapped = stride > span
    yb, n_y = np.where(gapped, 1, yb), np.where(gapped, p, n_y)
    covered = (p - n_y) * stride + n_y * span
    lead = (1,) * max(np.ndim(a) for a in (yb, n_y, stride, span, pad, h, p))
    j = np.arange(int(np.max(pad)) + 1).reshape((-1,) + lead)

    def band(i):
        """(start, end) padded row of band i (empty past the last band)."""
        e = np.clip(p - i * yb, 0, yb)
        start = i * yb * stride
        return start, np.where(e > 0, start + (e - 1) * stride + span, start)

    start, end = band(j)
    top = np.clip(np.minimum(end, pad) - start, 0, None).sum(axis=0)
    start, end = band(n_y - 1 - j)
    bottom = np.where(n_y - 1 - j >= 0, np.clip(end - np.maximum(start, pad + h), 0, None), 0).sum(axis=0)
    return covered - top - bottom


# -- the tile search ---------------------------------------------------------------

def _candidates(extent, splits):
    """(S, L) block sizes ceil(extent / split), plus 1."""
    sizes = ceil_div(extent, splits.reshape(-1, 1))
    return np.concatenate([sizes, np.ones_like(extent)], axis=0)


def dram_tiling(layers: LayerBatch):
    """All L2 tiles: the bytes each needs in L2, (T, L), and the DRAM words of each
    (``Words`` of (T, L) arrays).

    See the module docstring for the tile and the two loop orders. With more than
    one channel block both orders re-read the bands once per filter block and the
    weights once per band, whatever the channel block, so of those tiles only the
    smallest (one channel) can win; the candidates are every band and filter block
    with one channel (either order) or all channels (each order).
    """
    n, g, k, c, p, q = layers.n, layers.g, layers.k, layers.c, layers.p, layers.q
    r, s, w, h = layers.r, layers.s, layers.w, layers.h
    yb2 = _candidates(p, _BAND_SPLITS)                         # (Y, L)
    n_y2 = ceil_div(p, yb2)
    rows = band_rows(yb2, n_y2, layers.stride_h, r, layers.dil_h, layers.pad_h, h, p)
    yb, n_y = yb2[:, None, :].astype(float), n_y2[:, None, :].astype(float)    # (Y, 1, L)
    kb = _candidates(k, _BLOCK_SPLITS)[None, :, :].astype(float)                # (1, K, L)
    n_k = ceil_div(k, kb.astype(np.int64)).astype(float)
    hb = window(yb, layers.stride_h, r, layers.dil_h, h)       # L2 rows of an (interior) band
    passes = g * n * (np.maximum(rows, h) * w * c)[:, None, :].astype(float)  # all bands, once
    weights, outputs = (g * k * c * r * s).astype(float), (g * n * k * p * q).astype(float)
    one = n_k == 1
    # (order, channel block) -> (input passes, weight passes per image; resident if 0)
    channel_split = (n_k, n * n_y)                             # cb = 1, either order
    k_outer = (n_k, np.where(one, 0.0, n))                     # cb = C, filter blocks outer
    y_outer = (1.0, np.where(one, 0.0, n * n_y))               # cb = C, bands outer
    shape = np.broadcast_shapes(yb.shape, kb.shape)
    full = lambda a: np.broadcast_to(a, shape).reshape(-1, shape[-1])
    inputs, weight_words, req = [], [], []
    for (in_reps, w_reps), cb in ((channel_split, 1), (k_outer, c), (y_outer, c)):
        inputs.append(full(in_reps * passes))
        weight_words.append(full(np.where(w_reps == 0, 1.0, w_reps) * weights))
        req.append(full(np.ceil(layers.tensor_bytes(cb * hb * w, kb * cb * r * s, kb * yb * q))))
    stack = np.concatenate
    return stack(req), Words(stack(inputs), stack(weight_words), np.broadcast_to(outputs, (len(req) * shape[0] * shape[1], shape[-1])))


def cheapest_fitting(req_bytes, keys, capacity_bytes):
    """Per (config, layer): the index of the tile with the lexicographically least
    ``keys`` (each (T, L); ties: the first tile) among those with ``req_bytes <=
    capacity``, and whether any fits. Returns two (C, L) arrays.

    The keys become one integer rank per tile; each distinct capacity is then
    looked up once. Few capacities: every tile is tested against each. Many: per
    layer, the tiles sorted by size carry the running minimum of the rank, and one
    searchsorted over all layers finds how many fit each capacity (layer l's keys
    are offset by l * 2^45 so the rows never interleave)."""
    t, n_layers = req_bytes.shape
    order = np.lexsort(tuple(reversed(keys)), axis=0)                    # (T, L): tiles, best first
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(t).reshape(-1, 1), axis=0)
    caps, inverse = np.unique(np.asarray(capacity_bytes, dtype=float).reshape(-1), return_inverse=True)
    cols = np.arange(n_layers)
    if caps.size * t * n_layers <= _DIRECT_ELEMENTS:
        fitting = req_bytes[:, None, :] <= caps[None, :, None]             # (T, U, L)
        best = np.where(fitting, rank[:, None, :], t).min(axis=0)          # (U, L)
    else:
        by_size = np.argsort(req_bytes, axis=0, kind="stable")
        req_sorted = np.take_along_axis(req_bytes, by_size, axis=0).astype(np.int64)
        best_so_far = np.minimum.accumulate(np.take_along_axis(rank, by_size, axis=0), axis=0)
        limit = np.int64(2) ** 45 - 1
        offset = cols.astype(np.int64) * (limit + 1)
        keys_flat = (np.minimum(req_sorted, limit) + offset).T.ravel()
        cap = np.minimum(np.floor(caps), float(limit)).astype(np.int64)
        count = np.searchsorted(keys_flat, cap[:, None] + offset[None, :], side="right") - cols * t
        best = np.where(count > 0, best_so_far[np.maximum(count - 1, 0), cols], t)
    fits = best < t
    tile = order[np.minimum(best, t - 1), cols]
    return tile[inverse], fits[inverse]


def dram_traffic(layers: LayerBatch, l2_bytes):
    """DRAM words (``Words`` of (C, L)) with the L2 tile of fewest DRAM bytes (then
    words) that fits ``l2_bytes``, where it fits, and the fits mask (C, L)."""
    req, words = dram_tiling(layers)
    tile, fits = cheapest_fitting(req, (words.bytes(layers), words.total), l2_bytes)
    cols = np.arange(len(layers))
    pick = lambda a: np.where(fits, a[tile, cols], 0.0)
    return Words(pick(words.input), pick(words.weight), pick(words.output)), fits
