"""A network: layers as nodes of a networkx DiGraph, edges carrying tensors.

Layers run one after another in a deterministic topological order (ties broken
by insertion order), which is the order a single accelerator executes them in.
Shapes are checked along edges when the network is built:

* a conv/pool layer with one producer reads exactly the producer's output
  channels and spatial size; with several producers it reads their
  concatenation (channels add up, as in U-Net);
* an element-wise layer reads producers that all have its own shape;
* a matmul reads the producer's output flattened (element counts must agree).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import networkx as nx

from ..errors import WorkloadError
from .layer import Layer


class Network:
    """A DAG of :class:`Layer` objects with a name."""

    def __init__(self, name: str, layers: Iterable[Layer], edges: Iterable[tuple[str, str]] = (),
                 check_shapes: bool = True):
        self.name = name
        graph = nx.DiGraph()
        for index, layer in enumerate(layers):
            if layer.name in graph:
                raise WorkloadError(f"network '{name}': field 'layer.name' = {layer.name!r}: duplicate layer name")
            graph.add_node(layer.name, layer=layer, index=index)
        for src, dst in edges:
            for end in (src, dst):
                if end not in graph:
                    raise WorkloadError(f"network '{name}': field 'edge' = {(src, dst)!r}: no layer named {end!r}")
            graph.add_edge(src, dst)
        if not nx.is_directed_acyclic_graph(graph):
            cycle = nx.find_cycle(graph)
            raise WorkloadError(f"network '{name}': field 'edges' = {cycle!r}: the graph has a cycle")
        self.graph = graph
        order = nx.lexicographical_topological_sort(graph, key=lambda node: graph.nodes[node]["index"])
        self._layers = tuple(graph.nodes[node]["layer"] for node in order)
        if check_shapes:
            self._check_shapes()

    @classmethod
    def sequential(cls, name: str, layers: Iterable[Layer], check_shapes: bool = True) -> "Network":
        layers = list(layers)
        edges = [(a.name, b.name) for a, b in zip(layers, layers[1:])]
        return cls(name, layers, edges, check_shapes=check_shapes)

    # -- views -----------------------------------------------------------------
    @property
    def layers(self) -> tuple[Layer, ...]:
        """Layers in execution (topological) order."""
        return self._layers

    def __iter__(self) -> Iterator[Layer]:
        return iter(self._layers)

    def __len__(self) -> int:
        return len(self._layers)

    def __getitem__(self, name: str) -> Layer:
        try:
            return self.graph.nodes[name]["layer"]
        except KeyError:
            raise WorkloadError(f"network '{self.name}': no layer named {name!r}") from None

    def predecessors(self, name: str) -> list[Layer]:
        return [self.graph.nodes[p]["layer"] for p in self.graph.predecessors(name)]

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self._layers)

    @property
    def weight_elems(self) -> int:
        return sum(layer.weight_elems for layer in self._layers)

    def __repr__(self) -> str:
        return f"Network({self.name!r}, {len(self)} layers, {self.macs / 1e6:.1f} M MACs)"

    # -- shape checks ----------------------------------------------------------
    def _check_shapes(self) -> None:
        for layer in self._layers:
            producers = self.predecessors(layer.name)
            if producers:
                self._check_edge_shapes(layer, producers)

    def _check_edge_shapes(self, layer: Layer, producers: list[Layer]) -> None:
        names = [p.name for p in producers]
        if layer.op == "vector":
            return
        if layer.op == "matmul":
            produced = sum(p.output_elems for p in producers)
            if produced != layer.input_elems:
                self._shape_error(layer, names, "input elements", layer.input_elems, produced)
            return
        sizes = {(p.p, p.q) for p in producers}
        if sizes != {layer.in_size}:
            self._shape_error(layer, names, "in_size", layer.in_size, sorted(sizes))
        if layer.op in ("add", "mul"):
            channels = {p.k for p in producers}
            if channels != {layer.c}:
                self._shape_error(layer, names, "channels", layer.c, sorted(channels))
            return
        produced = sum(p.k for p in producers)
        if produced != layer.c:
            self._shape_error(layer, names, "in_channels", layer.c, produced)

    def _shape_error(self, layer, producers, field, expected, got) -> None:
        raise WorkloadError(
            f"network '{self.name}': layer '{layer.name}' field '{field}' = {expected!r}, but its "
            f"producers {producers} give {got!r}"
        )
