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

Buffers (``ws_tiling.py``): a PE's L1 holds a double-buffered chunk of its
filter window and the matching input window, plus one accumulator; L2 holds the
tile of filters x output rows x channels, and the loop order, with the least
DRAM traffic.

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

from typing import NamedTuple

import numpy as np

from ..hardware import area as area_models
from ..hardware.memory import MemoryLevel
from ..hardware.params import AREA_MODEL, CLOCK_HZ, TECHNOLOGY, Param
from ..units import ceil_div, um2_to_mm2
from .base import ConfigBatch, CostArrays, LayerBatch, bounded_latency
from .common import VectorCosts, vector_layer_costs
from .ws_tiling import _check_l1, _l2_dram, l1_chunk, l2_tiling

# l1_chunk and l2_tiling live in ws_tiling.py and are re-exported here.
__all__ = ["PARAMETERS", "Mapping", "OnChipTraffic", "cost", "l1_chunk", "l2_tiling", "maestro_step_overhead",
           "spatial_unrolling"]

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


# -- area ----------------------------------------------------------------------

def _area_mm2(configs: ConfigBatch):
    """Chip area (C,): MAESTRO 2020's closed form, or the default model (PEs with
    one MAC each, L1s, L2, NoC) plus the extra ``vector_width - 1`` MACs per PE."""
    pes, lanes = configs["pes"], configs["vector_width"]
    l1, l2, noc, bits = configs["l1_bytes"], configs["l2_bytes"], configs["noc_bw_bytes_per_cycle"], configs["mac_bits"]
    if configs["area_model"] == "maestro2020":
        area = area_models.maestro2020_area_mm2(pes, lanes, l1, l2, noc, elem_bits=bits)
    else:
        tech = configs.technology
        extra_lanes = pes * (lanes - 1) * tech.mac_area_um2(bits)
        area = area_models.default_area_mm2(tech, pes, l1, l2, noc, bits) + um2_to_mm2(extra_lanes)
    return np.asarray(area, dtype=float).reshape(-1)


# -- the model: mapping, traffic, latency, energy ---------------------------------

class Mapping(NamedTuple):
    """How MAC layers sit on the PE array; each field broadcasts to (C, L)."""
    k_units: np.ndarray      # filters (output channels) in parallel: clusters, or PEs if depthwise
    c_lanes: np.ndarray      # input channels reduced in parallel by one cluster's adder tree
    taps: np.ndarray         # filter taps per PE per L1 residency
    chunks: np.ndarray       # L1 residencies per R x S window
    k_steps: np.ndarray      # ceil(G*K / k_units)
    c_steps: np.ndarray      # ceil(C / c_lanes): partial sums accumulated in L2 per output
    mac_cycles: np.ndarray   # compute cycles of a MAC layer (float)


def _mapping(layers: LayerBatch, configs: ConfigBatch) -> Mapping:
    """Spatial unrolling, L1 chunking and compute cycles (raises if L1 is too small).

    The array works through ``k_steps x c_steps`` blocks of (filter, channel)
    pairs; in each, the output pixels (N*P*Q) stream past the stationary weights,
    a pixel taking ``chunks * ceil(taps / vector_width)`` cycles -- plus, with
    ``step_timing: maestro2020``, MAESTRO's un-overlapped cluster ingress per chunk.
    """
    k_units, c_lanes = spatial_unrolling(layers, configs["pes"], configs["cluster_size"])
    taps, chunks, fit = l1_chunk(layers, configs["l1_bytes"])
    _check_l1(layers, configs, fit)
    k_steps = ceil_div(layers.g * layers.k, k_units)
    c_steps = ceil_div(layers.c, c_lanes)
    pixels = layers.n * layers.p * layers.q
    step_cycles = chunks * ceil_div(taps, configs["vector_width"])
    if configs["step_timing"] == "maestro2020":
        overhead = maestro_step_overhead(layers, c_lanes, taps, configs["noc_bw_bytes_per_cycle"])
        step_cycles = step_cycles + chunks * overhead
    mac_cycles = (k_steps * c_steps * pixels * step_cycles).astype(float)
    return Mapping(k_units, c_lanes, taps, chunks, k_steps, c_steps, mac_cycles)


class OnChipTraffic(NamedTuple):
    """Words moved inside the chip by a MAC layer, each (C, L). ``*_mac_words``
    are the same counts scaled to MAC-precision words (bytes, energy)."""
    l1: np.ndarray                  # L1 accesses: operand reads + fills
    l1_mac_words: np.ndarray
    noc: np.ndarray                 # NoC words, both directions (L2 accesses on the PE side)
    noc_in_mac_words: np.ndarray    # distribution network, L2 -> PEs
    noc_out_mac_words: np.ndarray   # collection network, PEs -> L2


def _onchip_traffic(layers: LayerBatch, m: Mapping, weight_passes) -> OnChipTraffic:
    """L1 and NoC traffic of MAC layers.

    * Every MAC reads an input and a weight from L1.
    * Inputs: per output row a PE loads its first window chunk, then
      ``R * min(S, stride)`` new inputs per slide along Q (per chunk); an input
      is multicast to the clusters holding other filters of its group, so it
      crosses the NoC once per ``min(k, k_units)`` L1 fills.
    * Weights enter the L1s once per weight pass (L2 row tile).
    * Partial sums are written back to L2 once per C-block and chunk and read
      back for every accumulation but the first.
    """
    macs = layers.macs.astype(float)
    window = (layers.r * layers.s).astype(float)
    new_per_slide = np.minimum(m.taps, ceil_div(m.taps, layers.s) * np.minimum(layers.s, layers.stride_w))
    fills_per_row = m.chunks * (m.taps + (layers.q - 1) * new_per_slide)   # per PE, per output row
    input_fills = macs / (window * layers.q) * fills_per_row               # unicast deliveries into L1s
    multicast = np.minimum(layers.k, m.k_units)                            # clusters sharing an input
    weight_fills = layers.weight_elems * weight_passes
    outputs = layers.output_elems.astype(float)
    psum_writes = outputs * m.c_steps * m.chunks
    psum_reads = psum_writes - outputs
    words = layers.mac_words                      # input/weight/output words -> MAC-precision words
    noc_in = input_fills / multicast + weight_fills + psum_reads
    return OnChipTraffic(
        l1=2.0 * macs + input_fills + weight_fills,
        l1_mac_words=words(inputs=macs + input_fills, weights=macs + weight_fills),
        noc=noc_in + psum_writes,
        noc_in_mac_words=words(inputs=input_fills / multicast, weights=weight_fills, outputs=psum_reads),
        noc_out_mac_words=words(outputs=psum_writes))


def _per_level(layers: LayerBatch, onchip: OnChipTraffic, dram_bytes, dram_words, vec: VectorCosts):
    """``(accesses, mac_words, traffic_bytes)``, dicts of (C, L) per level.

    L2 serves the NoC in both directions and DRAM's fills; its bandwidth is the
    busier NoC direction. DRAM moves the L2 tiling's traffic, never less than the
    compulsory traffic. ``mac_words`` (accesses in MAC-precision words, "noc"
    included) times the per-access energy at ``bits`` gives energy. Vector layers:
    ``common.vector_layer_costs`` (through L2 and DRAM once, no L1 or NoC).
    """
    mac, b = layers.is_mac, layers.bytes_per_elem
    macs = layers.macs.astype(float)
    noc_mac_words = onchip.noc_in_mac_words + onchip.noc_out_mac_words
    dram_bytes_total = np.maximum(dram_bytes, layers.compulsory_bytes)
    dram_acc = np.where(dram_bytes >= layers.compulsory_bytes, dram_words, layers.compulsory_words)
    accesses = {
        "l1": np.where(mac, onchip.l1, 0.0),
        "l2": np.where(mac, onchip.noc + dram_words, vec.words),
        "dram": np.where(mac, dram_acc, vec.words),
    }
    mac_words = {
        "l1": np.where(mac, onchip.l1_mac_words, 0.0),
        "l2": np.where(mac, noc_mac_words + dram_bytes / b, vec.mac_words),
        "dram": np.where(mac, dram_bytes_total / b, vec.mac_words),
        "noc": np.where(mac, noc_mac_words, 0.0),
    }
    traffic = {
        "l1": np.where(mac, macs * (layers.input_bytes_per_elem + layers.weight_bytes_per_elem), 0.0),
        "l2": np.where(mac, np.maximum(onchip.noc_in_mac_words, onchip.noc_out_mac_words) * b, vec.bytes),
        "dram": np.where(mac, dram_bytes_total, vec.bytes),
    }
    return accesses, mac_words, traffic


def _memory_levels(layers: LayerBatch, configs: ConfigBatch):
    """L1 (per PE; an input and a weight per MAC lane per cycle), L2 (at NoC
    bandwidth) and DRAM."""
    l1_bw = configs["pes"] * configs["vector_width"] * (layers.input_bytes_per_elem + layers.weight_bytes_per_elem)
    return (
        MemoryLevel("l1", configs["l1_bytes"], l1_bw),
        MemoryLevel("l2", configs["l2_bytes"], configs["noc_bw_bytes_per_cycle"]),
        MemoryLevel("dram", np.inf, configs["dram_bw_bytes_per_cycle"]),
    )


def _fill_drain(layers: LayerBatch, configs: ConfigBatch, m: Mapping):
    """Cycles not overlapped with the steady state: the first weights (and as many
    inputs) cross the NoC before the first MAC, and the adder tree (depth
    ``log2(cluster)``) drains after the last; depthwise layers (one channel per group,
    nothing to reduce) bypass the tree. 1 cycle for vector layers."""
    b_in, b_w = layers.input_bytes_per_elem, layers.weight_bytes_per_elem
    cu = np.minimum(configs["cluster_size"], configs["pes"])
    tree_depth = np.where(layers.c > 1, np.ceil(np.log2(cu)), 0.0)
    first_load = np.ceil(np.minimum(layers.weight_elems, m.k_units * m.c_lanes * m.taps) * (b_in + b_w)
                         / configs["noc_bw_bytes_per_cycle"])
    return np.where(layers.is_mac, first_load + tree_depth + 1.0, 1.0)


def _energy(layers: LayerBatch, configs: ConfigBatch, mac_words, area, seconds, vec: VectorCosts):
    """Energy per component, pJ: MACs at ``bits`` (vector layers: their operations,
    ``vec.op_pj``), each level's and the NoC's MAC-precision words x energy per
    access, and leakage over the latency."""
    tech, bits = configs.technology, layers.bits
    return {
        "mac": np.where(layers.is_mac, layers.macs.astype(float) * tech.mac_pj(bits), vec.op_pj),
        "l1": mac_words["l1"] * tech.sram_pj_per_access(configs["l1_bytes"], bits),
        "l2": mac_words["l2"] * tech.sram_pj_per_access(configs["l2_bytes"], bits),
        "dram": mac_words["dram"] * tech.dram_pj_per_access(bits),
        "noc": mac_words["noc"] * tech.noc_pj_per_access(bits),
        "leakage": tech.leakage_pj(area.reshape(-1, 1), seconds),
    }


def _extras(layers: LayerBatch, m: Mapping, peak):
    """Model-specific columns: average and peak busy PEs, and MAC-slot efficiency
    of the mapping (MACs / (compute cycles x MAC lanes)); 0 for vector layers."""
    mac = layers.is_mac
    macs = layers.macs.astype(float)
    window = (layers.r * layers.s).astype(float)
    pixels = layers.n * layers.p * layers.q
    active = np.minimum(layers.g * layers.k, m.k_units) * np.minimum(layers.c, m.c_lanes)
    return {
        "active_pes": np.where(mac, macs / (window * pixels * m.k_steps * m.c_steps), 0.0),
        "mapping_efficiency": np.where(mac, macs / np.maximum(m.mac_cycles * peak, 1.0), 0.0),
        "peak_active_pes": np.where(mac, active, 0).astype(float),
    }


def cost(layers: LayerBatch, configs: ConfigBatch) -> CostArrays:
    """Costs of ``layers`` (1, L) on the ``dla`` configs (C, 1); see the module docstring."""
    mac, pes = layers.is_mac, configs["pes"]
    m = _mapping(layers, configs)
    vec = vector_layer_costs(layers, pes, configs.technology)
    compute = np.where(mac, m.mac_cycles, vec.compute_cycles)
    dram_bytes, dram_words, weight_passes = _l2_dram(layers, configs)
    onchip = _onchip_traffic(layers, m, weight_passes)
    accesses, mac_words, traffic = _per_level(layers, onchip, dram_bytes, dram_words, vec)
    levels = _memory_levels(layers, configs)
    latency, bound = bounded_latency(compute, traffic, levels, _fill_drain(layers, configs, m))
    area = _area_mm2(configs)
    energy = _energy(layers, configs, mac_words, area, latency / configs["clock_hz"], vec)
    peak = configs.floats("pes") * configs["vector_width"]
    lanes = np.where(mac, peak, configs.floats("pes"))          # MAC lanes, or one ALU per PE
    full = lambda columns: {k: np.broadcast_to(v, compute.shape).astype(float) for k, v in columns.items()}
    return CostArrays(
        levels=levels, compute_cycles=compute, latency_cycles=latency, utilization=layers.work / lanes / latency,
        accesses=full(accesses), traffic_bytes=full(traffic), energy_pj=full(energy), bound=bound, area_mm2=area,
        peak_macs_per_cycle=peak.reshape(-1), clock_hz=configs.floats("clock_hz").reshape(-1),
        extras=full(_extras(layers, m, peak)))
