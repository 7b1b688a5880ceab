"""Reports: turning cost reports into tables people read, and Pareto fronts."""

from .pareto import dominates, pareto_mask
from .text import format_report, format_templates

__all__ = ["dominates", "format_report", "format_templates", "pareto_mask"]
