"""How a chip's DRAM interface is split among its sub-accelerators (``dram_policy``)."""

from __future__ import annotations

import math
from typing import Mapping

from ..errors import SpecError
from ..hardware.params import show_value

DRAM_POLICIES = ("partitioned", "shared")
REL_TOL = 1e-9                     # sums compared to limits with this relative slack (float rounding)


def _num(value) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:g}"


def dram_allocation(names: list[str], bw: float, policy: str, shares: Mapping[str, float],
                    explicit: Mapping[str, float], where: str) -> list[float]:
    """Bytes per chip cycle of each sub-accelerator (by name) under ``policy``: the
    whole interface each (``shared``), or the given shares and fixed bandwidths with
    the rest split equally among the others (``partitioned``)."""
    if policy not in DRAM_POLICIES:
        raise SpecError(f"{where}field 'dram.policy' = {show_value(policy)}: valid: {list(DRAM_POLICIES)}")
    for label, given in (("dram_share", shares), ("dram_bw_bytes_per_cycle", explicit)):
        for key, value in given.items():
            if key not in names:
                raise SpecError(f"{where}field 'sub_accelerators.{key}.{label}': unknown sub-accelerator; valid: "
                                f"{names}")
            if policy == "shared":
                raise SpecError(f"{where}field 'sub_accelerators.{key}.{label}' = {show_value(value)}: with dram "
                                "policy 'shared' every sub-accelerator uses the whole interface; drop it or use "
                                "policy 'partitioned'")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value <= 0 or (label == "dram_share" and value > 1):
                valid = "0 < value <= 1" if label == "dram_share" else "a finite number > 0"
                raise SpecError(f"{where}field 'sub_accelerators.{key}.{label}' = {show_value(value)}: expected "
                                f"{valid}")
            if key in shares and key in explicit:
                raise SpecError(f"{where}field 'sub_accelerators.{key}.dram_share' = {show_value(shares[key])}: "
                                "give either dram_share or dram_bw_bytes_per_cycle, not both")
    if policy == "shared":
        return [bw] * len(names)
    fixed = {n: float(explicit[n]) if n in explicit else float(shares[n]) * bw
             for n in names if n in explicit or n in shares}
    used = sum(fixed.values())
    if used > bw * (1 + REL_TOL):
        parts = " + ".join(f"{n} {_num(v)}" for n, v in fixed.items())
        raise SpecError(f"{where}field 'dram.bw_bytes_per_cycle' = {_num(bw)}: the sub-accelerators' shares sum "
                        f"to {_num(used)} bytes/cycle ({parts})")
    rest = [n for n in names if n not in fixed]
    if rest:
        left = bw - used
        if left <= bw * 1e-12:
            raise SpecError(f"{where}field 'sub_accelerators.{rest[0]}.dram_share': no DRAM bandwidth is left for "
                            f"it (the others take {_num(used)} of {_num(bw)} bytes/cycle)")
        fixed.update({n: left / len(rest) for n in rest})
    return [fixed[n] for n in names]
