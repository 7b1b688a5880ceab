"""Parameter declarations. A dataflow model declares the parameters it reads as a
``PARAMETERS`` dict of :class:`Param`; a template YAML gives every one a default.
The loader checks templates and overrides against these declarations, so a typo
in a field name or a negative buffer size fails at load time with a clear message.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import TemplateError
from .technology import technology_names


@dataclass(frozen=True)
class Param:
    """One template parameter: its type, meaning (with unit) and valid range."""

    kind: type                      # int, float or str
    doc: str
    minimum: float | None = 0.0     # numbers must be > minimum (>= if inclusive)
    inclusive: bool = False
    maximum: float | None = None    # numbers must be <= maximum
    choices: tuple[str, ...] = ()   # strings must be one of these (empty: any)
    names_technology: bool = False  # a string that must be a key of technologies.yaml

    def check(self, value, where: str, field: str):
        """Return ``value`` converted to this parameter's type, or raise TemplateError."""
        if self.kind is str:
            if not isinstance(value, str):
                raise TemplateError(f"{where}: field '{field}' = {value!r}: expected a string")
            if self.names_technology and value not in technology_names():
                raise TemplateError(f"{where}: field '{field}' = {value!r}: unknown technology; "
                                    f"valid: {technology_names()}")
            if self.choices and value not in self.choices:
                raise TemplateError(f"{where}: field '{field}' = {value!r}: valid: {list(self.choices)}")
            return value
        value = _number(value, self.kind, where, field)
        if self.minimum is not None:
            low_ok = value >= self.minimum if self.inclusive else value > self.minimum
            if not low_ok:
                op = ">=" if self.inclusive else ">"
                raise TemplateError(f"{where}: field '{field}' = {value!r}: expected {op} {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise TemplateError(f"{where}: field '{field}' = {value!r}: expected <= {self.maximum:g}")
        return value


def _number(value, kind, where, field):
    if isinstance(value, str):  # command-line overrides arrive as text
        try:
            value = float(value) if kind is float else int(value, 0)
        except ValueError:
            raise TemplateError(f"{where}: field '{field}' = {value!r}: expected {kind.__name__}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TemplateError(f"{where}: field '{field}' = {value!r}: expected {kind.__name__}")
    if kind is int:
        if float(value) != int(value):
            raise TemplateError(f"{where}: field '{field}' = {value!r}: expected an integer")
        return int(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise TemplateError(f"{where}: field '{field}' = {value!r}: expected a finite number")
    return float(value)


# Parameters every ASIC template has.
CLOCK_HZ = Param(float, "clock frequency, Hz")
TECHNOLOGY = Param(str, "key into hwsim/hardware/technologies.yaml", names_technology=True)
AREA_MODEL = Param(str, "area model: default (hwsim) or maestro2020 (MAESTRO's 2020 closed form)",
                   choices=("default", "maestro2020"))
