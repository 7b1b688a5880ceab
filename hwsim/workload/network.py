"""A network: a DAG of layers, edges carrying tensors (``Network.graph`` gives it as
a networkx DiGraph).

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

import heapq
from collections.abc import Iterable, Iterator

from ..errors import WorkloadError
from .layer import Layer


class Network:
    """A DAG of :class:`Layer` objects with a name.

    The graph is kept as plain predecessor/successor dicts, which is all costing
    needs; :attr:`graph` gives the same DAG as a networkx DiGraph, built on first
    use, so that building and costing a network never imports networkx.
    """

    def __init__(self, name: str, layers: Iterable[Layer], edges: Iterable[tuple[str, str]] = (),
                 check_shapes: bool = True):
        if not isinstance(name, str) or not name:
            raise WorkloadError(f"field 'network' = {name!r}: expected a non-empty network name")
        self.name = name
        self._by_name = self._index_layers(layers)
        self._preds: dict[str, dict[str, None]] = {n: {} for n in self._by_name}   # ordered sets
        self._succs: dict[str, dict[str, None]] = {n: {} for n in self._by_name}
        for src, dst in self._check_edges(edges):
            self._preds[dst][src] = None
            self._succs[src][dst] = None
        self._layers = tuple(self._by_name[n] for n in self._topological_order())
        self._graph = None
        if check_shapes:
            self._check_shapes()

    def _index_layers(self, layers) -> dict[str, Layer]:
        """Layers by name, in the order given: every item a Layer, names unique, at least one."""
        if isinstance(layers, Layer) or isinstance(layers, (str, bytes)) or not isinstance(layers, Iterable):
            raise WorkloadError(f"network '{self.name}': field 'layers' = {type(layers).__name__}: expected a "
                                "list of hwsim.Layer")
        by_name: dict[str, Layer] = {}
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise WorkloadError(f"network '{self.name}': field 'layers[{index}]' = {layer!r}: expected an "
                                    "hwsim.Layer (build one with hwsim.workload.conv2d, matmul, pool2d, ...)")
            if layer.name in by_name:
                raise WorkloadError(f"network '{self.name}': field 'layer.name' = {layer.name!r}: duplicate layer name")
            by_name[layer.name] = layer
        if not by_name:
            raise WorkloadError(f"network '{self.name}': field 'layers' = []: expected at least one layer")
        return by_name

    def _check_edges(self, edges) -> list[tuple[str, str]]:
        """Edges as (producer, consumer) pairs of layer names of this network."""
        checked = []
        for edge in edges:
            if not isinstance(edge, (tuple, list)) or len(edge) != 2:
                raise WorkloadError(f"network '{self.name}': field 'edge' = {edge!r}: expected a pair "
                                    "(producer name, consumer name)")
            src, dst = edge
            for end in (src, dst):
                if not isinstance(end, str) or end not in self._by_name:
                    raise WorkloadError(f"network '{self.name}': field 'edge' = {(src, dst)!r}: no layer named {end!r}")
            checked.append((src, dst))
        return checked

    def _topological_order(self) -> list[str]:
        """Kahn's algorithm, ties broken by insertion order (as networkx's
        lexicographical_topological_sort keyed by index); a cycle is an error."""
        index = {n: i for i, n in enumerate(self._by_name)}
        missing = {n: len(p) for n, p in self._preds.items()}
        ready = [(index[n], n) for n, count in missing.items() if count == 0]
        heapq.heapify(ready)
        order = []
        while ready:
            _, node = heapq.heappop(ready)
            order.append(node)
            for succ in self._succs[node]:
                missing[succ] -= 1
                if missing[succ] == 0:
                    heapq.heappush(ready, (index[succ], succ))
        if len(order) < len(index):
            cycle = self._find_cycle({n for n, count in missing.items() if count > 0})
            raise WorkloadError(f"network '{self.name}': field 'edges' = {cycle!r}: the graph has a cycle")
        return order

    def _find_cycle(self, stuck: set[str]) -> list[tuple[str, str]]:
        """One cycle among the nodes Kahn's algorithm could not order, as edges.
        Every such node has a predecessor among them, so walking predecessors
        from any of them must come back to a node already seen."""
        node = min(stuck, key=list(self._by_name).index)
        path = [node]
        while True:
            node = next(p for p in self._preds[node] if p in stuck)
            if node in path:
                loop = path[path.index(node):] + [node]
                loop.reverse()          # walked backwards along edges
                return list(zip(loop, loop[1:]))
            path.append(node)

    @classmethod
    def sequential(cls, name: str, layers: Iterable[Layer], check_shapes: bool = True) -> "Network":
        """A chain: each layer reads the output of the one before it."""
        edges = []
        if isinstance(layers, Iterable) and not isinstance(layers, (str, bytes)):
            layers = list(layers)
            edges = [(a.name, b.name) for a, b in zip(layers, layers[1:])
                     if isinstance(a, Layer) and isinstance(b, Layer)]
        return cls(name, layers, edges, check_shapes=check_shapes)

    @property
    def graph(self):
        """The network as a networkx DiGraph (nodes carry ``layer`` and ``index``),
        built on first use."""
        if self._graph is None:
            import networkx as nx

            graph = nx.DiGraph()
            for index, (name, layer) in enumerate(self._by_name.items()):
                graph.add_node(name, layer=layer, index=index)
            graph.add_edges_from((src, dst) for dst, preds in self._preds.items() for src in preds)
            self._graph = graph
        return self._graph

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
            return self._by_name[name]
        except (KeyError, TypeError):
            raise WorkloadError(f"network '{self.name}': no layer named {name!r}") from None

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and name in self._by_name

    def predecessors(self, name: str) -> list[Layer]:
        """The producers of layer ``name``, in the order their edges were given."""
        if name not in self:
            raise WorkloadError(f"network '{self.name}': no layer named {name!r}")
        return [self._by_name[p] for p in self._preds[name]]

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
