"""What the forward and adjoint IR call at run time.

`fwd_call(f, *args, **kwargs)` is Zygote's `_pullback`: it returns `(y, pullback)` for any callable, using the
registered rule when there is one and otherwise recursing into the callable's own derived forward and adjoint
(per signature, cached in `derive.py`).  `pullback(dy)` returns `(df, *dargs, *dkwargs)`: the callee's own
cotangent first (what a closure captured, the `self` of a bound method or callable object).

`STORES` holds the few operations whose adjoint is not a pullback but a rewrite of the accumulated
cotangents: stores into a cell, an attribute or an item replace what the container held, so the adjoint moves
the cotangent of the stored slot to the stored value and zeroes the slot.
"""
from __future__ import annotations

import inspect
import operator
import threading
import types
from dataclasses import dataclass

import numpy as np

from . import ops
from .errors import NoRuleError, UnsupportedError, where
from .rules.registry import NONDIFF, lookup
from .tangent import Tangent

# ---------------------------------------------------------------------------------------------------------------
# Static facts used by the transform

def static_nondiff(f) -> bool:
    """Is `f` (a constant callable in the IR) known to have a zero derivative?"""
    rule, self = lookup(f)
    return rule is NONDIFF


# ---------------------------------------------------------------------------------------------------------------
# Data that can carry a derivative

_PLAIN = (bool, int, str, bytes, type(None), range, slice, type(Ellipsis), types.ModuleType, type)


def has_float_data(x, depth: int = 0) -> bool:
    """Could `x` hold a value with a nonzero cotangent?  Conservative: unknown objects say yes."""
    if isinstance(x, (float, complex)):
        return True
    if isinstance(x, np.ndarray) or isinstance(x, np.generic):
        return x.dtype.kind in "fc"
    if isinstance(x, _PLAIN) or x is ops.STOP:
        return False
    if depth > 3:
        return True
    if isinstance(x, (tuple, list, set, frozenset)):
        return any(has_float_data(v, depth + 1) for v in x)
    if isinstance(x, dict):
        return any(has_float_data(v, depth + 1) for v in x.values())
    if isinstance(x, (types.BuiltinMethodType, types.MethodWrapperType)):  # x.sum: bound to its data
        owner = getattr(x, "__self__", None)
        return owner is not None and not isinstance(owner, types.ModuleType) and has_float_data(owner, depth + 1)
    if isinstance(x, (types.FunctionType, np.ufunc)):
        cl = getattr(x, "__closure__", None)
        return bool(cl) and any(has_float_data(_cell(c), depth + 1) for c in cl)
    if isinstance(x, types.MethodType):
        return has_float_data(x.__self__, depth + 1)
    if isinstance(x, ops._Stop) or callable(x) and not hasattr(x, "__dict__"):
        return False
    return True


def _cell(c):
    try:
        return c.cell_contents
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------------------------
# Calling rules

def _zero_pullback(n):
    zeros = (None,) * n

    def nondiff_pullback(dy):
        return zeros
    return nondiff_pullback


def rule_call(rule, /, *args, **kwargs):
    """Call a rule with keyword arguments: a keyword argument holding differentiable data is bound to the rule's
    parameter of that name and gets its cotangent; the pullback returns one cotangent per positional argument and
    per keyword argument, in the order given."""
    names = list(kwargs)
    if not any(has_float_data(v) for v in kwargs.values()):
        y, pb = rule(*args, **kwargs)
        nk = (None,) * len(names)
        n = len(args)
        return y, lambda dy: tuple(pb(dy))[:n] + nk
    sig = inspect.signature(rule)
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError as e:
        raise UnsupportedError(f"cannot pass differentiable keyword arguments {names} to the rule "
                               f"{getattr(rule, '__name__', rule)}: {e}") from None
    bound.apply_defaults()  # so the parameters before a keyword-passed one are all positional
    params = [p for p, spec in sig.parameters.items() if spec.kind in (spec.POSITIONAL_ONLY,
                                                                       spec.POSITIONAL_OR_KEYWORD)]
    pos = []
    for p in params:
        if p not in bound.arguments:
            break
        pos.append(bound.arguments[p])
    rest = {}
    for k, v in bound.arguments.items():
        if k in params[:len(pos)]:
            continue
        if sig.parameters[k].kind is sig.parameters[k].VAR_KEYWORD:
            rest.update(v)  # the rule's own **kwargs: pass them on by name
        elif sig.parameters[k].kind is sig.parameters[k].VAR_POSITIONAL:
            pos.extend(v)
        else:
            rest[k] = v
    if any(has_float_data(v) for v in rest.values()):
        raise UnsupportedError(f"the rule {rule.__name__} takes {sorted(rest)} by keyword only; "
                               "pass them positionally to differentiate them")
    y, pb = rule(*pos, **rest)
    order = {p: i for i, p in enumerate(params)}

    def rule_kw_pullback(dy):
        d = pb(dy)
        out = list(d[:len(args)])
        out += [d[order[k]] if order.get(k, len(d)) < len(d) else None for k in names]
        return tuple(out)
    return y, rule_kw_pullback


def fwd_call(f, /, *args, **kwargs):
    """Zygote's `_pullback`: (y, pullback) with pullback(dy) -> (df, *dargs, *dkwargs)."""
    rule, self = lookup(f)
    n = 1 + len(args) + len(kwargs)
    if rule is NONDIFF:
        return f(*args, **kwargs), _zero_pullback(n)
    if rule is not None:
        if self is not None:
            y, pb = rule_call(rule, self, *args, **kwargs)
            return y, pb  # the bound method's cotangent is its self's
        y, pb = rule_call(rule, *args, **kwargs)
        return y, lambda dy: (None,) + tuple(pb(dy))
    from .derive import call_derived, python_target
    target = python_target(f)
    if target is not None:
        return call_derived(f, target, args, kwargs)
    if not (has_float_data(f) or has_float_data(args) or has_float_data(kwargs)):
        # Nothing differentiable goes in: the result is a constant of this computation.
        return f(*args, **kwargs), _zero_pullback(n)
    raise NoRuleError(no_rule_message(f))


def fwd_call_masked(mask, f, /, *args, **kwargs):
    """`fwd_call` where the caller knows which operands are active (`mask`, a derive.OperandMask): Python code is
    derived for those only, so no cotangent is computed for data the caller does not differentiate."""
    rule, _ = lookup(f)
    if rule is None:
        from .derive import call_derived, python_target
        target = python_target(f)
        if target is not None:
            return call_derived(f, target, args, kwargs, mask=mask)
    return fwd_call(f, *args, **kwargs)


def no_rule_message(f) -> str:
    from .printer import callable_name
    name = callable_name(f)
    short = getattr(f, "__name__", "f")
    return (f"no differentiation rule for {name} ({type(f).__name__}), and it has no Python source to recurse "
            f"into. Register one:\n\n"
            f"    @irgrad.rrule({name})\n"
            f"    def {short}_rrule(*args):\n"
            f"        y = {name}(*args)\n"
            f"        def {short}_pullback(dy):\n"
            f"            return (...)  # one cotangent per positional argument, None for zero\n"
            f"        return y, {short}_pullback\n\n"
            f"or, if it has no derivative, irgrad.non_differentiable({name}). See docs/rules.md.")


# ---------------------------------------------------------------------------------------------------------------
# The cell store: cotangents of closure cells, by cell, for the pullback being run (see rules/containers.py)

class CellCotangents:
    __slots__ = ("cts",)

    def __init__(self):
        self.cts = {}

    def add(self, cell, d):
        from .tangent import accum
        old = self.cts.get(id(cell))
        self.cts[id(cell)] = (cell, d if old is None else accum(old[1], d))

    def take(self, cell):
        entry = self.cts.pop(id(cell), None)
        return None if entry is None else entry[1]


class _Local(threading.local):
    cells = None  # this thread's CellCotangents of the top-level pullback being run, made on first use


_local = _Local()


def cell_cotangents() -> CellCotangents:
    store = _local.cells
    if store is None:
        store = _local.cells = CellCotangents()
    return store


def fresh_cell_cotangents():
    """Start an empty store for one top-level pullback (made on first use: most pullbacks read no cell); returns
    the previous one to restore.  (`api._steady_back` does the same inline.)"""
    prev = _local.cells
    _local.cells = None
    return prev


def restore_cell_cotangents(prev) -> None:
    _local.cells = prev


# ---------------------------------------------------------------------------------------------------------------
# Adjoint handlers: stores that replace what a slot held

def tangent_field(t, name):
    if isinstance(t, Tangent):
        return getattr(t, name)
    if isinstance(t, dict):
        return t.get(name)
    return None


def tangent_without(t, name):
    if isinstance(t, Tangent):
        f = t.fields()
        f.pop(name, None)
        return Tangent(f) if f else None
    return t


def item_cotangent(t, key):
    """The cotangent of `container[key]` inside the container's cotangent `t`."""
    if t is None:
        return None
    if isinstance(t, dict):
        return t.get(key)
    if isinstance(t, (list, tuple)):
        return t[key]
    return None


def item_zeroed(t, key):
    if t is None:
        return None
    if isinstance(t, dict):
        t = dict(t)
        t.pop(key, None)
        return t
    if isinstance(t, list):
        t = list(t)
        t[key] = None
        return t
    return t


# A store's forward returns (y, back); back(ct_target, dy) -> (new cotangent of the target, *cotangents of the
# other operands).  The target is the first operand: the cell, object, container or list that is changed.

def cell_set_fwd(cell, value):
    ops.cell_set(cell, value)
    return None, lambda ct, dy: (None, cell_cotangents().take(cell))


def setattr_fwd(obj, name, value):
    setattr(obj, name, value)
    return None, lambda ct, dy: (tangent_without(ct, name), None, tangent_field(ct, name))


def setitem_fwd(x, key, value):
    if isinstance(x, np.ndarray) and (x.dtype.kind in "fc" or has_float_data(value)):
        raise UnsupportedError(
            "in-place assignment `x[...] = v` into an ndarray is not differentiated: irgrad refuses it rather "
            "than risk a wrong gradient. Build the array functionally instead (np.where, np.concatenate, "
            "np.stack, or x = x + np.eye(...)*v).")
    x[key] = value
    return None, lambda ct, dy: (item_zeroed(ct, key), None, item_cotangent(ct, key))


def _list_ct(ct, n):
    """A list cotangent of length n (None entries are zero)."""
    ct = list(ct) if ct is not None else []
    return ct[:n] + [None] * (n - len(ct))


def mutating_method(obj, name, *args):
    """`obj.name(*args)` for the list methods that change the list (the frontend emits a getattr and a call;
    the adjoint pass turns that pair into this, so the list's cotangent can shrink and grow with it)."""
    return getattr(obj, name)(*args)


def mutating_method_fwd(obj, name, *args):
    if type(obj) is list:
        n = len(obj)
        y = getattr(obj, name)(*args)
        if name == "append":
            return y, lambda ct, dy: (_list_ct(ct, n), None, _list_ct(ct, n + 1)[n])
        if name == "extend":
            m = len(obj) - n
            src = args[0]

            def extend_back(ct, dy):
                from .rules.containers import container_cotangent
                full = _list_ct(ct, n + m)
                return (full[:n], None, container_cotangent(src, full[n:]))
            return y, extend_back
        if name == "pop":
            p = (args[0] if args else -1) % n

            def pop_back(ct, dy):
                full = _list_ct(ct, n - 1)
                return (full[:p] + [dy] + full[p:], None) + (None,) * len(args)
            return y, pop_back
        if name == "insert":
            p = min(max(args[0] + n if args[0] < 0 else args[0], 0), n)

            def insert_back(ct, dy):
                full = _list_ct(ct, n + 1)
                return (full[:p] + full[p + 1:], None, None, full[p])
            return y, insert_back
    y, pb = fwd_call(getattr(obj, name), *args)

    def method_back(ct, dy):
        from .tangent import accum
        d = pb(dy)
        return (accum(ct, d[0]), None) + tuple(d[1:])
    return y, method_back


MUTATING_METHODS = ("append", "extend", "pop", "insert")

# The stores: the callable in the primal IR -> the forward function returning (y, back).
STORES = {
    ops.cell_set: cell_set_fwd,
    setattr: setattr_fwd,
    operator.setitem: setitem_fwd,
    mutating_method: mutating_method_fwd,
}
