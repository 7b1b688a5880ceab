"""A deliberately tiny dataflow model used to test evaluate()'s plumbing on its own.

One MAC per PE per cycle, one on-chip buffer and DRAM; every operand is read
from the buffer once per MAC and from DRAM once. It is also the smallest complete
example of the model contract: a model reports its activity (levels, words of
each tensor per level, compute cycles, datapath) and the shared cost stage
(``hwsim/dataflow/stage.py``) prices it. It lives outside hwsim, so a template can
name it only once it is registered: the tests call
``hwsim.dataflow.registry.register_model("toy", "toymodels.toy")`` (or the
``registered_model`` context manager), as a package would declare it in its
``pyproject.toml`` under ``[project.entry-points."hwsim.dataflows"]``.
"""

from hwsim.dataflow.stage import Activity, Datapath, Unmappable, Words
from hwsim.hardware.memory import MemoryLevel, dram_level
from hwsim.hardware.params import CLOCK_HZ, TECHNOLOGY, Param, bandwidth
from hwsim.units import ceil_div

PARAMETERS = {
    "pes": Param(int, "MAC units"),
    "buf_bw_bytes_per_cycle": bandwidth("buffer bandwidth, bytes/cycle"),
    "dram_bw_bytes_per_cycle": bandwidth("DRAM bandwidth, bytes/cycle"),
    "clock_hz": CLOCK_HZ,
    "technology": TECHNOLOGY,
}

BUFFER_BYTES = 65536
MAX_OUTPUT_CHANNELS = 2**16


def activity(layers, configs):
    macs = layers.macs.astype(float)
    unmappable = Unmappable("toy")     # the toy's output-channel counter has 16 bits
    unmappable.add(layers.is_mac & (layers.g * layers.k > MAX_OUTPUT_CHANNELS), "k", layers.g * layers.k,
                   f"the toy maps at most {MAX_OUTPUT_CHANNELS} output channels")
    return Activity(
        levels=(MemoryLevel("buf", BUFFER_BYTES, configs["buf_bw_bytes_per_cycle"]),
                dram_level(configs["dram_bw_bytes_per_cycle"])),
        accesses={"buf": Words(input=macs, weight=macs, output=macs),
                  "dram": Words(layers.input_elems, layers.weight_elems, layers.output_elems)},
        compute_cycles=ceil_div(layers.macs, configs["pes"]),
        datapath=Datapath(pes=configs["pes"], mac_bits=32),
        clock_hz=configs["clock_hz"],
        unmappable=unmappable,
    )
