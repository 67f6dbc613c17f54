"""Rules for Python's operators (what the IR calls for `a + b`, `-x`, `a @ b` ...) and builtins.

The operators see every type the user's code combines: Python numbers, NumPy scalars and arrays (broadcasting
undone by `fit_cotangent`), lists and tuples (`a + b` concatenates, `a * 3` repeats: the cotangent is split back
to the parts) and strings (no cotangent).  A class with its own `__add__` is refused with `UnsupportedError`
rather than guessed at.  In-place operators equal the plain ones for immutable values; on a float or complex
ndarray they mutate it, which irgrad does not differentiate.
"""
from __future__ import annotations

import builtins
import numbers
import operator
import types

import numpy as np

from .. import ops
from ..errors import UnsupportedError
from ..tangent import accum, unbroadcast
from .elementwise import (ADD, DIV, FLOORDIV, MOD, MUL, POW, SUB, abs_pullback_of, binary_pullback, differentiable,
                          fit_cotangent, is_numeric, keyword_signature, named)
from .registry import non_differentiable, rrule

# ---------------------------------------------------------------------------------------------------------------
# Non-differentiable: comparisons, logic, bitwise operators, and builtins that return ints, bools, strings

non_differentiable(
    operator.lt, operator.le, operator.eq, operator.ne, operator.ge, operator.gt, operator.is_, operator.is_not,
    operator.not_, operator.truth, operator.contains, ops.contains, ops.not_contains,
    operator.invert, operator.and_, operator.or_, operator.xor, operator.lshift, operator.rshift,
    operator.iand, operator.ior, operator.ixor, operator.ilshift, operator.irshift, operator.index,
    len, range, isinstance, issubclass, int, round, bool, str, type, print, hasattr, id, hash, repr, format,
    callable, ord, chr, any, all,
)

# ---------------------------------------------------------------------------------------------------------------
# Sequences: `a + b` concatenates, `a * k` repeats


def _is_seq(x) -> bool:
    return isinstance(x, (list, tuple))


def _part(x, d):
    """The slice `d` of a sequence cotangent as the cotangent of operand `x` (None unless `x` is a list/tuple:
    `lst += range(3)` extends by an iterable with no cotangent)."""
    if not _is_seq(x) or d is None or all(v is None for v in d):
        return None
    return type(x)(d)


def _stack_rows(parts, shape):
    """Per-row cotangents of an array (None for zero) stacked into one array of `shape`."""
    if not parts:
        return np.zeros(shape)
    return np.stack([np.zeros(shape[1:]) if p is None else np.broadcast_to(p, shape[1:]) for p in parts])


def concat_pullback_of(name, a, b, n):
    """a + b for sequences, `n = len(a)` taken before any in-place extension."""
    def concat_pullback(dy):
        if dy is None:
            return (None, None)
        return (_part(a, dy[:n]), _part(b, dy[n:]))
    return named(concat_pullback, name)


def repeat_pullback_of(name, seq, m, k, seq_first):
    """seq * k: each element's cotangent is the sum over its k copies (`m = len(seq)` taken before an in-place
    `*=` repeats the list itself)."""
    reps = max(int(k), 0)

    def repeat_pullback(dy):
        total = None
        if dy is not None and m:
            for r in range(reps):
                total = accum(total, list(dy[r * m:(r + 1) * m]))
        d = _part(seq, total)
        return (d, None) if seq_first else (None, d)
    return named(repeat_pullback, name)


def _none_pullback(name, n):
    return named(lambda dy: (None,) * n, name)


def _refuse_python_methods(name, op, *xs):
    """Operands of a class that implements the operator in Python (`__add__`, `__radd__`, `__iadd__`) may hold
    floats the rule cannot see: refuse rather than return a zero cotangent.  Other values (None, sets, dates,
    Decimal ...) simply have no cotangent."""
    dunders = [f"__{op}__", f"__r{op}__", f"__i{op}__"]
    if not any(isinstance(getattr(type(x), d, None), types.FunctionType) for x in xs for d in dunders):
        return
    kinds = " and ".join(type(x).__name__ for x in xs)
    raise UnsupportedError(
        f"{name} of {kinds}: irgrad's rule covers numbers, NumPy arrays, lists, tuples and strings; "
        f"for a class with its own operator method, call the method directly (a.__{op}__(b)) so irgrad traces "
        "it, or register a rule with irgrad.rrule")


# ---------------------------------------------------------------------------------------------------------------
# Binary arithmetic operators and their in-place forms


def _numeric(a, b) -> bool:
    """Arithmetic in the numeric sense: numbers and arrays, or a list/tuple combined with an ndarray."""
    if is_numeric(a) and is_numeric(b):
        return True
    arrays = (np.ndarray, np.generic)     # NumPy turns a list or tuple met by an array or scalar into an array
    return (isinstance(a, arrays) and _is_seq(b)) or (isinstance(b, arrays) and _is_seq(a))


def _refuse_array_mutation(name, a):
    if isinstance(a, np.ndarray) and a.dtype.kind in "fc":
        plain = name.replace("operator.i", "")
        raise UnsupportedError(
            f"{name} on a float ndarray mutates it in place (`x {_SYMBOL[plain]}= y`); irgrad does not "
            f"differentiate mutation: write `x = x {_SYMBOL[plain]} y` instead")


_SYMBOL = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "floordiv": "//", "mod": "%", "pow": "**",
           "matmul": "@"}


def _arith(op, partials, inplace=False):
    name = f"operator.{op.__name__}"
    short = op.__name__

    def arith_rrule(a, b):
        if inplace:
            _refuse_array_mutation(name, a)
        n = len(a) if _is_seq(a) else 0     # before an in-place `+=` or `*=` changes a list
        y = op(a, b)
        # The result tells what the operator did: `[1.0] * np.int64(2)` repeats, `np.int64(2) * [1.0]` multiplies.
        if isinstance(y, (str, bytes)):
            return y, _none_pullback(short, 2)          # concatenation, repetition, `%` formatting
        if _is_seq(y) and partials is ADD and _is_seq(a):
            return y, concat_pullback_of(short, a, b, n)
        if _is_seq(y) and partials is MUL and _is_seq(a) and isinstance(b, numbers.Integral):
            return y, repeat_pullback_of(short, a, n, b, True)
        if _is_seq(y) and partials is MUL and _is_seq(b) and isinstance(a, numbers.Integral):
            return y, repeat_pullback_of(short, b, len(b), a, False)
        if _numeric(a, b):
            return y, binary_pullback(short, a, b, y, *partials)
        _refuse_python_methods(name, short[1:] if inplace else short, a, b)
        return y, _none_pullback(short, 2)              # set difference, dates ...
    arith_rrule.__name__ = arith_rrule.__qualname__ = f"{short}_rrule"
    rrule(op)(arith_rrule)
    return arith_rrule


for _op, _iop, _partials in [
        (operator.add, operator.iadd, ADD), (operator.sub, operator.isub, SUB), (operator.mul, operator.imul, MUL),
        (operator.truediv, operator.itruediv, DIV), (operator.floordiv, operator.ifloordiv, FLOORDIV),
        (operator.mod, operator.imod, MOD), (operator.pow, operator.ipow, POW)]:
    _arith(_op, _partials)
    _arith(_iop, _partials, inplace=True)


# ---------------------------------------------------------------------------------------------------------------
# Matrix product


def matmul_pullback_of(a, b):
    """y = a @ b with NumPy's rules: 1-D operands are promoted (a row on the left, a column on the right) and
    the promoted axis removed again; stacks broadcast.  dA = dY B^T, dB = A^T dY (no conjugate: the pairing is
    bilinear)."""
    def matmul_pullback(dy):
        if dy is None:
            return (None, None)
        A, B, G = np.asarray(a), np.asarray(b), np.asarray(dy)
        if A.ndim == 1 and B.ndim == 1:
            return fit_cotangent(a, G * B), fit_cotangent(b, G * A)
        if A.ndim == 1:
            A, G = A[None, :], G[..., None, :]
        if B.ndim == 1:
            B, G = B[:, None], G[..., None]
        dA = G @ np.swapaxes(B, -1, -2) if differentiable(a) else None
        dB = np.swapaxes(A, -1, -2) @ G if differentiable(b) else None
        if dA is not None and np.ndim(a) == 1:
            dA = dA[..., 0, :]
        if dB is not None and np.ndim(b) == 1:
            dB = dB[..., 0]
        return fit_cotangent(a, dA), fit_cotangent(b, dB)
    return matmul_pullback


@rrule(operator.matmul)
def matmul_rrule(a, b):
    y = a @ b
    if not _numeric(a, b):
        _refuse_python_methods("operator.matmul", "matmul", a, b)
        return y, _none_pullback("matmul", 2)
    return y, matmul_pullback_of(a, b)


@rrule(operator.imatmul)
def imatmul_rrule(a, b):
    _refuse_array_mutation("operator.imatmul", a)
    y = operator.imatmul(a, b)
    if not _numeric(a, b):
        _refuse_python_methods("operator.imatmul", "matmul", a, b)
        return y, _none_pullback("imatmul", 2)
    return y, matmul_pullback_of(a, b)


# ---------------------------------------------------------------------------------------------------------------
# Unary operators


@rrule(operator.neg)
def neg_rrule(x):
    if not is_numeric(x):
        _refuse_python_methods("operator.neg", "neg", x)
        return -x, _none_pullback("neg", 1)

    def neg_pullback(dy):
        return (None if dy is None else fit_cotangent(x, -dy),)
    return -x, neg_pullback


@rrule(operator.pos)
def pos_rrule(x):
    if not is_numeric(x):
        _refuse_python_methods("operator.pos", "pos", x)
        return +x, _none_pullback("pos", 1)

    def pos_pullback(dy):
        return (fit_cotangent(x, dy),)
    return +x, pos_pullback


@rrule(operator.abs)
def abs_rrule(x):
    y = abs(x)
    if not is_numeric(x):
        _refuse_python_methods("abs", "abs", x)
        return y, _none_pullback("abs", 1)
    return y, abs_pullback_of(x, y)


rrule(builtins.abs)(abs_rrule)

# ---------------------------------------------------------------------------------------------------------------
# Builtins


@rrule(builtins.pow)
def pow_rrule(base, exp, *mod):
    """pow(a, b) is a ** b; pow(a, b, m) is modular arithmetic on integers (no derivative)."""
    y = pow(base, exp, *mod)
    if mod:
        return y, _none_pullback("pow", 3)
    return y, binary_pullback("pow", base, exp, y, *POW)


@rrule(builtins.float)
def float_rrule(*args):
    """float(x) of a number, a NumPy scalar or a size-1 array: the cotangent passes through (cast back to the
    argument's kind, so a size-1 array gets an array); float(str) and float() have none."""
    y = float(*args)

    def float_pullback(dy):
        return tuple(fit_cotangent(x, dy) for x in args)
    return y, float_pullback


@rrule(builtins.complex)
def complex_rrule(*args, **kwargs):
    """complex(a, b) = a + i b: da = dy, db = i dy (then the real part for a real argument)."""
    y = complex(*args, **kwargs)

    def complex_pullback(dy):
        if dy is None:
            return (None,) * len(args)
        return tuple(fit_cotangent(x, dy * f) for x, f in zip(args, (1.0, 1j)))
    return y, complex_pullback


def items_of(name, iterable):
    """The elements of what sum/max/min iterate, and whether a cotangent can be routed back to the iterable."""
    if isinstance(iterable, (list, tuple, np.ndarray)):
        return list(iterable), True
    items = list(iterable)
    if any(differentiable(v) for v in items):
        raise UnsupportedError(
            f"{name} over a {type(iterable).__name__}: irgrad routes cotangents back through a list, tuple or "
            f"ndarray only; write {name}(list(...)) or {name}([...]) instead")
    return items, False


@rrule(builtins.sum)
@keyword_signature("iterable", start=0)
def sum_rrule(iterable, *start, **kwargs):
    """sum(xs, start) = start + xs[0] + xs[1] + ...: every element and the start get dy (unbroadcast).  Over an
    array, the elements are its rows."""
    items, routable = items_of("sum", iterable)
    y = sum(items, *start, **kwargs)

    def sum_pullback(dy):
        if dy is None or not routable:
            return (None,) * (1 + len(start))
        if isinstance(iterable, np.ndarray):
            # every row gets dy, summed over the axes the addition broadcast it along
            d_row = unbroadcast(iterable.shape[1:], dy)
            d_iter = fit_cotangent(iterable, np.broadcast_to(d_row, iterable.shape).copy())
        else:
            parts = [fit_cotangent(v, dy) for v in items]
            d_iter = type(iterable)(parts) if any(p is not None for p in parts) else None
        return (d_iter,) + tuple(fit_cotangent(s, dy) for s in start)
    return y, sum_pullback


def _extremum(pick):
    name = pick.__name__

    def extremum_rrule(*args, **kwargs):
        """max(a, b, ...) or max(iterable): the cotangent goes to the element Python returns (the first of
        equal ones).  `key=` only chooses; a `default=` keyword takes no cotangent."""
        single = len(args) == 1
        items, routable = items_of(name, args[0]) if single else (list(args), True)
        if not items:
            return pick(*args, **kwargs), _none_pullback(name, len(args))
        key = kwargs.get("key")
        # pick() over indices compares exactly as over the items, so ties resolve to the same element.
        winner = pick(range(len(items)), key=(lambda i: items[i]) if key is None else (lambda i: key(items[i])))
        y = items[winner]

        def extremum_pullback(dy):
            if dy is None or not routable:
                return (None,) * len(args)
            d = fit_cotangent(items[winner], dy)
            if not single:
                return tuple(d if i == winner else None for i in range(len(items)))
            it = args[0]
            if isinstance(it, np.ndarray):
                if d is None:
                    return (None,)
                dx = np.zeros(it.shape, dtype=it.dtype)
                dx[winner] = d
                return (dx,)
            parts = [d if i == winner else None for i in range(len(items))]
            return (type(it)(parts) if d is not None else None,)
        return y, named(extremum_pullback, name)
    extremum_rrule.__name__ = extremum_rrule.__qualname__ = f"{name}_rrule"
    rrule(pick)(extremum_rrule)


_extremum(builtins.max)
_extremum(builtins.min)


@rrule(builtins.divmod)
def divmod_rrule(a, b):
    """divmod(a, b) = (a // b, a % b): the quotient is piecewise constant; the remainder as `operator.mod`."""
    y = divmod(a, b)

    def divmod_pullback(dy):
        if dy is None or dy[1] is None:
            return (None, None)
        return binary_pullback("mod", a, b, y[1], *MOD)(dy[1])
    return y, divmod_pullback


@rrule(builtins.sorted)
def sorted_rrule(iterable, **kwargs):
    """sorted(xs, key=..., reverse=...) permutes its items: each cotangent goes back to the item's old place.
    Sorting the indices by the same keys gives the same (stable) permutation."""
    items, routable = items_of("sorted", iterable)
    key = kwargs.get("key")
    order = sorted(range(len(items)), key=(lambda i: items[i]) if key is None else (lambda i: key(items[i])),
                   reverse=kwargs.get("reverse", False))
    y = [items[i] for i in order]

    def sorted_pullback(dy):
        if dy is None or not routable:
            return (None,)
        parts = [None] * len(items)
        for pos, i in enumerate(order):
            parts[i] = dy[pos]
        if isinstance(iterable, np.ndarray):
            return (fit_cotangent(iterable, _stack_rows(parts, iterable.shape)),)
        return (type(iterable)(parts) if any(p is not None for p in parts) else None,)
    return y, sorted_pullback

