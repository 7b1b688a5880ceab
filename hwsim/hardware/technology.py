"""Technology tables: what one action (a MAC, a buffer access, a word moved one PE
pitch, a DRAM bit) costs in energy, what a second of idling costs in leakage, and
what one unit of hardware costs in area, at a process node.

The tables live in ``technologies.yaml`` next to this module; a template names one
with its ``technology`` parameter. ``docs/technology.md`` gives the equations, the
sources of every constant and the resulting numbers. In short:

* **SRAM access (banked).** An SRAM of capacity C is built from banks of at most
  ``sram_bank_bytes``. One access costs one bank access -- log-log interpolation over
  the published anchors, exactly the anchors at and below the bank size -- plus the
  H-tree route from the port to that bank beyond the bank's own wiring: in a square
  array of side L = sqrt(C * 8 * area per bit) the H-tree path from the root to a
  leaf bank of side l is L - l, so the extra energy is
  ``wire_pj_per_bit_mm * bits * (L(C) - L(bank))``, which grows with sqrt(C).
* **Leakage.** SRAM leakage per bit and logic leakage per mm^2, times time.
* **NoC by distance.** ``noc_pj_per_hop(bits)`` moves one word one PE pitch; a
  delivery costs it times the pitches travelled (:func:`noc_delivery_hops`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import TemplateError
from .yamlio import read_yaml_mapping

TECHNOLOGY_FILE = Path(__file__).with_name("technologies.yaml")
# Horowitz ISSCC 2014, 45 nm: fp16 add 0.4 pJ / (fp16 mult 1.1 + add 0.4 pJ).
VECTOR_OP_MAC_FRACTION = 0.4 / (1.1 + 0.4)
# Eyeriss v1's PE array (Chen et al., JSSC 52(1) 2017): 12 x 14 PEs. The NoC hop energy
# is calibrated as one delivery across this array (technologies.yaml, noc_hop_pj_16b).
EYERISS_PES = 168

# field -> (type, lower bound kind): "pos" = > 0, "nonneg" = >= 0. Every number must be finite.
_FIELDS = {
    "node_nm": (float, "pos"),
    "source": (str, None),
    "mac_pj_16b": (float, "pos"),
    "sram_pj_per_16b": (list, None),
    "sram_bank_bytes": (float, "pos"),
    "wire_pj_per_bit_mm": (float, "nonneg"),
    "dram_pj_per_bit": (float, "pos"),
    "noc_hop_pj_16b": (float, "nonneg"),
    "sram_area_um2_per_bit": (float, "pos"),
    "mac_area_um2_16b": (float, "nonneg"),
    "flipflop_area_um2": (float, "nonneg"),
    "sram_leakage_pw_per_bit": (float, "nonneg"),
    "logic_leakage_mw_per_mm2": (float, "nonneg"),
}
_REQUIRED = {field: kind for field, (kind, _) in _FIELDS.items()}


def noc_delivery_hops(pes, receivers=1):
    """PE pitches one word travels from the buffer to ``receivers`` PEs of a
    ``pes``-PE array (vectorized): sqrt(pes)/2 to the first (the mean distance from
    the array's edge port to a PE), plus one pitch per additional multicast receiver.
    ``noc_hop_pj_16b`` is calibrated on exactly this distance (unicast, 168 PEs)."""
    pes = np.asarray(pes, dtype=float)
    receivers = np.maximum(np.asarray(receivers, dtype=float), 1.0)
    return np.sqrt(pes) / 2.0 + (receivers - 1.0)


@dataclass(frozen=True)
class Technology:
    """Per-action energies (pJ), leakage (mW) and unit areas (um2) of one process node."""

    name: str
    node_nm: float
    source: str
    mac_pj_16b: float
    sram_anchor_bytes: tuple[float, ...]
    sram_anchor_pj_per_16b: tuple[float, ...]
    sram_bank_bytes: float
    wire_pj_per_bit_mm: float
    dram_pj_per_bit: float
    noc_hop_pj_16b: float
    sram_area_um2_per_bit: float
    mac_area_um2_16b: float
    flipflop_area_um2: float
    sram_leakage_pw_per_bit: float
    logic_leakage_mw_per_mm2: float

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

    def sram_bank_pj_per_16b(self, capacity_bytes):
        """One 16-bit access to one bank of an SRAM of ``capacity_bytes``: log-log
        interpolation over the anchors at min(capacity, bank size) (vectorized); below
        the smallest anchor, the smallest anchor's energy."""
        bank = np.minimum(np.maximum(np.asarray(capacity_bytes, dtype=float), 1.0), self.sram_bank_bytes)
        xs = np.log(np.asarray(self.sram_anchor_bytes))
        ys = np.log(np.asarray(self.sram_anchor_pj_per_16b))
        return np.exp(np.interp(np.log(bank), xs, ys))

    def sram_htree_mm(self, capacity_bytes):
        """H-tree route (mm) from the port of an SRAM of ``capacity_bytes`` to one of
        its banks beyond the bank's own wiring (vectorized): L(C) - L(bank), where
        L(x) = sqrt(x * 8 * sram_area_um2_per_bit) is the side of a square array of x
        bytes; 0 at and below the bank size."""
        cap = np.maximum(np.asarray(capacity_bytes, dtype=float), 1.0)
        bank = np.minimum(cap, self.sram_bank_bytes)
        per_byte = 8.0 * self.sram_area_um2_per_bit
        return (np.sqrt(cap * per_byte) - np.sqrt(bank * per_byte)) * 1e-3

    def sram_pj_per_access(self, capacity_bytes, bits):
        """One ``bits``-wide access to an SRAM of ``capacity_bytes`` (vectorized,
        broadcasting): one bank access plus the H-tree route to the bank.
        Assumptions: energy is linear in the access width (the anchors are 16-bit;
        CACTI's decoder/wordline share does not grow with width, so wide accesses are
        somewhat overestimated); only data bits travel the H-tree (address bits are
        left out, see docs/technology.md)."""
        bits = np.asarray(bits, dtype=float)
        bank = self.sram_bank_pj_per_16b(capacity_bytes) * bits / 16.0
        return bank + self.wire_pj_per_bit_mm * bits * self.sram_htree_mm(capacity_bytes)

    def dram_pj_per_access(self, bits):
        return self.dram_pj_per_bit * np.asarray(bits, dtype=float)

    def noc_pj_per_hop(self, bits):
        """Moving one ``bits``-wide word one PE pitch (vectorized); a delivery costs
        this times :func:`noc_delivery_hops`."""
        return self.noc_hop_pj_16b * np.asarray(bits, dtype=float) / 16.0

    # -- leakage ----------------------------------------------------------------
    def sram_leakage_mw(self, capacity_bytes):
        """Static power (mW) of ``capacity_bytes`` of SRAM (vectorized)."""
        cap = np.maximum(np.asarray(capacity_bytes, dtype=float), 0.0)
        return cap * 8.0 * self.sram_leakage_pw_per_bit * 1e-9

    def logic_leakage_mw(self, area_mm2):
        """Static power (mW) of ``area_mm2`` of logic (vectorized)."""
        return self.logic_leakage_mw_per_mm2 * np.maximum(np.asarray(area_mm2, dtype=float), 0.0)

    def leakage_pj(self, logic_area_mm2, sram_bytes, seconds):
        """Static energy (pJ) over ``seconds`` of ``logic_area_mm2`` of logic and
        ``sram_bytes`` of on-chip SRAM in total (all instances), vectorized:
        (logic_leakage_mw + sram_leakage_mw) * 1e-3 W/mW * seconds * 1e12 pJ/J."""
        mw = self.logic_leakage_mw(logic_area_mm2) + self.sram_leakage_mw(sram_bytes)
        return mw * 1e-3 * np.asarray(seconds, dtype=float) * 1e12

    # -- area -------------------------------------------------------------------
    def sram_area_um2(self, capacity_bytes):
        """Area of ``capacity_bytes`` of SRAM, periphery included (the per-bit area is
        the cell at ~50 % array efficiency); linear, so non-decreasing in capacity."""
        return np.maximum(np.asarray(capacity_bytes, dtype=float), 0.0) * 8.0 * self.sram_area_um2_per_bit

    def mac_area_um2(self, bits):
        """Assumption: array-multiplier area grows ~ bits^2, like its energy."""
        return self.mac_area_um2_16b * (np.asarray(bits, dtype=float) / 16.0) ** 2


def _bad(where: str, name: str, field: str, value, expected: str) -> TemplateError:
    return TemplateError(f"{where}: technology '{name}': field '{field}' = {value!r}: expected {expected}")


def _number(where: str, name: str, field: str, value, bound: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _bad(where, name, field, value, "a finite number")
    if bound == "pos" and value <= 0:
        raise _bad(where, name, field, value, "a number > 0")
    if bound == "nonneg" and value < 0:
        raise _bad(where, name, field, value, "a number >= 0")
    return float(value)


def _anchors(where: str, name: str, anchors) -> list[tuple[float, float]]:
    field, shape = "sram_pj_per_16b", "a list of [capacity_bytes, pj] pairs"
    try:
        pairs = [(float(b), float(e)) for b, e in anchors]
    except (TypeError, ValueError):
        raise _bad(where, name, field, anchors, shape) from None
    flat = [v for pair in anchors for v in pair]
    if not pairs or any(isinstance(v, (bool, str)) for v in flat) \
            or not all(math.isfinite(v) and v > 0 for pair in pairs for v in pair):
        raise _bad(where, name, field, anchors, "positive finite [capacity_bytes, pj] pairs")
    pairs.sort()
    for (b0, e0), (b1, e1) in zip(pairs, pairs[1:]):
        if b1 == b0:
            raise _bad(where, name, field, anchors, f"distinct capacities ({b0:g} B is given twice)")
        if e1 < e0:
            raise _bad(where, name, field, anchors,
                       f"energies that do not decrease with capacity ({b1:g} B costs less than {b0:g} B)")
    return pairs


def _parse(name: str, entry, where: str) -> Technology:
    if not isinstance(entry, dict):
        raise TemplateError(f"{where}: technology '{name}': expected a mapping of fields")
    unknown = sorted(str(k) for k in set(entry) - set(_FIELDS))
    if unknown:
        raise TemplateError(f"{where}: technology '{name}': unknown field(s) {unknown}; valid: {sorted(_FIELDS)}")
    values = {}
    for field, (kind, bound) in _FIELDS.items():
        if field not in entry:
            raise TemplateError(f"{where}: technology '{name}': field '{field}' is missing")
        value = entry[field]
        if kind is float:
            value = _number(where, name, field, value, bound)
        elif not isinstance(value, kind):
            raise _bad(where, name, field, value,
                       "a list of [capacity_bytes, pj] pairs" if kind is list else kind.__name__)
        values[field] = value
    pairs = _anchors(where, name, values.pop("sram_pj_per_16b"))
    lo, hi = pairs[0][0], pairs[-1][0]
    if not lo <= values["sram_bank_bytes"] <= hi:
        # the bank energy is always interpolated between anchors, never extrapolated
        raise _bad(where, name, "sram_bank_bytes", entry["sram_bank_bytes"],
                   f"a bank size within the sram_pj_per_16b anchors, {lo:g} to {hi:g} bytes")
    return Technology(name=name, sram_anchor_bytes=tuple(b for b, _ in pairs),
                      sram_anchor_pj_per_16b=tuple(e for _, e in pairs), **values)


@lru_cache(maxsize=None)
def _table(path: str) -> dict:
    return read_yaml_mapping(path, "of technology names")


def technology_names(path: str | Path | None = None) -> list[str]:
    return sorted(str(k) for k in _table(str(path or TECHNOLOGY_FILE)))


@lru_cache(maxsize=None)
def load_technology(name: str, path: str | Path | None = None) -> Technology:
    """The technology table called ``name`` (see ``technology_names()``), from the
    shipped ``technologies.yaml`` or from the YAML file ``path``."""
    where = str(path or TECHNOLOGY_FILE)
    table = _table(where)
    if not isinstance(name, str) or name not in table:
        raise TemplateError(f"field 'technology' = {name!r}: unknown technology; valid: {sorted(map(str, table))}")
    return _parse(name, table[name], where)
