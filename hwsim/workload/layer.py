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

# Documented maxima (README "Errors"). Each dimension of the loop nest (batch,
# channels, sizes, kernel, stride, padding, dilation, groups) is at most MAX_DIM:
# ample for any DNN layer (a 16-million-row matmul) and small enough that the
# models' per-dimension arrays and products stay exact. Counts (MACs, tensor
# elements, vector ops, bytes) are at most MAX_COUNT = 2**62, so that the int64
# arrays the models compute with never overflow, with a factor 2 to spare.
MAX_DIM = 2**24
MAX_COUNT = 2**62
MAX_BITS = 64
VECTOR_OPS = frozenset({"maxpool", "avgpool", "add", "mul", "relu", "concat", "softmax", "vector"})
TENSORS = ("input", "weight", "output")
BITS_FIELDS = tuple(f"{tensor}_bits" for tensor in TENSORS)
DIM_FIELDS = ("n", "k", "c", "p", "q", "r", "s", "groups")
COUNT_FIELDS = ("vector_ops", "read_bytes", "write_bytes")
PAIR_FIELDS = {"stride": 1, "padding": 0, "dilation": 1, "in_size": 1}   # field -> minimum


def _pair(value, field: str, name: str) -> tuple[int, int]:
    """An int or a (rows, cols) pair of ints; anything else is an error, never truncated."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in pair):
        raise WorkloadError(f"layer '{name}': field '{field}' = {value!r}: expected an int or a pair (rows, cols) of ints")
    return int(pair[0]), int(pair[1])


def _checked_pair(name: str, field: str, value, minimum: int) -> tuple[int, int]:
    """A (rows, cols) field of a Layer, each entry an int in [minimum, MAX_DIM]."""
    pair = _pair(value, field, name)
    for entry in pair:
        if not minimum <= entry <= MAX_DIM:
            raise WorkloadError(f"layer '{name}': field '{field}' = {value!r}: expected integers "
                                f"{minimum} <= value <= {MAX_DIM} ({_power_of_two(MAX_DIM)})")
    return pair


def _is_int(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def _check_int(name: str, field: str, value, minimum: int, maximum: int | None = None) -> None:
    if not _is_int(value) or value < minimum:
        raise WorkloadError(f"layer '{name}': field '{field}' = {value!r}: expected an integer >= {minimum}")
    if maximum is not None and value > maximum:
        raise WorkloadError(f"layer '{name}': field '{field}' = {value!r}: expected an integer "
                            f"{minimum} <= value <= {maximum} ({_power_of_two(maximum)})")


def _power_of_two(value: int) -> str:
    return f"2**{value.bit_length() - 1}"


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
        if bits > MAX_BITS:
            raise WorkloadError(f"{where}: field 'bits' = {bits!r}: expected an integer 1 <= bits <= {MAX_BITS}")
        return {field: int(bits) for field in BITS_FIELDS}
    unknown = [key for key in bits if key not in TENSORS]
    missing = [key for key in TENSORS if key not in bits]
    if unknown or missing:
        problem = f"unknown key {unknown[0]!r}" if unknown else f"missing key {missing[0]!r}"
        raise WorkloadError(f"{where}: field 'bits' = {dict(bits)!r}: {problem}; "
                            "valid: exactly the keys 'input', 'weight', 'output'")
    for key in TENSORS:
        if not _is_int(bits[key]) or not 1 <= bits[key] <= MAX_BITS:
            raise WorkloadError(f"{where}: field 'bits' = {dict(bits)!r}: key {key!r} = {bits[key]!r}: "
                                f"expected an integer >= 1 (at most {MAX_BITS})")
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
        for field, minimum in PAIR_FIELDS.items():
            object.__setattr__(self, field, _checked_pair(self.name, field, getattr(self, field), minimum))
        for field in DIM_FIELDS:
            _check_int(self.name, field, getattr(self, field), 1, MAX_DIM)
        for field in BITS_FIELDS:
            _check_int(self.name, field, getattr(self, field), 1, MAX_BITS)
        for field in COUNT_FIELDS:
            _check_int(self.name, field, getattr(self, field), 0, MAX_COUNT)
        for field in DIM_FIELDS + BITS_FIELDS + COUNT_FIELDS:
            object.__setattr__(self, field, int(getattr(self, field)))  # numpy ints become plain ints
        if self.c % self.groups or self.k % self.groups:
            raise WorkloadError(
                f"layer '{self.name}': field 'groups' = {self.groups}: in_channels ({self.c}) and "
                f"out_channels ({self.k}) must both be divisible by groups"
            )
        self._check_counts()

    def _check_counts(self) -> None:
        """MACs and tensor sizes must fit the models' int64 arithmetic (MAX_COUNT)."""
        for field in ("macs", "input_elems", "weight_elems", "output_elems"):
            value = getattr(self, field)
            if value > MAX_COUNT:
                raise WorkloadError(
                    f"layer '{self.name}': field '{field}' = {value:,}: exceeds the limit 2**62 "
                    f"({MAX_COUNT:,}) that keeps hwsim's int64 arithmetic exact; split the layer (e.g. over the batch)")

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


def _window(name, in_size, kernel, stride, padding, dilation=1) -> tuple[tuple[int, int], ...]:
    """``(h, w), (r, s), (sh, sw), (ph, pw), (dh, dw)`` of a sliding-window layer
    (convolution or pooling), checked before any arithmetic: sizes, kernel, stride
    and dilation >= 1, padding >= 0, each at most MAX_DIM, and the dilated kernel
    no larger than the padded input."""
    given = {"in_size": in_size, "kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation}
    pairs = {field: _pair(value, field, name) for field, value in given.items()}
    for field, pair in pairs.items():
        low = 0 if field == "padding" else 1
        for value in pair:
            if value < low:
                shown = given[field] if field == "padding" else value
                raise WorkloadError(f"layer '{name}': field '{field}' = {shown}: expected >= {low}")
            if value > MAX_DIM:
                raise WorkloadError(f"layer '{name}': field '{field}' = {value}: expected <= {MAX_DIM} "
                                    f"({_power_of_two(MAX_DIM)}), hwsim's largest layer dimension")
    (h, w), (r, s), _, (ph, pw), (dh, dw) = pairs.values()
    if dh * (r - 1) + 1 > h + 2 * ph or dw * (s - 1) + 1 > w + 2 * pw:
        raise WorkloadError(f"layer '{name}': field 'kernel' = {(r, s)}: larger than the padded input "
                            f"{(h + 2 * ph, w + 2 * pw)}")
    return tuple(pairs.values())


def conv2d(name, in_channels, out_channels, in_size=(1, 1), kernel=(1, 1), stride=1, padding=0,
           groups=1, batch=1, bits=8, dilation=1, op="conv2d") -> Layer:
    """A 2-D convolution; ``in_size`` is the unpadded input (H, W); ``bits`` an int or
    ``{"input": .., "weight": .., "output": ..}``."""
    precision = tensor_bits(bits, f"layer '{name}'")
    (h, w), (r, s), (sh, sw), (ph, pw), (dh, dw) = _window(name, in_size, kernel, stride, padding, dilation)
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
        _check_int(name, field, value, 1, MAX_DIM)
    precision = tensor_bits(bits, f"layer '{name}'")
    return Layer(name=name, op="matmul", n=batch, k=n, c=k, p=m, q=1, in_size=(m, 1), **precision)


def pool2d(name, channels, in_size, kernel, stride=None, padding=0, batch=1, bits=8, kind="max") -> Layer:
    """Max or average pooling: one compare/add per window element; reads its input at
    the input precision and writes its output at the output precision."""
    precision = tensor_bits(bits, f"layer '{name}'")
    _check_int(name, "channels", channels, 1, MAX_DIM)
    _check_int(name, "batch", batch, 1, MAX_DIM)
    (h, w), (r, s), (sh, sw), (ph, pw), _ = _window(name, in_size, kernel, kernel if stride is None else stride,
                                                     padding)
    if kind not in ("max", "avg"):
        raise WorkloadError(f"layer '{name}': field 'kind' = {kind!r}: expected 'max' or 'avg'")
    p, q = conv_output_size(h, r, sh, ph), conv_output_size(w, s, sw, pw)
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
    for field, value in (("channels", channels), ("batch", batch), ("size", h), ("size", w), ("inputs", inputs)):
        _check_int(name, field, value, 1, MAX_DIM)
    elems = batch * channels * h * w
    in_bytes, out_bytes = precision["input_bits"] / 8, precision["output_bits"] / 8
    return Layer(name=name, op=op, n=batch, k=channels, c=channels, p=h, q=w, groups=channels,
                 in_size=(h, w), **precision, vector_ops=elems * max(inputs - 1, 1),
                 read_bytes=int(elems * inputs * in_bytes), write_bytes=int(elems * out_bytes))


def vector_op(name, ops, read_bytes, write_bytes, op="vector") -> Layer:
    """Any op without MACs, given by its operation and byte counts."""
    return Layer(name=name, op=op, n=1, k=1, c=1, p=1, q=1, vector_ops=ops,
                 read_bytes=read_bytes, write_bytes=write_bytes)
