"""Technology tables: what one action (a MAC, a buffer access, a DRAM bit) costs in
energy, and what one unit of hardware costs in area, at a process node.

The tables live in ``technologies.yaml`` next to this module; a template names
one with its ``technology`` parameter. SRAM access energy grows with capacity
(longer bit lines and word lines): hwsim interpolates log-log between published
anchors rather than picking one number per buffer by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import TemplateError
from .yamlio import read_yaml_mapping

TECHNOLOGY_FILE = Path(__file__).with_name("technologies.yaml")
# Horowitz ISSCC 2014, 45 nm: fp16 add 0.4 pJ / (fp16 mult 1.1 + add 0.4 pJ).
VECTOR_OP_MAC_FRACTION = 0.4 / (1.1 + 0.4)

_REQUIRED = {
    "node_nm": float, "source": str, "mac_pj_16b": float, "sram_pj_per_16b": list,
    "sram_scaling_exponent": float, "dram_pj_per_bit": float, "noc_pj_per_16b": float,
    "sram_area_um2_per_bit": float, "mac_area_um2_16b": float, "flipflop_area_um2": float,
    "leakage_mw_per_mm2": float,
}


@dataclass(frozen=True)
class Technology:
    """Per-action energies (pJ) and unit areas (um2) of one process node."""

    name: str
    node_nm: float
    source: str
    mac_pj_16b: float
    sram_anchor_bytes: tuple[float, ...]
    sram_anchor_pj_per_16b: tuple[float, ...]
    sram_scaling_exponent: float
    dram_pj_per_bit: float
    noc_pj_per_16b: float
    sram_area_um2_per_bit: float
    mac_area_um2_16b: float
    flipflop_area_um2: float
    leakage_mw_per_mm2: float

    # -- energy -----------------------------------------------------------------
    def mac_pj(self, bits):
        """One MAC at ``bits`` precision. Multiplier energy grows ~ bits^2 (Horowitz
        ISSCC 2014: 8-bit multiply 0.2 pJ vs 32-bit 3.1 pJ, ~16x for 4x the bits)."""
        return self.mac_pj_16b * (np.asarray(bits, dtype=float) / 16.0) ** 2

    def vector_op_pj(self, bits):
        """One non-MAC op (add, max, compare) of a pooling or element-wise layer: the
        adder's share of a MAC. Horowitz ISSCC 2014 (45 nm): fp16 add 0.4 pJ of a
        0.4 + 1.1 pJ multiply-add, i.e. 0.27 of a MAC; applied at every precision."""
        return self.mac_pj(bits) * VECTOR_OP_MAC_FRACTION

    def sram_pj_per_access(self, capacity_bytes, bits):
        """One ``bits``-wide access to an SRAM of ``capacity_bytes`` (vectorized).
        Assumption: energy per access is linear in the access width (the anchors are
        16-bit); CACTI's decoder/wordline share does not grow with width, so wide
        accesses are somewhat overestimated."""
        cap = np.log(np.maximum(np.asarray(capacity_bytes, dtype=float), 1.0))
        xs = np.log(np.asarray(self.sram_anchor_bytes))
        ys = np.log(np.asarray(self.sram_anchor_pj_per_16b))
        per_16b = np.exp(np.interp(cap, xs, ys))
        above = cap > xs[-1]
        per_16b = np.where(above, np.exp(ys[-1] + self.sram_scaling_exponent * (cap - xs[-1])), per_16b)
        return per_16b * np.asarray(bits, dtype=float) / 16.0

    def dram_pj_per_access(self, bits):
        return self.dram_pj_per_bit * np.asarray(bits, dtype=float)

    def noc_pj_per_access(self, bits):
        return self.noc_pj_per_16b * np.asarray(bits, dtype=float) / 16.0

    def leakage_pj(self, area_mm2, seconds):
        """Static energy of ``area_mm2`` of logic over ``seconds``."""
        return self.leakage_mw_per_mm2 * 1e-3 * np.asarray(area_mm2) * np.asarray(seconds) * 1e12

    # -- area -------------------------------------------------------------------
    def sram_area_um2(self, capacity_bytes):
        return np.asarray(capacity_bytes, dtype=float) * 8.0 * self.sram_area_um2_per_bit

    def mac_area_um2(self, bits):
        """Assumption: array-multiplier area grows ~ bits^2, like its energy."""
        return self.mac_area_um2_16b * (np.asarray(bits, dtype=float) / 16.0) ** 2


def _parse(name: str, entry, where: str) -> Technology:
    if not isinstance(entry, dict):
        raise TemplateError(f"{where}: technology '{name}': expected a mapping of fields")
    unknown = sorted(set(entry) - set(_REQUIRED))
    if unknown:
        raise TemplateError(f"{where}: technology '{name}': unknown field(s) {unknown}; valid: {sorted(_REQUIRED)}")
    values = {}
    for field, kind in _REQUIRED.items():
        if field not in entry:
            raise TemplateError(f"{where}: technology '{name}': field '{field}' is missing")
        value = entry[field]
        if kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise TemplateError(f"{where}: technology '{name}': field '{field}' = {value!r}: expected a number >= 0")
            value = float(value)
        elif not isinstance(value, kind):
            raise TemplateError(f"{where}: technology '{name}': field '{field}' = {value!r}: expected {kind.__name__}")
        values[field] = value
    anchors = values.pop("sram_pj_per_16b")
    try:
        pairs = sorted((float(b), float(e)) for b, e in anchors)
    except (TypeError, ValueError):
        raise TemplateError(f"{where}: technology '{name}': field 'sram_pj_per_16b' = {anchors!r}: "
                            "expected a list of [capacity_bytes, pj] pairs") from None
    if not pairs or any(b <= 0 or e <= 0 for b, e in pairs):
        raise TemplateError(f"{where}: technology '{name}': field 'sram_pj_per_16b' = {anchors!r}: "
                            "expected positive [capacity_bytes, pj] pairs")
    return Technology(name=name, sram_anchor_bytes=tuple(b for b, _ in pairs),
                      sram_anchor_pj_per_16b=tuple(e for _, e in pairs), **values)


@lru_cache(maxsize=None)
def _table(path: str) -> dict:
    return read_yaml_mapping(path, "of technology names")


def technology_names() -> list[str]:
    return sorted(_table(str(TECHNOLOGY_FILE)))


@lru_cache(maxsize=None)
def load_technology(name: str) -> Technology:
    """The technology table called ``name`` (see ``technology_names()``)."""
    table = _table(str(TECHNOLOGY_FILE))
    if name not in table:
        raise TemplateError(f"field 'technology' = {name!r}: unknown technology; valid: {sorted(table)}")
    return _parse(name, table[name], str(TECHNOLOGY_FILE))
