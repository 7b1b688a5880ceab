"""Load MAESTRO layer tables (``layer,type,stride,K,C,R,S,Y,X,N``).

MAESTRO's conventions, kept so the same file gives the same shapes as in MAESTRO:

* ``Y, X`` are the input size *without* padding, and MAESTRO never pads: the
  output is ``(Y - R) // stride + 1`` (so ResNet-50's 3x3 layers on 56x56 give
  54x54, not 56x56 as in PyTorch);
* ``type`` is ``CONV`` or ``DSCONV`` (depthwise: ``C`` channels, one filter each,
  written ``K = 1`` as in MAESTRO's own files; ``K = C`` is accepted too, any other
  ``K`` is an error rather than silently ignored);
* the file is UTF-8 with or without a byte-order mark, and header names and values
  may have spaces around them (``layer, type, stride, ...``);
* rows are a flat list, not a graph: the network is a chain without shape checks
  (MAESTRO's ResNet-50 lists residual adds as 1x1 DSCONV layers).
"""

from __future__ import annotations

import csv
from pathlib import Path

from ..errors import WorkloadError
from .csvfields import positive_int, read_layer_file
from .layer import conv2d, depthwise_conv2d
from .network import Network

MAESTRO_COLUMNS = ("layer", "type", "stride", "K", "C", "R", "S", "Y", "X", "N")


def load_maestro_layers(path, bits: int = 8, name: str | None = None) -> Network:
    """Read a MAESTRO layer CSV into a :class:`Network` (a chain, no shape checks)."""
    path = Path(path)
    header, rows = _read_table(path)
    missing = [c for c in MAESTRO_COLUMNS if c not in header]
    if header and missing:
        raise WorkloadError(f"{path}: field(s) {missing} missing from the header; expected {','.join(MAESTRO_COLUMNS)}")
    if not rows:
        raise WorkloadError(f"{path}: no layers; expected a header {','.join(MAESTRO_COLUMNS)} and one row per layer")
    layers = [_maestro_row(path, row_no, row, bits) for row_no, row in rows]
    layers = _unique_names(layers)
    return Network.sequential(name or path.stem.removesuffix("_layers"), layers, check_shapes=False)


def _read_table(path: Path) -> tuple[list[str], list[tuple[int, dict]]]:
    """The header (names stripped) and, per non-blank data row, its line number and
    ``{column: value}`` (values stripped; a short row lacks its last columns)."""
    text = read_layer_file(path, "a MAESTRO layer file (layer,type,stride,K,C,R,S,Y,X,N)")
    reader = csv.reader(text.splitlines())
    header = [h.strip() for h in next(reader, [])]
    rows = [(reader.line_num, {h: v.strip() for h, v in zip(header, values)})
            for values in reader if any(v.strip() for v in values)]
    return header, rows


def _unique_names(layers):
    """MAESTRO's own files repeat names (Resnet50: CONV3_1_Residual, MobileNetV2:
    Bottleneck5_2_3); keep every row, suffixing a repeat with '#<occurrence>'."""
    seen: dict[str, int] = {}
    out = []
    for layer in layers:
        count = seen.get(layer.name, 0) + 1
        seen[layer.name] = count
        out.append(layer if count == 1 else layer.renamed(f"{layer.name}#{count}"))
    return out


def _maestro_row(path, row_no, row, bits):
    f = {field: positive_int(path, row_no, field, row.get(field)) for field in MAESTRO_COLUMNS[2:]}
    kind = row.get("type", "").upper()
    name = row.get("layer", "")
    if kind not in ("CONV", "DSCONV"):
        raise WorkloadError(f"{path}: row {row_no}: field 'type' = {kind!r}: expected CONV or DSCONV")
    if kind == "DSCONV" and f["K"] not in (1, f["C"]):
        raise WorkloadError(f"{path}: row {row_no}: field 'K' = {f['K']}: a DSCONV (depthwise) row has one "
                            f"filter per channel; expected K = 1 (MAESTRO's convention) or K = C ({f['C']})")
    common = dict(in_size=(f["Y"], f["X"]), kernel=(f["R"], f["S"]), stride=f["stride"],
                  padding=0, batch=f["N"], bits=bits)
    try:
        if kind == "CONV":
            return conv2d(name, f["C"], f["K"], **common)
        return depthwise_conv2d(name, f["C"], **common)
    except WorkloadError as exc:    # name the file and row too
        raise WorkloadError(f"{path}: row {row_no}: {exc}") from None
