"""Elementwise rules beyond the spec table: complex inputs, refusals, cotangent kinds, random broadcast shapes."""
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

RNG = np.random.default_rng(7)


def crandn(*shape):
    return RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)


def pullback_of(fn, *args, **kwargs):
    return lookup(fn)[0](*args, **kwargs)


# ---------------------------------------------------------------------------------------------------------------
# Complex numbers: holomorphic functions pull back dy * f'(z); abs, real, imag, conj, angle by their own rules

@pytest.mark.parametrize("fn", [np.sin, np.cos, np.tan, np.exp, np.log, np.sqrt, np.square, np.reciprocal,
                                np.tanh, np.sinh, np.cosh, np.arctan, np.log1p, np.expm1, np.negative,
                                np.absolute, np.real, np.imag, np.conjugate, np.angle])
def test_unary_complex(fn):
    check_complex_rrule(fn, crandn(3, 2) + 2.5)


@pytest.mark.parametrize("fn", [np.add, np.subtract, np.multiply, np.true_divide, np.power])
def test_binary_complex_with_broadcasting(fn):
    check_complex_rrule(fn, crandn(3, 2) + 2.0, crandn(2) + 1.0)


def test_complex_with_real_operand_gets_real_cotangent():
    x, z = RNG.standard_normal((2, 3)), crandn(3)
    y, back = pullback_of(np.multiply, x, z)
    dx, dz = back(crandn(2, 3))
    assert dx.dtype == np.float64 and dz.dtype == np.complex128
    check_complex_rrule(np.multiply, x, z)


def test_complex_python_scalars():
    check_complex_rrule(np.exp, 0.3 + 0.4j)
    y, back = pullback_of(np.abs, 3.0 + 4.0j)
    (dz,) = back(1.0)
    assert isinstance(dz, complex) and dz == pytest.approx(0.6 - 0.8j)


def test_abs_of_complex_zero_is_zero():
    (dz,) = pullback_of(np.abs, np.array([0j, 3 + 4j]))[1](np.ones(2))
    np.testing.assert_allclose(dz, [0, 0.6 - 0.8j])


@pytest.mark.parametrize("fn, args", [
    (np.maximum, (np.ones(2) * 1j, np.ones(2))), (np.hypot, (1j, 2.0)), (np.logaddexp, (np.ones(2), 1j)),
    (np.clip, (np.ones(3) * 1j, 0.0, 1.0)), (np.fmod, (1j, 2.0)),
])
def test_not_holomorphic_refuses_complex(fn, args):
    with pytest.raises(UnsupportedError, match="complex"):
        pullback_of(fn, *args)


# ---------------------------------------------------------------------------------------------------------------
# Mutation and partial outputs are refused; cotangent kinds follow the argument

def test_out_and_where_are_refused():
    x = np.ones(3)
    with pytest.raises(UnsupportedError, match="out="):
        pullback_of(np.sin, x, out=np.empty(3))
    with pytest.raises(UnsupportedError, match="where="):
        pullback_of(np.add, x, x, where=x > 0)
    with pytest.raises(UnsupportedError, match="out="):
        pullback_of(np.clip, x, 0.0, 1.0, out=x)
    with pytest.raises(UnsupportedError, match="out="):
        pullback_of(np.multiply, x, x, x)


def test_cotangent_kinds():
    x32 = np.linspace(0.1, 1.0, 4, dtype=np.float32)
    (dx,) = pullback_of(np.exp, x32)[1](np.ones(4))
    assert dx.dtype == np.float32
    (dx,) = pullback_of(np.sin, 0.5)[1](np.float64(2.0))
    assert type(dx) is float
    (dx,) = pullback_of(np.sin, np.float64(0.5))[1](2.0)
    assert isinstance(dx, np.float64)
    assert pullback_of(np.sin, np.arange(3))[1](np.ones(3)) == (None,)
    assert pullback_of(np.add, np.arange(3), 1.5)[1](np.ones(3))[0] is None
    assert pullback_of(np.multiply, [1.0, 2.0], np.ones(2))[1](np.array([3.0, 4.0]))[0] == [3.0, 4.0]


def test_zero_cotangent_is_none():
    assert pullback_of(np.sin, np.ones(2))[1](None) == (None,)
    assert pullback_of(np.where, np.ones(2) > 0, np.ones(2), 0.0)[1](None) == (None, None, None)


def test_maximum_ties_split_half_half():
    y, back = pullback_of(np.maximum, np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 0.0]))
    da, db = back(np.ones(3))
    np.testing.assert_array_equal(da, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(db, [0.5, 1.0, 0.0])


def test_power_at_zero_base():
    # d(x^2)/dx at 0 is 0; d(x^0)/dx is 0 (not 0 * inf); d(0^p)/dp is taken as 0.
    y, back = pullback_of(np.power, np.array([0.0, 0.0, 2.0]), np.array([2.0, 0.0, 3.0]))
    dx, dp = back(np.ones(3))
    np.testing.assert_allclose(dx, [0.0, 0.0, 12.0])
    np.testing.assert_allclose(dp, [0.0, 0.0, 8.0 * np.log(2.0)])


def test_clip_keyword_bounds_bind_by_signature():
    import inspect
    rule = lookup(np.clip)[0]
    assert list(inspect.signature(rule).parameters)[:3] == ["a", "a_min", "a_max"]
    y, back = rule(np.array([-2.0, 0.0, 2.0]), a_min=-1.0, a_max=1.0)
    assert back(np.ones(3))[0].tolist() == [0.0, 1.0, 0.0] and len(back(np.ones(3))) == 1


def test_item_astype_tolist():
    x = np.arange(6.0).reshape(2, 3)
    y, back = lookup(np.ndarray.item)[0](x, 1, 2)
    assert y == 5.0
    np.testing.assert_array_equal(back(2.0)[0], [[0, 0, 0], [0, 0, 2.0]])
    y, back = lookup(np.ndarray.astype)[0](x, np.float32)
    assert back(np.ones((2, 3), np.float32))[0].dtype == np.float64
    assert lookup(np.ndarray.astype)[0](x, int)[1](np.ones((2, 3)))[0] is None
    y, back = lookup(np.ndarray.tolist)[0](x)
    assert y == x.tolist()
    np.testing.assert_array_equal(back([[1.0, None, 2.0], None])[0], [[1.0, 0.0, 2.0], [0.0, 0.0, 0.0]])


# ---------------------------------------------------------------------------------------------------------------
# Random broadcast shapes

_shapes = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


@settings(max_examples=30)   # per parametrized rule: enough shapes, seconds in all
@given(shapes=_shapes, seed=st.integers(0, 2**16))
@pytest.mark.parametrize("fn, lo", [(np.add, -2), (np.multiply, -2), (np.true_divide, 0.5), (np.arctan2, 0.5),
                                    (np.logaddexp, -2), (np.hypot, 0.5), (np.power, 0.5)])
def test_binary_rules_on_random_broadcast_shapes(fn, lo, shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.uniform(lo, 2.0, s) for s in shapes.input_shapes)
    check_rrule(fn, a, b)


@settings(max_examples=30)   # per parametrized rule: enough shapes, seconds in all
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=3), seed=st.integers(0, 2**16))
@pytest.mark.parametrize("fn", [np.sin, np.tanh, np.exp, np.sqrt, np.log1p])
def test_unary_rules_on_random_shapes(fn, shape, seed):
    check_rrule(fn, np.random.default_rng(seed).uniform(0.2, 2.0, shape))


def test_linear_pullbacks_keep_shapes_not_arrays():
    import gc
    import weakref
    x = np.ones(100)
    ref = weakref.ref(x)
    backs = [pullback_of(np.add, x, 1.0)[1], pullback_of(np.negative, x)[1], pullback_of(np.sum, x, 0)[1],
             pullback_of(np.cumsum, x)[1]]
    del x
    gc.collect()
    assert ref() is None
    assert backs[0](np.ones(100))[0].shape == (100,) and backs[2](2.0)[0].tolist() == [2.0] * 100
