"""Load SCALE-Sim topology CSVs (convolution or GEMM format) into a :class:`Network`.

SCALE-Sim's conventions (scalesim-project/scale-sim-v2 and -v3, ``topology_utils.py``
and ``compute/operand_matrix.py``), kept so the same file gives the same layer shapes:

* **Convolution format**: ``Layer name, IFMAP Height, IFMAP Width, Filter Height,
  Filter Width, Channels, Num Filter, Strides,`` (one stride for both directions), or
  with two stride columns (``Stride height, Stride width``). Every row ends with a
  trailing comma; SCALE-Sim drops the last comma-separated field. This loader accepts
  rows with or without it, surrounding whitespace and tabs, blank lines, ``#``
  comments and a UTF-8 byte-order mark; columns after the strides (e.g. sparsity fields of newer files) are ignored.
* **Output size**: SCALE-Sim never pads explicitly; it computes
  ``ofmap = ceil((ifmap - filter + stride) / stride)``, i.e. ``ceil((H - R) / stride) + 1``.
  When ``(H - R)`` is not a multiple of the stride, the last window runs past the input
  and SCALE-Sim's operand matrix marks those addresses as padding (``-1``): an
  *implicit* zero padding of ``extra = (P - 1) * stride + R - H`` rows at the bottom
  (columns at the right). hwsim's :class:`Layer` has symmetric padding, so the loader
  sets ``padding = ceil(extra / 2)``, the smallest symmetric padding for which hwsim's
  floor convention gives the same ``P`` (for ``stride = 1`` it is 0). MACs, tensor
  sizes and the systolic model's GEMM shapes are then identical to SCALE-Sim's.
  Example: AlexNet Conv1, 224 x 224, 11 x 11, stride 4 -> 55 x 55 (padding 2);
  SCALE-Sim reports 290,400 = 55 * 55 * 96 OFMAP writes.
* **Depthwise**: SCALE-Sim treats a layer whose name contains ``DP`` (case-sensitive)
  as ``Channels`` separate one-channel layers with ``Num Filter`` filters each. hwsim
  loads it as one grouped layer (``groups = Channels``, ``Num Filter`` filters per
  group); the systolic model runs groups one after another, as SCALE-Sim runs the
  per-channel layers.
* **GEMM format** (SCALE-Sim v2.x/v3 ``mnk`` inputs): header ``Layer, M, N, K,``; a row
  is ``(M x K) @ (K x N)``, which SCALE-Sim maps to an ``M x K`` ifmap with a ``1 x K``
  filter, one channel and ``N`` filters. hwsim loads it as ``matmul(m=M, n=N, k=K)``,
  which the systolic model lowers to the same GEMM. The format is recognised from the
  header (columns 2-4 named M, N, K).
* SCALE-Sim's batch is 1; rows are a flat list (pooling layers are left out), so the
  network is a chain without shape checks. Repeated layer names get ``_2``, ``_3``, ...
"""

from __future__ import annotations

import math
from pathlib import Path

from ..errors import WorkloadError
from .csvfields import positive_int, read_layer_file
from .layer import Layer, conv2d, matmul
from .network import Network

CONV_FIELDS = ("IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width", "Channels",
               "Num Filter", "Stride height", "Stride width")
GEMM_FIELDS = ("M", "N", "K")

__all__ = ["load_scalesim_topology", "scalesim_output_size", "CONV_FIELDS", "GEMM_FIELDS"]


def scalesim_output_size(size: int, kernel: int, stride: int) -> int:
    """SCALE-Sim's output extent: ``ceil((size - kernel + stride) / stride)``."""
    return -(-(size - kernel + stride) // stride)


def _split(line: str) -> list[str]:
    """Fields of one CSV line: comment removed, whitespace stripped, trailing empties dropped."""
    line = line.split("#", 1)[0]
    fields = [f.strip() for f in line.split(",")]
    while fields and fields[-1] == "":
        fields.pop()
    return fields


def load_scalesim_topology(path, bits: int = 8, name: str | None = None) -> Network:
    """Read a SCALE-Sim topology CSV (convolution or GEMM format) into a chain Network.

    ``bits`` is the precision of every tensor (SCALE-Sim's word is 1 byte); ``name``
    defaults to the file stem.
    """
    path = Path(path)
    text = read_layer_file(path, "a SCALE-Sim topology file ('Layer name, IFMAP Height, ...' or 'Layer, M, N, K')")
    numbered = [(i + 1, _split(line)) for i, line in enumerate(text.splitlines())]
    numbered = [(i, f) for i, f in numbered if f]
    if not numbered:
        raise WorkloadError(f"{path}: empty topology; expected a header 'Layer name, "
                            f"{', '.join(CONV_FIELDS[:7])}, Strides,' (or 'Layer, M, N, K,') and one row per layer")
    _, header = numbered[0]
    is_gemm = [h.upper() for h in header[1:4]] == list(GEMM_FIELDS)
    if not is_gemm and (len(header) < 8 or not header[1].lower().startswith("ifmap")):
        raise WorkloadError(f"{path}: row {numbered[0][0]}: field 'header' = {','.join(header)!r}: expected "
                            f"'Layer name, {', '.join(CONV_FIELDS[:7])}, Strides' or 'Layer, M, N, K'")
    two_strides = not is_gemm and len(header) >= 9 and "stride" in header[8].lower()
    parse = _gemm_row if is_gemm else _conv_row
    layers: list[Layer] = []
    seen: dict[str, int] = {}
    for row_no, fields in numbered[1:]:
        layer = parse(path, row_no, fields, bits, two_strides)
        count = seen.get(layer.name, 0) + 1
        seen[layer.name] = count
        if count > 1:
            layer = layer.renamed(f"{layer.name}_{count}")
        layers.append(layer)
    if not layers:
        raise WorkloadError(f"{path}: no layers after the header")
    return Network.sequential(name or path.stem, layers, check_shapes=False)


def _conv_row(path, row_no, fields, bits, two_strides) -> Layer:
    needed = 8 if two_strides else 7
    if len(fields) < 1 + needed:
        raise WorkloadError(f"{path}: row {row_no}: field 'columns' = {len(fields)}: expected {1 + needed} "
                            f"(Layer name, {', '.join(CONV_FIELDS[:needed])})")
    name = fields[0]
    if not name:
        raise WorkloadError(f"{path}: row {row_no}: field 'Layer name' = '': expected a name")
    labels = CONV_FIELDS[:6] + (CONV_FIELDS[6:8] if two_strides else ("Strides",))
    v = dict(zip(labels, (positive_int(path, row_no, f, t) for f, t in zip(labels, fields[1:1 + needed]))))
    h, w, r, s = v["IFMAP Height"], v["IFMAP Width"], v["Filter Height"], v["Filter Width"]
    sh = v.get("Stride height", v.get("Strides"))
    sw = v.get("Stride width", v.get("Strides"))
    for field, kernel, size in (("Filter Height", r, h), ("Filter Width", s, w)):
        if kernel > size:   # SCALE-Sim asserts the same (its ISSUE #9 fix)
            raise WorkloadError(f"{path}: row {row_no}: field '{field}' = {kernel}: larger than the IFMAP ({size})")
    p, q = scalesim_output_size(h, r, sh), scalesim_output_size(w, s, sw)
    pad = (math.ceil(((p - 1) * sh + r - h) / 2), math.ceil(((q - 1) * sw + s - w) / 2))
    channels, filters = v["Channels"], v["Num Filter"]
    groups = channels if "DP" in name else 1
    out_channels = filters * groups
    op = "depthwise_conv2d" if groups > 1 and filters == 1 else "conv2d"
    layer = _build(path, row_no, conv2d, name, channels, out_channels, in_size=(h, w), kernel=(r, s),
                   stride=(sh, sw), padding=pad, groups=groups, bits=bits, op=op)
    assert (layer.p, layer.q) == (p, q), "implicit padding must reproduce SCALE-Sim's output size"
    return layer


def _gemm_row(path, row_no, fields, bits, two_strides) -> Layer:
    if len(fields) < 4:
        raise WorkloadError(f"{path}: row {row_no}: field 'columns' = {len(fields)}: expected 4 (Layer, M, N, K)")
    m, n, k = (positive_int(path, row_no, f, t) for f, t in zip(GEMM_FIELDS, fields[1:4]))
    if not fields[0]:
        raise WorkloadError(f"{path}: row {row_no}: field 'Layer' = '': expected a name")
    return _build(path, row_no, matmul, fields[0], m=m, n=n, k=k, bits=bits)


def _build(path, row_no, constructor, *args, **kwargs) -> Layer:
    """``constructor(*args, **kwargs)``, its WorkloadError prefixed with file and row."""
    try:
        return constructor(*args, **kwargs)
    except WorkloadError as exc:
        raise WorkloadError(f"{path}: row {row_no}: {exc}") from None
