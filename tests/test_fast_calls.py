"""The faster spellings codegen writes (`irgrad.fast_calls`) and the BLAS form of a kept-axis cotangent sum
(`tangent.sum_kept`): the same values as what they replace, and used where they should be."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import irgrad
from irgrad import codegen, fast_calls
from irgrad.tangent import sum_kept

SPECIALS = np.array([-0.0, 0.0, np.nan, -np.nan, np.inf, -np.inf, 5e-324, -5e-324, 1.0, -1.0])


def bits(a):
    return np.asarray(a, dtype=np.float64).view(np.uint64)


@pytest.mark.parametrize("ufunc", fast_calls.ZERO_OPERAND_UFUNCS)
@pytest.mark.parametrize("c", [0, 0.0])
@pytest.mark.parametrize("shape", [(10,), (3, 10), (7, 16, 3), (0, 4)])
def test_zero_operand_forms_are_the_ufunc_to_the_bit(ufunc, c, shape):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    if x.size:
        x.flat[:min(x.size, SPECIALS.size)] = SPECIALS[:x.size]
    first, second = fast_calls.zero_first(ufunc, c, x), fast_calls.zero_second(ufunc, x, c)
    assert np.array_equal(bits(first), bits(ufunc(c, x)))  # maximum(0, -0.0) is -0.0 ...
    assert np.array_equal(bits(second), bits(ufunc(x, c)))  # ... and maximum(-0.0, 0) is 0.0
    assert first.shape == second.shape == x.shape


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=9),
                  elements=st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True)))
def test_relu_forms_agree_on_any_floats(x):
    for ufunc in fast_calls.ZERO_OPERAND_UFUNCS:
        assert np.array_equal(bits(fast_calls.zero_first(ufunc, 0, x)), bits(ufunc(0, x)))
        assert np.array_equal(bits(fast_calls.zero_second(ufunc, x, 0.0)), bits(ufunc(x, 0.0)))


def test_zero_operand_forms_fall_back_for_other_operands():
    ints = np.arange(-3, 3)
    assert fast_calls.zero_first(np.maximum, 0, ints).dtype == np.maximum(0, ints).dtype
    m = np.matrix([[-1.0, 2.0]])
    assert type(fast_calls.zero_second(np.maximum, m, 0.0)) is np.matrix
    big = np.full(fast_calls._MAX_ZEROS + 1, -1.0)
    assert np.array_equal(fast_calls.zero_second(np.maximum, big, 0.0), np.zeros_like(big))
    assert fast_calls.zero_first(np.maximum, 0, 2.5) == 2.5
    # the shared zeros are never written
    z = fast_calls._zeros((2, 3))
    assert not z.flags.writeable and not z.any()


def test_negative_zero_constant_is_not_a_zero_operand():
    assert fast_calls.is_zero_constant(0) and fast_calls.is_zero_constant(0.0)
    assert not any(fast_calls.is_zero_constant(v) for v in (-0.0, False, np.float64(0.0), 1, 1e-300))


def relu_first(x):
    return np.sum(np.maximum(0, x) * x)


def relu_second(x):
    return np.sum(np.maximum(x, 0.0) ** 2)


def clip_negative_zero(x):
    return np.sum(np.minimum(x, -0.0))


def test_codegen_writes_the_zero_forms_and_gradients_hold():
    x = np.array([[-1.5, 0.0, 2.0], [3.0, -0.0, -4.0]])
    for f, helper in ((relu_first, "zero_first"), (relu_second, "zero_second")):
        src = codegen.source(irgrad.code_adjoint(f, x).forward)
        assert helper in src
        g, = irgrad.gradient(f, x)
        expected = 2 * np.maximum(x, 0.0)
        assert np.allclose(g, expected)
    src = codegen.source(irgrad.code_adjoint(clip_negative_zero, x).forward)
    assert "zero_" not in src and irgrad.gradient(clip_negative_zero, x)[0] is not None


@pytest.mark.parametrize("shape, axes", [((300, 100), (0,)), ((300, 100), (1,)), ((16, 200), (1,)),
                                         ((2, 5), (0,)), ((4, 1), (0,)), ((3, 4, 5), (1,)), ((6, 7), (0, 1))])
def test_sum_kept_is_the_kept_axis_sum(shape, axes):
    d = np.random.default_rng(2).standard_normal(shape)
    out = sum_kept(d, axes)
    ref = np.add.reduce(d, axis=axes, keepdims=True)
    assert out.shape == ref.shape
    assert np.allclose(out, ref, rtol=1e-12, atol=1e-12)
    out[...] = 1.0  # a fresh array: writing it touches nothing shared
    assert np.array_equal(sum_kept(d, axes), sum_kept(d, axes))


def test_sum_kept_of_other_arrays_is_numpys():
    d32 = np.ones((3, 4), dtype=np.float32)
    assert sum_kept(d32, (0,)).dtype == np.float32
    strided = np.random.default_rng(3).standard_normal((8, 6))[::2, ::3]
    assert np.allclose(sum_kept(strided, (0,)), strided.sum(axis=0, keepdims=True))
    nan = np.array([[1.0, np.nan], [np.inf, 2.0]])
    assert np.array_equal(sum_kept(nan, (0,)), nan.sum(axis=0, keepdims=True), equal_nan=True)


# ---------------------------------------------------------------------------------------------------------------
# Generated-code forms: Python's own unpacking, the shape test before `sum_like`, the adjoint without a cell store


def unpacking(params, data):
    W, b = params
    X, = data
    return np.sum(np.maximum(W @ X + b, 0.0))


def test_tuple_unpacking_is_pythons_own():
    W, b, X = np.ones((3, 2)), np.ones((3, 1)), np.ones((2, 4))
    src = codegen.source(irgrad.code_adjoint(unpacking, (W, b), (X,)).forward)
    assert "W, b = params" in src and "X, = data" in src and "unpack_sequence" not in src
    irgrad.gradient(unpacking, (W, b), (X,))
    with pytest.raises(ValueError, match="too many values to unpack"):
        irgrad.gradient(unpacking, (W, b), (X,))  # (the steady path)
        unpacking((W, b, b), (X,))
    for bad in ((W, b, b), (W,)):
        with pytest.raises(ValueError) as mine:
            irgrad.gradient(unpacking, bad, (X,))
        with pytest.raises(ValueError) as theirs:
            unpacking(bad, (X,))
        assert str(mine.value) == str(theirs.value)


def bias_layer(W, b, X):
    return np.sum(np.tanh(W @ X + b))


def test_sum_like_is_skipped_where_shapes_agree_and_still_sums_where_not():
    W, X = np.random.default_rng(4).standard_normal((3, 2)), np.random.default_rng(5).standard_normal((2, 4))
    src = codegen.source(irgrad.code_adjoint(bias_layer, W, np.ones((3, 1)), X).adjoint)
    assert ".shape ==" in src and "sum_like(" in src
    for b in (np.full((3, 1), 0.1), np.full((3, 4), 0.1), np.full((1, 4), 0.1)):
        g = irgrad.gradient(bias_layer, W, b, X)
        t = 1 - np.tanh(W @ X + b) ** 2
        assert g[1].shape == b.shape
        assert np.allclose(g[1], np.sum(t, axis=tuple(i for i in range(2) if b.shape[i] == 1), keepdims=True))


def closure_over_argument(w):
    scale = lambda x: w * x  # noqa: E731 - w lives in a cell of outer's frame
    return scale(2.0) + scale(w)


def sorted_weights(x, w):
    return np.sum(np.sort(x) * w)  # sort's rule: a pullback closure on the tape


def test_an_adjoint_that_calls_no_pullback_runs_without_a_cell_store():
    from irgrad import derive
    irgrad.clear_cache()
    W, X = np.ones((3, 2)), np.ones((2, 4))
    irgrad.gradient(bias_layer, W, np.ones((3, 1)), X)
    assert all(d.cell_free for d in derive._cache.values())
    irgrad.clear_cache()
    x, w = np.array([3.0, -1.0, 2.0]), np.array([1.0, 2.0, 4.0])
    for _ in range(3):
        assert np.array_equal(irgrad.gradient(sorted_weights, x, w)[0], np.array([4.0, 1.0, 2.0]))
    assert not all(d.cell_free for d in derive._cache.values())
    for _ in range(3):
        assert math.isclose(irgrad.gradient(closure_over_argument, 1.7)[0], 2.0 + 2 * 1.7, rel_tol=1e-12)
