"""The HBM expert cache of CoE serving, and the field checks of its specs.

:class:`ExpertCache` is an LRU set of experts resident in (or being copied into) HBM,
with a pin count per expert. An expert is pinned while a request uses it: from the
moment the request finds it (or reserves its slot for a copy) until the request's
execution ends. Eviction takes the least-recently-used *unpinned* expert; when every
slot is pinned a miss cannot be placed, and the caller waits for an unpin.

Both the simpy model and the closed form of :mod:`hwsim.rdu.coe` replay this class,
so they agree on the miss pattern by construction.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from numbers import Integral, Real

from ..errors import SpecError

__all__ = ["ExpertCache", "check_int", "check_real"]


class ExpertCache:
    """LRU cache of ``capacity`` experts with pin counts (most recent at the end)."""

    __slots__ = ("capacity", "_pins")

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._pins: OrderedDict[int, int] = OrderedDict()

    def __contains__(self, expert: int) -> bool:
        return expert in self._pins

    def __len__(self) -> int:
        return len(self._pins)

    def touch_pin(self, expert: int) -> bool:
        """Pin ``expert`` and mark it most recent if it holds a slot; else False."""
        pins = self._pins
        if expert not in pins:
            return False
        pins[expert] += 1
        pins.move_to_end(expert)
        return True

    def reserve(self, expert: int) -> bool:
        """Give ``expert`` (absent) a pinned slot, evicting the least-recently-used
        unpinned expert if the cache is full; False if every slot is pinned."""
        pins = self._pins
        if len(pins) >= self.capacity:
            victim = next((e for e, n in pins.items() if n == 0), None)
            if victim is None:
                return False
            del pins[victim]
        pins[expert] = 1
        return True

    def unpin(self, expert: int) -> bool:
        """Drop one pin of ``expert``; True if it is now evictable."""
        self._pins[expert] -= 1
        return self._pins[expert] == 0


def _fail(owner: str, field: str, value, expected: str):
    raise SpecError(f"{owner}: field {field!r} = {value!r}: expected {expected}")


def check_int(owner: str, field: str, value, minimum: int) -> int:
    """``value`` as an int >= ``minimum`` (bools rejected), else SpecError."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        _fail(owner, field, value, f"an int >= {minimum}")
    return int(value)


def check_real(owner: str, field: str, value, *, positive: bool) -> float:
    """``value`` as a finite float > 0 (``positive``) or >= 0, else SpecError."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (positive and value == 0):
        _fail(owner, field, value, "a finite number > 0" if positive else "a finite number >= 0")
    return float(value)
