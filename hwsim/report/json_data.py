"""JSON-ready values: what every ``--json`` output and every results file goes through."""

from __future__ import annotations

import math


def json_safe(value):
    """``value`` with numpy scalars and arrays as Python values and non-finite floats as None
    (JSON has no inf or NaN: an unbounded or undefined number is null)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):   # numpy scalar or array
        return json_safe(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
