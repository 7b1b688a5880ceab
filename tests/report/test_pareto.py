"""Pareto extraction against a brute-force dominance check."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hwsim.errors import HwsimError
from hwsim.report.pareto import pareto_mask


def brute_force(values, maximize=()):
    v = np.array(values, dtype=float)
    v[:, list(maximize)] *= -1
    ok = np.isfinite(v).all(axis=1)
    out = np.zeros(len(v), dtype=bool)
    for i in range(len(v)):
        if ok[i]:
            out[i] = not any(ok[j] and np.all(v[j] <= v[i]) and np.any(v[j] < v[i]) for j in range(len(v)))
    return out


points = st.integers(1, 4).flatmap(lambda k: hnp.arrays(
    float, st.tuples(st.integers(0, 60), st.just(k)),
    elements=st.sampled_from([0.0, 1.0, 2.0, 3.0, 5.5, np.nan, np.inf])))     # ties, duplicates, infeasible


@settings(max_examples=200, deadline=None)
@given(values=points, flip=st.booleans())
def test_equals_brute_force(values, flip):
    maximize = (0,) if flip and values.shape[1] else ()
    np.testing.assert_array_equal(pareto_mask(values, maximize), brute_force(values, maximize))


def test_large_random_front_across_chunks():
    rng = np.random.default_rng(3)
    values = rng.random((3000, 3))
    np.testing.assert_array_equal(pareto_mask(values), brute_force(values))


def test_known_front_and_maximize():
    # (latency, accuracy): maximise accuracy
    values = [[1, 0.70], [2, 0.80], [3, 0.75], [2, 0.80], [0.5, 0.60], [np.inf, 0.99]]
    assert pareto_mask(values, maximize=[1]).tolist() == [True, True, False, True, True, False]


def test_bad_shape():
    with pytest.raises(HwsimError, match="values"):
        pareto_mask([1, 2, 3])
    with pytest.raises(HwsimError, match="maximize"):
        pareto_mask([[1, 2]], maximize=[5])
