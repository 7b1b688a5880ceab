"""Area (and MAESTRO's power) closed forms shared by the ASIC templates.

``default``: hwsim's own model from the technology tables: PEs (MAC + per-PE
buffer) + global buffer + NoC (one pipeline flip-flop per bit of each PE port).

``maestro2020``: the closed form of MAESTRO's Feb-Oct 2020 releases
(maestro-project/maestro, DSE_cost-database.hpp and DSE_scaling-coefficients.hpp,
labelled "28 nm"), as summarised in shared/reference/energy_tables.yaml key
``maestro_2020_area_power``. It reproduces the Area and Power columns of MAESTRO's
output CSVs; NASAIC used it, which is why hwsim offers it. Its units are MAESTRO's:
um2 for area and MAESTRO's (unnamed) power unit.
"""

from __future__ import annotations

import numpy as np

from ..units import ceil_div, um2_to_mm2
from .technology import Technology

# maestro_2020_area_power coefficients (see module docstring for the source).
MAESTRO_MAC_AREA_UM2_PER_LANE = 4470.9014
MAESTRO_MAC_POWER_PER_LANE = 1.2223
MAESTRO_L1_AREA_UM2_PER_64B = 4505.1889
MAESTRO_L1_POWER_PER_64B = 0.2208
MAESTRO_L2_AREA_UM2_PER_32KIB = 4161.536
MAESTRO_L2_POWER_PER_32KIB = 4.0


def _maestro_bus_terms(pes):
    n = np.asarray(pes, dtype=float)
    bus = 14.662 * n + 28.895
    arbiter = np.maximum(1.0, 1.2886 * n**2 + 5.5814 * n - 23.711)
    return bus, arbiter


def maestro2020_area_um2(pes, vector_width, l1_bytes, l2_bytes, noc_bw_elements):
    """MAESTRO 2020 area: N*(MAC*vector_width + L1) + L2 + bus + arbiter (um2).
    ``l1_bytes`` is per PE; buffers are counted in 64 B (L1) and 32 KiB (L2) blocks."""
    bus, arbiter = _maestro_bus_terms(pes)
    l1 = MAESTRO_L1_AREA_UM2_PER_64B * ceil_div(np.asarray(l1_bytes, dtype=np.int64), 64)
    l2 = MAESTRO_L2_AREA_UM2_PER_32KIB * ceil_div(np.asarray(l2_bytes, dtype=np.int64), 32768)
    pe = np.asarray(pes) * (MAESTRO_MAC_AREA_UM2_PER_LANE * np.asarray(vector_width) + l1)
    return pe + l2 + 101.7938 * bus * np.asarray(noc_bw_elements) + 395.473 * arbiter


def maestro2020_area_mm2(pes, lanes, l1_bytes, l2_bytes, noc_bytes_per_cycle, elem_bits):
    """MAESTRO 2020 area (``maestro2020_area_um2``) in mm2, for a NoC given in bytes
    per cycle: MAESTRO counts its NoC bandwidth in elements, here of ``elem_bits``."""
    noc_elements = np.asarray(noc_bytes_per_cycle, dtype=float) / (np.asarray(elem_bits, dtype=float) / 8.0)
    return um2_to_mm2(maestro2020_area_um2(pes, lanes, l1_bytes, l2_bytes, noc_elements))


def maestro2020_power(pes, vector_width, l1_bytes, l2_bytes, noc_bw_elements):
    """MAESTRO 2020 power, in MAESTRO's unit (the CSVs' Power column)."""
    bus, arbiter = _maestro_bus_terms(pes)
    l1 = MAESTRO_L1_POWER_PER_64B * ceil_div(np.asarray(l1_bytes, dtype=np.int64), 64)
    l2 = MAESTRO_L2_POWER_PER_32KIB * ceil_div(np.asarray(l2_bytes, dtype=np.int64), 32768)
    pe = np.asarray(pes) * (MAESTRO_MAC_POWER_PER_LANE * np.asarray(vector_width) + l1)
    noc = 0.8 * bus / 1000.0 * np.asarray(noc_bw_elements) + 0.34 * np.maximum(1.0, arbiter / 1000.0)
    return pe + l2 + noc


def default_area_mm2(tech: Technology, pes, l1_bytes, l2_bytes, noc_bw_bytes_per_cycle, bits):
    """hwsim's area: PEs (MAC + ``l1_bytes`` each) + L2 SRAM + NoC, in mm2."""
    pes = np.asarray(pes, dtype=float)
    pe_um2 = tech.mac_area_um2(bits) + tech.sram_area_um2(l1_bytes)
    noc_um2 = (pes + 1.0) * np.asarray(noc_bw_bytes_per_cycle, dtype=float) * 8.0 * tech.flipflop_area_um2
    return um2_to_mm2(pes * pe_um2 + tech.sram_area_um2(l2_bytes) + noc_um2)
