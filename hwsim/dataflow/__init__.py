"""Dataflow models: one module per family (see ``base.py`` for the contract).

``weight_stationary`` (dla), ``output_stationary`` (shi), ``row_stationary`` (rs,
eyeriss), ``systolic`` (tpu) and ``roofline`` (GPUs). Models are found by name, so
adding one is one new module plus one template, touching no other model.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import TemplateError
from .base import ConfigBatch, CostArrays, LayerBatch, bounded_latency


def model_module_path(name: str) -> str:
    """``weight_stationary`` -> ``hwsim.dataflow.weight_stationary``; a dotted name
    (``mypkg.my_model``) is a model outside hwsim, imported as is."""
    return name if "." in name else f"{__name__}.{name}"


def get_model(name: str) -> ModuleType:
    """The dataflow model module called ``name``."""
    try:
        module = importlib.import_module(model_module_path(name))
    except ModuleNotFoundError:
        raise TemplateError(f"field 'dataflow' = {name!r}: no model hwsim/dataflow/{name}.py") from None
    if not (hasattr(module, "PARAMETERS") and hasattr(module, "cost")):
        raise TemplateError(f"field 'dataflow' = {name!r}: module lacks PARAMETERS or cost()")
    return module


__all__ = ["ConfigBatch", "CostArrays", "LayerBatch", "bounded_latency", "get_model"]
