"""Numerical checks for rules and gradients, for users and for the suite (like ChainRulesTestUtils' `test_rrule`).

`check_rrule(fn, *args, **kwargs)` checks the registered rule of `fn`: its primal output against `fn` itself, and
its pullback against central finite differences in float64, with a random output cotangent so that every element
gets a different weight.  `check_grad(f, *args)` does the same for `irgrad.gradient` of a whole function.
"""
from __future__ import annotations

import numpy as np

from .rules.registry import NONDIFF, lookup
from .tangent import Tangent

__all__ = ["check_rrule", "check_grad", "numerical_vjp", "assert_close"]


def _is_diff(x) -> bool:
    if isinstance(x, (bool, np.bool_)):
        return False
    if isinstance(x, (float, complex, np.floating, np.complexfloating)):
        return True
    return isinstance(x, np.ndarray) and x.dtype.kind in "fc"


def _random_like(y, rng):
    """A random cotangent with the structure of `y` (None where y is not differentiable)."""
    if isinstance(y, tuple):
        return tuple(_random_like(v, rng) for v in y)
    if isinstance(y, list):
        return [_random_like(v, rng) for v in y]
    if isinstance(y, np.ndarray) and y.dtype.kind in "fc":
        return rng.standard_normal(y.shape)
    if _is_diff(y):
        return float(rng.standard_normal())
    return None


def _inner(a, b) -> float:
    """<a, b> over matching structures; None is zero."""
    if a is None or b is None:
        return 0.0
    if isinstance(a, (tuple, list)):
        return sum(_inner(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return sum(_inner(a[k], b.get(k)) for k in a)
    if isinstance(a, Tangent):
        return sum(_inner(v, getattr(b, k, None)) for k, v in a)
    return float(np.real(np.sum(np.asarray(a) * np.asarray(b))))


def numerical_vjp(f, args, i, dy, eps=1e-6):
    """Central-difference estimate of the cotangent of positional argument `i` of `f` for output cotangent `dy`."""
    x = args[i]
    scalar = not isinstance(x, np.ndarray)
    base = np.array(x, dtype=np.float64, copy=True, order="C")
    grad = np.zeros_like(base)
    flat = base.reshape(-1)
    for j in range(flat.size):
        orig = flat[j]
        vals = []
        for sgn in (1, -1):
            flat[j] = orig + sgn * eps
            xi = float(base) if scalar else base.copy()
            a = list(args)
            a[i] = xi
            vals.append(_inner(dy, f(*a)))
        flat[j] = orig
        grad.reshape(-1)[j] = (vals[0] - vals[1]) / (2 * eps)
    return float(grad) if scalar else grad


def assert_close(actual, expected, rtol=1e-6, atol=1e-6, what="value"):
    """Structural comparison; None stands for zero."""
    if isinstance(expected, (tuple, list)):
        assert isinstance(actual, (tuple, list)) and len(actual) == len(expected), \
            f"{what}: expected {len(expected)} items, got {actual!r}"
        for k, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, rtol, atol, f"{what}[{k}]")
        return
    if actual is None:
        actual = np.zeros_like(np.asarray(expected, dtype=float))
    if expected is None:
        expected = np.zeros_like(np.asarray(actual, dtype=float))
    a, e = np.asarray(actual), np.asarray(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != expected {e.shape}"
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=what)


def check_rrule(fn, *args, rtol=1e-6, atol=1e-6, eps=1e-6, seed=0, **kwargs):
    """Check the rule registered for `fn` at `args` (and keyword arguments `kwargs`, which take no cotangent)."""
    rule, self = lookup(fn)
    assert rule is not None, f"no rule registered for {fn!r}"
    if self is not None:
        args = (self,) + args
        call = (lambda *a: getattr(type(self), fn.__name__)(*a, **kwargs))
    else:
        call = (lambda *a: fn(*a, **kwargs))
    if rule is NONDIFF:
        call(*args)
        return
    y, pullback = rule(*args, **kwargs)
    assert_close(y, call(*args), rtol=1e-12, atol=1e-12, what=f"primal of {fn!r}")
    rng = np.random.default_rng(seed)
    dy = _random_like(y, rng)
    dxs = pullback(dy)
    assert isinstance(dxs, tuple) and len(dxs) == len(args), \
        f"pullback of {fn!r} must return a tuple of {len(args)} cotangents, got {dxs!r}"
    for i, (x, dx) in enumerate(zip(args, dxs)):
        if not _is_diff(x):
            continue
        if dx is not None:
            assert np.shape(dx) == np.shape(x), \
                f"cotangent {i} of {fn!r} has shape {np.shape(dx)}, argument has {np.shape(x)}"
        expected = numerical_vjp(call, args, i, dy, eps)
        assert_close(dx, expected, rtol, atol, what=f"cotangent {i} of {fn!r}")


def check_grad(f, *args, rtol=1e-6, atol=1e-6, eps=1e-6):
    """Check `irgrad.gradient(f, *args)` against central finite differences, argument by argument."""
    from .api import gradient  # late: the API sits at the end of the pipeline
    grads = gradient(f, *args)
    for i, x in enumerate(args):
        if not _is_diff(x):
            continue
        expected = numerical_vjp(f, args, i, 1.0, eps)
        assert_close(grads[i], expected, rtol, atol, what=f"gradient {i} of {getattr(f, '__name__', f)}")
    return grads
