"""Eyeriss's row-stationary *mapping*: how a layer's logical PE sets are folded
and replicated onto the physical array, how many filters and channels a PE
handles per pass given its scratchpads, and which split of the replicated sets
is fastest (the one mapping policy). ``row_stationary.py`` turns the mapping into
cycles, traffic and energy.

Folding and replication follow stanford-mast/nn_dataflow's Eyeriss mapper
(``MapStrategyEyeriss``), re-implemented and vectorized over layers x configs.
"""

from __future__ import annotations

import numpy as np

from ..units import ceil_div
from .base import ConfigBatch, LayerBatch

# Eyeriss PE scratchpads (JSSC'17 Table I): filter 224, ifmap 12, psum 24 words.
# Used to split ``l1_bytes`` when the per-spad word counts are not given.
EYERISS_SPAD_SPLIT = {"filter": 224, "ifmap": 12, "psum": 24}
# Eyeriss moves ifmaps, filters and psums on separate, equally wide buses
# (64 b each, JSSC'17 Sec. V): the filter fill gets one third of the NoC.
FILTER_BUS_SHARE = 1.0 / 3.0
# Split candidates for the replicated sets: t sets work on different filters and
# the other sets all on different channels (r) or all on different groups (gamma).
_FILTER_SETS = np.array(list(range(1, 17)) + [24, 32, 48, 64, 96, 128, 192, 256])
# pe_rows = 0: candidate array heights, in sets of R rows stacked vertically.
STACKS = (1, 2, 4, 8)


def array_shape(pes, pe_rows, filter_rows, stack=1):
    """Physical (rows, cols) the layer sees: ``pe_rows x pes//pe_rows``, or for
    ``pe_rows == 0`` columns of ``min(stack * R, pes)`` PEs (``stack`` sets of R
    rows on top of each other)."""
    rows = np.where(pe_rows > 0, pe_rows, np.minimum(stack * filter_rows, pes))
    return rows, pes // rows


def fold_and_replicate(set_rows, set_cols, rows, cols):
    """Fit the ``set_rows x set_cols`` logical PE set on a ``rows x cols`` array.

    Returns ``fold_h`` (filter-row folds, run in turn), ``fold_w`` (output-row
    strips run in turn), ``sets`` (replicas side by side) and ``active_pes``.
    A set wider than the array is cut into strips; strips go to spare rows
    first (nn_dataflow's w-to-h adjustment), the rest run sequentially.
    """
    fold_h = np.where(set_rows > rows, ceil_div(set_rows, rows), 1)
    repl_h = np.where(set_rows > rows, 1, rows // np.maximum(set_rows, 1))
    fold_w = np.where(set_cols > cols, ceil_div(set_cols, cols), 1)
    repl_w = np.where(set_cols > cols, 1, cols // np.maximum(set_cols, 1))
    stack = np.minimum(repl_h, fold_w)                 # strips stacked into spare rows
    fold_w = ceil_div(fold_w, stack)
    repl_h = repl_h // stack
    strip_rows = ceil_div(set_rows, fold_h)
    strip_cols = ceil_div(set_cols, fold_w)            # columns of one set, before stacking
    active = strip_rows * strip_cols * repl_h * repl_w
    return fold_h, fold_w, repl_h * repl_w, active


def spad_words(configs: ConfigBatch, layers: LayerBatch):
    """(filter, ifmap, psum) scratchpad words per PE, (C, L) arrays. Derived from
    ``l1_bytes`` the spads hold words of the weight, input and output width."""
    total = sum(EYERISS_SPAD_SPLIT.values())
    word_bytes = {"filter": layers.weight_bytes_per_elem, "ifmap": layers.input_bytes_per_elem,
                  "psum": layers.output_bytes_per_elem}
    out = []
    for name in ("filter", "ifmap", "psum"):
        given = configs[f"{name}_spad_words"]
        derived = np.floor(configs["l1_bytes"] / word_bytes[name] * EYERISS_SPAD_SPLIT[name] / total)
        out.append(np.where(given > 0, given, derived).astype(np.int64))
    return tuple(out)


def pe_block(layers: LayerBatch, filter_w, ifmap_w, psum_w):
    """Per-PE work of one pass: filter-row segment ``s`` (S cut into ``n_s``
    segments when it exceeds the ifmap spad), ``q`` channels, ``p`` filters."""
    s = np.minimum(layers.s, ifmap_w)
    n_s = ceil_div(layers.s, np.maximum(s, 1))
    q = np.minimum(layers.c, ifmap_w // np.maximum(s, 1))
    p = np.minimum(np.minimum(layers.k, psum_w), filter_w // np.maximum(q * s, 1))
    return s, n_s, q, p


def loop_time(extent, per_pe, sets):
    """Sequential steps of a loop of ``extent`` spread over ``sets`` PE sets that
    each take ``per_pe`` per pass: full passes plus the shorter last one."""
    chunk = per_pe * sets
    n = ceil_div(extent, chunk)
    rest = extent - (n - 1) * chunk
    return (n - 1) * per_pe + ceil_div(rest, sets), n


def best_split(layers: LayerBatch, configs: ConfigBatch, rows, cols, s, n_s, q, p, noc_bw):
    """Cycles of the layer on a ``rows x cols`` array with the fastest split of
    the replicated sets into t (filters) x r (channels) x gamma (groups), and
    the loop counts and GLB reload factors of that mapping ((C, L) arrays)."""
    n, g, k, c = layers.n, layers.g, layers.k, layers.c
    r, e, f = layers.r, layers.p, layers.q
    fold_h, fold_w, sets, active = fold_and_replicate(r, e, rows, cols)
    x = (Ellipsis, None, None)                                       # trailing candidate axes
    t_c = _FILTER_SETS.reshape(1, 1, -1, 1)                           # sets on different filters
    to_groups = np.array([False, True]).reshape(1, 1, 1, -1)         # where the other sets go
    sets4 = sets[x]
    valid = t_c <= sets4
    rest = np.maximum(sets4 // t_c, 1)
    r_c = np.where(to_groups, 1, rest)                                # sets on different channels
    gam = np.where(to_groups, rest, 1)                                # sets on different groups
    kt, n_k = loop_time(k[x], p[x], t_c)
    ct, n_c = loop_time(c[x], q[x], r_c)
    gt = ceil_div(g[x], gam)
    outer = (n * n_s * fold_h * fold_w)[x] * gt
    mac_cycles = outer * kt * ct * (s * f)[x]
    psum_cycles = outer * kt * n_c * f[x]                            # vertical psum adds

    # GLB tiling (half the GLB for psums): filters stay in the spads while the
    # psums they feed fit -- for the whole batch, else per image, else per E strip
    # (filters refilled per image / per strip); beyond that psums spill to DRAM.
    # The fit is checked per group (an optimistic simplification for gamma > 1
    # that keeps the mapping monotone in the number of sets). Each half holds
    # words of its tensor's width (psums: output width; ifmap: input width).
    psum_half = (configs["l2_bytes"] / layers.output_bytes_per_elem)[x] / 2.0
    ifmap_half = (configs["l2_bytes"] / layers.input_bytes_per_elem)[x] / 2.0
    in_flight = np.minimum(p[x] * t_c, k[x])
    strip_tile = (ceil_div(e, fold_w) * f)[x] * in_flight
    image_tile = (e * f)[x] * in_flight
    w_reload = np.where(n[x] * image_tile <= psum_half, 1,
                        np.where(image_tile <= psum_half, n[x], n[x] * fold_w[x]))
    spill = strip_tile > psum_half
    ifmap_all = (n * g * c * layers.h * layers.w)[x]
    i_reload = np.where(ifmap_all <= ifmap_half, 1, n_k)            # else streamed per filter block
    # Every filter word is filled once per reload, multicast along its PE row.
    filter_bytes = (layers.weight_elems * layers.weight_bytes_per_elem)[x]
    fill_cycles = filter_bytes * w_reload / (noc_bw[x] * FILTER_BUS_SHARE)
    cycles = np.where(valid, mac_cycles + psum_cycles + fill_cycles, np.inf)
    flat = cycles.shape[:-2] + (-1,)
    best = np.argmin(cycles.reshape(flat), axis=-1)[..., None]

    def pick(a):
        return np.take_along_axis(np.broadcast_to(a, cycles.shape).reshape(flat), best, axis=-1)[..., 0]

    shape = cycles.shape[:-2]
    return {"compute": pick(cycles), "n_k": pick(n_k), "n_c": pick(n_c), "w_reload": pick(w_reload),
            "i_reload": pick(i_reload), "spill": pick(spill),
            "rows": np.broadcast_to(rows, shape), "cols": np.broadcast_to(cols, shape),
            "active": np.broadcast_to(active, shape)}
