"""Reading hwsim's YAML data files: safe loader only, one error format.

Three rules, each because a silent reading would be worse than an error:

* the safe loader only (no Python tags, nothing is constructed from code);
* a key given twice in one mapping is an error (plain YAML keeps the last one, so
  a template that sets ``pes`` twice would silently use the second);
* the file must be UTF-8 text (a BOM is allowed; :func:`hwsim.errors.read_text`);
  every error is one line naming the file, with the line where YAML knows it.

PyYAML is imported on first read, not with ``import hwsim``.
"""

from __future__ import annotations

from functools import lru_cache

from ..errors import TemplateError, read_text


@lru_cache(maxsize=1)
def unique_key_loader():
    """``yaml.SafeLoader`` subclass that rejects a key repeated within one mapping."""
    import yaml
    from yaml.constructor import ConstructorError

    class UniqueKeySafeLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            if isinstance(node, yaml.MappingNode):
                self.flatten_mapping(node)      # merge keys (<<) first, as SafeLoader does
                seen: dict = {}
                for key_node, _ in node.value:
                    key = self.construct_object(key_node, deep=deep)
                    try:
                        first = seen.get(key)
                    except TypeError:           # an unhashable key: SafeLoader reports it
                        continue
                    if first is not None:
                        raise ConstructorError(None, None, f"duplicate key {key!r} (first given on line {first})",
                                               key_node.start_mark)
                    seen[key] = key_node.start_mark.line + 1
            return super().construct_mapping(node, deep=deep)

    return UniqueKeySafeLoader


def yaml_error_line(exc) -> str:
    """A ``yaml.YAMLError`` as one line: where (``line 3, column 5``) and the problem."""
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None)
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if problem is None:
        return " ".join(str(exc).split()) or type(exc).__name__
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{where}{' '.join(str(problem).split())}"


def load_yaml(text: str, path) -> object:
    """The YAML document in ``text`` (read from ``path``, named in errors)."""
    import yaml

    try:
        return yaml.load(text, Loader=unique_key_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise TemplateError(f"{path}: not valid YAML: {yaml_error_line(exc)}") from None


def read_yaml_mapping(path: str, expected: str) -> dict:
    """The mapping in YAML file ``path`` (safe loader, duplicate keys rejected).
    ``expected`` says what the mapping should hold, for the error message."""
    data = load_yaml(read_text(path, f"a YAML mapping {expected}", TemplateError), path)
    if not isinstance(data, dict):
        raise TemplateError(f"{path}: expected a mapping {expected}")
    return data
