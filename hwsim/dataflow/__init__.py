"""Dataflow models: one module per family (see ``base.py`` for the contract).

``weight_stationary`` (dla), ``output_stationary`` (shi), ``row_stationary`` (rs,
eyeriss), ``systolic`` (tpu) and ``roofline`` (GPUs), plus peer emulations
(``maestro_*``). Templates name a model by a registry key, never by a module path
(``registry.py``): the built-in names, or models of other packages registered
through the ``hwsim.dataflows`` entry-point group.
"""

from __future__ import annotations

from .base import ConfigBatch, CostArrays, LayerBatch, bounded_latency
from .registry import get_model, load_template, model_names, model_parameters, register_model

__all__ = ["ConfigBatch", "CostArrays", "LayerBatch", "bounded_latency", "get_model", "load_template",
           "model_names", "model_parameters", "register_model"]
