"""Reduction rules beyond the spec table: random shapes and axes, zeros in products, complex inputs, bound
methods, refusals."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import irgrad.rules  # noqa: F401  (registers every rule)
from irgrad import UnsupportedError
from irgrad.rules.registry import lookup
from irgrad.testing import check_rrule
from rule_specs import check_complex_rrule


@st.composite
def array_and_axis(draw):
    """A float array (no ties, away from zero) with a valid `axis`: None, an int (maybe negative) or a tuple."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3))
    nd = len(shape)
    axis = draw(st.one_of(st.none(), st.integers(-nd, nd - 1),
                          st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True).map(tuple)))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.permutation(np.linspace(0.5, 2.0, int(np.prod(shape)))).reshape(shape) * rng.choice([-1, 1], shape)
    return x, axis, draw(st.booleans())


@settings(max_examples=30)   # per parametrized rule: enough shapes, seconds in all
@given(case=array_and_axis())
@pytest.mark.parametrize("fn", [np.sum, np.mean, np.prod, np.max, np.min, np.var, np.std,
                                np.ndarray.sum, np.ndarray.max])
def test_reductions_on_random_shapes_and_axes(fn, case):
    x, axis, keepdims = case
    if fn in (np.var, np.std) and (x.size if axis is None else np.prod(np.take(x.shape, axis))) < 2:
        return                           # the variance of one element is 0 whatever x: its std has a kink
    check_rrule(fn, x, axis=axis, keepdims=keepdims)


@settings(max_examples=30)   # per parametrized rule: enough shapes, seconds in all
@given(case=array_and_axis())
def test_vector_norms_on_random_axes(case):
    x, axis, keepdims = case
    axis = axis if isinstance(axis, int) else None
    for ord in (None, 1, np.inf, 3):
        if ord is None or axis is not None or x.ndim == 1:
            check_rrule(np.linalg.norm, x, ord=ord, axis=axis, keepdims=keepdims)


def test_prod_with_zeros_is_exact():
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [1.0, 2.0, 4.0]])
    y, back = lookup(np.prod)[0](x, axis=1)
    (dx,) = back(np.ones(3))
    np.testing.assert_array_equal(dx, [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0], [8.0, 4.0, 2.0]])


def test_bound_methods_reach_the_method_rules():
    x = np.arange(1.0, 7.0).reshape(2, 3)
    rule, self = lookup(x.sum)
    assert self is x and rule is lookup(np.ndarray.sum)[0]
    y, back = rule(self, axis=0)
    assert back(np.array([1.0, 2.0, 3.0]))[0].tolist() == [[1.0, 2.0, 3.0]] * 2


def test_positional_parameters_get_none():
    x = np.arange(1.0, 7.0).reshape(2, 3)
    y, back = lookup(np.var)[0](x, 1, None, None, 1)       # axis, dtype, out, ddof
    d = back(np.ones(2))
    assert len(d) == 5 and d[1:] == (None,) * 4
    np.testing.assert_allclose(d[0], 2 * (x - x.mean(1, keepdims=True)) / 2)


@pytest.mark.parametrize("fn, kw", [(np.sum, {"axis": 0}), (np.mean, {}), (np.prod, {"axis": 1}),
                                    (np.var, {"axis": 0}), (np.std, {}), (np.linalg.norm, {}),
                                    (np.linalg.norm, {"ord": 1}), (np.cumsum, {"axis": 1}),
                                    (np.cumprod, {"axis": 0})])
def test_complex_reductions(fn, kw):
    rng = np.random.default_rng(3)
    check_complex_rrule(fn, rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3)) + 0.5, **kw)


def test_max_of_complex_is_refused():
    y, back = lookup(np.max)[0](np.array([1j, 2.0]))
    with pytest.raises(UnsupportedError, match="complex"):
        back(1.0)


@pytest.mark.parametrize("fn, kw, what", [(np.sum, {"out": np.empty(())}, "out="),
                                          (np.max, {"where": np.array([True, False]), "initial": 0.0}, "where="),
                                          (np.var, {"mean": np.zeros(1)}, "mean=")])
def test_refusals(fn, kw, what):
    with pytest.raises(UnsupportedError, match=what):
        rule = lookup(fn)[0]
        rule(np.array([1.0, 2.0]), **kw)[1](1.0)


def test_average_weights_by_keyword_binds_by_signature():
    import inspect
    assert list(inspect.signature(lookup(np.average)[0]).parameters)[:3] == ["a", "axis", "weights"]
    x, w = np.array([1.0, 2.0, 4.0]), np.array([1.0, 1.0, 2.0])
    y, back = lookup(np.average)[0](x, None, w)
    da, _, dw = back(1.0)
    np.testing.assert_allclose(da, w / 4)
    np.testing.assert_allclose(dw, (x - y) / 4)
