"""Spatial mapping of the NVDLA-style weight-stationary model (``weight_stationary.py``).

How K and C (or, in image-input mode, the folded C*R*S window) unroll over the
clusters and lanes of the PE array, and what one such mapping costs apart from
its L2 tile: compute cycles, the NoC prologue and adder-tree drain, the L1
operand bound, multicast fan-out, input fills and partial-sum traffic. The
module docstring of ``weight_stationary.py`` explains the mechanism and cites
NVDLA's image-input mode.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import stage
from .base import ConfigBatch, LayerBatch
from .ws_tiling import L1Chunks

__all__ = ["Mapped", "Mapping", "direct_mapping", "image_input_mapping", "mapped_costs", "spatial_unrolling"]


# -- spatial mapping ---------------------------------------------------------------

def spatial_unrolling(layers: LayerBatch, pes, cluster_size):
    """How K and C are unrolled: ``(k_units, c_lanes)``, each ``(C, L)``.

    With a reduction (``c > 1``) there are ``pes // cu`` clusters of
    ``cu = min(cluster_size, pes)`` lanes; without one (depthwise) every PE is a
    unit of its own. Both are non-decreasing in ``pes``.
    """
    cu = np.minimum(cluster_size, pes)
    reduce = layers.c > 1
    return np.where(reduce, pes // cu, pes), np.where(reduce, cu, 1)


class Mapping(NamedTuple):
    """One way of putting MAC layers on the array; each field broadcasts to (C, L)."""
    k_units: np.ndarray       # filters in parallel: clusters, or PEs if depthwise
    c_lanes: np.ndarray       # reduction lanes of one cluster (1 if depthwise)
    reduction: np.ndarray     # length of the reduction the lanes split: c, or c*R*S folded
    window: np.ndarray        # taps per PE per output pixel: R*S, or 1 folded
    chunks: np.ndarray        # L1 residencies per window
    step_cycles: np.ndarray   # cycles per output pixel and (k, c) block, one datapath pass
    new_per_slide: np.ndarray  # new inputs per PE per slide along Q (over all chunks)
    tree: np.ndarray          # True where the adder tree reduces
    available: np.ndarray     # False where this mapping does not apply


def direct_mapping(layers: LayerBatch, configs: ConfigBatch, l1: L1Chunks) -> Mapping:
    """The KC-P mapping: R x S window in each PE, C over a cluster's lanes."""
    k_units, c_lanes = spatial_unrolling(layers, configs["pes"], configs["cluster_size"])
    return Mapping(k_units, c_lanes, layers.c, layers.r * layers.s, l1.chunks, l1.step_cycles, l1.new_per_slide,
                   layers.c > 1, np.ones_like(layers.c, dtype=bool))


def image_input_mapping(layers: LayerBatch, configs: ConfigBatch) -> Mapping:
    """Image-input mode: the window folded into the C-unroll (see the module docstring)."""
    cu = np.minimum(configs["cluster_size"], configs["pes"])
    one = np.ones_like(layers.c)
    window = layers.r * layers.s
    return Mapping(configs["pes"] // cu, cu, layers.c * window, one, one, one, one, one > 0,
                   (layers.c < cu) & (window > 1))


# -- what a mapping costs with an L2 tile -------------------------------------------------

class Mapped(NamedTuple):
    """What one mapping costs apart from its L2 tile, each (C, L) floats."""
    compute: np.ndarray        # cycles of one datapath pass
    busy: np.ndarray           # compute x datapath passes
    prologue: np.ndarray       # first weights and inputs over the NoC, at most one block's compute
    drain: np.ndarray          # adder-tree depth + 1
    l1_bound: np.ndarray       # operand reads / L1 bandwidth, cycles
    fanout: np.ndarray         # clusters an input is multicast to
    input_fills: np.ndarray    # input words into the L1s with one column tile per row ...
    input_restart: np.ndarray  # ... and the extra words per additional column tile
    psum_writes: np.ndarray    # partial sums and outputs into L2 (collection network)
    psum_reads: np.ndarray     # partial sums read back (distribution network)
    active_pes: np.ndarray     # average busy PEs over the compute
    peak_active_pes: np.ndarray


def mapped_costs(layers: LayerBatch, configs: ConfigBatch, m: Mapping) -> Mapped:
    """The tile-independent costs of mapping ``m`` (see the module docstring).

    The array works through ``k_steps x c_steps`` blocks of (filter, reduction
    lane) pairs; in each, the N*P*Q output pixels stream past the stationary
    weights at ``step_cycles`` each. Per (PE, output row) a PE loads the first
    window of each column tile, then ``new_per_slide`` inputs per slide; an input
    crosses the NoC once per ``fanout`` L1 fills. Partial sums go back to L2 once
    per reduction block and L1 chunk, and are read back for every accumulation
    but the first."""
    f = lambda a: np.asarray(a, dtype=float)
    macs, gk, q = f(layers.macs), f(layers.g * layers.k), f(layers.q)
    bi, bw = f(layers.input_bytes_per_elem), f(layers.weight_bytes_per_elem)
    k_units, c_lanes, red, window = f(m.k_units), f(m.c_lanes), f(m.reduction), f(m.window)
    pixels = f(layers.n * layers.p * layers.q)
    k_steps, c_steps = np.ceil(gk / k_units), np.ceil(red / c_lanes)
    block_cycles = pixels * f(m.step_cycles)
    compute = k_steps * c_steps * block_cycles
    passes = stage.datapath_passes(layers, configs["mac_bits"])
    active = np.minimum(gk, k_units) * np.minimum(red, c_lanes)
    first_bytes = active * bw + np.minimum(red, c_lanes) * bi
    pe_rows = macs / (window * q)
    new = f(m.new_per_slide)
    outputs = f(layers.output_elems)
    psum_writes = outputs * c_steps * f(m.chunks)
    noc_bw = f(configs["noc_bw_bytes_per_cycle"])
    cu = f(np.minimum(configs["cluster_size"], configs["pes"]))
    return Mapped(
        compute=compute, busy=compute * passes,
        prologue=np.minimum(np.ceil(first_bytes / noc_bw), block_cycles * passes),
        drain=np.where(m.tree, np.ceil(np.log2(cu)), 0.0) + 1.0,
        l1_bound=macs / (f(configs["pes"]) * f(configs["vector_width"])),
        fanout=np.minimum(f(layers.k), k_units),
        input_fills=pe_rows * (window + (q - 1.0) * new), input_restart=pe_rows * (window - new),
        psum_writes=psum_writes, psum_reads=psum_writes - outputs,
        active_pes=macs / (window * pixels * k_steps * c_steps), peak_active_pes=active)
