"""The RDU fabric as data: one socket's PCUs, PMUs and memory tiers, and the node.

An SN40L-style reconfigurable dataflow unit (RDU) is an array of *pattern compute
units* (PCUs: a ``lanes x stages`` array that runs as a systolic GEMM array or as a
SIMD pipeline) and *pattern memory units* (PMUs: banked SRAM scratchpads), behind
which sit two off-chip tiers: HBM on the package and DDR beside it. A node has
several sockets joined by a socket-to-socket network, and a DDR -> HBM path for
moving models between tiers.

The description is ``templates/rdu/sn40l.yaml`` (every value sourced there);
:func:`load_rdu` reads it through the safe loader and validates each field.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from ..errors import TemplateError
from ..hardware.sections import check_number, data_names, read_sections, resolve_data_file

__all__ = ["RDU", "load_rdu", "rdu_names"]

SECTIONS = ("socket", "planner", "node")
FRACTIONS = ("pcu_utilization", "hbm_utilization")
INTEGERS = ("pcus", "pmus", "pcu_lanes", "pcu_stages", "pmu_bytes", "gemm_min_pcus", "vector_min_pcus",
            "stream_pmus_per_op", "gemm_weight_pmus", "sockets")


@dataclass(frozen=True)
class RDU:
    """One RDU socket, its kernel planner's resource rules, and its node."""

    name: str
    # socket
    pcus: int
    pmus: int
    pcu_lanes: int
    pcu_stages: int
    clock_hz: float
    pmu_bytes: int
    pmu_bw_bytes_per_cycle: float
    hbm_bytes: float
    hbm_bw_bytes_per_s: float
    ddr_bytes: float
    ddr_bw_bytes_per_s: float
    pcu_utilization: float
    hbm_utilization: float
    launch_software_s: float
    launch_hardware_s: float
    # planner: the least resources an op takes in a fused section
    gemm_min_pcus: int
    vector_min_pcus: int
    stream_pmus_per_op: int
    gemm_weight_pmus: int
    # node
    sockets: int
    ddr_to_hbm_bw_bytes_per_s: float
    link_bw_bytes_per_s: float
    link_latency_s: float
    source: str = "<python>"

    def __post_init__(self):
        for f in fields(self):
            if f.name in ("name", "source"):
                continue
            _check_field(self.source, f.name, getattr(self, f.name))

    @property
    def peak_flops_per_s(self) -> float:
        """Dense BF16 peak of one socket: every PCU's lanes x stages MACs, 2 FLOPs each."""
        return self.pcus * self.pcu_lanes * self.pcu_stages * 2 * self.clock_hz

    @property
    def sram_bytes(self) -> float:
        return float(self.pmus * self.pmu_bytes)

    @property
    def sram_bw_bytes_per_s(self) -> float:
        return self.pmus * self.pmu_bw_bytes_per_cycle * self.clock_hz

    @property
    def ridge_flops_per_byte(self) -> float:
        """Operational intensity above which an HBM-fed kernel is compute-bound."""
        return self.peak_flops_per_s * self.pcu_utilization / (self.hbm_bw_bytes_per_s * self.hbm_utilization)

    def with_params(self, **overrides) -> "RDU":
        unknown = sorted(set(overrides) - {f.name for f in fields(self)} - {"name", "source"})
        if unknown:
            raise TemplateError(f"{self.source}: unknown RDU parameter(s) {unknown}; valid: {parameter_names()}")
        return replace(self, **overrides)


def parameter_names() -> list[str]:
    return [f.name for f in fields(RDU) if f.name not in ("name", "source")]


def _check_field(where: str, name: str, value) -> None:
    check_number(where, name, value, integer=name in INTEGERS, fraction=name in FRACTIONS)


def rdu_names() -> list[str]:
    return data_names("rdu")


def load_rdu(name_or_path="sn40l", **overrides) -> RDU:
    """The RDU of a name in ``templates/rdu/`` or a YAML path, with parameter overrides."""
    path = resolve_data_file("rdu", "rdu", name_or_path, "RDU")
    data, values = read_sections(path, SECTIONS, parameter_names())
    rdu = RDU(name=str(data.get("name", path.stem)), source=str(path), **values)
    return rdu.with_params(**overrides) if overrides else rdu
