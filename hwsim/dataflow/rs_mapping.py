"""Eyeriss's row-stationary *mapping*: how a layer's logical PE sets are folded
and replicated onto the physical array, how many filters and channels a PE
handles per pass given its scratchpads, and which split of the replicated sets
is fastest (the one mapping policy). ``row_stationary.py`` turns the mapping into
cycles, traffic and energy.

Folding and replication follow stanford-mast/nn_dataflow's Eyeriss mapper
(``MapStrategyEyeriss``), re-implemented and vectorized over layers x configs.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ..units import ceil_div
from .base import ConfigBatch, LayerBatch
from .common import solve_per_unique

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


def spad_words(configs, layers: LayerBatch):
    """(filter, ifmap, psum) scratchpad words per PE, (C, L) arrays. Derived from
    ``l1_bytes`` the spads hold words of the weight, input and output width.
    ``configs`` is a ConfigBatch or a dict of its columns."""
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


# The split candidates live on two trailing axes of every (C, L) array: the number
# t of sets on different filters, and where the other sets go (channels or groups).
_CAND = (Ellipsis, None, None)


@dataclass(frozen=True)
class Mapping:
    """The chosen row-stationary mapping of each layer on each config, (C, L) arrays."""
    compute: np.ndarray     # PE-array cycles: MACs + vertical psum adds + filter fills
    n_k: np.ndarray         # filter blocks: passes over the K filters (each re-reads the ifmap)
    n_c: np.ndarray         # channel blocks: psum tiles per output and filter-row segment
    n_s: np.ndarray         # filter-row segments (S cut to fit the ifmap spad)
    w_reload: np.ndarray    # times each filter word is brought on chip and into the spads
    i_reload: np.ndarray    # times each ifmap word is streamed from DRAM
    spill: np.ndarray       # bool: psums that fit no strip go to DRAM and back
    rows: np.ndarray        # physical array rows the layer sees
    cols: np.ndarray        # physical array columns
    active: np.ndarray      # PEs holding a (folded, replicated) logical PE set


# The config fields the mapping depends on (it is solved once per distinct row of them).
MAPPING_PARAMS = ("pes", "pe_rows", "l1_bytes", "filter_spad_words", "ifmap_spad_words", "psum_spad_words",
                  "l2_bytes", "noc_bw_bytes_per_cycle")


def fastest_mapping(layers: LayerBatch, configs: ConfigBatch) -> Mapping:
    """The one mapping policy: the fastest of the array shapes (``STACKS`` when
    ``pe_rows == 0``, else the fixed shape) and, on each, of the splits of the
    replicated sets (``best_split``). Solved once per distinct config of
    ``MAPPING_PARAMS`` (``common.solve_per_unique``)."""
    columns = {name: configs[name] for name in MAPPING_PARAMS}
    columns.update(pes=configs.ints("pes"), pe_rows=configs.ints("pe_rows"),
                   noc_bw_bytes_per_cycle=configs.floats("noc_bw_bytes_per_cycle"))
    return solve_per_unique(columns, lambda **c: _fastest(layers, c))


def _fastest(layers: LayerBatch, c) -> Mapping:
    """``fastest_mapping`` on the config columns ``c``. The first array shape (one
    set of R rows) is tried on every config; the taller ones only on the configs
    with ``pe_rows == 0`` -- a fixed ``pe_rows`` ignores the stack. A taller shape
    replaces the best so far only where it is strictly faster (first wins ties)."""
    best = _on_shape(layers, c, STACKS[0])
    free = c["pe_rows"][:, 0] == 0
    if not free.any():
        return best
    sub = {name: value[free] for name, value in c.items()}
    for stack in STACKS[1:]:
        best = _take_faster(best, _on_shape(layers, sub, stack), free)
    return best


def _on_shape(layers: LayerBatch, c, stack) -> Mapping:
    """The fastest split of the replicated sets on the array shape of ``stack``."""
    s, n_s, q, p = pe_block(layers, *spad_words(c, layers))
    rows, cols = array_shape(c["pes"], c["pe_rows"], layers.r, stack)
    return best_split(layers, c, rows, cols, s, n_s, q, p, c["noc_bw_bytes_per_cycle"])


def _take_faster(best: Mapping, cand: Mapping, rows) -> Mapping:
    """``best`` with its ``rows`` (a config mask) taken from ``cand`` (computed on
    those rows only) where ``cand`` has strictly fewer cycles."""
    shape = best.compute.shape
    better = cand.compute < best.compute[rows]
    merged = {}
    for f in fields(Mapping):
        value = np.array(np.broadcast_to(getattr(best, f.name), shape))
        value[rows] = np.where(better, getattr(cand, f.name), value[rows])
        merged[f.name] = value
    return Mapping(**merged)


def best_split(layers: LayerBatch, configs, rows, cols, s, n_s, q, p, noc_bw) -> Mapping:
    """The layer on a ``rows x cols`` array with the fastest split of the
    replicated sets into t (filters) x r (channels) x gamma (groups): its cycles,
    loop counts and GLB reload factors. Candidates are evaluated on trailing
    axes and the fastest is taken per layer and config."""
    fold_h, fold_w, sets, active = fold_and_replicate(layers.r, layers.p, rows, cols)
    t, r_sets, gamma, valid = _split_candidates(sets)
    kt, n_k = loop_time(layers.k[_CAND], p[_CAND], t)
    ct, n_c = loop_time(layers.c[_CAND], q[_CAND], r_sets)
    outer = (layers.n * n_s * fold_h * fold_w)[_CAND] * ceil_div(layers.g[_CAND], gamma)
    w_reload, spill, i_reload = _glb_tiling(layers, configs, fold_w, p, t, n_k)
    cycles = _pe_cycles(layers, s, outer, kt, ct, n_c) + _filter_fill_cycles(layers, w_reload, noc_bw)
    cycles = np.where(valid, cycles, np.inf)
    flat = cycles.shape[:-2] + (-1,)
    best = np.argmin(cycles.reshape(flat), axis=-1)[..., None]

    def pick(a):
        return np.take_along_axis(np.broadcast_to(a, cycles.shape).reshape(flat), best, axis=-1)[..., 0]

    shape = cycles.shape[:-2]
    return Mapping(compute=pick(cycles), n_k=pick(n_k), n_c=pick(n_c), n_s=np.broadcast_to(n_s, shape),
                   w_reload=pick(w_reload), i_reload=pick(i_reload), spill=pick(spill),
                   rows=np.broadcast_to(rows, shape), cols=np.broadcast_to(cols, shape),
                   active=np.broadcast_to(active, shape))


def _split_candidates(sets):
    """How the ``sets`` replicas of the logical PE set share the work: ``t`` of
    them take different filters and the rest (``sets // t``) all take different
    channels (``r``) or all different groups (``gamma``). Returns t, r, gamma on
    the candidate axes and which candidates exist (t <= sets)."""
    t = _FILTER_SETS.reshape(1, 1, -1, 1)
    to_groups = np.array([False, True]).reshape(1, 1, 1, -1)
    rest = np.maximum(sets[_CAND] // t, 1)
    r_sets = np.where(to_groups, 1, rest)
    gamma = np.where(to_groups, rest, 1)
    return t, r_sets, gamma, t <= sets[_CAND]


def _pe_cycles(layers: LayerBatch, s, outer, kt, ct, n_c):
    """PE time over all passes: one MAC per cycle (``kt`` filters x ``ct``
    channels x ``s`` taps per output pixel of an F-wide row), plus one adder cycle
    per psum arriving from the PE below (one per filter and output pixel per
    channel block). ``outer`` counts the batch x segment x fold x group passes."""
    f = layers.q
    mac_cycles = outer * kt * ct * (s * f)[_CAND]
    psum_cycles = outer * kt * n_c * f[_CAND]
    return mac_cycles + psum_cycles


def _glb_tiling(layers: LayerBatch, configs, fold_w, p, t, n_k):
    """GLB tiling (half the GLB for psums, half for the ifmap): filters stay in the
    spads while the psums they feed fit -- for the whole batch, else per image,
    else per E strip (filters refilled per image / per strip); beyond that psums
    spill to DRAM. An ifmap that does not fit its half is streamed from DRAM once
    per filter block. Returns (w_reload, spill, i_reload) per candidate.

    The fit is checked per group (an optimistic simplification for gamma > 1
    that keeps the mapping monotone in the number of sets). Each half holds
    words of its tensor's width (psums: output width; ifmap: input width)."""
    n, k, e, f = layers.n[_CAND], layers.k[_CAND], layers.p, layers.q
    psum_half = (configs["l2_bytes"] / layers.output_bytes_per_elem)[_CAND] / 2.0
    ifmap_half = (configs["l2_bytes"] / layers.input_bytes_per_elem)[_CAND] / 2.0
    in_flight = np.minimum(p[_CAND] * t, k)                           # filters whose psums are live
    strip_tile = (ceil_div(e, fold_w) * f)[_CAND] * in_flight
    image_tile = (e * f)[_CAND] * in_flight
    w_reload = np.where(n * image_tile <= psum_half, 1,
                        np.where(image_tile <= psum_half, n, n * fold_w[_CAND]))
    spill = strip_tile > psum_half
    ifmap_all = (layers.n * layers.g * layers.c * layers.h * layers.w)[_CAND]
    i_reload = np.where(ifmap_all <= ifmap_half, 1, n_k)
    return w_reload, spill, i_reload


def _filter_fill_cycles(layers: LayerBatch, w_reload, noc_bw):
    """Filter-spad fills over the filter bus (``FILTER_BUS_SHARE`` of the NoC):
    every filter word is filled once per reload, multicast along its PE row."""
    filter_bytes = (layers.weight_elems * layers.weight_bytes_per_elem)[_CAND]
    return filter_bytes * w_reload / (noc_bw[_CAND] * FILTER_BUS_SHARE)
