"""The NGPC study's hardware as data: ``templates/graphics/ngpc.yaml``.

Two sections. ``gpu``: the baseline GPU (its per-kernel template, L2 size and
bandwidth, access sector), the measured hash-grid encoding + MLP share that sets
the remaining kernels' time, the measured speed-up of fusing those kernels, and the
AR/VR power budget. ``ngpc``: one neural field processor (encoding engines with
their SRAM and lookup rate, the MLP engine's array and dataflow, clock, precision,
I/O width, area and power). Every value is sourced in the file; :func:`load_ngpc`
reads it with the safe loader and checks each field.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from ..errors import TemplateError
from ..hardware.sections import check_number, read_sections, resolve_data_file

__all__ = ["NgpcConfig", "load_ngpc", "parameter_names"]

SECTIONS = ("gpu", "ngpc")
TEXT = ("kernels_template", "mlp_template", "mlp_dataflow")
INTEGERS = ("l2_bytes", "sector_bytes", "encoding_engines", "lookups_per_cycle", "sram_bytes_per_engine",
            "feature_bytes", "mlp_rows", "mlp_cols", "io_bytes_per_coordinate")
FRACTIONS = ("encoding_plus_mlp_share",)


@dataclass(frozen=True)
class NgpcConfig:
    name: str
    # gpu
    kernels_template: str
    l2_bytes: int
    l2_bw_bytes_per_s: float
    sector_bytes: int
    encoding_plus_mlp_share: float
    fused_rest_speedup: float
    arvr_power_budget_w: float
    # ngpc: one neural field processor
    encoding_engines: int
    lookups_per_cycle: int
    sram_bytes_per_engine: int
    feature_bytes: int
    mlp_rows: int
    mlp_cols: int
    mlp_template: str
    mlp_dataflow: str
    clock_hz: float
    io_bytes_per_coordinate: int
    area_mm2_per_processor: float
    power_w_per_processor: float
    source: str = "<python>"

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("name", "source"):
                continue
            if f.name in TEXT:
                if not isinstance(value, str) or not value:
                    raise TemplateError(f"{self.source}: field '{f.name}' = {value!r}: expected a name")
                continue
            check_number(self.source, f.name, value, integer=f.name in INTEGERS, fraction=f.name in FRACTIONS)
            if f.name in INTEGERS:
                object.__setattr__(self, f.name, int(value))
        if self.encoding_plus_mlp_share >= 1:
            raise TemplateError(f"{self.source}: field 'encoding_plus_mlp_share' = {self.encoding_plus_mlp_share!r}: "
                                f"expected < 1 (the remaining kernels take some time)")

    def with_params(self, **overrides) -> "NgpcConfig":
        unknown = sorted(set(overrides) - set(parameter_names()))
        if unknown:
            raise TemplateError(f"{self.source}: unknown NGPC parameter(s) {unknown}; valid: {parameter_names()}")
        return replace(self, **overrides)


def parameter_names() -> list[str]:
    return [f.name for f in fields(NgpcConfig) if f.name not in ("name", "source")]


def load_ngpc(name_or_path="ngpc", **overrides) -> NgpcConfig:
    """The cluster of a name in ``templates/graphics/`` or a YAML path, with overrides."""
    path = resolve_data_file("graphics", "ngpc", name_or_path, "NGPC")
    data, values = read_sections(path, SECTIONS, parameter_names())
    config = NgpcConfig(name=str(data.get("name", path.stem)), source=str(path), **values)
    return config.with_params(**overrides) if overrides else config
