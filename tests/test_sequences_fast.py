"""The array fast paths of `irgrad/rules/sequences.py` and the adjoint's accumulation of per-element tuple
cotangents (`reverse_pass.add_items`): each must give, to the bit, what the plain Python loop gives, and fall back
to the loop wherever Python raises."""
import functools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import irgrad
from irgrad import loops
from irgrad.codegen import source
from irgrad.reverse_pass import add_at, add_items
from irgrad.rules import sequences as S
from irgrad.testing import check_grad

from test_loops import XS, YS, raises_as_the_loop, same_bits, squares_subtracted, vectorised

EXPONENTS = range(-loops.MAX_POW, loops.MAX_POW + 1)


@pytest.fixture(params=["float_power", "python"])
def path(request, monkeypatch):
    """Both ways of computing the powers: NumPy's float_power (the self-check passed) and Python's own `**`."""
    if request.param == "python":
        monkeypatch.setattr(S, "_FLOAT_POWER_EXACT", frozenset())
    return request.param


def loop_sum_pow(acc0, values, n, negate):
    """What the user's loop computes (None where it raises)."""
    acc = acc0
    try:
        for b in values:
            if negate:
                acc -= b ** n
            else:
                acc += b ** n
    except (ArithmeticError, ValueError):
        return None
    return acc


def agrees_with_the_loop(acc0, values, n):
    """seq_sum_pow and seq_diff_pow are the loop's value to the bit when it is finite, and not finite (so that
    seq_ok sends the run to the loop, which raises or gives its own inf or NaN) otherwise."""
    arr = np.array(values, dtype=np.float64)
    with np.errstate(all="ignore"):
        for fn, negate in ((S.seq_sum_pow, False), (S.seq_diff_pow, True)):
            got = fn(acc0, arr, n)
            want = loop_sum_pow(acc0, values, n, negate)
            if want is not None and math.isfinite(want):
                assert same_bits(got, float(want)), (fn.__name__, acc0, n, got, want)
            else:
                assert not S.seq_ok(arr, got), (fn.__name__, acc0, n, got, want)


def test_the_self_check_accepts_float_power_for_every_vectorised_exponent():
    # NumPy's float_power with a scalar exponent is the C library's pow, as Python's `**` is (on this platform)
    assert {float(n) for n in EXPONENTS} <= S._FLOAT_POWER_EXACT


def test_the_self_check_refuses_a_power_that_is_not_pythons():
    exponents = [float(n) for n in EXPONENTS]
    if any(x ** 2.0 != x * x for x in map(float.fromhex, S._POW_IS_NOT_SQUARE)):
        # np.power(a, 2.0) is a * a, which is not the C library's pow(x, 2.0) for those values
        assert 2.0 not in S._float_power_agrees(np.power, [2.0])
    # finite where Python raises (overflow, 0.0 ** -1): refused, though every other value agrees
    def finite_on_overflow(a, p):
        return np.nan_to_num(np.float_power(a, p), nan=np.nan, posinf=1.0, neginf=-1.0)
    assert not S._float_power_agrees(finite_on_overflow, [p for p in exponents if p != 0.0 and p != 1.0])
    # off by an ulp on one value only
    def one_ulp_off(a, p):
        y = np.float_power(a, p)
        y[7] = np.nextafter(y[7], np.inf)
        return y
    assert not S._float_power_agrees(one_ulp_off, exponents)
    assert S._float_power_agrees(np.float_power, [2.0, 3.0]) == {2.0, 3.0}


@pytest.mark.parametrize("n", EXPONENTS)
def test_sum_of_powers_is_the_loops_on_random_data(n, path):
    r = np.random.default_rng(100 + n)
    for k in range(40):
        values = (r.standard_normal(r.integers(1, 120)) * 2.0 ** r.integers(-40, 41)).tolist()
        if k % 4 == 1:  # zeros of both signs, subnormals, values whose square by pow is not x * x
            extra = [0.0, -0.0, 5e-324, -1e-320, 1e-160] + [float.fromhex(h) for h in S._POW_IS_NOT_SQUARE]
            values[r.integers(0, len(values)):0] = list(r.choice(extra, 5))
        acc0 = [0.0, -0.0, 0, 3, 1.5, -2.75e10, float(r.standard_normal())][k % 7]
        agrees_with_the_loop(acc0, values, n)


@pytest.mark.parametrize("n", [2, 3, -1, -2, 0])
def test_sum_of_powers_where_the_loop_raises_or_overflows(n, path):
    for values in ([1e200, 2.0], [2.0, -1e200], [0.0, 1.0], [-0.0, 1.0], [1e-200, 1.0], [5e-324],
                   [math.inf, 1.0], [-math.inf], [math.nan, 1.0], [1e154, 1e154], [1.5e154, -1.0]):
        for acc0 in (0.0, -0.0, 1.0, 10 ** 400):
            agrees_with_the_loop(acc0, values, n)


def test_overflow_of_a_square_gives_a_sum_seq_ok_refuses():
    # float_power gives inf where Python's `**` raises OverflowError: seq_ok must refuse the sum
    col = np.array([1.0, 1e200, 2.0])
    with np.errstate(all="ignore"):
        total = S.seq_sum_pow(0.0, col, 2)
        assert not S.seq_ok(col, total)
        assert not S.seq_ok(col, S.seq_diff_pow(1.0, col, 2))
        assert not S.seq_ok(col, S.seq_sum_pow(0.0, np.array([0.0, 1.0]), -2))  # ZeroDivisionError in Python


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=30),
       acc0=st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-10 ** 20, 10 ** 20)),
       n=st.integers(-loops.MAX_POW, loops.MAX_POW))
def test_sum_of_powers_is_the_loops_hypothesis(values, acc0, n):
    agrees_with_the_loop(acc0, values, n)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=30),
       n=st.integers(-loops.MAX_POW, loops.MAX_POW))
def test_seq_pow_is_pythons_pow_or_nan_where_python_raises(values, n):
    with np.errstate(all="ignore"):
        got = S.seq_pow(np.array(values), n)
    try:
        want = np.array([x ** float(n) for x in values])
    except (ArithmeticError, ValueError):
        assert np.isnan(got).all()
        return
    assert got.dtype == np.float64
    assert np.array_equal(got.view(np.int64), want.view(np.int64)) or \
        all(same_bits(a, b) for a, b in zip(got.tolist(), want.tolist()))


def reciprocal_squares(c, xs):
    total = 1.0
    for x in xs:
        total -= (x - c) ** -2
    return total


def test_the_fused_sum_of_powers_raises_as_the_loop_does():
    assert vectorised(squares_subtracted, 1.0, XS, YS)
    raises_as_the_loop(OverflowError, squares_subtracted, 1.0, XS[:3] + [1e200] + XS[4:], YS)
    raises_as_the_loop(OverflowError, squares_subtracted, 1e300, XS, YS)
    assert vectorised(reciprocal_squares, 0.5, XS)
    raises_as_the_loop(ZeroDivisionError, reciprocal_squares, 0.5, XS[:3] + [0.5] + XS[3:])
    g = irgrad.gradient(squares_subtracted, 0.7, XS, YS)[0]
    assert math.isclose(g, -sum(2.0 * (x * 0.7 - y) * x for x, y in zip(XS, YS)), rel_tol=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# The cotangent of a tuple, added to element by element: one add_items for all the elements


def test_add_items_is_add_at_one_element_after_another():
    arr = np.arange(3.0)
    bases = [None, (1.0, None, 2.0, arr, None), (None, None, None, None, None), (0.5, 0.25, -1.0, arr * 2, 7.0)]
    itemss = [(1.5, None, 2.0, arr + 1.0, None), (None,) * 5, (1.0, 2.0, 3.0, 4.0, 5.0), (None, 3.0, None, None, arr)]
    for base in bases:
        for items in itemss:
            want = functools.reduce(lambda ct, i: add_at(ct, 5, i, items[i]) if items[i] is not None else ct,
                                    range(5), base)
            got = add_items(base, *items)
            if want is None:  # nothing was added to a zero: add_at left None, add_items a tuple of Nones
                assert all(x is None for x in got)
                continue
            assert type(got) is tuple and len(got) == 5
            for a, b in zip(got, want):
                assert (a is None and b is None) or np.array_equal(a, b)
                assert type(a) is type(b)


@settings(max_examples=200, deadline=None)
@given(base=st.one_of(st.none(), st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6)), min_size=4, max_size=4)),
       items=st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6)), min_size=4, max_size=4))
def test_add_items_adds_floats_as_floats(base, items):
    base = None if base is None else tuple(base)
    got = add_items(base, *items)
    for k in range(4):
        old = None if base is None else base[k]
        want = items[k] if old is None else old if items[k] is None else old + items[k]
        assert got[k] is want or same_bits(got[k], want)


def horner_in_a_loop(coeffs, xs):
    total = 0.0
    for x in xs:
        total += (coeffs[0] + coeffs[1] * x + coeffs[2] * x * x) * x
    return total


COEFFS3 = (0.3, -1.2, 0.8)


def test_the_tuple_gradient_is_added_once_per_iteration_and_once_after_the_array_code():
    text = source(irgrad.code_adjoint(horner_in_a_loop, COEFFS3, XS).adjoint)
    assert "add_at" not in text and "add_items(" in text
    # the array code and the fallback loop (with an int in the list) both give the loop's gradient
    check_grad(horner_in_a_loop, COEFFS3, XS)
    check_grad(horner_in_a_loop, COEFFS3, XS[:4] + [2] + XS[4:])


def mixed_tuple(c, xs):
    total = 0.0
    for x in xs:  # np.sum: not vectorised, the loop's adjoint adds a float and an array per iteration
        total += c[0] * x + float(np.sum(c[1] * x))
    return total


def test_tuple_cotangent_of_floats_and_arrays_in_a_loop():
    c = (0.5, np.array([1.0, -2.0, 3.0]), "unused")
    g = irgrad.gradient(mixed_tuple, c, XS[:6])[0]
    assert math.isclose(g[0], sum(XS[:6]), rel_tol=1e-12)
    assert np.allclose(g[1], np.full(3, sum(XS[:6])), rtol=1e-12)
    assert g[2] is None


def built_then_read(a, b, flag):
    t = (a, b)
    y = t[0] * 2.0
    if flag > 0:
        y = y + t[1] * 3.0 + t[0]
    return y


def test_a_built_tuple_with_elements_added_to_its_run_time_cotangent():
    # t's cotangent comes from the `if` block (a tuple known at run time) and gets t[0]'s in the block that builds it
    for flag in (1.0, -1.0):
        check_grad(built_then_read, 0.7, -0.4, flag)


# ---------------------------------------------------------------------------------------------------------------
# Columns of lists the entry check already scanned (loops._verified_at_entry, sequences.entry_float_columns)


def _loss_over(data):
    def loss(c):
        xs, ys = data
        total = 0.0
        for x, y in zip(xs, ys):
            total += (c * x - y) ** 2
        return total
    return loss


def _mutating_loss(data):
    def loss(c):
        xs, ys = data
        xs[0] = 1  # an int now: the entry check no longer holds for xs
        total = 0.0
        for x, y in zip(xs, ys):
            total += (c * x - y) ** 2
        return total
    return loss


GLOBAL_DATA = (list(XS), list(YS))


def global_loss(c):
    xs, ys = GLOBAL_DATA
    total = 0.0
    for x, y in zip(xs, ys):
        total += (c * x - y) ** 2
    return total


def args_loss(c, xs, ys):
    total = 0.0
    for x, y in zip(xs, ys):
        total += (c * x - y) ** 2
    return total


def built_loss(c, xs, ys):
    zs = [x * 2.0 for x in xs]
    total = 0.0
    for z, y in zip(zs, ys):
        total += (c * z - y) ** 2
    return total


def _columns_fn(f, *args):
    text = source(irgrad.code_adjoint(f, *args).forward)
    return "entry_float_columns" in text, "float_columns(" in text.replace("entry_float_columns(", "")


def test_lists_the_entry_check_scanned_are_not_scanned_again():
    data = (list(XS), list(YS))
    f = _loss_over(data)
    assert _columns_fn(f, 0.7) == (True, False)  # captured by the closure: the guard scans the cells
    assert _columns_fn(args_loss, 0.7, list(XS), list(YS)) == (True, False)  # arguments: scanned by the guard
    assert _columns_fn(global_loss, 0.7) == (False, True)  # a global's list: checked by identity only
    for fn, args in ((f, (0.7,)), (args_loss, (0.7, list(XS), list(YS))), (global_loss, (0.7,))):
        for _ in range(3):  # first call, keyed path, guard path
            y, g = irgrad.withgradient(fn, *args)
            assert same_bits(y, fn(*args))
        check_grad(fn, *args)


def test_columns_of_a_built_list_are_checked_and_a_mutated_argument_is_refused():
    assert _columns_fn(built_loss, 0.7, list(XS), list(YS))[0] is False
    check_grad(built_loss, 0.7, list(XS), list(YS))
    with pytest.raises(irgrad.UnsupportedError):  # what the entry check saw cannot change before the loop
        irgrad.gradient(_mutating_loss((list(XS), list(YS))), 0.7)


def test_an_int_in_a_scanned_list_takes_another_derivation():
    f = _loss_over((list(XS), list(YS)))
    irgrad.gradient(f, 0.7)
    irgrad.gradient(f, 0.7)
    xs = list(XS)
    xs[3] = 2  # same closure shape, an int element: the guard and the key differ, no stale fast path
    g = _loss_over((xs, list(YS)))
    y, d = irgrad.withgradient(g, 0.7)
    assert same_bits(y, g(0.7))
    expected = sum(2 * (0.7 * x - y) * x for x, y in zip(xs, YS))
    assert math.isclose(d[0], expected, rel_tol=1e-12)


def test_entry_float_columns_checks_lists_and_lengths():
    assert [c.size for c in S.entry_float_columns([1.0, 2.0], (1.0, 2.0))] == [0, 0]
    assert [c.size for c in S.entry_float_columns([1.0, 2.0], [1.0])] == [0, 0]
    a, b = S.entry_float_columns([1.0, -2.5], [0.5, 3.0])
    assert a.tolist() == [1.0, -2.5] and b.tolist() == [0.5, 3.0]
