"""Workloads: layers as 7-D loop nests, networks as DAGs, the zoo and file loaders."""

from .layer import (Layer, conv2d, conv_output_size, depthwise_conv2d, eltwise, global_avgpool,
                    matmul, pool2d, tensor_bits, vector_op)
from .maestro import load_maestro_layers
from .scalesim import load_scalesim_topology
from .network import Network
from . import footprint, monarch, transformer, zoo
from .transformer import decoder
from .footprint import footprint as memory_footprint

__all__ = ["Layer", "Network", "conv2d", "conv_output_size", "depthwise_conv2d", "eltwise",
           "global_avgpool", "load_maestro_layers", "load_scalesim_topology", "matmul", "pool2d", "tensor_bits",
           "vector_op", "zoo", "decoder", "footprint", "memory_footprint", "monarch", "transformer"]
