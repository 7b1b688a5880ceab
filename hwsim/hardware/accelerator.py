"""Accelerators and the template files they come from.

A template (``templates/<name>.yaml``) names its dataflow model and gives every
parameter the model declares a default. An :class:`Accelerator` is a template with
concrete parameter values and the declarations (:class:`Param`) they were checked
against; it is immutable, and ``with_params`` makes validated variants without
looking anything up.

This module is floor 1: it finds template files and reads their top-level
structure (:func:`read_template_file`), but it never looks a dataflow model up by
name. Checking a template against its model's ``PARAMETERS`` is the model
registry's job (``hwsim.dataflow.registry``, floor 2).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from ..errors import TemplateError
from .params import Param, show_value
from .technology import Technology, load_technology
from .yamlio import read_yaml_mapping

TEMPLATE_KEYS = {"name", "dataflow", "summary", "parameters", "sources", "notes"}
TEMPLATE_SUFFIXES = (".yaml", ".yml")


# -- finding template files ------------------------------------------------------

_PACKAGE = Path(__file__).resolve().parents[1]
_PACKAGE_TEMPLATE_DIRS = (str(_PACKAGE.parent / "templates"), str(_PACKAGE / "_templates"))  # editable, installed


def _search_path() -> list[str]:
    dirs = [p for p in os.environ.get("HWSIM_TEMPLATE_PATH", "").split(os.pathsep) if p]
    return [d for d in dirs + list(_PACKAGE_TEMPLATE_DIRS) if os.path.isdir(d)]


def template_dirs() -> list[Path]:
    """Where templates are looked up: $HWSIM_TEMPLATE_PATH (os.pathsep-separated),
    the repository's ``templates/`` (editable install) and the installed copy."""
    return [Path(d) for d in _search_path()]


def template_names() -> list[str]:
    """Every template name on the search path (a name found in two directories is
    the first one's; see :func:`find_template`)."""
    names = {p.stem for d in template_dirs() for p in d.glob("*.yaml") if p.is_file()}
    return sorted(names)


def find_template(name_or_path) -> Path:
    """The file of a template name (``"dla"``) or a YAML path (``"chips/x.yaml"``).
    A name is a plain file stem: it cannot reach outside the template directories."""
    return Path(locate_template(name_or_path)[0])


def locate_template(name_or_path) -> tuple[str, os.stat_result]:
    """:func:`find_template`'s file and its ``os.stat`` (which a cache keys on).
    It runs on every ``load_template``, so it makes one ``stat`` per directory
    tried and nothing more."""
    if not isinstance(name_or_path, (str, os.PathLike)) or not str(name_or_path).strip():
        raise TemplateError(f"field 'template' = {show_value(name_or_path)}: expected a template name or a "
                            f"YAML path; valid names: {template_names()}")
    name = os.fspath(name_or_path)
    if name.lower().endswith(TEMPLATE_SUFFIXES):
        found = _regular_file(name)
        if found is None:
            raise TemplateError(f"{name}: template file not found")
        return name, found
    if any(sep in name for sep in ("/", "\\", os.sep)) or name.startswith("."):
        raise TemplateError(f"field 'template' = {name!r}: unknown template; valid: {template_names()} "
                            "(a template file's path must end in .yaml)")
    env = os.environ.get("HWSIM_TEMPLATE_PATH", "")
    for directory in [d for d in env.split(os.pathsep) if d] + list(_PACKAGE_TEMPLATE_DIRS):
        candidate = os.path.join(directory, f"{name}.yaml")
        found = _regular_file(candidate)
        if found is not None:
            return candidate, found
    raise TemplateError(f"field 'template' = {name!r}: unknown template; valid: {template_names()}")


def _regular_file(path: str) -> os.stat_result | None:
    try:
        result = os.stat(path)
    except (OSError, ValueError):       # missing, unreadable, or a NUL in the name
        return None
    return result if stat.S_ISREG(result.st_mode) else None


# -- reading a template file ------------------------------------------------------

@dataclass(frozen=True)
class TemplateFile:
    """A template file's content, checked for structure but not yet against its
    model: ``parameters`` holds the values as YAML gave them."""

    name: str
    dataflow: Any                   # checked by the registry, which knows the valid names
    parameters: Mapping[str, Any]
    summary: str
    source: str


def read_template_file(path) -> TemplateFile:
    """The top-level structure of template ``path``: known keys only, ``name``,
    ``dataflow`` and ``parameters`` present, ``parameters`` a mapping."""
    path = str(path)
    data = read_yaml_mapping(path, f"with fields {sorted(TEMPLATE_KEYS)}")
    unknown = sorted(set(map(str, data)) - TEMPLATE_KEYS)
    if unknown:
        raise TemplateError(f"{path}: unknown field(s) {unknown}; valid: {sorted(TEMPLATE_KEYS)}")
    for key in ("name", "dataflow", "parameters"):
        if key not in data:
            raise TemplateError(f"{path}: field '{key}' is missing")
    if not isinstance(data["name"], str) or not data["name"].strip():
        raise TemplateError(f"{path}: field 'name' = {data['name']!r}: expected a non-empty string")
    if not isinstance(data["parameters"], dict):
        raise TemplateError(f"{path}: field 'parameters' = {data['parameters']!r}: expected a mapping")
    return TemplateFile(name=data["name"], dataflow=data["dataflow"], parameters=data["parameters"],
                        summary=str(data.get("summary") or ""), source=path)


# -- the accelerator -------------------------------------------------------------

@dataclass(frozen=True, eq=True)
class Accelerator:
    """A template with concrete parameters; evaluate it with ``hwsim.evaluate``.

    ``declared`` holds the model's parameter declarations, so that ``with_params``
    validates overrides on its own (no registry lookup per variant); it takes no
    part in equality or hashing, which depend on name, dataflow and values only.
    """

    name: str
    dataflow: str
    params: Mapping[str, Any] = field(compare=False)
    summary: str = ""
    source: str = ""
    _key: tuple = field(default=(), repr=False)
    declared: Mapping[str, Param] = field(default_factory=lambda: MappingProxyType({}), compare=False, repr=False)

    def __hash__(self) -> int:
        return hash((self.name, self.dataflow, self._key))

    def __eq__(self, other) -> bool:
        return isinstance(other, Accelerator) and (self.name, self.dataflow, self._key) == (
            other.name, other.dataflow, other._key)

    def __reduce__(self):
        # mappingproxy does not pickle; rebuild from plain dicts (process-pool sweeps)
        return (make_accelerator, (self.name, self.dataflow, dict(self.params), self.summary, self.source,
                                   dict(self.declared)))

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
        if not overrides:
            return self
        where = self.source or self.name
        params = dict(self.params)
        for key, value in overrides.items():
            spec = self.declared.get(key)
            if spec is None and not self.declared:
                raise TemplateError(f"{where}: field '{key}' = {show_value(value)}: this Accelerator carries no "
                                    "parameter declarations to check it against; make it with hwsim.load_template")
            if spec is None:
                raise TemplateError(f"{where}: field '{key}' = {show_value(value)}: unknown parameter of template "
                                    f"'{self.name}'; valid: {sorted(self.declared)}")
            params[key] = spec.check(value, where, key)
        return make_accelerator(self.name, self.dataflow, params, self.summary, self.source, self.declared)

    def describe(self) -> str:
        return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.params.items())


def make_accelerator(name: str, dataflow: str, params: Mapping[str, Any], summary: str = "", source: str = "",
                     declared: Mapping[str, Param] | None = None) -> Accelerator:
    """An Accelerator from already-validated ``params`` (frozen copies are taken)."""
    frozen = MappingProxyType(dict(params))
    declared = declared if isinstance(declared, MappingProxyType) else MappingProxyType(dict(declared or {}))
    return Accelerator(name=name, dataflow=dataflow, params=frozen, summary=summary, source=source,
                       _key=tuple(sorted(frozen.items())), declared=declared)


def check_accelerator(obj, where: str = "") -> Accelerator:
    """``obj`` if it is an :class:`Accelerator`, else a TemplateError that says how to
    get one (a template name passed where an accelerator belongs is the usual slip)."""
    if isinstance(obj, Accelerator):
        return obj
    prefix = f"{where}: " if where else ""
    shown = repr(obj) if isinstance(obj, str) else type(obj).__name__
    hint = f" (use hwsim.load_template({obj!r}))" if isinstance(obj, str) else ""
    raise TemplateError(f"{prefix}field 'accelerator' = {shown}: expected an hwsim.Accelerator{hint}")


def load_template(name_or_path, **overrides) -> Accelerator:
    """Load a template by name (``"dla"``) or path, with parameter overrides.

    >>> acc = load_template("dla", pes=1024, noc_bw_bytes_per_cycle=64)

    Kept here for compatibility (``from hwsim.hardware.accelerator import
    load_template`` is used by tests and scripts). The work is done by the model
    registry on floor 2, which checks the template against its model's declared
    parameters; the import is inside the function so that importing floor 1 never
    imports floor 2, and this module itself names no model.
    """
    from ..dataflow.registry import load_template as registry_load_template

    return registry_load_template(name_or_path, **overrides)
