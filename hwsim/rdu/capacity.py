"""Footprint analysis: how many experts a node holds, and what a DGX fleet needs.

* An SN40L node keeps every expert in DDR (its slow tier) and serves each at TP8
  latency by copying it to HBM on a miss, so it holds ``floor(DDR / expert bytes)``.
* A DGX that must serve the same experts without switching over its slow host link
  keeps them in GPU HBM beside the router and KV reservation: it needs
  ``ceil(experts / experts per DGX HBM)`` nodes.
"""

from __future__ import annotations

import math

from ..workload.transformer import decoder_config
from .systems import node, reserved_hbm_bytes

__all__ = ["capacity"]


def capacity(expert: str = "llama2-7b", router: str = "llama2-7b", dgx: str = "dgx-a100", batch: int = 1,
             context: int = 4096) -> dict:
    """Experts per SN40L node (in DDR) and DGX nodes to hold as many in HBM."""
    expert_bytes = decoder_config(expert).params * 2.0
    sn = node("sn40l-node")
    experts_sn40l = int(sn.slow_tier_bytes // expert_bytes)
    g = node(dgx)
    dgx_hbm = g.devices * g.hbm_bytes_per_device - reserved_hbm_bytes(router, expert, batch, context)
    per_dgx = int(dgx_hbm // expert_bytes)
    return {
        "expert": decoder_config(expert).name,
        "expert_bytes": expert_bytes,
        "sn40l_ddr_bytes": sn.slow_tier_bytes,
        "experts_per_sn40l_node": experts_sn40l,
        "dgx": dgx,
        "dgx_hbm_for_experts_bytes": dgx_hbm,
        "experts_per_dgx_node": per_dgx,
        "dgx_nodes_for_same_experts": math.ceil(experts_sn40l / per_dgx) if per_dgx else None,
        "dgx_host_memory_experts": int(g.slow_tier_bytes // expert_bytes),
    }
