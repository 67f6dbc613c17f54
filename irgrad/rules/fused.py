"""Rules of the fused operations that `idioms` puts in place of common compositions (sigmoid, softmax ...).

Each fused operation computes exactly what the user's expression computes, the same NumPy calls in the same order
(`np.sum(a, axis=k, keepdims=True)` is `np.add.reduce(a, axis=k, keepdims=True)` for an ndarray, which is what
NumPy's `sum` calls), so its value is bitwise the user's; only its derivative changes, to the fused form:

| operation | the user's expression | derivative |
|---|---|---|
| `sigmoid(z, a, b)` | `b / (a + np.exp(-z))`, a = b = 1 | `dz = dy * y * (1 - y)` |
| `sigmoid_math(z, a, b)` | `b / (a + math.exp(-z))`, a = b = 1 | the same, in float arithmetic |
| `softmax(s, axis)` | `e = np.exp(s); e / np.sum(e, axis=axis, keepdims=True)` | `ds = y * (dy - sum(dy * y, axis))` |
| `logsoftmax(x, axis)` | `x - np.log(np.sum(np.exp(x), axis=axis, keepdims=True))` | `dx = dy - exp(y) * sum(dy, axis)` |
| `logsoftmax_shifted(x, axis)` | `logsoftmax(x - np.max(x, axis=axis, keepdims=True))` | the same: the shift's share is 0 |
| `log_softmax_pick(s, axis, idx)` | `np.log(softmax(s, axis)[idx])` | `ds = G - p * sum(G, axis)`, G = dy at idx |
| `cross_entropy(ls, y, axis, ls_first)` | `np.mean(-np.sum(y * ls, axis=axis))`, ls = `logsoftmax(x, axis)` | `dls = -(dy / n) * y` |
| `logit_cross_entropy(x, y, axis, ls_first)` | the two above in one (only in `gradient`'s value-free derivation) | `dx = g - softmax(x) * sum(g, axis)` |

(sums over `axis` keep the reduced axes, but for the cross-entropy's, which the mean then averages: n is the count
of what it averages.)  The cross-entropy's value is needed by nobody but the caller, and its derivative needs
only `ls`, `y` and their shapes: a `gradient` that does not return the value drops it (`value_free.py`), and the
adjoint then checks the shapes itself (`y * ls` where they differ, which raises where the forward would have).
No max-shift is added: the value is the user's, overflow included.

Each has an rrule (for the interpreter and for operands the inline rules do not take, e.g. a tuple axis) and an
inline rule (`inline_rules.RULES`) whose adjoint calls one helper below, which works in place on its own
temporaries; but `log_softmax_pick`, whose index operand has no inline-rule category, has its rrule only (the
pullback keeps the softmax p it computed).
"""
from __future__ import annotations

import math
import operator

import numpy as np

from .. import inline_rules
from ..fast_calls import mean_f64
from ..ir import Const, Var
from .elementwise import differentiable, fit_cotangent, named
from .registry import rrule

_reduce = np.add.reduce  # what np.sum and ndarray.sum call for an ndarray


# ---------------------------------------------------------------------------------------------------------------
# The operations


def sigmoid(z, a, b):
    """`b / (a + np.exp(-z))`: the logistic sigmoid as the user wrote it (`a`, `b` are the user's constants 1)."""
    return b / (a + np.exp(-z))


def sigmoid_math(z, a, b):
    """`b / (a + math.exp(-z))` on a float (raises OverflowError where the user's expression does)."""
    return b / (a + math.exp(-z))


def softmax(s, axis):
    """`e = np.exp(s); e / np.sum(e, axis=axis, keepdims=True)`."""
    e = np.exp(s)
    return e / _reduce(e, axis=axis, keepdims=True)


def logsoftmax(x, axis):
    """`x - np.log(np.sum(np.exp(x), axis=axis, keepdims=True))`."""
    return x - np.log(_reduce(np.exp(x), axis=axis, keepdims=True))


def logsoftmax_shifted(x, axis):
    """`s = x - np.max(x, axis=axis, keepdims=True); s - log(sum(exp(s)))`: the log-softmax of the shifted logits
    (`nn.logsoftmax`), which cannot overflow.  Its value does not depend on the shift, so neither does its
    derivative: the max's own share, zero in exact arithmetic, is left out (not computed to rounding noise)."""
    return logsoftmax(x - np.max(x, axis=axis, keepdims=True), axis)


def log_softmax_pick(s, axis, idx):
    """`np.log(softmax(s, axis)[idx])`: the log of the probabilities an index picks (the cross-entropy of
    `-np.log(probs[np.arange(n), y])`)."""
    return np.log(softmax(s, axis)[idx])


def cross_entropy(ls, y, axis, ls_first):
    """`np.mean(-np.sum(y * ls, axis=axis))` (`ls * y` when `ls_first`): the logit cross-entropy of Flux's
    `logitcrossentropy`, ls the log-softmax of the logits along `axis`, y the labels."""
    t = ls * y if ls_first else y * ls
    return mean_f64(-_reduce(t, axis=axis))


def logit_cross_entropy(x, y, axis, ls_first, shifted=False):
    """`cross_entropy(logsoftmax(x, axis), y, axis, ls_first)` in one operation (`logsoftmax_shifted` when
    `shifted`): what `gradient`'s value-free derivation uses where nothing else reads the log-probabilities
    (value_free.py), so that neither is computed in its forward; its derivative recomputes the softmax from x."""
    return cross_entropy((logsoftmax_shifted if shifted else logsoftmax)(x, axis), y, axis, ls_first)


# ---------------------------------------------------------------------------------------------------------------
# Adjoint helpers: the cotangent of the fused operation's array operand.  Each writes only into arrays it made.


def _same(d, t) -> bool:
    """Is `d` an ndarray of t's shape and dtype (so `t op= d` gives what `t op d` would)?"""
    return type(d) is np.ndarray and d.shape == t.shape and d.dtype == t.dtype


def _full(dy, y):
    """dy spread over y's shape (it has it already, unless a caller hands a broadcastable cotangent)."""
    return dy if np.shape(dy) == y.shape else np.broadcast_to(dy, y.shape)


def sigmoid_adjoint(dy, y):
    """dy * y * (1 - y)."""
    t = 1.0 - y
    t *= y
    if _same(dy, t):
        t *= dy
        return t
    return t * dy


def softmax_adjoint(dy, y, axis):
    """y * (dy - sum(dy * y, axis, keepdims=True))."""
    if _same(dy, y):
        t = dy * y
        np.subtract(dy, _reduce(t, axis=axis, keepdims=True), out=t)
        t *= y
        return t
    dy = _full(dy, y)
    return (dy - _reduce(dy * y, axis=axis, keepdims=True)) * y


def logsoftmax_adjoint(dy, y, axis):
    """dy - exp(y) * sum(dy, axis, keepdims=True)."""
    t = np.exp(y)
    if _same(dy, t):
        t *= _reduce(dy, axis=axis, keepdims=True)
        np.subtract(dy, t, out=t)
        return t
    dy = _full(dy, y)
    return dy - t * _reduce(dy, axis=axis, keepdims=True)


def _cross_entropy_parts(dy, ls, y, axis):
    """(c, t_shape): the cotangent every product y * ls gets, -dy / n, and the products' shape (None when y and
    ls have one shape, the case of labels and logits)."""
    if type(y) is np.ndarray and y.shape == ls.shape:
        shape = None
        n = ls.size // ls.shape[axis] if ls.shape[axis] else 0
    else:
        shape = np.broadcast_shapes(np.shape(y), ls.shape)  # raises where `y * ls` did (or would have)
        n = math.prod(shape) // shape[axis] if shape[axis] else 0
    return (-(dy / n) if n else dy * math.nan), shape


def cross_entropy_adjoint(dy, ls, y, axis):
    """The cotangent of ls: -(dy / n) * y, n the number of terms the mean averages (y spread over the products'
    shape and summed back to ls's, where y broadcasts)."""
    if type(y) is np.ndarray and y.shape == ls.shape and ls.shape[axis]:  # labels like the logits: the usual
        return y * -(dy / (ls.size // ls.shape[axis]))
    c, shape = _cross_entropy_parts(dy, ls, y, axis)
    d = y * c
    return d if shape is None else np.array(fit_cotangent(ls, np.broadcast_to(d, shape)))


def cross_entropy_adjoint_y(dy, ls, y, axis):
    """The cotangent of y: -(dy / n) * ls."""
    c, shape = _cross_entropy_parts(dy, ls, y, axis)
    d = ls * c
    return d if shape is None else np.array(fit_cotangent(y, np.broadcast_to(d, shape)))


def logit_cross_entropy_adjoint(dy, x, y, axis, shifted=False):
    """The cotangent of x: g - softmax(x) * sum(g, axis), g = -(dy / n) * y the log-probabilities' cotangent (the
    softmax of the shifted x when `shifted`, as the user's code would not overflow)."""
    g = cross_entropy_adjoint(dy, x, y, axis)  # x has the log-probabilities' shape
    e = np.exp(x - np.max(x, axis=axis, keepdims=True) if shifted else x)
    e /= _reduce(e, axis=axis, keepdims=True)
    e *= _reduce(g, axis=axis, keepdims=True)
    np.subtract(g, e, out=e)
    return e


def logit_cross_entropy_adjoint_y(dy, x, y, axis, shifted=False):
    return cross_entropy_adjoint_y(dy, (logsoftmax_shifted if shifted else logsoftmax)(x, axis), y, axis)


def _row_picks(p, axis, idx):
    """For a 2-d `p` and `idx` = `(a, y)` (axis 1) or `(y, a)` (axis 0), a and y 1-d integer arrays of one length
    (`(np.arange(n), y)`: the cross-entropy's pick): `(k, a)`, k the softmax axis (0 or 1) and `a` the index along
    the other axis, which says each pick's row; None for any other index."""
    if p.ndim != 2 or type(idx) is not tuple or len(idx) != 2 or axis not in (0, 1, -1, -2):
        return None
    k = axis % 2
    a, y = idx[1 - k], idx[k]
    if not (type(a) is np.ndarray and type(y) is np.ndarray and a.ndim == 1 and a.shape == y.shape
            and a.dtype.kind in "iu" and y.dtype.kind in "iu"):
        return None
    return k, a


def log_softmax_pick_adjoint(dy, p, axis, idx):
    """The cotangent of s for `y = log(softmax(s, axis)[idx])`, p the softmax: with G the dense scatter of dy at
    idx (repeated picks added), ds = G - p * sum(G, axis, keepdims=True).  For the picks of `_row_picks` (one per
    row for `(np.arange(n), y)`, but any number), sum(G, axis) is a bincount of dy over the rows, and G is added
    at the picks (`np.add.at`: a pick made twice counts twice) without the dense scatter."""
    rows = _row_picks(p, axis, idx) if np.ndim(dy) == 1 else None
    if rows is not None:
        k, a = rows
        n = p.shape[1 - k]
        try:
            r = np.bincount(a, dy, minlength=n)  # raises for a negative row index (then the dense scatter)
        except (ValueError, TypeError):
            r = None
        if r is not None and r.shape == (n,):
            r = r.astype(p.dtype, copy=False)
            np.negative(r, out=r)
            t = p * (r[:, None] if k == 1 else r[None, :])
            flat = None
            if t.flags.c_contiguous:  # then t.reshape(-1) is a view of t, and flat indices are faster
                try:
                    flat = np.ravel_multi_index(idx, p.shape)  # raises for a negative index (then add.at on t)
                except (ValueError, TypeError):
                    pass
            if flat is not None:
                np.add.at(t.reshape(-1), flat, dy)
            else:
                np.add.at(t, idx, dy)
            return t
    g = inline_rules.scatter(p, idx, dy)
    t = p * _reduce(g, axis=axis, keepdims=True)
    np.subtract(g, t, out=t)
    return t


# ---------------------------------------------------------------------------------------------------------------
# Rules (the registry's: for the interpreter, and where no inline rule fits)


def _sigmoid_pullback(z, a, b, y, name):
    """`y = b / (a + exp(-z))`: the idiom has a = b = 1 (dz = dy y (1 - y)); other constants take the general
    dz = dy y (1 - a y / b), and float constants their own cotangents (da = -dy y^2 / b, db = dy y / b)."""
    def pullback(dy):
        if a == 1 and b == 1:
            dz = sigmoid_adjoint(dy, y) if isinstance(y, np.ndarray) else dy * (y * (1.0 - y))
        else:
            dz = dy * y * (1.0 - a * y / b)
        return (fit_cotangent(z, dz),
                fit_cotangent(a, -(dy * y * y) / b) if differentiable(a) else None,
                fit_cotangent(b, dy * y / b) if differentiable(b) else None)
    return named(pullback, name)


@rrule(sigmoid)
def sigmoid_rrule(z, a, b):
    y = sigmoid(z, a, b)
    return y, _sigmoid_pullback(z, a, b, y, "sigmoid")


@rrule(sigmoid_math)
def sigmoid_math_rrule(z, a, b):
    y = sigmoid_math(z, a, b)
    return y, _sigmoid_pullback(z, a, b, y, "sigmoid_math")


def _normalizer_rule(op, adjoint):
    """The rule of `op(x, axis)` whose cotangent is `adjoint(dy, y, axis)` (softmax, log-softmax)."""
    def rule(x, axis):
        y = op(x, axis)

        def pullback(dy):
            return (fit_cotangent(x, adjoint(dy, y, axis)), None)
        return y, named(pullback, op.__name__)
    rule.__name__ = rule.__qualname__ = f"{op.__name__}_rrule"
    rrule(op)(rule)


_normalizer_rule(softmax, softmax_adjoint)
_normalizer_rule(logsoftmax, logsoftmax_adjoint)
_normalizer_rule(logsoftmax_shifted, logsoftmax_adjoint)


@rrule(log_softmax_pick)
def log_softmax_pick_rrule(s, axis, idx):
    p = softmax(s, axis)
    y = np.log(p[idx])

    def pullback(dy):
        if np.shape(dy) != np.shape(y):
            dy = np.broadcast_to(dy, np.shape(y))
        ds = log_softmax_pick_adjoint(dy, p, axis, idx)
        return (ds if type(s) is np.ndarray and _same(ds, s) else fit_cotangent(s, ds), None, None)
    return y, named(pullback, "log_softmax_pick")


@rrule(cross_entropy)
def cross_entropy_rrule(ls, y, axis, ls_first):
    value = cross_entropy(ls, y, axis, ls_first)

    def pullback(dy):
        return (cross_entropy_adjoint(dy, ls, y, axis),
                cross_entropy_adjoint_y(dy, ls, y, axis) if differentiable(y) else None, None, None)
    return value, named(pullback, "cross_entropy")


@rrule(logit_cross_entropy)
def logit_cross_entropy_rrule(x, y, axis, ls_first, *shifted):
    value = logit_cross_entropy(x, y, axis, ls_first, *shifted)

    def pullback(dy):
        return (fit_cotangent(x, logit_cross_entropy_adjoint(dy, x, y, axis, *shifted)),
                logit_cross_entropy_adjoint_y(dy, x, y, axis, *shifted) if differentiable(y) else None,
                None, None, *(None for _ in shifted))
    return value, named(pullback, "logit_cross_entropy")


# ---------------------------------------------------------------------------------------------------------------
# Inline rules.  `idioms` only puts these operations in place with a float array operand of known ndim (a float
# for sigmoid_math) and constant other operands, so the categories below are what the rewrite made; an axis that
# is not an int (None, a tuple) has no category and leaves the statement to its rrule.


def _array_then_constants(cats, s):
    return cats[0] == "a" and all(c == "n" for c in cats[1:]) and all(isinstance(a, Const) for a in s.args[1:])


def _float_then_constants(cats, s):
    return cats[0] == "f" and all(c == "n" for c in cats[1:]) and all(isinstance(a, Const) for a in s.args[1:])


def _ones(s):
    return all(type(a.value) in (int, float) and a.value == 1 for a in s.args[1:])


def _consts(s):
    return [a.value for a in s.args[1:]]


def _sigmoid_make(cats, s, need):
    return inline_rules._rule({"y"}, lambda E, dy, saved: [E.call(sigmoid_adjoint, dy, saved["y"]), None, None])


def _sigmoid_math_make(cats, s, need):
    def emit(E, dy, saved):
        y = saved["y"]
        return [E.call(operator.mul, dy, E.call(operator.mul, y, E.call(operator.sub, 1.0, y))), None, None]
    return inline_rules._rule({"y"}, emit)


def _softmax_make(cats, s, need):
    (axis,) = _consts(s)
    return inline_rules._rule({"y"}, lambda E, dy, saved: [E.call(softmax_adjoint, dy, saved["y"], axis), None])


def _logsoftmax_make(cats, s, need):
    (axis,) = _consts(s)
    return inline_rules._rule({"y"}, lambda E, dy, saved: [E.call(logsoftmax_adjoint, dy, saved["y"], axis), None])


def _cross_entropy_maker(adjoint, adjoint_y):
    def make(cats, s, need):
        axis = s.args[2].value

        rest = s.args[4:]  # logit_cross_entropy's `shifted`

        def emit(E, dy, saved):
            ls, y = saved[0], saved[1] if isinstance(s.args[1], Var) else s.args[1]
            return [E.call(adjoint, dy, ls, y, axis, *rest) if need[0] else None,
                    E.call(adjoint_y, dy, ls, y, axis, *rest) if need[1] else None] + [None] * (len(s.args) - 2)
        return inline_rules._rule({0} | ({1} if isinstance(s.args[1], Var) else set()), emit)
    return make


def _two_arrays_then_constants(cats, s):
    return cats[:2] == ["a", "a"] and all(isinstance(a, Const) for a in s.args[2:])


inline_rules.RULES.update({
    cross_entropy: (_two_arrays_then_constants, _cross_entropy_maker(cross_entropy_adjoint, cross_entropy_adjoint_y)),
    logit_cross_entropy: (_two_arrays_then_constants,
                          _cross_entropy_maker(logit_cross_entropy_adjoint, logit_cross_entropy_adjoint_y)),
    sigmoid: (lambda cats, s: _array_then_constants(cats, s) and _ones(s), _sigmoid_make),
    sigmoid_math: (lambda cats, s: _float_then_constants(cats, s) and _ones(s), _sigmoid_math_make),
    softmax: (_array_then_constants, _softmax_make),
    logsoftmax: (_array_then_constants, _logsoftmax_make),
    logsoftmax_shifted: (_array_then_constants, _logsoftmax_make),
})

# Each adjoint helper above returns a new array (it never passes dy through): the adjoint may update it in place.
inline_rules.FRESH_RESULTS.update({sigmoid_adjoint, softmax_adjoint, logsoftmax_adjoint, cross_entropy_adjoint,
                                   logit_cross_entropy_adjoint})
