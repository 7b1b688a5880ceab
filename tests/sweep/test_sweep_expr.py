"""Derived parameters: the safe arithmetic evaluator."""

import numpy as np
import pytest

from hwsim.errors import SpecError
from hwsim.sweep.expr import compile_expression
from hwsim.sweep.spec import load_sweep_spec

NAMES = {"pes", "l2_bytes"}


def value(text, **values):
    return compile_expression(text, "derived.x", NAMES).evaluate({k: np.asarray(v) for k, v in values.items()})


def test_arithmetic_and_functions():
    pes = np.array([64, 256])
    np.testing.assert_array_equal(value("1024 * pes", pes=pes), [65536, 262144])
    np.testing.assert_array_equal(value("(pes + 1) // 2 - -1", pes=pes), [33, 129])
    np.testing.assert_array_equal(value("pes % 100 + 2 ** 3", pes=pes), [72, 64])
    np.testing.assert_array_equal(value("max(4096, 32 * pes, 8)", pes=pes), [4096, 8192])
    np.testing.assert_array_equal(value("min(pes, 100)", pes=pes), [64, 100])
    np.testing.assert_array_equal(value("log2(pes) + ceil(pes / 100) + int(2.7) + round(2.5)", pes=pes),
                                  [6 + 1 + 2 + 2, 8 + 3 + 2 + 2])
    assert value("2 ** 70", pes=pes) == 2.0 ** 70          # float64: no int64 wrap-around


@pytest.mark.parametrize("text, words", [
    ("__import__('os')", ["__import__"]),
    ("pes.__class__", ["Attribute"]),
    ("(lambda: 1)()", ["lambda"]),
    ("foo * 2", ["unknown name 'foo'"]),
    ("pes[0]", ["Subscript"]),
    ("'a' * 3", ["'a'", "not a number"]),
    ("[x for x in pes]", ["ListComp"]),
    ("max(pes, key=abs)", ["keyword"]),
    ("min(pes)", ["min() takes 2 or more"]),
    ("open('f')", ["'open'"]),
    ("pes if pes else 1", ["IfExp"]),
    ("pes > 3", ["Compare"]),
    ("1 +", ["not an expression"]),
    ("round(pes, pes)", ["round()"]),
])
def test_anything_else_is_rejected_naming_field_and_expression(text, words):
    with pytest.raises(SpecError) as info:
        compile_expression(text, "derived.l2_bytes", NAMES, "s.yaml: ")
    message = str(info.value)
    assert message.startswith(f"s.yaml: field 'derived.l2_bytes' = {text!r}")
    for word in words:
        assert word in message


def test_derived_in_a_spec_reads_swept_earlier_derived_and_template_defaults():
    spec = load_sweep_spec({"network": "alexnet", "template": "dla", "parameters": {"grid": {"pes": [64, 512]}},
                            "derived": {"l2_bytes": "1024 * pes", "l1_bytes": "max(64, l2_bytes // pes // 2)",
                                        "cluster_size": "min(pes, 64 * vector_width)"}})
    values = spec.space.take(0, 2)
    np.testing.assert_array_equal(values["l2_bytes"], [65536, 524288])
    np.testing.assert_array_equal(values["l1_bytes"], [512, 512])
    np.testing.assert_array_equal(values["cluster_size"], [64, 64])
    assert spec.space.names == ("pes", "l2_bytes", "l1_bytes", "cluster_size")
