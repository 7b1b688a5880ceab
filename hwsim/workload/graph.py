"""A small builder of network DAGs: each ``add`` wires a layer to its producers.

The zoo (``zoo.py``) and the co-search spaces (``nasaic.space``) build their
networks with it. A producer that is not a layer (``NetworkInput``: the network's
input, which only has a shape) makes no edge.
"""

from __future__ import annotations

from dataclasses import dataclass

from .layer import Layer
from .network import Network

__all__ = ["GraphBuilder", "NetworkInput"]


@dataclass(frozen=True)
class NetworkInput:
    """The network input: it is no layer, so it only carries a shape."""

    k: int          # channels
    p: int          # rows
    q: int          # cols


class GraphBuilder:
    """Collects layers and the edges to their producers."""

    def __init__(self, name: str):
        self.name = name
        self.layers: list[Layer] = []
        self.edges: list[tuple[str, str]] = []

    def add(self, layer: Layer, *sources) -> Layer:
        self.layers.append(layer)
        self.edges.extend((src.name, layer.name) for src in sources if isinstance(src, Layer))
        return layer

    def network(self, check_shapes: bool = True) -> Network:
        return Network(self.name, self.layers, self.edges, check_shapes=check_shapes)
