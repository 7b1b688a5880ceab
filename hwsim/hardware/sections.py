"""Data files of named numeric sections: an RDU fabric (``templates/rdu/``), an NGPC
cluster (``templates/graphics/``).

Such a file is not a dataflow template (it has no ``dataflow`` and is not costed by
``hwsim.evaluate``), so it lives in a sub-folder of ``templates/`` that
:func:`~hwsim.hardware.accelerator.template_names` does not list. Its layout::

    name: ...
    summary: ...
    <section>: {parameter: value, ...}     one mapping per section
    sources: {parameter: "where the value comes from"}

Every parameter is given exactly once over the sections; each is checked here (a
number, finite and > 0; an integer or a fraction where declared) so that a bad value
is one line naming the file, field and value.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from pathlib import Path

from ..errors import TemplateError
from .accelerator import _PACKAGE_TEMPLATE_DIRS
from .yamlio import read_yaml_mapping

__all__ = ["check_number", "data_dir", "data_names", "read_sections", "resolve_data_file"]


def data_dir(subdir: str) -> Path:
    """``templates/<subdir>`` of an editable checkout, else of the installed package."""
    candidates = [Path(d) / subdir for d in _PACKAGE_TEMPLATE_DIRS]
    return next((c for c in candidates if c.is_dir()), candidates[0])


def data_names(subdir: str) -> list[str]:
    return sorted(p.stem for p in data_dir(subdir).glob("*.yaml"))


def resolve_data_file(subdir: str, field: str, name_or_path, what: str) -> Path:
    """A name in ``templates/<subdir>`` or a ``.yaml`` path (``what``: "RDU", "NGPC" for messages)."""
    text = str(name_or_path)
    if text.endswith((".yaml", ".yml")):
        return Path(text)
    if text not in data_names(subdir):
        raise TemplateError(f"field '{field}' = {text!r}: unknown {what}; valid: {data_names(subdir)} "
                            f"or a .yaml path")
    return data_dir(subdir) / f"{text}.yaml"


def check_number(where: str, name: str, value, integer: bool = False, fraction: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TemplateError(f"{where}: field '{name}' = {value!r}: expected a number")
    if integer and (not float(value).is_integer() or value < 1):
        raise TemplateError(f"{where}: field '{name}' = {value!r}: expected an integer >= 1")
    if not value > 0 or value != value or value == float("inf"):
        raise TemplateError(f"{where}: field '{name}' = {value!r}: expected a finite number > 0")
    if fraction and value > 1:
        raise TemplateError(f"{where}: field '{name}' = {value!r}: expected a fraction in (0, 1]")


def read_sections(path: Path, sections: Iterable[str], names: Iterable[str]) -> tuple[dict, dict]:
    """``(file mapping, {parameter: value})`` of a sectioned data file; unknown or missing
    parameters and unknown top-level fields are errors."""
    sections, names = tuple(sections), list(names)
    data = read_yaml_mapping(str(path), f"with sections {list(sections)}")
    unknown = sorted(set(map(str, data)) - {"name", "summary", "sources", *sections})
    if unknown:
        raise TemplateError(f"{path}: unknown field(s) {unknown}; valid: name, summary, sources, {list(sections)}")
    values: dict = {}
    for section in sections:
        block = data.get(section)
        if not isinstance(block, dict):
            raise TemplateError(f"{path}: field '{section}' = {block!r}: expected a mapping")
        for key, value in block.items():
            if key not in names:
                raise TemplateError(f"{path}: field '{section}.{key}': unknown parameter; valid: {names}")
            values[key] = value
    missing = sorted(set(names) - set(values))
    if missing:
        raise TemplateError(f"{path}: missing parameter(s) {missing}")
    return data, values
