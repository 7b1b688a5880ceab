"""Workloads: layers as 7-D loop nests, networks as DAGs, the zoo and file loaders."""

from .layer import (Layer, conv2d, conv_output_size, depthwise_conv2d, eltwise, global_avgpool,
                    matmul, pool2d, tensor_bits, vector_op)
from .maestro import load_maestro_layers
from .scalesim import load_scalesim_topology
from .network import Network
from . import zoo

_LAZY = {"decoder": ("transformer", "decoder"), "memory_footprint": ("footprint", "footprint")}


def __getattr__(name):
    """The transformer workloads load on first use, so ``import hwsim`` stays fast."""
    import importlib
    if name in ("footprint", "monarch", "transformer"):
        return importlib.import_module(f"{__name__}.{name}")
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["Layer", "Network", "conv2d", "conv_output_size", "depthwise_conv2d", "eltwise",
           "global_avgpool", "load_maestro_layers", "load_scalesim_topology", "matmul", "pool2d", "tensor_bits",
           "vector_op", "zoo", "decoder", "footprint", "memory_footprint", "monarch", "transformer"]
