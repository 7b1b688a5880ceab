"""The fusion planner: partition a network into kernels.

* ``unfused``: one op per kernel, as a kernel-by-kernel runtime (a GPU framework in
  eager mode) runs it; every intermediate goes through HBM.
* ``fused``: spatially mapped sections. The RDU runs the ops of a section at the
  same time, each on PCUs and PMUs of its own, streaming tiles from op to op
  through PMUs, so a section's intermediates never leave the chip. The planner
  walks the ops in execution order and closes a section when the next op would
  not fit the socket: every op takes at least ``gemm_min_pcus`` (a GEMM) or
  ``vector_min_pcus`` (a SIMD op) PCUs, ``stream_pmus_per_op`` PMUs for its output
  stream, and a GEMM ``gemm_weight_pmus`` more for its weight tiles.

The greedy walk is what a compiler without a cost model would do; a section never
reorders ops. ``check_plan`` validates a plan given by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import SpecError
from ..workload.layer import Layer
from ..workload.network import Network
from .fabric import RDU

__all__ = ["MODES", "check_plan", "fused_plan", "plan", "unfused_plan"]

MODES = ("unfused", "fused")


def unfused_plan(network: Network) -> list[tuple[str, ...]]:
    return [(layer.name,) for layer in network]


def op_resources(layer: Layer, rdu: RDU) -> tuple[int, int]:
    """(PCUs, PMUs) an op takes at least in a fused section."""
    if layer.is_mac:
        return rdu.gemm_min_pcus, rdu.stream_pmus_per_op + rdu.gemm_weight_pmus
    return rdu.vector_min_pcus, rdu.stream_pmus_per_op


def fused_plan(network: Network, rdu: RDU) -> list[tuple[str, ...]]:
    """Greedy sections in execution order that fit the socket's PCUs and PMUs."""
    sections: list[tuple[str, ...]] = []
    current: list[str] = []
    pcus = pmus = 0
    for layer in network:
        need_pcus, need_pmus = op_resources(layer, rdu)
        if need_pcus > rdu.pcus or need_pmus > rdu.pmus:
            raise SpecError(f"{rdu.source}: layer '{layer.name}' needs {need_pcus} PCUs and {need_pmus} PMUs; "
                            f"the socket has {rdu.pcus} and {rdu.pmus}")
        if current and (pcus + need_pcus > rdu.pcus or pmus + need_pmus > rdu.pmus):
            sections.append(tuple(current))
            current, pcus, pmus = [], 0, 0
        current.append(layer.name)
        pcus, pmus = pcus + need_pcus, pmus + need_pmus
    if current:
        sections.append(tuple(current))
    return sections


def check_plan(network: Network, kernels: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
    """``kernels`` as a list of tuples, if it is a partition of the network's layers
    in execution order (each kernel contiguous); otherwise a SpecError."""
    order = [layer.name for layer in network]
    flat = [name for kernel in kernels for name in kernel]
    for name in flat:
        if name not in network:
            raise SpecError(f"network '{network.name}': field 'kernels' names {name!r}: no such layer")
    if flat != order:
        raise SpecError(f"network '{network.name}': field 'kernels': every layer must appear once, in execution "
                        f"order ({len(flat)} names given, {len(order)} layers)")
    if any(not kernel for kernel in kernels):
        raise SpecError(f"network '{network.name}': field 'kernels': an empty kernel")
    return [tuple(kernel) for kernel in kernels]


def plan(network: Network, rdu: RDU, mode: str = "fused") -> list[tuple[str, ...]]:
    if mode == "unfused":
        return unfused_plan(network)
    if mode == "fused":
        return fused_plan(network, rdu)
    raise SpecError(f"field 'mode' = {mode!r}: expected one of {list(MODES)}")
