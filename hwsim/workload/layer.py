"""One DNN layer as a 7-D loop nest.

Every MAC layer is a convolution: N (batch), K (output channels), C (input
channels), P x Q (output rows x cols), R x S (filter rows x cols), plus stride,
padding, dilation and groups. ``K`` and ``C`` are totals over all groups, so a
grouped layer performs ``N * K * (C / groups) * P * Q * R * S`` MACs; depthwise is
``groups == C == K``. A matmul ``(m x k) @ (k x n)`` is the degenerate conv with
``P = m, Q = 1, C = k, K = n, R = S = 1``.

Precision is per tensor: ``input_bits``, ``weight_bits`` and ``output_bits``
(partial sums travel at the output precision). ``bits`` = max(input, weight) is
the MAC operand precision: it sizes the MAC (energy, datapath) and picks a GPU's
compute roof. Every constructor takes ``bits`` as one int for all three tensors
or as a mapping ``{"input": 8, "weight": 4, "output": 16}``.

Layers without MACs (pooling, element-wise ops) are *vector* layers: they carry
explicit operation and byte counts, and keep ``K = C`` channels and ``P x Q``
outputs only so that shape checks of a network still work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import WorkloadError

MAC_OPS = frozenset({"conv2d", "depthwise_conv2d", "matmul"})
VECTOR_OPS = frozenset({"maxpool", "avgpool", "add", "mul", "relu", "concat", "softmax", "vector"})
TENSORS = ("input", "weight", "output")
BITS_FIELDS = tuple(f"{tensor}_bits" for tensor in TENSORS)


def _pair(value, field: str, name: str) -> tuple[int, int]:
    """An int or a (rows, cols) pair of ints; anything else is an error, never truncated."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in pair):
        raise WorkloadError(f"layer '{name}': field '{field}' = {value!r}: expected an int or a pair (rows, cols) of ints")
    return int(pair[0]), int(pair[1])


def _is_int(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def _check_int(name: str, field: str, value, minimum: int) -> None:
    if not _is_int(value) or value < minimum:
        raise WorkloadError(f"layer '{name}': field '{field}' = {value!r}: expected an integer >= {minimum}")


def tensor_bits(bits, where: str) -> dict[str, int]:
    """``bits`` as the Layer fields ``{"input_bits": .., "weight_bits": .., "output_bits": ..}``.

    ``bits`` is one int for every tensor, or a mapping with exactly the keys
    ``input``, ``weight`` and ``output``. ``where`` (e.g. ``"layer 'conv1'"``)
    starts the WorkloadError message for a bad value or key.
    """
    if not isinstance(bits, Mapping):
        if not _is_int(bits) or bits < 1:
            raise WorkloadError(f"{where}: field 'bits' = {bits!r}: expected an integer >= 1 or a mapping "
                                "{'input': .., 'weight': .., 'output': ..}")
        return {field: int(bits) for field in BITS_FIELDS}
    unknown = [key for key in bits if key not in TENSORS]
    missing = [key for key in TENSORS if key not in bits]
    if unknown or missing:
        problem = f"unknown key {unknown[0]!r}" if unknown else f"missing key {missing[0]!r}"
        raise WorkloadError(f"{where}: field 'bits' = {dict(bits)!r}: {problem}; "
                            "valid: exactly the keys 'input', 'weight', 'output'")
    for key in TENSORS:
        if not _is_int(bits[key]) or bits[key] < 1:
            raise WorkloadError(f"{where}: field 'bits' = {dict(bits)!r}: key {key!r} = {bits[key]!r}: "
                                "expected an integer >= 1")
    return {f"{key}_bits": int(bits[key]) for key in TENSORS}


@dataclass(frozen=True)
class Layer:
    """A layer of a network; construct it with :func:`conv2d`, :func:`matmul`, ..."""

    name: str
    op: str
    n: int
    k: int
    c: int
    p: int
    q: int
    r: int = 1
    s: int = 1
    groups: int = 1
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    in_size: tuple[int, int] = (1, 1)
    input_bits: int = 8
    weight_bits: int = 8
    output_bits: int = 8
    vector_ops: int = 0
    read_bytes: int = 0
    write_bytes: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise WorkloadError(f"layer name {self.name!r}: expected a non-empty string")
        if self.op not in MAC_OPS | VECTOR_OPS:
            valid = ", ".join(sorted(MAC_OPS | VECTOR_OPS))
            raise WorkloadError(f"layer '{self.name}': field 'op' = {self.op!r}: unknown op; valid: {valid}")
        positive = ("n", "k", "c", "p", "q", "r", "s", "groups") + BITS_FIELDS
        for field in positive:
            _check_int(self.name, field, getattr(self, field), 1)
        for field in ("vector_ops", "read_bytes", "write_bytes"):
            _check_int(self.name, field, getattr(self, field), 0)
        for field in positive + ("vector_ops", "read_bytes", "write_bytes"):
            object.__setattr__(self, field, int(getattr(self, field)))  # numpy ints become plain ints
        if self.c % self.groups or self.k % self.groups:
            raise WorkloadError(
                f"layer '{self.name}': field 'groups' = {self.groups}: in_channels ({self.c}) and "
                f"out_channels ({self.k}) must both be divisible by groups"
            )

    # -- loop-nest views -------------------------------------------------------
    @property
    def is_mac(self) -> bool:
        return self.op in MAC_OPS

    @property
    def c_per_group(self) -> int:
        return self.c // self.groups

    @property
    def k_per_group(self) -> int:
        return self.k // self.groups

    @property
    def macs(self) -> int:
        if not self.is_mac:
            return 0
        return self.n * self.k * self.c_per_group * self.p * self.q * self.r * self.s

    # -- tensor sizes (elements) ----------------------------------------------
    @property
    def input_elems(self) -> int:
        return self.n * self.c * self.in_size[0] * self.in_size[1]

    @property
    def weight_elems(self) -> int:
        return self.k * self.c_per_group * self.r * self.s if self.is_mac else 0

    @property
    def output_elems(self) -> int:
        return self.n * self.k * self.p * self.q

    # -- precision -------------------------------------------------------------
    @property
    def bits(self) -> int:
        """MAC operand precision, max(input_bits, weight_bits): MAC energy and datapath."""
        return max(self.input_bits, self.weight_bits)

    @property
    def input_bytes_per_elem(self) -> float:
        return self.input_bits / 8

    @property
    def weight_bytes_per_elem(self) -> float:
        return self.weight_bits / 8

    @property
    def output_bytes_per_elem(self) -> float:
        return self.output_bits / 8

    @property
    def compulsory_bytes(self) -> float:
        """Bytes that must cross the chip boundary at least once: each input, weight
        and output element once, at its tensor's precision (vector layers: their
        stated read and write bytes)."""
        if not self.is_mac:
            return float(self.read_bytes + self.write_bytes)
        return (self.input_elems * self.input_bytes_per_elem + self.weight_elems * self.weight_bytes_per_elem
                + self.output_elems * self.output_bytes_per_elem)

    def shape_key(self) -> tuple:
        """Everything a cost model sees; layers with equal keys are costed once."""
        return (self.op, self.n, self.k, self.c, self.p, self.q, self.r, self.s, self.groups,
                self.stride, self.padding, self.dilation, self.in_size,
                self.input_bits, self.weight_bits, self.output_bits,
                self.vector_ops, self.read_bytes, self.write_bytes)

    def renamed(self, name: str) -> "Layer":
        from dataclasses import replace
        return replace(self, name=name)


# -- constructors --------------------------------------------------------------

def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """Output extent of a convolution (floor convention, as PyTorch and ONNX use)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def conv2d(name, in_channels, out_channels, in_size=(1, 1), kernel=(1, 1), stride=1, padding=0,
           groups=1, batch=1, bits=8, dilation=1, op="conv2d") -> Layer:
    """A 2-D convolution; ``in_size`` is the unpadded input (H, W); ``bits`` an int or
    ``{"input": .., "weight": .., "output": ..}``."""
    precision = tensor_bits(bits, f"layer '{name}'")
    h, w = _pair(in_size, "in_size", name)
    r, s = _pair(kernel, "kernel", name)
    sh, sw = _pair(stride, "stride", name)
    ph, pw = _pair(padding, "padding", name)
    dh, dw = _pair(dilation, "dilation", name)
    for field, value in (("in_size", h), ("in_size", w), ("kernel", r), ("kernel", s),
                         ("stride", sh), ("stride", sw), ("dilation", dh), ("dilation", dw)):
        if value < 1:
            raise WorkloadError(f"layer '{name}': field '{field}' = {value}: expected >= 1")
    if ph < 0 or pw < 0:
        raise WorkloadError(f"layer '{name}': field 'padding' = {padding!r}: expected >= 0")
    if dh * (r - 1) + 1 > h + 2 * ph or dw * (s - 1) + 1 > w + 2 * pw:
        raise WorkloadError(
            f"layer '{name}': field 'kernel' = {(r, s)}: larger than the padded input "
            f"{(h + 2 * ph, w + 2 * pw)}"
        )
    p = conv_output_size(h, r, sh, ph, dh)
    q = conv_output_size(w, s, sw, pw, dw)
    return Layer(name=name, op=op, n=batch, k=out_channels, c=in_channels, p=p, q=q, r=r, s=s,
                 groups=groups, stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw),
                 in_size=(h, w), **precision)


def depthwise_conv2d(name, channels, in_size=(1, 1), kernel=(3, 3), stride=1, padding=0,
                     batch=1, bits=8, dilation=1) -> Layer:
    """A depthwise convolution: one filter per channel (groups = channels)."""
    return conv2d(name, channels, channels, in_size, kernel, stride, padding, groups=channels,
                  batch=batch, bits=bits, dilation=dilation, op="depthwise_conv2d")


def matmul(name, m, n, k, batch=1, bits=8) -> Layer:
    """``(m x k) @ (k x n)``; ``batch`` independent products share the weights."""
    for field, value in (("m", m), ("n", n), ("k", k)):
        _check_int(name, field, value, 1)
    precision = tensor_bits(bits, f"layer '{name}'")
    return Layer(name=name, op="matmul", n=batch, k=n, c=k, p=m, q=1, in_size=(m, 1), **precision)


def pool2d(name, channels, in_size, kernel, stride=None, padding=0, batch=1, bits=8, kind="max") -> Layer:
    """Max or average pooling: one compare/add per window element; reads its input at
    the input precision and writes its output at the output precision."""
    precision = tensor_bits(bits, f"layer '{name}'")
    h, w = _pair(in_size, "in_size", name)
    r, s = _pair(kernel, "kernel", name)
    sh, sw = _pair(stride if stride is not None else kernel, "stride", name)
    ph, pw = _pair(padding, "padding", name)
    if r > h + 2 * ph or s > w + 2 * pw:
        raise WorkloadError(f"layer '{name}': field 'kernel' = {(r, s)}: larger than the padded input {(h + 2 * ph, w + 2 * pw)}")
    p, q = conv_output_size(h, r, sh, ph), conv_output_size(w, s, sw, pw)
    if kind not in ("max", "avg"):
        raise WorkloadError(f"layer '{name}': field 'kind' = {kind!r}: expected 'max' or 'avg'")
    in_bytes, out_bytes = precision["input_bits"] / 8, precision["output_bits"] / 8
    return Layer(name=name, op=f"{kind}pool", n=batch, k=channels, c=channels, p=p, q=q, r=r, s=s,
                 groups=channels, stride=(sh, sw), padding=(ph, pw), in_size=(h, w), **precision,
                 vector_ops=batch * channels * p * q * r * s,
                 read_bytes=int(batch * channels * h * w * in_bytes),
                 write_bytes=int(batch * channels * p * q * out_bytes))


def global_avgpool(name, channels, in_size, batch=1, bits=8) -> Layer:
    h, w = _pair(in_size, "in_size", name)
    return pool2d(name, channels, (h, w), (h, w), stride=1, batch=batch, bits=bits, kind="avg")


def eltwise(name, channels, size, op="add", inputs=2, batch=1, bits=8) -> Layer:
    """An element-wise op over ``inputs`` tensors of shape (batch, channels, *size), read
    at the input precision; the result is written at the output precision."""
    precision = tensor_bits(bits, f"layer '{name}'")
    h, w = _pair(size, "size", name)
    elems = batch * channels * h * w
    in_bytes, out_bytes = precision["input_bits"] / 8, precision["output_bits"] / 8
    return Layer(name=name, op=op, n=batch, k=channels, c=channels, p=h, q=w, groups=channels,
                 in_size=(h, w), **precision, vector_ops=elems * max(inputs - 1, 1),
                 read_bytes=int(elems * inputs * in_bytes), write_bytes=int(elems * out_bytes))


def vector_op(name, ops, read_bytes, write_bytes, op="vector") -> Layer:
    """Any op without MACs, given by its operation and byte counts."""
    return Layer(name=name, op=op, n=1, k=1, c=1, p=1, q=1, vector_ops=ops,
                 read_bytes=read_bytes, write_bytes=write_bytes)
