"""NVDLA-style weight-stationary model (template ``dla``): MAESTRO's KC-P dataflow.

The mapping (MAESTRO's ``Resnet50_kcp_ws.m``: ``SpatialMap K`` across clusters,
``Cluster(64, P)``, ``SpatialMap C`` inside a cluster):

* The PE array is split into ``pes // cluster_size`` *clusters* of
  ``cluster_size`` PEs. A cluster shares one adder tree: its PEs hold weights of
  one output channel ``k`` for ``cluster_size`` different input channels ``c``, and
  the tree reduces their products over ``c`` (NVDLA's "atomic-C"). Clusters hold
  different output channels (NVDLA's "atomic-K"), so an input is *multicast* to
  every cluster. K and C are unrolled with edge effects (ceil).
* Each PE keeps the R x S filter slice of its (k, c) stationary in L1 and the
  output pixels (N, P, Q) stream past it; a step is one output pixel, taking
  ``ceil(R*S / vector_width)`` cycles (``vector_width`` MAC lanes per PE work on
  the filter window, as in MAESTRO's PE; 1 = one MAC per PE per cycle). Inputs
  slide along Q: a PE receives ``R * min(S, stride)`` new inputs per step.
* A layer without a reduction over input channels (depthwise: ``c == 1`` per
  group) has nothing for the adder tree to do; C-unrolling would leave all but
  one PE of each cluster idle. As in MAESTRO's KC-P mapping of DSCONV layers
  (``SpatialMap(1,1) C`` over all PEs) the tree is bypassed and every PE works on
  its own channel.
* Partial sums of successive C-blocks (and of filter-window chunks, when L1 is too
  small for the whole R x S slice) are accumulated in L2.

Buffers: a PE's L1 holds a double-buffered chunk of its filter window and the
matching input window, plus one accumulator (a chunk is the largest that fits;
a layer whose one-tap chunk does not fit raises MappingError). L2 holds a tile of
``k2`` filters x ``p2`` output rows x ``c2`` channels; the tile and the loop order
(filters or rows outermost) are the ones with the least DRAM traffic among a
small grid of candidates that fit half of L2 (the other half double-buffers).

Latency is ``base.bounded_latency``: compute cycles vs L1 operand bandwidth, the
NoC and DRAM, plus fill/drain (first weights and inputs over the NoC, adder-tree
depth). The NoC has a distribution network (L2 -> PEs: inputs, multicast to all
clusters counted once, weights, partial sums read back) and a collection network
(PEs -> L2: partial sums and outputs), each ``noc_bw_bytes_per_cycle`` wide, as in
MAESTRO (separate ingress and egress delays) and NVDLA (separate convolution
input and accumulator output datapaths); ``traffic_bytes["l2"]`` is the busier
direction.

Precision is per tensor: inputs, weights and outputs (partial sums travel and
accumulate at the output width) are sized, moved and charged at their own widths
(accesses count words); MACs are charged at ``bits`` = max(input, weight).

``step_timing: maestro2020`` reproduces MAESTRO 2020's per-step delay instead of
a pipelined PE (see ``maestro_step_overhead``); ``pipelined`` is the default.
"""

from __future__ import annotations

import numpy as np

from ..errors import MappingError
from ..hardware import area as area_models
from ..hardware.memory import MemoryLevel
from ..hardware.params import AREA_MODEL, CLOCK_HZ, TECHNOLOGY, Param
from ..units import ceil_div, um2_to_mm2
from .base import ConfigBatch, CostArrays, LayerBatch, bounded_latency
from .common import vector_compute_cycles, vector_traffic_bytes

PARAMETERS = {
    "pes": Param(int, "processing elements (each vector_width MAC lanes)"),
    "cluster_size": Param(int, "PEs per cluster sharing one adder tree = C-unroll (MAESTRO KC-P: 64; NVDLA atomic-C)"),
    "vector_width": Param(int, "MAC lanes per PE, working on the PE's R x S filter window (1 = one MAC per PE per cycle)"),
    "clock_hz": CLOCK_HZ,
    "noc_bw_bytes_per_cycle": Param(float, "NoC bandwidth from L2 to the PE array, bytes/cycle (multicast counted once)"),
    "l1_bytes": Param(int, "scratchpad per PE, bytes"),
    "l2_bytes": Param(int, "global buffer, bytes"),
    "dram_bw_bytes_per_cycle": Param(float, "DRAM bandwidth, bytes/cycle"),
    "mac_bits": Param(int, "datapath width, bits: MAC area (default area model) and NoC element size (maestro2020)"),
    "technology": TECHNOLOGY,
    "area_model": AREA_MODEL,
    "step_timing": Param(str, "pipelined (operand delivery overlaps compute) or maestro2020 (MAESTRO 2020's "
                              "per-step delay: compute + un-overlapped cluster ingress)",
                         choices=("pipelined", "maestro2020")),
}

# L2 tiling candidates: output rows ceil(P / 2**i) and input channels ceil(c / 4**j).
_ROW_SPLITS = 2 ** np.arange(6)
_CHANNEL_SPLITS = 4 ** np.arange(4)


# -- spatial mapping and compute ---------------------------------------------

def spatial_unrolling(layers: LayerBatch, pes, cluster_size):
    """How K and C are unrolled: ``(k_units, c_lanes)``, each ``(C, L)``.

    With a reduction (``c > 1``) there are ``pes // cu`` clusters of
    ``cu = min(cluster_size, pes)`` lanes; without one (depthwise) every PE is a
    unit of its own. Both are non-decreasing in ``pes``, so more PEs never add
    compute cycles.
    """
    cu = np.minimum(cluster_size, pes)
    reduce = layers.c > 1
    k_units = np.where(reduce, pes // cu, pes)
    c_lanes = np.where(reduce, cu, 1)
    return k_units, c_lanes


def l1_chunk(layers: LayerBatch, l1_bytes):
    """Filter taps per PE per L1 residency: ``(taps, chunks)``, each ``(C, L)``.

    L1 holds ``taps`` weights and ``taps`` inputs, both double-buffered, plus one
    accumulator: ``2 * taps * (input + weight bytes) + output bytes`` <= ``l1_bytes``
    (counted in MAC-precision words). The R x S window is split into ``chunks``
    balanced chunks when it does not fit.
    """
    window = layers.r * layers.s
    words = np.asarray(l1_bytes, dtype=float) / layers.bytes_per_elem
    fit = (words - layers.mac_words(outputs=1.0)) // (2.0 * layers.mac_words(inputs=1.0, weights=1.0))
    fit = np.minimum(fit, window).astype(np.int64)
    chunks = ceil_div(window, np.maximum(fit, 1))
    return ceil_div(window, chunks), chunks, fit


def maestro_step_overhead(layers: LayerBatch, c_lanes, taps, noc_bw_bytes_per_cycle):
    """Cycles MAESTRO 2020 adds to every step of a clustered (c > 1) layer.

    MAESTRO analyses the inner cluster (``Cluster(64, P)``) as a fresh
    "initialization" case on every outer step, so the cluster's ingress -- the
    input *and the stationary weight* windows of every active PE, ``2 * taps``
    elements each -- is not overlapped with compute: step delay =
    ``ceil(taps / vector_width) + ceil(ingress / noc_bw)`` (maestro-project/maestro,
    cost-model/include/cost-analysis/CA_cost-analysis-engine.hpp,
    ``AnalyzeClusterLevel_V2``: ``isAllInit() ? computation_delay +
    ingress_comm_delay``). E.g. 1x1 conv: 1 + 1 = 2; 3x3 on 64 lanes at 1024
    elements/cycle: 1 + ceil(1152/1024) = 3; FC 7x7: 6 + 7 = 13 (the CSVs'
    Compute Delay column). A pipelined PE hides this ingress; see the module notes.
    """
    active = np.minimum(layers.c, c_lanes)
    ingress_bytes = active * taps * (layers.input_bytes_per_elem + layers.weight_bytes_per_elem)
    return np.where(layers.c > 1, np.ceil(ingress_bytes / noc_bw_bytes_per_cycle), 0.0)


# -- L2 tiling (DRAM traffic) ---------------------------------------------------

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
    f = lambda a: np.asarray(a, dtype=float)[..., None, None]             # (1, L) -> (1, L, 1, 1)
    cap = np.asarray(l2_bytes, dtype=float)[..., None, None] / 2.0          # (U, 1, 1, 1)
    n, g, k, c = f(layers.n), f(layers.g), f(layers.k), f(layers.c)
    bi, bw, bo = f(layers.input_bytes_per_elem), f(layers.weight_bytes_per_elem), f(layers.output_bytes_per_elem)
    p, q, w, rs = f(layers.p), f(layers.q), f(layers.w), f(layers.r * layers.s)
    p2 = np.ceil(p / _ROW_SPLITS.reshape(1, 1, -1, 1))                      # (1, L, I, 1)
    c2 = np.ceil(c / _CHANNEL_SPLITS.reshape(1, 1, 1, -1))                  # (1, L, 1, J)
    row_tiles = np.ceil(p / p2)
    in_rows = np.minimum((p2 - 1) * f(layers.stride_h) + (f(layers.r) - 1) * f(layers.dil_h) + 1, f(layers.h))
    in_row_tile = n * in_rows * w * bi                                      # bytes per channel of a row tile
    per_filter = c2 * rs * bw + n * p2 * q * bo + np.where(g > 1, c2 * in_row_tile / k, 0.0)
    k2 = np.minimum(np.floor((cap - c2 * in_row_tile) / per_filter), g * k)
    fits = k2 >= 1
    k2 = np.maximum(k2, 1.0)
    full_c = c2 == c
    rows_fit = fits & full_c & (g * c * in_row_tile + per_filter <= cap)

    def loop_orders(bi, bw, bo):
        """DRAM traffic of every candidate, (filters outermost, rows outermost), with
        input, weight and output elements of ``bi``, ``bw`` and ``bo`` units each."""
        weights = g * k * c * rs * bw
        outputs = n * g * k * p * q * bo
        inputs_halo = g * c * row_tiles * (n * in_rows * w * bi)
        filters_outer = (weights * np.where(full_c, 1.0, row_tiles) + inputs_halo * np.ceil(k / np.minimum(k2, k))
                         + outputs)
        rows_outer = np.where(rows_fit, inputs_halo + weights * row_tiles + outputs, np.inf)
        return filters_outer, rows_outer

    filters_bytes, rows_bytes = loop_orders(bi, bw, bo)
    filters_words, rows_words = loop_orders(1.0, 1.0, 1.0)
    dram_bytes = np.where(fits, np.minimum(filters_bytes, rows_bytes), np.inf)
    dram_words = np.where(fits, np.where(filters_bytes <= rows_bytes, filters_words, rows_words), np.inf)
    flat = dram_bytes.reshape(dram_bytes.shape[:2] + (-1,))
    best = np.argmin(flat, axis=-1)[..., None]
    pick = lambda a: np.take_along_axis(np.broadcast_to(a, dram_bytes.shape).reshape(flat.shape), best, -1)[..., 0]
    return pick(dram_bytes), pick(dram_words), pick(row_tiles)


# -- the model ------------------------------------------------------------------

def _check_l1(layers: LayerBatch, configs: ConfigBatch, fit):
    bad = layers.is_mac & (fit < 1)
    if bad.any():
        cfg, col = np.argwhere(bad)[0]
        l1 = np.broadcast_to(configs["l1_bytes"], bad.shape)[cfg, col]
        bi, bw, bo = (int(bits[0, col]) for bits in (layers.input_bits, layers.weight_bits, layers.output_bits))
        need = (2 * (bi + bw) + bo) / 8
        raise MappingError(f"model 'weight_stationary': layer '{layers.names[col]}': field 'l1_bytes' = {l1}: "
                           f"smaller than the smallest L1 tile (one weight and one input, double-buffered, plus "
                           f"an accumulator = {need:g} bytes at {bi}/{bw}/{bo} input/weight/output bits)")


def _l2_dram(layers: LayerBatch, configs: ConfigBatch):
    """DRAM bytes, DRAM words and weight passes per (config, layer), solved once per
    distinct L2 size."""
    l2 = np.asarray(configs["l2_bytes"]).reshape(-1)
    sizes, inverse = np.unique(l2, return_inverse=True)
    dram, words, passes = (a[inverse] for a in l2_tiling(layers, sizes.reshape(-1, 1)))
    bad = layers.is_mac & ~np.isfinite(dram)
    if bad.any():
        cfg, col = np.argwhere(bad)[0]
        raise MappingError(f"model 'weight_stationary': layer '{layers.names[col]}': field 'l2_bytes' = {l2[cfg]}: "
                           "no L2 tile fits (one filter slice of c/64 channels, one output row and its input rows "
                           "must fit in half of L2)")
    ok = np.isfinite(dram)
    return np.where(ok, dram, 0.0), np.where(ok, words, 0.0), np.where(ok, passes, 1)


def _area_mm2(configs: ConfigBatch):
    pes, lanes = configs["pes"], configs["vector_width"]
    l1, l2, noc, bits = configs["l1_bytes"], configs["l2_bytes"], configs["noc_bw_bytes_per_cycle"], configs["mac_bits"]
    if configs["area_model"] == "maestro2020":
        noc_elements = noc / (bits / 8.0)
        area = um2_to_mm2(area_models.maestro2020_area_um2(pes, lanes, l1, l2, noc_elements))
    else:
        tech = configs.technology
        extra_lanes = pes * (lanes - 1) * tech.mac_area_um2(bits)
        area = area_models.default_area_mm2(tech, pes, l1, l2, noc, bits) + um2_to_mm2(extra_lanes)
    return np.asarray(area, dtype=float).reshape(-1)


def cost(layers: LayerBatch, configs: ConfigBatch) -> CostArrays:
    """Costs of ``layers`` (1, L) on the ``dla`` configs (C, 1); see the module docstring."""
    tech = configs.technology
    pes = configs["pes"]
    lanes = configs["vector_width"]
    noc_bw = configs["noc_bw_bytes_per_cycle"]
    b = layers.bytes_per_elem                     # one MAC-precision word
    b_in, b_w = layers.input_bytes_per_elem, layers.weight_bytes_per_elem
    words = layers.mac_words                      # input/weight/output words -> MAC-precision words
    mac = layers.is_mac

    # spatial unrolling and steps
    k_units, c_lanes = spatial_unrolling(layers, pes, configs["cluster_size"])
    taps, chunks, fit = l1_chunk(layers, configs["l1_bytes"])
    _check_l1(layers, configs, fit)
    k_steps = ceil_div(layers.g * layers.k, k_units)
    c_steps = ceil_div(layers.c, c_lanes)
    pixels = layers.n * layers.p * layers.q
    step_cycles = chunks * ceil_div(taps, lanes)
    if configs["step_timing"] == "maestro2020":
        step_cycles = step_cycles + chunks * maestro_step_overhead(layers, c_lanes, taps, noc_bw)
    mac_compute = (k_steps * c_steps * pixels * step_cycles).astype(float)
    compute = np.where(mac, mac_compute, vector_compute_cycles(layers, pes))

    # L1: operand reads by the MACs, fills from the NoC
    macs = layers.macs.astype(float)
    window = (layers.r * layers.s).astype(float)
    new_per_slide = np.minimum(taps, ceil_div(taps, layers.s) * np.minimum(layers.s, layers.stride_w))
    fills_per_row = chunks * (taps + (layers.q - 1) * new_per_slide)   # per PE, per output row
    input_fills = macs / (window * layers.q) * fills_per_row           # unicast deliveries into L1s
    multicast = np.minimum(layers.k, k_units)                            # clusters sharing an input
    dram_bytes, dram_words, weight_passes = _l2_dram(layers, configs)
    weight_fills = layers.weight_elems * weight_passes
    outputs = layers.output_elems.astype(float)
    psum_writes = outputs * c_steps * chunks
    psum_reads = psum_writes - outputs
    # Words per level (accesses) and the same as MAC-precision words (bytes, energy).
    l1_acc = 2.0 * macs + input_fills + weight_fills
    l1_mac_words = words(inputs=macs + input_fills, weights=macs + weight_fills)
    noc_in = input_fills / multicast + weight_fills + psum_reads       # distribution network, L2 -> PEs
    noc_out = psum_writes                                              # collection network, PEs -> L2
    noc_in_mac_words = words(inputs=input_fills / multicast, weights=weight_fills, outputs=psum_reads)
    noc_out_mac_words = words(outputs=noc_out)
    noc_elems = noc_in + noc_out

    # L2 and DRAM: the tiling's traffic, never below the compulsory traffic.
    dram_mac_words = dram_bytes / b
    l2_acc = noc_elems + dram_words
    dram_bytes_total = np.maximum(dram_bytes, layers.compulsory_bytes)
    dram_acc = np.where(dram_bytes >= layers.compulsory_bytes, dram_words, layers.compulsory_words)

    vec_bytes = vector_traffic_bytes(layers)
    vec_words = layers.vector_words
    zero = np.zeros_like(compute)
    accesses = {
        "l1": np.where(mac, l1_acc, zero),
        "l2": np.where(mac, l2_acc, 2.0 * vec_words + zero),
        "dram": np.where(mac, dram_acc, vec_words + zero),
    }
    mac_words = {      # accesses as MAC-precision words: energy = mac_words x energy per access at bits
        "l1": np.where(mac, l1_mac_words, zero),
        "l2": np.where(mac, noc_in_mac_words + noc_out_mac_words + dram_mac_words, 2.0 * vec_bytes / b + zero),
        "dram": np.where(mac, dram_bytes_total, vec_bytes + zero) / b,
        "noc": np.where(mac, noc_in_mac_words + noc_out_mac_words, vec_bytes / b) + zero,
    }
    traffic = {
        "l1": np.where(mac, macs * (b_in + b_w), zero),
        "l2": np.where(mac, np.maximum(noc_in_mac_words, noc_out_mac_words) * b, vec_bytes + zero),
        "dram": np.where(mac, dram_bytes_total, vec_bytes + zero),
    }
    levels = (
        MemoryLevel("l1", configs["l1_bytes"], pes * lanes * (b_in + b_w),         # an input and a weight per lane
                    tech.sram_pj_per_access(configs["l1_bytes"], layers.bits), pes),
        MemoryLevel("l2", configs["l2_bytes"], noc_bw, tech.sram_pj_per_access(configs["l2_bytes"], layers.bits)),
        MemoryLevel("dram", np.inf, configs["dram_bw_bytes_per_cycle"], tech.dram_pj_per_access(layers.bits)),
    )

    # fill/drain: first weights and inputs cross the NoC; the adder tree drains.
    cu = np.minimum(configs["cluster_size"], pes)
    first_load = np.ceil(np.minimum(layers.weight_elems, k_units * c_lanes * taps) * (b_in + b_w) / noc_bw)
    fill_drain = np.where(mac, first_load + np.ceil(np.log2(cu)) + 1.0, 1.0)
    latency, bound = bounded_latency(compute, traffic, levels, fill_drain)

    area = _area_mm2(configs)
    seconds = latency / configs["clock_hz"]
    energy = {
        "mac": np.where(mac, macs * tech.mac_pj(layers.bits), zero),
        "l1": mac_words["l1"] * levels[0].pj_per_access,
        "l2": mac_words["l2"] * levels[1].pj_per_access,
        "dram": mac_words["dram"] * levels[2].pj_per_access,
        "noc": mac_words["noc"] * tech.noc_pj_per_access(layers.bits),
        "leakage": tech.leakage_pj(area.reshape(-1, 1), seconds),
    }
    peak = (pes * lanes).astype(float)
    work = np.where(mac, macs / peak, layers.vector_ops / pes.astype(float))
    active = np.minimum(layers.g * layers.k, k_units) * np.minimum(layers.c, c_lanes)
    extras = {
        "active_pes": np.where(mac, macs / (window * pixels * k_steps * c_steps), zero),
        "mapping_efficiency": np.where(mac, macs / np.maximum(mac_compute * peak, 1.0), zero),
        "peak_active_pes": np.where(mac, active, zero).astype(float),
    }
    return CostArrays(
        levels=levels, compute_cycles=compute, latency_cycles=latency, utilization=work / latency,
        accesses=accesses, traffic_bytes=traffic, energy_pj=energy, bound=bound, area_mm2=area,
        peak_macs_per_cycle=peak.reshape(-1), clock_hz=np.asarray(configs["clock_hz"], dtype=float).reshape(-1),
        extras=extras)
