"""Tolerances that come from how many digits a reference prints.

A published number rounded to some digits stands for an interval: the true value is
within half a unit of its last printed digit. These helpers turn that into a check,
so a test's tolerance is the reference's own resolution, not a chosen band.
"""

from decimal import Decimal

import numpy as np


def agree_to_4_digits(ours, theirs):
    """Elementwise: |ours - theirs| <= half a unit in the 4th significant digit of theirs."""
    theirs = np.asarray(theirs, dtype=float)
    half_unit = 0.5 * 10.0 ** (np.floor(np.log10(np.abs(theirs))) - 3)
    return np.abs(np.asarray(ours, dtype=float) - theirs) <= half_unit


def half_unit_of_last_digit(printed: str) -> float:
    """Half a unit of the last digit of a number as printed: "421.66" -> 0.005,
    "598.1" -> 0.05, "299.0" -> 0.05, "724" -> 0.5."""
    return 0.5 * 10.0 ** Decimal(printed.strip()).as_tuple().exponent
