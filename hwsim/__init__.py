"""hwsim: analytical hardware-cost models of DNN accelerators.

    import hwsim
    net = hwsim.zoo.get_network("resnet50")
    acc = hwsim.load_template("dla", pes=1024)
    rep = hwsim.evaluate(net, acc)      # rep.layers (DataFrame), rep.total

``import hwsim`` stays light: pandas, networkx and matplotlib are imported where
they are needed (a report's frame, ``Network.graph``, plots), not here, so that a
whole ``hwsim`` process starts in a fraction of a second
(``tests/test_cli.py::test_import_hwsim_is_light``).
"""

from .errors import HwsimError, MappingError, SpecError, TemplateError, UsageError, WorkloadError
from .evaluate import CostReport, CostTotal, evaluate, evaluate_many
from .hardware import Accelerator, template_names
from .dataflow.registry import load_template
from .workload import Layer, Network, zoo

__version__ = "0.1.0"

__all__ = ["Accelerator", "CostReport", "CostTotal", "HwsimError", "Layer", "MappingError", "Network",
           "SpecError", "TemplateError", "UsageError", "WorkloadError", "evaluate", "evaluate_many",
           "load_template", "template_names", "zoo"]
