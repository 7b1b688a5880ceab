"""Row-stationary (Eyeriss-like) dataflow: templates ``rs`` and ``eyeriss``.

The mechanism (Chen, Emer, Sze, ISCA 2016; Chen et al., JSSC 52(1) 2017):

* **Logical PE set.** A 2-D convolution of one channel with one filter is an
  ``R x E`` grid of 1-D row convolutions (R filter rows, E = P output rows).
  PE (i, j) keeps filter row i in its filter scratchpad, slides ifmap row
  ``i + j*stride`` through its ifmap scratchpad and produces one row of partial
  sums, which accumulate *vertically* up the column into output row j.
* **Folding and replication** onto the physical ``rows x cols`` array (the
  Eyeriss mapper as described in JSSC'17 Sec. IV-A and implemented in
  stanford-mast/nn_dataflow ``MapStrategyEyeriss``): an E wider than the array
  is cut into strips of ``cols`` columns; strips are stacked into spare rows
  before they are run one after another; a set smaller than the array is
  replicated ``floor(rows/R) x floor(cols/E)`` times. Eyeriss AlexNet:
  CONV1 11x55 -> 11x14 strips (154 PEs), CONV2 5x27 -> 14+13 stacked (135 PEs),
  CONV3-5 3x13 -> 4 sets (156 PEs).
* **Processing pass.** Each PE holds ``p`` filters x ``q`` channels of one
  filter row: ``q*S <= ifmap_spad_words`` (the sliding window of q channels),
  ``p*q*S <= filter_spad_words`` and ``p <= psum_spad_words`` (one psum per
  filter for the output pixel in flight). The replicated sets split into
  ``t`` sets of different filters and the rest all on different channels
  (``r``) or all on different groups (``gamma``); the one mapping policy is the
  candidate (array shape x split) with the fewest cycles.
* **PE time.** One MAC per PE per cycle; in each pass a PE also adds the psum
  row coming from the PE below (one adder cycle per psum, ``p*F`` per pass),
  and before each filter block the filter scratchpads are filled over the
  filter bus (one third of the GLB<->array NoC; Eyeriss has separate 64-bit
  ifmap, filter and psum buses, JSSC'17 Sec. V). Filters then stay while all N
  images and all E strips stream through (filter reuse), so the fill is
  amortised over them.
* **GLB (l2) tiling.** The GLB keeps the psums of the filters in flight for the
  batch and, when it fits, the whole ifmap (half the GLB each). Otherwise the
  ifmap is streamed from DRAM once per filter block, filters are reloaded per
  image, and psums that do not fit spill to DRAM.
* **Latency** = max(compute, GLB<->array traffic / NoC bandwidth, DRAM
  traffic / DRAM bandwidth) + fill/drain of one wave through the array.
* **Energy** = MACs x MAC energy + scratchpad accesses (filter, ifmap, psum
  spads, each at its own capacity) + GLB accesses + NoC words (GLB<->PE
  deliveries plus PE-to-PE psum hops) + DRAM words + leakage x time.

Array shape: ``pe_rows > 0`` fixes the rows (``eyeriss``: 12) and the columns are
``pes // pe_rows``; ``pe_rows = 0`` (``rs``) treats the PEs as a pool grouped per
layer into columns of ``m*R`` PEs (rows = min(m*R, pes), cols = pes // rows,
m in 1, 2, 4, 8, the fastest taken), generalising MAESTRO's ``Cluster(Sz(R), P)``. Both rules are monotone: more PEs never add
compute cycles (wider arrays fold less and replicate more, and the split
candidates only grow).

**Precision** is per tensor: the filter, ifmap and psum spads hold words of the
weight, input and output width, the GLB halves and DRAM traffic are sized per
tensor, and every access is charged at its tensor's width (accesses count words);
MACs at ``bits`` = max(input, weight).

The mapping (folding, replication, spad blocking, split choice) is in
``rs_mapping.py``; this module turns it into cycles, traffic, energy and area.

``step_timing: maestro2020`` replaces the compute time of MAC layers by MAESTRO
2020's runtime for its row-stationary mapping (``Resnet50_rs.m``); see
``maestro_rs.maestro_rs_runtime``. It reproduces MAESTRO's *accounting*, including steps
that deliver more MACs per cycle than the PEs have lanes, not a buildable
machine. ``pipelined`` (the default) is the Eyeriss model above.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hardware.area import default_area_mm2, maestro2020_area_mm2
from ..hardware.memory import MemoryLevel
from ..hardware.params import AREA_MODEL, CLOCK_HZ, TECHNOLOGY, Param
from .base import ConfigBatch, CostArrays, LayerBatch, bounded_latency, raise_unmappable
from .common import VectorCosts, vector_layer_costs
from .maestro_rs import maestro_cluster_pes, maestro_rs_runtime
from .rs_mapping import fastest_mapping, spad_words

PARAMETERS = {
    "pes": Param(int, "number of processing elements (one MAC each)"),
    "pe_rows": Param(int, "PE array rows; columns = pes // pe_rows. 0: per layer, the fastest of "
                          "rows = min(m*R, pes) for m in 1, 2, 4, 8 (MAESTRO's Cluster(Sz(R)) generalised)",
                     minimum=0, inclusive=True),
    "word_bits": Param(int, "PE datapath and scratchpad word width, bits (area; spad words)"),
    "l1_bytes": Param(int, "scratchpad bytes per PE (filter + ifmap + psum); split 224:12:24 "
                           "(Eyeriss) when the *_spad_words below are 0"),
    "filter_spad_words": Param(int, "filter scratchpad per PE, words; 0: from l1_bytes", minimum=0, inclusive=True),
    "ifmap_spad_words": Param(int, "ifmap scratchpad per PE, words; 0: from l1_bytes", minimum=0, inclusive=True),
    "psum_spad_words": Param(int, "psum scratchpad per PE, words; 0: from l1_bytes", minimum=0, inclusive=True),
    "l2_bytes": Param(int, "global buffer (GLB) bytes"),
    "noc_bw_bytes_per_cycle": Param(float, "GLB <-> PE array bandwidth (ifmap + filter + psum buses), bytes/cycle"),
    "dram_bw_bytes_per_cycle": Param(float, "off-chip bandwidth, bytes per core cycle"),
    "clock_hz": CLOCK_HZ,
    "technology": TECHNOLOGY,
    "area_model": AREA_MODEL,
    "step_timing": Param(str, "pipelined (the Eyeriss row-stationary model) or maestro2020 (MAESTRO 2020's "
                              "runtime accounting of its RS mapping Resnet50_rs.m; see maestro_rs_runtime)",
                         choices=("pipelined", "maestro2020")),
    "maestro_vector_width": Param(int, "MAC lanes per PE in MAESTRO's PE (its 'Vector Width'); used only by "
                                       "step_timing maestro2020 and area_model maestro2020. The pipelined "
                                       "timing and the default area model have one MAC per PE"),
}

# Scratchpad bandwidth: each PE touches its spads every cycle; 4 words of up to
# 32 b per cycle is an upper bound that never binds (the MAC does).
_L1_BYTES_PER_PE_CYCLE = 16.0

# -- the model ---------------------------------------------------------------------

def cost(layers: LayerBatch, configs: ConfigBatch) -> CostArrays:
    """Map each layer (``rs_mapping``), time it, count the words it moves at each
    level, then charge latency, energy and area. Vector layers go through the MAC
    formulas with harmless shapes and are replaced by their vector costs (np.where)."""
    tech = configs.technology
    pes, noc_bw = configs.ints("pes"), configs.floats("noc_bw_bytes_per_cycle")
    _check_configs(pes, configs.ints("pe_rows"), layers)
    spads = spad_words(configs, layers)
    _check_spads(*spads, configs, layers)
    mapping = fastest_mapping(layers, configs)
    maestro = configs["step_timing"] == "maestro2020"
    lanes = configs.ints("maestro_vector_width") if maestro else np.ones_like(pes)
    timing = _maestro_timing(layers, pes, lanes, noc_bw) if maestro else None
    mac_compute = mapping.compute if timing is None else timing["runtime"].astype(float)
    vec = vector_layer_costs(layers, pes, tech)
    compute = np.where(layers.is_mac, mac_compute, vec.compute_cycles)

    counts = _word_counts(layers, mapping)
    accesses, mac_words, traffic = _level_counts(layers, counts, vec)
    levels = _levels(configs, pes, lanes, noc_bw)
    # MAESTRO's runtime already charges the first step's unoverlapped ingress.
    fill_drain = np.where(layers.is_mac & (not maestro), (mapping.rows + mapping.cols).astype(float), 0.0)
    latency, bound = bounded_latency(compute, traffic, levels, fill_drain)
    clock = configs.floats("clock_hz")
    area = _area_mm2(configs, tech, pes)
    energy = _energy(layers, configs, tech, counts, spads, mac_words, area, latency / clock, vec)
    shape = compute.shape
    return CostArrays(
        levels=levels,
        compute_cycles=compute,
        latency_cycles=latency,
        utilization=_utilization(layers, pes * lanes, latency, maestro),
        accesses={name: np.broadcast_to(v, shape) for name, v in accesses.items()},
        traffic_bytes={name: np.broadcast_to(v, shape) for name, v in traffic.items()},
        energy_pj={name: np.broadcast_to(v, shape) for name, v in energy.items()},
        bound=bound,
        area_mm2=area,
        peak_macs_per_cycle=(pes * lanes)[:, 0].astype(float),
        clock_hz=clock[:, 0],
        extras=_extras(layers.is_mac, layers.macs.astype(float), pes * lanes, compute, mapping, timing, shape),
    )


def _maestro_timing(layers, pes, lanes, noc_bw):
    """``step_timing: maestro2020``: MAESTRO 2020's runtime of its RS mapping
    replaces the pipelined compute time (``maestro_rs.maestro_rs_runtime``);
    MAESTRO counts its NoC in elements, here MAC-precision words per cycle."""
    _check_maestro_clusters(pes, layers)
    return maestro_rs_runtime(layers, pes, lanes, noc_bw / layers.bytes_per_elem)


@dataclass(frozen=True)
class _WordCounts:
    """Words (of each tensor's own width) the mapping touches, (C, L), MAC layers."""
    dram_in: np.ndarray     # ifmap words read from DRAM (once, or once per filter block)
    dram_w: np.ndarray      # filter words read from DRAM (once per reload); also the GLB's filter fills
    dram_out: np.ndarray    # outputs written, plus spilled psums written and read back
    glb_ifmap: np.ndarray   # GLB -> array ifmap words: every filter block re-reads the ifmap
    glb_filter: np.ndarray  # GLB -> array filter words (once per reload)
    glb_psum: np.ndarray    # GLB <-> array psum words: each psum tile written, all but the first read back
    psum_hops: np.ndarray   # PE-to-PE psum moves up the columns (R - 1 per psum tile)
    spad_f: np.ndarray      # filter spad accesses
    spad_i: np.ndarray      # ifmap spad accesses
    spad_p: np.ndarray      # psum spad accesses


def _word_counts(layers: LayerBatch, m) -> _WordCounts:
    """Data movement of the mapping ``m``. An output is built in ``n_c x n_s``
    psum tiles (channel blocks x filter-row segments), each accumulated up R PEs;
    tiles that fit no GLB strip spill to DRAM. Scratchpads: per MAC one filter
    read, one ifmap read and a psum read + write, plus each spad's fills (the
    words arriving over the NoC) and the psums arriving from the PE below."""
    macs = layers.macs.astype(float)
    wts = layers.weight_elems.astype(float)
    ins = layers.input_elems.astype(float)
    outs = layers.output_elems.astype(float)
    psum_passes = m.n_c * m.n_s                                    # psum tiles per output
    glb_ifmap = ins * m.n_k
    glb_filter = wts * m.w_reload
    glb_psum = outs * (2.0 * psum_passes - 1.0)
    psum_hops = outs * psum_passes * np.maximum(layers.r - 1, 0)
    return _WordCounts(
        dram_in=ins * m.i_reload, dram_w=wts * m.w_reload,
        dram_out=outs + np.where(m.spill, 2.0 * outs * (psum_passes - 1), 0.0),
        glb_ifmap=glb_ifmap, glb_filter=glb_filter, glb_psum=glb_psum, psum_hops=psum_hops,
        spad_f=macs + glb_filter, spad_i=macs + glb_ifmap, spad_p=2.0 * macs + glb_psum + psum_hops)


def _level_counts(layers: LayerBatch, w: _WordCounts, vec: VectorCosts):
    """Per level: ``accesses`` (words read + written), the same counts as
    MAC-precision words (``mac_words``, for energy at each tensor's width; plus
    the NoC) and ``traffic`` bytes across each level's bandwidth. The GLB is
    accessed by the array (GLB <-> PE words, which cross the NoC) and by its
    fills from DRAM; vector layers read and write their operands once through
    the GLB and DRAM (``common.vector_layer_costs``)."""
    mac, words, bpw = layers.is_mac, layers.mac_words, layers.bytes_per_elem
    glb_array = w.glb_ifmap + w.glb_psum + w.glb_filter
    glb_array_mac_words = words(w.glb_ifmap, w.glb_filter, w.glb_psum)
    accesses = {"l1": np.where(mac, w.spad_f + w.spad_i + w.spad_p, 0.0),
                "l2": np.where(mac, glb_array + w.dram_in + w.dram_w, vec.words),
                "dram": np.where(mac, w.dram_w + w.dram_in + w.dram_out, vec.words)}
    mac_words = {
        "l1": np.where(mac, words(w.spad_i, w.spad_f, w.spad_p), 0.0),
        "l2": np.where(mac, glb_array_mac_words + words(inputs=w.dram_in, weights=w.dram_w), vec.mac_words),
        "dram": np.where(mac, words(w.dram_in, w.dram_w, w.dram_out), vec.mac_words),
        "noc": np.where(mac, glb_array_mac_words + words(outputs=w.psum_hops), 0.0),
    }
    traffic = {"l1": mac_words["l1"] * bpw, "l2": np.where(mac, glb_array_mac_words * bpw, vec.bytes),
               "dram": mac_words["dram"] * bpw}
    return accesses, mac_words, traffic


def _energy(layers: LayerBatch, configs, tech, w: _WordCounts, spads, mac_words, area, seconds, vec: VectorCosts):
    """Energy per component: MACs (vector layers: ``vec.op_pj``), each scratchpad at
    its own capacity and tensor width, GLB, NoC and DRAM words at MAC precision,
    and leakage over the layer's time."""
    mac, bits = layers.is_mac, layers.bits.astype(float)
    macs = layers.macs.astype(float)
    filter_w, ifmap_w, psum_w = spads
    return {
        "mac": np.where(mac, macs * tech.mac_pj(bits), vec.op_pj),
        "l1": np.where(mac, w.spad_f * _spad_pj(tech, filter_w, layers.weight_bits)
                       + w.spad_i * _spad_pj(tech, ifmap_w, layers.input_bits)
                       + w.spad_p * _spad_pj(tech, psum_w, layers.output_bits), 0.0),
        "l2": mac_words["l2"] * tech.sram_pj_per_access(configs["l2_bytes"], bits),
        "noc": mac_words["noc"] * tech.noc_pj_per_access(bits),
        "dram": mac_words["dram"] * tech.dram_pj_per_access(bits),
        "leakage": tech.leakage_pj(area[:, None], seconds),
    }


def _utilization(layers: LayerBatch, peak, latency, maestro):
    """Useful work (MACs, or vector ops) per peak MAC slot over the latency.
    maestro2020: MAESTRO's 3x3 steps exceed pes x lanes MACs/cycle; clipped to 1."""
    utilization = layers.work / (peak * latency)
    return np.clip(utilization, 1e-12, 1.0) if maestro else utilization


# -- helpers -------------------------------------------------------------------------

def _spad_pj(tech, spad_words, word_bits):
    """Energy of one access to a scratchpad of ``spad_words`` words of ``word_bits``."""
    word_bits = np.asarray(word_bits, dtype=float)
    return tech.sram_pj_per_access(spad_words * (word_bits / 8.0), word_bits)


def _extras(mac, macs, peak, compute, mapping, timing, shape):
    """Model-specific (C, L) columns. With MAESTRO timing, ``active_pes`` is
    MAESTRO's "Avg number of utilized PEs" (active clusters per fold) and
    ``maestro_steps`` / ``maestro_compute_delay`` are its temporal steps and its
    per-step "Compute Delay"; the array shape is still the pipelined mapping's."""
    def col(values):
        return np.broadcast_to(np.where(mac, values, 0.0), shape).astype(float)
    extras = {"active_pes": col(mapping.active if timing is None else timing["active_clusters"]),
              "mapping_efficiency": col(macs / (peak * compute)),
              "array_rows": np.broadcast_to(mapping.rows, shape).astype(float),
              "array_cols": np.broadcast_to(mapping.cols, shape).astype(float)}
    if timing is not None:
        extras["maestro_steps"] = col(timing["steps"])
        extras["maestro_compute_delay"] = col(timing["compute_delay"])
    return extras


def _check_maestro_clusters(pes, layers):
    """MAESTRO's RS mapping needs a whole cluster (``maestro_cluster_pes``) of PEs."""
    cluster = maestro_cluster_pes(layers)
    raise_unmappable("row_stationary", layers, layers.is_mac & (pes < cluster), "pes", pes,
                     lambda _, j: f"step_timing maestro2020 maps Cluster({int(cluster[0, j])},P) (Resnet50_rs.m); "
                                  f"valid: pes >= {int(cluster[0, j])}")


def _check_configs(pes, pe_rows, layers):
    """A fixed ``pe_rows`` needs at least that many PEs (reported on the first layer)."""
    bad = np.broadcast_to((pe_rows > 0) & (pes < pe_rows), (len(pes), max(len(layers), 1)))
    raise_unmappable("row_stationary", layers, bad, "pes", pes,
                     lambda i, _: f"fewer PEs than pe_rows = {int(pe_rows[i, 0])}; valid: pes >= pe_rows "
                                  "(or pe_rows = 0)")


def _check_spads(filter_w, ifmap_w, psum_w, configs, layers):
    """Each scratchpad holds at least one word, and the filter spad a filter-row segment."""
    for name, words in (("filter_spad_words", filter_w), ("ifmap_spad_words", ifmap_w),
                        ("psum_spad_words", psum_w)):
        raise_unmappable(
            "row_stationary", layers, words < 1, name, words,
            lambda i, j: f"a PE needs at least one word in each scratchpad (l1_bytes = "
                         f"{int(configs['l1_bytes'][i, 0])} split 224:12:24 at {int(layers.weight_bits[0, j])}/"
                         f"{int(layers.input_bits[0, j])}/{int(layers.output_bits[0, j])} filter/ifmap/psum bits); "
                         "raise l1_bytes or set the spad words")
    # A filter row segment needs the filter spad to hold it for one channel and one filter.
    need = np.broadcast_to(np.minimum(layers.s, ifmap_w), (configs.size, len(layers)))
    raise_unmappable("row_stationary", layers, filter_w < need, "filter_spad_words", filter_w,
                     lambda i, j: f"cannot hold a filter row segment of {int(need[i, j])} words; valid: >= that")


def _levels(configs, pes, lanes, noc_bw):
    """Scratchpads (every MAC lane reads its operands from them; lanes = 1 but with
    MAESTRO timing), the GLB at the NoC bandwidth, and DRAM."""
    dram_bw = configs.floats("dram_bw_bytes_per_cycle")
    return (
        MemoryLevel("l1", configs.floats("l1_bytes"), pes * lanes * _L1_BYTES_PER_PE_CYCLE),
        MemoryLevel("l2", configs.floats("l2_bytes"), noc_bw),
        MemoryLevel("dram", np.full_like(dram_bw, np.inf), dram_bw),
    )


def _area_mm2(configs, tech, pes):
    word_bits, l1 = configs.floats("word_bits"), configs.floats("l1_bytes")
    if configs["area_model"] == "maestro2020":
        return maestro2020_area_mm2(pes, configs["maestro_vector_width"], l1, configs["l2_bytes"],
                                    configs["noc_bw_bytes_per_cycle"], elem_bits=word_bits)[:, 0]
    return default_area_mm2(tech, pes, l1, configs["l2_bytes"], configs["noc_bw_bytes_per_cycle"],
                            word_bits)[:, 0]
