"""Shape and creation rules beyond the spec table: the cotangents of arrays inside list arguments (joins, np.array
of a list), the form of cotangents (lists stay lists, ints get None), zero cotangents, refusals, and which
creation functions are non-differentiable."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import irgrad.rules  # noqa: F401  (registers every rule)
from irgrad import UnsupportedError
from irgrad.rules.registry import NONDIFF, lookup, registered
from irgrad.testing import assert_close, check_rrule, numerical_vjp

RNG = np.random.default_rng(7)


def rand(*shape):
    return RNG.standard_normal(shape)


def pull(fn, *args, dy=None, **kwargs):
    """(y, cotangents) of the rule of `fn` with a random (or the given) output cotangent."""
    rule, _ = lookup(fn)
    y, back = rule(*args, **kwargs)
    if dy is None:
        dy = RNG.standard_normal(np.shape(y))
    return y, back(dy), dy


def check_sequence_arg(fn, seq, *rest, **kwargs):
    """The cotangent of each element of the sequence argument of `fn` against finite differences."""
    y, (dseq, *_), dy = pull(fn, seq, *rest, **kwargs)
    assert type(dseq) is type(seq)
    assert len(dseq) == len(seq)
    for i, x in enumerate(seq):
        if isinstance(x, (int, np.integer)) or (isinstance(x, np.ndarray) and x.dtype.kind not in "fc"):
            assert dseq[i] is None
            continue

        def with_element(xi, i=i):
            parts = list(seq)
            parts[i] = xi
            return fn(type(seq)(parts), *rest, **kwargs)

        assert_close(dseq[i], numerical_vjp(with_element, (x,), 0, dy), what=f"element {i}")
        assert np.shape(dseq[i]) == np.shape(x)


# ---------------------------------------------------------------------------------------------------------------
# Joins: the list argument's elements get their pieces of dy

@pytest.mark.parametrize("fn, seq, kwargs", [
    (np.concatenate, [rand(2, 3), rand(1, 3)], {}),
    (np.concatenate, (rand(2, 3), rand(2, 2), rand(2, 1)), {"axis": 1}),
    (np.concatenate, (rand(2, 3), rand(2, 2)), {"axis": -1}),
    (np.concatenate, [rand(2, 3), rand(4)], {"axis": None}),
    (np.stack, [rand(3), rand(3)], {}),
    (np.stack, (rand(2, 3), rand(2, 3), rand(2, 3)), {"axis": -1}),
    (np.vstack, [rand(3), rand(2, 3)], {}),
    (np.hstack, (rand(2), 1.5, rand(3)), {}),
    (np.hstack, [rand(2, 1), rand(2, 3)], {}),
    (np.dstack, [rand(2, 3), rand(2, 3, 2)], {}),
    (np.column_stack, [rand(3), rand(3, 2)], {}),
], ids=lambda v: getattr(v, "__name__", None))
def test_join_cotangents_reach_each_element(fn, seq, kwargs):
    check_sequence_arg(fn, seq, **kwargs)


def test_join_of_an_integer_array_gives_it_no_cotangent():
    check_sequence_arg(np.concatenate, [rand(3), np.arange(2)])


def test_np_array_of_nested_floats_gives_nested_lists():
    x = [[1.5, 2.0, 3], [4.0, -1.0, 0.5]]
    _, (dx,), dy = pull(np.array, x)
    assert isinstance(dx, list) and all(isinstance(row, list) for row in dx)
    assert dx[0][2] is None                       # an int element has no derivative
    assert dx[1][0] == dy[1, 0] and isinstance(dx[1][0], float)


def test_np_array_of_arrays_and_floats():
    check_sequence_arg(np.array, [rand(3), rand(3)])
    check_sequence_arg(np.stack, [rand(3), rand(3)], axis=1)


def test_scalar_inputs_get_scalar_cotangents():
    _, (dx,), dy = pull(np.atleast_1d, 2.5)
    assert np.ndim(dx) == 0 and float(dx) == dy[0]
    _, (dx, _), _ = pull(np.reshape, 1.5, (1, 1))
    assert isinstance(dx, float)


# ---------------------------------------------------------------------------------------------------------------
# Zero cotangents, integer inputs, refusals

@pytest.mark.parametrize("fn, args", [
    (np.reshape, (rand(2, 3), (3, 2))), (np.transpose, (rand(2, 3),)), (np.tile, (rand(2), 3)),
    (np.repeat, (rand(3), [1, 2, 0])), (np.concatenate, ([rand(2), rand(3)],)), (np.sort, (rand(4),)),
    (np.broadcast_to, (rand(3), (2, 3))), (np.atleast_2d, (rand(3), rand(2))),
])
def test_zero_output_cotangent_gives_zero_everywhere(fn, args):
    _, back = lookup(fn)[0](*args)
    assert back(None) == (None,) * len(args)


def test_integer_arrays_get_no_cotangent():
    _, (dx, _), _ = pull(np.reshape, np.arange(6), (2, 3))
    assert dx is None
    _, (dx,), _ = pull(np.array, rand(3), dtype=int)   # a cast to int passes no derivative back
    assert dx is None


def test_cast_to_complex_gives_a_real_cotangent():
    y, (dx,), _ = pull(np.asarray, rand(3), dtype=complex, dy=np.array([1 + 2j, 3j, -1]))
    assert dx.dtype.kind == "f" and np.array_equal(dx, [1.0, 0.0, -1.0])


def test_order_k_of_a_strided_array_is_refused():
    x = rand(4, 6)[:, ::2]
    with pytest.raises(UnsupportedError, match="order='K'"):
        lookup(np.ravel)[0](x, "K")
    # a contiguous layout is fine: order='K' of a Fortran-ordered array reads it column by column
    _, (dx, _), dy = pull(np.ravel, np.asfortranarray(rand(3, 4)), "K")
    assert np.array_equal(dx, np.reshape(dy, (3, 4), order="F"))


@given(st.lists(st.integers(1, 3), min_size=1, max_size=4), st.randoms(use_true_random=False))
def test_transpose_and_flip_on_random_shapes(shape, rnd):
    x = RNG.standard_normal(shape)
    axes = list(range(len(shape)))
    rnd.shuffle(axes)
    check_rrule(np.transpose, x, tuple(axes))
    check_rrule(np.flip, x, axis=rnd.randrange(len(shape)))
    check_rrule(np.reshape, x, (-1,) + (1,) * rnd.randrange(3), order=rnd.choice("CF"))


# ---------------------------------------------------------------------------------------------------------------
# Creation functions

@pytest.mark.parametrize("fn", [
    np.zeros, np.ones, np.empty, np.zeros_like, np.ones_like, np.empty_like, np.eye, np.identity, np.argmax,
    np.argmin, np.argsort, np.nonzero, np.count_nonzero, np.shape, np.ndim, np.size, np.searchsorted,
    np.digitize, np.random.rand, np.random.randn, np.random.normal, np.random.uniform, np.random.choice,
    np.random.permutation, np.random.Generator.normal, np.random.Generator.integers, np.random.Generator.random,
    np.random.RandomState.randn, np.ndarray.argmax,
], ids=lambda f: getattr(f, "__qualname__", str(f)))
def test_creation_and_position_functions_are_non_differentiable(fn):
    assert registered()[fn] is NONDIFF


def test_shuffle_mutates_and_has_no_rule():
    assert np.random.shuffle not in registered()


def test_fill_value_given_by_position_or_keyword_is_differentiated():
    y, (dshape, dv), dy = pull(np.full, (2, 3), 1.5)
    assert dshape is None and np.isclose(dv, dy.sum())
    y, (dshape, dv), dy = pull(np.full_like, rand(2, 3), rand(3), dtype=float)
    assert_close(dv, dy.sum(axis=0))


def test_integer_ranges_and_counts_get_no_cotangent():
    assert pull(np.arange, 5)[1] == (None,)
    assert pull(np.linspace, 0, 1, 5)[1] == (None, None, None)
    assert pull(np.bincount, np.array([0, 2, 2]))[1] == (None,)
    assert pull(np.unique, np.array([3, 1, 3]))[1] == (None,)


def test_unique_of_floats_along_an_axis_is_refused():
    with pytest.raises(UnsupportedError, match="np.unique"):
        lookup(np.unique)[0](rand(3, 2), axis=0)


def test_unique_sends_the_cotangent_to_the_first_occurrence():
    _, (dx,), _ = pull(np.unique, np.array([3.0, 1.0, 3.0, 2.0]), dy=np.array([10.0, 20.0, 30.0]))
    assert np.array_equal(dx, [30.0, 10.0, 0.0, 20.0])


def test_meshgrid_cotangents_sum_over_the_broadcast_axes():
    x, yv = rand(3), rand(4)
    (gx, gy), back = lookup(np.meshgrid)[0](x, yv)
    dx, dyv = back((np.ones(gx.shape), None))
    assert_close(dx, np.full(3, 4.0))
    assert dyv is None
