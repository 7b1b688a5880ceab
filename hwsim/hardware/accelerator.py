"""Accelerators and the templates they come from.

A template (``templates/<name>.yaml``) names its dataflow model and gives every
parameter the model declares a default. An :class:`Accelerator` is a template with
concrete parameter values; it is immutable, and ``with_params`` makes variants.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from ..errors import TemplateError
from .params import Param
from .technology import Technology, load_technology
from .yamlio import read_yaml_mapping

TEMPLATE_KEYS = {"name", "dataflow", "summary", "parameters", "sources", "notes"}


def template_dirs() -> list[Path]:
    """Where templates are looked up: $HWSIM_TEMPLATE_PATH (os.pathsep-separated),
    the repository's ``templates/`` (editable install) and the installed copy."""
    dirs = [Path(p) for p in os.environ.get("HWSIM_TEMPLATE_PATH", "").split(os.pathsep) if p]
    package = Path(__file__).resolve().parents[1]
    dirs += [package.parent / "templates", package / "_templates"]
    return [d for d in dirs if d.is_dir()]


def template_names() -> list[str]:
    names = {p.stem for d in template_dirs() for p in d.glob("*.yaml")}
    return sorted(names)


def _find_template(name_or_path: str | os.PathLike) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise TemplateError(f"{path}: template file not found")
        return path
    for directory in template_dirs():
        candidate = directory / f"{name_or_path}.yaml"
        if candidate.is_file():
            return candidate
    raise TemplateError(f"field 'template' = {str(name_or_path)!r}: unknown template; valid: {template_names()}")


def model_parameters(dataflow: str, where: str = "") -> Mapping[str, Param]:
    """The ``PARAMETERS`` a dataflow model declares. Models are looked up by name in
    ``hwsim.dataflow`` (a plug-in lookup, so adding a model touches no other file);
    a dotted name (``mypkg.my_model``) names a model module outside hwsim."""
    path = dataflow if "." in dataflow else f"hwsim.dataflow.{dataflow}"
    try:
        module = importlib.import_module(path)
    except ModuleNotFoundError:
        raise TemplateError(f"{where}: field 'dataflow' = {dataflow!r}: no model module {path}") from None
    if not isinstance(getattr(module, "PARAMETERS", None), dict):
        raise TemplateError(f"{where}: field 'dataflow' = {dataflow!r}: {path} declares no PARAMETERS dict")
    return module.PARAMETERS


@dataclass(frozen=True, eq=True)
class Accelerator:
    """A template with concrete parameters; evaluate it with ``hwsim.evaluate``."""

    name: str
    dataflow: str
    params: Mapping[str, Any] = field(compare=False)
    summary: str = ""
    source: str = ""
    _key: tuple = field(default=(), repr=False)

    def __hash__(self) -> int:
        return hash((self.name, self.dataflow, self._key))

    def __eq__(self, other) -> bool:
        return isinstance(other, Accelerator) and (self.name, self.dataflow, self._key) == (
            other.name, other.dataflow, other._key)

    def __getitem__(self, key: str):
        return self.params[key]

    @property
    def technology(self) -> Technology:
        return load_technology(self.params["technology"]) if "technology" in self.params else None

    @property
    def clock_hz(self) -> float:
        return float(self.params["clock_hz"])

    def with_params(self, **overrides) -> "Accelerator":
        """A copy with some parameters changed (validated like the template)."""
        params = dict(self.params)
        declared = model_parameters(self.dataflow, self.source)
        for key, value in overrides.items():
            if key not in declared:
                raise TemplateError(f"{self.source or self.name}: field '{key}' = {value!r}: unknown parameter "
                                    f"of template '{self.name}'; valid: {sorted(declared)}")
            params[key] = declared[key].check(value, self.source or self.name, key)
        return _make(self.name, self.dataflow, params, self.summary, self.source)

    def describe(self) -> str:
        return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.params.items())


def _make(name, dataflow, params, summary, source) -> Accelerator:
    frozen = MappingProxyType(dict(params))
    return Accelerator(name=name, dataflow=dataflow, params=frozen, summary=summary, source=source,
                       _key=tuple(sorted(frozen.items())))


@lru_cache(maxsize=None)
def _read_template(path: str) -> Accelerator:
    data = read_yaml_mapping(path, f"with fields {sorted(TEMPLATE_KEYS)}")
    unknown = sorted(set(data) - TEMPLATE_KEYS)
    if unknown:
        raise TemplateError(f"{path}: unknown field(s) {unknown}; valid: {sorted(TEMPLATE_KEYS)}")
    for key in ("name", "dataflow", "parameters"):
        if key not in data:
            raise TemplateError(f"{path}: field '{key}' is missing")
    if not isinstance(data["parameters"], dict):
        raise TemplateError(f"{path}: field 'parameters' = {data['parameters']!r}: expected a mapping")
    declared = model_parameters(data["dataflow"], path)
    given = data["parameters"]
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise TemplateError(f"{path}: field 'parameters.{unknown[0]}': unknown parameter of dataflow "
                            f"'{data['dataflow']}'; valid: {sorted(declared)}")
    missing = sorted(set(declared) - set(given))
    if missing:
        raise TemplateError(f"{path}: field 'parameters.{missing[0]}' is missing: a template gives every "
                            "parameter a default")
    params = {key: spec.check(given[key], path, f"parameters.{key}") for key, spec in declared.items()}
    return _make(str(data["name"]), data["dataflow"], params, str(data.get("summary", "")), path)


def load_template(name_or_path: str | os.PathLike, **overrides) -> Accelerator:
    """Load a template by name (``"dla"``) or path, with parameter overrides.

    >>> acc = load_template("dla", pes=1024, noc_bw_bytes_per_cycle=64)
    """
    accelerator = _read_template(str(_find_template(name_or_path)))
    return accelerator.with_params(**overrides) if overrides else accelerator
