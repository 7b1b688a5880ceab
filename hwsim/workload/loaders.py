"""One entry point for "a network the user named": a zoo name, a layer file or an ONNX model.

A path ending in ``.onnx`` is an ONNX model, imported by
:func:`hwsim.workload.onnx_import.load_onnx` (the ``hwsim[onnx]`` extra).

Layer files are recognised by their header (its first non-blank, non-comment
line, with spaces around the commas and a byte-order mark allowed): MAESTRO layer
tables start with ``layer,type,stride``; SCALE-Sim convolution topologies with
``Layer name``; SCALE-Sim GEMM topologies with ``Layer, M, N, K``.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import WorkloadError
from .csvfields import read_layer_file
from .network import Network
from . import zoo

FORMATS = "a MAESTRO layer table ('layer,type,stride,...'), a SCALE-Sim topology ('Layer name, ...') " \
          "or a SCALE-Sim GEMM topology ('Layer, M, N, K')"


def load_network(name_or_path, batch: int | None = None, bits: int | None = None,
                 skip_unsupported: bool = False) -> Network:
    """A zoo network (``"resnet50"``), a MAESTRO / SCALE-Sim CSV file or an ONNX model
    (``.onnx``). ``skip_unsupported`` (ONNX only) costs ops the importer does not know as
    zero, with a warning listing them, instead of raising."""
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise WorkloadError(f"field 'network' = {name_or_path!r}: expected a zoo name, a .csv or an .onnx "
                            f"path; valid names: {zoo.network_names()}")
    path = Path(name_or_path)
    if path.suffix.lower() == ".onnx":
        from .onnx_import import load_onnx      # imports onnx only when a model is read
        return load_onnx(path, batch=batch, bits=8 if bits is None else bits,
                         skip_unsupported=skip_unsupported)
    if path.suffix.lower() != ".csv":
        kwargs = {k: v for k, v in (("batch", batch), ("bits", bits)) if v is not None}
        return zoo.get_network(str(name_or_path), **kwargs)
    if batch is not None:
        raise WorkloadError(f"{path}: field 'batch' = {batch}: a layer file sets its own batch; drop --batch")
    if not path.is_file():
        raise WorkloadError(f"{path}: network file not found")
    bits = 8 if bits is None else bits
    kind = layer_file_format(path)
    if kind == "maestro":
        from .maestro import load_maestro_layers
        return load_maestro_layers(path, bits=bits)
    from .scalesim import load_scalesim_topology
    return load_scalesim_topology(path, bits=bits)


def layer_file_format(path) -> str:
    """``"maestro"``, ``"scalesim"`` or ``"scalesim_gemm"``, from the file's header."""
    header = _header_fields(read_layer_file(path, FORMATS))
    if header[:3] == ["layer", "type", "stride"]:
        return "maestro"
    if header[:1] == ["layer name"]:
        return "scalesim"
    if header[:4] == ["layer", "m", "n", "k"]:
        return "scalesim_gemm"
    shown = ",".join(header)[:60]
    raise WorkloadError(f"{path}: field 'header' = {shown!r}: not {FORMATS}")


def _header_fields(text: str) -> list[str]:
    """The first non-blank, non-comment line's comma-separated fields, stripped and
    lower-cased, trailing empty fields dropped (SCALE-Sim ends rows with a comma)."""
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            fields = [f.strip().lower() for f in line.split(",")]
            while fields and not fields[-1]:
                fields.pop()
            return fields
    return []
