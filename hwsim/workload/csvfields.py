"""Field parsing shared by the layer-file loaders (MAESTRO, SCALE-Sim)."""

from __future__ import annotations

from ..errors import WorkloadError


def positive_int(path, row_no: int, field: str, text: str) -> int:
    """``text`` as an integer >= 1, or a WorkloadError naming file, row, field and value."""
    text = (text or "").strip()
    try:
        value = int(text)
    except ValueError:
        raise WorkloadError(f"{path}: row {row_no}: field '{field}' = {text!r}: expected an integer") from None
    if value < 1:
        raise WorkloadError(f"{path}: row {row_no}: field '{field}' = {value}: expected an integer >= 1")
    return value
