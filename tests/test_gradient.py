"""Reverse mode end to end: `gradient`, `pullback`, `jacobian` on plain Python + NumPy functions, checked against
central finite differences (float64)."""
import math

import numpy as np
import pytest

import irgrad
from irgrad.testing import assert_close, check_grad, numerical_vjp

rng = np.random.default_rng(0)


# ---------------------------------------------------------------------------------------------------------------
# Straight-line code


def poly(x):
    return 3.0 * x ** 3 - 2.0 * x + 1.0


def trig(x, y):
    return math.sin(x) * math.cos(y) + math.exp(x / 4.0)


def array_fn(W, x, b):
    return np.sum(np.tanh(W @ x + b) ** 2)


def method_calls(x):
    return (x * 2.0).sum(axis=0).mean() + x.T.reshape(-1)[0]


def keyword_helper(x, scale=2.0, *, shift=0.5):
    return scale * x + shift


def uses_keywords(x, s):
    return keyword_helper(x, scale=s, shift=s * s)


def starred(*xs, **kw):
    return sum(xs) * kw["k"]


def uses_starred(a, b):
    args = (a, b)
    return starred(*args, k=b)


@pytest.mark.parametrize("f, args", [
    (poly, (1.3,)),
    (trig, (0.7, -0.4)),
    (array_fn, (rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal((3, 1)))),
    (method_calls, (rng.standard_normal((3, 4)),)),
    (uses_keywords, (1.5, 0.8)),
    (uses_starred, (1.5, 0.8)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_straight_line(f, args):
    check_grad(f, *args)


# ---------------------------------------------------------------------------------------------------------------
# Control flow


def branchy(x, y):
    if x > y:
        z = x * y
    elif x > 0:
        z = x - y
    else:
        z = y * y
    return z * 2.0 if z > 0 else -z


def while_pow(x, n):
    s = 1.0
    i = 0
    while i < n:
        s = s * x
        i += 1
    return s


def nested_loops(x):
    acc = 0.0
    for i in range(4):
        for j in range(3):
            if j == 2:
                break
            if i == 1:
                continue
            acc = acc + x ** (i + j)
    return acc


def early_return(x):
    for k in range(10):
        if x * k > 3.0:
            return x * k
    return -x


def converge(x):
    # Newton's iteration for the square root of x: the trip count depends on x.
    y = x
    while abs(y * y - x) > 1e-12 * x:
        y = 0.5 * (y + x / y)
    return y


@pytest.mark.parametrize("f, args", [
    (branchy, (1.5, 0.5)), (branchy, (0.5, 1.5)), (branchy, (-0.5, 1.5)),
    (while_pow, (1.1, 7)), (nested_loops, (1.3,)), (early_return, (0.7,)), (early_return, (-0.7,)),
    (converge, (2.0,)),
], ids=lambda v: getattr(v, "__name__", repr(v)))
def test_control_flow(f, args):
    check_grad(f, *args)


def test_loop_is_not_unrolled():
    def f(x):
        i = 0.0
        y = x
        while i < x * 3:  # the trip count depends on the input
            y = y + 0.001 * math.sin(y)
            i = i + 1.0
        return y

    irgrad.clear_cache()
    for trips in (1, 10, 10_000):
        x = trips / 3.0 - 1e-3
        g = irgrad.gradient(f, x)[0]
        expected = numerical_vjp(f, (x,), 0, 1.0)
        assert abs(g - expected) < 1e-5 * max(1.0, abs(expected))
    assert irgrad.cache_info()["traces"] == 1


def test_loop_over_list_of_arrays():
    Ws = [rng.standard_normal((3, 3)) for _ in range(3)]

    def f(Ws, x):
        for W in Ws:
            x = np.tanh(W @ x)
        return np.sum(x)

    x = rng.standard_normal(3)
    gW, gx = irgrad.gradient(f, Ws, x)
    assert isinstance(gW, list) and len(gW) == 3
    for i in range(3):
        def fi(Wi, i=i):
            W2 = list(Ws)
            W2[i] = Wi
            return f(W2, x)
        assert_close(gW[i], numerical_vjp(fi, (Ws[i],), 0, 1.0), 1e-6, 1e-6)
    assert_close(gx, numerical_vjp(lambda x: f(Ws, x), (x,), 0, 1.0), 1e-6, 1e-6)


def test_enumerate_and_zip():
    def f(xs, ws):
        s = 0.0
        for i, (x, w) in enumerate(zip(xs, ws)):
            s = s + i * x * w
        return s

    xs, ws = [1.0, 2.0, 3.0], (0.5, -1.0, 2.0)
    gx, gw = irgrad.gradient(f, xs, ws)
    assert gx == [0.0 * 0.5, 1 * -1.0, 2 * 2.0]
    assert gw == (0.0, 2.0, 6.0)


def test_comprehension():
    def f(xs):
        return sum([x * x for x in xs])

    assert irgrad.gradient(f, [1.0, 2.0, 3.0])[0] == [2.0, 4.0, 6.0]


# ---------------------------------------------------------------------------------------------------------------
# Closures, recursion, objects


def test_closure_cotangent_reaches_caller():
    data = rng.standard_normal(5)

    def loss(w, data):
        return np.sum((w * data - 1.0) ** 2)

    w = 0.3
    g = irgrad.gradient(lambda w: loss(w, data), w)[0]
    assert abs(g - numerical_vjp(lambda w: loss(w, data), (w,), 0, 1.0)) < 1e-6


def test_closure_over_argument():
    def outer(w):
        scale = lambda x: w * x  # noqa: E731
        return scale(2.0) + scale(w)

    check_grad(outer, 1.7)


def fact_pow(x, n):
    return 1.0 if n == 0 else x * fact_pow(x, n - 1)


def test_recursion():
    check_grad(fact_pow, 1.3, 5)


class Affine:
    def __init__(self, w, b):
        self.w = w
        self.b = b

    def __call__(self, x):
        return self.w * x + self.b

    def energy(self, x):
        return self(x) ** 2


def test_objects_get_tangents():
    m = Affine(2.0, 0.5)
    g = irgrad.gradient(lambda m: m.energy(3.0), m)[0]
    assert isinstance(g, irgrad.Tangent)
    r = 2.0 * 3.0 + 0.5
    assert abs(g.w - 2 * r * 3.0) < 1e-12 and abs(g.b - 2 * r) < 1e-12


def test_ints_and_strings_get_none():
    def f(x, n, s):
        return x * n if s == "a" else x

    assert irgrad.gradient(f, 2.0, 3, "a") == (3.0, None, None)


def test_keyword_named_f_reaches_user_function():
    def g(x, f=1.0):
        return x * f

    assert irgrad.gradient(g, 2.0, f=3.0) == (3.0,)


# ---------------------------------------------------------------------------------------------------------------
# The other entry points


def test_pullback_and_jacobian():
    A = rng.standard_normal((3, 4))

    def f(x):
        return np.sin(A @ x)

    x = rng.standard_normal(4)
    y, back = irgrad.pullback(f, x)
    dy = rng.standard_normal(3)
    (dx,) = back(dy)
    assert_close(dx, A.T @ (np.cos(A @ x) * dy), 1e-10, 1e-10)
    (J,) = irgrad.jacobian(f, x)
    assert J.shape == (3, 4)
    assert_close(J, np.cos(A @ x)[:, None] * A, 1e-10, 1e-10)


def test_withgradient():
    y, (g,) = irgrad.withgradient(poly, 2.0)
    assert y == poly(2.0) and abs(g - (9.0 * 4.0 - 2.0)) < 1e-12


# ---------------------------------------------------------------------------------------------------------------
# Errors, never a silent wrong gradient


def test_non_scalar_gradient_is_an_error():
    with pytest.raises(irgrad.IrgradError, match="pullback"):
        irgrad.gradient(lambda x: x * 2.0, np.ones(3))


def test_c_function_without_rule():
    import cmath

    with pytest.raises(irgrad.NoRuleError, match="rrule"):
        irgrad.gradient(lambda x: cmath.phase(complex(x, 1.0)) + x, 0.5)


def test_inplace_array_mutation_refused():
    def f(x):
        y = np.zeros(3)
        y[0] = x[0] * 2.0
        return np.sum(y)

    with pytest.raises(irgrad.UnsupportedError):
        irgrad.gradient(f, np.ones(3))


def test_user_exception_passes_through():
    def f(x):
        if x > 1.0:
            raise KeyError("mine")
        return x

    with pytest.raises(KeyError, match="mine"):
        irgrad.gradient(f, 2.0)


def test_new_rule_invalidates_cache():
    def my_op(x):
        return x * 2.0

    def f(x):
        return my_op(x) + 1.0

    assert irgrad.gradient(f, 1.0) == (2.0,)

    @irgrad.rrule(my_op)
    def my_op_rrule(x):
        return x * 2.0, lambda dy: (dy * 100.0,)  # deliberately different, to see that it is used

    try:
        assert irgrad.gradient(f, 1.0) == (100.0,)
    finally:
        from irgrad.rules import registry
        registry._rules.pop(my_op)
        registry._version[0] += 1


def test_differentiable_keyword_arguments_reach_rules():
    x = np.array([1.0, 2.0, 3.0])
    w = np.array([0.2, 0.3, 0.5])
    check_grad(lambda x, w: np.average(x, weights=w) ** 2, x, w)
    check_grad(lambda x, m: np.sum(x.clip(max=m)), x, 2.5)
