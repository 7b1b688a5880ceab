"""What the MAESTRO 2020 emulations (``maestro_kcp``, ``maestro_rs``) share.

Both models reproduce another tool's accounting -- MAESTRO's (maestro-project/
maestro, Oct 2020, commit 7723091, the release that wrote the CSVs in
shared/reference/maestro) -- to compare with work built on it (NASAIC used
MAESTRO). They are not predictions of hardware; the physical models are ``dla``
and ``rs``. This module holds what they have in common:

* **Which layers a mapping file describes** (``describe``). MAESTRO 2020's
  mapping files (shared/reference/maestro/*.m) describe CONV and DSCONV layers
  by ``Dimensions { K, C, R, S, Y, X }`` and ``Stride { X, Y }``; a layer they
  do not describe is flagged with ``stage.Unmappable`` naming the mapping file,
  never costed: a vector layer (pooling, element-wise: no directives; MAESTRO's
  parser has no pooling layer), a ``matmul`` (MAESTRO's GEMM layer type, which
  these files do not map; their fully connected layers are CONVs whose filter
  covers the input, FC1000 7x7 over 7x7), a dilated layer (no dilation in
  MAESTRO's CONV), a grouped layer other than depthwise with one filter per
  channel (MAESTRO's NGCONV type is not mapped; DSCONV has ``K: 1``), and a
  batch above 1 (the files' dimensions have no N; MAESTRO then analyses N = 1).
  Padding is described as MAESTRO's input size: MAESTRO never pads, so a
  padded layer is the layer over its padded input, ``Y = H + 2 * pad`` (its
  output size is then hwsim's).
* **Buffer accesses** (``access_counts``): the L1/L2 reads and writes of each
  tensor from MAESTRO's top-cluster analysis (``maestro_engine``), run on the
  layers each directive list applies to.
* **Energy**: MAESTRO's activity-count energy (its CSV column "Activity
  count-based Energy (nJ)", API_user-interface-v2.hpp ``OutputResults``):
  ``mac_energy x (18.61 x L2 accesses + 1.68 x L1 accesses)`` where the L2
  accesses are the reads and writes of input and filter and the *writes* of the
  output (its reads are not charged) and the L1 accesses are every tensor's reads
  and writes; no MAC term (in MAC units: the column
  ``maestro_buffer_energy_mac_units``). ``energy_pj`` is that with
  ``mac_energy_pj`` per unit (default 904 pJ: MAESTRO's ``mac_energy = 0.904``
  "nJ"), each layer charged its own counts -- MAESTRO's CSV adds the *previous*
  layer's L1 counts for a two-level (clustered) mapping (a variable assigned in
  its top level's branch after the innermost level's branch has used it), which a
  per-layer model cannot and should not reproduce; the validation applies that
  shift to our counts and meets the CSV to its 6 digits. The extra column
  ``maestro_energy_mac_units`` is MAESTRO's other total (``OverallEnergy``, the
  formula of shared/reference/energy_tables.yaml: every L2 access x 18.61 +
  every L1 access x 1.68 + MACs), in units of one MAC.
* **Area and power**: MAESTRO 2020's closed form (``hardware.area``) at the
  template's PEs, vector width, L1, L2 and NoC.
* **Buffer requirements**: MAESTRO stops with "not enough L2/L1 buffer" when the
  double-buffered output tile of the top cluster exceeds L2, or the innermost
  cluster's exceeds L1 (CA_cost-analysis-engine.hpp ``UpdateBufferSizeReq``); the
  emulations flag those points. The extra columns ``maestro_l1_bytes`` and
  ``maestro_l2_bytes`` are MAESTRO's full requirements (its CSV's L1/L2 SRAM
  Size columns, the sizes its per-layer Area column is priced at).

Units: MAESTRO counts data in *elements* of one width; here an element is a word
of the layer's MAC precision (``LayerBatch.bits``): the NoC bandwidth is in elements
per cycle and MAESTRO's delays count MAC-precision words (``LayerBatch.mac_words``).
Access counts are words of each tensor; traffic bytes are at each tensor's own
width; buffer requirements are elements x the MAC-precision word (MAESTRO's "Bytes"
are its elements; the same for 8-bit layers, as in its CSVs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hardware.area import maestro2020_area_um2, maestro2020_power
from ..hardware.memory import MemoryLevel
from ..hardware.params import CLOCK_HZ, Param
from ..units import um2_to_mm2
from .base import ConfigBatch, LayerBatch
from .maestro_engine import SPATIAL, TEMPORAL, AccessCounts, ClusterLevel, Directive, Tensor
from .stage import Activity, Datapath, Unmappable, Words

# MAESTRO 2020's energy multipliers, in units of one MAC's energy
# (cost-model/include/base/BASE_constants.hpp: l1_energy_multiplier, l2_energy_multiplier).
# The MAC's energy is the template's mac_energy_pj (MAESTRO's: 0.904 "nJ").
L1_ENERGY_PER_ACCESS = 1.68
L2_ENERGY_PER_ACCESS = 18.61

TENSORS = ("input", "filter", "output")

__all__ = ["PARAMETERS", "SPATIAL", "TEMPORAL", "Accesses", "ClusterLevel", "Directive", "MaestroLayers",
           "access_counts", "activity", "conv_tensors", "describe", "strided"]

PARAMETERS = {
    "pes": Param(int, "PEs (MAESTRO's NumPEs), each vector_width MAC lanes", maximum=2**20),
    "vector_width": Param(int, "MAC lanes per PE (MAESTRO's Vector Width: its base cluster's "
                               "partial sums per cycle)", maximum=2**10),
    "noc_bw_elements_per_cycle": Param(float, "NoC bandwidth, elements per cycle (MAESTRO's NoC BW; an "
                                              "element is a word of the layer's MAC precision)",
                                       minimum=1e-6, inclusive=True, maximum=1e9),
    "l1_bytes": Param(int, "L1 per PE, bytes: MAESTRO's area/power closed form and its L1 check",
                      maximum=2**40),
    "l2_bytes": Param(int, "L2 (global buffer), bytes: MAESTRO's area/power closed form and its L2 check",
                      maximum=2**40),
    "mac_energy_pj": Param(float, "energy of one MAC, pJ: the unit MAESTRO's activity-count energy is "
                                  "priced in", minimum=0.0, maximum=1e9),
    "clock_hz": CLOCK_HZ,
}


# -- MAESTRO's view of a layer ----------------------------------------------------------

@dataclass(frozen=True)
class MaestroLayers:
    """The layers as a mapping file writes them, each (1, L): ``K`` filters and
    ``C`` channels (a DSCONV: C channels, K = 1), ``R x S`` filters, ``Y x X``
    (padded) input, strides; ``dsconv`` marks depthwise layers and ``described``
    the layers the mapping file describes (the others are flagged)."""

    K: np.ndarray
    C: np.ndarray
    R: np.ndarray
    S: np.ndarray
    Y: np.ndarray
    X: np.ndarray
    stride_y: np.ndarray
    stride_x: np.ndarray
    dsconv: np.ndarray
    described: np.ndarray

    def dims(self, cols):
        """The dimension table of layer columns ``cols``."""
        return {name: getattr(self, name)[:, cols].astype(float) for name in ("K", "C", "R", "S", "Y", "X")}


def describe(layers: LayerBatch, unmappable: Unmappable, mapping_file: str) -> MaestroLayers:
    """MAESTRO's view of ``layers``; flags (on ``unmappable``) every layer the
    mapping file does not describe, with the reason (see the module docstring)."""
    mac, matmul = layers.is_mac, layers.is_matmul
    dsconv = (layers.g > 1) & (layers.c == 1) & (layers.k == 1)
    grouped = (layers.g > 1) & ~dsconv
    dilated = (layers.dil_h > 1) | (layers.dil_w > 1)
    batched = layers.n > 1
    ops = np.asarray(layers.ops, dtype=object).reshape(1, -1)
    where = f"not described by {mapping_file}"
    unmappable.add(~mac, "op", ops, f"{where}: it maps CONV and DSCONV layers only, no pooling or "
                                    "element-wise layer")
    unmappable.add(mac & matmul, "op", ops, f"{where}: a matmul is MAESTRO's GEMM layer type, which it "
                                            "does not map (its fully connected layers are CONVs whose filter "
                                            "covers the input)")
    unmappable.add(mac & dilated, "dilation", np.maximum(layers.dil_h, layers.dil_w),
                   f"{where}: MAESTRO's CONV has no dilation; valid: 1")
    unmappable.add(mac & grouped, "groups", layers.g,
                   f"{where}: only groups = 1 (CONV) or depthwise with one filter per channel (DSCONV, K: 1)")
    unmappable.add(mac & batched, "n", layers.n,
                   f"{where}: its Dimensions have no N (MAESTRO analyses one input); valid: 1")
    described = mac & ~matmul & ~dilated & ~grouped & ~batched
    return MaestroLayers(
        K=np.where(dsconv, 1, layers.k), C=np.where(dsconv, layers.g, layers.c), R=layers.r, S=layers.s,
        Y=layers.h + 2 * layers.pad_h, X=layers.w + 2 * layers.pad_w, stride_y=layers.stride_h,
        stride_x=layers.stride_w, dsconv=dsconv, described=described)


def strided(size, stride):
    """``TemporalMap/SpatialMap(Sz(R), 1) Y`` after MAESTRO's ``ApplyOuterStride``
    at the top cluster (DFA_cluster-analysis.hpp): one output row per step, so the
    map covers ``min(stride, R) + max(R - stride, 0)`` input rows and moves by
    ``stride``. Returns (size, offset)."""
    size, stride = np.asarray(size, dtype=float), np.asarray(stride, dtype=float)
    outputs = np.floor(stride / stride)
    return outputs * np.minimum(stride, size) + np.maximum(size - stride, 0.0), outputs * stride


def conv_tensors(dsconv: bool):
    """MAESTRO's tensors (API_user-interface-v2.hpp ``ConfigConvTensors``, no batch):
    CONV input (C, Y, X), filter (K, C, R, S), output (K, Y, X); DSCONV couples
    the filter and output to C instead of K."""
    if dsconv:
        return (Tensor("input", ("C", "Y", "X")), Tensor("filter", ("C", "R", "S")),
                Tensor("output", ("C", "Y", "X"), is_output=True))
    return (Tensor("input", ("C", "Y", "X")), Tensor("filter", ("K", "C", "R", "S")),
            Tensor("output", ("K", "Y", "X"), is_output=True))


# -- accesses ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Accesses:
    """Per tensor (input, filter, output): MAESTRO's L1/L2 reads and writes, its
    MACs and its L2 requirement (elements), each (C, L); zero where no directive
    list applied."""

    l1_read: dict
    l1_write: dict
    l2_read: dict
    l2_write: dict
    macs: np.ndarray
    l2_requirement: np.ndarray
    output_l2_tile: np.ndarray


def access_counts(shape, groups) -> Accesses:
    """Run MAESTRO's top-cluster analysis once per directive list.

    ``groups`` is a list of ``(mask, build)`` where ``mask`` (1, L) selects the
    layers a directive list applies to and ``build(cols)`` returns the
    ``ClusterLevel`` of those layer columns; the results are scattered back into
    (C, L) arrays."""
    out = {kind: {t: np.zeros(shape) for t in TENSORS} for kind in ("l1_read", "l1_write", "l2_read", "l2_write")}
    macs, req, tile = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for mask, build in groups:
        cols = np.flatnonzero(np.asarray(mask).reshape(-1))
        if not len(cols):
            continue
        level = build(cols)
        counts: AccessCounts = level.analyze()
        sub = (shape[0], len(cols))
        for kind in out:
            for t in TENSORS:
                out[kind][t][:, cols] = np.broadcast_to(getattr(counts, kind)[t], sub)
        macs[:, cols] = np.broadcast_to(counts.macs, sub)
        first = level.first_case_traffic()
        req[:, cols] = np.broadcast_to(2.0 * sum(first.values()), sub)
        tile[:, cols] = np.broadcast_to(2.0 * first["output"], sub)
    return Accesses(out["l1_read"], out["l1_write"], out["l2_read"], out["l2_write"], macs, req, tile)


# -- the activity the shared stage costs ---------------------------------------------------

def activity(layers: LayerBatch, configs: ConfigBatch, ml: MaestroLayers, acc: Accesses, runtime,
             unmappable: Unmappable, l1_requirement, l1_output_tile, extras) -> Activity:
    """The stage's Activity of a MAESTRO emulation: its runtime as compute cycles
    (MAESTRO's runtime is the sum of its step delays, NoC delays included, so no
    fill/drain is added), its accesses at two levels (MAESTRO has no DRAM), its
    energy and area, and MAESTRO's buffer checks."""
    pes, lanes = configs.ints("pes"), configs.ints("vector_width")
    noc = configs.floats("noc_bw_elements_per_cycle")
    l1_bytes, l2_bytes = configs.floats("l1_bytes"), configs.floats("l2_bytes")
    bpe = layers.bytes_per_elem
    _check_buffers(ml, unmappable, acc.output_l2_tile * bpe, l2_bytes, l1_output_tile * bpe, l1_bytes)
    words = {lv: _words({t: getattr(acc, f"{lv}_read")[t] + getattr(acc, f"{lv}_write")[t] for t in TENSORS})
             for lv in ("l1", "l2")}
    ingress = _words({"input": acc.l2_read["input"], "filter": acc.l2_read["filter"]})
    egress = Words(output=acc.l2_write["output"])
    busier = ingress.where(ingress.bytes(layers) >= egress.bytes(layers), egress)
    levels = (MemoryLevel("l1", configs["l1_bytes"], np.inf, instances=pes),
              MemoryLevel("l2", configs["l2_bytes"], noc * bpe))
    buffer_units, overall_units = _energy_units(acc)
    mac_pj = configs.floats("mac_energy_pj")
    l1_units = L1_ENERGY_PER_ACCESS * words["l1"].total
    energy = {"mac": np.zeros_like(buffer_units), "l1": l1_units * mac_pj, "l2": (buffer_units - l1_units) * mac_pj}
    area_um2 = maestro2020_area_um2(pes, lanes, configs.ints("l1_bytes"), configs.ints("l2_bytes"), noc)
    power = maestro2020_power(pes, lanes, configs.ints("l1_bytes"), configs.ints("l2_bytes"), noc)
    columns = {f"maestro_{t}_{lv}_{rw}": getattr(acc, f"{lv}_{rw}")[t]
               for t in TENSORS for lv in ("l1", "l2") for rw in ("read", "write")}
    columns.update(maestro_macs=acc.macs, maestro_energy_mac_units=overall_units,
                   maestro_buffer_energy_mac_units=buffer_units, maestro_power=power,
                   maestro_l1_bytes=l1_requirement * bpe, maestro_l2_bytes=acc.l2_requirement * bpe)
    columns.update(extras)
    described = ml.described
    return Activity(
        levels=levels, accesses={"l1": words["l1"], "l2": words["l2"]}, traffic={"l2": busier},
        compute_cycles=np.where(described, runtime, 0.0), fill_drain_cycles=0.0,
        datapath=Datapath(pes=pes, mac_bits=layers.bits, lanes_per_pe=lanes),
        clock_hz=configs.floats("clock_hz"), unmappable=unmappable,
        area_mm2=um2_to_mm2(np.asarray(area_um2, dtype=float)).reshape(-1),
        energy_pj=energy, extras={k: np.where(described, v, 0.0) for k, v in columns.items()})


def _words(per_tensor) -> Words:
    return Words(input=per_tensor.get("input", 0.0), weight=per_tensor.get("filter", 0.0),
                 output=per_tensor.get("output", 0.0))


def _energy_units(acc: Accesses):
    """MAESTRO's two energy totals in units of one MAC (see the module docstring):
    the CSV's (no MAC term, output L2 reads not charged) and ``OverallEnergy``."""
    l1 = sum(acc.l1_read[t] + acc.l1_write[t] for t in TENSORS)
    l2_all = sum(acc.l2_read[t] + acc.l2_write[t] for t in TENSORS)
    l2_csv = l2_all - acc.l2_read["output"]
    buffer_units = L2_ENERGY_PER_ACCESS * l2_csv + L1_ENERGY_PER_ACCESS * l1
    overall_units = L2_ENERGY_PER_ACCESS * l2_all + L1_ENERGY_PER_ACCESS * l1 + acc.macs
    return buffer_units, overall_units


def _check_buffers(ml: MaestroLayers, unmappable: Unmappable, l2_tile_bytes, l2_bytes, l1_tile_bytes, l1_bytes):
    """MAESTRO's two buffer checks (CA_cost-analysis-engine.hpp UpdateBufferSizeReq:
    NotEnoughL2Buffer, NotEnoughL1Buffer, after which it terminates)."""
    l2_short = ml.described & (l2_tile_bytes > l2_bytes)
    unmappable.add(l2_short, "l2_bytes", l2_bytes,
                   lambda i, j: f"MAESTRO 2020 stops (NotEnoughL2Buffer): the top cluster's double-buffered output "
                                f"tile needs {float(np.broadcast_to(l2_tile_bytes, l2_short.shape)[i, j]):g} bytes")
    l1_short = ml.described & (l1_tile_bytes > l1_bytes)
    unmappable.add(l1_short, "l1_bytes", l1_bytes,
                   lambda i, j: f"MAESTRO 2020 stops (NotEnoughL1Buffer): the innermost cluster's double-buffered "
                                f"output tile needs {float(np.broadcast_to(l1_tile_bytes, l1_short.shape)[i, j]):g} "
                                "bytes")
