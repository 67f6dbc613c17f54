"""Every corpus function gives the same result (or raises the same exception) through the reference interpreter
as by a direct call."""
import copy
import types

import numpy as np
import pytest

from irgrad.frontend import bind_args, trace
from irgrad.interpret import run

import corpus
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


class TracingCalls:
    """A `call` hook for `run` that also runs every corpus function reached (callees, closures, lambdas,
    comprehension bodies, methods, callable objects) through its own traced IR."""

    def __init__(self):
        self.traces = {}

    def _ours(self, fn):
        code = getattr(fn, "__code__", None)
        return code is not None and code.co_filename == corpus.__file__

    def __call__(self, fn, args, kwargs):
        target = fn
        if isinstance(fn, types.MethodType):
            target = fn.__func__
        elif not isinstance(fn, types.FunctionType) and isinstance(getattr(type(fn), "__call__", None),
                                                                   types.FunctionType):
            target = type(fn).__call__
        if not (isinstance(target, types.FunctionType) and self._ours(target)):
            return fn(*args, **kwargs)
        ir = self.traces.get(target.__code__)
        if ir is None:
            ir = self.traces[target.__code__] = trace(target)
        return run(ir, *bind_args(fn, args, kwargs), call=self)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_roundtrip_through_callees(case):
    calls = TracingCalls()
    args, kwargs = copy.deepcopy((case.args, case.kwargs))
    expected = outcome(lambda: case.fn(*args, **kwargs))
    args, kwargs = copy.deepcopy((case.args, case.kwargs))
    got = outcome(lambda: calls(case.fn, args, kwargs))
    assert got[0] == expected[0], (got, expected)
    assert same(got[1], expected[1]), (got, expected)


def test_callees_closures_and_lambdas_are_traced_too():
    calls = TracingCalls()
    by_name = {c.name: c for c in CASES}
    for name in ("comprehension_of_lambdas", "doubly_nested_closure", "callable_dense", "closure_factory",
                 "fib"):
        c = by_name[name]
        calls(c.fn, copy.deepcopy(c.args), copy.deepcopy(c.kwargs))
    names = {code.co_name for code in calls.traces}
    assert {"<lambda>", "outer", "inner", "__call__", "_make_adder", "add", "fib"} <= names, names
    assert sum(ir.meta.has_self for ir in calls.traces.values()) >= 4


def _signature_zoo(a, b=2, /, c=3, *args, k, m=5, **kw):
    return a, b, c, args, k, m, kw


@pytest.mark.parametrize("args, kwargs", [
    ((1,), {"k": 4}), ((1, 9, 8, 7, 6), {"k": 4, "z": 0}), ((), {"k": 1}), ((1,), {}), ((1, 2), {"a": 1, "k": 2}),
    ((1,), {"k": 1, "c": 5, "m": 6}), ((1, 2, 3), {"k": 1, "c": 5}),
])
def test_bind_args_binds_and_refuses_as_cpython(args, kwargs):
    expected = outcome(lambda: _signature_zoo(*args, **kwargs))
    got = outcome(lambda: run(trace(_signature_zoo), *bind_args(_signature_zoo, args, kwargs)))
    assert got == expected


def test_bind_args_puts_self_first_for_closures_methods_and_callables():
    poly = corpus.POLY
    assert bind_args(poly, (0.5,), {}) == (poly, 0.5)
    assert bind_args(poly.evaluate, (0.5,), {}) == (poly, 0.5)
    adder = corpus._make_adder(1.0)
    assert bind_args(adder, (2.0,), {}) == (adder, 2.0)
    assert trace(adder).meta.has_self and not trace(poly).meta.has_self
