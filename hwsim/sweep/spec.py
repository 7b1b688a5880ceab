"""Sweep specs (``specs/sweeps/*.yaml`` or a dict): :func:`load_sweep_spec`.

    name: dla_pes_l2
    network: resnet50               # or a list; zoo names or layer files (paths relative to the spec)
    batch: 1                        # optional, zoo networks
    bits: 8                         # optional
    template: dla                   # a template name or a YAML path
    parameters: {grid: {...}, random: {...} | lhs: {...}}     # see hwsim/sweep/space_spec.py
    derived: {l2_bytes: "1024 * pes"}                         # see hwsim/sweep/expr.py
    objectives: [latency_cycles, energy_pj, area_mm2]         # or {utilization: max, energy_pj: min}
    output: totals                  # one row per (point, network); "layers": one per (point, network, layer)
    chunk_points: 20000             # points per Parquet part (default 20,000; 1,000 in layers mode)

Everything is checked before any work (the safe YAML reader, unknown fields,
the template's parameter declarations, the networks, the derived parameters on
the first point); every error is one SpecError line naming the file, the field
and the value.

A chip sweep gives ``chip: path/to/chip.yaml`` (relative to the sweep spec) instead
of ``template`` and no ``network`` (the chip's tasks are the workload); its
parameters are ``<sub>.<param>`` (``big.pes``), written ``big__pes`` in derived
expressions; output is totals only (see hwsim/sweep/chip_engine.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..errors import HwsimError, SpecError, TemplateError
from ..hardware.accelerator import Accelerator
from ..hardware.params import show_value
from ..system.chip_yaml import _yaml_number
from ..workload.network import Network
from .points import PointSpace
from .space_spec import _known, parse_space

SPEC_KEYS = ("name", "network", "batch", "bits", "template", "chip", "parameters", "derived", "objectives",
             "output", "chunk_points", "notes")
OUTPUTS = ("totals", "layers")
DEFAULT_OBJECTIVES = (("latency_cycles", "min"), ("energy_pj", "min"), ("area_mm2", "min"))
DEFAULT_CHUNK_POINTS = {"totals": 20_000, "layers": 1_000}
MAX_CHUNK_POINTS = 1_000_000


@dataclass(frozen=True)
class SweepSpec:
    """A checked sweep: what to evaluate (``networks`` on ``template`` over
    ``space``), what to keep (``output``, ``objectives``) and how to cut it up."""

    name: str
    networks: tuple[Network, ...]
    template: Accelerator
    space: PointSpace
    objectives: tuple[tuple[str, str], ...]       # (column, "min" | "max")
    output: str
    chunk_points: int
    data: Mapping[str, Any]                       # the spec as given (paths resolved): fingerprint, manifest
    source: str = ""
    chip: Any = None                              # a chip sweep: the Chip (``template`` is its ChipParameters)

    @property
    def points(self) -> int:
        return self.space.size

    @property
    def chunks(self) -> int:
        return -(-self.points // self.chunk_points)

    def chunk_range(self, chunk: int) -> tuple[int, int]:
        start = chunk * self.chunk_points
        return start, min(start + self.chunk_points, self.points)

    def fingerprint(self) -> str:
        """A hash of everything the results depend on: the spec, the template's
        values and the networks' layer shapes (a resumed sweep must be this one)."""
        from .. import __version__ as version

        content = {"spec": self.data, "template": {k: _plain(v) for k, v in self.template.params.items()},
                   "dataflow": self.template.dataflow, "hwsim": version,
                   "networks": [[net.name] + [repr(l.shape_key()) for l in net.layers] for net in self.networks]}
        text = json.dumps(content, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_sweep_spec(source) -> SweepSpec:
    """A SweepSpec from a YAML file path or a dict (already a SweepSpec: returned)."""
    if isinstance(source, SweepSpec):
        return source
    if isinstance(source, Mapping):
        return sweep_from_mapping(source, "", Path.cwd())
    if not isinstance(source, (str, Path)):
        raise SpecError(f"field 'spec' = {show_value(source)}: expected a sweep YAML path or a mapping")
    from ..hardware.yamlio import read_yaml_mapping

    path = str(source)
    try:
        data = read_yaml_mapping(path, f"with fields {list(SPEC_KEYS)}")
    except TemplateError as exc:            # the YAML reader's errors are about the file
        raise SpecError(str(exc)) from None
    return sweep_from_mapping(data, path, Path(path).parent)


def sweep_from_mapping(data: Mapping[str, Any], source: str = "", base_dir: Path | None = None) -> SweepSpec:
    """A SweepSpec from the YAML form already parsed into ``data``."""
    where = f"{source}: " if source else ""
    _known(data, SPEC_KEYS, "", where)
    name = data.get("name", Path(source).stem if source else "sweep")
    if not isinstance(name, str) or not name.strip():
        raise SpecError(f"{where}field 'name' = {show_value(name)}: expected a non-empty sweep name")
    chip = None
    if "chip" in data:
        chip, template_name, template, network_names, networks = _chip(data, base_dir, where)
    else:
        template_name, template = _template(data.get("template"), base_dir, where)
        network_names, networks = _networks(data, base_dir, where)
    space = parse_space(data.get("parameters"), data.get("derived"), template, where)
    output = data.get("output", "totals")
    if output not in OUTPUTS or (chip is not None and output != "totals"):
        raise SpecError(f"{where}field 'output' = {show_value(output)}: valid: "
                        f"{['totals'] if chip is not None else list(OUTPUTS)}")
    chunk = _yaml_number(data.get("chunk_points", DEFAULT_CHUNK_POINTS[output]))
    if isinstance(chunk, bool) or not isinstance(chunk, int) or not 1 <= chunk <= MAX_CHUNK_POINTS:
        raise SpecError(f"{where}field 'chunk_points' = {show_value(chunk)}: expected an integer in "
                        f"1..{MAX_CHUNK_POINTS:,}")
    objectives = _objectives(data.get("objectives"), where)
    resolved = {**{k: v for k, v in data.items() if k != "notes"}, "name": name,
                ("chip" if chip is not None else "template"): template_name,
                "network": network_names, "output": output, "chunk_points": chunk,
                "objectives": [list(o) for o in objectives]}
    return SweepSpec(name=name, networks=networks, template=template, space=space, objectives=objectives,
                     output=output, chunk_points=chunk, data=json.loads(json.dumps(resolved, default=str)),
                     source=source, chip=chip)


def _chip(data: Mapping, base_dir: Path | None, where: str):
    """A chip sweep's chip (task-level, loaded from its file), its parameter
    namespace and its networks; ``template`` or ``network`` beside it is an error."""
    from ..system.chip_yaml import load_chip
    from ..system.tables import unique_networks
    from .chip_engine import check_chip_names, check_task_level, chip_parameters

    for key in ("template", "network", "batch", "bits"):
        if key in data:
            raise SpecError(f"{where}field '{key}' = {show_value(data[key])}: not allowed with 'chip' (the chip "
                            "file gives the sub-accelerators and the tasks); give 'chip' or 'template', not both")
    value = _resolve(data["chip"], base_dir)
    if not isinstance(value, str) or not Path(value).is_file():
        raise SpecError(f"{where}field 'chip' = {show_value(data['chip'])}: expected the path of a chip YAML file "
                        "(relative to the sweep spec)")
    chip = load_chip(value)
    check_task_level(chip, where)
    check_chip_names(chip, data.get("parameters"), data.get("derived"), where)
    networks = tuple(unique_networks(t.network for t in chip.tasks))
    return chip, value, chip_parameters(chip), [n.name for n in networks], networks


def _resolve(value, base_dir: Path | None):
    """A relative path that exists beside the spec file is taken from there."""
    if isinstance(value, str) and base_dir is not None and not Path(value).is_absolute() \
            and Path(value).suffix and (base_dir / value).is_file():
        return str(base_dir / value)
    return value


def _template(value, base_dir: Path | None, where: str) -> tuple[str, Accelerator]:
    from ..dataflow.registry import load_template

    if value is None:
        raise SpecError(f"{where}field 'template' is missing: give a template name (e.g. dla) or a YAML path")
    value = _resolve(value, base_dir)
    try:
        return str(value), load_template(value)
    except TemplateError as exc:
        raise SpecError(f"{where}{exc}") from None


def _networks(data: Mapping, base_dir: Path | None, where: str) -> tuple[list[str], tuple[Network, ...]]:
    from ..workload.loaders import load_network

    value = data.get("network")
    names = value if isinstance(value, list) else [value]
    if value is None or not names:
        raise SpecError(f"{where}field 'network' = {show_value(value)}: give a zoo name, a layer file or a list "
                        "of them")
    for key in ("batch", "bits"):
        number = data.get(key)
        if number is not None and (isinstance(number, bool) or not isinstance(number, int) or number <= 0):
            raise SpecError(f"{where}field '{key}' = {show_value(number)}: expected an integer > 0")
    resolved, networks = [], []
    for i, name in enumerate(names):
        name = _resolve(name, base_dir)
        try:
            networks.append(load_network(name, batch=data.get("batch"), bits=data.get("bits")))
        except HwsimError as exc:
            raise SpecError(f"{where}field 'network[{i}]': {exc}") from None
        resolved.append(str(name))
    labels = [n.name for n in networks]
    if len(set(labels)) != len(labels):
        raise SpecError(f"{where}field 'network' = {show_value(names)}: two networks share a name ({labels})")
    return resolved, tuple(networks)


def _objectives(value, where: str) -> tuple[tuple[str, str], ...]:
    """Objective columns and directions; the columns are checked against the
    results' columns once the first chunk's schema is known (see run.py)."""
    if value is None:
        return DEFAULT_OBJECTIVES
    items = list(value.items()) if isinstance(value, Mapping) else \
        [(v, "min") for v in value] if isinstance(value, list) else None
    if not items:
        raise SpecError(f"{where}field 'objectives' = {show_value(value)}: expected a non-empty list of columns "
                        "(minimised) or a mapping column: min | max")
    for column, sense in items:
        if not isinstance(column, str) or sense not in ("min", "max"):
            raise SpecError(f"{where}field 'objectives.{column}' = {show_value(sense)}: expected min or max")
    return tuple(items)


def _plain(value):
    return value if isinstance(value, (str, int, float)) else str(value)


__all__ = ["DEFAULT_OBJECTIVES", "OUTPUTS", "SweepSpec", "load_sweep_spec", "sweep_from_mapping"]
