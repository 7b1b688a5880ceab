"""Eyeriss's row-stationary *mapping*, chosen by what it costs.

A layer's logical PE sets are folded and replicated onto the physical array
(stanford-mast/nn_dataflow ``MapStrategyEyeriss``, re-implemented vectorized);
each PE holds ``p`` filters x ``q`` channels of one filter row in its
scratchpads; the global buffer (GLB) holds a *tile* of the layer -- the partial
sums of the filters in flight for a strip of output rows (Eyeriss processes the
ifmap in row strips, JSSC'17 Sec. IV) -- and, when they fit beside it, the
tile's ifmap rows and the layer's filters. ``row_stationary.py`` turns the
chosen mapping into the shared stage's ``Activity``.

**Candidates.** Every (config, layer) is costed on a fixed grid of mapping
descriptors, the same for every PE count and buffer size:

* ``t`` (``FILTER_SETS``): replicas of the logical PE set that work on different
  filters; the remaining replicas all take different channels (``r``), or, for
  a depthwise layer (one channel per group), different groups (``gamma``);
* the GLB tile (``TILE_SPLITS``): the whole batch, or one image's output rows cut
  into 1, 2, 4, ... 128 strips. The array maps one tile at a time (a strip of
  ``E_g`` rows is an ``R x E_g`` logical set), so a strip narrower than the
  array replicates more, and its filters are reloaded per tile.

**Choice.** The candidate with the smallest bounded latency -- max(compute,
GLB<->array bytes / NoC bandwidth, DRAM bytes / DRAM bandwidth), compute at the
datapath's passes -- then the least energy (DRAM, GLB and NoC energy of the
candidate: the parts that differ between candidates). Because the grid does
not depend on the PE count or the buffer sizes, a larger array or buffer only
makes candidates feasible or cheaper, never removes one: latency is
non-increasing in ``pes``, ``l2_bytes`` and both bandwidths (more PEs give a
candidate more replicas for its channel sets, which never adds time; the
fill/drain does not depend on the array). A candidate may leave PEs idle (few
filter sets, a short strip): that is how the model uses fewer PEs when
using all of them would cost more traffic than it saves compute.

**GLB tiling** of a candidate, the residency with the fewest DRAM bytes that fits
``l2_bytes`` (all at their tensors' widths; one group at a time):

* psums of the filters in flight for the tile (``p*t`` filters x ``E_g`` rows x
  ``F`` x the tile's images) stay while every channel block accumulates into
  them -- unless each output is finished in one pass (then they stream out);
* the tile's ifmap rows (all channels, ``(E_g - 1)*stride + R`` rows, the halo
  between strips re-read) are read from DRAM once if they fit beside the psums,
  else once per filter block;
* the layer's filters are read from DRAM once if they fit too, else once per tile;
* the whole-batch tile may instead spill its psums to DRAM per channel block
  (always feasible: every layer maps on every GLB).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..units import ceil_div
from .base import LayerBatch
from .common import solve_per_unique
from .stage import Words, datapath_passes, multicast_hops

# Eyeriss PE scratchpads (JSSC'17 Table I): filter 224, ifmap 12, psum 24 words.
# Used to split ``l1_bytes`` when the per-spad word counts are not given.
EYERISS_SPAD_SPLIT = {"filter": 224, "ifmap": 12, "psum": 24}
# Eyeriss moves ifmaps, filters and psums on separate, equally wide buses
# (64 b each, JSSC'17 Sec. V): the filter fill gets one third of the NoC.
FILTER_BUS_SHARE = 1.0 / 3.0
# Candidate splits of the replicas and blocks of filters per PE (design choice): t
# replicas on different filters, t in 1, 2, 4, ... 256 (the rest take channels, so
# t = 1 uses them all), each with the most filters per PE the spads allow; and t = 1
# with 1/2, 1/4, 1/8 of them (a smaller block of filters in flight, for a GLB tile
# that must fit).
FILTER_SETS = np.concatenate([2 ** np.arange(9), [1, 1, 1]])
FILTER_DIVISOR = np.concatenate([np.ones(9, dtype=np.int64), [2, 4, 8]])
# Candidate PE blocks (design choice): as many channels per PE as the ifmap spad
# holds, or half as many (and more filters).
CHANNEL_DIVISORS = (1, 2)
# Candidate GLB tiles: index 0 is the whole batch, index 1 + i one image's output
# rows cut into 2**i strips (design choice: strips of down to 1/32 of the rows).
TILE_SPLITS = np.concatenate([[1], 2 ** np.arange(6)])
_WHOLE = np.arange(TILE_SPLITS.size) == 0
# Latencies within this relative difference are a tie (float rounding), decided by energy.
TIE = 1e-10

# The config fields the mapping depends on, and those its candidates' traffic depends on.
MAPPING_PARAMS = ("pes", "pe_rows", "l1_bytes", "filter_spad_words", "ifmap_spad_words", "psum_spad_words",
                  "l2_bytes", "noc_bw_bytes_per_cycle", "dram_bw_bytes_per_cycle", "word_bits")
_GLB_PARAMS = MAPPING_PARAMS[:7]

# Candidate axes: (config, layer) arrays get three trailing axes (PE block, filter
# sets, GLB tile); a (config, layer, block) array gets two.
_C = (Ellipsis, None, None, None)
_B = (Ellipsis, None, None)


# -- the row-stationary building blocks -----------------------------------------------

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


def pe_block(layers: LayerBatch, filter_w, ifmap_w, psum_w, channel_divisor=1):
    """Per-PE work of one pass: filter-row segment ``s`` (S cut into ``n_s`` equal
    segments when it exceeds the ifmap spad), ``q`` channels (``q*s`` ifmap words in
    the sliding window) and ``p`` filters (``p*q*s`` filter words, ``p`` psums):
    as many channels as the ifmap spad holds (Eyeriss's mapper), or 1 /
    ``channel_divisor`` of them, then as many filters as fit -- fewer channels per
    PE, more filters: fewer filter blocks (ifmap re-deliveries), more channel blocks
    (psum round trips)."""
    n_s = ceil_div(layers.s, np.maximum(np.minimum(layers.s, ifmap_w), 1))
    s = ceil_div(layers.s, n_s)
    window = np.minimum(ifmap_w, filter_w) // np.maximum(s, 1)      # a filter row per channel must fit too
    q = np.maximum(np.minimum(layers.c, window) // channel_divisor, 1)
    p = np.maximum(np.minimum(np.minimum(layers.k, psum_w), filter_w // np.maximum(q * s, 1)), 1)
    return s, n_s, q, p


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
    sets_v: np.ndarray      # replicas stacked vertically (their psums chain up the same columns)


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
    Returns (steps, passes); steps never grow with ``sets``."""
    chunk = per_pe * sets
    n = ceil_div(extent, chunk)
    rest = extent - (n - 1) * chunk
    return (n - 1) * per_pe + ceil_div(rest, sets), n


# -- the chosen mapping ------------------------------------------------------------------

@dataclass(frozen=True)
class Mapping:
    """The chosen mapping of each layer on each config, (C, L) arrays. Word counts
    are of each tensor's elements (psums at the output width)."""
    compute: np.ndarray     # cycles of one datapath pass: PE cycles + filter fills (fills once, not per pass)
    glb_array: Words        # GLB <-> array words (cross the NoC bandwidth)
    dram: Words             # DRAM words (each also written or read once at the GLB)
    spad: Words             # scratchpad accesses: a read (psum: read + write) per MAC, plus fills
    noc_hops: Words         # NoC word-hops: GLB deliveries x pitches travelled, PE-to-PE psum moves
    active: np.ndarray      # PEs holding work
    rows: np.ndarray        # physical array rows the layer sees
    cols: np.ndarray        # physical array columns
    filter_sets: np.ndarray  # t: replicas on different filters
    glb_tiles: np.ndarray   # tiles the GLB holds in turn (filters reloaded per tile)


def choose_mapping(layers: LayerBatch, configs, technology) -> Mapping:
    """The mapping of every (config, layer): the cheapest candidate (module
    docstring). Solved once per distinct config of ``MAPPING_PARAMS``; the
    candidates' traffic once per distinct config of its array and GLB fields."""
    columns = {name: np.asarray(configs[name]) for name in MAPPING_PARAMS}
    return solve_per_unique(columns, lambda **c: _choose(layers, c, technology))


def _choose(layers: LayerBatch, c, technology) -> Mapping:
    """``choose_mapping`` on the distinct config rows ``c``: the candidates on the
    distinct GLB configs, the choice per config, then the chosen numbers."""
    glb_rows, glb_of = _distinct(c, _GLB_PARAMS)
    cand = _candidates(layers, glb_rows, technology)
    pick = _picker(cand, glb_of, _select(layers, c, cand, glb_of))
    glb_array, dram = (Words(*(pick(getattr(w, t)) for t in ("input", "weight", "output")))
                       for w in (cand.glb_array, cand.dram))
    psum_hops = pick(cand.psum_hops)
    filter_bus = np.asarray(c["noc_bw_bytes_per_cycle"], dtype=float) * FILTER_BUS_SHARE
    passes = datapath_passes(layers, np.asarray(c["word_bits"]))
    macs = layers.macs.astype(float)
    return Mapping(
        compute=pick(cand.array_cycles) + pick(cand.fill_bytes) / filter_bus / passes,
        glb_array=glb_array, dram=dram,
        spad=Words(input=macs + glb_array.input, weight=macs + glb_array.weight,
                   output=2.0 * macs + glb_array.output + psum_hops),
        noc_hops=Words(input=glb_array.input * pick(cand.hops_input),
                       weight=glb_array.weight * pick(cand.hops_weight),
                       output=glb_array.output * pick(cand.hops_output) + psum_hops),
        active=pick(cand.active), rows=pick(cand.rows), cols=pick(cand.cols),
        filter_sets=pick(cand.filter_sets), glb_tiles=pick(cand.glb_tiles))


def _distinct(c, names):
    """The distinct rows of the config columns ``names`` and each row's index among them."""
    stacked = np.concatenate([np.asarray(c[n], dtype=float).reshape(-1, 1) for n in names], axis=1)
    unique, inverse = np.unique(stacked, axis=0, return_inverse=True)
    return {n: unique[:, i:i + 1].astype(np.asarray(c[n]).dtype) for i, n in enumerate(names)}, inverse.reshape(-1)


@dataclass(frozen=True)
class _Candidates:
    """Every candidate of every (distinct GLB config, layer): (V, L, T, G) arrays
    (or broadcastable). Words are per layer, each tensor's elements."""
    array_cycles: np.ndarray
    fill_bytes: np.ndarray      # filter bytes filled over the filter bus
    glb_bytes: np.ndarray       # GLB <-> array bytes
    dram_bytes: np.ndarray
    energy_pj: np.ndarray       # DRAM + GLB + NoC energy: the tie-break
    feasible: np.ndarray
    glb_array: Words
    dram: Words
    psum_hops: np.ndarray
    hops_input: np.ndarray      # pitches one ifmap / filter / psum delivery travels
    hops_weight: np.ndarray
    hops_output: np.ndarray
    active: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    filter_sets: np.ndarray
    glb_tiles: np.ndarray


def _pe_blocks(layers: LayerBatch, c):
    """(s, n_s, q, p) of the PE blocks (``CHANNEL_DIVISORS``) on a trailing axis,
    and the array shape, as (V, L, B, 1, 1) arrays."""
    spads = spad_words(c, layers)
    blocks = [pe_block(layers, *spads, channel_divisor=d) for d in CHANNEL_DIVISORS]
    s, n_s, q, p = (np.stack(np.broadcast_arrays(*(b[i] for b in blocks)), axis=-1)[_B] for i in range(4))
    rows, cols = array_shape(c["pes"], c["pe_rows"], layers.r)
    return s, n_s, q, p, np.asarray(rows)[_C], np.asarray(cols)[_C]


def _candidates(layers: LayerBatch, c, technology) -> _Candidates:
    """Cycles, traffic and energy of every candidate on the configs ``c``."""
    s, n_s, q, p_max, rows, cols = _pe_blocks(layers, c)
    n, g, k, ch, e, f = (getattr(layers, a)[_C] for a in ("n", "g", "k", "c", "p", "q"))

    # The tile: whole batch, or 1/2**i of one image's rows; the array maps it as an R x E_g set.
    images = np.where(_WHOLE, n, 1)                                   # images per tile
    strips = np.minimum(TILE_SPLITS, e)                               # tiles per image's rows
    e_g = ceil_div(e, strips)
    tiles = ceil_div(n, images) * strips
    fold = fold_and_replicate(layers.r[_C], e_g, rows, cols)

    # The replicas: t on filters, the rest on channels (depthwise: on groups).
    t = FILTER_SETS.reshape(-1, 1)
    p = np.maximum(p_max // FILTER_DIVISOR.reshape(-1, 1), 1)
    rest = np.maximum(fold.sets // t, 1)
    depthwise = ((layers.c == 1) & (layers.g > 1))[_C]
    r_sets, gamma = np.where(depthwise, 1, rest), np.where(depthwise, rest, 1)
    kt, n_k = loop_time(k, p, t)
    ct, n_c = loop_time(ch, q, r_sets)
    outer = n * n_s * fold.fold_h * strips * fold.fold_w * ceil_div(g, gamma)
    array_cycles = (outer * kt * (ct * s + n_c) * f).astype(float)   # MACs + one psum add per pass
    # Times each output's psum goes through the GLB: once per channel block of the
    # channel sets stacked in a column (their psums chain up it); side-by-side sets
    # each send their own. For r <= sets_v this is n_c.
    psum_passes = ceil_div(ch, q * np.minimum(np.minimum(r_sets, ch), fold.sets_v)) * n_s * fold.fold_h
    in_flight = np.minimum(p * t, k)

    glb_array, dram, dram_bytes = _glb_and_dram(layers, c, e_g, images, tiles, strips, n_k, psum_passes, in_flight)
    t_used, r_used, g_used = np.minimum(t, k), np.minimum(r_sets, ch), np.minimum(gamma, g)
    chain = fold.strip_rows * np.minimum(r_used, fold.sets_v)         # psums flow up the stacked replicas
    outs = layers.output_elems[_C].astype(float)
    psum_hops = outs * psum_passes * np.maximum(chain - 1, 0)
    diagonal = np.minimum(ceil_div(layers.r, layers.stride_h)[_C], fold.strip_cols)
    pes = np.asarray(c["pes"])[_C]
    hops = (multicast_hops(pes, diagonal * t_used), multicast_hops(pes, fold.strip_cols), multicast_hops(pes, 1))
    hop_bytes = (glb_array.input * layers.input_bytes_per_elem[_C] * hops[0]
                 + glb_array.weight * layers.weight_bytes_per_elem[_C] * hops[1]
                 + (glb_array.output * hops[2] + psum_hops) * layers.output_bytes_per_elem[_C])
    glb_bytes = _bytes(layers, glb_array)
    energy = _energy_pj(technology, c["l2_bytes"], dram_bytes, glb_bytes + dram_bytes, hop_bytes)
    return _Candidates(
        array_cycles=array_cycles,
        fill_bytes=glb_array.weight * layers.weight_bytes_per_elem[_C],
        glb_bytes=glb_bytes, dram_bytes=dram_bytes, energy_pj=energy,
        feasible=(t <= fold.sets) & np.isfinite(dram_bytes),
        glb_array=glb_array, dram=dram, psum_hops=psum_hops,
        hops_input=hops[0], hops_weight=hops[1], hops_output=hops[2],
        active=(fold.strip_rows * fold.strip_cols * t_used * r_used * g_used).astype(float),
        rows=rows, cols=cols, filter_sets=t + 0 * rows, glb_tiles=tiles)


def _glb_and_dram(layers: LayerBatch, c, e_g, images, tiles, strips, n_k, psum_passes, in_flight):
    """Words at the GLB's array side and at DRAM of every candidate, and its DRAM
    bytes (inf where nothing fits): the residency with the fewest DRAM bytes that
    fits (module docstring), checked per group."""
    ins, wts, outs = (getattr(layers, f"{t}_elems")[_C].astype(float) for t in ("input", "weight", "output"))
    in_b, w_b, out_b = (getattr(layers, f"{t}_bytes_per_elem")[_C] for t in ("input", "weight", "output"))
    r, s, ch, h = layers.r[_C], layers.s[_C], layers.c[_C], layers.h[_C]
    rows_in = np.minimum((e_g - 1) * layers.stride_h[_C] + (r - 1) * layers.dil_h[_C] + 1, h)
    halo = np.maximum(strips * rows_in / h, 1.0)                      # ifmap rows read per row: strips overlap
    psum = np.where(psum_passes > 1, in_flight * e_g * layers.q[_C] * images * out_b, 0.0)
    tile_ifmap = ch * rows_in * layers.w[_C] * images * in_b
    all_ifmap = ch * h * layers.w[_C] * layers.n[_C] * in_b
    block_filters = in_flight * ch * r * s * w_b
    all_filters = wts / layers.g[_C] * w_b
    capacity = np.asarray(c["l2_bytes"], dtype=float)[_C]

    tile_in, block_in = ins * halo, ins * halo * n_k
    tile_w = wts * tiles
    modes = [  # (what stays in the GLB fits, DRAM ifmap, filter, output words)
        # tile-outer: the tile's ifmap rows stay over the filter blocks; filters once if all stay
        (psum + tile_ifmap + all_filters <= capacity, tile_in, wts, outs),
        (psum + tile_ifmap <= capacity, tile_in, tile_w, outs),
        # filter-block-outer: a block's filters stay over the tiles; the ifmap once if it all stays
        (psum + block_filters <= capacity, block_in, wts, outs),
        (psum + all_ifmap + block_filters <= capacity, ins, wts, outs),
        (psum + all_ifmap <= capacity, ins, tile_w, outs),
        (psum <= capacity, block_in, tile_w, outs),
        # whole batch only: psums spill to DRAM and back between accumulation passes
        (_WHOLE, np.where(all_ifmap <= capacity, ins, ins * n_k), wts, outs * (2.0 * psum_passes - 1.0)),
    ]
    best_bytes, best = None, None
    for fits, i, w, o in modes:
        nbytes = np.where(fits, i * in_b + w * w_b + o * out_b, np.inf)
        if best is None:
            best_bytes, best = nbytes, tuple(np.broadcast_to(a, nbytes.shape) for a in (i, w, o))
        else:
            better = nbytes < best_bytes
            best_bytes = np.where(better, nbytes, best_bytes)
            best = tuple(np.where(better, new, old) for new, old in zip((i, w, o), best))
    shape = best_bytes.shape
    glb_array = Words(input=np.broadcast_to(block_in, shape), weight=np.broadcast_to(tile_w, shape),
                      output=np.broadcast_to(outs * (2.0 * psum_passes - 1.0), shape))
    return glb_array, Words(*best), best_bytes


def _bytes(layers: LayerBatch, w: Words):
    return (w.input * layers.input_bytes_per_elem[_C] + w.weight * layers.weight_bytes_per_elem[_C]
            + w.output * layers.output_bytes_per_elem[_C])


def _energy_pj(technology, l2_bytes, dram_bytes, glb_bytes, hop_bytes):
    """DRAM, GLB and NoC energy of bytes moved: every per-access energy is linear in
    the access width, so bytes x the energy of one byte is exact."""
    glb = technology.sram_pj_per_access(np.asarray(l2_bytes, dtype=float)[_C], 8.0)
    return dram_bytes * technology.dram_pj_per_access(8.0) + glb_bytes * glb + hop_bytes * technology.noc_pj_per_hop(8.0)


def _select(layers: LayerBatch, c, cand: _Candidates, glb_of):
    """Index (U, L) of the chosen candidate (flattened over the candidate axes): the
    least bounded latency, then the least energy. Each candidate's latency terms are
    scaled by ``1 + TIE * (its energy rank) / K`` on the distinct GLB configs, so one
    argmin over the configs decides latency first and near-ties by energy."""
    shape = cand.feasible.shape
    flat = shape[:2] + (-1,)
    k = int(np.prod(shape[2:]))
    energy = np.broadcast_to(cand.energy_pj, shape).reshape(flat)
    weight = 1.0 + TIE * np.argsort(np.argsort(energy, axis=-1), axis=-1) / k
    scaled = lambda a: (np.broadcast_to(a, shape).reshape(flat) * weight)[glb_of]
    feasible = np.where(cand.feasible, 1.0, np.inf)
    noc = np.asarray(c["noc_bw_bytes_per_cycle"], dtype=float)[..., None]
    dram = np.asarray(c["dram_bw_bytes_per_cycle"], dtype=float)[..., None]
    passes = datapath_passes(layers, np.asarray(c["word_bits"]))[..., None]
    latency = scaled(cand.array_cycles * feasible) * passes + scaled(cand.fill_bytes) * (1.0 / (noc * FILTER_BUS_SHARE))
    np.maximum(latency, scaled(cand.glb_bytes) * (1.0 / noc), out=latency)
    np.maximum(latency, scaled(cand.dram_bytes) * (1.0 / dram), out=latency)
    return np.argmin(latency, axis=-1)


def _picker(cand: _Candidates, glb_of, best):
    """``pick(a)``: candidate array ``a`` (V, L, T, G) at each config's chosen
    candidate, (U, L)."""
    shape = cand.feasible.shape
    rows, cols = glb_of[:, None], np.arange(shape[1])[None, :]

    def pick(a):
        return np.broadcast_to(a, shape).reshape(shape[:2] + (-1,))[rows, cols, best]

    return pick
