"""Idiom rewrites of the typed primal IR (see `rewrites`): compositions common in neural-network losses become one
fused operation of `rules.fused`, which computes exactly what they compute (the same NumPy calls in the same
order: bitwise the same value) and has a fused derivative.

| idiom (as traced, after inlining) | becomes |
|---|---|
| `1 / (1 + np.exp(-z))`, with 1 or 1.0 and `exp(-z) + 1` | `fused.sigmoid(z, 1, 1)` (z a float array) |
| the same with `math.exp` | `fused.sigmoid_math(z, 1, 1)` (z a float) |
| `e = np.exp(s); e / np.sum(e, axis=k, keepdims=True)` | `fused.softmax(s, k)` |
| `x - np.log(np.sum(np.exp(x), axis=k, keepdims=True))` | `fused.logsoftmax(x, k)` |
| the same of x = `x0 - np.max(x0, axis=k, keepdims=True)` (or `x0.max(...)`) | `fused.logsoftmax_shifted(x0, k)` |
| `np.log(p[idx])`, p = `fused.softmax(s, k)` (rewritten above), idx with no derivative | `fused.log_softmax_pick(s, k, idx)` |
| `np.mean(-np.sum(y * ls, axis=k))`, ls = `fused.logsoftmax(x, k)` (rewritten above), or `ls * y` | `fused.cross_entropy(ls, y, k, ls_first)` |

(`np.sum(e, ...)` may also be the method `e.sum(...)`.)  A match is rewritten only when it is sound:

- every intermediate (`-z`, `exp(...)`, the sum, the log ...) is used by the idiom alone, so removing it loses
  nothing the rest of the code reads;
- the types say float arrays (float64 or float32) of known ndim, the same dtype and ndim all along (a float for
  `sigmoid_math`); the constants are exactly 1; `axis` is a constant (int, tuple of ints or None), `keepdims`
  the constant True;
- all of it lies in one block, and whatever runs between its first statement and its last cannot mutate anything
  (pure statements, non-mutating operators and ufuncs), since the fused operation runs where the last one was.

The fused statement takes the place (and the variable, type and line) of the idiom's last statement; the
intermediates' statements go.  `ENABLED = False` (or `with disabled():`) turns the rewrite off, for comparisons.
"""
from __future__ import annotations

import contextlib
import math
import operator

import numpy as np

from .inline_rules import _plain_const_index, _plain_index
from .ir import Const, Var
from .passes import is_pure
from .rules import fused
from .types import Array, Method, Scalar

ENABLED = True


@contextlib.contextmanager
def disabled():
    """Run with the idiom rewrite off (the caller clears the derivation cache if it must not reuse derivations)."""
    global ENABLED
    old, ENABLED = ENABLED, False
    try:
        yield
    finally:
        ENABLED = old


def rewrite(ir):
    if ENABLED:
        _Rewriter(ir).run()
    return ir


# ---------------------------------------------------------------------------------------------------------------
# What may run between an idiom's statements: nothing that can mutate an operand.

_NON_MUTATING = {
    operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv, operator.mod, operator.pow,
    operator.matmul, operator.neg, operator.pos, operator.abs, operator.getitem,
    np.sum, np.mean, np.max, np.min, np.amax, np.amin, np.prod, np.dot, np.matmul, np.transpose, np.reshape,
    np.arange,
}


def _harmless(s, types) -> bool:
    if is_pure(s, types):
        return True
    if not isinstance(s.fn, Const):
        return False
    fn = s.fn.value
    if isinstance(fn, np.ufunc):  # unless it writes into `out` (by keyword or by position)
        return len(s.args) <= fn.nin and all(k not in ("out", "where") for k, _ in s.kwargs)
    try:
        return fn in _NON_MUTATING and all(k != "out" for k, _ in s.kwargs)
    except TypeError:
        return False


# ---------------------------------------------------------------------------------------------------------------
# Types


def _float_array(t, like=None) -> bool:
    ok = isinstance(t, Array) and t.dtype in ("float64", "float32") and t.ndim is not None
    return ok and (like is None or (t.dtype == like.dtype and t.ndim == like.ndim))


def _python_float(t) -> bool:
    return isinstance(t, Scalar) and t.pytype is float


def _is_one(x) -> bool:
    return isinstance(x, Const) and type(x.value) in (int, float) and x.value == 1


def _axis_ok(axis) -> bool:
    if axis is None or type(axis) is int:
        return True
    return type(axis) is tuple and all(type(a) is int for a in axis)


class _Rewriter:
    def __init__(self, ir):
        self.ir = ir
        self.types = ir.types()
        self.uses: dict = {}
        self.defs: dict = {}  # Var -> (block, stmt)
        self.removed: set = set()  # ids of the statements rewrites took away
        for b in ir.blocks:
            for s in b.stmts:
                self.defs[s.var] = (b, s)
                for x in s.operands():
                    self._use(x)
            if b.term is not None:
                for x in b.term.operands():
                    self._use(x)

    def _use(self, x):
        if isinstance(x, Var):
            self.uses[x] = self.uses.get(x, 0) + 1

    # -- matching helpers ---------------------------------------------------------------------------------------

    def stmt(self, x, block, fns, uses=1):
        """The statement defining `x` in `block` when it calls one of `fns` and `x` has exactly `uses` uses."""
        if not isinstance(x, Var) or self.uses.get(x, 0) != uses:
            return None
        d = self.defs.get(x)
        if d is None or d[0] is not block:
            return None
        s = d[1]
        if not isinstance(s.fn, Const):
            return None
        try:
            return s if s.fn.value in fns else None
        except TypeError:
            return None

    def unary(self, x, block, fns):
        s = self.stmt(x, block, fns)
        return s if s is not None and len(s.args) == 1 and not s.kwargs else None

    def sum_of(self, t, block):
        """For `t = np.sum(e, axis=k, keepdims=c)` or `t = e.sum(axis=k, keepdims=c)` (t used once): (e, k, c,
        [its statements]); None otherwise (or when an operand is not constant, or any other argument is given)."""
        return self.reduction_of(t, block, (np.sum,), "sum", np.ndarray.sum)

    def max_of(self, t, block):
        """The same for `np.max(e, ...)` (or `np.amax`) and `e.max(...)`."""
        return self.reduction_of(t, block, (np.max, np.amax), "max", np.ndarray.max)

    def reduction_of(self, t, block, fns, name, method):
        if not isinstance(t, Var) or self.uses.get(t, 0) != 1 or self.defs.get(t, (None,))[0] is not block:
            return None
        s = self.defs[t][1]
        stmts = [s]
        if isinstance(s.fn, Const) and any(s.fn.value is f for f in fns):
            if not s.args or len(s.args) > 2:
                return None
            e, positional = s.args[0], s.args[1:]
        elif isinstance(s.fn, Var):  # e.sum(...): %m = getattr(e, 'sum') used once, as this callee
            m = self.stmt(s.fn, block, (getattr,))
            tm = self.types.get(s.fn)
            if m is None or len(m.args) != 2 or m.kwargs or m.args[1] != Const(name) or \
                    not isinstance(tm, Method) or tm.func is not method:
                return None
            e, positional = m.args[0], s.args
            if len(positional) > 1:
                return None
            stmts.append(m)
        else:
            return None
        params = dict(zip(("axis",), positional))
        for k, v in s.kwargs:
            if k in params or k not in ("axis", "keepdims"):
                return None
            params[k] = v
        if not all(isinstance(v, Const) for v in params.values()):
            return None
        axis = params["axis"].value if "axis" in params else None
        keepdims = params["keepdims"].value if "keepdims" in params else False
        if not _axis_ok(axis) or type(keepdims) is not bool:
            return None
        return e, axis, keepdims, stmts

    # -- the idioms ---------------------------------------------------------------------------------------------

    def sigmoid(self, b, root):
        """root: `c / d`, d = `c + e` or `e + c`, e = `exp(n)`, n = `-z`."""
        if root.kwargs or len(root.args) != 2 or not _is_one(root.args[0]):
            return None
        add = self.stmt(root.args[1], b, (operator.add,))
        if add is None or add.kwargs or len(add.args) != 2:
            return None
        if _is_one(add.args[0]):
            c_add, e = add.args
        elif _is_one(add.args[1]):
            e, c_add = add.args
        else:
            return None
        ex = self.unary(e, b, (np.exp, math.exp))
        if ex is None:
            return None
        neg = self.unary(ex.args[0], b, (operator.neg, np.negative))
        if neg is None or not isinstance(neg.args[0], Var):
            return None
        z = neg.args[0]
        tz = self.types.get(z)
        chain = (neg, ex, add, root)
        if ex.fn.value is np.exp:
            if not (_float_array(tz) and all(_float_array(s.type, tz) for s in chain)):
                return None
            fn = fused.sigmoid
        else:
            if not (neg.fn.value is operator.neg and _python_float(tz) and all(_python_float(s.type) for s in chain)):
                return None
            fn = fused.sigmoid_math
        return fn, (z, c_add, root.args[0]), chain

    def softmax(self, b, root):
        """root: `e / t`, t = `sum(e, axis=k, keepdims=True)`, e = `np.exp(s)`."""
        if root.kwargs or len(root.args) != 2:
            return None
        e, t = root.args
        ex = self.stmt(e, b, (np.exp,), uses=2)
        if ex is None or len(ex.args) != 1 or ex.kwargs or not isinstance(ex.args[0], Var):
            return None
        red = self.sum_of(t, b)
        if red is None or red[0] is not e or red[2] is not True:
            return None
        s = ex.args[0]
        ts = self.types.get(s)
        chain = [ex, *reversed(red[3]), root]
        if not (_float_array(ts) and _float_array(ex.type, ts) and _float_array(root.type, ts)):
            return None
        return fused.softmax, (s, red[1]), chain

    def logsoftmax(self, b, root):
        """root: `x - l`, l = `np.log(t)`, t = `sum(e, axis=k, keepdims=True)`, e = `np.exp(x)`."""
        if root.kwargs or len(root.args) != 2 or not isinstance(root.args[0], Var):
            return None
        x, l = root.args
        lg = self.unary(l, b, (np.log,))
        if lg is None:
            return None
        red = self.sum_of(lg.args[0], b)
        if red is None or red[2] is not True:
            return None
        ex = self.unary(red[0], b, (np.exp,))
        if ex is None or ex.args[0] is not x:
            return None
        tx = self.types.get(x)
        chain = [ex, *reversed(red[3]), lg, root]
        if not (_float_array(tx) and _float_array(ex.type, tx) and _float_array(root.type, tx)):
            return None
        shifted = self.shift_of(x, b, red[1])
        if shifted is not None:  # x = x0 - max(x0, axis=k, keepdims=True), read by the idiom alone
            return fused.logsoftmax_shifted, (shifted[0], red[1]), shifted[1] + chain
        return fused.logsoftmax, (x, red[1]), chain

    def shift_of(self, x, b, axis):
        """For x = `x0 - m`, m = `max(x0, axis=axis, keepdims=True)`, x read twice (by exp and by the log-softmax's
        subtraction) and m once: (x0, [their statements]); else None."""
        sub = self.stmt(x, b, (operator.sub,), uses=2)
        if sub is None or sub.kwargs or len(sub.args) != 2 or not isinstance(sub.args[0], Var):
            return None
        red = self.max_of(sub.args[1], b)
        if red is None or red[0] is not sub.args[0] or red[1] != axis or red[2] is not True:
            return None
        tx = self.types.get(x)
        if not (_float_array(self.types.get(sub.args[0]), tx) and _float_array(sub.type, tx)):
            return None
        return sub.args[0], [*reversed(red[3]), sub]

    def log_softmax_pick(self, b, root):
        """root: `np.log(v)`, v = `p[idx]` (idx an index with no derivative), p = `fused.softmax(s, k)` (the
        softmax idiom, rewritten already)."""
        if root.kwargs or len(root.args) != 1:
            return None
        gi = self.stmt(root.args[0], b, (operator.getitem,))
        if gi is None or gi.kwargs or len(gi.args) != 2:
            return None
        sm = self.stmt(gi.args[0], b, (fused.softmax,))
        if sm is None or sm.kwargs or len(sm.args) != 2 or not isinstance(sm.args[1], Const):
            return None
        s, idx = sm.args[0], gi.args[1]
        if isinstance(idx, Var):
            if not _plain_index(self.types.get(idx)):
                return None
        elif not _plain_const_index(idx.value):
            return None
        ts, ty = self.types.get(s), root.type
        if not (_float_array(ts) and _float_array(sm.type, ts) and isinstance(ty, Array) and ty.dtype == ts.dtype
                and ty.ndim is not None):
            return None
        return fused.log_softmax_pick, (s, sm.args[1], idx), [sm, gi, root]

    def cross_entropy(self, b, root):
        """root: `np.mean(n)`, n = `-t`, t = `sum(p, axis=k)`, p = `y * ls` or `ls * y`, ls = `fused.logsoftmax(x,
        k)` (the idiom above; ls may have other uses), y a float array of ls's dtype and ndim."""
        if root.kwargs or len(root.args) != 1:
            return None
        neg = self.unary(root.args[0], b, (operator.neg, np.negative))
        if neg is None:
            return None
        red = self.sum_of(neg.args[0], b)
        if red is None or red[2] is not False or type(red[1]) is not int:
            return None
        prod = self.stmt(red[0], b, (operator.mul,))
        if prod is None or prod.kwargs or len(prod.args) != 2:
            return None
        for k in (0, 1):
            ls, y = prod.args[k], prod.args[1 - k]
            d = self.defs.get(ls) if isinstance(ls, Var) else None
            if d is not None and isinstance(d[1].fn, Const) and d[1].fn.value in (fused.logsoftmax,
                                                                                   fused.logsoftmax_shifted) \
                    and d[1].args[1] == Const(red[1]):
                break
        else:
            return None
        tls = self.types.get(ls)
        ty = self.types.get(y) if isinstance(y, Var) else (
            Array(y.value.dtype.name, y.value.ndim) if isinstance(y.value, np.ndarray) else None)
        if not (_float_array(tls) and _float_array(ty, tls) and _float_array(prod.type, tls)
                and isinstance(root.type, Scalar)):
            return None
        return fused.cross_entropy, (ls, y, red[1], k == 0), [prod, *reversed(red[3]), neg, root]

    # -- rewriting ----------------------------------------------------------------------------------------------

    _ROOTS = (
        ({operator.truediv}, ("sigmoid", "softmax")),
        ({operator.sub}, ("logsoftmax",)),
        ({np.log}, ("log_softmax_pick",)),
        ({np.mean}, ("cross_entropy",)),
    )

    def run(self):
        for b in self.ir.blocks:
            for s in list(b.stmts):
                if id(s) in self.removed:  # taken into an idiom already
                    continue
                for name in self.root_kind(s, self._ROOTS):
                    m = getattr(self, name)(b, s)
                    if m is not None and self.apply(b, s, *m):
                        break

    @staticmethod
    def root_kind(s, roots):
        if not isinstance(s.fn, Const):
            return ()
        for fns, names in roots:
            try:
                if s.fn.value in fns:
                    return names
            except TypeError:
                return ()
        return ()

    def apply(self, b, root, fn, args, chain) -> bool:
        positions = {id(s): k for k, s in enumerate(b.stmts)}
        first = min(positions[id(s)] for s in chain)
        last = positions[id(root)]
        inside = {id(s) for s in chain}
        if any(id(s) not in inside and not _harmless(s, self.types) for s in b.stmts[first:last]):
            return False
        args = tuple(a if isinstance(a, Var) else (a if isinstance(a, Const) else Const(a)) for a in args)
        b.stmts = [s for s in b.stmts if id(s) not in inside or s is root]
        self.removed |= inside - {id(root)}
        for s in chain:
            if s is not root:
                self.defs.pop(s.var, None)
        for x in root.operands():
            if isinstance(x, Var):
                self.uses[x] -= 1
        root.fn, root.args, root.kwargs = Const(fn), args, ()
        for x in args:
            self._use(x)
        # The intermediates are gone, and with them their uses of the idiom's operands.
        for s in chain:
            if s is not root:
                for x in s.operands():
                    if isinstance(x, Var) and x in self.uses:
                        self.uses[x] -= 1
        return True
