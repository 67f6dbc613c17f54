"""Every corpus function gives the same result (or raises the same exception) through the reference interpreter
as by a direct call."""
import copy
import inspect
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
        """Corpus code, but not generator functions (they run natively, as irgrad refuses to trace them)."""
        code = getattr(fn, "__code__", None)
        return code is not None and code.co_filename == corpus.__file__ and not code.co_flags & inspect.CO_GENERATOR

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


# ---------------------------------------------------------------------------------------------------------------
# What the raw IR looks like: the contract of docs/internals.md

import math  # noqa: E402
import operator  # noqa: E402

from irgrad import ops  # noqa: E402
from irgrad.ir import Const, CondBr, Var  # noqa: E402


def _callables(ir):
    return [s.fn.value for _, s in ir.stmts() if isinstance(s.fn, Const)]


def test_meta_records_where_the_ir_came_from():
    ir = trace(corpus.varargs_kwargs)
    m = ir.meta
    assert (m.name, m.filename, m.firstlineno) == ("varargs_kwargs", corpus.__file__,
                                                   corpus.varargs_kwargs.__code__.co_firstlineno)
    assert m.argnames == ("x", "rest", "scale", "options") and m.code is corpus.varargs_kwargs.__code__
    assert not m.has_self and len(ir.args) == 4


def test_globals_builtins_and_module_attributes_are_constants_with_assumptions():
    ir = trace(corpus.attribute_of_module)
    assumed = {(name, id(value)) for _, name, value in ir.meta.assumptions}
    assert ("np", id(np)) in assumed and ("pi", id(np.pi)) in assumed and ("e", id(math.e)) in assumed
    assert np.float64 in _callables(ir)
    namespaces = {name: ns for ns, name, _ in ir.meta.assumptions}
    assert namespaces["np"] is corpus.__dict__ and namespaces["pi"] is vars(np)
    ir = trace(corpus.builtins_misc)
    assert len in _callables(ir)
    assert [ns for ns, name, value in ir.meta.assumptions if name == "len"] == [corpus.builtins_misc.__builtins__]


def test_a_missing_global_is_an_assumption_and_a_runtime_name_error():
    ir = trace(corpus.name_error_at_run_time)
    assert (corpus.__dict__, "undefined_name_for_corpus", None) in [
        (ns, n, v) for ns, n, v in ir.meta.assumptions if n == "undefined_name_for_corpus"]
    assert ops.name_error in _callables(ir)


def test_operations_map_to_the_contracts_callables():
    calls = TracingCalls()  # the corpus functions and every function they reach, closures and comprehensions too
    for c in CASES:
        outcome(lambda: calls(c.fn, copy.deepcopy(c.args), copy.deepcopy(c.kwargs)))
    used = {f for ir in calls.traces.values() for f in _callables(ir) if callable(f)}
    for f in (operator.add, operator.iadd, operator.getitem, operator.setitem, operator.lt, operator.is_,
              operator.not_, operator.neg, getattr, setattr, iter, slice, ops.contains, ops.not_contains,
              ops.build_tuple, ops.build_list, ops.build_dict, ops.build_set, ops.unpack_sequence, ops.unpack_ex,
              ops.next_or_stop, ops.call_ex, ops.list_append, ops.dict_setitem, ops.new_cell, ops.cell_get,
              ops.cell_set, ops.freevar, ops.make_function, ops.format_value, ops.build_string, ops.assert_fail,
              ops.check_bound):
        assert f in used, f


def test_method_call_is_getattr_then_call():
    ir = trace(corpus.method_keyword_call)
    stmts = [s for _, s in ir.stmts()]
    sums = [s for s in stmts if s.fn == Const(getattr) and s.args == (ir.args[0], Const("sum"))]  # m.sum
    assert len(sums) == 1
    calls = [s for s in stmts if s.fn is sums[0].var]
    assert len(calls) == 1 and calls[0].kwargs == (("axis", Const(0)),)


def test_for_loop_is_a_back_edge_with_next_or_stop():
    ir = trace(corpus.for_range)
    heads = [b for b in ir.blocks if any(s.fn == Const(ops.next_or_stop) for s in b.stmts)]
    assert len(heads) == 1 and isinstance(heads[0].term, CondBr)
    head = heads[0]
    assert heads[0].stmts[-1].fn == Const(operator.is_) and heads[0].stmts[-1].args[1] == Const(ops.STOP)
    position = {id(b): i for i, b in enumerate(ir.blocks)}
    back_edges = [b for b in ir.blocks if head in b.successors() and position[id(b)] > position[id(head)]]
    assert back_edges, "the loop is not a back edge"
    assert len(ir.blocks) < 8  # not unrolled


def test_statements_carry_their_source_line():
    ir = trace(corpus.many_locals)
    source, start = inspect.getsourcelines(corpus.many_locals)
    line_of = {text.strip(): start + i for i, text in enumerate(source)}
    lines = [s.line for _, s in ir.stmts()]
    assert lines == sorted(lines)
    assert lines[0] == line_of["a = x + 1.0"] and lines[-1] == line_of["return a + b + c + d + e + f + g + h"]
    assert [s.line for _, s in ir.stmts() if s.fn == Const(operator.truediv)] == [line_of["d = c / (a + 1.0)"]]
    assert ir.blocks[-1].term.line == lines[-1]


def test_loads_of_bound_locals_are_not_checked():
    ir = trace(corpus.if_elif_else)  # `r` is bound on every path to the return
    assert ops.check_bound not in _callables(ir)
    ir = trace(corpus.unbound_local_raised)
    assert ops.check_bound in _callables(ir)


def test_closures_read_free_variables_from_self():
    adder = corpus._make_adder(1.0)
    ir = trace(adder)
    assert ir.meta.has_self and isinstance(ir.args[0], Var)
    reads = [s for _, s in ir.stmts() if s.fn == Const(ops.freevar)]
    assert len(reads) == 1 and reads[0].args == (ir.args[0], Const(0))


def test_super_attributes_and_super_in_init():
    # Kept out of CASES: super proxies are opaque to type inference, and the corpus is also its benchmark.
    calls = TracingCalls()
    scaled = corpus.SCALED
    assert calls(scaled.describe_all, [], {}) == scaled.describe_all() == ("degree 2", "super")
    fresh = corpus.ScaledPolynomial([1.0], 1.0)
    calls(corpus.ScaledPolynomial.__init__, [fresh, [2.0, 3.0], 4.0], {})
    assert fresh.coeffs == [2.0, 3.0] and fresh.scale == 4.0
    assert {code.co_name for code in calls.traces} == {"describe_all", "describe", "__init__"}
