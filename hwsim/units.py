"""Unit helpers. hwsim keeps units in names (``latency_cycles``, ``energy_pj``);
these helpers are the only place where conversions between them are written."""

from __future__ import annotations

import numpy as np

PJ_PER_UJ = 1e6
MS_PER_S = 1e3
UM2_PER_MM2 = 1e6


def cycles_to_s(cycles, clock_hz):
    """Seconds taken by ``cycles`` at ``clock_hz``."""
    return np.asarray(cycles, dtype=float) / np.asarray(clock_hz, dtype=float)


def pj_to_uj(energy_pj):
    return np.asarray(energy_pj, dtype=float) / PJ_PER_UJ


def s_to_ms(seconds):
    return np.asarray(seconds, dtype=float) * MS_PER_S


def um2_to_mm2(area_um2):
    return np.asarray(area_um2, dtype=float) / UM2_PER_MM2


def ceil_div(a, b):
    """Integer ceil(a / b) for numpy arrays of non-negative integers (b > 0)."""
    a = np.asarray(a)
    b = np.asarray(b)
    return -(-a // b)
