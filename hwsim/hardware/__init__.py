"""Hardware descriptions: technology tables, accelerators and their YAML templates."""

from .accelerator import Accelerator, load_template, template_dirs, template_names
from .memory import MemoryLevel
from .area import default_area_mm2, maestro2020_area_um2, maestro2020_power
from .params import Param
from .technology import Technology, load_technology, technology_names

__all__ = ["Accelerator", "MemoryLevel", "Param", "Technology", "default_area_mm2", "load_technology",
           "load_template", "maestro2020_area_um2", "maestro2020_power", "technology_names",
           "template_dirs", "template_names"]
