"""hwsim: analytical hardware-cost models of DNN accelerators.

    import hwsim
    net = hwsim.zoo.get_network("resnet50")
    acc = hwsim.load_template("dla", pes=1024)
    rep = hwsim.evaluate(net, acc)      # rep.layers (DataFrame), rep.total
"""

from .errors import HwsimError, MappingError, SpecError, TemplateError, WorkloadError
from .evaluate import CostReport, CostTotal, evaluate, evaluate_many
from .hardware import Accelerator, load_template, template_names
from .workload import Layer, Network, zoo

__version__ = "0.1.0"

__all__ = ["Accelerator", "CostReport", "CostTotal", "HwsimError", "Layer", "MappingError", "Network",
           "SpecError", "TemplateError", "WorkloadError", "evaluate", "evaluate_many", "load_template",
           "template_names", "zoo"]
