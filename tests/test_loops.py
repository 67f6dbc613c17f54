"""Loop rewrites (`irgrad/loops.py`): unrolling of loops over a range of constants, vectorisation of map-reduce
loops over lists of floats.  Each rewritten loop is checked against the plain call (the value, to the bit, and
the exception), against central finite differences, and against the derivation without the rewrites."""
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import irgrad
from irgrad import loops
from irgrad.derive import entry_types
from irgrad.execute import get_mode, set_mode
from irgrad.frontend import bind_args
from irgrad.infer import infer
from irgrad.inliner import inline_calls
from irgrad.passes import simplify
from irgrad.pipeline import typed_ir
from irgrad.printer import format_ir
from irgrad.rules import sequences as S
from irgrad.testing import assert_close, check_rrule, numerical_vjp
from irgrad.verify import verify

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools" / "bench"))
from workloads import horner, poly_loss  # noqa: E402
from test_seeds import _perturbed_loss  # noqa: E402


rng = np.random.default_rng(0)
XS = [float(v) for v in rng.uniform(-1.0, 1.0, 40)]
YS = [float(v) for v in rng.uniform(-1.0, 1.0, 40)]
COEFFS = (0.3, -1.2, 0.8, 0.5, -0.7)


# ---------------------------------------------------------------------------------------------------------------
# Helpers


def rewritten(f, *args):
    """The IR `derive` hands the AD transform for these arguments: typed, inlined, simplified, rewritten."""
    entry = bind_args(f, args, {})
    ir = simplify(inline_calls(typed_ir(f, list(entry_types(f, entry)))))
    ir = loops.rewrite(ir)
    verify(ir)
    return ir


def calls(ir, fn) -> int:
    return sum(1 for _, s in ir.stmts() if s.fn == ops_const(fn))


def ops_const(fn):
    from irgrad.ir import Const
    return Const(fn)


def has_loop(ir) -> bool:
    from irgrad import cfg
    return bool(cfg.back_edges(ir))


def vectorised(f, *args) -> bool:
    ir = rewritten(f, *args)
    return calls(ir, S.seq_ok) > 0


def without_rewrites(f, *args):
    loops.ENABLED = False
    irgrad.clear_cache()
    try:
        return irgrad.gradient(f, *args)
    finally:
        loops.ENABLED = True
        irgrad.clear_cache()


def same_bits(a, b) -> bool:
    return type(a) is type(b) and (a == b or (a != a and b != b)) and math.copysign(1, a) == math.copysign(1, b)


def raises_as_the_loop(error, f, *args):
    """The derivation raises what the plain call raises, message included."""
    with pytest.raises(error) as plain:
        f(*args)
    with pytest.raises(error) as derived:
        irgrad.gradient(f, *args)
    assert str(derived.value) == str(plain.value)


def check_loop(f, *args, rewritten_expected=True, rtol=1e-6, atol=1e-6):
    """Rewritten as expected; value bitwise the plain call's; gradient = finite differences = no rewrites."""
    assert vectorised(f, *args) == rewritten_expected
    irgrad.clear_cache()
    value, _ = irgrad.withgradient(f, *args) if hasattr(irgrad, "withgradient") else (f(*args), None)
    assert same_bits(value, f(*args)), (value, f(*args))
    grads = irgrad.gradient(f, *args)
    plain = without_rewrites(f, *args)
    for i, x in enumerate(args):
        if isinstance(x, float) or isinstance(x, tuple):
            assert_close(grads[i], plain[i], 1e-9, 1e-12, what=f"gradient {i} with and without the rewrite")
        if isinstance(x, float):
            assert_close(grads[i], numerical_vjp(f, args, i, 1.0), rtol, atol, what=f"gradient {i}")
        elif isinstance(x, tuple):
            for j in range(len(x)):
                def fj(v, j=j):
                    return f(*args[:i], x[:j] + (v,) + x[j + 1:], *args[i + 1:])
                assert_close(grads[i][j], numerical_vjp(fj, (x[j],), 0, 1.0), rtol, atol,
                             what=f"gradient {i}[{j}]")
    return grads


# ---------------------------------------------------------------------------------------------------------------
# The workload of issue 4 (tools/bench/workloads.py) and loops like it


def test_scalar_poly_is_unrolled_and_vectorised():
    ir = rewritten(lambda c: poly_loss(c, (XS, YS)), COEFFS)
    assert calls(ir, S.seq_sum_pow) == 1 and calls(ir, S.float_columns) == 1
    # the fallback: the original loop (with Horner's loop unrolled) is still there
    assert has_loop(ir) and calls(ir, range) == 0
    text = format_ir(ir)
    assert "seq_sum" in text and "float_columns" in text
    # inference over the rewritten IR gives the types the rewrite set
    before = [str(s.type) for _, s in ir.stmts()]
    infer(ir, ir.entry.argtypes)
    assert [str(s.type) for _, s in ir.stmts()] == before


def test_scalar_poly_gradient():
    data = (XS, YS)
    check_loop(lambda c: poly_loss(c, data), COEFFS)


def test_scalar_poly_value_is_bitwise_the_loops():
    data = (XS, YS)
    f = lambda c: poly_loss(c, data)  # noqa: E731
    for seed in range(20):
        c = tuple(float(v) for v in np.random.default_rng(seed).standard_normal(5) * 3)
        y, _ = irgrad.pullback(f, c) if hasattr(irgrad, "pullback") else (f(c), None)
        assert same_bits(y, f(c))


def single_list(c, xs):
    total = 0.0
    for x in xs:
        total = total + c * x * x
    return total


def subtracting(c, xs):
    acc = 1.0
    for x in xs:
        acc -= c * x
    return acc


def term_first(c, xs):
    acc = 0.5
    for x in xs:
        acc = (x - c) * x + acc
    return acc


def two_accumulators(c, xs, ys):
    s = 0.0
    q = 0.0
    for x, y in zip(xs, ys):
        s += c * x - y
        q -= (x * c + 1.0) / (2.0 + y)
    return s * q


def powers(c, xs):
    total = 0.0
    for x in xs:
        total += (x + c) ** 3 - 0.5 * x ** -2 + (c * x) ** 0 - -x
    return total


def squares_subtracted(c, xs, ys):
    total = 10.0
    for x, y in zip(xs, ys):
        total -= (x * c - y) ** 2
    return total


def cubes(c, xs):
    total = 0.0
    for x in xs:
        total = total + (x - c) ** 3
    return total


def math_call(c, xs):
    total = 0.0
    for x in xs:
        total += math.sin(x) * c
    return total


def math_functions(c, xs, ys):
    total = 0.0
    for x, y in zip(xs, ys):
        total += math.sin(x) * c + math.exp(c * y) - math.log(1.5 + x) + math.tanh(x - c) * math.sqrt(2.0 + y)
    return total


def with_int_start(c, xs):
    total = 0
    for x in xs:
        total += x * c
    return total


def tuple_item(c, xs, ys):
    total = 0.0
    for pair in zip(xs, ys):
        total += pair[0] * c - pair[1]
    return total


def loop_invariant_arithmetic(c, d, xs):
    total = 0.0
    for x in xs:
        total += x * (c * d + 1.0) - d
    return total


def three_lists(c, xs, ys, zs):
    total = 0.0
    for x, y, z in zip(xs, ys, zs):
        total += x * y * c + z
    return total


@pytest.mark.parametrize("f, args", [
    (single_list, (0.7, XS)),
    (subtracting, (-1.3, XS)),
    (term_first, (0.2, XS)),
    (two_accumulators, (0.9, XS, YS)),
    (powers, (1.7, XS)),
    (with_int_start, (0.4, XS)),
    (squares_subtracted, (0.4, XS, YS)),
    (cubes, (0.4, XS)),
    (math_call, (0.5, XS)),
    (math_functions, (0.3, XS, YS)),
    (tuple_item, (1.1, XS, YS)),
    (loop_invariant_arithmetic, (0.3, -0.8, XS)),
    (three_lists, (0.6, XS, YS, XS[::-1])),
], ids=lambda v: getattr(v, "__name__", ""))
def test_vectorised_loops(f, args):
    check_loop(f, *args)


def test_gradient_with_respect_to_the_list():
    def f(xs, c):
        total = 0.0
        for x in xs:
            total += (x - c) ** 2
        return total
    assert vectorised(f, XS, 0.3)
    g = irgrad.gradient(f, XS, 0.3)
    assert isinstance(g[0], list) and len(g[0]) == len(XS)
    assert_close(np.array(g[0]), 2 * (np.array(XS) - 0.3), 1e-12, 1e-12)
    assert_close(g[1], -2 * float(np.sum(np.array(XS) - 0.3)), 1e-9, 1e-12)
    plain = without_rewrites(f, XS, 0.3)
    assert_close(np.array(g[0]), np.array(plain[0]), 1e-12, 1e-12)


def test_one_list_twice_and_a_loop_inside_a_loop():
    def same_list(xs, c):
        t = 0.0
        for a, b in zip(xs, xs):
            t += a * b * c
        return t
    assert vectorised(same_list, XS, 0.5)
    g = irgrad.gradient(same_list, XS, 0.5)
    assert_close(np.array(g[0]), 2 * 0.5 * np.array(XS), 1e-12, 1e-12)

    def nested(c, datasets):
        out = 0.0
        for xs in datasets:
            t = 0.0
            for x in xs:
                t += (x - c) ** 2
            out = out + t * c
        return out
    datasets = [XS[:10], YS[:7], XS[3:20]]  # (with an empty list among them the items are list[Any]: no rewrite)
    assert vectorised(nested, 0.3, datasets)
    y, back = irgrad.pullback(nested, 0.3, datasets)
    assert same_bits(y, nested(0.3, datasets))
    assert_close(back(1.0)[0], numerical_vjp(nested, (0.3, datasets), 0, 1.0), 1e-6, 1e-6)


def test_interpreter_agrees():
    data = (XS, YS)
    f = lambda c: poly_loss(c, data)  # noqa: E731
    mode = get_mode()
    set_mode("interpret")
    irgrad.clear_cache()
    try:
        g_interp = irgrad.gradient(f, COEFFS)
    finally:
        set_mode(mode)
        irgrad.clear_cache()
    assert_close(irgrad.gradient(f, COEFFS)[0], g_interp[0], 1e-12, 1e-12)


# ---------------------------------------------------------------------------------------------------------------
# The fallback: the loop itself runs when the array code cannot reproduce it


def reciprocal_sum(c, xs):
    total = 0.0
    for x in xs:
        total += c / x
    return total


def masked_division(c, xs):
    total = 0.0
    for x in xs:
        total += 1.0 / (1.0 / x + c * 0.0) * 0.0 + c  # inf would vanish in the array code
    return total


def fourth_power(c, xs):
    total = 0.0
    for x in xs:
        total += (x * c) ** 4
    return total


def negative_power(c, xs):
    total = 0.0
    for x in xs:
        total += (x - c) ** -1
    return total


def masked_power(c, xs):
    total = 0.0
    for x in xs:
        total += (x ** -1) ** 0 * c  # 1.0, unless x ** -1 raises
    return total


def masked_power_summed(c, xs):
    total = c
    for x in xs:
        total += (x ** -1) ** 0
    return total


def unused_power(c, xs):
    total = 0.0
    for x in xs:
        x ** -2  # raises for 0.0 though nothing reads it
        total += x * c
    return total


@pytest.mark.parametrize("f", [masked_power, masked_power_summed, unused_power], ids=lambda f: f.__name__)
def test_powers_that_do_not_reach_the_sum_are_checked(f):
    assert vectorised(f, 1.0, XS)
    check_loop(f, 0.5, XS)
    raises_as_the_loop(ZeroDivisionError, f, 1.0, [1.0, 0.0])


def test_division_by_zero_raises_as_the_loop_does():
    xs = XS[:10] + [0.0] + XS[10:]
    assert vectorised(reciprocal_sum, 1.0, xs) and vectorised(masked_division, 1.0, xs)
    for f in (reciprocal_sum, masked_division):
        raises_as_the_loop(ZeroDivisionError, f, 1.0, xs)
    check_loop(reciprocal_sum, 0.5, XS)


def test_overflow_of_pow_raises_as_the_loop_does():
    xs = [1e100, 2.0]
    assert vectorised(fourth_power, 1.0, xs)
    raises_as_the_loop(OverflowError, fourth_power, 1.0, xs)
    with pytest.raises(ZeroDivisionError):
        irgrad.gradient(negative_power, 0.5, [0.25, 0.5])
    check_loop(negative_power, 0.1, [0.25, 0.5, 2.0])


def logs(c, xs):
    total = 0.0
    for x in xs:
        total += math.log(x) * c
    return total


def exps(c, xs):
    total = 0.0
    for x in xs:
        total -= math.exp(x * c) * 0.0  # inf * 0.0 is NaN: the loop raises first
    return total


def sines(c, xs):
    total = 0.0
    for x in xs:
        total += math.sin(x) ** 0 * c  # sin(inf) raises, though ** 0 would hide its NaN
    return total


@pytest.mark.parametrize("f, xs, error", [
    (logs, [1.0, 0.0], ValueError), (logs, [1.0, -2.0], ValueError), (exps, [1.0, 800.0], OverflowError),
    (sines, [1.0, math.inf], ValueError),
], ids=lambda v: getattr(v, "__name__", ""))
def test_math_errors_raise_as_the_loop_does(f, xs, error):
    assert vectorised(f, 1.0, xs)
    raises_as_the_loop(error, f, 1.0, xs)
    ok = [v for v in XS if v > 0]
    check_loop(f, 0.5, ok)


def test_overflow_of_the_sum_gives_inf_as_the_loop_does():
    xs = [1e308, 1e308]
    assert math.isinf(single_list(1.0, [1e200]))
    y, _ = irgrad.pullback(subtracting, -1.0, xs)
    assert same_bits(y, subtracting(-1.0, xs))


def test_non_finite_items():
    for bad in (math.inf, -math.inf, math.nan):
        xs = XS[:3] + [bad] + XS[3:]
        y, _ = irgrad.pullback(single_list, 0.5, xs)
        assert same_bits(y, single_list(0.5, xs))


def test_lists_the_array_code_does_not_take():
    # empty lists, lists of different lengths, ints among the floats: the loop runs (the types cannot tell)
    for xs, ys in (([], []), (XS, YS[:-3]), (XS[:5], YS), ([1.0, 2, 3.0], [0.5, 0.5, 0.5]),
                   ([1.0, True, 3.0], [0.5, 0.5, 0.5]), ([2 ** 60 + 1, 1.0], [1.0, 1.0])):
        def f(c, xs=xs, ys=ys):
            return two_accumulators(c, xs, ys)
        value = irgrad.pullback(f, 0.7)[0]
        assert same_bits(value, f(0.7)), (xs, ys)
        g = irgrad.gradient(f, 0.7)[0]
        if xs and ys:
            assert_close(g, numerical_vjp(f, (0.7,), 0, 1.0), 1e-6, 1e-6)
    # an int start and no trips: the int comes back, as from the loop
    y, _ = irgrad.pullback(with_int_start, 0.5, [])
    assert y == 0 and type(y) is int


def test_list_changed_after_derivation():
    data = [0.5, 1.5, 2.5]

    def f(c):
        total = 0.0
        for x in data:
            total += c * x * x
        return total
    assert vectorised(f, 0.3)
    irgrad.clear_cache()
    irgrad.gradient(f, 0.3)
    data.append(3)  # an int: the global's identity is unchanged, so the derivation is reused
    data.append(10 ** 20)
    y, back = irgrad.pullback(f, 0.3)
    assert same_bits(y, f(0.3))
    assert_close(back(1.0)[0], numerical_vjp(f, (0.3,), 0, 1.0), 1e-6, 1e-3)


# ---------------------------------------------------------------------------------------------------------------
# Loops that stay loops


def reads_accumulator(c, xs):
    total = 0.0
    for x in xs:
        total = total * c + x
    return total


def accumulator_read_twice(c, xs):
    total = 0.0
    for x in xs:
        total += x * c
        total += total * 0.0
    return total


def side_effect(c, xs):
    total = 0.0
    for x in xs:
        print(end="")
        total += x * c
    return total


def appends(c, xs):
    out = []
    total = 0.0
    for x in xs:
        out.append(x * c)
        total += x
    return total + out[0]


def varying_trips(coeffs, xs, n):
    total = 0.0
    for x in xs:
        y = 0.0
        for k in range(n):
            y = y * x + coeffs[k]
        total += y
    return total


def ints(c, ns):
    total = 0.0
    for n in ns:
        total += n * c
    return total


def branches(c, xs):
    total = 0.0
    for x in xs:
        if x > 0:
            total += x * c
    return total


def int_invariant(c, k, xs):
    total = 0.0
    for x in xs:
        total += x * k + c
    return total


def last_item(c, xs):
    total = 0.0
    x = 0.0
    for x in xs:
        total += x * c
    return total + x


@pytest.mark.parametrize("f, args", [
    (reads_accumulator, (0.5, XS)),
    (accumulator_read_twice, (0.5, XS)),
    (side_effect, (0.5, XS)),
    (appends, (0.5, XS)),
    (varying_trips, (COEFFS, XS, 4)),
    (ints, (0.5, [1, 2, 3])),
    (branches, (0.5, XS)),
    (int_invariant, (0.5, 3, XS)),
    (last_item, (0.5, XS)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_loops_not_rewritten(f, args):
    check_loop(f, *args, rewritten_expected=False)


def test_varying_trip_count_stays_a_loop():
    ir = rewritten(varying_trips, COEFFS, XS, 4)
    assert len([1 for _ in __import__("irgrad.cfg", fromlist=["cfg"]).back_edges(ir)]) == 2


# ---------------------------------------------------------------------------------------------------------------
# Unrolling


def over_tuple(c):
    s = 0.0
    for k in range(len(c)):
        s = s * 0.5 + c[k] * k
    return s


def long_range(c):
    s = 0.0
    for k in range(20):
        s = s + c * k
    return s


def test_constant_range_is_unrolled():
    ir = rewritten(over_tuple, COEFFS)
    assert not has_loop(ir)
    check_loop(over_tuple, COEFFS, rewritten_expected=False)
    ir = rewritten(long_range, 0.5)
    assert has_loop(ir)  # more trips than MAX_TRIPS: a loop
    check_loop(long_range, 0.5, rewritten_expected=False)


def test_len_of_a_tuple_folds():
    ir = rewritten(lambda c: len(c) * c[0], COEFFS)
    assert calls(ir, len) == 0


# ---------------------------------------------------------------------------------------------------------------
# The primitives


@pytest.mark.parametrize("fn, args", [
    (S.seq_sum, (0.25, rng.standard_normal(7))),
    (S.seq_diff, (0.25, rng.standard_normal(7))),
    (S.seq_pow, (rng.uniform(0.5, 2.0, 6), 3)),
    (S.seq_pow, (rng.uniform(0.5, 2.0, 6), -2)),
    (S.seq_pow, (rng.uniform(0.5, 2.0, 6), 1)),
    (S.seq_sum_pow, (0.25, rng.standard_normal(7), 2)),
    *[(S.seq_map, (fn, rng.uniform(0.2, 0.9, 5))) for fn in S.MATH],
    (S.seq_sum_pow, (0.25, rng.uniform(0.5, 2.0, 6), -3)),
    (S.seq_diff_pow, (0.25, rng.standard_normal(7), 3)),
    (S.seq_diff_pow, (0.25, rng.standard_normal(7), 1)),
])
def test_rules_of_sequences(fn, args):
    check_rrule(fn, *args)


def test_float_columns_rule():
    y, back = irgrad.rules.lookup(S.float_columns)[0]([1.0, 2.0], [3.0, 4.0])
    assert [list(c) for c in y] == [[1.0, 2.0], [3.0, 4.0]]
    assert back((np.array([1.0, 2.0]), None)) == ([1.0, 2.0], None)


def test_seq_sum_adds_left_to_right():
    r = np.random.default_rng(1)
    for _ in range(50):
        terms = r.standard_normal(50) * 10.0 ** r.integers(-10, 10, 50)
        terms[r.integers(0, 50, 10)] = r.choice([0.0, -0.0], 10)
        acc = [float(r.standard_normal()), 0.0, -0.0, 0, 3][_ % 5]
        expected = acc
        for t in terms.tolist():
            expected = expected + t
        assert same_bits(S.seq_sum(acc, terms), expected)
        expected = acc
        for t in terms.tolist():
            expected = expected - t
        assert same_bits(S.seq_diff(acc, terms), expected)
        expected = acc
        for t in terms.tolist():
            expected += t ** 2
        assert same_bits(S.seq_sum_pow(acc, terms, 2), expected)
    assert same_bits(S.seq_sum(0.0, np.array([-0.0])), 0.0 + -0.0)
    assert same_bits(S.seq_sum(0, np.array([-0.0])), 0 + -0.0)
    assert same_bits(S.seq_sum(0.0, np.array([-0.0, -0.0])), 0.0 + -0.0 + -0.0)
    assert same_bits(S.seq_sum(-0.0, np.array([-0.0, -0.0])), -0.0 + -0.0 + -0.0)
    assert math.isnan(S.seq_sum(0.0, np.empty(0)))


def test_seq_map_is_the_math_function():
    a = np.random.default_rng(3).uniform(0.1, 5.0, 2000)
    for fn in S.MATH:
        assert np.array_equal(S.seq_map(fn, a), np.array([fn(x) for x in a.tolist()])), fn
    assert np.isnan(S.seq_map(math.log, np.array([1.0, 0.0]))).all()


def test_seq_pow_is_pythons_pow():
    a = np.random.default_rng(2).standard_normal(5000)
    for n in (2, 3, -1):
        assert np.array_equal(S.seq_pow(a, n), np.array([x ** n for x in a.tolist()]))
    with np.errstate(all="ignore"):  # as the array code runs them (seq_quiet)
        assert np.isnan(S.seq_pow(np.array([0.0]), -1)).all()
        assert np.isnan(S.seq_pow(np.array([1e200]), 2)).all()


def started_at_the_parameter(c, xs):
    total = c * 0.5
    for x in xs:
        total += (x - c) ** 2
    return total


def cubes_subtracted(c, xs, ys):
    total = 1.0
    for pair in zip(xs, ys):
        total -= (pair[0] * c - pair[1]) ** 3
    return total


def first_powers(c, xs):
    total = 0.0
    for x in xs:
        total -= (x * c) ** 1
    return total


@pytest.mark.parametrize("f, args", [
    (started_at_the_parameter, (0.7, XS)),
    (squares_subtracted, (0.4, XS, YS)),
    (cubes_subtracted, (0.6, XS, YS)),
    (cubes, (0.4, XS)),
    (first_powers, (1.3, XS)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_sum_of_powers_derivative_is_inline(f, args):
    """seq_sum_pow / seq_diff_pow have an inline rule (inline_rules): the forward makes no pullback closure, the
    adjoint computes n b^(n-1) dy itself; the gradient is the finite differences' and the plain loop's."""
    t = irgrad.code_adjoint(f, *args)
    assert "_seq_sum_pow_rule" not in repr(t.forward) and "_seq_diff_pow_rule" not in repr(t.forward)
    assert "seq_sum_pow" in repr(t.forward) or "seq_diff_pow" in repr(t.forward)
    check_loop(f, *args)


def test_sum_of_powers_with_an_active_start_and_a_falling_back_list():
    # the fallback loop (an int in the list) must still give the loop's gradient, acc0 included
    xs = XS[:5] + [1] + XS[5:]
    g = irgrad.gradient(started_at_the_parameter, 0.7, xs)[0]
    assert_close(g, numerical_vjp(lambda c: started_at_the_parameter(c, xs), (0.7,), 0, 1.0), 1e-6, 1e-6)


def test_float_columns_refuses():
    assert [c.size for c in S.float_columns([1.0, 2.0], [1.0, True])] == [0, 0]
    assert [c.size for c in S.float_columns([1.0, 2.0], (1.0, 2.0))] == [0, 0]
    assert [c.size for c in S.float_columns((1.0, 2.0), [1.0, 2.0])] == [0, 0]
    assert [c.size for c in S.float_columns([1.0, 2.0], [1.0])] == [0, 0]
    assert [c.size for c in S.float_columns([1.0, 2.0, 3.0], [1.0, np.float64(2.0), 3.0])] == [0, 0]
    xs, ys = S.float_columns([1.0, -2.5], [0.5, 3.0])
    assert xs.dtype == ys.dtype == np.float64 and xs.tolist() == [1.0, -2.5] and ys.tolist() == [0.5, 3.0]
    assert [c.size for c in S.float_columns([], [])] == [0, 0]
    assert [c.size for c in S.float_columns([1.0, 2], [1.0, 2.0])] == [0, 0]
    assert [c.size for c in S.float_columns([1.0], [1.0, 2.0])] == [0, 0]
    assert [c.size for c in S.float_columns([np.float64(1.0)])] == [0]
    assert [c.size for c in S.float_columns((1.0, 2.0))] == [0]
    assert [c.size for c in S.float_columns([1.0, 2.0])] == [2]


# ---------------------------------------------------------------------------------------------------------------
# Properties


# (no subnormals: 1 / 1e-309 overflows, and NumPy warns where the loop's adjoint would not: see limitations.md)
floats = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(floats, floats), min_size=0, max_size=30), st.tuples(*[floats] * 5))
def test_property_scalar_poly(pairs, coeffs):
    xs = [p[0] for p in pairs]
    ys = [p[1] for p in pairs]
    data = (xs, ys)

    def f(c):
        xs, ys = data
        total = 0.0
        for x, y in zip(xs, ys):
            total += (horner(c, x) - y) ** 2
        return total
    y, back = irgrad.pullback(f, coeffs)
    assert same_bits(y, f(coeffs))
    if not math.isfinite(y):
        return
    g = back(1.0)[0]
    if not xs:
        assert g is None or g == (0.0,) * 5
        return
    expected = [sum(2 * (horner(coeffs, x) - yy) * x ** k for x, yy in zip(xs, ys)) for k in range(5)]
    scale = max(1.0, sum(abs(2 * (horner(coeffs, x) - yy)) * max(1.0, abs(x)) ** 4 for x, yy in zip(xs, ys)))
    for k in range(5):
        assert abs(g[k] - expected[k]) <= 1e-9 * scale


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(floats, st.just(0.0), st.integers(-3, 3)), max_size=12), floats)
def test_property_division(xs, c):
    def f(c):
        total = 0.0
        for x in xs:
            total += c / x - x * x
        return total
    try:
        expected = f(c)
    except ZeroDivisionError as e:
        with pytest.raises(ZeroDivisionError) as got:
            irgrad.gradient(f, c)
        assert str(got.value) == str(e)
        return
    y, back = irgrad.pullback(f, c)
    assert same_bits(y, expected)
    assert_close(back(1.0)[0], sum(1.0 / x for x in xs), 1e-9, 1e-9)


def test_code_adjoint_shows_the_array_code():
    data = (XS, YS)
    shown = irgrad.code_adjoint(lambda c: poly_loss(c, data), COEFFS)
    primal = format_ir(shown.primal)
    assert "seq_sum_pow" in primal and "float_columns" in primal and "seq_ok" in primal
    assert "seq_sum_pow" in repr(shown)


# ---------------------------------------------------------------------------------------------------------------
# Loops over a tuple whose type fixes its length: a model's `for layer in self.layers`


def _chain(activations, seed=0):
    from irgrad import nn
    rng = np.random.default_rng(seed)
    sizes = [2] + [5] * len(activations)
    return nn.Chain(*[nn.Dense(i, o, a, rng=rng) for i, o, a in zip(sizes, sizes[1:], activations)])


def test_loop_over_a_tuple_of_layers_is_unrolled_and_every_call_static():
    from irgrad import nn
    model = _chain([nn.relu, np.tanh, lambda z: z])  # the layers differ: the loop's item has their join
    X = np.random.default_rng(1).standard_normal((2, 7))
    ir = rewritten(lambda m: np.sum(m(X) ** 2), model)
    assert not has_loop(ir)
    # each trip was typed with its own layer: the activations are called directly, np.tanh included
    assert calls(ir, np.tanh) == 1 and calls(ir, np.maximum) == 1
    assert all(not isinstance(s.fn, type(s.var)) for _, s in ir.stmts()), "a call through a variable is left"


def test_gradient_through_an_unrolled_chain():
    from irgrad import nn
    model = _chain([nn.relu, np.tanh, nn.sigmoid], seed=3)
    X = np.random.default_rng(2).standard_normal((2, 6))

    def loss(m):
        return np.sum(m(X) ** 2)
    g = irgrad.gradient(loss, model)[0]
    for k, layer in enumerate(model.layers):
        for name in ("weight", "bias"):
            value = getattr(layer, name)

            def f(v, path=(k, name)):
                return _perturbed_loss(model, loss, path, v)
            assert_close(getattr(g.layers[k], name), numerical_vjp(f, (value,), 0, 1.0), 1e-6, 1e-9,
                         what=f"layer {k} {name}")
