"""Eyeriss's row-stationary *mapping*, chosen by what it costs.

A layer's logical PE sets are folded and replicated onto the physical array
(stanford-mast/nn_dataflow ``MapStrategyEyeriss``, re-implemented vectorized);
each PE holds ``p`` filters x ``q`` channels of one filter row in its
scratchpads; the global buffer (GLB) holds a *tile* of the layer -- the partial
sums of the filters in flight for a strip of output rows (Eyeriss processes the
ifmap in row strips, JSSC'17 Sec. IV) -- and, when they fit beside it, the
tile's ifmap rows, the layer's whole ifmap, or the filters. ``row_stationary.py``
turns the chosen mapping into the shared stage's ``Activity``.

**Candidates.** Every (config, layer) is costed on a fixed grid of mapping
descriptors, the same for every PE count, buffer size and bandwidth:

* ``p`` filters per PE, every power of two the scratchpads hold, each with the
  most channels per PE ``q`` (a power of two) that fit beside them
  (``pe_block``, ``channels``);
* ``t`` (``FILTER_SETS``): replicas of the logical PE set that work on different
  filters, the remaining replicas all on different channels (``r``) or, for a
  depthwise layer, different groups;
* the GLB tile (``TILE_SPLITS``): the whole batch, or one image's output rows cut
  into strips. The array maps one tile at a time (a strip of ``E_g`` rows is an
  ``R x E_g`` logical set), so a short strip replicates more, and the filters
  are loaded into the spads once per tile.

**Choice.** The candidate with the smallest bounded latency -- max(compute at
the datapath's passes, GLB<->array bytes / NoC bandwidth, DRAM bytes / DRAM
bandwidth) -- then the least energy (DRAM, GLB and NoC energy: what differs
between candidates). Each candidate's latency is non-increasing in every
resource: more PEs only give its channel sets more replicas (and the steps of a
loop never grow with the sets, ``loop_time``); a bigger GLB only makes more
residencies fit; a bigger spad keeps every block it held (powers of two) and can
only give a block more channels, which saves psum round trips; the fill/drain does
not depend on the array. So the chosen latency is non-increasing in ``pes``, every
buffer size and both bandwidths. A candidate may leave PEs idle (few filter sets,
a short strip): that is how the model uses fewer PEs where using them all would
cost more traffic than it saves compute.

**GLB residency** of a candidate: the one with the fewest DRAM bytes that fits
``l2_bytes`` (every tensor at its width, one group at a time). The psums of the
filters in flight for the tile (``p*t`` filters x ``E_g`` rows x ``F`` x the
tile's images) stay while every channel block accumulates into them (unless each
output is finished in one pass). Then, tile by tile (the tile's ifmap rows,
``(E_g - 1)*stride + R`` of them with the halo re-read, stay over the filter
blocks) or filter block by filter block (the block's filters stay over the
tiles): the ifmap is read from DRAM once if its tile (or all of it) stays, else
once per filter block; the filters once if they (or a block) stay, else once per
tile. The whole-batch tile may instead spill its psums to DRAM and back between
channel blocks, which always fits: every layer maps on every GLB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..units import ceil_div
from .base import LayerBatch
from .common import distinct_rows, solve_per_unique
from .rs_blocks import array_shape, channels, fold_and_replicate, loop_time, pe_block, spad_words
from .stage import Words, datapath_passes, multicast_hops

# Eyeriss moves ifmaps, filters and psums on separate, equally wide buses
# (64 b each, JSSC'17 Sec. V): the filter fill gets one third of the NoC.
FILTER_BUS_SHARE = 1.0 / 3.0

# The candidate grid (design choices, module docstring), kept small for speed. Against
# the full grid t = 1, 2, 4, ... 256 x strips 1, 2, 4, ... 128, on the six zoo networks
# at 64-16,384 PEs and 32 KiB-1 MiB GLBs, network latency is at most 4.7 % (mean 0.3 %)
# and energy at most 4.9 % (mean 0.2 %) higher.
FILTER_SETS = np.array([1, 2, 4, 16, 64, 256])
TILE_SPLITS = np.array([1, 1, 2, 4, 8, 32, 128])     # index 0: the whole batch; then strips per image
_WHOLE = np.arange(TILE_SPLITS.size) == 0
# Latencies within this relative difference are a tie (float rounding), decided by energy.
TIE = 1e-10
# Distinct GLB configs costed, and configs selected, at a time (memory only; results do
# not depend on them).
GLB_CHUNK = 16
SELECT_CHUNK = 32

# The config fields the mapping depends on, and those its candidates' traffic depends on.
MAPPING_PARAMS = ("pes", "pe_rows", "l1_bytes", "filter_spad_words", "ifmap_spad_words", "psum_spad_words",
                  "l2_bytes", "noc_bw_bytes_per_cycle", "dram_bw_bytes_per_cycle", "word_bits")
_GLB_PARAMS = MAPPING_PARAMS[:7]

# Candidate axes: a (config, layer) array gets three trailing axes (filters per PE,
# filter sets, GLB tile); a (config, layer, filters per PE) array two.
_C = (Ellipsis, None, None, None)
_B = (Ellipsis, None, None)


# -- the chosen mapping ------------------------------------------------------------------

@dataclass(frozen=True)
class Mapping:
    """The chosen mapping of each layer on each config, (C, L) arrays. Word counts
    are of each tensor's elements (psums at the output width)."""
    compute: np.ndarray      # cycles of one datapath pass: PE cycles + filter fills (fills once, not per pass)
    glb_array: Words         # GLB <-> array words (they cross the NoC bandwidth)
    dram: Words              # DRAM words (each also written into or read out of the GLB once)
    spad: Words              # scratchpad accesses: a read (psum: read + write) per MAC, plus fills
    noc_hops: Words          # NoC word-hops: GLB deliveries x pitches travelled, PE-to-PE psum moves
    active: np.ndarray       # PEs holding work
    rows: np.ndarray         # physical array rows the layer sees
    cols: np.ndarray         # physical array columns
    filter_sets: np.ndarray  # t: replicas on different filters
    glb_tiles: np.ndarray    # tiles the GLB holds in turn (filters loaded into the spads per tile)


def choose_mapping(layers: LayerBatch, configs, technology) -> Mapping:
    """The mapping of every (config, layer): the cheapest candidate (module
    docstring). Solved once per distinct config of ``MAPPING_PARAMS``, the
    candidates once per distinct config of the fields their traffic depends on."""
    columns = {name: np.asarray(configs[name]) for name in MAPPING_PARAMS}
    return solve_per_unique(columns, lambda **c: _choose(layers, c, technology))


# What is read off the chosen candidate: _Candidates fields, and the Words fields' tensors.
_PICKED = ("array_cycles", "fill_bytes", "psum_hops", "hops_input", "hops_weight", "hops_output", "active",
           "rows", "cols", "filter_sets", "glb_tiles")
_TENSORS = ("input", "weight", "output")


def _choose(layers: LayerBatch, c, technology) -> Mapping:
    """``choose_mapping`` on the distinct config rows ``c``: the candidates of the
    MAC layers on the distinct GLB configs (``GLB_CHUNK`` of them at a time, so
    memory stays bounded however many there are), the choice per config, then the
    chosen numbers (0 on vector layers, which the shared stage costs)."""
    mac = np.flatnonzero(layers.is_mac[0])
    glb_rows, glb_of = distinct_rows({name: c[name] for name in _GLB_PARAMS})
    shape = (len(glb_of), len(layers))
    out = {name: np.zeros(shape) for name in _PICKED + tuple(f"{w}.{t}" for w in ("glb", "dram") for t in _TENSORS)}
    sub = layers.take(mac)
    for start in range(0, len(next(iter(glb_rows.values()))) if mac.size else 0, GLB_CHUNK):
        chunk = {name: column[start:start + GLB_CHUNK] for name, column in glb_rows.items()}
        configs = np.flatnonzero((glb_of >= start) & (glb_of < start + GLB_CHUNK))
        local = glb_of[configs] - start
        cand = _candidates(sub, chunk, technology)
        pick = _picker(cand, local, _select(sub, {k: np.asarray(v)[configs] for k, v in c.items()}, cand, local))
        at = np.ix_(configs, mac)
        for name in _PICKED:
            out[name][at] = pick(getattr(cand, name))
        for w, words in (("glb", cand.glb_array), ("dram", cand.dram)):
            for t in _TENSORS:
                out[f"{w}.{t}"][at] = pick(getattr(words, t))
    glb_array, dram = (Words(*(out[f"{w}.{t}"] for t in _TENSORS)) for w in ("glb", "dram"))
    psum_hops = out["psum_hops"]
    filter_bus = np.asarray(c["noc_bw_bytes_per_cycle"], dtype=float) * FILTER_BUS_SHARE
    passes = datapath_passes(layers, np.asarray(c["word_bits"]))
    macs = layers.macs.astype(float)
    return Mapping(
        compute=out["array_cycles"] + out["fill_bytes"] / filter_bus / passes,
        glb_array=glb_array, dram=dram,
        spad=Words(input=macs + glb_array.input, weight=macs + glb_array.weight,
                   output=2.0 * macs + glb_array.output + psum_hops),
        noc_hops=Words(input=glb_array.input * out["hops_input"], weight=glb_array.weight * out["hops_weight"],
                       output=glb_array.output * out["hops_output"] + psum_hops),
        active=out["active"], rows=out["rows"], cols=out["cols"],
        filter_sets=out["filter_sets"], glb_tiles=out["glb_tiles"])


@dataclass(frozen=True)
class _Candidates:
    """Every candidate on every (distinct GLB config, layer): arrays broadcastable
    to (V, L, blocks, filter sets, tiles). Words are each tensor's elements."""
    array_cycles: np.ndarray    # PE cycles of one datapath pass (inf where infeasible)
    fill_bytes: np.ndarray      # filter bytes filled over the filter bus
    glb_bytes: np.ndarray       # GLB <-> array bytes
    dram_bytes: np.ndarray
    energy_pj: np.ndarray       # DRAM + GLB + NoC energy: the tie-break
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
    """The PE blocks of every candidate: (s, n_s) (V, L, 1, 1, 1); ``p`` on the
    block axis -- every power of two up to the most filters any layer's spads hold
    -- with the most channels that fit beside them, and whether the layer's spads
    hold it; the array shape."""
    filter_w, ifmap_w, psum_w = spad_words(c, layers)
    s, n_s, _, p_most = pe_block(layers, filter_w, ifmap_w, psum_w)
    p = 2 ** np.arange(int(np.log2(max(int(np.max(p_most)), 1))) + 1)
    q = channels(layers.c[..., None], s[..., None], filter_w[..., None], ifmap_w[..., None], p)
    rows, cols = array_shape(c["pes"], c["pe_rows"], layers.r)
    return (np.asarray(s)[_C], np.asarray(n_s)[_C], q[_B], p.reshape(-1, 1, 1), (p <= p_most[..., None])[_B],
            np.asarray(rows)[_C], np.asarray(cols)[_C])


def _candidates(layers: LayerBatch, c, technology) -> _Candidates:
    """Cycles, traffic and energy of every candidate on the configs ``c``."""
    s, n_s, q, p, holds, rows, cols = _pe_blocks(layers, c)
    n, g, k, ch, e, f = (getattr(layers, a)[_C] for a in ("n", "g", "k", "c", "p", "q"))

    # The tile: the whole batch, or a strip of one image's rows, mapped as an R x E_g set
    # (at batch 1 the whole batch is the one-strip tile, costed once).
    whole, splits = (_WHOLE, TILE_SPLITS) if (layers.n > 1).any() else (_WHOLE[1:], TILE_SPLITS[1:])
    images = np.where(whole, n, 1)
    strips = np.minimum(splits, e)
    e_g = ceil_div(e, strips)
    tiles = ceil_div(n, images) * strips
    fold = fold_and_replicate(layers.r[_C], e_g, rows, cols)

    # The replicas: t on filters, the rest on channels (depthwise: on groups).
    t = FILTER_SETS.reshape(-1, 1)
    rest = np.maximum(fold.sets // t, 1)
    depthwise = ((layers.c == 1) & (layers.g > 1))[_C]
    r_sets, gamma = np.where(depthwise, 1, rest), np.where(depthwise, rest, 1)
    kt, n_k = loop_time(k, p, t)
    ct, n_c = loop_time(ch, q, r_sets)
    outer = n * n_s * fold.fold_h * strips * fold.fold_w * ceil_div(g, gamma)
    array_cycles = (outer * kt * (ct * s + n_c) * f).astype(float)   # a MAC per tap, a psum add per pass
    # Times each output's psum goes through the GLB: once per channel block of the
    # channel sets stacked in a column (their psums chain up it; side-by-side sets
    # send their own), per filter-row segment and fold.
    r_used = np.minimum(r_sets, ch)
    chained = np.minimum(r_used, fold.sets_v)
    psum_passes = ceil_div(ch, q * chained) * n_s * fold.fold_h
    in_flight = np.minimum(p * t, k)

    glb_array, dram, dram_bytes = _glb_and_dram(layers, c, e_g, images, tiles, strips, n_k, psum_passes, in_flight)
    t_used, g_used = np.minimum(t, k), np.minimum(gamma, g)
    outs = layers.output_elems[_C].astype(float)
    psum_hops = outs * psum_passes * np.maximum(fold.strip_rows * chained - 1, 0)
    diagonal = np.minimum(ceil_div(layers.r, layers.stride_h)[_C], fold.strip_cols)
    pes = np.asarray(c["pes"])[_C]
    hops = (multicast_hops(pes, diagonal * t_used), multicast_hops(pes, fold.strip_cols), multicast_hops(pes, 1))
    in_b, w_b, out_b = (getattr(layers, f"{x}_bytes_per_elem")[_C] for x in ("input", "weight", "output"))
    hop_bytes = (glb_array.input * in_b * hops[0] + glb_array.weight * w_b * hops[1]
                 + (glb_array.output * hops[2] + psum_hops) * out_b)
    glb_bytes = glb_array.input * in_b + glb_array.weight * w_b + glb_array.output * out_b
    feasible = holds & (t <= fold.sets) & np.isfinite(dram_bytes)
    return _Candidates(
        array_cycles=np.where(feasible, array_cycles, np.inf),
        fill_bytes=glb_array.weight * w_b, glb_bytes=glb_bytes, dram_bytes=dram_bytes,
        energy_pj=_energy_pj(technology, c["l2_bytes"], dram_bytes, glb_bytes + dram_bytes, hop_bytes),
        glb_array=glb_array, dram=dram, psum_hops=psum_hops,
        hops_input=hops[0], hops_weight=hops[1], hops_output=hops[2],
        active=(fold.strip_rows * fold.strip_cols * t_used * r_used * g_used).astype(float),
        rows=rows, cols=cols, filter_sets=t + 0 * rows, glb_tiles=tiles)


def _glb_and_dram(layers: LayerBatch, c, e_g, images, tiles, strips, n_k, psum_passes, in_flight):
    """Words at the GLB's array side and at DRAM of every candidate, and its DRAM
    bytes (inf where nothing fits): the residency with the fewest DRAM bytes that
    fits (module docstring), checked per group."""
    ins, wts, outs = (getattr(layers, f"{x}_elems")[_C].astype(float) for x in ("input", "weight", "output"))
    in_b, w_b, out_b = (getattr(layers, f"{x}_bytes_per_elem")[_C] for x in ("input", "weight", "output"))
    r, ch, h, w = layers.r[_C], layers.c[_C], layers.h[_C], layers.w[_C]
    rows_in = np.minimum((e_g - 1) * layers.stride_h[_C] + (r - 1) * layers.dil_h[_C] + 1, h)
    halo = np.maximum(strips * rows_in / h, 1.0)                      # ifmap rows read per row: strips overlap
    capacity = np.asarray(c["l2_bytes"], dtype=float)[_C]
    room = capacity - np.where(psum_passes > 1, in_flight * e_g * layers.q[_C] * images * out_b, 0.0)
    tile_ifmap = ch * rows_in * w * images * in_b                      # per group
    all_ifmap = ch * h * w * layers.n[_C] * in_b
    block_filters = in_flight * ch * r * layers.s[_C] * w_b
    all_filters = wts / layers.g[_C] * w_b

    # DRAM words of each tensor under each residency, and where it fits.
    ifmap = (ins * halo, ins * halo * n_k, ins, np.where(all_ifmap <= capacity, ins, ins * n_k))
    filters = (wts, wts * tiles)
    output = (outs, outs * (2.0 * psum_passes - 1.0))
    modes = (  # (fits, ifmap choice, filter choice, output choice)
        (room >= tile_ifmap + all_filters, 0, 0, 0),   # tile by tile: tile's ifmap and all filters stay
        (room >= tile_ifmap, 0, 1, 0),                 # tile's ifmap stays, filters once per tile
        (room >= block_filters, 1, 0, 0),              # block by block: the block's filters stay
        (room >= all_ifmap + block_filters, 2, 0, 0),  # ... and the whole ifmap
        (room >= all_ifmap, 2, 1, 0),                  # the whole ifmap stays, filters once per tile
        (room >= 0, 1, 1, 0),                          # only the psums stay
        (tiles == 1, 3, 0, 1),                         # one tile: psums spill to DRAM between passes
    )
    in_bytes, w_bytes, out_bytes = ([a * b for a in x] for x, b in ((ifmap, in_b), (filters, w_b), (output, out_b)))
    shape = np.broadcast_shapes(*(np.shape(a) for a in (room, *ifmap, *filters, *output)))
    nbytes = np.empty((len(modes),) + shape)
    for m, (fits, i, wi, o) in enumerate(modes):
        np.copyto(nbytes[m], np.where(fits, in_bytes[i] + w_bytes[wi] + out_bytes[o], np.inf))
    best = np.argmin(nbytes, axis=0)
    best_bytes = np.take_along_axis(nbytes, best[None], axis=0)[0]
    choice = lambda options, column: np.choose(np.asarray([m[column] for m in modes])[best],
                                               [np.broadcast_to(a, shape) for a in options])
    dram = Words(input=choice(ifmap, 1), weight=choice(filters, 2), output=choice(output, 3))
    glb_array = Words(input=np.broadcast_to(ifmap[1], shape), weight=np.broadcast_to(filters[1], shape),
                      output=np.broadcast_to(output[1], shape))
    return glb_array, dram, best_bytes


def _energy_pj(technology, l2_bytes, dram_bytes, glb_bytes, hop_bytes):
    """DRAM, GLB and NoC energy of bytes moved: every per-access energy is linear in
    the access width, so bytes x the energy of one byte is exact."""
    glb = technology.sram_pj_per_access(np.asarray(l2_bytes, dtype=float)[_C], 8.0)
    dram, hop = technology.dram_pj_per_access(8.0), technology.noc_pj_per_hop(8.0)
    return dram_bytes * dram + glb_bytes * glb + hop_bytes * hop


def _select(layers: LayerBatch, c, cand: _Candidates, glb_of):
    """Index (U, L) of the chosen candidate (flattened over the candidate axes): the
    least bounded latency, then the least energy. On the distinct GLB configs each
    candidate's latency terms are scaled by ``1 + TIE * (its energy rank) / K``, so
    one argmin per config decides by latency and near-ties by energy. Configs are
    taken ``SELECT_CHUNK`` at a time, so the (configs, layers, candidates) work
    arrays stay small (cache-sized) however many configs there are."""
    shape = np.broadcast_shapes(*(np.shape(a) for a in (cand.array_cycles, cand.dram_bytes, cand.energy_pj)))
    flat = shape[:2] + (-1,)
    energy = np.broadcast_to(cand.energy_pj, shape).reshape(flat)
    weight = 1.0 + TIE * np.argsort(np.argsort(energy, axis=-1), axis=-1) / energy.shape[-1]
    terms = np.stack([np.broadcast_to(a, shape).reshape(flat) * weight for a in
                      (cand.array_cycles, cand.fill_bytes / FILTER_BUS_SHARE, cand.glb_bytes, cand.dram_bytes)])
    inv_noc = 1.0 / np.asarray(c["noc_bw_bytes_per_cycle"], dtype=float)[..., None]
    inv_dram = 1.0 / np.asarray(c["dram_bw_bytes_per_cycle"], dtype=float)[..., None]
    passes = datapath_passes(layers, np.asarray(c["word_bits"]))[..., None]
    best = np.empty((len(glb_of), shape[1]), dtype=np.int64)
    for start in range(0, len(glb_of), SELECT_CHUNK):
        rows = slice(start, start + SELECT_CHUNK)
        compute, fill, glb, dram = terms[:, glb_of[rows]]             # (chunk, L, K) each
        if (passes[rows] != 1).any():
            compute *= passes[rows]
        fill *= inv_noc[rows]
        compute += fill
        glb *= inv_noc[rows]
        np.maximum(compute, glb, out=compute)
        dram *= inv_dram[rows]
        np.maximum(compute, dram, out=compute)
        best[rows] = np.argmin(compute, axis=-1)
    return best


def _picker(cand: _Candidates, glb_of, best):
    """``pick(a)``: candidate array ``a`` at each config's chosen candidate, (U, L)."""
    shape = np.broadcast_shapes(np.shape(cand.array_cycles), np.shape(cand.dram_bytes))
    rows, cols = glb_of[:, None], np.arange(shape[1])[None, :]

    def pick(a):
        return np.broadcast_to(a, shape).reshape(shape[:2] + (-1,))[rows, cols, best]

    return pick
