"""Hardware descriptions: technology tables, accelerators and their YAML templates.

``load_template`` here is a compatibility wrapper of the model registry's
(``hwsim.dataflow.registry``, floor 2), imported only when it is called.
"""

from .accelerator import (Accelerator, check_accelerator, find_template, load_template, template_dirs,
                          template_names)
from .memory import MemoryLevel
from .area import default_area_mm2, maestro2020_area_um2, maestro2020_power
from .params import INT_MAX, Param, bandwidth
from .technology import Technology, load_technology, technology_names

__all__ = ["Accelerator", "INT_MAX", "MemoryLevel", "Param", "Technology", "bandwidth", "check_accelerator",
           "default_area_mm2", "find_template", "load_technology", "load_template", "maestro2020_area_um2",
           "maestro2020_power", "technology_names", "template_dirs", "template_names"]
