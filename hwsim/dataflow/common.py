"""Math shared by the dataflow models: vector (non-MAC) layers."""

from __future__ import annotations

import numpy as np

from ..units import ceil_div
from .base import LayerBatch

__all__ = ["ceil_div", "vector_compute_cycles", "vector_traffic_bytes"]


def vector_compute_cycles(layers: LayerBatch, lanes):
    """Cycles of a vector layer on ``lanes`` ALUs, one operation per lane per cycle."""
    return ceil_div(layers.vector_ops, np.maximum(np.asarray(lanes, dtype=np.int64), 1)).astype(float)


def vector_traffic_bytes(layers: LayerBatch):
    """A vector layer streams its operands once: bytes read plus bytes written."""
    return (layers.read_bytes + layers.write_bytes).astype(float)
