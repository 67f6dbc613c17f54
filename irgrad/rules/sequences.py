"""The operations `loops` puts in place of a map-reduce loop over lists of floats, and their rules.

A loop `for x, y in zip(xs, ys): acc += expr(x, y)` becomes array code (see `loops.py`):

    cols = float_columns(xs, ys)          # the lists as float64 arrays, or empty arrays when they do not qualify
    terms = <expr on the columns>         # NumPy's +, -, *, / round exactly like Python's float operators
    s = seq_sum(acc0, terms)              # acc0 + t0 + t1 + ... added left to right, as the loop adds
    if seq_ok(cols[0], s, ...): <after the loop, with s>
    else: <the original loop>

Each operation is total: it never raises, it answers with an empty column or a NaN so that `seq_ok` sends the
run to the original loop, which then computes (or raises) exactly what the user's code does.  `seq_pow` calls
Python's own `pow` on each element: the C library's `pow(x, 2.0)` is not always `x * x` (it is off by one unit in
the last place for about one input in a thousand on glibc 2.36), and the value must be the user's to the bit.
"""
from __future__ import annotations

import math
from itertools import repeat

import numpy as np

from .registry import non_differentiable, rrule

_F64 = np.float64


def float_columns(*lists):
    """The lists as float64 arrays of one length when every element of every list is exactly a Python `float`
    and the lengths agree; otherwise (or for lists that are not lists) empty arrays, which `seq_ok` refuses."""
    if len(lists) == 2:  # zip(xs, ys), the common case, without the loops
        xs, ys = lists
        if type(xs) is not list or type(ys) is not list:
            return _empty(2)
        n = len(xs)
        if len(ys) != n or list(map(type, xs)).count(float) != n or list(map(type, ys)).count(float) != n:
            return _empty(2)
        return np.fromiter(xs, _F64, n), np.fromiter(ys, _F64, n)
    n = None
    for xs in lists:
        if type(xs) is not list or (n is not None and len(xs) != n):
            return _empty(len(lists))
        n = len(xs)
        # one pass in C: the count of exact floats (a bool, an int or a NumPy scalar does not count)
        if list(map(type, xs)).count(float) != n:
            return _empty(len(lists))
    return tuple(np.fromiter(xs, _F64, n) for xs in lists)


def _empty(k):
    return tuple(np.empty(0) for _ in range(k))


@rrule(float_columns)
def _float_columns_rule(*lists):
    cols = float_columns(*lists)

    def pullback(dcols):
        if dcols is None:
            return (None,) * len(lists)
        return tuple(None if d is None or c.size == 0 else np.broadcast_to(d, c.shape).tolist()
                     for d, c in zip(dcols, cols))
    return cols, pullback


def seq_sum(acc0, terms):
    """`acc = acc0; for t in terms: acc = acc + t` as the loop computes it (left to right, each addition rounded);
    NaN when there is nothing to add or `acc0` is not a Python float or int (the loop then runs itself)."""
    return _accumulate(acc0, terms, False)


def seq_diff(acc0, terms):
    """`acc = acc0; for t in terms: acc = acc - t` (x - t is x + (-t) in IEEE arithmetic, to the bit)."""
    return _accumulate(acc0, terms, True)


def _accumulate(acc0, terms, negate):
    n = terms.size
    if n == 0 or (type(acc0) is not float and type(acc0) is not int):
        return math.nan
    if acc0 == 0 and math.copysign(1.0, acc0) > 0 and not negate:
        # From +0.0 (or 0) the scan of the terms alone gives the loop's sums but for the sign of a zero: the loop's
        # sum is never -0.0 (x + y is -0.0 only when both are), the scan's is when every term so far is -0.0.
        total = float(np.add.accumulate(terms)[-1])
        return 0.0 if total == 0.0 else total
    buf = np.empty(n + 1)
    try:
        buf[0] = acc0  # an int is converted as Python converts it for int + float (OverflowError when huge)
    except OverflowError:
        return math.nan
    if negate:
        np.negative(terms, out=buf[1:])
    else:
        buf[1:] = terms
    np.add.accumulate(buf, out=buf)  # a scan: strictly sequential, unlike np.sum's pairwise summation
    return float(buf[n])


@rrule(seq_sum)
def _seq_sum_rule(acc0, terms):
    shape = terms.shape

    def pullback(dy):
        return dy, np.full(shape, dy)
    return seq_sum(acc0, terms), pullback


@rrule(seq_diff)
def _seq_diff_rule(acc0, terms):
    shape = terms.shape

    def pullback(dy):
        return dy, np.full(shape, -dy)
    return seq_diff(acc0, terms), pullback


def seq_sum_pow(acc0, base, n):
    """`acc = acc0; for b in base: acc = acc + b ** n`, the sum of squares of a least-squares loss: Python's own
    float `**` and `+` on each element, in the loop's order (exact by construction, and cheaper than an array of
    powers then a scan); NaN when there is nothing to add, `acc0` is not a float or int, or `**` raises."""
    return _accumulate_pow(acc0, base, n, False)


def seq_diff_pow(acc0, base, n):
    """`acc = acc0; for b in base: acc = acc - b ** n`."""
    return _accumulate_pow(acc0, base, n, True)


def _accumulate_pow(acc0, base, n, negate):
    if base.size == 0 or (type(acc0) is not float and type(acc0) is not int):
        return math.nan
    acc = acc0
    p = float(n)  # `b ** n` on a float converts the int n so
    try:
        if negate:
            for b in base.tolist():
                acc -= b ** p
        else:
            for b in base.tolist():
                acc += b ** p
    except (ArithmeticError, ValueError):
        return math.nan
    return acc


def _pow_pullback(base, n, dy):
    """d/db of b ** n times dy."""
    if n == 0:
        return np.zeros(base.shape)
    if n == 1:
        return np.full(base.shape, dy)
    if n == 2:
        return base * (2.0 * dy)
    return (n * base ** (n - 1)) * dy


@rrule(seq_sum_pow)
def _seq_sum_pow_rule(acc0, base, n):
    def pullback(dy):
        return dy, _pow_pullback(base, n, dy), None
    return seq_sum_pow(acc0, base, n), pullback


@rrule(seq_diff_pow)
def _seq_diff_pow_rule(acc0, base, n):
    def pullback(dy):
        return dy, _pow_pullback(base, n, -dy), None
    return seq_diff_pow(acc0, base, n), pullback


def seq_pow(a, n):
    """`x ** n` for each element, by Python's own float `pow` (so to the bit what the loop computes); NaNs where
    Python raises (0.0 ** -1, overflow), so that `seq_ok` sends the run to the loop, which raises there."""
    try:
        return np.fromiter(map(pow, a.tolist(), repeat(float(n))), _F64, a.size)
    except (ArithmeticError, ValueError):
        return np.full(a.shape, np.nan)


@rrule(seq_pow)
def _seq_pow_rule(a, n):
    y = seq_pow(a, n)

    def pullback(dy):
        if n == 0:
            return np.zeros(a.shape), None
        if n == 1:
            return dy, None
        if n == 2:
            return (2.0 * a) * dy, None
        return (n * a ** (n - 1)) * dy, None
    return y, pullback


# math functions with their derivative in terms of the argument a and the value y
MATH = {
    math.exp: lambda a, y: y,
    math.expm1: lambda a, y: y + 1.0,
    math.log: lambda a, y: 1.0 / a,
    math.log1p: lambda a, y: 1.0 / (1.0 + a),
    math.sqrt: lambda a, y: 0.5 / y,
    math.sin: lambda a, y: np.cos(a),
    math.cos: lambda a, y: -np.sin(a),
    math.tan: lambda a, y: 1.0 + y * y,
    math.tanh: lambda a, y: 1.0 - y * y,
    math.atan: lambda a, y: 1.0 / (1.0 + a * a),
}


def seq_map(fn, a):
    """`fn(x)` for each element, by the `math` function itself (NumPy's own exp, log, sin ... are not the C
    library's to the bit); NaNs where it raises (math.log(0.0), math.exp(1000.0)), so that the loop runs."""
    try:
        return np.fromiter(map(fn, a.tolist()), _F64, a.size)
    except (ArithmeticError, ValueError):
        return np.full(a.shape, np.nan)


@rrule(seq_map)
def _seq_map_rule(fn, a):
    y = seq_map(fn, a)
    derivative = MATH[fn]

    def pullback(dy):
        return None, derivative(a, y) * dy
    return y, pullback


def seq_ok(col, *checks) -> bool:
    """Did the array code apply?  The columns are not empty, and every checked value (the sums, the results of
    operations that raise in Python where NumPy gives inf or NaN) is finite."""
    if col.size == 0:
        return False
    for c in checks:
        if type(c) is float:
            if not math.isfinite(c):
                return False
        elif not np.isfinite(c).all():
            return False
    return True


def _quiet_context():
    """NumPy keeps its error state in a context variable; setting it to the state `np.errstate(all="ignore")` sets
    costs a tenth of entering an `errstate`.  None when this NumPy keeps it elsewhere."""
    try:
        from numpy._core import _ufunc_config as config
        var = config._extobj_contextvar
        with np.errstate(all="ignore"):
            return var, var.get()
    except (ImportError, AttributeError):
        return None


_QUIET = _quiet_context()


def seq_quiet():
    """Silence NumPy's floating-point warnings for the array code (Python's float arithmetic gives inf and NaN
    without a word; where it raises, the loop runs again and raises).  Returns what `seq_loud` restores."""
    if _QUIET is not None:
        var, ignore = _QUIET
        return var.set(ignore)
    state = np.errstate(all="ignore")
    state.__enter__()
    return state


def seq_loud(token) -> None:
    if _QUIET is not None:
        _QUIET[0].reset(token)
    else:
        token.__exit__(None, None, None)


non_differentiable(seq_ok, seq_quiet, seq_loud)

PRIMITIVES = (float_columns, seq_sum, seq_diff, seq_sum_pow, seq_diff_pow, seq_pow, seq_map, seq_ok, seq_quiet, seq_loud)


def _register_types():
    """Type rules of the primitives, for inference run again over a rewritten IR (`irdump`, the tests)."""
    from ..infer_rules import RULES
    from ..types import ANY, Array, Scalar, Tuple

    vec = Array("float64", 1)
    RULES[float_columns] = lambda inf, args, kwargs: Tuple((vec,) * len(args))
    RULES[seq_sum] = RULES[seq_diff] = RULES[seq_sum_pow] = RULES[seq_diff_pow] = lambda inf, args, kwargs: Scalar(float)
    RULES[seq_pow] = RULES[seq_map] = lambda inf, args, kwargs: vec
    RULES[seq_ok] = lambda inf, args, kwargs: Scalar(bool)
    RULES[seq_quiet] = lambda inf, args, kwargs: ANY
    RULES[seq_loud] = lambda inf, args, kwargs: Scalar(type(None))


_register_types()
