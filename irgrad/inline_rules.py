"""Derivatives written straight into the adjoint IR, for the common operations on operands whose types are known.

Where the rule library's pullback is a closure made in the forward pass and called in the adjoint, an inline rule
records only the values its derivative needs (`saves`: operand positions, or "y" for the output) and emits the
derivative's arithmetic into the adjoint block itself, so that the generated adjoint of `a * b` is two
multiplications, as hand-written code would be.  Broadcasting is undone only where the types say it may have
happened, and only the cotangents of active operands are computed.

An emitter is an object with `call(fn, *args)` that appends a statement to the adjoint block.  The table is
consulted with each statement's operand types; a statement no entry fits keeps its rule.
"""
from __future__ import annotations

import math
import operator
import weakref
from dataclasses import dataclass, field

import numpy as np

from .ir import Const, Var
from .rules import sequences as _seq
from .rules.indexing import _scatter
from .rules.sequences import _pow_pullback
from .same_shape import unbroadcast_free
from .tangent import _F64, _KEPT_AXES, _add_reduce, ones_vector, sum_kept, unbroadcast
from .types import Array, Constant, Scalar, Tuple

# ---------------------------------------------------------------------------------------------------------------
# Categories of operands: 'f' a float scalar, 'a' a float array of known ndim, 'n' a number that takes no cotangent
# (an int, a bool, a constant), None for anything else (no inline rule then).


def category(x, t):
    if isinstance(x, Const):
        v = x.value
        if isinstance(v, np.ndarray):
            return "a"  # a constant array (a global's data): no cotangent, but it broadcasts like any array
        return "n" if isinstance(v, (int, float, bool)) else None
    if isinstance(t, Scalar):
        if t.pytype is float or (isinstance(t.pytype, type) and issubclass(t.pytype, np.floating)):
            return "f"
        return "n" if t.pytype in (int, bool) else None
    if isinstance(t, Array) and t.dtype in ("float64", "float32") and t.ndim is not None:
        return "a"
    return None


# Runtime helpers the emitted adjoint calls.

def sum_like(d, x):
    """The cotangent `d` summed back to the shape of array `x` (a no-op when the shapes already match)."""
    xs, ds = x.shape, d.shape
    if ds == xs:
        return d
    axes = _KEPT_AXES.get((ds, xs))  # seen before: one reduction over these axes, dims kept
    return sum_kept(d, axes) if axes is not None else unbroadcast(xs, d)


def sum_to_scalar(d):
    """The cotangent of a float broadcast into array d: d summed, as a float.  A float64 vector's sum is its dot
    product with ones (0.4 against 0.8 µs for `float(np.add.reduce(d))` on 100 elements: this is the adjoint of
    every scalar coefficient in a vectorised loop); anything else np.add.reduce(d, None), what d.sum() calls."""
    if type(d) is np.ndarray:
        if d.ndim == 1 and d.dtype is _F64:
            return float(d.dot(ones_vector(d.shape[0])))
        return float(_add_reduce(d, None))
    return float(np.sum(d))


def reduce_adjoint(dy, x, axis=None, keepdims=False, scale=1.0):
    """Cotangent of x for y = sum(x, axis, keepdims) * scale: dy spread back over the reduced axes."""
    if axis is not None and not keepdims:
        dy = np.expand_dims(dy, axis)
    out = np.broadcast_to(dy, x.shape)
    return out * scale if scale != 1.0 else np.array(out)


def extremum_adjoint(dy, x, y, axis=None, keepdims=False):
    """Cotangent of x for y = max(x) or min(x) over `axis`: dy shared equally among the elements that tie for the
    extremum (as the rule library's max/min do)."""
    if axis is not None and not keepdims:
        dy = np.expand_dims(dy, axis)
        y = np.expand_dims(y, axis)
    hit = x == y
    return hit * (dy / np.sum(hit, axis=axis, keepdims=True))


def mean_adjoint(dy, x, axis=None, keepdims=False):
    axes = range(x.ndim) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    n = 1
    for a in axes:
        n *= x.shape[a]
    return reduce_adjoint(dy, x, axis, keepdims, 1.0 / n)


# Adjoint helpers whose result is always a new array (never an operand passed through): the adjoint owns it and
# may update it in place (`reverse_pass.in_place_masks`).  Modules that add inline rules register theirs here.
FRESH_RESULTS: set = set()


def fill_array(v, x):
    """A fill cotangent made a real array: `v` (a scalar, or an array of x's ndim with size-1 axes) spread over x's
    shape; writable and owned (never a broadcast view)."""
    return np.full(x.shape, v)


def fill_sum_like(d, x, y):
    """`d` (a fill's value times an operand shaped like y along every axis where x is not) as the cotangent of
    operand x of an elementwise op with output y: d itself when it already has x's shape, else spread over y and
    summed back to x."""
    if d.shape == x.shape:
        return d
    full = np.broadcast_to(d, y.shape)
    return np.array(full) if full.shape == x.shape else unbroadcast(x.shape, full)


def mean_scale(x, axis):
    """1 / (the number of elements `mean(x, axis)` averages)."""
    axes = range(x.ndim) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    n = 1
    for a in axes:
        n *= x.shape[a]
    return 1.0 / n


class Fill:
    """A symbolic cotangent (FillArrays' `Fill`, as Zygote uses for the adjoint of `sum`): `value` (an adjoint
    operand: a scalar when `scalar`, else an array of the same ndim as `like`) broadcast to the shape of `like`
    (an adjoint operand holding a float64 array of the primal's shape).  Kept symbolic through the inline rules
    that can use it as it is (`sum(x * x)` -> `(dy * 2.0) * x`), made a real array (`fill_array`) anywhere else."""

    __slots__ = ("value", "like", "scalar")

    def __init__(self, value, like, scalar: bool):
        self.value, self.like, self.scalar = value, like, scalar


# ---------------------------------------------------------------------------------------------------------------
# Rules


@dataclass
class InlineRule:
    saves: tuple  # operand positions (ints) and/or "y", in the order the forward records them
    emit: object  # emit(E, dy, saved) -> [cotangent or None per operand]; saved maps position/"y" -> value
    cats: list = field(default_factory=list)
    out_cat: str = ""
    need: list = field(default_factory=list)
    fn: object = None  # the statement's callable
    f64: bool = False  # every operand and the output float64 (or a Python number): fills may be used


def to_operand(E, rule, stmt, d, i, saved):
    """`d` (shaped like the output) summed back to operand i where broadcasting may have made them differ."""
    ci, co = rule.cats[i], rule.out_cat
    if ci == "f" and co == "a":
        return E.call(sum_to_scalar, d)
    if ci == "a" and co == "a":
        if stmt in _UNBROADCAST_FREE:
            return d  # every array operand has the output's shape (same_shape.py)
        others = [c for j, c in enumerate(rule.cats) if j != i]
        if all(c in ("f", "n") for c in others):
            return d  # every other operand is a scalar: this one was not broadcast
        if all(isinstance(o, Var) and o is stmt.args[i] for o in stmt.args):
            return d  # x op x
        return E.call(sum_like, d, saved[i])
    return d


# Statements whose array operands all have the output's shape (`same_shape.unbroadcast_free`), marked by `find`
# for the rule it makes: no operand is saved for its shape, no cotangent summed back to it.
_UNBROADCAST_FREE: weakref.WeakSet = weakref.WeakSet()


def _ub_saves(cats, need, s):
    """Needed array operands next to another array: saved, so their cotangent can be summed to their shape."""
    if s in _UNBROADCAST_FREE:
        return set()
    return {i for i, c in enumerate(cats) if need[i] and c == "a" and cats.count("a") > 1}


def _ok_arith(cats, s):
    return all(c in ("f", "a", "n") for c in cats) and any(c in ("f", "a") for c in cats)


def _add_make(sign):
    def make(cats, s, need):
        def emit(E, dy, saved):
            r = emit.rule
            da = to_operand(E, r, s, dy, 0, saved) if need[0] else None
            db = to_operand(E, r, s, dy if sign > 0 else E.call(operator.neg, dy), 1, saved) if need[1] else None
            return [da, db]
        return _rule(_ub_saves(cats, need, s), emit)
    return make


def _mul_make(cats, s, need):
    if isinstance(s.args[0], Var) and s.args[0] is s.args[1]:
        # x * x: one product, dy * (x * 2.0) (doubling is exact), rather than dy * x + dy * x
        return _rule({0}, lambda E, dy, saved: [E.call(operator.mul, dy, E.call(operator.mul, saved[0], 2.0)), None])

    def emit(E, dy, saved):
        r = emit.rule
        return [to_operand(E, r, s, E.call(operator.mul, dy, saved[1]), 0, saved) if need[0] else None,
                to_operand(E, r, s, E.call(operator.mul, dy, saved[0]), 1, saved) if need[1] else None]
    return _rule(_ub_saves(cats, need, s) | ({1} if need[0] else set()) | ({0} if need[1] else set()), emit)


def _div_make(cats, s, need):
    if not need[0] and isinstance(s.args[0], Const) and s.args[0].value == 1:
        # y = 1 / b (the sigmoid's last step): db = -dy * y * y, no division
        def emit_reciprocal(E, dy, saved):
            y = saved["y"]
            return [None, to_operand(E, emit_reciprocal.rule, s,
                                     E.call(operator.neg, E.call(operator.mul, E.call(operator.mul, dy, y), y)),
                                     1, saved)]
        return _rule({"y"} | _ub_saves(cats, need, s), emit_reciprocal)

    def emit(E, dy, saved):
        r = emit.rule
        da = E.call(operator.truediv, dy, saved[1])
        out = [to_operand(E, r, s, da, 0, saved) if need[0] else None, None]
        if need[1]:
            db = E.call(operator.neg, E.call(operator.truediv, E.call(operator.mul, da, saved[0]), saved[1]))
            out[1] = to_operand(E, r, s, db, 1, saved)
        return out
    return _rule(_ub_saves(cats, need, s) | {1} | ({0} if need[1] else set()), emit)


def _neg_make(cats, s, need):
    return _rule((), lambda E, dy, saved: [E.call(operator.neg, dy)])


def _pow_ok(cats, s):
    c = s.args[1]
    return cats[0] in ("f", "a") and isinstance(c, Const) and isinstance(c.value, (int, float)) \
        and not isinstance(c.value, bool)


def _pow_make(cats, s, need):
    c = s.args[1].value

    def emit(E, dy, saved):
        x = saved[0]
        if c == 2:
            return [E.call(operator.mul, dy, E.call(operator.mul, x, 2.0)), None]
        return [E.call(operator.mul, dy, E.call(operator.mul, E.call(operator.pow, x, c - 1), float(c))), None]
    return _rule({0}, emit)


def _matmul_ok(cats, s):
    return cats == ["a", "a"]


def _matmul_make(cats, s, need):
    # Only for 2-d @ 2-d (checked through the types in `find`).
    def emit(E, dy, saved):
        return [E.call(operator.matmul, dy, E.call(getattr, saved[1], "T")) if need[0] else None,
                E.call(operator.matmul, E.call(getattr, saved[0], "T"), dy) if need[1] else None]
    return _rule(({1} if need[0] else set()) | ({0} if need[1] else set()), emit)


def _of_y(deriv):
    """f(x) whose derivative is a function of the output y: deriv(E, dy, y)."""
    def make(cats, s, need):
        return _rule({"y"}, lambda E, dy, saved: [deriv(E, dy, saved["y"])])
    return make


def _of_x(deriv):
    def make(cats, s, need):
        return _rule({0}, lambda E, dy, saved: [deriv(E, dy, saved[0])])
    return make


def _one_float(cats, s):
    return len(cats) == 1 and cats[0] in ("f", "a") and not s.kwargs


def _relu_ok(cats, s):
    # np.maximum(x, c) or np.maximum(c, x) with a constant c: relu and friends.  The derivative at a tie is 0.
    return len(cats) == 2 and not s.kwargs and sorted(cats) == ["a", "n"] and \
        any(isinstance(a, Const) for a in s.args)


def _relu_make(cats, s, need):
    i = 0 if cats[0] == "a" else 1
    c = s.args[1 - i].value

    def emit(E, dy, saved, fill=False):
        # dy times a bool mask of its own shape: done in place when dy is a temporary of the adjoint's own
        # (reverse_pass.in_place_masks), as `g *= x > c`; the dtype cannot change.  Not for a fill's value,
        # which may be smaller than the mask.
        mul = masked if getattr(s.type, "ndim", 0) and not fill else operator.mul
        # the mask from the output: y = max(x, c) > c exactly where x > c (NaN included), and y is kept anyway
        d = E.call(mul, dy, E.call(operator.gt, saved["y"], c))
        return [d, None] if i == 0 else [None, d]
    return _rule({"y"}, emit)


def masked(d, mask):
    """`d * mask` for a cotangent d of an array and a bool mask of d's shape; the adjoint's last step makes it
    `d *= mask` (when d is its own temporary) or `d * mask`."""
    return d * mask


def _reduce_ok(cats, s):
    if cats != ["a"]:
        return False
    kw = dict(s.kwargs)
    return set(kw) <= {"axis", "keepdims"} and all(isinstance(v, Const) for v in kw.values())


def _reduce_make(adjoint_fn):
    def make(cats, s, need):
        kw = {k: v.value for k, v in s.kwargs}
        axis, keepdims = kw.get("axis"), bool(kw.get("keepdims", False))

        def emit(E, dy, saved):
            if emit.rule.f64:  # a symbolic fill: made an array only where something needs one
                return [_reduce_fill(E, adjoint_fn, dy, saved[0], axis, keepdims, axis is None)]
            return [E.call(adjoint_fn, dy, saved[0], axis, keepdims)]
        return _rule({0}, emit)
    return make


def _reduce_fill(E, adjoint_fn, v, x, axis, keepdims, scalar):
    """The cotangent of x for y = sum(x, axis) (or mean) with y's cotangent v (a plain value, or a fill's value)."""
    if adjoint_fn is mean_adjoint:
        scale = E.call(operator.truediv, 1.0, E.call(getattr, x, "size")) if axis is None else \
            E.call(mean_scale, x, axis)
        v = E.call(operator.mul, v, scale)
    if axis is None or scalar:
        return Fill(v, x, True)
    return Fill(v if keepdims else E.call(np.expand_dims, v, axis), x, False)


def _extremum_make(cats, s, need):
    kw = {k: v.value for k, v in s.kwargs}
    axis, keepdims = kw.get("axis"), bool(kw.get("keepdims", False))
    return _rule({0, "y"}, lambda E, dy, saved: [E.call(extremum_adjoint, dy, saved[0], saved["y"], axis, keepdims)])


def _rule(saves, emit):
    r = InlineRule(tuple(sorted(saves, key=str)), emit)
    emit.rule = r
    return r


def _mul(E, a, b):
    return E.call(operator.mul, a, b)


def _tanh_deriv(E, dy, y):
    return _mul(E, dy, E.call(operator.sub, 1.0, _mul(E, y, y)))


def _sqrt_deriv(E, dy, y):
    return E.call(operator.truediv, _mul(E, dy, 0.5), y)


def _exp_deriv(E, dy, y):
    return _mul(E, dy, y)


def _log_deriv(E, dy, x):
    return E.call(operator.truediv, dy, x)


def _sin_deriv(cos):
    return lambda E, dy, x: _mul(E, dy, E.call(cos, x))


def _cos_deriv(sin):
    return lambda E, dy, x: E.call(operator.neg, _mul(E, dy, E.call(sin, x)))


def _seq_pow_ok(cats, s):
    c = s.args[2]
    return cats[1] == "a" and cats[0] in ("f", "n") and isinstance(c, Const) and type(c.value) is int


def _seq_pow_make(sign):
    """acc = seq_sum_pow(acc0, base, n) (or seq_diff_pow): d acc0 = dy, d base = n base^(n-1) (sign dy), as the
    rule's `_pow_pullback` computes it, inline."""
    def make(cats, s, need):
        n = s.args[2].value

        def emit(E, dy, saved):
            d0 = dy if need[0] else None
            if not need[1]:
                return [d0, None, None]
            v = dy if sign > 0 else E.call(operator.neg, dy)
            if n == 2:
                return [d0, E.call(operator.mul, saved[1], E.call(operator.mul, 2.0, v)), None]
            return [d0, E.call(_pow_pullback, saved[1], n, v), None]
        return _rule({1} if need[1] else set(), emit)
    return make


RULES = {
    _seq.seq_sum_pow: (_seq_pow_ok, _seq_pow_make(+1)),
    _seq.seq_diff_pow: (_seq_pow_ok, _seq_pow_make(-1)),
    operator.add: (_ok_arith, _add_make(+1)),
    operator.sub: (_ok_arith, _add_make(-1)),
    operator.mul: (_ok_arith, _mul_make),
    operator.truediv: (_ok_arith, _div_make),
    operator.neg: (lambda cats, s: cats[0] in ("f", "a"), _neg_make),
    operator.pow: (_pow_ok, _pow_make),
    operator.matmul: (_matmul_ok, _matmul_make),
    np.matmul: (_matmul_ok, _matmul_make),
    np.exp: (_one_float, _of_y(_exp_deriv)),
    np.log: (_one_float, _of_x(_log_deriv)),
    np.tanh: (_one_float, _of_y(_tanh_deriv)),
    np.sqrt: (_one_float, _of_y(_sqrt_deriv)),
    np.sin: (_one_float, _of_x(_sin_deriv(np.cos))),
    np.cos: (_one_float, _of_x(_cos_deriv(np.sin))),
    math.exp: (_one_float, _of_y(_exp_deriv)),
    math.log: (_one_float, _of_x(_log_deriv)),
    math.tanh: (_one_float, _of_y(_tanh_deriv)),
    math.sqrt: (_one_float, _of_y(_sqrt_deriv)),
    math.sin: (_one_float, _of_x(_sin_deriv(math.cos))),
    math.cos: (_one_float, _of_x(_cos_deriv(math.sin))),
    np.maximum: (_relu_ok, _relu_make),
    np.sum: (_reduce_ok, _reduce_make(reduce_adjoint)),
    np.mean: (_reduce_ok, _reduce_make(mean_adjoint)),
    np.max: (_reduce_ok, _extremum_make),
    np.min: (_reduce_ok, _extremum_make),
    np.amax: (_reduce_ok, _extremum_make),
    np.amin: (_reduce_ok, _extremum_make),
}
# In-place operators equal the plain ones on floats (on arrays they mutate, and keep their refusing rule).
for _ip, _plain in ((operator.iadd, operator.add), (operator.isub, operator.sub), (operator.imul, operator.mul),
                    (operator.itruediv, operator.truediv)):
    RULES[_ip] = (lambda cats, s, _ok=RULES[_plain][0]: cats[0] != "a" and _ok(cats, s), RULES[_plain][1])


def _ndim(a, typemap):
    if isinstance(a, Const):
        return a.value.ndim if isinstance(a.value, np.ndarray) else None
    return getattr(typemap.get(a), "ndim", None)


_TAKES_AXIS = (np.sum, np.mean, np.max, np.min, np.amax, np.amin)


def scatter(x, idx, dy):
    """The cotangent of x for y = x[idx] (an index with no derivative): zeros of x's shape with dy added at idx
    (`np.add.at` where an integer array may pick an element twice), as the rule library's getitem does."""
    return _scatter(x.shape, x.dtype, idx, dy)


def _getitem_make(cats, s, need):
    return _rule({0, 1}, lambda E, dy, saved: [E.call(scatter, saved[0], saved[1], dy), None])


def _plain_index(t) -> bool:
    """An index with no derivative: ints, bools, slices, None, int or bool arrays, tuples of them."""
    if isinstance(t, Scalar):
        return t.pytype in (int, bool, slice, type(None), type(Ellipsis))
    if isinstance(t, Array):
        return t.dtype is not None and (t.dtype.startswith(("int", "uint")) or t.dtype == "bool")
    if isinstance(t, Constant):
        return t.value is None or t.value is Ellipsis or type(t.value) in (int, bool, slice)
    if isinstance(t, Tuple):
        return all(_plain_index(e) for e in t.elts)
    return False


def _plain_const_index(v) -> bool:
    if isinstance(v, tuple):
        return all(_plain_const_index(e) for e in v)
    if isinstance(v, np.ndarray):
        return v.dtype.kind in "iub"
    return v is None or v is Ellipsis or type(v) in (int, bool, slice)


def _find_getitem(stmt, typemap, active):
    """x[idx] of a float array by an index with no derivative (integer arrays included): the forward keeps x and
    idx, the adjoint scatters dy (no pullback closure)."""
    if len(stmt.args) != 2 or stmt.kwargs:
        return None
    x, idx = stmt.args
    if not isinstance(x, Var) or category(x, typemap.get(x)) != "a" or (isinstance(idx, Var) and idx in active):
        return None
    if not (_plain_index(typemap.get(idx)) if isinstance(idx, Var) else _plain_const_index(idx.value)):
        return None
    out = category(stmt.var, stmt.type)
    if out not in ("f", "a"):
        return None
    rule = _getitem_make(None, stmt, None)
    rule.cats, rule.out_cat, rule.need, rule.fn = ["a", None], out, [x in active, False], operator.getitem
    return rule


def find(stmt, typemap, active, classes=None):
    """The inline rule for a statement (whose operands in `active` want cotangents), or None.  `classes`: the
    IR's `same_shape.shape_classes`, where known."""
    if not isinstance(stmt.fn, Const):
        return None
    if stmt.fn.value is operator.getitem and operator.getitem not in RULES:
        return _find_getitem(stmt, typemap, active)
    try:
        entry = RULES.get(stmt.fn.value)
    except TypeError:
        return None
    if entry is None or (stmt.kwargs and stmt.fn.value not in _TAKES_AXIS):
        return None
    cats = [category(a, typemap.get(a) if isinstance(a, Var) else None) for a in stmt.args]
    if not cats or any(c is None for c in cats):
        return None
    out = category(stmt.var, stmt.type)
    if out not in ("f", "a"):
        return None
    if stmt.fn.value in (operator.matmul, np.matmul) and not all(_ndim(a, typemap) == 2 for a in stmt.args):
        return None
    applies, make = entry
    if not applies(cats, stmt):
        return None
    need = [isinstance(a, Var) and a in active for a in stmt.args]
    if classes and unbroadcast_free(stmt, typemap, classes):
        _UNBROADCAST_FREE.add(stmt)
    else:
        _UNBROADCAST_FREE.discard(stmt)
    rule = make(cats, stmt, need)
    rule.cats, rule.out_cat, rule.need = cats, out, need
    rule.fn = stmt.fn.value
    rule.f64 = _is_f64(stmt.type) and all(
        _is_f64(a.value if isinstance(a, Const) else typemap.get(a), isinstance(a, Const)) for a in stmt.args)
    return rule


def _is_f64(t, const=False) -> bool:
    if const:
        return type(t) in (int, float, bool) or isinstance(t, np.ndarray) and t.dtype == np.float64
    if isinstance(t, Scalar):
        return t.pytype in (float, np.float64, int, bool)
    return isinstance(t, Array) and t.dtype == "float64"


# ---------------------------------------------------------------------------------------------------------------
# Fill cotangents through the rules that can keep them symbolic

_UNARY = {np.exp, np.log, np.tanh, np.sqrt, np.sin, np.cos, np.maximum, operator.pow}


def emit_fill(rule, s, E, f, saved):
    """The operands' cotangents for a statement whose output's cotangent is the Fill `f`, or None when the rule
    needs it as a real array.  Every array these return has its operand's shape."""
    fn, cats, need, v = rule.fn, rule.cats, rule.need, f.value
    if not rule.f64 or rule.out_cat != "a":
        return None
    if fn in (np.sum, np.mean):
        kw = {k: c.value for k, c in s.kwargs}
        return [_reduce_fill(E, reduce_adjoint if fn is np.sum else mean_adjoint, v, saved[0], kw.get("axis"),
                             bool(kw.get("keepdims", False)), f.scalar)]
    if fn is operator.neg:
        return [Fill(E.call(operator.neg, v), f.like, f.scalar)]
    if fn is operator.pow and s.args[1].value == 2 and f.scalar:
        return [E.call(operator.mul, E.call(operator.mul, v, 2.0), saved[0]), None]
    if fn is np.maximum:
        return rule.emit(E, v, saved, fill=True)
    if fn in _UNARY:
        # elementwise in one array shaped like the output: v times an array of that shape has the output's shape
        return rule.emit(E, v, saved)
    arrays = [i for i, c in enumerate(cats) if c == "a"]
    if fn in (operator.add, operator.sub, operator.iadd, operator.isub) and len(arrays) == 1:
        (i,) = arrays
        if need[1 - i]:
            return None  # a scalar operand's cotangent sums the whole fill
        neg = i == 1 and fn in (operator.sub, operator.isub)
        out = [None, None]
        out[i] = Fill(E.call(operator.neg, v) if neg else v, f.like, f.scalar)
        return out
    if fn in (operator.mul, operator.imul):
        a, b = s.args
        if len(arrays) == 2 and isinstance(a, Var) and a is b:  # x * x
            two_v = E.call(operator.mul, v, 2.0) if f.scalar else None
            return [E.call(operator.mul, two_v, saved[0]) if two_v is not None
                    else E.call(operator.mul, v, E.call(operator.mul, saved[0], 2.0)), None]
        out = [None, None]
        for i in (0, 1):
            if not need[i]:
                continue
            other = saved[1 - i]
            if len(arrays) == 1 and cats[i] == "a":
                out[i] = Fill(E.call(operator.mul, v, other), f.like, f.scalar)
            elif len(arrays) == 1:  # the scalar operand: the fill times the array (shaped like the output), summed
                out[i] = E.call(sum_to_scalar, E.call(operator.mul, v, other))
            else:  # v * other has other's extent wherever operand i was broadcast
                out[i] = E.call(fill_sum_like, E.call(operator.mul, v, other), saved[i], saved["y"])
        return out
    if fn in (operator.truediv, operator.itruediv) and arrays == [0] and not need[1]:
        return [Fill(E.call(operator.truediv, v, saved[1]), f.like, f.scalar), None]
    return None
