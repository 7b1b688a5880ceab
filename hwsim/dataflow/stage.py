"""The shared cost stage: what every dataflow model's activity costs.

A dataflow model decides only what is its own -- the spatial unrolling, the
mapping / tiling choice, the reuse -- and reports it as an :class:`Activity`:

* its **memory levels** (innermost first), each a ``MemoryLevel`` with capacity,
  bandwidth, instances and what prices it (an SRAM by capacity, or DRAM);
* per level, the **words of each tensor** (input, weight, output/partial sum)
  read and written there (``accesses``), and the words that cross the level's
  bandwidth when that differs (``traffic``);
* the **NoC** word-hops (each delivered word times the PE pitches it travels;
  see ``multicast_hops``);
* its **compute cycles** (one pass of the datapath) and **fill/drain** cycles;
* the **datapath**: PEs, MAC lanes per PE, MAC width;
* the (config, layer) points that **cannot map**, with the reason.

``run(model, layers, configs)`` turns that into ``CostArrays`` once, for every
model, with the same code:

* bytes per level = each tensor's words at its own width;
* datapath width: a layer wider than ``mac_bits`` runs in
  ``ceil(input_bits / mac_bits) * ceil(weight_bits / mac_bits)`` passes
  (compute cycles and MAC energy x passes); a narrower one gains nothing on the
  MAC (no precision-scalable datapath), only its smaller bytes;
* latency = max(compute, each level's bytes / its bandwidth) + fill/drain
  (double buffering overlaps transfers with compute);
* energy = MACs x passes x MAC energy at ``mac_bits`` + each level's words x
  per-access energy at the tensor's width (SRAM by capacity, DRAM per bit) +
  NoC word-hops x hop energy + leakage (logic area and SRAM bits) x time;
* area = MACs + SRAM levels by capacity x instances + NoC flip-flops (or the
  model's own area model, e.g. MAESTRO 2020's closed form, or a die area);
* vector (pooling, element-wise) layers follow one policy for every ASIC model:
  their operations run on ``vector_lanes`` ALUs, their operands stream from DRAM
  through ``vector_levels`` once, each operation an adder's share of a MAC;
* infeasible points get ``latency = inf``, energy NaN and their reason; a model
  never raises for one bad point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ..hardware.memory import MemoryLevel
from ..hardware.technology import noc_delivery_hops
from ..units import ceil_div, um2_to_mm2
from .base import ConfigBatch, CostArrays, LayerBatch, bounded_latency
from .common import vector_compute_cycles

__all__ = ["Activity", "Datapath", "Unmappable", "Words", "cheapest", "multicast_hops", "run"]

TENSORS = ("input", "weight", "output")


@dataclass(frozen=True)
class Words:
    """Words of each tensor (elements, whatever their width) at one place; each a
    scalar or an array broadcastable to (C, L). ``output`` covers partial sums,
    which travel and accumulate at the output width."""

    input: Any = 0.0
    weight: Any = 0.0
    output: Any = 0.0

    def __add__(self, other: "Words") -> "Words":
        return Words(self.input + other.input, self.weight + other.weight, self.output + other.output)

    def scaled(self, factor) -> "Words":
        return Words(self.input * factor, self.weight * factor, self.output * factor)

    def where(self, mask, other: "Words") -> "Words":
        """Per tensor: these words where ``mask``, else ``other``'s."""
        return Words(*(np.where(mask, getattr(self, t), getattr(other, t)) for t in TENSORS))

    @property
    def total(self):
        return self.input + self.weight + self.output

    def bytes(self, layers: LayerBatch):
        """Bytes of these words, each tensor at its own width."""
        return (self.input * layers.input_bytes_per_elem + self.weight * layers.weight_bytes_per_elem
                + self.output * layers.output_bytes_per_elem)

    def priced(self, layers: LayerBatch, pj_per_access: Callable):
        """Energy of these words: ``pj_per_access(tensor, bits)`` per word of each tensor."""
        return sum(getattr(self, t) * pj_per_access(t, getattr(layers, f"{t}_bits")) for t in TENSORS)


@dataclass(frozen=True)
class Datapath:
    """The MAC hardware: ``pes`` PEs of ``lanes_per_pe`` MAC lanes of ``mac_bits``,
    each (C, 1). ``vector_lanes`` ALUs run vector layers (default: one per PE)."""

    pes: Any
    mac_bits: Any
    lanes_per_pe: Any = 1
    vector_lanes: Any = None

    @property
    def peak_macs_per_cycle(self):
        return np.asarray(self.pes, dtype=float) * np.asarray(self.lanes_per_pe, dtype=float)


class Unmappable:
    """The (config, layer) points a model cannot map, each with its reason.

    ``add(mask, field, values, detail)`` flags ``mask`` (broadcast to (C, L));
    ``values`` holds the offending field's value per point (a (C, 1) config column
    or a (C, L) array) and ``detail`` is a string or ``detail(config, layer)`` ->
    string. Messages are only built for the points that are reported."""

    def __init__(self, model: str):
        self.model = model
        self.checks: list[tuple] = []

    def add(self, mask, field: str, values, detail) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            self.checks.append((mask, field, values, detail))

    def mask(self, shape) -> np.ndarray:
        out = np.zeros(shape, dtype=bool)
        for mask, *_ in self.checks:
            out |= np.broadcast_to(mask, shape)
        return out

    def message(self, layers: LayerBatch, row: int, col: int) -> str:
        """The reason point (row, col) is infeasible (the first check that flags it)."""
        for mask, name, values, detail in self.checks:
            if _at(mask, row, col):
                value = _at(values, row, col)
                value = value.item() if hasattr(value, "item") else value
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                text = detail(row, col) if callable(detail) else detail
                return f"model '{self.model}': layer '{layers.names[col]}': field '{name}' = {value!r}: {text}"
        return ""


def _at(array, row: int, col: int):
    """Element (row, col) of an array broadcastable to (C, L)."""
    a = np.asarray(array)
    if a.ndim == 0:
        return a
    a = a.reshape((1,) * (2 - a.ndim) + a.shape)
    return a[row if a.shape[0] > 1 else 0, col if a.shape[1] > 1 else 0]


@dataclass(frozen=True)
class Activity:
    """What a dataflow model reports for MAC layers; see the module docstring.

    ``accesses[level]`` are the words read + written at each level (energy);
    ``traffic[level]``, where given, the words crossing its bandwidth (latency),
    else the accesses. ``noc_word_hops`` are the NoC's deliveries x PE pitches
    travelled. ``vector_levels`` name the (read, write) levels a vector layer
    streams through (the buffer next to DRAM, by default). ``area_mm2`` (C,)
    replaces the shared area model (MAESTRO 2020's closed form, a die area);
    ``energy_pj`` replaces the shared energy (a GPU's board power), in which case
    nothing is priced from the technology tables."""

    levels: tuple[MemoryLevel, ...]
    accesses: Mapping[str, Words]
    compute_cycles: Any
    datapath: Datapath
    clock_hz: Any
    fill_drain_cycles: Any = 0.0
    traffic: Mapping[str, Words] = field(default_factory=dict)
    noc_word_hops: Words = Words()
    noc_bw_bytes_per_cycle: Any = 0.0
    unmappable: Unmappable | None = None
    vector_levels: tuple[str, str] | None = None
    area_mm2: Any = None
    energy_pj: Mapping[str, Any] | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)
    vector_fill_drain_cycles: Any = 1.0     # a vector layer's fixed cycles (a GPU: its kernel launch)


def cheapest(keys):
    """Index along axis 0 of the candidate with the lexicographically smallest
    ``keys`` (arrays broadcastable to one shape (S, ...)): how a model picks among
    mappings -- bounded latency first, then an energy proxy; ties go to the first
    candidate. Mark a candidate that cannot be used with ``inf``."""
    keys = np.broadcast_arrays(*keys)
    alive = np.ones(keys[0].shape, dtype=bool)
    for key in keys:
        masked = np.where(alive, key, np.inf)
        alive &= masked == masked.min(axis=0, keepdims=True)
    return np.argmax(alive, axis=0)


def multicast_hops(pes, fanout):
    """PE pitches one NoC delivery travels: from the buffer at the array's edge to
    its centre (``sqrt(pes) / 2``, the mean unicast distance), plus one pitch of
    branch wire per additional receiver of a multicast. The NoC hop energy of the
    technology tables is calibrated on this same distance
    (``hwsim.hardware.technology.noc_delivery_hops``)."""
    return noc_delivery_hops(pes, fanout)


# -- the stage -----------------------------------------------------------------

def run(model, layers: LayerBatch, configs: ConfigBatch) -> CostArrays:
    """``model.activity(layers, configs)`` costed by the shared stage."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        activity = model.activity(layers, configs)
        return finish(layers, configs, activity)


def finish(layers: LayerBatch, configs: ConfigBatch, a: Activity) -> CostArrays:
    """Turn a model's :class:`Activity` into ``CostArrays`` (see the module docstring)."""
    shape = np.broadcast_shapes(np.shape(a.compute_cycles), (configs.size, len(layers)))
    mac = layers.is_mac
    dp = a.datapath
    passes = np.where(mac, datapath_passes(layers, dp.mac_bits), 1.0)
    vector_lanes = dp.pes if dp.vector_lanes is None else dp.vector_lanes
    vec_cycles = vector_compute_cycles(layers, vector_lanes)
    compute = np.broadcast_to(np.where(mac, np.asarray(a.compute_cycles, dtype=float) * passes, vec_cycles), shape)
    accesses = _with_vector_layers(layers, a, a.accesses)
    traffic = _with_vector_layers(layers, a, {**a.accesses, **a.traffic})
    traffic_bytes = {name: np.broadcast_to(w.bytes(layers), shape).astype(float) for name, w in traffic.items()}
    fill = np.where(mac, a.fill_drain_cycles, a.vector_fill_drain_cycles)
    latency, bound = bounded_latency(compute, traffic_bytes, a.levels, fill)
    clock = np.asarray(a.clock_hz, dtype=float)
    area = _area_mm2(configs, a)
    if a.energy_pj is not None:
        energy = dict(a.energy_pj)
    else:
        energy = _energy(layers, configs, a, accesses, passes, latency / clock, area)
    # Only what the model flags is infeasible: a non-finite cost anywhere else is a model
    # bug, which ``base.check_costs`` reports as one.
    bad = (a.unmappable.mask(shape) if a.unmappable is not None else np.zeros(shape, dtype=bool))
    peak = dp.peak_macs_per_cycle
    work_lanes = np.where(mac, peak, np.asarray(vector_lanes, dtype=float))
    busy = layers.work / (work_lanes * latency)
    full = lambda v: np.broadcast_to(np.asarray(v, dtype=float), shape)
    extras = {name: full(v) for name, v in a.extras.items()}
    extras["busy_fraction"] = full(np.where(mac, 0.0, busy))
    return CostArrays(
        levels=a.levels,
        compute_cycles=np.where(bad, np.inf, compute),
        latency_cycles=np.where(bad, np.inf, latency),
        utilization=np.where(bad, 0.0, full(np.where(mac, busy, 0.0))),
        accesses={name: np.where(bad, np.nan, full(w.total)) for name, w in accesses.items()},
        traffic_bytes={name: np.where(bad, np.nan, v) for name, v in traffic_bytes.items()},
        energy_pj={name: np.where(bad, np.nan, full(v)) for name, v in energy.items()},
        bound=np.broadcast_to(bound, shape),
        area_mm2=np.broadcast_to(np.asarray(area, dtype=float).reshape(-1), (configs.size,)),
        peak_macs_per_cycle=np.broadcast_to(np.asarray(peak, dtype=float).reshape(-1), (configs.size,)),
        clock_hz=np.broadcast_to(clock.reshape(-1), (configs.size,)),
        extras=extras,
        feasible=~bad,
        unmappable=a.unmappable,
    )


def datapath_passes(layers: LayerBatch, mac_bits):
    """Passes of a ``mac_bits``-wide MAC per MAC of the layer: each operand wider
    than the datapath is split into ``ceil(bits / mac_bits)`` slices and every
    pair of slices is one pass (the schoolbook decomposition of a wide multiply)."""
    mac_bits = np.asarray(mac_bits, dtype=np.int64)
    return (ceil_div(layers.input_bits, mac_bits) * ceil_div(layers.weight_bits, mac_bits)).astype(float)


def _with_vector_layers(layers: LayerBatch, a: Activity, per_level: Mapping[str, Words]) -> dict[str, Words]:
    """Per-level words with vector layers' operands streamed once through their
    levels: read (input width) at the read level and from DRAM, written (output
    width) at the write level and to DRAM; no other level is touched."""
    read_level, write_level = a.vector_levels or (_buffer_level(a), _buffer_level(a))
    reads = Words(input=layers.read_bytes / layers.input_bytes_per_elem)
    writes = Words(output=layers.write_bytes / layers.output_bytes_per_elem)
    out = {}
    for level in a.levels:
        vec = Words()
        if level.kind == "dram":
            vec = reads + writes
        else:
            if level.name == read_level:
                vec = vec + reads
            if level.name == write_level:
                vec = vec + writes
        out[level.name] = per_level.get(level.name, Words()).where(layers.is_mac, vec)
    return out


def _buffer_level(a: Activity) -> str:
    """The on-chip level next to DRAM: where vector layers stream by default."""
    on_chip = [level.name for level in a.levels if level.kind != "dram"]
    return on_chip[-1] if on_chip else a.levels[-1].name


def _energy(layers: LayerBatch, configs: ConfigBatch, a: Activity, accesses, passes, seconds, area):
    """pJ per component: MACs, each level, the NoC and leakage."""
    tech = configs.technology
    dp = a.datapath
    macs = layers.macs.astype(float)
    vector_pj = layers.vector_ops * tech.vector_op_pj(layers.bits)
    energy = {"mac": np.where(layers.is_mac, macs * passes * tech.mac_pj(dp.mac_bits), vector_pj)}
    for level in a.levels:
        energy[level.name] = accesses[level.name].priced(layers, _pricer(tech, level))
    noc = a.noc_word_hops.where(layers.is_mac, Words())
    energy["noc"] = noc.priced(layers, lambda _, bits: tech.noc_pj_per_hop(bits))
    energy["leakage"] = tech.leakage_pj(_logic_area_mm2(a, tech).reshape(-1, 1),
                                        _sram_bytes(a).reshape(-1, 1), seconds)
    return energy


def _pricer(tech, level: MemoryLevel):
    """pJ per word of ``bits`` of ``tensor`` at ``level``."""
    if level.kind == "dram":
        return lambda _, bits: tech.dram_pj_per_access(bits)
    return lambda tensor, bits: tech.sram_pj_per_access(level.capacity_for(tensor), bits)


def _sram_bytes(a: Activity):
    """On-chip SRAM bytes (C,): every on-chip level's capacity x instances."""
    total = 0.0
    for level in a.levels:
        if level.kind != "dram":
            total = total + np.asarray(level.capacity_bytes, dtype=float) * np.asarray(level.instances, dtype=float)
    return np.asarray(total, dtype=float).reshape(-1)


def _logic_area_mm2(a: Activity, tech):
    """MACs plus NoC pipeline flip-flops (one per bit of each PE port and the
    buffer's), (C,)."""
    dp = a.datapath
    pes = np.asarray(dp.pes, dtype=float)
    macs_um2 = pes * np.asarray(dp.lanes_per_pe, dtype=float) * tech.mac_area_um2(dp.mac_bits)
    noc_um2 = (pes + 1.0) * np.asarray(a.noc_bw_bytes_per_cycle, dtype=float) * 8.0 * tech.flipflop_area_um2
    return np.asarray(um2_to_mm2(macs_um2 + noc_um2), dtype=float).reshape(-1)


def _area_mm2(configs: ConfigBatch, a: Activity):
    """The model's own area if it has one, else logic + SRAM levels (C,)."""
    if a.area_mm2 is not None:
        return np.asarray(a.area_mm2, dtype=float).reshape(-1)
    tech = configs.technology
    sram_um2 = 0.0
    for level in a.levels:
        if level.kind != "dram":
            sram_um2 = sram_um2 + np.asarray(level.instances, dtype=float) * tech.sram_area_um2(level.capacity_bytes)
    return _logic_area_mm2(a, tech) + np.asarray(um2_to_mm2(sram_um2), dtype=float).reshape(-1)
