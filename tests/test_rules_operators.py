"""Operator and builtin rules beyond the spec table: sequences, strings, in-place forms, refusals, the
cotangents of list and tuple arguments (which `check_rrule` does not perturb), and complex numbers."""
import math
import operator
import re

import numpy as np
import pytest

import irgrad.rules  # noqa: F401  (registers every rule)
from irgrad import UnsupportedError
from irgrad.rules.registry import NONDIFF, lookup
from rule_specs import check_complex_rrule


def rule(fn):
    return lookup(fn)[0]


# ---------------------------------------------------------------------------------------------------------------
# Sequences and strings

def test_list_concatenation_splits_the_cotangent():
    a, b = [1.0, np.ones(2)], [3.0]
    y, back = rule(operator.add)(a, b)
    assert len(y) == 3
    da, db = back([10.0, np.full(2, 2.0), 30.0])
    assert da[0] == 10.0 and da[1].tolist() == [2.0, 2.0] and db == [30.0]


def test_tuple_concatenation_keeps_tuples_and_none():
    y, back = rule(operator.add)((1.0, "a"), (2.0,))
    assert back((5.0, None, 6.0)) == ((5.0, None), (6.0,))
    assert back(None) == (None, None)
    assert rule(operator.add)((1,), ())[1]((None,)) == (None, None)


def test_inplace_list_extension_splits_at_the_old_length():
    a = [1.0, 2.0]
    y, back = rule(operator.iadd)(a, (3.0,))
    assert y is a and a == [1.0, 2.0, 3.0]        # mutated in place, as Python does
    assert back([7.0, 8.0, 9.0]) == ([7.0, 8.0], (9.0,))


@pytest.mark.parametrize("fn, args, seq_at", [(operator.mul, ([1.0, 2.0], 3), 0), (operator.mul, (2, (1.0, 2.0)), 1)])
def test_repetition_sums_the_copies(fn, args, seq_at):
    y, back = rule(fn)(*args)
    d = back([1.0, 2.0, 3.0, 4.0, 5.0, 6.0][:len(y)])
    expected = [1.0 + 3.0 + 5.0, 2.0 + 4.0 + 6.0] if seq_at == 0 else [4.0, 6.0]
    assert list(d[seq_at]) == expected and d[1 - seq_at] is None


def test_inplace_repetition_uses_the_length_before():
    a = [1.0, 2.0]
    y, back = rule(operator.imul)(a, 2)
    assert y is a and back([1.0, 2.0, 3.0, 4.0]) == ([4.0, 6.0], None)


def test_strings_have_no_cotangent():
    assert rule(operator.add)("a", "b")[1]("whatever") == (None, None)
    assert rule(operator.mod)("%.1f", 2.0)[1](None) == (None, None)
    assert rule(operator.mul)("ab", 3)[0] == "ababab"


def test_user_class_operands_are_refused():
    class Money:
        def __add__(self, other):
            return self

        __radd__ = __add__

        def __neg__(self):
            return self

    with pytest.raises(UnsupportedError, match="Money"):
        rule(operator.add)(Money(), 1.0)
    with pytest.raises(UnsupportedError, match="Money"):
        rule(operator.iadd)(1.0, Money())
    with pytest.raises(UnsupportedError, match="Money"):
        rule(operator.neg)(Money())


def test_operands_of_c_types_have_no_cotangent():
    import datetime
    day = datetime.date(2024, 1, 1)
    y, back = rule(operator.add)(day, datetime.timedelta(days=1))
    assert y == datetime.date(2024, 1, 2) and back(None) == (None, None)
    assert rule(operator.sub)({1, 2}, {2})[1](None) == (None, None)
    assert rule(operator.neg)(datetime.timedelta(1))[1](None) == (None,)


# ---------------------------------------------------------------------------------------------------------------
# In-place operators on arrays

@pytest.mark.parametrize("fn, sym", [(operator.iadd, "+"), (operator.isub, "-"), (operator.imul, "*"),
                                     (operator.itruediv, "/"), (operator.ipow, "**"), (operator.imatmul, "@")])
def test_inplace_on_float_array_is_refused_with_the_fix(fn, sym):
    x = np.ones((2, 2))
    with pytest.raises(UnsupportedError, match=re.escape(f"x = x {sym} y")):
        rule(fn)(x, np.ones((2, 2)))
    assert x.tolist() == [[1.0, 1.0], [1.0, 1.0]]      # refused before mutating


def test_inplace_on_integer_array_runs():
    k = np.arange(3)
    y, back = rule(operator.iadd)(k, 1)
    assert y is k and k.tolist() == [1, 2, 3] and back(None) == (None, None)


def test_inplace_on_immutable_values_is_the_plain_operator():
    y, back = rule(operator.iadd)(1.5, np.ones(3))
    assert y.tolist() == [2.5] * 3
    dx, dv = back(np.array([1.0, 2.0, 3.0]))
    assert dx == 6.0 and type(dx) is float and dv.tolist() == [1.0, 2.0, 3.0]


# ---------------------------------------------------------------------------------------------------------------
# Cotangent kinds, zeros, complex numbers

def test_int_arguments_get_none_and_floats_get_floats():
    y, back = rule(operator.mul)(3, 2.5)
    assert back(1.0) == (None, 3.0) and type(back(1.0)[1]) is float
    assert rule(operator.truediv)(1, 2)[1](1.0) == (None, None)
    assert rule(operator.floordiv)(7.5, 2.0)[1](1.0) == (None, None)


def test_mod_follows_jax():
    (da, db) = rule(operator.mod)(7.5, 2.0)[1](1.0)
    assert da == 1.0 and db == -3.0


@pytest.mark.parametrize("fn", [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow,
                                operator.matmul])
def test_complex_arrays(fn):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3)) + 2.0
    shape = (3, 3) if fn is operator.matmul else (3,)       # elementwise ones broadcast
    b = rng.standard_normal(shape) + 1j * rng.standard_normal(shape) + 1.0
    check_complex_rrule(fn, a, b)


def test_complex_python_numbers():
    check_complex_rrule(operator.mul, 1.0 + 2.0j, 0.5 - 1.0j)
    check_complex_rrule(abs, 3.0 + 4.0j)
    check_complex_rrule(complex, 1.5 + 0.5j)
    da, db = rule(complex)(1.0, 2.0)[1](3.0 + 4.0j)
    assert (da, db) == (3.0, -4.0)                  # y = a + i b: Re(dy), Re(i dy)


def test_zero_cotangent_is_none():
    for fn, args in [(operator.add, (1.0, 2.0)), (operator.matmul, (np.ones((2, 2)), np.ones(2))),
                     (operator.neg, (1.0,)), (sum, ([1.0, 2.0],)), (max, (1.0, 2.0)), (float, (1.0,))]:
        y, back = rule(fn)(*args)
        assert back(None) == (None,) * len(args), fn


# ---------------------------------------------------------------------------------------------------------------
# Builtins over iterables: the cotangents of list and tuple arguments

def test_sum_over_a_list_gives_every_element_dy():
    y, back = rule(sum)([1.0, np.ones(2), 3], 0.5)
    d_items, d_start = back(np.array([1.0, 2.0]))
    assert d_items[0] == 3.0 and d_items[1].tolist() == [1.0, 2.0] and d_items[2] is None and d_start == 3.0


def test_sum_over_array_rows_with_a_broadcast_start():
    x = np.arange(6.0).reshape(3, 2)
    y, back = rule(sum)(x, np.zeros((4, 2)))
    dx, ds = back(np.ones((4, 2)))
    assert dx.tolist() == [[4.0, 4.0]] * 3 and ds.shape == (4, 2)


def test_sum_over_an_iterator_of_floats_is_refused():
    with pytest.raises(UnsupportedError, match="list"):
        rule(sum)(iter([1.0, 2.0]))
    assert rule(sum)(range(4))[0] == 6


@pytest.mark.parametrize("pick, expected", [(max, [None, 1.0, None, None]), (min, [None, None, 1.0, None])])
def test_max_min_of_a_list_route_to_the_first_winner(pick, expected):
    xs = [1.0, 3.0, -2.0, 3.0]
    y, back = rule(pick)(xs)
    assert y == pick(xs) and back(1.0) == (expected,)
    y, back = rule(pick)(*xs)
    assert back(1.0) == tuple(expected)


def test_max_with_key_and_array():
    x = np.array([1.0, -5.0, 3.0])
    y, back = rule(max)(x, key=abs)
    assert y == -5.0 and back(2.0)[0].tolist() == [0.0, 2.0, 0.0]
    assert rule(max)([], default=0.0)[1](1.0) == (None,)


def test_float_and_pow_odd_cases():
    assert rule(float)("2.5")[1](1.0) == (None,)
    assert rule(pow)(5, 3, 7)[1](1.0) == (None, None, None)
    dx, = rule(float)(np.array([2.0]).reshape(()))[1](3.0)
    assert dx.shape == () and dx == 3.0


def test_math_int_arguments_get_none():
    assert rule(math.sin)(1)[1](1.0) == (None,)
    assert rule(math.hypot)(3, 4.0)[1](1.0) == (None, 0.8)
    assert rule(math.log)(8.0, 2)[1](1.0)[1] is None


@pytest.mark.parametrize("fn", [operator.lt, operator.eq, operator.is_, operator.not_, operator.contains, len,
                                isinstance, int, round, math.floor, math.isnan, np.sign, np.floor, np.argmax])
def test_non_differentiable(fn):
    assert lookup(fn)[0] is NONDIFF


def test_sorted_routes_cotangents_back_to_old_places():
    xs = [3.0, 1.0, 2.0, 1.0]
    y, back = rule(sorted)(xs, reverse=True)
    assert y == [3.0, 2.0, 1.0, 1.0]
    assert back([10.0, 20.0, 30.0, 40.0]) == ([10.0, 30.0, 20.0, 40.0],)     # stable: the first 1.0 first
    y, back = rule(sorted)((2.0, 1.0))
    assert back([None, 5.0]) == ((5.0, None),)


def test_divmod_remainder_follows_mod():
    (q, r), back = rule(divmod)(7.5, 2.0)
    assert (q, r) == (3.0, 1.5) and back((1.0, 1.0)) == (1.0, -3.0) and back((1.0, None)) == (None, None)


def test_numpy_scalars_with_lists_follow_the_result():
    y, back = rule(operator.mul)([1.0, 3.0], np.int64(2))          # the list repeats
    assert y == [1.0, 3.0, 1.0, 3.0] and back([1.0, 2.0, 3.0, 4.0]) == ([4.0, 6.0], None)
    assert rule(operator.mul)(np.int64(2), [1.0, 3.0])[1]([1.0, 2.0, 3.0, 4.0]) == (None, [4.0, 6.0])
    y, back = rule(operator.iadd)([10.0], np.arange(3.0))         # NumPy adds elementwise
    d_list, dx = back(np.ones(3))
    assert y.tolist() == [10.0, 11.0, 12.0] and d_list == [3.0] and dx.tolist() == [1.0, 1.0, 1.0]
    y, back = rule(operator.add)(np.float64(1.0), [1.0, 2.0])
    assert y.tolist() == [2.0, 3.0] and back(np.array([5.0, 6.0])) == (11.0, [5.0, 6.0])

