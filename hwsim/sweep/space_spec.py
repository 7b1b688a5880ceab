"""The ``parameters`` and ``derived`` fields of a sweep spec, checked against the
template and turned into a :class:`~hwsim.sweep.points.PointSpace`.

    parameters:
      grid: {pes: [256, 1024], noc_bw_bytes_per_cycle: [32, 64]}
      random: {samples: 1000, seed: 1, ranges: {l2_bytes: {low: 65536, high: 4194304, log: true}}}
      # or lhs: {samples: 1000, seed: 1, ranges: {...}}   (not both random and lhs)
    derived:
      l1_bytes: "max(64, l2_bytes // pes)"

A chip sweep (``chip:``) names parameters ``<sub>.<param>`` (``big.pes``); in a
derived expression such a name is written ``big__pes`` (a dot would be an attribute).

Every grid value, choice and range bound is checked with the template's
parameter declaration (the same check as ``with_params``), so a bad value fails
here, before any work; every error names the field and the value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..errors import SpecError, TemplateError
from ..hardware.accelerator import Accelerator
from ..hardware.params import show_value
from ..system.chip_yaml import _yaml_number
from .expr import Expression, compile_expression
from .points import Grid, PointSpace, Range, Samples, values_array

PARAMETER_KEYS = ("grid", "random", "lhs")
SAMPLE_KEYS = ("samples", "seed", "ranges")
RANGE_KEYS = ("low", "high", "log", "integer")


def parse_space(parameters, derived, template: Accelerator, where: str = "") -> PointSpace:
    """The PointSpace of a spec's ``parameters`` and ``derived`` fields on ``template``."""
    if not isinstance(parameters, Mapping) or not parameters:
        raise SpecError(f"{where}field 'parameters' = {show_value(parameters)}: expected a mapping with "
                        f"'grid' and/or one of 'random', 'lhs'")
    _known(parameters, PARAMETER_KEYS, "parameters.", where)
    if "random" in parameters and "lhs" in parameters:
        raise SpecError(f"{where}field 'parameters': give 'random' or 'lhs', not both (the grid is crossed with "
                        "one sample block)")
    grid = _grid(parameters["grid"], template, where) if "grid" in parameters else None
    kind = "random" if "random" in parameters else "lhs" if "lhs" in parameters else None
    sampler = _samples(kind, parameters[kind], template, where) if kind else None
    if grid and sampler:
        both = sorted(set(grid.names) & set(sampler.names))
        if both:
            raise SpecError(f"{where}field 'parameters.{kind}.ranges.{both[0]}': '{both[0]}' is also in the grid; "
                            "sweep each parameter in one place")
    swept = (grid.names if grid else ()) + (sampler.names if sampler else ())
    constants = {k: v for k, v in template.params.items() if not isinstance(v, str)}
    space = PointSpace(grid, sampler, _derived(derived, template, swept, where), constants)
    _check_first_point(space, template, where)
    return space


def _known(data: Mapping, valid, prefix: str, where: str) -> None:
    unknown = sorted((k for k in data if str(k) not in valid), key=str)
    if unknown:
        raise SpecError(f"{where}field '{prefix}{unknown[0]}' = {show_value(data[unknown[0]])}: unknown field; "
                        f"valid: {list(valid)}")


def _declared(name, value, template: Accelerator, field: str, where: str):
    spec = template.declared.get(name) if isinstance(name, str) else None
    if spec is None:
        raise SpecError(f"{where}field '{field}' = {show_value(value)}: unknown parameter '{name}' of template "
                        f"'{template.name}'; valid: {sorted(template.declared)}")
    return spec


def _checked(spec, value, field: str, where: str):
    """``value`` through the template's declaration, a TemplateError becoming a SpecError."""
    try:
        return spec.check(_yaml_number(value), where.rstrip(": "), field)
    except TemplateError as exc:
        raise SpecError(str(exc)) from None


def _grid(data, template: Accelerator, where: str) -> Grid:
    if not isinstance(data, Mapping) or not data:
        raise SpecError(f"{where}field 'parameters.grid' = {show_value(data)}: expected a non-empty mapping "
                        "of parameter name to a list of values")
    names, values = [], []
    for name, items in data.items():
        field = f"parameters.grid.{name}"
        spec = _declared(name, items, template, field, where)
        if not isinstance(items, list) or not items:
            raise SpecError(f"{where}field '{field}' = {show_value(items)}: expected a non-empty list of values")
        checked = [_checked(spec, v, f"{field}[{i}]", where) for i, v in enumerate(items)]
        names.append(name)
        values.append(values_array(checked))
    return Grid(tuple(names), tuple(values))


def _samples(kind: str, data, template: Accelerator, where: str) -> Samples:
    head = f"parameters.{kind}"
    if not isinstance(data, Mapping):
        raise SpecError(f"{where}field '{head}' = {show_value(data)}: expected a mapping with fields "
                        f"{list(SAMPLE_KEYS)}")
    _known(data, SAMPLE_KEYS, f"{head}.", where)
    samples, seed = _yaml_number(data.get("samples")), _yaml_number(data.get("seed", 0))
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise SpecError(f"{where}field '{head}.samples' = {show_value(data.get('samples'))}: expected an "
                        "integer >= 1")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SpecError(f"{where}field '{head}.seed' = {show_value(seed)}: expected an integer >= 0")
    ranges = data.get("ranges")
    if not isinstance(ranges, Mapping) or not ranges:
        raise SpecError(f"{where}field '{head}.ranges' = {show_value(ranges)}: expected a non-empty mapping of "
                        "parameter name to {low, high[, log, integer]} or a list of choices")
    parsed = {name: _range(name, value, template, f"{head}.ranges.{name}", where) for name, value in ranges.items()}
    return Samples(kind, samples, seed, tuple(parsed), tuple(parsed.values()))


def _range(name, data, template: Accelerator, field: str, where: str) -> Range:
    spec = _declared(name, data, template, field, where)
    if isinstance(data, list):
        if not data:
            raise SpecError(f"{where}field '{field}' = []: expected a non-empty list of choices")
        return Range(choices=tuple(_checked(spec, v, f"{field}[{i}]", where) for i, v in enumerate(data)))
    if spec.kind is str:
        raise SpecError(f"{where}field '{field}' = {show_value(data)}: '{name}' is a string parameter; give a "
                        "list of choices")
    if not isinstance(data, Mapping):
        raise SpecError(f"{where}field '{field}' = {show_value(data)}: expected {{low, high[, log, integer]}} "
                        "or a list of choices")
    _known(data, RANGE_KEYS, f"{field}.", where)
    for key in ("low", "high"):
        if key not in data:
            raise SpecError(f"{where}field '{field}.{key}' is missing")
    low, high = (_checked(spec, data[k], f"{field}.{k}", where) for k in ("low", "high"))
    flags = {k: data.get(k, spec.kind is int if k == "integer" else False) for k in ("log", "integer")}
    for key, value in flags.items():
        if not isinstance(value, bool):
            raise SpecError(f"{where}field '{field}.{key}' = {show_value(value)}: expected true or false")
    if spec.kind is int and not flags["integer"]:
        raise SpecError(f"{where}field '{field}.integer' = False: '{name}' is an integer parameter")
    if not low < high and not (flags["integer"] and low == high):
        raise SpecError(f"{where}field '{field}.high' = {show_value(high)}: expected > low ({show_value(low)})")
    if flags["log"] and low <= 0:
        raise SpecError(f"{where}field '{field}.low' = {show_value(low)}: a log range needs low > 0")
    if flags["integer"] and not (float(low).is_integer() and float(high).is_integer()):
        raise SpecError(f"{where}field '{field}': an integer range needs whole low and high, got "
                        f"{show_value(low)}..{show_value(high)}")
    return Range(low=low, high=high, log=flags["log"], integer=flags["integer"])


def _derived(data, template: Accelerator, swept: tuple[str, ...], where: str):
    if data is None:
        return ()
    if not isinstance(data, Mapping):
        raise SpecError(f"{where}field 'derived' = {show_value(data)}: expected a mapping of parameter name to "
                        "an expression, e.g. {l2_bytes: \"1024 * pes\"}")
    numeric = {k for k, v in template.params.items() if not isinstance(v, str)}
    out = []
    for name, text in data.items():
        field = f"derived.{name}"
        spec = _declared(name, text, template, field, where)
        if spec.kind is str:
            raise SpecError(f"{where}field '{field}' = {show_value(text)}: '{name}' is a string parameter; "
                            "derived parameters are numeric")
        if name in swept:
            raise SpecError(f"{where}field '{field}' = {show_value(text)}: '{name}' is swept in 'parameters'; "
                            "a parameter is either swept or derived")
        known = (numeric - {n for n, _ in data.items()}) | set(swept) | {n for n, _ in out}
        out.append((name, _compile(text, field, known, where)))
    return tuple(out)


def _compile(text, field: str, known: set, where: str):
    """A chip sweep's parameters are dotted (``big.pes``), which the expression
    language reads as an attribute: there they are written ``big__pes``."""
    if not any("." in name for name in known):
        return compile_expression(text, field, known, where)
    try:
        return DottedExpression(compile_expression(text, field, {n.replace(".", "__") for n in known}, where))
    except SpecError as exc:
        if "Attribute" not in str(exc):
            raise
        raise SpecError(f"{exc}; in a chip sweep write 'big.pes' as big__pes") from None


@dataclass(frozen=True)
class DottedExpression:
    """An expression over ``sub__param`` names evaluated on ``sub.param`` values."""

    inner: Expression

    @property
    def text(self) -> str:
        return self.inner.text

    def evaluate(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        return self.inner.evaluate({k.replace(".", "__"): v for k, v in values.items()})


def _check_first_point(space: PointSpace, template: Accelerator, where: str) -> None:
    """Every derived parameter on the first point must be a valid value: a spec
    whose derivation fails there is wrong, not one infeasible point."""
    if not space.derived:
        return
    first = space.take(0, 1)
    shown = ", ".join(f"{n}={_scalar(first[n])}" for n in space.swept)
    for name, expression in space.derived:
        value = _scalar(first[name])
        try:
            template.declared[name].check(value, "", name)
        except TemplateError as exc:
            reason = str(exc).split(": ", 1)[-1]
            raise SpecError(f"{where}field 'derived.{name}' = {expression.text!r}: on the first point ({shown}) "
                            f"it is {show_value(value)}: {reason}") from None


def _scalar(array: np.ndarray) -> Any:
    value = np.asarray(array).reshape(-1)[0]
    return value.item() if isinstance(value, np.generic) else value


__all__ = ["parse_space"]
