"""The operations `loops` puts in place of a map-reduce loop over lists of floats, and their rules.

A loop `for x, y in zip(xs, ys): acc += expr(x, y)` becomes array code (see `loops.py`):

    cols = float_columns(xs, ys)          # the lists as float64 arrays, or empty arrays when they do not qualify
    terms = <expr on the columns>         # NumPy's +, -, *, / round exactly like Python's float operators
    s = seq_sum(acc0, terms)              # acc0 + t0 + t1 + ... added left to right, as the loop adds
    if seq_ok(cols[0], s, ...): <after the loop, with s>
    else: <the original loop>

Each operation is total: it never raises, it answers with an empty column or a NaN so that `seq_ok` sends the
run to the original loop, which then computes (or raises) exactly what the user's code does.  Powers are the C
library's `pow`, as Python's float `**` computes them: `pow(x, 2.0)` is not always `x * x` (it is off by one unit in
the last place for about one input in a thousand on glibc 2.36), and the value must be the user's to the bit.
`np.float_power` with a scalar exponent calls `pow` on each element; it is used for the exponents for which a
self-check at import finds it Python's `**` to the bit (`_accumulate_pow`), Python's own `pow` otherwise.
"""
from __future__ import annotations

import math
from itertools import repeat

import numpy as np

from .registry import non_differentiable, rrule

_F64 = np.float64
_F64_DTYPE = np.dtype(_F64)
_add_accumulate = np.add.accumulate


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


def entry_float_columns(*lists):
    """`float_columns` of lists whose elements the derivation's entry check proved exact floats, unchanged since
    (`loops._verified_at_entry` decides): a guard (or the cache key) scanned them on this very call, so only what
    is not a type of element is checked again, that they are lists of one length."""
    n = None
    for xs in lists:
        if type(xs) is not list or (n is not None and len(xs) != n):
            return _empty(len(lists))
        n = len(xs)
    return tuple(np.fromiter(xs, _F64, n) for xs in lists)


def _empty(k):
    return tuple(np.empty(0) for _ in range(k))


@rrule(float_columns)
def _float_columns_rule(*lists):
    return _columns_rule(float_columns, lists)


@rrule(entry_float_columns)
def _entry_float_columns_rule(*lists):
    return _columns_rule(entry_float_columns, lists)


def _columns_rule(columns, lists):
    cols = columns(*lists)

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
        total = float(_add_accumulate(terms)[-1])
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
    _add_accumulate(buf, out=buf)  # a scan: strictly sequential, unlike np.sum's pairwise summation
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
    """`acc = acc0; for b in base: acc = acc + b ** n`, the sum of squares of a least-squares loss: the value of
    Python's own float `**` and `+` on each element, in the loop's order (see `_accumulate_pow`); NaN when there is
    nothing to add, `acc0` is not a float or int, or `**` raises (or, on the fast path, where it would raise)."""
    return _accumulate_pow(acc0, base, n, False)


def seq_diff_pow(acc0, base, n):
    """`acc = acc0; for b in base: acc = acc - b ** n`."""
    return _accumulate_pow(acc0, base, n, True)


def _accumulate_pow(acc0, base, n, negate):
    """The powers by `np.float_power`, then the sequential sum as `_accumulate` makes it, when the self-check at
    import (`_float_power_agrees`) proved that this NumPy's float_power with a scalar exponent is Python's float
    `**` to the bit for that exponent; otherwise a loop of Python's own `**` and `+`.

    Why float_power: with a scalar exponent it calls the C library's `pow` on each element, as Python's float
    `**` does, while `np.power(a, 2.0)` computes `a * a` (not `pow(a, 2.0)`: one in a thousand differ by an ulp on
    glibc 2.36) and `np.power` of two arrays may take a SIMD (SVML) path of its own.  Where Python raises (overflow,
    `0.0 ** -1`), float_power gives inf or NaN, and a non-finite term makes the sum non-finite (inf + -inf is NaN,
    and nothing brings a sum back from either), so `seq_ok` sends the run to the loop, which raises there."""
    p = float(n)  # `b ** n` on a float converts the int n so
    if p in _FLOAT_POWER_EXACT and base.dtype is _F64_DTYPE:
        return _accumulate(acc0, _float_power(base, p), negate)  # NaN for no terms or an acc0 of another type
    if base.size == 0 or (type(acc0) is not float and type(acc0) is not int):
        return math.nan
    acc = acc0
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


_float_power = np.float_power
_isfinite = np.isfinite


def _float_power_agrees(power, exponents) -> frozenset:
    """The exponents for which `power(values, p)` (np.float_power) is, on a few thousand values, what Python's float
    `**` gives to the bit (NaN for NaN), and non-finite wherever Python raises.  The values: random ones over many
    scales and both signs, values whose square by `pow` is not `x * x` (glibc 2.36), zeros, subnormals, infinities,
    NaN and values about where `x ** p` overflows or underflows."""
    rng = np.random.default_rng(20240611)
    m = rng.standard_normal(1024) * np.exp2(rng.integers(-60, 61, 1024))
    pow_is_not_square = [float.fromhex(h) for h in _POW_IS_NOT_SQUARE]
    special = [0.0, 5e-324, 2.2250738585072014e-308, 1e-320, 1e-160, 1.4916681462400413e-154, 1e-100, 0.5, 1.0,
               2.0, 3.0, 10.0, 1e100, 1.3407807929942596e154, 1.3407807929942597e154, 1e160, 1e300, 1.7e308,
               math.inf, math.nan]
    # about where x ** p overflows, becomes subnormal and underflows to zero, for |p| up to 8
    edges = [2.0 ** min(e / k, 1023.999) * f for k in range(1, 9) for e in (1024, -1022, -1074)
             for f in (0.9999999, 1.0, 1.0000001)]
    values = np.concatenate([m, pow_is_not_square, special, edges])
    values = np.concatenate([values, -values])
    xs = values.tolist()
    agree = set()
    for p in exponents:
        want, raised = [], []
        for k, x in enumerate(xs):
            try:
                want.append(x ** p)
            except (ArithmeticError, ValueError):
                want.append(math.nan)
                raised.append(k)
        want = np.array(want)
        with np.errstate(all="ignore"):
            got = power(values, p)
        if got.dtype != _F64 or np.isfinite(got[raised]).any():
            continue
        same = got.view(np.int64) == want.view(np.int64)
        same |= np.isnan(got) & np.isnan(want)
        same[raised] = True
        if same.all():
            agree.add(p)
    return frozenset(agree)


# |x| for which pow(x, 2.0) is not x * x on glibc 2.36: float_power must be pow, not a square
_POW_IS_NOT_SQUARE = (
    "0x1.49c82138fd5dcp+0", "0x1.df12d722948aep+3", "0x1.4f1d463abb0d7p-2", "0x1.402f177890658p-2",
    "0x1.5ff440e064f72p-7", "0x1.35d2159e6bc2bp+7", "0x1.a93df8abaa3fdp+6", "0x1.28a853fc88df5p-8",
    "0x1.b05d7d4861c63p-2", "0x1.f85031ce80d06p-4", "0x1.c10139dd758f7p-4", "0x1.726aeede10f67p-1",
    "0x1.a41989a0466cep+1", "0x1.a836c0e49728cp-7", "0x1.1307434a70675p-1", "0x1.4b70d48d242cbp-9",
    "0x1.40ce6cd54691ep-7", "0x1.2b1f4740fb48cp-2", "0x1.f2f64e0def525p-2", "0x1.34458e76b82cdp-3",
    "0x1.6ca27a5748b55p+2", "0x1.132c5aa3c71bfp-3", "0x1.0466866fce74cp-4", "0x1.382e956f58b88p-4",
)

# the exponents loops.py vectorises (integers up to its MAX_POW = 8 in absolute value), as the floats `**` uses
_FLOAT_POWER_EXACT = _float_power_agrees(np.float_power, [float(k) for k in range(-8, 9)])


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
    Python raises (0.0 ** -1, overflow), so that `seq_ok` sends the run to the loop, which raises there.
    `np.float_power` computes the same (see `_accumulate_pow`) when every power it gives is finite; where one is
    not, Python may raise or not (`inf ** 2` is inf), and Python's `pow` answers."""
    p = float(n)
    if p in _FLOAT_POWER_EXACT and a.dtype is _F64_DTYPE:
        y = _float_power(a, p)
        if _isfinite(y).all():
            return y
    try:
        return np.fromiter(map(pow, a.tolist(), repeat(p)), _F64, a.size)
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

PRIMITIVES = (float_columns, entry_float_columns, seq_sum, seq_diff, seq_sum_pow, seq_diff_pow, seq_pow, seq_map,
              seq_ok, seq_quiet, seq_loud)


def _register_types():
    """Type rules of the primitives, for inference run again over a rewritten IR (`irdump`, the tests)."""
    from ..infer_rules import RULES
    from ..types import ANY, Array, Scalar, Tuple

    vec = Array("float64", 1)
    RULES[float_columns] = RULES[entry_float_columns] = lambda inf, args, kwargs: Tuple((vec,) * len(args))
    RULES[seq_sum] = RULES[seq_diff] = RULES[seq_sum_pow] = RULES[seq_diff_pow] = lambda inf, args, kwargs: Scalar(float)
    RULES[seq_pow] = RULES[seq_map] = lambda inf, args, kwargs: vec
    RULES[seq_ok] = lambda inf, args, kwargs: Scalar(bool)
    RULES[seq_quiet] = lambda inf, args, kwargs: ANY
    RULES[seq_loud] = lambda inf, args, kwargs: Scalar(type(None))


_register_types()
