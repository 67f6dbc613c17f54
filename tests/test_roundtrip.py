"""Every corpus function gives the same result (or raises the same exception) through the reference interpreter
as by a direct call."""
import copy

import numpy as np
import pytest

from irgrad.frontend import bind_args, trace
from irgrad.interpret import run

from corpus import CASES


def same(a, b) -> bool:
    """Structural equality that also compares arrays (NaN equal to NaN) and keeps types apart."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and a != a:
        return b != b
    return a == b


def outcome(call):
    try:
        return "value", call()
    except Exception as e:  # the user's own exceptions are part of the behaviour we compare
        return "raised", (type(e), str(e))


def test_corpus_is_large_enough():
    assert len(CASES) >= 150
    assert sum(c.differentiable for c in CASES) >= 60
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_roundtrip(case):
    ir = trace(case.fn)
    args, kwargs = copy.deepcopy((case.args, case.kwargs))
    expected = outcome(lambda: case.fn(*args, **kwargs))
    args, kwargs = copy.deepcopy((case.args, case.kwargs))
    got = outcome(lambda: run(ir, *bind_args(case.fn, args, kwargs)))
    assert got[0] == expected[0], (got, expected)
    assert same(got[1], expected[1]), (got, expected)


@pytest.mark.parametrize("case", [c for c in CASES if c.differentiable], ids=lambda c: c.name)
def test_differentiable_cases_return_floats(case):
    y = case.fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
    assert isinstance(y, (float, np.floating)) and np.isfinite(y)
