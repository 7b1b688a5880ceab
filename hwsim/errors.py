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


class UsageError(HwsimError):
    """A malformed command-line argument (e.g. ``--set`` without ``=``, or the same
    parameter set twice); raised by ``hwsim.cli`` only."""


def read_text(path, what: str, error: type[HwsimError] = HwsimError) -> str:
    """The UTF-8 text of the user's file ``path`` (a leading BOM dropped), or ``error``
    saying in one line that it is unreadable or binary; ``what`` says what the file
    should be. It lives here, beside the error types, because it is the error
    contract for every file hwsim reads (templates, technology tables, layer CSVs):
    a binary file must not surface as a UnicodeDecodeError or a csv "NUL" error."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise error(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    nul = data.find(b"\0")
    if nul >= 0:
        raise error(f"{path}: not a text file (NUL byte at offset {nul}); expected {what}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not a text file (byte 0x{data[exc.start]:02x} at offset {exc.start} is not "
                    f"UTF-8); expected {what}") from None
