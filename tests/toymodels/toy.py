"""A deliberately tiny dataflow model used to test evaluate()'s plumbing on its own.

One MAC per PE per cycle, one on-chip buffer and DRAM; every operand is read
from the buffer once per MAC and from DRAM once. It is also the smallest example
of the model contract (hwsim/dataflow/base.py) and is loaded by dotted name
(``dataflow: toymodels.toy``), as a model outside hwsim would be.
"""

import numpy as np

from hwsim.dataflow.base import CostArrays, bounded_latency
from hwsim.dataflow.common import vector_compute_cycles
from hwsim.hardware.memory import MemoryLevel
from hwsim.hardware.params import CLOCK_HZ, TECHNOLOGY, Param
from hwsim.units import ceil_div

PARAMETERS = {
    "pes": Param(int, "MAC units"),
    "buf_bw_bytes_per_cycle": Param(float, "buffer bandwidth, bytes/cycle"),
    "dram_bw_bytes_per_cycle": Param(float, "DRAM bandwidth, bytes/cycle"),
    "clock_hz": CLOCK_HZ,
    "technology": TECHNOLOGY,
}


def cost(layers, configs):
    tech = configs.technology
    pes = configs["pes"]
    bpe = layers.bytes_per_elem
    compute = np.where(layers.is_mac, ceil_div(layers.macs, pes), vector_compute_cycles(layers, pes)).astype(float)
    buf_acc = np.where(layers.is_mac, 3.0 * layers.macs, layers.read_bytes + layers.write_bytes) + 0 * pes
    dram_bytes = layers.compulsory_bytes + 0.0 * pes
    levels = (MemoryLevel("buf", np.full_like(pes, 65536.0, dtype=float), configs["buf_bw_bytes_per_cycle"]),
              MemoryLevel("dram", np.inf, configs["dram_bw_bytes_per_cycle"]))
    traffic = {"buf": buf_acc * bpe, "dram": dram_bytes}
    latency, bound = bounded_latency(compute, traffic, levels)
    work = np.where(layers.is_mac, layers.macs, layers.vector_ops)
    return CostArrays(
        levels=levels, compute_cycles=compute, latency_cycles=latency,
        utilization=work / (pes * latency),
        accesses={"buf": buf_acc, "dram": dram_bytes / bpe}, traffic_bytes=traffic,
        energy_pj={"mac": layers.macs * tech.mac_pj(layers.bits) + 0 * pes,
                   "buf": buf_acc * tech.sram_pj_per_access(65536, layers.bits),
                   "dram": dram_bytes / bpe * tech.dram_pj_per_access(layers.bits)},
        bound=bound, area_mm2=(pes * 0.01).ravel(), peak_macs_per_cycle=pes.ravel().astype(float),
        clock_hz=configs["clock_hz"].ravel())
