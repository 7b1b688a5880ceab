"""The arrays a dataflow model works on, and what the shared stage hands back.

* ``LayerBatch``: the *unique* layers of a network as ``(1, L)`` arrays;
* ``ConfigBatch``: design points of one template as ``(C, 1)`` arrays;
* ``CostArrays``: the ``(C, L)`` costs ``hwsim.dataflow.stage`` computes from a
  model's ``Activity`` (latency, energy by component, accesses and bytes per
  level, bound, feasibility), plus per-config area, peak and clock.

A model (``PARAMETERS`` and ``activity(layers, configs) -> stage.Activity``; the
contract is in ``stage.py``) never loops over layers or configs in Python: every
result broadcasts to ``(C, L)``.

Precision is per tensor (``input_bits``, ``weight_bits``, ``output_bits``);
``bits`` = max(input, weight) is the MAC operand precision. A model counts words
(elements, whatever their width) of each tensor; the stage converts each tensor's
words to bytes and energy at that tensor's width. ``mac_words`` (words of the three
tensors as MAC-precision words) serves the peer emulations, which count in one
precision as MAESTRO does.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Mapping, Sequence

import numpy as np

from ..errors import MappingError
from ..hardware.memory import MemoryLevel
from ..hardware.technology import Technology
from ..workload.layer import Layer


@dataclass(frozen=True)
class LayerBatch:
    """Unique layers as ``(1, L)`` arrays.

    ``k`` and ``c`` are *per group*: a layer is ``g`` independent convolutions of
    ``k`` filters over ``c`` channels each, so MACs = n*g*k*c*p*q*r*s. ``h, w`` is
    the unpadded input size. Vector (non-MAC) layers have ``is_mac == False`` and
    are described by ``vector_ops``, ``read_bytes`` and ``write_bytes``.
    ``is_matmul`` marks ``op == "matmul"`` layers (a 1-column output plane).
    ``bits`` is the MAC operand precision, max(``input_bits``, ``weight_bits``).
    """

    names: tuple[str, ...]
    ops: tuple[str, ...]
    is_mac: np.ndarray
    is_matmul: np.ndarray
    n: np.ndarray
    g: np.ndarray
    k: np.ndarray
    c: np.ndarray
    p: np.ndarray
    q: np.ndarray
    r: np.ndarray
    s: np.ndarray
    stride_h: np.ndarray
    stride_w: np.ndarray
    pad_h: np.ndarray
    pad_w: np.ndarray
    dil_h: np.ndarray
    dil_w: np.ndarray
    h: np.ndarray
    w: np.ndarray
    bits: np.ndarray
    input_bits: np.ndarray
    weight_bits: np.ndarray
    output_bits: np.ndarray
    macs: np.ndarray
    vector_ops: np.ndarray
    read_bytes: np.ndarray
    write_bytes: np.ndarray
    input_elems: np.ndarray
    weight_elems: np.ndarray
    output_elems: np.ndarray

    @classmethod
    def from_layers(cls, layers: Sequence[Layer]) -> "LayerBatch":
        def col(values):
            return np.asarray(values, dtype=np.int64).reshape(1, -1)

        get = {
            "n": lambda l: l.n, "g": lambda l: l.groups, "k": lambda l: l.k_per_group,
            "c": lambda l: l.c_per_group, "p": lambda l: l.p, "q": lambda l: l.q,
            "r": lambda l: l.r, "s": lambda l: l.s, "stride_h": lambda l: l.stride[0],
            "stride_w": lambda l: l.stride[1], "pad_h": lambda l: l.padding[0],
            "pad_w": lambda l: l.padding[1], "dil_h": lambda l: l.dilation[0],
            "dil_w": lambda l: l.dilation[1], "h": lambda l: l.in_size[0], "w": lambda l: l.in_size[1],
            "bits": lambda l: l.bits, "input_bits": lambda l: l.input_bits,
            "weight_bits": lambda l: l.weight_bits, "output_bits": lambda l: l.output_bits,
            "macs": lambda l: l.macs, "vector_ops": lambda l: l.vector_ops,
            "read_bytes": lambda l: l.read_bytes, "write_bytes": lambda l: l.write_bytes,
            "input_elems": lambda l: l.input_elems, "weight_elems": lambda l: l.weight_elems,
            "output_elems": lambda l: l.output_elems,
        }
        arrays = {name: col([fn(layer) for layer in layers]) for name, fn in get.items()}
        return cls(names=tuple(l.name for l in layers), ops=tuple(l.op for l in layers),
                   is_mac=np.asarray([l.is_mac for l in layers]).reshape(1, -1),
                   is_matmul=np.asarray([l.op == "matmul" for l in layers]).reshape(1, -1), **arrays)

    def __len__(self) -> int:
        return len(self.names)

    def take(self, index) -> "LayerBatch":
        """The layers at positions ``index`` (a sequence of ints) as a LayerBatch of their own:
        how a model costs a mode that applies to a few layers only on those layers."""
        index = list(index)
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = tuple(value[i] for i in index) if isinstance(value, tuple) else value[:, index]
        return LayerBatch(**out)

    @property
    def work(self) -> np.ndarray:
        """Useful operations, as floats: MACs of a MAC layer, operations of a vector layer."""
        return np.where(self.is_mac, self.macs, self.vector_ops).astype(float)

    # -- precision ---------------------------------------------------------------
    @property
    def bytes_per_elem(self) -> np.ndarray:
        """Bytes of one MAC-precision word (``bits / 8``)."""
        return self.bits / 8.0

    @property
    def input_bytes_per_elem(self) -> np.ndarray:
        return self.input_bits / 8.0

    @property
    def weight_bytes_per_elem(self) -> np.ndarray:
        return self.weight_bits / 8.0

    @property
    def output_bytes_per_elem(self) -> np.ndarray:
        return self.output_bits / 8.0

    def mac_words(self, inputs=0.0, weights=0.0, outputs=0.0):
        """Input, weight and output word counts as one count of MAC-precision words:
        each is scaled by its tensor's width / ``bits``. The scales are exactly 1
        when the widths are equal, so this is then ``inputs + weights + outputs``
        bit for bit. Bytes are ``mac_words * bytes_per_elem``; energy is
        ``mac_words`` x the per-access energy at ``bits``."""
        bits = self.bits.astype(float)
        return (inputs * (self.input_bits / bits) + weights * (self.weight_bits / bits)
                + outputs * (self.output_bits / bits))

    def tensor_bytes(self, inputs=0.0, weights=0.0, outputs=0.0):
        """Bytes of the given input, weight and output word counts, each at its width."""
        return self.mac_words(inputs, weights, outputs) * self.bytes_per_elem

    @property
    def compulsory_bytes(self) -> np.ndarray:
        """Each input, weight and output element crossing the chip boundary once, at
        its tensor's width (vector layers: their stated read and write bytes)."""
        mac_bytes = (self.input_elems * self.input_bytes_per_elem + self.weight_elems * self.weight_bytes_per_elem
                     + self.output_elems * self.output_bytes_per_elem)
        return np.where(self.is_mac, mac_bytes, self.read_bytes + self.write_bytes)

    @property
    def vector_words(self) -> np.ndarray:
        """Words a vector layer reads (at the input width) and writes (at the output
        width). Written as (read / (input/bits) + write / (output/bits)) / (bits/8) so that
        equal widths give exactly (read + write) / bytes_per_elem."""
        bits = self.bits.astype(float)
        return (self.read_bytes / (self.input_bits / bits)
                + self.write_bytes / (self.output_bits / bits)) / self.bytes_per_elem



@dataclass(frozen=True)
class ConfigBatch:
    """Design points of one template: numeric parameters as ``(C, 1)`` arrays,
    string parameters (``options``) shared by the whole batch."""

    params: Mapping[str, np.ndarray]
    options: Mapping[str, str]
    technology: Technology | None
    size: int

    def __getitem__(self, key: str):
        if key in self.params:
            return self.params[key]
        return self.options[key]

    def floats(self, name: str) -> np.ndarray:
        """A numeric parameter as a ``(C, 1)`` float array."""
        return np.asarray(self.params[name], dtype=float)

    def ints(self, name: str) -> np.ndarray:
        """A numeric parameter as a ``(C, 1)`` int64 array."""
        return np.asarray(self.params[name], dtype=np.int64)


@dataclass(frozen=True)
class CostArrays:
    """What a dataflow model returns; every ``(C, L)`` array is per config x layer.

    ``levels`` are innermost first (e.g. l1, l2, dram). ``energy_pj`` holds one
    entry per level plus ``mac`` (and optionally ``noc`` and ``leakage``); the
    layer's energy is their sum. ``bound`` indexes ``("compute",) + level names``.
    """

    levels: tuple[MemoryLevel, ...]
    compute_cycles: np.ndarray
    latency_cycles: np.ndarray
    utilization: np.ndarray
    accesses: Mapping[str, np.ndarray]
    traffic_bytes: Mapping[str, np.ndarray]
    energy_pj: Mapping[str, np.ndarray]
    bound: np.ndarray
    area_mm2: np.ndarray                 # (C,)
    peak_macs_per_cycle: np.ndarray      # (C,)
    clock_hz: np.ndarray                 # (C,)
    extras: Mapping[str, np.ndarray] = field(default_factory=dict)   # model-specific (C, L) columns
    feasible: np.ndarray | None = None   # (C, L) bool: False where the layer cannot map on the config
    unmappable: object = None            # stage.Unmappable: the reasons of the infeasible points

    def error(self, layers: "LayerBatch", row: int, col: int) -> str:
        """Why point (config ``row``, layer ``col``) is infeasible ("" if it is not)."""
        if self.feasible is None or self.feasible[row, col]:
            return ""
        if self.unmappable is not None:
            message = self.unmappable.message(layers, row, col)
            if message:
                return message
        return (f"layer '{layers.names[col]}': field 'latency_cycles' = {self.latency_cycles[row, col]!r}: "
                "the layer cannot be mapped")

    @property
    def level_names(self) -> tuple[str, ...]:
        return tuple(level.name for level in self.levels)


def bounded_latency(compute_cycles, traffic_bytes: Mapping[str, np.ndarray],
                    levels: Sequence[MemoryLevel], fill_drain_cycles=0.0):
    """Latency = max(compute, each level's traffic / bandwidth) + fill/drain.

    Returns ``(latency_cycles, bound)`` where ``bound`` is 0 for compute and i+1
    for ``levels[i]``. Assumes double buffering, so transfers overlap compute.
    """
    candidates = [np.asarray(compute_cycles, dtype=float)]
    for level in levels:
        candidates.append(np.asarray(traffic_bytes[level.name], dtype=float) / level.bw_bytes_per_cycle)
    stacked = np.stack(np.broadcast_arrays(*candidates))
    bound = np.argmax(stacked, axis=0)
    return stacked.max(axis=0) + fill_drain_cycles, bound


def check_costs(costs: CostArrays, model: str, layer_names: Sequence[str]) -> None:
    """Reject a model result with NaN/inf or negative numbers at a feasible point,
    naming the layer: a model bug, not a user's unmappable point."""
    ok = np.ones(np.shape(costs.latency_cycles), dtype=bool) if costs.feasible is None else costs.feasible
    arrays = {"compute_cycles": costs.compute_cycles, "latency_cycles": costs.latency_cycles,
              "utilization": costs.utilization}
    arrays.update({f"energy_{k}_pj": v for k, v in costs.energy_pj.items()})
    arrays.update({f"{k}_accesses": v for k, v in costs.accesses.items()})
    for name, value in arrays.items():
        value = np.asarray(value, dtype=float)
        bad = (~np.isfinite(value) | (value < 0)) & np.broadcast_to(ok, np.broadcast_shapes(ok.shape, value.shape))
        if bad.any():
            _, col = np.argwhere(np.atleast_2d(bad))[0]
            layer = layer_names[col] if np.ndim(value) == 2 and col < len(layer_names) else "?"
            raise MappingError(f"model '{model}': layer '{layer}': field '{name}' = "
                               f"{np.atleast_2d(value).flat[np.flatnonzero(bad)[0]]!r}: internal error in the "
                               "model (a feasible point must have finite, non-negative costs), please report")
