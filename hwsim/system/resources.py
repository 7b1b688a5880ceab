"""What a sub-accelerator uses of a chip's budget: PEs, NoC bandwidth, on-chip SRAM
and area, read off its template parameters (and, for area, its model)."""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

from ..hardware.accelerator import Accelerator


def accelerator_pes(acc: Accelerator) -> int | None:
    """PEs of ``acc``: ``pes``, or ``rows x cols``; None if its template has neither."""
    p = acc.params
    if "pes" in p:
        return int(p["pes"])
    if "rows" in p and "cols" in p:
        return int(p["rows"]) * int(p["cols"])
    return None


def accelerator_noc_bw(acc: Accelerator) -> float | None:
    """``noc_bw_bytes_per_cycle`` of ``acc`` (None if its template has none)."""
    value = acc.params.get("noc_bw_bytes_per_cycle")
    return None if value is None else float(value)


def accelerator_sram_bytes(acc: Accelerator) -> int | None:
    """On-chip SRAM of ``acc``, bytes: ``l1_bytes`` (per PE) x PEs + ``l2_bytes``, or a
    systolic array's ifmap + filter + ofmap SRAM; None if the template has none."""
    p = acc.params
    if "l2_bytes" in p:
        l1 = int(p.get("l1_bytes", 0)) * (accelerator_pes(acc) or 0)
        return l1 + int(p["l2_bytes"])
    keys = ("ifmap_sram_bytes", "filter_sram_bytes", "ofmap_sram_bytes")
    if all(k in p for k in keys):
        return sum(int(p[k]) for k in keys)
    return None


@lru_cache(maxsize=4096)
def accelerator_area_mm2(acc: Accelerator) -> float:
    """The area the model gives ``acc`` (it depends on the configuration only), from
    a one-layer probe through ``hwsim.evaluate_many``; cached per accelerator."""
    return float(accelerator_areas_mm2((acc,))[0])


def accelerator_areas_mm2(accelerators: Sequence[Accelerator]):
    """Areas (mm2) of many accelerators: one ``evaluate_many`` of a probe layer per
    template group (area is a function of the configuration alone)."""
    from ..evaluate import evaluate_many

    frame = evaluate_many(_probe_layer(), list(accelerators), per_layer=False)
    return frame["area_mm2"].to_numpy(dtype=float)


@lru_cache(maxsize=1)
def _probe_layer():
    from ..workload.layer import conv2d

    return conv2d("area_probe", 8, 8, in_size=(4, 4), kernel=(1, 1))
