"""Row-stationary (Eyeriss-like) dataflow: templates ``rs`` and ``eyeriss``.

The mechanism (Chen, Emer, Sze, ISCA 2016; Chen et al., JSSC 52(1) 2017):

* **Logical PE set.** A 2-D convolution of one channel with one filter is an
  ``R x E`` grid of 1-D row convolutions (R filter rows, E = P output rows).
  PE (i, j) keeps filter row i in its filter scratchpad, slides ifmap row
  ``i + j*stride`` through its ifmap scratchpad and produces one row of partial
  sums, which accumulate *vertically* up the column into output row j.
* **Folding and replication** onto the physical ``rows x cols`` array (the
  Eyeriss mapper, JSSC'17 Sec. IV-A, as in stanford-mast/nn_dataflow
  ``MapStrategyEyeriss``): a set wider than the array is cut into strips, stacked
  into spare rows before they run in turn; a smaller set is replicated.
* **Processing pass.** Each PE holds ``p`` filters x ``q`` channels of one filter
  row: ``q*S <= ifmap_spad_words``, ``p*q*S <= filter_spad_words``,
  ``p <= psum_spad_words`` (powers of two). Replicas take different filters (``t``
  of them) and the rest different channels (depthwise: different groups).
* **GLB tiling.** The global buffer holds a tile -- the psums of the filters in
  flight for a strip of output rows (Eyeriss tiles the ifmap into row strips) --
  and, when they fit, the strip's ifmap rows and the layer's filters, so the
  ifmap and the filters are read from DRAM once, or once per filter block / tile.
* **The mapping choice** (``rs_mapping``): over a grid of candidates (filters per
  PE x filter sets x GLB tiles) that does not depend on the PE count, the buffer
  sizes or the bandwidths, the least bounded latency -- max(compute, GLB<->array
  bytes / NoC bandwidth, DRAM bytes / DRAM bandwidth) -- then the least energy. A
  candidate may leave PEs idle, so more PEs, a bigger buffer or more bandwidth
  never make a layer slower.
* **PE time.** One MAC per PE per cycle; in each pass a PE also adds the psum row
  coming from the PE below (one adder cycle per psum), and before each filter
  block the filter scratchpads are filled over the filter bus (one third of the
  GLB<->array NoC: Eyeriss has separate 64-bit ifmap, filter and psum buses,
  JSSC'17 Sec. V), once per GLB tile.

What this module reports to the shared cost stage (``stage.Activity``):

* levels ``l1`` -- the three scratchpads as one level of ``pes`` instances of
  ``l1_bytes``, each tensor priced at its own scratchpad's capacity --, ``l2``
  (the GLB, whose traffic to the array crosses the NoC bandwidth) and ``dram``;
* words per tensor: scratchpads (a read per MAC, a psum read + write per MAC,
  plus their fills and the psums arriving from the PE below), GLB (array side
  plus every DRAM word written into or read out of it), DRAM;
* NoC word-hops (``stage.multicast_hops``): an ifmap row is multicast along a
  diagonal of its set (``ceil(R / stride)`` PEs) and to the ``t`` filter sets
  that share it, a filter row along a PE row of the set, psums unicast; psums
  move one pitch per PE up the chain of their column's replicas;
* compute cycles of one datapath pass (a layer wider than ``word_bits`` runs
  several, counted by the stage); fill/drain ``R + 1`` (the psum chain of one
  column plus the single-cycle multicast delivery, JSSC'17 Sec. V-B).

Array shape: ``pe_rows > 0`` fixes the rows (``eyeriss``: 12) and the columns are
``pes // pe_rows``; ``pe_rows = 0`` (``rs``) groups the PEs per layer into columns
of ``min(R, pes)`` PEs, MAESTRO's ``Cluster(Sz(R))``.

**Precision** is per tensor: the filter, ifmap and psum spads hold words of the
weight, input and output width (when derived from ``l1_bytes``), the GLB tiles
and DRAM traffic are sized per tensor, and the stage prices every access at its
tensor's width. **Not modelled**: Eyeriss's zero gating of the PEs and run-length
compression of DRAM traffic (the model is dense; docs/models.md says what they
are worth).

``area_model: maestro2020`` passes MAESTRO 2020's closed form (one MAC lane per
PE) as the area; ``default`` is the stage's.
"""

from __future__ import annotations

import numpy as np

from ..hardware.area import maestro2020_area_mm2
from ..hardware.memory import MemoryLevel, dram_level
from ..hardware.params import AREA_MODEL, CLOCK_HZ, TECHNOLOGY, Param
from . import stage
from .base import ConfigBatch, LayerBatch
from .rs_blocks import spad_words
from .rs_mapping import choose_mapping

MAX_PES = 2**20          # keeps PE, replica and word counts exact in int64/float64
MAX_BYTES = 2**40        # buffer sizes (common rule for byte sizes)
MAX_SPAD_WORDS = 2**36
_BANDWIDTH = dict(minimum=1e-6, inclusive=True, maximum=1e9)

PARAMETERS = {
    "pes": Param(int, "number of processing elements (one MAC each)", maximum=MAX_PES),
    "pe_rows": Param(int, "PE array rows; columns = pes // pe_rows. 0: per layer, columns of min(R, pes) "
                          "PEs (MAESTRO's Cluster(Sz(R)))", minimum=0, inclusive=True, maximum=MAX_PES),
    "word_bits": Param(int, "PE datapath (MAC) and scratchpad word width, bits: a wider layer runs in "
                            "several passes", maximum=64),
    "l1_bytes": Param(int, "scratchpad bytes per PE (filter + ifmap + psum); split 224:12:24 "
                           "(Eyeriss) when the *_spad_words below are 0", maximum=MAX_BYTES),
    "filter_spad_words": Param(int, "filter scratchpad per PE, words; 0: from l1_bytes", minimum=0,
                               inclusive=True, maximum=MAX_SPAD_WORDS),
    "ifmap_spad_words": Param(int, "ifmap scratchpad per PE, words; 0: from l1_bytes", minimum=0,
                              inclusive=True, maximum=MAX_SPAD_WORDS),
    "psum_spad_words": Param(int, "psum scratchpad per PE, words; 0: from l1_bytes", minimum=0,
                             inclusive=True, maximum=MAX_SPAD_WORDS),
    "l2_bytes": Param(int, "global buffer (GLB) bytes", maximum=MAX_BYTES),
    "noc_bw_bytes_per_cycle": Param(float, "GLB <-> PE array bandwidth (ifmap + filter + psum buses), "
                                           "bytes/cycle", **_BANDWIDTH),
    "dram_bw_bytes_per_cycle": Param(float, "off-chip bandwidth, bytes per core cycle", **_BANDWIDTH),
    "clock_hz": CLOCK_HZ,
    "technology": TECHNOLOGY,
    "area_model": AREA_MODEL,
}

# Scratchpad bandwidth: each PE touches its spads every cycle; 4 words of up to
# 32 b per cycle is an upper bound that never binds (the MAC does).
_L1_BYTES_PER_PE_CYCLE = 16.0


def activity(layers: LayerBatch, configs: ConfigBatch) -> stage.Activity:
    """Map each layer (``rs_mapping.choose_mapping``) and report what it does."""
    pes, noc_bw = configs.ints("pes"), configs.floats("noc_bw_bytes_per_cycle")
    spads = spad_words(configs, layers)
    unmappable = _unmappable(layers, configs, pes, spads)
    m = choose_mapping(layers, configs, configs.technology)
    word_bits = configs.ints("word_bits")
    return stage.Activity(
        levels=_levels(layers, configs, pes, spads),
        accesses={"l1": m.spad, "l2": m.glb_array + m.dram, "dram": m.dram},
        traffic={"l2": m.glb_array},
        compute_cycles=m.compute,
        fill_drain_cycles=(layers.r + 1).astype(float),
        datapath=stage.Datapath(pes=pes, mac_bits=word_bits),
        clock_hz=configs.floats("clock_hz"),
        noc_word_hops=m.noc_hops,
        noc_bw_bytes_per_cycle=noc_bw,
        unmappable=unmappable,
        area_mm2=_maestro_area_mm2(configs, pes, word_bits),
        extras=_extras(layers, pes, word_bits, m),
    )


def _levels(layers: LayerBatch, configs: ConfigBatch, pes, spads):
    """The scratchpads (one level, each tensor priced at its own spad), the GLB at
    the NoC bandwidth, and DRAM."""
    filter_w, ifmap_w, psum_w = spads
    l1 = MemoryLevel(
        "l1", configs.floats("l1_bytes"), pes * _L1_BYTES_PER_PE_CYCLE, instances=pes,
        tensor_capacity_bytes={"weight": filter_w * layers.weight_bytes_per_elem,
                               "input": ifmap_w * layers.input_bytes_per_elem,
                               "output": psum_w * layers.output_bytes_per_elem})
    return (l1, MemoryLevel("l2", configs.floats("l2_bytes"), configs.floats("noc_bw_bytes_per_cycle")),
            dram_level(configs.floats("dram_bw_bytes_per_cycle")))


def _maestro_area_mm2(configs: ConfigBatch, pes, word_bits):
    """``area_model: maestro2020``: MAESTRO 2020's closed form with one MAC lane per
    PE and its NoC in words of ``word_bits``; ``default``: the stage's (None)."""
    if configs["area_model"] != "maestro2020":
        return None
    return maestro2020_area_mm2(pes, 1, configs["l1_bytes"], configs["l2_bytes"],
                                configs["noc_bw_bytes_per_cycle"], elem_bits=word_bits)[:, 0]


def _extras(layers: LayerBatch, pes, word_bits, m):
    """Model-specific (C, L) columns (0 on vector layers): PEs holding work, the
    mapping's share of the peak (MACs / (pes x compute)), the array shape, the
    filter sets and the GLB tiles chosen."""
    mac = layers.is_mac
    passes = stage.datapath_passes(layers, word_bits)
    return {name: np.where(mac, value, 0.0) for name, value in {
        "active_pes": m.active,
        "mapping_efficiency": layers.macs / (pes * m.compute * passes),
        "array_rows": m.rows, "array_cols": m.cols,
        "filter_sets": m.filter_sets, "glb_tiles": m.glb_tiles}.items()}


def _unmappable(layers: LayerBatch, configs: ConfigBatch, pes, spads) -> stage.Unmappable:
    """Points that cannot map: a fixed ``pe_rows`` above ``pes`` (every layer), a
    scratchpad without a word, a filter spad that cannot hold a filter-row segment."""
    bad = stage.Unmappable("row_stationary")
    pe_rows = configs.ints("pe_rows")
    bad.add((pe_rows > 0) & (pes < pe_rows), "pes", pes,
            lambda i, _: f"fewer PEs than pe_rows = {int(pe_rows[i, 0])}; valid: pes >= pe_rows (or pe_rows = 0)")
    filter_w, ifmap_w, psum_w = spads
    for name, words in (("filter_spad_words", filter_w), ("ifmap_spad_words", ifmap_w),
                        ("psum_spad_words", psum_w)):
        bad.add(layers.is_mac & (words < 1), name, words,
                lambda i, j: f"a PE needs at least one word in each scratchpad (l1_bytes = "
                             f"{int(configs['l1_bytes'][i, 0])} split 224:12:24 at {int(layers.weight_bits[0, j])}/"
                             f"{int(layers.input_bits[0, j])}/{int(layers.output_bits[0, j])} filter/ifmap/psum "
                             "bits); raise l1_bytes or set the spad words")
    need = np.minimum(layers.s, ifmap_w)
    bad.add(layers.is_mac & (ifmap_w >= 1) & (filter_w >= 1) & (filter_w < need), "filter_spad_words", filter_w,
            lambda i, j: f"cannot hold a filter row segment of {int(np.broadcast_to(need, filter_w.shape)[i, j])} "
                         "words; valid: >= that")
    return bad
