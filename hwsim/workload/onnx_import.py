"""ONNX models as hwsim networks (the ``hwsim[onnx]`` extra: ``pip install 'hwsim[onnx]'``).

Shapes come from ``onnx.shape_inference.infer_shapes`` (with data propagation, so that
``Shape -> Gather -> Reshape`` chains resolve), weight shapes from the initializers; no
weight values are read (external data is never loaded). The network's layers follow the
zoo's conventions (``hwsim.workload.zoo``), so that a torchvision ResNet exported to ONNX
imports layer for layer as the zoo's network:

* ``Conv`` -> ``conv2d`` (``depthwise_conv2d`` when ``group == C == K``), with strides,
  dilations, groups, ``pads`` or ``auto_pad``. hwsim's padding is symmetric: asymmetric
  pads (``SAME_*`` with an odd total) become the symmetric pad that gives ONNX's output
  size (pools' ``ceil_mode`` too); where none does, the layer keeps the pad
  ``ceil(total / 2)`` and ONNX's P x Q.
* ``Gemm`` / ``MatMul`` -> ``matmul``: a 2-D product is one row per image (``m = 1``, the
  rows as batch, as the zoo's FC layers); a batched one has ``m`` = its rows and the
  leading dimensions as batch. Biases are not counted (as in the zoo).
* ``MaxPool`` / ``AveragePool`` / ``GlobalAveragePool`` / ``GlobalMaxPool`` -> ``pool2d``.
* ``BatchNormalization`` is folded into its conv where ONNX Runtime folds it: the conv's
  output feeds only the BN and the BN's parameters are constants. Any other BN is an
  element-wise vector layer (2 ops per element: scale and shift).
* Activations (``Relu``, ``Clip``, ``Sigmoid``, ...) are fused into their producer, as the
  zoo fuses ReLU: no layer. A ``Mul`` by a sigmoid (SiLU, squeeze-excite) still costs.
* ``Add`` / ``Sub`` / ``Mul`` / ``Div`` -> ``eltwise``, reading each activation operand
  (a constant operand is not read: it is a bias or scale held on chip).
* ``Softmax`` -> a vector layer of 5 ops per element (max, subtract, exp, sum, divide).
* ``Concat``, ``Reshape``, ``Flatten``, ``Transpose``, ``(Un)Squeeze``, ``Identity``,
  ``Dropout`` cost nothing: they only pass their producers on (a consumer of a
  ``Concat`` reads all of them, as the zoo's U-Net decoder does). A transpose is a
  layout change an accelerator's address generation absorbs, not a layer.
* ``Shape`` / ``Size`` (static after shape inference) and any node whose inputs are all
  constants (initializers, ``Constant``) are constant-folded, as ONNX Runtime does at
  load: no layer.

Any other op raises a WorkloadError naming it and its node; with
``skip_unsupported=True`` it is listed in one :class:`UnsupportedOpWarning`, costed as
zero and passes its input's producers (and, if inference gives none, its input's shape) on.
The batch is the input's first dimension; a symbolic one is ``batch`` (default 1). Shape
checks along edges are ONNX's (shape inference), not the zoo's, since broadcasting ops
(e.g. squeeze-excite) break the zoo's checks. Only 2-D (NCHW) convolutions and pools.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace
from pathlib import Path

from ..errors import WorkloadError
from .graph import GraphBuilder
from .layer import conv2d, conv_output_size, depthwise_conv2d, eltwise, global_avgpool, matmul, pool2d
from .network import Network

__all__ = ["UnsupportedOpWarning", "load_onnx", "SUPPORTED_OPS"]

PASS_THROUGH = frozenset({"Relu", "Clip", "Sigmoid", "LeakyRelu", "Tanh", "HardSigmoid", "HardSwish",
                          "Concat", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze",
                          "Identity", "Dropout"})
ELTWISE = {"Add": "add", "Sub": "add", "Mul": "mul", "Div": "mul"}
METADATA_OPS = frozenset({"Shape", "Size"})       # their outputs are static after shape inference
SOFTMAX_OPS_PER_ELEM = 5
BN_OPS_PER_ELEM = 2
INSTALL = "pip install 'hwsim[onnx]'"


class UnsupportedOpWarning(UserWarning):
    """Ops of an ONNX model that were costed as zero (``skip_unsupported=True``)."""


class _Unsupported(Exception):
    """A node this importer cannot cost; the message says why."""


def load_onnx(path, batch: int | None = None, bits=8, skip_unsupported: bool = False) -> Network:
    """The network of the ONNX model file ``path``, named after the file's stem.

    ``batch`` fills a symbolic batch dimension (default 1); a model with a fixed batch
    must be given no other. ``bits``: an int or ``{"input": .., "weight": .., "output": ..}``.
    """
    path = Path(path)
    try:
        import onnx
    except ImportError:
        raise WorkloadError(f"{path}: reading ONNX models needs the onnx package: {INSTALL}") from None
    model = _read(onnx, path)
    _set_batch(model, path, batch)
    model = _infer(onnx, model, path, skip_unsupported)
    importer = _Importer(path, model.graph, bits, skip_unsupported)
    importer.run()
    if importer.unsupported:
        listed = ", ".join(importer.unsupported[:10]) + (" ..." if len(importer.unsupported) > 10 else "")
        if not skip_unsupported:
            raise WorkloadError(f"{path}: unsupported ONNX op(s): {listed}; supported: {', '.join(SUPPORTED_OPS)}; "
                                "skip_unsupported=True (hwsim eval --skip-unsupported) costs them as zero")
        warnings.warn(f"{path}: {len(importer.unsupported)} unsupported ONNX op(s) costed as zero: {listed}",
                      UnsupportedOpWarning, stacklevel=2)
    return importer.builder.network(check_shapes=False)


def _read(onnx, path: Path):
    """The ModelProto, or a one-line WorkloadError naming the file."""
    if not path.is_file():
        raise WorkloadError(f"{path}: network file not found")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:        # protobuf DecodeError, RuntimeError, ...: any reason it is not a model
        raise WorkloadError(f"{path}: not a valid ONNX model ({type(exc).__name__}: {_first_line(exc)})") from None
    if not model.ir_version or not model.graph.node:
        raise WorkloadError(f"{path}: not a valid ONNX model (no ir_version or no graph nodes)")
    return model


def _first_line(exc) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else "no message"


def _inputs(graph):
    """The graph's real inputs (old models also list their initializers as inputs)."""
    constants = {init.name for init in graph.initializer}
    return [vi for vi in graph.input if vi.name not in constants]


def _set_batch(model, path: Path, batch) -> None:
    """A symbolic first dimension of every input becomes ``batch`` (default 1)."""
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        raise WorkloadError(f"{path}: field 'batch' = {batch!r}: expected an integer >= 1")
    for vi in _inputs(model.graph):
        dims = vi.type.tensor_type.shape.dim
        if not dims:
            continue
        if dims[0].HasField("dim_value") and dims[0].dim_value > 0:
            if batch is not None and batch != dims[0].dim_value:
                raise WorkloadError(f"{path}: field 'batch' = {batch}: input '{vi.name}' fixes the batch at "
                                    f"{dims[0].dim_value}; drop --batch or export with a dynamic batch")
            continue
        dims[0].dim_value = 1 if batch is None else batch      # clears dim_param (a protobuf oneof)


def _infer(onnx, model, path: Path, skip_unsupported: bool):
    """Shape inference; with ``skip_unsupported``, an op it cannot infer (e.g. a custom
    domain's) gets its first input's shape and inference runs again past it."""
    for _ in range(len(model.graph.node) + 1):
        try:
            inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
        except Exception as exc:
            raise WorkloadError(f"{path}: ONNX shape inference failed: {_first_line(exc)}") from None
        if not skip_unsupported:
            return inferred
        shapes, infos = _shapes(inferred.graph), {vi.name: vi for vi in _value_infos(inferred.graph)}
        blocked = next(((node, out) for node in inferred.graph.node if not _is_supported(node)
                        for out in node.output if out and out not in shapes
                        and node.input and node.input[0] in infos), None)
        if blocked is None:
            return inferred
        node, out = blocked
        info = model.graph.value_info.add()
        info.CopyFrom(infos[node.input[0]])
        info.name = out
    return inferred


def _value_infos(graph):
    return [*graph.input, *graph.value_info, *graph.output]


def _shapes(graph) -> dict[str, tuple]:
    """Tensor name -> shape (a dimension None when unknown), for every tensor with a shape."""
    shapes = {}
    for vi in _value_infos(graph):
        tensor = vi.type.tensor_type
        if tensor.HasField("shape"):
            shapes[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim)
    shapes.update((init.name, tuple(init.dims)) for init in graph.initializer)
    return shapes


def _is_supported(node) -> bool:
    return node.domain in ("", "ai.onnx") and node.op_type in HANDLERS


def _attrs(node) -> dict:
    import onnx
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _nchw(shape) -> tuple[int, int, int, int]:
    """Any tensor as (batch, channels, rows, cols), for element-wise layers: only its
    element count matters, the first two dimensions are kept when there are any."""
    dims = list(shape) or [1]
    if len(dims) == 1:
        return 1, dims[0], 1, 1
    rows = math.prod(dims[2:-1]) if len(dims) > 3 else 1
    cols = dims[-1] if len(dims) > 2 else 1
    return dims[0], dims[1], rows, cols


class _Importer:
    """Walks the (topologically sorted) nodes once, building layers and their edges."""

    def __init__(self, path: Path, graph, bits, skip_unsupported: bool):
        self.path, self.graph, self.bits, self.skip = path, graph, bits, skip_unsupported
        self.shapes = _shapes(graph)
        self.constants = {init.name for init in graph.initializer}
        self.producers: dict[str, tuple] = {}      # tensor -> the layers whose outputs it carries
        self.conv_outputs: dict[str, object] = {}  # tensor -> the conv layer a BN may fold into
        self.uses: dict[str, int] = {}
        for node in graph.node:
            for name in node.input:
                self.uses[name] = self.uses.get(name, 0) + 1
        for out in graph.output:
            self.uses[out.name] = self.uses.get(out.name, 0) + 1
        self.builder = GraphBuilder(path.stem or "onnx")
        self.names: set[str] = set()
        self.unsupported: list[str] = []

    def run(self) -> None:
        """Builds the layers. Without ``skip``, it stops early (the caller reports it) at a
        shape an unsupported op left unknown: the unsupported op is the error to report."""
        for index, node in enumerate(self.graph.node):
            acts = [t for t in node.input if t and t not in self.constants]
            if not acts or node.op_type in METADATA_OPS:     # constant folding: no layer
                self.constants.update(o for o in node.output if o)
                continue
            name = self.current = self._name(node, index)
            try:
                if not _is_supported(node):
                    raise _Unsupported("unsupported op")
                HANDLERS[node.op_type](self, node, name, acts)
            except WorkloadError:
                if self.unsupported and not self.skip:
                    return
                raise
            except _Unsupported as why:
                domain = f"{node.domain}." if node.domain not in ("", "ai.onnx") else ""
                self.unsupported.append(f"{domain}{node.op_type} '{name}'"
                                        + ("" if str(why) == "unsupported op" else f" ({why})"))
                self._pass(node, acts)

    # -- helpers ---------------------------------------------------------------
    def _name(self, node, index: int) -> str:
        base = node.name or f"{node.op_type}_{index}"
        name, suffix = base, 1
        while name in self.names:
            suffix += 1
            name = f"{base}_{suffix}"
        self.names.add(name)
        return name

    def _shape(self, node, tensor: str) -> tuple[int, ...]:
        shape = self.shapes.get(tensor)
        if shape is None or any(d is None for d in shape):
            raise WorkloadError(f"{self.path}: node '{self.current}' ({node.op_type}): tensor '{tensor}' has "
                                + ("no shape" if shape is None else f"a symbolic shape {shape}") + " after shape "
                                "inference; export the model with static shapes (batch aside)")
        return shape

    def _spatial(self, node, tensor: str) -> tuple[int, int, int, int]:
        shape = self._shape(node, tensor)
        if len(shape) != 4:
            raise _Unsupported(f"only 2-D (NCHW) inputs; '{tensor}' has shape {shape}")
        return shape

    def _sources(self, tensors) -> tuple:
        return tuple(dict.fromkeys(layer for t in tensors for layer in self.producers.get(t, ())))

    def _emit(self, node, layer, acts) -> None:
        self.builder.add(layer, *self._sources(acts))
        for out in node.output:
            if out:
                self.producers[out] = (layer,)

    def _pass(self, node, acts) -> None:
        sources = self._sources(acts)
        for out in node.output:
            if out:
                self.producers[out] = sources

    def _window(self, node, in_hw, kernel, out_hw):
        """stride, symmetric padding and dilation of a conv or pool, the padding chosen
        so that hwsim's output size equals ONNX's where a symmetric pad can."""
        attrs = _attrs(node)
        strides = list(attrs.get("strides", [1, 1]))
        dilations = list(attrs.get("dilations", [1, 1]))
        auto_pad = attrs.get("auto_pad", b"NOTSET")
        auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            total = [max((-(-size // s) - 1) * s + d * (k - 1) + 1 - size, 0)
                     for size, k, s, d in zip(in_hw, kernel, strides, dilations)]
        elif auto_pad == "VALID":
            total = [0, 0]
        else:
            pads = list(attrs.get("pads", [0, 0, 0, 0]))
            total = [pads[0] + pads[2], pads[1] + pads[3]]
        padding = []
        for size, k, s, d, t, out in zip(in_hw, kernel, strides, dilations, total, out_hw):
            fits = [pad for pad in range(t // 2, t // 2 + s + 1) if conv_output_size(size, k, s, pad, d) == out]
            padding.append(min(fits, key=lambda pad: (pad != -(-t // 2), pad)) if fits else -(-t // 2))
        return tuple(strides), tuple(padding), tuple(dilations)

    # -- handlers --------------------------------------------------------------
    def conv(self, node, name, acts) -> None:
        n, c, h, w = self._spatial(node, node.input[0])
        k, _, *kernel = self._shape(node, node.input[1])
        _, _, p, q = self._spatial(node, node.output[0])
        group = _attrs(node).get("group", 1)
        stride, padding, dilation = self._window(node, (h, w), kernel, (p, q))
        if group == c == k:
            layer = depthwise_conv2d(name, c, (h, w), kernel, stride, padding, n, self.bits, dilation)
        else:
            layer = conv2d(name, c, k, (h, w), kernel, stride, padding, group, n, self.bits, dilation)
        if (layer.p, layer.q) != (p, q):
            layer = replace(layer, p=p, q=q)
        self._emit(node, layer, [node.input[0]])
        self.conv_outputs[node.output[0]] = layer

    def batchnorm(self, node, name, acts) -> None:
        x = node.input[0]
        foldable = (x in self.conv_outputs and self.uses.get(x) == 1 and len(acts) == 1
                    and sum(1 for o in node.output if o) == 1)
        if foldable:                            # ONNX Runtime's Conv+BN fusion: the conv absorbs it
            self._pass(node, acts)
            self.conv_outputs[node.output[0]] = self.conv_outputs[x]
            return
        self._elementwise(node, name, [x], "vector", ops_per_elem=BN_OPS_PER_ELEM)

    def eltwise(self, node, name, acts) -> None:
        self._elementwise(node, name, acts, ELTWISE[node.op_type])

    def softmax(self, node, name, acts) -> None:
        self._elementwise(node, name, acts, "softmax", ops_per_elem=SOFTMAX_OPS_PER_ELEM)

    def _elementwise(self, node, name, acts, op, ops_per_elem=None) -> None:
        n, c, h, w = _nchw(self._shape(node, node.output[0]))
        layer = eltwise(name, c, (h, w), op, inputs=len(acts), batch=n, bits=self.bits)
        read_elems = sum(math.prod(self._shape(node, t)) for t in acts)    # broadcast operands are smaller
        changes = {"read_bytes": int(read_elems * layer.input_bytes_per_elem)}
        if ops_per_elem is not None:
            changes["vector_ops"] = ops_per_elem * n * c * h * w
        self._emit(node, replace(layer, **changes), acts)

    def gemm(self, node, name, acts) -> None:
        a, b = self._shape(node, node.input[0]), self._shape(node, node.input[1])
        out = list(self._shape(node, node.output[0]))
        if node.op_type == "Gemm":
            depth = a[0] if _attrs(node).get("transA", 0) else a[1]
        else:                                   # MatMul drops the dimension of a 1-D operand
            depth = a[-1]
            out = out + [1] if len(b) == 1 else out
            out = out[:-1] + [1] + out[-1:] if len(a) == 1 else out
        cols = out[-1]
        if len(out) == 2:                       # (images, features): one row per image, as the zoo's FC
            rows, batch = 1, out[0]
        else:
            rows, batch = out[-2], math.prod(out[:-2])
        self._emit(node, matmul(name, rows, cols, depth, batch=batch, bits=self.bits), acts)

    def pool(self, node, name, acts) -> None:
        n, c, h, w = self._spatial(node, node.input[0])
        _, _, p, q = self._spatial(node, node.output[0])
        attrs = _attrs(node)
        if node.op_type.startswith("Global"):
            kernel = (h, w)
        else:
            kernel = tuple(attrs["kernel_shape"])
            if any(d != 1 for d in attrs.get("dilations", [1, 1])):
                raise _Unsupported("dilated pooling")
        kind = "max" if "Max" in node.op_type else "avg"
        if node.op_type == "GlobalAveragePool":
            layer = global_avgpool(name, c, (h, w), batch=n, bits=self.bits)
        else:
            stride, padding, _ = self._window(node, (h, w), kernel, (p, q))
            layer = pool2d(name, c, (h, w), kernel, stride, padding, batch=n, bits=self.bits, kind=kind)
        if (layer.p, layer.q) != (p, q):        # ceil_mode where no symmetric pad gives ONNX's size
            outputs = n * c * p * q
            layer = replace(layer, p=p, q=q, vector_ops=outputs * layer.r * layer.s,
                            write_bytes=int(outputs * layer.output_bytes_per_elem))
        self._emit(node, layer, acts)

    def passthrough(self, node, name, acts) -> None:
        self._pass(node, acts)


HANDLERS = {"Conv": _Importer.conv, "BatchNormalization": _Importer.batchnorm, "Softmax": _Importer.softmax,
            "Gemm": _Importer.gemm, "MatMul": _Importer.gemm,
            **{op: _Importer.eltwise for op in ELTWISE},
            **{op: _Importer.pool for op in ("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool")},
            **{op: _Importer.passthrough for op in PASS_THROUGH}}
SUPPORTED_OPS = tuple(sorted(HANDLERS))
