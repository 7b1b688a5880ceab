"""Error types of hwsim.

Every error a user can cause derives from :class:`HwsimError`. Messages name the
file (when there is one), the field and the offending value, and say what would
be valid, so that a command-line user can fix the input without a traceback.
"""

from __future__ import annotations


class HwsimError(Exception):
    """Base class of every error hwsim raises on purpose."""


class TemplateError(HwsimError):
    """A malformed accelerator template or technology table."""


class WorkloadError(HwsimError):
    """A malformed layer or network graph, or an unknown network name."""


class MappingError(HwsimError):
    """A layer that cannot run on a template (e.g. it cannot be tiled into a buffer)."""


class SpecError(HwsimError):
    """A malformed or infeasible design specification."""
