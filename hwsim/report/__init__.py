"""Reports: turning cost reports into tables people read, and Pareto fronts."""

from .pareto import dominates, pareto_mask
from .text import format_report, format_templates
from .plots import (axis_label, best_so_far, curve_summary, front_points, pareto_projections, pareto_rows, roof,
                    roofline, scatter_vs_metric, stacked_bars)    # matplotlib and pandas load on first call

__all__ = ["dominates", "format_report", "format_templates", "pareto_mask"]
__all__ += ["axis_label", "best_so_far", "curve_summary", "front_points", "pareto_projections", "pareto_rows",
            "roof", "roofline", "scatter_vs_metric", "stacked_bars"]
from .sweep_report import summarize_sweep, write_evaluate_report, write_sweep_report   # pandas loads on first call
__all__ += ["summarize_sweep", "write_evaluate_report", "write_sweep_report"]
