"""Kernels: what a set of layers run as one costs in FLOPs and in bytes per tier.

A *kernel* is a set of layers the RDU runs as one configuration of its fabric. The
traffic rule is the streaming-dataflow one: a tensor between two layers of the same
kernel stays on chip (it streams through PMUs); everything else crosses HBM:

* an activation input is read from HBM when its producer is in another kernel (or
  it is the network input); an output is written when a consumer is in another
  kernel (or it is a network output);
* model weights (and tables: norm gains, rotary cos/sin) are read once per kernel
  that uses them -- from HBM, or from DDR when the model is placed there;
* attention: a matmul with two producers takes its weight operand from the second
  (``hwsim.workload.transformer.decoder``'s convention: K for QK^T, V for AV). The
  part of that operand that is the KV cache (all keys but this step's ``t`` new
  ones) is read from HBM; the new part is on chip when its producer is in the same
  kernel. The producer of K or V always writes it to HBM too: it is the cache.

Every byte a layer reads or writes also passes through the PMUs (``sram_bytes``):
the on-chip tier has a bandwidth too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .layer import Layer
from .network import Network

__all__ = ["Kernel", "KernelTable", "kernel_table"]


@dataclass(frozen=True)
class Kernel:
    """One kernel: its layers and what it costs."""

    layers: tuple[str, ...]
    flops: float
    hbm_bytes: float          # activations and KV cache crossing HBM
    weight_bytes: float       # model weights and tables (HBM or DDR, by placement)
    sram_bytes: float         # bytes through the PMUs


@dataclass(frozen=True)
class KernelTable:
    """The kernels of a plan as arrays (one entry per kernel), for vectorized timing."""

    kernels: tuple[Kernel, ...]
    flops: np.ndarray
    hbm_bytes: np.ndarray
    weight_bytes: np.ndarray
    sram_bytes: np.ndarray

    def __len__(self) -> int:
        return len(self.kernels)


def _output_bytes(layer: Layer) -> float:
    return layer.output_elems * layer.output_bytes_per_elem if layer.is_mac else float(layer.write_bytes)


class _Graph:
    """The producer/consumer lists of a network, computed once for every kernel."""

    def __init__(self, network: Network):
        self.net = network
        self.preds = {layer.name: [p.name for p in network.predecessors(layer.name)] for layer in network}
        self.succs: dict[str, list[str]] = {name: [] for name in self.preds}
        for name, producers in self.preds.items():
            for producer in producers:
                self.succs[producer].append(name)
        self.cache_writers = {ps[1] for name, ps in self.preds.items() if self.net[name].is_mac and len(ps) > 1}


def _mac_reads(g: _Graph, layer: Layer, inside: set, new_fraction: float) -> tuple[float, float, float]:
    """(HBM activation/KV bytes, weight bytes, all bytes read) of a matmul/conv."""
    producers = g.preds[layer.name]
    act = layer.input_elems * layer.input_bytes_per_elem
    operand = layer.weight_elems * layer.weight_bytes_per_elem
    hbm = act if not producers or producers[0] not in inside else 0.0
    if len(producers) < 2:                      # a model weight
        return hbm, operand, act + operand
    cached = operand * (1.0 - new_fraction)     # attention: the KV cache, and this step's new K/V
    fresh = operand * new_fraction if producers[1] not in inside else 0.0
    return hbm + cached + fresh, 0.0, act + operand


def _vector_reads(g: _Graph, layer: Layer, inside: set) -> tuple[float, float, float]:
    """(HBM activation bytes, table bytes, all bytes read) of a vector layer: its
    activations are its producers' outputs (capped at what it reads), the rest tables."""
    produced = {p: _output_bytes(g.net[p]) for p in g.preds[layer.name]}
    activations = min(sum(produced.values()), float(layer.read_bytes)) if produced else float(layer.read_bytes)
    scale = activations / sum(produced.values()) if produced and sum(produced.values()) else 0.0
    outside = sum(b for p, b in produced.items() if p not in inside) * scale if produced else activations
    return outside, float(layer.read_bytes) - activations, float(layer.read_bytes)


def _kernel(g: _Graph, names: Sequence[str], new_fraction: float) -> Kernel:
    inside = set(names)
    flops = hbm = weights = sram = 0.0
    for name in names:
        layer = g.net[name]
        reads = _mac_reads(g, layer, inside, new_fraction) if layer.is_mac else _vector_reads(g, layer, inside)
        out = _output_bytes(layer)
        consumers = g.succs[name]
        leaves = not consumers or any(c not in inside for c in consumers) or name in g.cache_writers
        flops += 2.0 * layer.macs + layer.vector_ops
        hbm += reads[0] + (out if leaves else 0.0)
        weights += reads[1]
        sram += reads[2] + out
    return Kernel(tuple(names), flops, hbm, weights, sram)


def kernel_table(network: Network, plan: Sequence[Sequence[str]], new_tokens: int = 0, keys: int = 0) -> KernelTable:
    """The kernels of ``plan`` (a partition of ``network``'s layers in execution order).

    ``new_tokens / keys``: the share of an attention operand produced in this run
    (decode: 1 of ``context + g`` keys; prefill: all; 0/0 for networks without
    attention)."""
    g = _Graph(network)
    new_fraction = new_tokens / keys if keys else 1.0
    kernels = tuple(_kernel(g, names, new_fraction) for names in plan)
    arrays = [np.array([getattr(k, f) for k in kernels], dtype=float)
              for f in ("flops", "hbm_bytes", "weight_bytes", "sram_bytes")]
    return KernelTable(kernels, *arrays)
