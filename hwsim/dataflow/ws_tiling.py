"""Buffer tiling of the NVDLA-style weight-stationary model (``weight_stationary.py``).

How a layer's operands are tiled into the two on-chip buffer levels; the model
turns the tiles into words per level, and picks among the L2 tiles by latency.

* **L1 (per PE)** holds a double-buffered chunk of the PE's R x S filter window
  and the matching inputs, plus one accumulator:
  ``2 * taps * (input + weight bytes) + output bytes <= l1_bytes``. A window that
  does not fit is split into chunks of whole filter rows (``j`` rows of S taps),
  or, when not even one row fits, into segments of ``t < S`` taps of a row. Among
  the chunkings that fit, the one with the fewest cycles per output pixel, then
  the fewest new inputs per slide, then the fewest chunks wins (``l1_chunking``).
  The candidate set only grows with ``l1_bytes``, so with one MAC lane per PE
  (cycles per pixel = R*S whatever the chunking) the chunk count and the input
  deliveries are non-increasing in ``l1_bytes``. A point whose one-tap chunk does
  not fit is flagged by the model (``fit < 1``).
* **L2 (global buffer)** holds a tile of ``n2`` images x ``p2`` output rows x
  ``q2`` output columns (the *pixel tile*) x ``c2`` input channels x ``k2``
  filters; half of L2, the other half double-buffers the next tile. Pixel tiles
  form one sequence of ever smaller tiles (``pixel_levels``): the batch is split
  first (no halo), then the output rows down to one row, then the output columns
  down to one column. For each pixel tile the channel split ``c2 = ceil(c / 4**j)``
  and loop order (filters or pixel tiles outermost) with the fewest DRAM bytes is
  kept, with the most filters that fit (``l2_front``).

  Every input row and column crosses DRAM at least once: a pixel tile reads its
  band of ``ceil(H / row tiles)`` input rows plus the rows it shares with the next
  tile (``max(dilated R - stride, 0)``), and likewise for columns. The same
  elements are counted in a tile's capacity, in its traffic and in the compulsory
  traffic (each tensor once, ``LayerBatch.compulsory_bytes``), so DRAM traffic is
  never below the compulsory traffic and no clamp is needed (the old tiling
  counted only the rows a stride-2 1x1 layer touches, then clamped).

  More pixel tiles never read fewer weights over the NoC (the PE array reloads
  its weights once per pixel tile), so a pixel tile is only worth keeping if it
  moves fewer DRAM bytes than every larger one: ``l2_front`` returns that Pareto
  front (DRAM bytes falling, pixel tiles rising), from which the model picks per
  (config, layer) by bounded latency, then energy. Each candidate's DRAM bytes
  are non-increasing in ``l2_bytes`` and the set of fitting tiles only grows, so
  the chosen latency is non-increasing in ``l2_bytes``.

Each tensor is sized at its own width (inputs, weights, outputs); word counts are
returned per tensor for the shared cost stage.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..units import ceil_div
from .base import LayerBatch
from .common import solve_per_unique

__all__ = ["CHANNEL_SPLITS", "L1Chunks", "L2Front", "l1_chunking", "l1_fit_taps", "l2_front", "pixel_levels"]


# -- L1 chunk ------------------------------------------------------------------

def l1_fit_taps(layers: LayerBatch, l1_bytes):
    """The most filter taps one PE's L1 can hold (``(U, L)`` ints, may be < 1):
    ``taps`` weights and ``taps`` inputs, double-buffered, plus one accumulator."""
    per_tap = 2.0 * (layers.input_bytes_per_elem + layers.weight_bytes_per_elem)
    room = np.asarray(l1_bytes, dtype=float) - layers.output_bytes_per_elem
    return np.floor(room / per_tap).astype(np.int64)


class L1Chunks(NamedTuple):
    """The L1 chunking of each layer's R x S window, each (U, L)."""
    fit: np.ndarray           # most taps L1 holds (< 1: not even one tap fits)
    taps: np.ndarray          # taps of the largest chunk (weights one PE loads at once)
    chunks: np.ndarray        # L1 residencies per window (partial sums per output through L2)
    step_cycles: np.ndarray   # cycles per output pixel: sum over chunks of ceil(taps / vector_width)
    new_per_slide: np.ndarray  # new inputs per PE per slide along Q, summed over the chunks


def _chunk_candidates(layers: LayerBatch, vector_width):
    """Every chunking of every layer's window, shaped (U, L, M): segments of
    ``t = 1 .. S-1`` taps of one filter row, then ``j = 1 .. R`` whole filter rows.
    Returns ``(taps, chunks, step_cycles, new_per_slide, valid)``."""
    r, s = (np.asarray(a, dtype=np.int64)[..., None] for a in (layers.r, layers.s))
    stride = np.asarray(layers.stride_w, dtype=np.int64)[..., None]
    seg_max, row_max = int(np.max(layers.s)) - 1, int(np.max(layers.r))
    t = np.arange(1, seg_max + 1).reshape(1, 1, -1)
    j = np.arange(1, row_max + 1).reshape(1, 1, -1)
    vw = np.asarray(vector_width, dtype=np.int64)[..., None]
    # segments of t taps of one row (t < S): R * ceil(S / t) chunks
    t_ok = t < s
    t_ = np.minimum(t, s)
    full, rem = s // t_, s % t_
    seg = (t_, r * (full + (rem > 0)), r * (full * ceil_div(t_, vw) + ceil_div(rem, vw)),
           r * (full * np.minimum(t_, stride) + np.minimum(rem, stride)), t_ok)
    # j whole rows of S taps (j <= R): ceil(R / j) chunks; each row slides min(S, stride) new inputs
    j_ok = j <= r
    j_ = np.minimum(j, r)
    full, rem = r // j_, r % j_
    rows = (j_ * s, full + (rem > 0), full * ceil_div(j_ * s, vw) + ceil_div(rem * s, vw),
            r * np.minimum(s, stride) + 0 * j_, j_ok)
    shape = np.broadcast_shapes(vw.shape, r.shape)
    return tuple(np.concatenate([np.broadcast_to(a, shape[:2] + (np.shape(a)[-1],)),
                                 np.broadcast_to(b, shape[:2] + (np.shape(b)[-1],))], axis=-1)
                 for a, b in zip(seg, rows))


def _l1_chunking(layers: LayerBatch, l1_bytes, vector_width) -> L1Chunks:
    fit = l1_fit_taps(layers, l1_bytes)
    taps, chunks, step, new, valid = _chunk_candidates(layers, vector_width)
    ok = valid & (taps <= np.maximum(fit, 1)[..., None])
    big = np.iinfo(np.int64).max // 4
    # lexicographic: fewest cycles per pixel, then fewest new inputs per slide, then fewest chunks
    key = np.where(ok, step, big)
    best = key.min(axis=-1, keepdims=True)
    ok &= key == best
    key = np.where(ok, new, big)
    ok &= key == key.min(axis=-1, keepdims=True)
    key = np.where(ok, chunks, big)
    pick = np.argmin(key, axis=-1)[..., None]
    take = lambda a: np.take_along_axis(a, pick, axis=-1)[..., 0]
    return L1Chunks(fit, take(taps), take(chunks), take(step), take(new))


def l1_chunking(layers: LayerBatch, l1_bytes, vector_width) -> L1Chunks:
    """The L1 chunking per (config, layer), solved once per distinct
    ``(l1_bytes, vector_width)``; see the module docstring."""
    return solve_per_unique({"l1_bytes": l1_bytes, "vector_width": vector_width},
                            lambda l1_bytes, vector_width: _l1_chunking(layers, l1_bytes, vector_width))


# -- L2 tiling -------------------------------------------------------------------

# channel splits of an L2 tile: c2 = ceil(c / 4**j)
CHANNEL_SPLITS = 4 ** np.arange(4)


def _levels(n):
    """How many halvings take ``n`` to 1: ceil(log2 n), for ints >= 1."""
    return int(np.ceil(np.log2(max(int(n), 1))))


def pixel_levels(layers: LayerBatch):
    """The sequence of pixel tiles ``(n2, p2, q2)``, each (1, L, I): the whole
    output, then the batch halved down to one image, then the output rows halved
    down to one row, then the output columns halved down to one column. Along the
    sequence the tile never grows. (A layer needing fewer halvings repeats its
    smallest tile.)"""
    a, b, c = (_levels(np.max(x)) for x in (layers.n, layers.p, layers.q))
    i = np.arange(1 + a + b + c).reshape(1, 1, -1)
    n, p, q = (np.asarray(x, dtype=np.int64)[..., None] for x in (layers.n, layers.p, layers.q))
    halve = lambda size, times: ceil_div(size, np.left_shift(1, np.clip(times, 0, 62)))
    n2 = np.where(i <= a, halve(n, i), 1)
    p2 = np.where(i <= a, p, np.where(i <= a + b, halve(p, i - a), 1))
    q2 = np.where(i <= a + b, q, halve(q, i - a - b))
    return n2, p2, q2


class L2Front(NamedTuple):
    """The L2 tiles worth considering for each (L2 size, layer), each (U, L, F);
    ordered by pixel tiles rising and DRAM bytes falling; ``valid`` is False in
    the padding of layers with fewer than F candidates (and where nothing fits)."""
    pixel_tiles: np.ndarray   # how often the PE array reloads each weight: n, row and column tiles
    col_tiles: np.ndarray     # column tiles per output row (each restarts the PEs' sliding window)
    dram_input: np.ndarray    # DRAM words of each tensor
    dram_weight: np.ndarray
    dram_output: np.ndarray
    dram_bytes: np.ndarray
    valid: np.ndarray


def _g(a):
    """A (1, L) layer field as floats shaped (1, L, 1, 1) against the (U, L, I, J) grid."""
    return np.asarray(a, dtype=float)[..., None, None]


def _l2_grid(layers: LayerBatch, l2_bytes):
    """Every (pixel tile, channel split, loop order) of every layer at each L2
    size: DRAM words per tensor and whether it fits, shaped (U, L, I, J, 2)."""
    cap = np.asarray(l2_bytes, dtype=float).reshape(-1, 1, 1, 1) / 2.0
    n, g, k, c = _g(layers.n), _g(layers.g), _g(layers.k), _g(layers.c)
    h, w, rs = _g(layers.h), _g(layers.w), _g(layers.r * layers.s)
    bi, bw, bo = (_g(b) for b in (layers.input_bytes_per_elem, layers.weight_bytes_per_elem,
                                  layers.output_bytes_per_elem))
    n2, p2, q2 = (np.asarray(x, dtype=float)[..., None] for x in pixel_levels(layers))   # (1, L, I, 1)
    nt, rt, qt = np.ceil(n / n2), np.ceil(_g(layers.p) / p2), np.ceil(_g(layers.q) / q2)
    halo_h = np.maximum((_g(layers.r) - 1) * _g(layers.dil_h) + 1 - _g(layers.stride_h), 0.0)
    halo_w = np.maximum((_g(layers.s) - 1) * _g(layers.dil_w) + 1 - _g(layers.stride_w), 0.0)
    rows = np.minimum(np.ceil(h / rt) + halo_h, h)         # input rows of one tile (its band + halo)
    cols = np.minimum(np.ceil(w / qt) + halo_w, w)
    c2 = np.ceil(c / CHANNEL_SPLITS.reshape(1, 1, 1, -1))  # (1, L, 1, J)
    in_tile = n2 * rows * cols * bi                        # bytes per channel of a pixel tile
    per_filter = c2 * rs * bw + n2 * p2 * q2 * bo + np.where(g > 1, c2 * in_tile / k, 0.0)
    k2 = np.minimum(np.floor((cap - c2 * in_tile) / per_filter), g * k)
    fits = k2 >= 1
    full_c = c2 == c
    pixel_tiles = nt * rt * qt
    # every input element once per pass over the input: bands plus the halo shared by neighbours
    rows_all = np.minimum(h + (rt - 1) * halo_h, rt * h)
    cols_all = np.minimum(w + (qt - 1) * halo_w, qt * w)
    inputs = g * c * n * rows_all * cols_all
    weights, outputs = g * k * c * rs, n * g * k * _g(layers.p) * _g(layers.q)
    # filters outermost: a filter tile's weights stay (once if it has every channel, else once per
    # pixel tile); the inputs are read once per filter tile of a group
    f_in = inputs * np.ceil(k / np.minimum(np.maximum(k2, 1.0), k))
    f_w = weights * np.where(full_c, 1.0, pixel_tiles)
    # pixel tiles outermost (every channel of a pixel tile beside one filter): inputs once,
    # weights once per pixel tile
    rows_fit = fits & full_c & (g * c * in_tile + per_filter <= cap)
    stack = lambda a, b: np.stack(np.broadcast_arrays(a, b), axis=-1)
    d_in, d_w = stack(f_in, inputs), stack(f_w, weights * pixel_tiles)
    ok = stack(fits, rows_fit)
    d_out = np.broadcast_to(outputs[..., None], d_in.shape)
    return d_in, d_w, d_out, ok, pixel_tiles, qt, (bi, bw, bo)


def _l2_front(layers: LayerBatch, l2_bytes):
    d_in, d_w, d_out, ok, pixel_tiles, col_tiles, (bi, bw, bo) = _l2_grid(layers, l2_bytes)
    d_bytes = np.where(ok, d_in * bi[..., None] + d_w * bw[..., None] + d_out * bo[..., None], np.inf)
    u, l, i = d_bytes.shape[:3]
    flat = d_bytes.reshape(u, l, i, -1)
    best = np.argmin(flat, axis=-1)[..., None]                     # per pixel tile: fewest DRAM bytes
    pick = lambda a: np.take_along_axis(np.broadcast_to(a, d_bytes.shape).reshape(flat.shape), best, -1)[..., 0]
    level_bytes = pick(d_bytes)
    # keep a pixel tile only if it moves fewer DRAM bytes than every larger one
    before = np.minimum.accumulate(np.concatenate([np.full((u, l, 1), np.inf), level_bytes[..., :-1]], -1), -1)
    keep = level_bytes < before
    size = max(int(keep.sum(axis=-1).max()), 1)
    order = np.argsort(~keep, axis=-1, kind="stable")[..., :size]
    gather = lambda a: np.take_along_axis(np.broadcast_to(a, (u, l, i)), order, axis=-1)
    tiles = np.broadcast_to(pixel_tiles[..., 0], (1, l, i))
    cols = np.broadcast_to(col_tiles[..., 0], (1, l, i))
    return L2Front(pixel_tiles=gather(tiles), col_tiles=gather(cols), dram_input=gather(pick(d_in)),
                   dram_weight=gather(pick(d_w)), dram_output=gather(pick(d_out)),
                   dram_bytes=gather(level_bytes), valid=gather(keep))


def l2_front(layers: LayerBatch, l2_bytes) -> tuple[L2Front, np.ndarray]:
    """The candidate L2 tiles, solved once per distinct ``l2_bytes``: ``(front,
    rows)`` with the front's fields shaped (U, L, F) over the U distinct sizes and
    ``rows`` (C,) the row of each config. (Not expanded to (C, L, F): a sweep of
    10**5 configs would hold gigabytes.) See the module docstring; a layer with
    no valid candidate has no fitting tile (the model flags ``l2_bytes``)."""
    sizes, rows = np.unique(np.asarray(l2_bytes).reshape(-1), return_inverse=True)
    return _l2_front(layers, sizes.reshape(-1, 1)), rows.reshape(-1)
