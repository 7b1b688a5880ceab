"""Field parsing shared by the layer-file loaders (MAESTRO, SCALE-Sim)."""

from __future__ import annotations

from ..errors import WorkloadError, read_text
from .layer import MAX_DIM


def read_layer_file(path, what: str) -> str:
    """The text of a layer CSV: UTF-8 with or without a byte-order mark (as Excel
    writes them); a binary or unreadable file is a one-line WorkloadError."""
    return read_text(path, what, WorkloadError)


def positive_int(path, row_no: int, field: str, text: str, maximum: int = MAX_DIM) -> int:
    """``text`` as an integer in [1, maximum], or a WorkloadError naming file, row,
    field and value. The maximum is hwsim's largest layer dimension (2**24), so a
    size like 1e8 is refused here, with its field, instead of overflowing a model."""
    text = (text or "").strip()
    try:
        value = int(text)
    except ValueError:
        raise WorkloadError(f"{path}: row {row_no}: field '{field}' = {text!r}: expected an integer") from None
    if value < 1:
        raise WorkloadError(f"{path}: row {row_no}: field '{field}' = {value}: expected an integer >= 1")
    if value > maximum:
        raise WorkloadError(f"{path}: row {row_no}: field '{field}' = {value}: expected an integer "
                            f"1 <= value <= {maximum} (2**{maximum.bit_length() - 1}), hwsim's largest layer dimension")
    return value
