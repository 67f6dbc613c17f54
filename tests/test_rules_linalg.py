"""Linear-algebra rules beyond the spec table: polyval with a list of coefficients, einsum on random two-operand
specs, symmetric inputs built from a factor (cholesky, eigh through a sign-invariant loss), and refusals."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import irgrad.rules  # noqa: F401  (registers every rule)
from irgrad import UnsupportedError
from irgrad.rules import linalg
from irgrad.rules.registry import lookup
from irgrad.testing import assert_close, check_rrule, numerical_vjp

RNG = np.random.default_rng(11)


def rand(*shape):
    return RNG.standard_normal(shape)


def grad_through(fn, x, outer):
    """d/dx of sum(outer(fn(x))) by the rule of fn (outer's derivative taken numerically on fn's output)."""
    y, back = lookup(fn)[0](x)
    dy = numerical_vjp(lambda v: np.sum(outer(v)), (y,), 0, 1.0)
    return back(dy)[0]


def test_polyval_with_a_list_of_coefficients_gives_a_list():
    p, x = [0.5, -1.0, 2.0, 3.0], rand(4)
    y, back = lookup(np.polyval)[0](p, x)
    dy = rand(4)
    dp, dx = back(dy)
    assert isinstance(dp, list) and len(dp) == 4
    for i in range(4):
        def with_coefficient(c, i=i):
            q = list(p)
            q[i] = c
            return np.polyval(q, x)
        assert_close(dp[i], numerical_vjp(with_coefficient, (p[i],), 0, dy))
    assert_close(dx, numerical_vjp(lambda v: np.polyval(p, v), (x,), 0, dy))


def test_polynomial_polyval_is_evalpoly():
    # the seeds' evalpoly(x, p) = p[0] + p[1] x + p[2] x^2 ...: d/dp[k] = x^k, d/dx = p[1] + 2 p[2] x ...
    y, back = lookup(np.polynomial.polynomial.polyval)[0](2.0, np.array([1.0, 3.0, 0.5]))
    dx, dp = back(1.0)
    assert y == 1 + 6 + 2 and np.isclose(dx, 3 + 2 * 0.5 * 2) and np.allclose(dp, [1.0, 2.0, 4.0])


def test_np_matmul_rule_is_exported_for_the_operator():
    assert lookup(np.matmul)[0] is linalg.matmul_rrule


def test_dot_method_on_a_bound_array():
    a = rand(2, 3)
    rule, self = lookup(a.dot)
    assert rule is linalg.dot_rrule and self is a
    check_rrule(a.dot, rand(3, 2))


def test_trace_of_einsum_matches_np_trace():
    x = rand(4, 4)
    _, back = lookup(np.einsum)[0]("ii", x)
    _, back_trace = lookup(np.trace)[0](x)
    assert np.array_equal(back(2.0)[1], back_trace(2.0)[0])


def test_cholesky_of_a_gram_matrix():
    # A = B B^T + 3 I: the gradient with respect to B through cholesky agrees with finite differences of the whole
    b = rand(3, 3)

    def loss_of_l(ll):
        return np.sin(ll)

    def loss_of_b(bb):
        return np.sum(loss_of_l(np.linalg.cholesky(bb @ bb.T + 3 * np.eye(3))))

    da = grad_through(np.linalg.cholesky, b @ b.T + 3 * np.eye(3), loss_of_l)
    db = (da + da.T) @ b
    assert_close(db, numerical_vjp(loss_of_b, (b,), 0, 1.0), rtol=1e-5, atol=1e-6)


def test_eigh_through_a_loss_that_ignores_eigenvector_signs():
    q, _ = np.linalg.qr(rand(4, 4))
    a = q @ np.diag([1.0, 2.5, 4.0, 6.0]) @ q.T
    w = np.array([0.3, -1.0, 2.0, 0.5])

    def loss(m):
        vals, vecs = np.linalg.eigh(m)
        return np.sum(vals ** 2) + np.sum(w * vecs[0] ** 2)

    (vals, vecs), back = lookup(np.linalg.eigh)[0](a)
    da = back((2 * vals, np.zeros_like(vecs) + np.eye(4)[0][:, None] * 2 * w * vecs[0]))[0]
    assert_close(da, numerical_vjp(loss, (a,), 0, 1.0), rtol=1e-5, atol=1e-6)


def test_slogdet_ignores_the_sign_cotangent():
    a = rand(3, 3) + 3 * np.eye(3)
    _, back = lookup(np.linalg.slogdet)[0](a)
    assert back((1.0, None)) == (None,)
    assert back(None) == (None,)
    assert_close(back((5.0, 1.0))[0], np.linalg.inv(a).T)


@pytest.mark.parametrize("call", [
    lambda: lookup(np.einsum)[0](rand(2, 3), [0, 1], rand(3), [1]),
    lambda: lookup(np.dot)[0](rand(2), rand(2), np.empty(())),
    lambda: lookup(np.cross)[0](rand(2), rand(2)),
    lambda: lookup(np.polyval)[0](rand(2, 2), 1.0),
    lambda: lookup(np.matmul)[0](rand(2, 2), rand(2, 2), out=np.empty((2, 2))),
    lambda: lookup(np.linalg.cholesky)[0](np.eye(2) * (2 + 1j)),
    lambda: lookup(np.linalg.eigh)[0](np.eye(2) * (2 + 1j)),
])
def test_unsupported_forms_are_refused(call):
    with pytest.raises(UnsupportedError):
        call()


def test_integer_operands_get_no_cotangent():
    _, back = lookup(np.dot)[0](np.arange(3), rand(3))
    da, db = back(1.0)
    assert da is None and np.array_equal(db, np.arange(3))
    _, back = lookup(np.einsum)[0]("i,i", np.arange(3), rand(3))
    assert back(1.0)[1] is None


_LETTERS = "ijkl"


@given(st.data())
def test_einsum_on_random_two_operand_specs(data):
    """Random labels for two operands (shared labels contracted or kept), checked against finite differences."""
    sizes = {c: data.draw(st.integers(1, 3)) for c in _LETTERS}
    a_labels = "".join(data.draw(st.permutations(_LETTERS))[:data.draw(st.integers(1, 3))])
    b_labels = "".join(data.draw(st.permutations(_LETTERS))[:data.draw(st.integers(1, 3))])
    everything = sorted(set(a_labels + b_labels))
    out = "".join(c for c in everything if data.draw(st.booleans()))
    spec = f"{a_labels},{b_labels}->{out}"
    a = rand(*(sizes[c] for c in a_labels))
    b = rand(*(sizes[c] for c in b_labels))
    check_rrule(np.einsum, spec, a, b)


@given(st.integers(0, 2), st.integers(1, 3), st.integers(1, 3))
def test_tensordot_with_integer_axes(n, m, k):
    a = rand(*([2] * (3 - n) + [m, k][:n] + [3] * max(0, n - 2)))
    b = rand(*([m, k][:n] + [3] * max(0, n - 2) + [2]))
    check_rrule(np.tensordot, a, b, axes=n)
