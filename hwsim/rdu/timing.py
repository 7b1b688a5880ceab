"""Kernel latency on the RDU: a roofline over the three memory tiers and the fabric.

A kernel streams, so its tiers work at the same time and the slowest one sets its
pace; the launch comes before it and does not overlap::

    latency_s = launch_s + max(flops / (peak x pcu_utilization),
                               hbm_bytes / (hbm_bw x hbm_utilization),
                               ddr_bytes / ddr_bw,
                               sram_bytes / sram_bw)

Weights come from HBM (``weights_in="hbm"``: they are added to the HBM bytes) or
from DDR. ``launch="software"``: the host schedules each kernel (program load and
synchronisation, ``launch_software_s``); ``"hardware"``: the RDU's own scheduler
switches to the next kernel (``launch_hardware_s``).

The tensor-parallel all-reduce (:func:`allreduce_s`) is priced on the
socket-to-socket links: the smaller of a ring (2(p-1) steps, each moving 1/p of
the message) and a one-shot exchange (every device sends its whole message to
every other one: two transfers' latency), as collective libraries pick by size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SpecError
from .fabric import RDU
from ..workload.kernels import KernelTable

__all__ = ["BOUNDS", "KernelTimes", "LAUNCHES", "WEIGHT_TIERS", "allreduce_s", "kernel_times"]

LAUNCHES = ("software", "hardware")
WEIGHT_TIERS = ("hbm", "ddr")
BOUNDS = ("compute", "hbm", "ddr", "sram")


@dataclass(frozen=True)
class KernelTimes:
    """Per-kernel time terms (arrays, seconds) and which term bounds each kernel."""

    compute_s: np.ndarray
    hbm_s: np.ndarray
    ddr_s: np.ndarray
    sram_s: np.ndarray
    launch_s: np.ndarray
    latency_s: np.ndarray
    bound: np.ndarray          # index into BOUNDS


def _check_choice(field: str, value, valid) -> None:
    if value not in valid:
        raise SpecError(f"field '{field}' = {value!r}: expected one of {list(valid)}")


def kernel_times(table: KernelTable, rdu: RDU, launch: str = "software", weights_in: str = "hbm") -> KernelTimes:
    _check_choice("launch", launch, LAUNCHES)
    _check_choice("weights_in", weights_in, WEIGHT_TIERS)
    hbm_bytes = table.hbm_bytes + (table.weight_bytes if weights_in == "hbm" else 0.0)
    ddr_bytes = table.weight_bytes if weights_in == "ddr" else np.zeros_like(table.weight_bytes)
    terms = np.stack([table.flops / (rdu.peak_flops_per_s * rdu.pcu_utilization),
                      hbm_bytes / (rdu.hbm_bw_bytes_per_s * rdu.hbm_utilization),
                      ddr_bytes / rdu.ddr_bw_bytes_per_s,
                      table.sram_bytes / rdu.sram_bw_bytes_per_s])
    per_launch = rdu.launch_software_s if launch == "software" else rdu.launch_hardware_s
    launches = np.full(len(table), per_launch)
    return KernelTimes(*terms, launches, launches + terms.max(axis=0), terms.argmax(axis=0))


def allreduce_s(message_bytes, devices: int, link_bw_bytes_per_s: float, link_latency_s: float):
    """Time of an all-reduce of ``message_bytes`` (per device) over ``devices``."""
    if devices <= 1:
        return np.zeros_like(np.asarray(message_bytes, dtype=float))
    p = devices
    message = np.asarray(message_bytes, dtype=float)
    ring = 2 * (p - 1) * link_latency_s + 2 * (p - 1) / p * message / link_bw_bytes_per_s
    one_shot = 2 * link_latency_s + (p - 1) * message / link_bw_bytes_per_s
    return np.minimum(ring, one_shot)
