"""Rules for the `math` module: scalar functions of Python floats.  An int argument gets no cotangent; a float
argument gets a Python float.  (`math` refuses complex numbers itself; see `cmath` for those.)"""
from __future__ import annotations

import math

import numpy as np

from .elementwise import ARCTAN2, COPYSIGN, FMOD, POW, binary_pullback, differentiable, fit_cotangent, named
from .operators import items_of
from .registry import non_differentiable, rrule

# ---------------------------------------------------------------------------------------------------------------
# Non-differentiable: integer-valued and boolean functions

non_differentiable(
    math.floor, math.ceil, math.trunc, math.isfinite, math.isnan, math.isinf, math.isclose, math.factorial,
    math.gcd, math.lcm, math.comb, math.perm, math.isqrt,
)

# ---------------------------------------------------------------------------------------------------------------
# One argument: dx = dy * f'(x), with f'(x) from the input or the output


def _unary(fn, deriv):
    def math_rrule(x):
        y = fn(x)

        def pullback(dy):
            if dy is None or not differentiable(x):
                return (None,)
            return (fit_cotangent(x, dy * deriv(x, y)),)
        return y, named(pullback, fn.__name__)
    math_rrule.__name__ = math_rrule.__qualname__ = f"{fn.__name__}_rrule"
    rrule(fn)(math_rrule)


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

_unary(math.sin, lambda x, y: math.cos(x))
_unary(math.cos, lambda x, y: -math.sin(x))
_unary(math.tan, lambda x, y: 1.0 + y * y)
_unary(math.asin, lambda x, y: 1.0 / math.sqrt(1.0 - x * x))
_unary(math.acos, lambda x, y: -1.0 / math.sqrt(1.0 - x * x))
_unary(math.atan, lambda x, y: 1.0 / (1.0 + x * x))
_unary(math.sinh, lambda x, y: math.cosh(x))
_unary(math.cosh, lambda x, y: math.sinh(x))
_unary(math.tanh, lambda x, y: 1.0 - y * y)
_unary(math.asinh, lambda x, y: 1.0 / math.sqrt(x * x + 1.0))
_unary(math.acosh, lambda x, y: 1.0 / math.sqrt(x * x - 1.0))
_unary(math.atanh, lambda x, y: 1.0 / (1.0 - x * x))
_unary(math.exp, lambda x, y: y)
_unary(math.exp2, lambda x, y: y * math.log(2.0))
_unary(math.expm1, lambda x, y: y + 1.0)
_unary(math.log1p, lambda x, y: 1.0 / (1.0 + x))
_unary(math.log2, lambda x, y: 1.0 / (x * math.log(2.0)))
_unary(math.log10, lambda x, y: 1.0 / (x * math.log(10.0)))
_unary(math.sqrt, lambda x, y: 0.5 / y)
_unary(math.cbrt, lambda x, y: 1.0 / (3.0 * y * y))                     # y = x^(1/3)
_unary(math.erf, lambda x, y: _TWO_OVER_SQRT_PI * math.exp(-x * x))     # erf'(x) = 2/sqrt(pi) e^(-x^2)
_unary(math.erfc, lambda x, y: -_TWO_OVER_SQRT_PI * math.exp(-x * x))
_unary(math.fabs, lambda x, y: float(np.sign(x)))                       # 0 at the kink
_unary(math.degrees, lambda x, y: 180.0 / math.pi)
_unary(math.radians, lambda x, y: math.pi / 180.0)

# ---------------------------------------------------------------------------------------------------------------
# Several arguments


def _binary(fn, partials):
    def math_binary_rrule(a, b):
        y = fn(a, b)
        return y, binary_pullback(fn.__name__, a, b, y, *partials)
    math_binary_rrule.__name__ = math_binary_rrule.__qualname__ = f"{fn.__name__}_rrule"
    rrule(fn)(math_binary_rrule)


_binary(math.pow, POW)
_binary(math.atan2, ARCTAN2)      # atan2(y, x): the partials of arctan2(a, b) with a = y, b = x
_binary(math.copysign, COPYSIGN)
_binary(math.fmod, FMOD)


@rrule(math.log)
def log_rrule(x, *base):
    """log(x) and log(x, b) = ln x / ln b:  d/dx = 1 / (x ln b),  d/db = -ln x / (b ln^2 b)."""
    y = math.log(x, *base)

    def log_pullback(dy):
        if dy is None:
            return (None,) * (1 + len(base))
        lb = math.log(base[0]) if base else 1.0
        dx = fit_cotangent(x, dy / (x * lb)) if differentiable(x) else None
        if not base:
            return (dx,)
        b = base[0]
        db = fit_cotangent(b, -dy * math.log(x) / (b * lb * lb)) if differentiable(b) else None
        return dx, db
    return y, log_pullback


@rrule(math.hypot)
def hypot_rrule(*coords):
    """hypot(x1, x2, ...) = sqrt(sum xi^2):  d/dxi = xi / y  (0 at the origin, a subgradient)."""
    y = math.hypot(*coords)

    def hypot_pullback(dy):
        if dy is None:
            return (None,) * len(coords)
        return tuple(fit_cotangent(x, dy * x / y if y else 0.0) for x in coords)
    return y, hypot_pullback


@rrule(math.fsum)
def fsum_rrule(iterable):
    """fsum(xs) is an accurately rounded sum: every element gets dy."""
    items, routable = items_of("math.fsum", iterable)
    y = math.fsum(items)

    def fsum_pullback(dy):
        if dy is None or not routable:
            return (None,)
        if isinstance(iterable, np.ndarray):
            return (fit_cotangent(iterable, np.full(iterable.shape, dy)),)
        parts = [fit_cotangent(v, dy) for v in items]
        return (type(iterable)(parts) if any(p is not None for p in parts) else None,)
    return y, fsum_pullback
