"""Parameter declarations. A dataflow model declares the parameters it reads as a
``PARAMETERS`` dict of :class:`Param`; a template YAML gives every one a default.
The loader checks templates and overrides against these declarations, so a typo
in a field name or a negative buffer size fails at load time with a clear message.

Every number has a documented valid range, and the error states it. Integers have
a maximum even when a model declares none (:data:`INT_MAX`): the models compute in
int64 and float64 arrays, and a value like ``pes=2**63`` would otherwise overflow
silently and produce a wrong answer instead of an error. Floats must be finite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import TemplateError
from .technology import technology_names

INT_MAX = 2**40
"""Default maximum of an integer parameter without a ``maximum`` of its own: large
enough for any buffer in bytes (1 TiB), small enough that products of two such
values with a layer dimension stay exact in float64 and far from int64 overflow.
Models declare tighter maxima where their arithmetic needs them (e.g. PE counts)."""


@dataclass(frozen=True)
class Param:
    """One template parameter: its type, meaning (with unit) and valid range."""

    kind: type                      # int, float or str
    doc: str
    minimum: float | None = 0.0     # numbers must be > minimum (>= if inclusive)
    inclusive: bool = False
    maximum: float | None = None    # numbers must be <= maximum (ints: INT_MAX if None)
    choices: tuple[str, ...] = ()   # strings must be one of these (empty: any)
    names_technology: bool = False  # a string that must be a key of technologies.yaml

    INT_MAX: ClassVar[int] = INT_MAX

    @property
    def upper(self) -> float | None:
        """The largest valid value: ``maximum``, or :data:`INT_MAX` for an integer."""
        if self.maximum is not None:
            return self.maximum
        return self.INT_MAX if self.kind is int else None

    def valid_range(self) -> str:
        """The valid range as a formula, e.g. ``1e-06 <= value <= 1e+09``."""
        text = "value"
        if self.minimum is not None:
            text = f"{_show(self.minimum, self.kind)} {'<=' if self.inclusive else '<'} {text}"
        if self.upper is not None:
            text = f"{text} <= {_show(self.upper, self.kind)}"
        return text

    def check(self, value, where: str, field: str):
        """Return ``value`` converted to this parameter's type, or raise TemplateError
        naming ``where`` (a file), ``field`` and the value as given."""
        if self.kind is str:
            return self._check_string(value, where, field)
        number = _number(value, self.kind)
        if isinstance(number, str):             # a reason: the value is no valid number
            raise TemplateError(f"{_head(where, field, value)}: {number}")
        problem = self._range_problem(number)
        if problem:
            raise TemplateError(f"{_head(where, field, value)}: {problem}")
        return number

    def _check_string(self, value, where: str, field: str) -> str:
        if not isinstance(value, str):
            valid = f"; valid: {list(self.choices)}" if self.choices else ""
            raise TemplateError(f"{_head(where, field, value)}: expected a string{valid}")
        if self.names_technology and value not in technology_names():
            raise TemplateError(f"{_head(where, field, value)}: unknown technology; valid: {technology_names()}")
        if self.choices and value not in self.choices:
            raise TemplateError(f"{_head(where, field, value)}: valid: {list(self.choices)}")
        return str(value)

    def _range_problem(self, number) -> str:
        """What is wrong with ``number``'s range ("" if nothing)."""
        if self.minimum is not None:
            low_ok = number >= self.minimum if self.inclusive else number > self.minimum
            if not low_ok:
                op = ">=" if self.inclusive else ">"
                return f"expected {op} {_show(self.minimum, self.kind)}; valid range: {self.valid_range()}"
        upper = self.upper
        if upper is not None and number > upper:
            return f"expected <= {_show(upper, self.kind)}; valid range: {self.valid_range()}"
        return ""


def _head(where: str, field: str, value) -> str:
    """The start of every message: file, field and the value as given."""
    return f"{_prefix(where)}field '{field}' = {show_value(value)}"


def _prefix(where: str) -> str:
    return f"{where}: " if where else ""


def show_value(value) -> str:
    """``value`` for a message: numpy scalars as the plain number they hold."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _show(bound: float, kind: type) -> str:
    """A range bound: integers exactly (with ``2**n`` for large powers of two)."""
    if kind is int and float(bound).is_integer():
        bound = int(bound)
        exponent = bound.bit_length() - 1
        return f"{bound} (2**{exponent})" if bound >= 1024 and bound == 2**exponent else str(bound)
    return f"{bound:g}"


def _number(value, kind: type):
    """``value`` as a finite ``kind`` (int or float), or a string saying why it is
    none. Command-line overrides arrive as text; numpy scalars (``np.int64(512)``
    from an ``np.arange`` sweep) become plain Python numbers; booleans are not
    numbers here, numpy's neither."""
    expected = "an integer" if kind is int else "a number"
    if isinstance(value, str):
        value = _parse(value, kind)
        if value is None:
            return f"expected {expected}"
    if isinstance(value, (bool, np.bool_)):
        return f"expected {expected}, not a boolean"
    if isinstance(value, np.generic) and isinstance(value, (np.integer, np.floating)):
        value = value.item()
    if not isinstance(value, (int, float)):
        return f"expected {expected}"
    if isinstance(value, float) and not math.isfinite(value):
        return "expected a finite number"
    if kind is float:
        return float(value)
    if isinstance(value, float) and not value.is_integer():
        return "expected an integer"
    return int(value)


def _parse(text: str, kind: type):
    """Text as a number (None if it is none): integers in any base Python reads
    (``1024``, ``0x400``) or an integral float (``1e3``); floats as ``float()`` reads them."""
    text = text.strip()
    if kind is int:
        try:
            return int(text, 0)
        except ValueError:
            pass
    try:
        return float(text)
    except ValueError:
        return None


# Parameters every ASIC template has.
CLOCK_HZ = Param(float, "clock frequency, Hz (at most 100 GHz)", maximum=1e11)
TECHNOLOGY = Param(str, "key into hwsim/hardware/technologies.yaml", names_technology=True)
AREA_MODEL = Param(str, "area model: default (hwsim) or maestro2020 (MAESTRO's 2020 closed form)",
                   choices=("default", "maestro2020"))

BW_MIN_BYTES_PER_CYCLE = 1e-6
BW_MAX_BYTES_PER_CYCLE = 1e9


def bandwidth(doc: str) -> Param:
    """The declaration of a ``*_bw_bytes_per_cycle`` parameter: a float from 1e-6 (one
    byte per million cycles; anything slower is a typo, not a memory) to 1e9 bytes
    per cycle (far beyond any interconnect), so that traffic / bandwidth stays finite."""
    return Param(float, doc, minimum=BW_MIN_BYTES_PER_CYCLE, inclusive=True, maximum=BW_MAX_BYTES_PER_CYCLE)
