"""What the forward and adjoint IR call at run time.

`fwd_call(f, *args, **kwargs)` is Zygote's `_pullback`: it returns `(y, pullback)` for any callable, using the
registered rule when there is one and otherwise recursing into the callable's own derived forward and adjoint
(per signature, cached in `derive.py`).  `pullback(dy)` returns `(df, *dargs, *dkwargs)`: the callee's own
cotangent first (what a closure captured, the `self` of a bound method or callable object).

`ADJOINT_HANDLERS` holds the few operations whose adjoint is not a pullback but a rewrite of the accumulated
cotangents: stores into a cell, an attribute or an item replace what the container held, so the adjoint moves
the cotangent of the stored slot to the stored value and zeroes the slot.
"""
from __future__ import annotations

import inspect
import operator
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
    if isinstance(x, (types.FunctionType, types.BuiltinFunctionType, np.ufunc)):
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


def rule_call(rule, *args, **kwargs):
    """Call a rule with keyword arguments: a keyword argument holding differentiable data is bound to the rule's
    parameter of that name and gets its cotangent; the pullback returns one cotangent per positional argument and
    per keyword argument, in the order given."""
    names = list(kwargs)
    if not any(has_float_data(v) for v in kwargs.values()):
        y, pb = rule(*args, **kwargs)
        nk = (None,) * len(names)
        return y, lambda dy: tuple(pb(dy)) + nk
    try:
        bound = inspect.signature(rule).bind(*args, **kwargs)
    except TypeError as e:
        raise UnsupportedError(f"cannot pass differentiable keyword arguments {names} to the rule "
                               f"{getattr(rule, '__name__', rule)}: {e}") from None
    params = list(inspect.signature(rule).parameters)
    pos = []
    for p in params:
        if p not in bound.arguments:
            break
        pos.append(bound.arguments[p])
    rest = {k: v for k, v in bound.arguments.items() if k not in params[:len(pos)]}
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


def fwd_call(f, *args, **kwargs):
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
    if not (has_float_data(args) or has_float_data(kwargs)):
        # Nothing differentiable goes in: the result is a constant of this computation.
        return f(*args, **kwargs), _zero_pullback(n)
    raise NoRuleError(no_rule_message(f))


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


def checked_setattr(obj, name, value):
    setattr(obj, name, value)


def checked_setitem(x, key, value):
    if isinstance(x, np.ndarray) and (x.dtype.kind in "fc" or has_float_data(value)):
        raise UnsupportedError(
            "in-place assignment `x[...] = v` into an ndarray is not differentiated: irgrad refuses it rather "
            "than risk a wrong gradient. Build the array functionally instead (np.where, np.concatenate, "
            "np.stack, or x = x + np.eye(...)*v).")
    x[key] = value


@dataclass(frozen=True)
class Handler:
    forward: object  # the callable the forward IR calls instead (None: the original)
    emit: object  # emit(block, stmt, get, add, reset) appends the adjoint statements


# emit(block, stmt, vals, get, add, reset): `vals` is the adjoint variable holding the tuple of the store's
# operand values as the forward pass saw them; get/add/reset read, accumulate and replace cotangents.

def _is_zero(ct) -> bool:
    return getattr(ct, "value", 0) is None and type(ct).__name__ == "Const"


def _emit_cell_set(nb, s, vals, get, add, reset):
    cell, value = s.args
    add(value, get(cell))
    reset(cell)


def _emit_setattr(nb, s, vals, get, add, reset):
    obj, _, value = s.args
    ct = get(obj)
    if _is_zero(ct):
        return
    name = nb.push(operator.getitem, vals, 1)
    add(value, nb.push(tangent_field, ct, name))
    reset(obj, nb.push(tangent_without, ct, name))


def _emit_setitem(nb, s, vals, get, add, reset):
    x, _, value = s.args
    ct = get(x)
    if _is_zero(ct):
        return
    key = nb.push(operator.getitem, vals, 1)
    add(value, nb.push(item_cotangent, ct, key))
    reset(x, nb.push(item_zeroed, ct, key))


ADJOINT_HANDLERS = {
    ops.cell_set: Handler(None, _emit_cell_set),
    setattr: Handler(checked_setattr, _emit_setattr),
    operator.setitem: Handler(checked_setitem, _emit_setitem),
}
