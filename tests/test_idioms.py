"""The idiom rewrite (irgrad/idioms.py) and the fused operations it puts in place (irgrad/rules/fused.py).

For each idiom: the rewritten primal IR verifies and holds the fused operation with the type the unfused code
had; the value irgrad computes is bitwise the plain call's; the gradient agrees with central finite differences and
with the unfused derivation (the rewrite switched off).  Every fused operation's rule passes check_rrule, and its
inline rule is exercised.  Negative cases (an intermediate used elsewhere, an axis that is not a constant, ints,
other constants, a mutation in between) are left alone.  Hypothesis draws shapes and axes.
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import irgrad
from irgrad import derive, idioms, inline_rules
from irgrad.inliner import inline_calls
from irgrad.ir import Const
from irgrad.passes import simplify
from irgrad.pipeline import typed_ir
from irgrad.rewrites import rewrite
from irgrad.rules import fused
from irgrad.testing import assert_close, check_grad, check_rrule
from irgrad.types import typeof
from irgrad.verify import verify

rng = np.random.default_rng(11)
A = rng.standard_normal((3, 4))
B = rng.standard_normal((4, 5))
W = rng.standard_normal((5, 4))
FUSED = (fused.sigmoid, fused.sigmoid_math, fused.softmax, fused.logsoftmax, fused.log_softmax_pick,
         fused.cross_entropy, fused.logsoftmax_shifted)



# ---------------------------------------------------------------------------------------------------------------
# Helpers


def primal(f, *args):
    """The primal IR as `derive` makes it (typed, inlined, simplified, rewritten), verified."""
    entry = [f, *args] if f.__code__.co_freevars else list(args)
    ir = rewrite(simplify(inline_calls(typed_ir(f, list(derive.entry_types(f, entry))))))
    return verify(ir)


def make(src, **literals):
    """A function from source, with `literals` written into it as constants (an axis must be a constant in the
    code for the idiom to apply: a captured variable is not one)."""
    ns = {"np": np, "math": math}
    exec(src.format(**{k: repr(v) for k, v in literals.items()}), ns)
    return ns["f"]


def fused_stmts(ir):
    return [s for _, s in ir.stmts() if isinstance(s.fn, Const) and any(s.fn.value is g for g in FUSED)]


def unfused_gradient(f, *args):
    irgrad.clear_cache()
    try:
        with idioms.disabled():
            return irgrad.withgradient(f, *args)
    finally:
        irgrad.clear_cache()


def fused_gradient(f, *args):
    irgrad.clear_cache()
    return irgrad.withgradient(f, *args)


def bitwise_equal(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def check_idiom(f, *args, expect, count=1, rtol=1e-6):
    """f is rewritten into `count` statements of the fused `expect`; values bitwise, gradients right."""
    ir = primal(f, *args)
    found = fused_stmts(ir)
    assert [s.fn.value for s in found] == [expect] * count, ir
    y, g = fused_gradient(f, *args)
    assert bitwise_equal(y, f(*args))
    y0, g0 = unfused_gradient(f, *args)
    assert bitwise_equal(y, y0)
    assert_close(g, g0, rtol=1e-10, atol=1e-12, what="fused vs unfused gradient")
    check_grad(f, *args, rtol=rtol)
    return ir


def not_rewritten(f, *args):
    ir = primal(f, *args)
    assert fused_stmts(ir) == [], ir
    check_grad(f, *args)


# ---------------------------------------------------------------------------------------------------------------
# The user's code, as in the benchmark workloads


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_int(z):
    return 1 / (1 + np.exp(-z))


def sigmoid_commuted(z):
    return 1.0 / (np.exp(-z) + 1)


def sigmoid_negative(z):
    return 1.0 / (1.0 + np.exp(np.negative(z)))


def sigmoid_math(x):
    return 1.0 / (1.0 + math.exp(-x))


def logsoftmax(x):
    return x - np.log(np.sum(np.exp(x), axis=0, keepdims=True))


def autoencoder_like(We, b, Wd, X):
    h = sigmoid(We @ X + b)
    r = sigmoid(Wd @ h)
    return np.sum((X - r) ** 2)


def moons_like(W, b, X, Y):
    out = np.maximum(W @ X + b, 0.0)
    return np.mean(-np.sum(Y * logsoftmax(out), axis=0))


def spiral_like(W1, W2, X, y):
    scores = np.maximum(0, X @ W1) @ W2
    exp_scores = np.exp(scores)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    n = X.shape[0]
    return np.sum(-np.log(probs[np.arange(n), y])) / n


# ---------------------------------------------------------------------------------------------------------------
# Sigmoid


@pytest.mark.parametrize("sig", [sigmoid, sigmoid_int, sigmoid_commuted, sigmoid_negative])
def test_sigmoid_variants(sig):
    ir = check_idiom(lambda z, c: np.sum(sig(z) * c), A, B.T[:3], expect=fused.sigmoid)
    (s,) = fused_stmts(ir)
    assert s.type == typeof(fused.sigmoid(A, *[a.value for a in s.args[1:]]))


def test_sigmoid_float32_keeps_its_dtype():
    z = A.astype(np.float32)
    ir = primal(lambda z: sigmoid(z) * 2.0, z)
    (s,) = fused_stmts(ir)
    assert s.type == typeof(sigmoid(z))
    y, back = irgrad.pullback(lambda z: sigmoid(z) * 2.0, z)
    assert bitwise_equal(y, sigmoid(z) * 2.0)
    (dz,) = back(np.ones_like(y))
    assert dz.dtype == np.float32
    assert_close(dz, 2.0 * sigmoid(z) * (1 - sigmoid(z)), rtol=1e-5, atol=1e-6)


def test_sigmoid_math():
    ir = check_idiom(lambda x: sigmoid_math(x) * x, 0.3, expect=fused.sigmoid_math)
    (s,) = fused_stmts(ir)
    assert s.type == typeof(0.5)


def test_sigmoid_math_overflows_as_the_users_code_does():
    with pytest.raises(OverflowError):
        irgrad.gradient(lambda x: sigmoid_math(x) * x, -1000.0)


def test_autoencoder_like():
    args = (0.3 * rng.standard_normal((6, 8)), rng.standard_normal((6, 1)), 0.3 * rng.standard_normal((8, 6)),
            rng.random((8, 5)))
    check_idiom(autoencoder_like, *args, expect=fused.sigmoid, count=2)


def test_sigmoid_saturated_values_bitwise():
    z = np.array([[-800.0, -40.0, 0.0, 40.0, 800.0]])
    f = lambda z: np.sum(sigmoid(z) * z)  # noqa: E731
    with np.errstate(over="ignore"):
        y, (g,) = fused_gradient(f, z)
        assert bitwise_equal(y, f(z))
    assert np.all(np.isfinite(g))


# ---------------------------------------------------------------------------------------------------------------
# Softmax, log-softmax (logsumexp is left alone)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax(axis):
    f = make("def f(s, c):\n    e = np.exp(s)\n    return np.sum(e / np.sum(e, axis={axis}, keepdims=True) * c)",
             axis=axis)
    check_idiom(f, A, B.T[:3], expect=fused.softmax)


def test_softmax_method_sum():
    def f(s, c):
        e = np.exp(s)
        return np.sum(e / e.sum(axis=1, keepdims=True) * c)
    check_idiom(f, A, B.T[:3], expect=fused.softmax)


def test_softmax_axis_none_uses_the_rule():
    def f(s, c):
        e = np.exp(s)
        return np.sum(e / np.sum(e, axis=None, keepdims=True) * c)
    check_idiom(f, A, B.T[:3], expect=fused.softmax)


def test_spiral_like():
    X = rng.standard_normal((7, 2))
    y = np.array([0, 2, 1, 1, 0, 2, 2])
    check_idiom(spiral_like, rng.standard_normal((2, 5)), rng.standard_normal((5, 3)), X, y,
                expect=fused.log_softmax_pick)


# ---------------------------------------------------------------------------------------------------------------
# log(softmax(s)[idx]): the picked log-probabilities


def pick_loss(axis, index):
    """-sum(c * log(softmax(s, axis)[index(i, y)])) with the softmax written out."""
    src = ("def f(s, i, y, c):\n    e = np.exp(s)\n    p = e / np.sum(e, axis={axis}, keepdims=True)\n"
           "    return -np.sum(c * np.log(p[" + index + "]))")
    return make(src, axis=axis)


S = rng.standard_normal((6, 3))


@pytest.mark.parametrize("axis, index, i, y", [
    (1, "i, y", np.arange(6), np.array([0, 2, 1, 1, 0, 2])),                       # one pick per row: fast path
    (-1, "i, y", np.arange(6), np.array([0, -1, 1, 1, 0, 2])),                    # negative column indices
    (0, "y, i", np.arange(3), np.array([5, 0, 3])),                               # other axis, one per column
    (1, "i, y", np.array([0, 0, 3, 3, 3]), np.array([1, 1, 0, 2, 1])),            # repeated picks, rows twice
    (1, "i, y", np.array([2, 4]), np.array([0, 2])),                              # some rows only
    (1, "i, y", np.array([0, 1, 2, 3, 4, 5])[::-1].copy(), np.array([0, 1, 2, 0, 1, 2])),  # not arange
    (1, "i", np.array([1, 1, 5]), None),                                          # whole rows
    (0, "i, y", np.array([[0, 1], [1, 1]]), np.array([[2, 2], [0, 2]])),          # 2-d index arrays
    (1, "y", None, np.array([3, 3])),                                             # one int array, repeated
])
def test_log_softmax_pick(axis, index, i, y):
    f = pick_loss(axis, index)
    c = 1.0 + np.abs(rng.standard_normal(np.shape(f(S, i, y, 1.0))))
    check_idiom(lambda s: f(s, i, y, c), S, expect=fused.log_softmax_pick, rtol=1e-5)


def test_log_softmax_pick_spiral_shape_float32():
    s = rng.standard_normal((50, 3)).astype(np.float32)
    y = rng.integers(0, 3, 50)
    f = pick_loss(1, "i, y")
    yv, (ds,) = fused_gradient(lambda s: f(s, np.arange(50), y, 1.0), s)
    assert bitwise_equal(yv, f(s, np.arange(50), y, 1.0)) and ds.dtype == np.float32
    p = fused.softmax(s.astype(np.float64), 1)
    expect = p.copy()
    expect[np.arange(50), y] -= 1.0
    assert_close(ds, expect, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("axis, idx, rows", [
    (1, (np.arange(6), np.array([0, 2, 1, 1, 0, 2])), True),
    (-1, (np.arange(6), np.array([0, -1, 1, 1, 0, -3])), True),       # negative columns: fine
    (1, (np.array([5, 5, 0, 5]), np.array([0, 0, 2, 1])), True),       # a row picked thrice, an element twice
    (1, (np.array([-1, 0, -1]), np.array([0, 1, 0])), True),           # negative rows: bincount refuses, dense
    (0, (np.array([0, 5, 5]), np.arange(3)), True),
    (0, (np.array([0, 5, 5, 5]), np.array([2, 2, 1, 2])), True),
    (1, (np.arange(6)[:, None], np.array([[0, 1]])), False),           # 2-d index arrays
    (1, (np.array([0, 2]), np.array([True, False, True])), False),  # a boolean mask
    (None, (np.arange(6), np.arange(6) % 3), False),
    (1, (np.arange(6),), False),
    (1, (np.arange(3), 1), False),
])
def test_log_softmax_pick_adjoint_by_rows_equals_the_dense_scatter(axis, idx, rows):
    p = fused.softmax(S, axis)
    assert (fused._row_picks(p, axis, idx) is not None) == rows
    dy = rng.standard_normal(np.shape(p[idx]))
    g = np.zeros_like(p)
    np.add.at(g, idx, dy)
    for q in (p, np.asfortranarray(p)):  # a Fortran-ordered product: no flat indices
        assert_close(fused.log_softmax_pick_adjoint(dy, q, axis, idx),
                     g - p * np.sum(g, axis=axis, keepdims=True), rtol=1e-12, atol=1e-14)
    check_rrule(fused.log_softmax_pick, S, axis, idx)
    check_rrule(fused.log_softmax_pick, np.asfortranarray(S), axis, idx)


def test_pick_used_elsewhere_is_not_fused_into_a_pick():
    def f(s, y):
        e = np.exp(s)
        p = e / np.sum(e, axis=1, keepdims=True)
        q = p[np.arange(6), y]
        return np.sum(np.log(q)) + np.sum(q)
    y = np.array([0, 2, 1, 1, 0, 2])
    check_idiom(lambda s: f(s, y), S, expect=fused.softmax)


def test_probs_used_elsewhere_is_not_fused_into_a_pick():
    def f(s, y):
        e = np.exp(s)
        p = e / np.sum(e, axis=1, keepdims=True)
        return np.sum(np.log(p[np.arange(6), y])) + np.sum(p * p)
    y = np.array([0, 2, 1, 1, 0, 2])
    check_idiom(lambda s: f(s, y), S, expect=fused.softmax)


def test_log_of_a_float_index_or_a_slice_of_probs():
    def f(s):
        e = np.exp(s)
        p = e / np.sum(e, axis=1, keepdims=True)
        return np.sum(np.log(p[1:, ::2]))  # a slice picks too: the general adjoint
    check_idiom(f, S, expect=fused.log_softmax_pick)

    def g(s, k):
        e = np.exp(s)
        p = e / np.sum(e, axis=1, keepdims=True)
        return np.sum(np.log(p[k]))  # an index that is a float array: not an index with no derivative
    ir = primal(g, S, np.array([0.0, 1.0]))
    assert fused.log_softmax_pick not in [s.fn.value for s in fused_stmts(ir)]


def test_mutation_of_probs_in_between_is_not_fused_into_a_pick():
    def f(s, y):
        e = np.exp(s)
        p = e / np.sum(e, axis=1, keepdims=True)
        p[0] += 1.0
        return np.sum(np.log(p[np.arange(6), y]))
    ir = primal(f, S, np.array([0, 2, 1, 1, 0, 2]))
    assert fused.log_softmax_pick not in [s.fn.value for s in fused_stmts(ir)]


@pytest.mark.parametrize("axis", [0, 1, (0, 1)])
def test_logsoftmax(axis):
    f = make("def f(x, c):\n    return np.sum(c * (x - np.log(np.sum(np.exp(x), axis={axis}, keepdims=True))))",
             axis=axis)
    check_idiom(f, A, B.T[:3], expect=fused.logsoftmax)


def _moons_args(n=9):
    X = rng.standard_normal((2, n))
    Y = np.zeros((3, n))
    Y[rng.integers(0, 3, n), np.arange(n)] = 1.0
    return rng.standard_normal((3, 2)), rng.standard_normal((3, 1)), X, Y


def test_moons_like():
    args = _moons_args()
    ir = primal(moons_like, *args)
    assert [s.fn.value for s in fused_stmts(ir)] == [fused.logsoftmax, fused.cross_entropy], ir
    y, g = fused_gradient(moons_like, *args)
    assert bitwise_equal(y, moons_like(*args))
    y0, g0 = unfused_gradient(moons_like, *args)
    assert bitwise_equal(y, y0)
    assert_close(g, g0, rtol=1e-10, atol=1e-12, what="fused vs unfused gradient")
    check_grad(moons_like, *args)  # Y is an argument too: the cross-entropy's cotangent of the labels


def test_logsumexp_is_left_to_the_inline_rules():
    # Fused, its derivative recomputes exp(x - y) where the unfused one reuses the saved exp(x): measured slower.
    not_rewritten(lambda x: np.sum(np.log(np.sum(np.exp(x), axis=0)) * np.arange(4.0)), A)


# ---------------------------------------------------------------------------------------------------------------
# Left alone


def test_exp_also_returned_is_not_fused():
    def f(s):
        e = np.exp(s)
        p = e / np.sum(e, axis=1, keepdims=True)
        return np.sum(p * p) + np.sum(e)
    not_rewritten(f, A)


def test_probs_used_twice_is_fused_once():
    def f(s):
        e = np.exp(s)
        p = e / np.sum(e, axis=1, keepdims=True)
        return np.sum(p * p) + np.sum(p)
    check_idiom(f, A, expect=fused.softmax)


def test_sum_reused_is_not_fused():
    def f(s):
        e = np.exp(s)
        t = np.sum(e, axis=1, keepdims=True)
        return np.sum(e / t) + np.sum(t)
    not_rewritten(f, A)


def test_sigmoid_intermediate_reused_is_not_fused():
    def f(z):
        e = np.exp(-z)
        return np.sum(1.0 / (1.0 + e) + e)
    not_rewritten(f, A)


def test_log_of_logsoftmax_reused_is_not_fused():
    def f(x):
        lse = np.log(np.sum(np.exp(x), axis=0, keepdims=True))
        return np.sum(x - lse) + np.sum(lse)
    not_rewritten(f, A)


def test_axis_not_constant_is_not_fused():
    def f(s, k):
        e = np.exp(s)
        return np.sum(e / np.sum(e, axis=k, keepdims=True) * s)
    ir = primal(f, A, 1)
    assert fused_stmts(ir) == []
    g = irgrad.gradient(f, A, 1)[0]
    assert_close(g, check_grad(lambda s: f(s, 1), A)[0])


def test_no_keepdims_is_not_softmax():
    def f(s):
        e = np.exp(s)
        return np.sum(e / np.sum(e, axis=0))  # broadcasts differently: not a softmax
    not_rewritten(f, np.abs(rng.standard_normal((4, 4))))


def test_int_arrays_are_not_fused():
    k = np.arange(12).reshape(3, 4)
    ir = primal(lambda z: sigmoid(z), k)
    assert fused_stmts(ir) == []
    ir = primal(lambda x: x - np.log(np.sum(np.exp(x), axis=0, keepdims=True)), k)
    assert fused_stmts(ir) == []


def test_other_constants_are_not_sigmoid():
    not_rewritten(lambda z: np.sum(2.0 / (1.0 + np.exp(-z))), A)
    not_rewritten(lambda z: np.sum(1.0 / (2.0 + np.exp(-z))), A)
    not_rewritten(lambda z: np.sum(1.0 / (1.0 + np.exp(z))), A)
    not_rewritten(lambda z: np.sum(True / (1.0 + np.exp(-z))), A)


def test_math_sigmoid_of_an_int_is_not_fused():
    ir = primal(lambda x: sigmoid_math(x), 3)
    assert fused_stmts(ir) == []


def test_mutation_in_between_is_not_fused():
    def f(x, c):
        e = np.exp(x)
        t = np.sum(e, axis=0, keepdims=True)
        x += c  # x changes before `x - log(t)` reads it
        return np.sum(x - np.log(t))
    x = A.copy()
    ir = primal(f, x, 1.0)
    assert fused.logsoftmax not in [s.fn.value for s in fused_stmts(ir)]


def test_the_switch_turns_the_rewrite_off():
    with idioms.disabled():
        assert fused_stmts(primal(sigmoid, A)) == []
    assert len(fused_stmts(primal(sigmoid, A))) == 1


# ---------------------------------------------------------------------------------------------------------------
# The cross-entropy, and the forward of a `gradient` that leaves it out (irgrad/value_free.py)


def ce_ls_first(x, Y):
    ls = x - np.log(np.sum(np.exp(x), axis=1, keepdims=True))
    return np.mean(-np.sum(ls * Y, axis=1))


def ce_twice(x, Y):  # ls read again after the cross-entropy: it stays
    ls = logsoftmax(x)
    return np.mean(-np.sum(Y * ls, axis=0)) + np.sum(ls)


@pytest.mark.parametrize("f, x, Y", [
    (ce_ls_first, A, np.abs(rng.standard_normal((3, 4)))),
    (ce_ls_first, A, np.abs(rng.standard_normal((1, 4)))),  # labels broadcast over the rows
    (ce_twice, A, np.abs(rng.standard_normal((3, 4)))),
])
def test_cross_entropy_variants(f, x, Y):
    ir = primal(f, x, Y)
    assert fused.cross_entropy in [s.fn.value for s in fused_stmts(ir)], ir
    y, g = fused_gradient(f, x, Y)
    assert bitwise_equal(y, f(x, Y))
    y0, g0 = unfused_gradient(f, x, Y)
    assert_close(g, g0, rtol=1e-10, atol=1e-12, what="fused vs unfused gradient")
    check_grad(f, x, Y)
    for _ in range(2):  # the second call takes the steady path, with the value-free derivation
        assert_close(irgrad.gradient(f, x, Y), g, rtol=1e-12, atol=1e-15, what="gradient vs withgradient")


@pytest.mark.parametrize("axis, ls_first", [(0, False), (1, True), (-1, False)])
def test_rrule_cross_entropy(axis, ls_first):
    ls = fused.logsoftmax(A, axis)
    check_rrule(fused.cross_entropy, ls, np.abs(rng.standard_normal(A.shape)), axis, ls_first)
    check_rrule(fused.cross_entropy, ls, np.abs(rng.standard_normal((1, 4))), axis, ls_first)


def test_cross_entropy_is_the_users_expression_bitwise():
    x = rng.standard_normal((5, 6)) * 10
    Y = np.abs(rng.standard_normal((5, 6)))
    for axis in (0, 1):
        ls = fused.logsoftmax(x, axis)
        assert bitwise_equal(fused.cross_entropy(ls, Y, axis, False), np.mean(-np.sum(Y * ls, axis=axis)))
        assert bitwise_equal(fused.cross_entropy(ls, Y, axis, True), np.mean(-np.sum(ls * Y, axis=axis)))


def test_gradient_leaves_the_value_out_and_matches_withgradient_bitwise():
    from irgrad import value_free
    args = _moons_args(40)
    irgrad.clear_cache()
    y, g = irgrad.withgradient(moons_like, *args)
    for _ in range(3):
        assert_close(irgrad.gradient(moons_like, *args), g, rtol=1e-12, atol=1e-15, what="value-free gradient")
    (d,) = [d for d in derive._cache.values()]
    forward, adjoint, _ = d.value_free
    # log-probabilities read by nothing but the cross-entropy: merged, neither computed in the forward
    assert "logsoftmax" not in forward.__irgrad_source__ and "cross_entropy" not in forward.__irgrad_source__
    assert "logit_cross_entropy_adjoint" in adjoint.__irgrad_source__
    We, b, Wd = rng.standard_normal((4, 6)), rng.standard_normal((4, 1)), rng.standard_normal((6, 4))
    X = rng.random((6, 5))
    g = irgrad.withgradient(autoencoder_like, We, b, Wd, X)[1]
    for _ in range(2):
        assert_close(irgrad.gradient(autoencoder_like, We, b, Wd, X), g, rtol=0, atol=0, what="sum dropped")


def ce_weighted(x, Y):  # the labels weighted by the probabilities: ls read twice
    ls = logsoftmax(x)
    w = Y * np.exp(ls)
    return np.mean(-np.sum(w * ls, axis=0))


def test_log_probabilities_read_elsewhere_are_not_merged():
    x, Y = A, np.abs(rng.standard_normal((3, 4)))
    irgrad.clear_cache()
    g = irgrad.withgradient(ce_weighted, x, Y)[1]
    check_grad(ce_weighted, x, Y)
    for _ in range(2):
        assert_close(irgrad.gradient(ce_weighted, x, Y), g, rtol=0, atol=0, what="d's own adjoint")
    (d,) = [d for d in derive._cache.values()]
    assert d.value_free[1] is d.adjoint


def nn_like(x, Y):  # irgrad.nn.logit_cross_entropy: the log-softmax of max-shifted logits
    shifted = x - np.max(x, axis=0, keepdims=True)
    ls = shifted - np.log(np.sum(np.exp(shifted), axis=0, keepdims=True))
    return np.mean(-np.sum(Y * ls, axis=0))


def method_max_like(x):
    shifted = x - x.max(axis=1, keepdims=True)
    return np.sum(np.cos(shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))))


@pytest.mark.parametrize("f, args", [
    (nn_like, (A * 40, np.abs(rng.standard_normal((3, 4))))),  # large logits: the shift keeps them finite
    (method_max_like, (A,)),
])
def test_logsoftmax_of_max_shifted_logits(f, args):
    ir = primal(f, *args)
    assert fused.logsoftmax_shifted in [s.fn.value for s in fused_stmts(ir)], ir
    y, g = fused_gradient(f, *args)
    assert bitwise_equal(y, f(*args))
    y0, g0 = unfused_gradient(f, *args)
    assert_close(g, g0, rtol=1e-10, atol=1e-12, what="fused vs unfused gradient")
    check_grad(f, *args)
    for _ in range(2):
        assert_close(irgrad.gradient(f, *args), g, rtol=1e-12, atol=1e-15, what="gradient vs withgradient")


def test_shift_read_elsewhere_is_a_plain_logsoftmax():
    def f(x):
        s = x - np.max(x, axis=0, keepdims=True)
        return np.sum(s * (s - np.log(np.sum(np.exp(s), axis=0, keepdims=True))))
    fns = [s.fn.value for s in fused_stmts(primal(f, A))]
    assert fused.logsoftmax in fns and fused.logsoftmax_shifted not in fns
    check_grad(f, A)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_rrule_logsoftmax_shifted(axis):
    check_rrule(fused.logsoftmax_shifted, A * 10, axis)
    x = A * 10
    assert bitwise_equal(fused.logsoftmax_shifted(x, axis),
                         fused.logsoftmax(x - np.max(x, axis=axis, keepdims=True), axis))
    big = A * 1000  # exp of the unshifted logits overflows; the shifted log-softmax and its softmax do not
    Y = np.abs(rng.standard_normal(A.shape))
    g = fused.logit_cross_entropy_adjoint(1.0, big, Y, axis, True)
    assert np.isfinite(g).all()
    assert np.isfinite(fused.logit_cross_entropy(big, Y, axis, False, True))


@pytest.mark.parametrize("axis, ls_first", [(0, False), (1, True)])
def test_rrule_logit_cross_entropy(axis, ls_first):
    check_rrule(fused.logit_cross_entropy, A, np.abs(rng.standard_normal(A.shape)), axis, ls_first, True)
    check_rrule(fused.logit_cross_entropy, A, np.abs(rng.standard_normal(A.shape)), axis, ls_first)
    check_rrule(fused.logit_cross_entropy, A, np.abs(rng.standard_normal((1, 4))), axis, ls_first)
    assert bitwise_equal(fused.logit_cross_entropy(A, A * 0.5, axis, ls_first),
                         fused.cross_entropy(fused.logsoftmax(A, axis), A * 0.5, axis, ls_first))
    ls, Y = fused.logsoftmax(A, axis), np.abs(rng.standard_normal(A.shape))
    merged = fused.logit_cross_entropy_adjoint(0.7, A, Y, axis)
    split = fused.logsoftmax_adjoint(fused.cross_entropy_adjoint(0.7, ls, Y, axis), ls, axis)
    assert_close(merged, split, rtol=1e-12, atol=1e-15)


def test_value_free_only_for_float64_scalar_results():
    from irgrad import value_free
    W1, W2 = rng.standard_normal((2, 5)), rng.standard_normal((5, 3))
    X, y = rng.standard_normal((7, 2)), rng.integers(0, 3, 7)
    irgrad.clear_cache()
    irgrad.gradient(spiral_like, W1, W2, X, y)  # a Python float divided by n: the value is kept
    (d,) = [d for d in derive._cache.values()]
    assert value_free.value_free_ir(d.transform.forward) is None
    g = irgrad.gradient(spiral_like, W1, W2, X, y)
    assert_close(g, irgrad.withgradient(spiral_like, W1, W2, X, y)[1], rtol=0, atol=0)


def test_labels_of_another_shape_raise_as_the_users_code_does():
    W, b, X, Y = _moons_args(9)
    irgrad.gradient(moons_like, W, b, X, Y)
    irgrad.gradient(moons_like, W, b, X, Y)  # the steady path, value-free
    bad = np.zeros((3, 8))
    with pytest.raises(ValueError):
        moons_like(W, b, X, bad)
    with pytest.raises(ValueError):
        irgrad.gradient(moons_like, W, b, X, bad)
    with pytest.raises(ValueError):
        irgrad.withgradient(moons_like, W, b, X, bad)


# ---------------------------------------------------------------------------------------------------------------
# The rules


@pytest.mark.parametrize("a, b", [(1.0, 1.0), (1, 1), (1, 1.0)])
def test_rrule_sigmoid(a, b):
    check_rrule(fused.sigmoid, A, a, b)
    check_rrule(fused.sigmoid_math, 0.4, a, b)


@pytest.mark.parametrize("axis", [0, 1, -1, None, (0, 1)])
def test_rrule_softmax_logsoftmax(axis):
    check_rrule(fused.softmax, A, axis)
    check_rrule(fused.logsoftmax, A, axis)


@pytest.mark.parametrize("axis, idx", [
    (1, (np.arange(3), np.array([0, 3, 1]))), (-1, (np.arange(3), np.array([0, -1, 3]))),
    (0, (np.array([2, 0, 1, 1]), np.arange(4))), (1, (np.array([0, 0, 2]), np.array([1, 1, 1]))),
    (1, np.array([2, 2])), (None, (np.arange(3), np.array([0, 1, 1]))), ((0, 1), (np.array([1, 1]), 2)),
    (1, (1, 2)),
])
def test_rrule_log_softmax_pick(axis, idx):
    check_rrule(fused.log_softmax_pick, A, axis, idx)


def test_fused_operations_compute_the_users_expression_bitwise():
    x = rng.standard_normal((5, 6)) * 10
    e = np.exp(x)
    assert bitwise_equal(fused.sigmoid(x, 1.0, 1.0), 1.0 / (1.0 + np.exp(-x)))
    assert bitwise_equal(fused.sigmoid(x, 1, 1), 1 / (np.exp(-x) + 1))
    for axis in (0, 1, None):
        assert bitwise_equal(fused.softmax(x, axis), e / np.sum(e, axis=axis, keepdims=True))
        assert bitwise_equal(fused.logsoftmax(x, axis), x - np.log(np.sum(np.exp(x), axis=axis, keepdims=True)))
    assert fused.sigmoid_math(0.3, 1.0, 1.0) == 1.0 / (1.0 + math.exp(-0.3))
    idx = (np.arange(5), np.array([0, 5, 5, 1, 2]))
    for axis in (1, None):
        assert bitwise_equal(fused.log_softmax_pick(x, axis, idx),
                             np.log((e / np.sum(e, axis=axis, keepdims=True))[idx]))


def test_every_fused_operation_has_an_inline_rule_used():
    # log_softmax_pick takes an index (a tuple, an int array), which the inline rules have no category for: its
    # rrule's pullback keeps the softmax it computed.
    assert all(g in inline_rules.RULES for g in FUSED if g is not fused.log_softmax_pick)
    t = irgrad.code_adjoint(lambda z: np.sum(sigmoid(z) * z), A)
    assert "sigmoid_adjoint" in repr(t.adjoint) and "rrule" not in repr(t.forward)
    t = irgrad.code_adjoint(lambda x: np.sum(logsoftmax(x) * x), A)
    assert "logsoftmax_adjoint" in repr(t.adjoint)


def test_adjoint_helpers_take_broadcast_cotangents():
    y = fused.softmax(A, 1)
    dy = np.broadcast_to(rng.standard_normal((1, 4)), A.shape)
    assert_close(fused.softmax_adjoint(dy, y, 1), y * (dy - np.sum(dy * y, axis=1, keepdims=True)))
    y = fused.logsoftmax(A, 0)
    assert_close(fused.logsoftmax_adjoint(dy, y, 0), dy - np.exp(y) * np.sum(dy, axis=0, keepdims=True))
    assert_close(fused.sigmoid_adjoint(2.0, y), 2.0 * y * (1 - y))


# ---------------------------------------------------------------------------------------------------------------
# Property-based: shapes and axes


@st.composite
def array_and_axis(draw):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    axis = draw(st.integers(-ndim, ndim - 1))
    seed = draw(st.integers(0, 2 ** 16))
    x = np.random.default_rng(seed).standard_normal(shape) * 3
    return x, axis


def _weights(y, seed=1):
    return np.random.default_rng(seed).standard_normal(np.shape(y))


@settings(max_examples=25, deadline=None)
@given(array_and_axis(), st.sampled_from(["softmax", "logsoftmax", "sigmoid"]))
def test_property_idioms_shapes_axes(xa, kind):
    x, axis = xa
    body = {
        "softmax": "e = np.exp(x)\n    return e / np.sum(e, axis={axis}, keepdims=True)",
        "logsoftmax": "return x - np.log(np.sum(np.exp(x), axis={axis}, keepdims=True))",
        "sigmoid": "return 1.0 / (1.0 + np.exp(-x))",
    }[kind]
    g = make("def f(x):\n    " + body, axis=axis)
    c = _weights(g(x))

    def f(x):
        return np.sum(g(x) * c)
    assert len(fused_stmts(primal(f, x))) == 1
    y, (dx,) = fused_gradient(f, x)
    assert bitwise_equal(y, f(x))
    _, (dx0,) = unfused_gradient(f, x)
    assert_close(dx, dx0, rtol=1e-9, atol=1e-12)
    check_grad(f, x, rtol=1e-5, atol=1e-6)
