"""NVDLA-style weight-stationary model (template ``dla``): MAESTRO's KC-P dataflow.

The model reports its activity to the shared cost stage (``stage.py``), which
turns it into bytes, latency, energy and area. What is this model's own:

**Spatial mapping** (MAESTRO's ``Resnet50_kcp_ws.m``: ``SpatialMap K`` across
clusters, ``Cluster(64, P)``, ``SpatialMap C`` inside a cluster):

* The PE array is split into ``pes // cluster_size`` *clusters* of
  ``cluster_size`` PEs. A cluster shares one adder tree: its PEs hold weights of
  one output channel ``k`` for ``cluster_size`` different input channels ``c``, and
  the tree reduces their products over ``c`` (NVDLA's atomic-C). Clusters hold
  different output channels (NVDLA's atomic-K), so an input is *multicast* to
  the clusters holding other filters of its group. K and C unroll with edge
  effects (ceil).
* Each PE keeps the R x S filter slice of its (k, c) stationary in L1 and the
  output pixels (N, P, Q) stream past it; one pixel takes
  ``ceil(taps / vector_width)`` cycles per L1 chunk (``vector_width`` MAC lanes
  per PE work on the filter window). Inputs slide along Q: per slide a filter row
  receives ``min(S, stride)`` new inputs.
* A layer without a reduction over input channels (depthwise: ``c == 1`` per
  group) bypasses the adder tree and every PE works on its own channel, as in
  MAESTRO's KC-P mapping of DSCONV layers (``SpatialMap(1,1) C`` over all PEs).
* **Image-input mode.** A layer with fewer input channels than a cluster has
  lanes (``c < min(cluster_size, pes)``, R*S > 1, e.g. an RGB first layer) may
  fold its filter window into the C-unroll: the cluster's lanes reduce over the
  ``c * R * S`` (channel, row, column) products of an output pixel, each PE
  holding one folded weight, as a 1x1 layer over ``c*R*S`` channels whose inputs
  the array receives already unfolded. This is NVDLA's "convolution with image
  input": the weights are *channel pre-extended* (all weights of a kernel line
  become channels; NVDLA "In-memory data formats", Basic Weight for image input)
  and *channel post-extension* further combines 2 or 4 kernel lines into one
  64-wide atom "to enlarge the channel size during runtime" so that MAC
  efficiency "rise[s] back to 100%" (NVDLA Unit Description, Convolution
  Pipeline: "Convolution with Image Input", "Channel Post-Extension";
  nvdla.org/hw/v1/ias/unit_description.html, nvdla.org/hw/format.html). hwsim
  folds the whole window (R lines), an idealisation of NVDLA's 1/2/4-line limit.
  The folded mapping gives up the sliding-window input reuse (each lane takes a
  new input every pixel), so it is taken per (config, layer) only when its
  bounded latency is lower (then its energy proxy).

**Spatial mapping** code is in ``ws_spatial.py``. **Buffers** (``ws_tiling.py``): a PE's L1 holds a double-buffered chunk of its
filter window and the matching inputs plus an accumulator; L2 holds a tile of
images x output rows x output columns x channels x filters, chosen per (config,
layer) from the Pareto front of ``ws_tiling.l2_front`` by bounded latency (max
of compute, the busier NoC direction and DRAM over their bandwidths, plus
fill/drain), then by DRAM bytes, then by NoC words. Partial sums of successive
C-blocks (and of L1 chunks) are accumulated in L2.

**NoC.** A distribution network (L2 -> PEs: inputs, multicast to the clusters
holding other filters and counted once; weights, once per pixel tile; partial
sums read back) and a collection network (PEs -> L2: partial sums and outputs),
each ``noc_bw_bytes_per_cycle`` wide, as in MAESTRO (separate ingress and egress
delays) and NVDLA (separate convolution input and accumulator output datapaths);
the L2 bound is the busier direction. Word-hops: inputs travel to ``fanout =
min(k, k_units)`` clusters (``stage.multicast_hops``), weights and partial sums
are unicast.

**Fill/drain.** Before the first MAC every active PE needs its first weight and
the first inputs over the NoC (at most one block's compute); after the last, the
adder tree drains (depth ``log2(cluster)``, bypassed by depthwise layers). The
prologue is hidden when the layer is bandwidth-bound with at least that much
slack (the PE array would idle anyway), so latency = max(compute + prologue,
each level's traffic / bandwidth) + drain; the stage's ``fill_drain_cycles`` is
the part of it above max(compute, traffic / bandwidth).

Datapath width, energy, area and vector layers are the stage's; ``area_model:
maestro2020`` passes MAESTRO 2020's closed form instead of the shared area.
MAESTRO 2020's own per-step timing is the separate model ``maestro_kcp``.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from ..hardware.area import maestro2020_area_mm2
from ..hardware.memory import MemoryLevel, dram_level
from ..hardware.params import AREA_MODEL, CLOCK_HZ, TECHNOLOGY, Param, bandwidth
from . import stage
from .base import ConfigBatch, LayerBatch
from .stage import Activity, Datapath, Unmappable, Words
from .ws_spatial import Mapped, direct_mapping, image_input_mapping, mapped_costs, spatial_unrolling
from .ws_tiling import CHANNEL_SPLITS, L1Chunks, L2Front, l1_chunking, l2_front

__all__ = ["PARAMETERS", "activity", "spatial_unrolling"]

MAX_PES = 2**20          # keeps pes * lanes * layer dimensions exact in float64
MAX_BYTES = 2**40
_LAST_SPLIT = int(CHANNEL_SPLITS[-1])

PARAMETERS = {
    "pes": Param(int, "processing elements (each vector_width MAC lanes)", maximum=MAX_PES),
    "cluster_size": Param(int, "PEs per cluster sharing one adder tree = C-unroll (MAESTRO KC-P: 64; NVDLA atomic-C)",
                          maximum=MAX_PES),
    "vector_width": Param(int, "MAC lanes per PE, working on the PE's R x S filter window (1 = one MAC per PE "
                               "per cycle)", maximum=2**10),
    "clock_hz": CLOCK_HZ,
    "noc_bw_bytes_per_cycle": bandwidth("NoC bandwidth per direction (L2 -> PEs, PEs -> L2), bytes/cycle "
                                        "(multicast counted once)"),
    "l1_bytes": Param(int, "scratchpad per PE, bytes", maximum=MAX_BYTES),
    "l2_bytes": Param(int, "global buffer, bytes", maximum=MAX_BYTES),
    "dram_bw_bytes_per_cycle": bandwidth("DRAM bandwidth, bytes/cycle"),
    "mac_bits": Param(int, "MAC datapath width, bits: wider operands take ceil(bits / mac_bits) passes each; "
                           "MAC energy and area at this width", maximum=64),
    "technology": TECHNOLOGY,
    "area_model": AREA_MODEL,
}


def _noc_words(weight_elems, p: Mapped, pixel_tiles, col_tiles) -> tuple[Words, Words]:
    """NoC words ``(distribution, collection)`` of a mapping with an L2 tile: inputs
    (multicast, counted once per delivery), weights (once per pixel tile), partial
    sums read back; partial sums and outputs written."""
    noc_in = Words(input=(p.input_fills + (col_tiles - 1.0) * p.input_restart) / p.fanout,
                   weight=weight_elems * pixel_tiles, output=p.psum_reads)
    return noc_in, Words(output=p.psum_writes)


class _Rates(NamedTuple):
    """Per-point widths and bandwidths the choice key reads (broadcastable arrays)."""
    input_bytes_per_elem: np.ndarray
    weight_bytes_per_elem: np.ndarray
    output_bytes_per_elem: np.ndarray
    weight_elems: np.ndarray
    noc_bw: np.ndarray
    dram_bw: np.ndarray


def _rates(layers: LayerBatch, configs: ConfigBatch) -> _Rates:
    return _Rates(layers.input_bytes_per_elem, layers.weight_bytes_per_elem, layers.output_bytes_per_elem,
                  layers.weight_elems, configs["noc_bw_bytes_per_cycle"], configs["dram_bw_bytes_per_cycle"])


def _bounds(p: Mapped, noc_bytes, dram_bytes, noc_bw, dram_bw):
    """The largest bandwidth bound, cycles: L1 operand reads, the busier NoC
    direction, DRAM."""
    return np.maximum(np.maximum(p.l1_bound, noc_bytes / noc_bw), dram_bytes / dram_bw)


class Key(NamedTuple):
    """What the mapping choice minimises, in this order (each (C, L) or (C, L, F))."""
    latency: np.ndarray       # max(compute + prologue, bandwidth bounds) + drain
    dram_bytes: np.ndarray    # energy proxy: DRAM first ...
    noc_words: np.ndarray     # ... then the NoC


def _keys(p: Mapped, r: _Rates, t: L2Front, available) -> Key:
    """The choice key of every candidate L2 tile: ``t``'s fields carry a trailing
    candidate axis, ``p``, ``r`` and ``available`` broadcast against the rest."""
    e = lambda a: np.asarray(a)[..., None]
    pe, re = Mapped(*(e(a) for a in p)), _Rates(*(e(a) for a in r))
    noc_in, noc_out = _noc_words(re.weight_elems, pe, t.pixel_tiles, t.col_tiles)
    noc_bytes = np.maximum(noc_in.bytes(re), noc_out.bytes(re))
    bounds = _bounds(pe, noc_bytes, t.dram_bytes, re.noc_bw, re.dram_bw)
    latency = np.maximum(pe.busy + pe.prologue, bounds) + pe.drain
    return Key(np.where(e(available) & t.valid, latency, np.inf), t.dram_bytes, noc_in.total + noc_out.total)


def _key_at(p: Mapped, r: _Rates, tile: L2Front, available) -> Key:
    """The choice key of one tile per point (``tile``'s fields without a candidate axis)."""
    return Key(*(a[..., 0] for a in _keys(p, r, L2Front(*(np.asarray(a)[..., None] for a in tile)), available)))


def _best(key: Key):
    """Index of the best candidate along the last axis: least latency, then DRAM
    bytes, then NoC words (the first of equals)."""
    ok = key.latency <= np.min(key.latency, axis=-1, keepdims=True)
    d = np.where(ok, key.dram_bytes, np.inf)
    ok &= d <= np.min(d, axis=-1, keepdims=True)
    return np.argmin(np.where(ok, key.noc_words, np.inf), axis=-1)


def _choose_tile(p: Mapped, r: _Rates, tiles: L2Front, rows, available, shape) -> L2Front:
    """The best L2 tile of mapping ``p`` per point of ``shape`` (C, L): ``tiles``'
    fields are (U, L, F), config ``c`` reads row ``rows[c]``. Only points with more
    than one valid candidate are compared (most have one)."""
    count = tiles.valid.shape[-1]
    base = (rows.reshape(-1, 1) * shape[1] + np.arange(shape[1])).reshape(-1) * count   # flat (C*L,)
    index = np.zeros(base.size, dtype=np.intp)
    if count > 1:
        several = np.count_nonzero(tiles.valid, axis=-1).reshape(-1)[base // count] > 1
        multi = np.flatnonzero(several)
        if multi.size:
            at_row, at_col = np.divmod(multi, shape[1])
            def point(a):   # a (C or 1, L or 1) array at the compared points
                a = np.asarray(a)
                a = a.reshape((1,) * (2 - a.ndim) + a.shape)
                return a[at_row if a.shape[0] > 1 else 0, at_col if a.shape[1] > 1 else 0]
            at = base[multi, None] + np.arange(count)
            candidates = L2Front(*(a.reshape(-1)[at] for a in tiles))
            index[multi] = _best(_keys(Mapped(*(point(a) for a in p)), _Rates(*(point(a) for a in r)), candidates,
                                       point(available)))
    chosen = base + index
    return L2Front(*(a.reshape(-1)[chosen].reshape(shape) for a in tiles))


# -- the model ---------------------------------------------------------------------------

def _levels(layers: LayerBatch, configs: ConfigBatch):
    """L1 (one per PE; an input and a weight per MAC lane per cycle), L2 (at NoC
    bandwidth per direction) and DRAM."""
    pes = configs["pes"]
    l1_bw = pes * configs["vector_width"] * (layers.input_bytes_per_elem + layers.weight_bytes_per_elem)
    return (MemoryLevel("l1", configs["l1_bytes"], l1_bw, instances=pes),
            MemoryLevel("l2", configs["l2_bytes"], configs["noc_bw_bytes_per_cycle"]),
            dram_level(configs["dram_bw_bytes_per_cycle"]))


def _unmappable(layers: LayerBatch, configs: ConfigBatch, l1: L1Chunks, tiles: L2Front, rows) -> Unmappable:
    """Points whose one-tap L1 chunk, or smallest L2 tile, does not fit."""
    bad = Unmappable("weight_stationary")

    def need_l1(_, col):
        bi, bw, bo = (int(b[0, col]) for b in (layers.input_bits, layers.weight_bits, layers.output_bits))
        return (f"smaller than the smallest L1 tile (one weight and one input, double-buffered, plus an "
                f"accumulator = {(2 * (bi + bw) + bo) / 8:g} bytes at {bi}/{bw}/{bo} input/weight/output bits)")

    bad.add(layers.is_mac & (l1.fit < 1), "l1_bytes", configs["l1_bytes"], need_l1)
    bad.add(layers.is_mac & ~tiles.valid.any(axis=-1)[rows], "l2_bytes", configs["l2_bytes"],
            f"no L2 tile fits (one filter slice of c/{_LAST_SPLIT} channels, one output pixel and its input "
            "window must fit in half of L2)")
    return bad


def _mapping(layers: LayerBatch, configs: ConfigBatch, l1: L1Chunks, tiles: L2Front, rows):
    """The mapping and L2 tile of every (config, layer): the direct KC-P mapping,
    or the image-input fold where it is available and better (evaluated only on
    the layers where it is available). Returns ``(mapped, tile, folded)``, each (C, L)."""
    shape = (configs.size, len(layers))
    direct = mapped_costs(layers, configs, direct_mapping(layers, configs, l1))
    tile = _choose_tile(direct, _rates(layers, configs), tiles, rows, True, shape)
    folded = np.zeros(shape, dtype=bool)
    cols = np.flatnonzero(np.any(layers.is_mac & image_input_mapping(layers, configs).available, axis=0))
    if len(cols) == 0:
        return direct, tile, folded
    sub = layers.take(cols)
    rates = _rates(sub, configs)
    image = image_input_mapping(sub, configs)
    image_map = mapped_costs(sub, configs, image)
    image_tile = _choose_tile(image_map, rates, L2Front(*(a[:, cols] for a in tiles)), rows, image.available,
                              (configs.size, len(cols)))
    at_cols = lambda nt: type(nt)(*(np.broadcast_to(a, shape)[:, cols] for a in nt))
    keys = zip(_key_at(at_cols(direct), rates, at_cols(tile), True), _key_at(image_map, rates, image_tile,
                                                                           image.available))
    folded[:, cols] = _best(Key(*(np.stack(np.broadcast_arrays(a, b), axis=-1) for a, b in keys))) == 1

    def put(a, b):
        """``a`` with ``b`` at the folded points of columns ``cols``."""
        a = np.asarray(a)
        if not (a.shape == shape and a.flags.writeable and a.base is None):   # our own (C, L) result
            a = np.array(np.broadcast_to(a, shape))
        a[:, cols] = np.where(folded[:, cols], b, a[:, cols])
        return a
    return (Mapped(*(put(a, b) for a, b in zip(direct, image_map))),
            L2Front(*(put(a, b) for a, b in zip(tile, image_tile))), folded)


def _narrow(configs: ConfigBatch) -> ConfigBatch:
    """``configs`` with every numeric parameter that is the same in all of them as a
    (1, 1) array: a sweep varies a few parameters, and (C, L) arithmetic on the
    others would only repeat itself (``size`` still counts every config)."""
    params = {k: (v[:1] if v.shape[0] > 1 and np.all(v == v[:1]) else v) for k, v in configs.params.items()}
    return dataclasses.replace(configs, params=params)


def activity(layers: LayerBatch, configs: ConfigBatch) -> Activity:
    """The ``dla`` activity of ``layers`` (1, L) on ``configs`` (C, 1); see the module docstring."""
    configs = _narrow(configs)
    l1 = l1_chunking(layers, configs["l1_bytes"], configs["vector_width"])
    tiles, rows = l2_front(layers, configs["l2_bytes"])
    rows = np.broadcast_to(rows, (configs.size,))
    p, tile, folded = _mapping(layers, configs, l1, tiles, rows)
    pes, lanes, noc_bw = configs["pes"], configs["vector_width"], configs["noc_bw_bytes_per_cycle"]
    macs = layers.macs.astype(float)
    noc_in, noc_out = _noc_words(layers.weight_elems, p, tile.pixel_tiles, tile.col_tiles)
    dram = Words(input=tile.dram_input, weight=tile.dram_weight, output=tile.dram_output)
    busier = noc_in.bytes(layers) >= noc_out.bytes(layers)
    l2_traffic = noc_in.where(busier, noc_out)
    bounds = _bounds(p, l2_traffic.bytes(layers), dram.bytes(layers), noc_bw, configs["dram_bw_bytes_per_cycle"])
    area = None
    if configs["area_model"] == "maestro2020":
        area = maestro2020_area_mm2(pes, lanes, configs["l1_bytes"], configs["l2_bytes"], noc_bw,
                                    elem_bits=configs["mac_bits"])
    unicast = stage.multicast_hops(pes, 1.0)
    mac = layers.is_mac
    return Activity(
        levels=_levels(layers, configs),
        accesses={"l1": Words(input=macs + noc_in.input * p.fanout, weight=macs + noc_in.weight),
                  "l2": noc_in + noc_out + dram, "dram": dram},
        traffic={"l1": Words(input=macs, weight=macs), "l2": l2_traffic},
        compute_cycles=p.compute,
        fill_drain_cycles=np.maximum(p.busy + p.prologue, bounds) - np.maximum(p.busy, bounds) + p.drain,
        datapath=Datapath(pes=pes, mac_bits=configs["mac_bits"], lanes_per_pe=lanes),
        clock_hz=configs["clock_hz"],
        noc_word_hops=Words(input=noc_in.input * stage.multicast_hops(pes, p.fanout),
                            weight=noc_in.weight * unicast, output=(noc_in.output + noc_out.output) * unicast),
        noc_bw_bytes_per_cycle=noc_bw,
        unmappable=_unmappable(layers, configs, l1, tiles, rows),
        area_mm2=area,
        extras={
            "active_pes": np.where(mac, p.active_pes, 0.0),
            "peak_active_pes": np.where(mac, p.peak_active_pes, 0.0),
            "mapping_efficiency": np.where(mac, macs / np.maximum(p.compute * pes * lanes, 1.0), 0.0),
            "image_input": np.where(mac, folded, False),
            "l2_pixel_tiles": np.where(mac, tile.pixel_tiles, 0.0),
        },
    )
