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

import numbers
from dataclasses import dataclass, fields, replace
from pathlib import Path

from ..errors import TemplateError
from ..hardware.yamlio import read_yaml_mapping

__all__ = ["RDU", "load_rdu", "rdu_names"]

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates" / "rdu"
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
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TemplateError(f"{where}: field '{name}' = {value!r}: expected a number")
    if name in INTEGERS and (not float(value).is_integer() or value < 1):
        raise TemplateError(f"{where}: field '{name}' = {value!r}: expected an integer >= 1")
    if not value > 0 or value != value or value == float("inf"):
        raise TemplateError(f"{where}: field '{name}' = {value!r}: expected a finite number > 0")
    if name in FRACTIONS and value > 1:
        raise TemplateError(f"{where}: field '{name}' = {value!r}: expected a fraction in (0, 1]")


def rdu_names() -> list[str]:
    return sorted(p.stem for p in TEMPLATE_DIR.glob("*.yaml"))


def _template_path(name_or_path) -> Path:
    text = str(name_or_path)
    if text.endswith((".yaml", ".yml")):
        return Path(text)
    if text not in rdu_names():
        raise TemplateError(f"field 'rdu' = {text!r}: unknown RDU; valid: {rdu_names()} or a .yaml path")
    return TEMPLATE_DIR / f"{text}.yaml"


def load_rdu(name_or_path="sn40l", **overrides) -> RDU:
    """The RDU of a name in ``templates/rdu/`` or a YAML path, with parameter overrides."""
    path = _template_path(name_or_path)
    data = read_yaml_mapping(str(path), f"with sections {list(SECTIONS)}")
    unknown = sorted(set(map(str, data)) - {"name", "summary", "sources", *SECTIONS})
    if unknown:
        raise TemplateError(f"{path}: unknown field(s) {unknown}; valid: name, summary, sources, {list(SECTIONS)}")
    values: dict = {}
    for section in SECTIONS:
        block = data.get(section)
        if not isinstance(block, dict):
            raise TemplateError(f"{path}: field '{section}' = {block!r}: expected a mapping")
        for key, value in block.items():
            if key not in parameter_names():
                raise TemplateError(f"{path}: field '{section}.{key}': unknown parameter; valid: {parameter_names()}")
            values[key] = value
    missing = sorted(set(parameter_names()) - set(values))
    if missing:
        raise TemplateError(f"{path}: missing parameter(s) {missing}")
    rdu = RDU(name=str(data.get("name", path.stem)), source=str(path), **values)
    return rdu.with_params(**overrides) if overrides else rdu
