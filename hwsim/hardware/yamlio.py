"""Reading hwsim's YAML data files: safe loader only, one error format."""

from __future__ import annotations

import yaml

from ..errors import TemplateError


def read_yaml_mapping(path: str, expected: str) -> dict:
    """The mapping in YAML file ``path`` (``yaml.safe_load``: no Python tags, no code).
    ``expected`` says what the mapping should hold, for the error message."""
    try:
        with open(path) as fh:
            data = yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        raise TemplateError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise TemplateError(f"{path}: expected a mapping {expected}")
    return data
