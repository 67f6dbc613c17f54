"""Every function of the round-trip corpus that returns a float gets a gradient that agrees with central finite
differences (relative error below 1e-6), through generated code and through the reference interpreter."""
import numpy as np
import pytest

import irgrad
from irgrad import execute
from irgrad.testing import numerical_vjp

from corpus import CASES

DIFF = [c for c in CASES if c.differentiable]


def _is_float_arg(x):
    return isinstance(x, float) or isinstance(x, np.ndarray) and x.dtype.kind == "f"


def _check(case):
    grads = irgrad.gradient(case.fn, *case.args, **case.kwargs)
    assert len(grads) == len(case.args)
    f = lambda *a: case.fn(*a, **case.kwargs)  # noqa: E731
    for i, x in enumerate(case.args):
        if not _is_float_arg(x):
            continue
        expected = numerical_vjp(f, case.args, i, 1.0)
        got = np.zeros_like(np.asarray(expected)) if grads[i] is None else np.asarray(grads[i])
        assert got.shape == np.shape(expected), f"{case.name}: gradient {i} has shape {got.shape}"
        scale = max(1.0, float(np.max(np.abs(expected))))
        err = float(np.max(np.abs(got - expected))) / scale
        assert err < 1e-6, f"{case.name}: gradient {i} off by {err:.2e}\n got {got}\n expected {expected}"


def test_corpus_has_enough_differentiable_cases():
    assert len(DIFF) >= 60


@pytest.mark.parametrize("case", DIFF, ids=lambda c: c.name)
def test_gradient_matches_finite_differences(case):
    _check(case)


@pytest.mark.parametrize("case", DIFF, ids=lambda c: c.name)
def test_gradient_through_interpreter(case):
    mode = execute.get_mode()
    execute.set_mode("interpret")
    irgrad.clear_cache()
    try:
        _check(case)
    finally:
        execute.set_mode(mode)
        irgrad.clear_cache()
