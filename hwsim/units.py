"""Unit helpers. hwsim keeps units in names (``latency_cycles``, ``energy_pj``);
these helpers are the only place where conversions between them are written."""

from __future__ import annotations

import numpy as np

PJ_PER_UJ = 1e6
PJ_PER_MJ = 1e9
UM2_PER_MM2 = 1e6
BITS_PER_BYTE = 8


def cycles_to_s(cycles, clock_hz):
    """Seconds taken by ``cycles`` at ``clock_hz``."""
    return np.asarray(cycles, dtype=float) / np.asarray(clock_hz, dtype=float)


def cycles_to_ms(cycles, clock_hz):
    return cycles_to_s(cycles, clock_hz) * 1e3


def pj_to_uj(energy_pj):
    return np.asarray(energy_pj, dtype=float) / PJ_PER_UJ


def um2_to_mm2(area_um2):
    return np.asarray(area_um2, dtype=float) / UM2_PER_MM2


def bits_to_bytes(bits):
    return np.asarray(bits, dtype=float) / BITS_PER_BYTE


def ceil_div(a, b):
    """Integer ceil(a / b) for numpy arrays of non-negative integers (b > 0)."""
    a = np.asarray(a)
    b = np.asarray(b)
    return -(-a // b)
