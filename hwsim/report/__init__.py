"""Reports: turning cost reports into tables people read."""

from .text import format_report, format_templates

__all__ = ["format_report", "format_templates"]
