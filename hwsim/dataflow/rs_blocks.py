"""Building blocks of the row-stationary mapping (``rs_mapping.py``): scratchpad
sizes, the per-PE block of filters and channels, the physical array shape, folding
and replication of a logical PE set onto it (stanford-mast/nn_dataflow
``MapStrategyEyeriss``, re-implemented vectorized), and the steps of a loop spread
over replicas. Each is a closed form over (configs, layers) arrays.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..units import ceil_div
from .base import LayerBatch

# Eyeriss PE scratchpads (JSSC'17 Table I): filter 224, ifmap 12, psum 24 words.
# Used to split ``l1_bytes`` when the per-spad word counts are not given.
EYERISS_SPAD_SPLIT = {"filter": 224, "ifmap": 12, "psum": 24}


def spad_words(configs, layers: LayerBatch):
    """(filter, ifmap, psum) scratchpad words per PE, (C, L) arrays. Derived from
    ``l1_bytes`` the spads hold words of the weight, input and output width.
    ``configs`` is a ConfigBatch or a dict of its columns."""
    total = sum(EYERISS_SPAD_SPLIT.values())
    word_bytes = {"filter": layers.weight_bytes_per_elem, "ifmap": layers.input_bytes_per_elem,
                  "psum": layers.output_bytes_per_elem}
    out = []
    for name in ("filter", "ifmap", "psum"):
        given = np.asarray(configs[f"{name}_spad_words"])
        derived = np.floor(np.asarray(configs["l1_bytes"]) / word_bytes[name] * EYERISS_SPAD_SPLIT[name] / total)
        out.append(np.where(given > 0, given, derived).astype(np.int64))
    return tuple(out)


def pe_block(layers: LayerBatch, filter_w, ifmap_w, psum_w):
    """Per-PE work of one pass: filter-row segment ``s`` (S cut into ``n_s`` equal
    segments when it exceeds the ifmap spad), ``q`` channels and ``p`` filters:
    ``q*s`` words of the sliding window in the ifmap spad, ``p*q*s`` filter words,
    ``p`` psums. ``p`` is the largest power of two of filters the spads hold (beside
    one channel), ``q`` the largest power of two of channels that fit beside them
    (``channels``)."""
    n_s = ceil_div(layers.s, np.maximum(np.minimum(layers.s, ifmap_w), 1))
    s = ceil_div(layers.s, n_s)
    p = _floor_pow2(np.minimum(np.minimum(layers.k, psum_w), filter_w // np.maximum(s, 1)))
    return s, n_s, channels(layers.c, s, filter_w, ifmap_w, p), p


def channels(c, s, filter_w, ifmap_w, p):
    """The largest power of two of channels (at most ``c``) a PE holds beside ``p``
    filters: ``q*s`` ifmap words and ``p*q*s`` filter words. For a given ``p`` more
    channels only save psum round trips, so this is the block to cost; with powers of
    two, every block of a spad is a block of a spad twice its size."""
    window = np.minimum(np.minimum(ifmap_w, filter_w) // np.maximum(s, 1), filter_w // np.maximum(p * s, 1))
    return _floor_pow2(np.minimum(c, window))


def _floor_pow2(x):
    """The largest power of two <= x (1 for x < 1), integer arrays."""
    x = np.maximum(np.asarray(x, dtype=np.int64), 1)
    return np.left_shift(1, np.floor(np.log2(x)).astype(np.int64))


def array_shape(pes, pe_rows, filter_rows):
    """Physical (rows, cols) the layer sees: ``pe_rows x pes//pe_rows``, or for
    ``pe_rows == 0`` columns of ``min(R, pes)`` PEs (MAESTRO's Cluster(Sz(R)))."""
    rows = np.where(pe_rows > 0, pe_rows, np.minimum(filter_rows, pes))
    return rows, pes // np.maximum(rows, 1)


class Fold(NamedTuple):
    """A ``set_rows x set_cols`` logical PE set on a ``rows x cols`` array."""
    fold_h: np.ndarray      # filter-row folds, run in turn
    fold_w: np.ndarray      # passes over the set's columns (output rows), after stacking
    sets: np.ndarray        # replicas side by side
    active: np.ndarray      # PEs of all replicas
    strip_rows: np.ndarray  # PE rows of one replica (filter rows per fold)
    strip_cols: np.ndarray  # output rows one replica computes per pass
    sets_v: np.ndarray      # replicas stacked vertically (their psums can chain up the same columns)


def fold_and_replicate(set_rows, set_cols, rows, cols) -> Fold:
    """Fit the logical set on the array (nn_dataflow's Eyeriss mapper). A set
    wider than the array is cut into strips; strips go to spare rows first (the
    w-to-h adjustment), the rest run in turn; a smaller set is replicated.
    Eyeriss AlexNet: CONV1 11x55 -> 11x14 strips (154 PEs), CONV2 5x27 -> 14 + 13
    stacked (135 PEs), CONV3-5 3x13 -> 4 replicas (156 PEs)."""
    fold_h = np.where(set_rows > rows, ceil_div(set_rows, rows), 1)
    repl_h = np.where(set_rows > rows, 1, rows // np.maximum(set_rows, 1))
    fold_w = np.where(set_cols > cols, ceil_div(set_cols, cols), 1)
    repl_w = np.where(set_cols > cols, 1, cols // np.maximum(set_cols, 1))
    stack = np.minimum(repl_h, fold_w)                 # strips stacked into spare rows
    fold_w = ceil_div(fold_w, stack)
    repl_h = repl_h // stack
    strip_rows = ceil_div(set_rows, fold_h)
    strip_cols = ceil_div(set_cols, fold_w)
    sets = repl_h * repl_w
    return Fold(fold_h, fold_w, sets, strip_rows * strip_cols * sets, strip_rows, strip_cols, repl_h)


def loop_time(extent, per_pe, sets):
    """Sequential steps of a loop of ``extent`` spread over ``sets`` PE sets that
    each take ``per_pe`` per pass: full passes plus the shorter last one.
    Returns (steps, passes); neither grows with ``sets``."""
    chunk = per_pe * sets
    n = ceil_div(extent, chunk)
    rest = extent - (n - 1) * chunk
    return (n - 1) * per_pe + ceil_div(rest, sets), n
