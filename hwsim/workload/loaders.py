"""One entry point for "a network the user named": a zoo name or a layer file.

Layer files are recognised by their header: MAESTRO layer tables start with
``layer,type,stride``; SCALE-Sim topologies with ``Layer name``.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import WorkloadError
from .network import Network
from . import zoo


def load_network(name_or_path: str, batch: int | None = None, bits: int | None = None) -> Network:
    """A zoo network (``"resnet50"``) or a MAESTRO / SCALE-Sim CSV file."""
    path = Path(name_or_path)
    if path.suffix.lower() != ".csv":
        kwargs = {k: v for k, v in (("batch", batch), ("bits", bits)) if v is not None}
        return zoo.get_network(str(name_or_path), **kwargs)
    if batch is not None:
        raise WorkloadError(f"{path}: field 'batch' = {batch}: a layer file sets its own batch; drop --batch")
    try:
        header = path.read_text().lstrip().splitlines()[0].lower() if path.is_file() else ""
    except (OSError, IndexError):
        header = ""
    bits = 8 if bits is None else bits
    if header.replace(" ", "").startswith("layer,type,stride"):
        from .maestro import load_maestro_layers
        return load_maestro_layers(path, bits=bits)
    if header.startswith("layer name"):
        from .scalesim import load_scalesim_topology
        return load_scalesim_topology(path, bits=bits)
    if not path.is_file():
        raise WorkloadError(f"{path}: network file not found")
    raise WorkloadError(f"{path}: field 'header' = {header[:40]!r}: not a MAESTRO layer table "
                        "('layer,type,stride,...') or a SCALE-Sim topology ('Layer name, ...')")
