"""The public entry points, all built on one pullback (`runtime.fwd_call`, Zygote's `_pullback`).

Each takes the function positional-only, so a keyword argument named `f` reaches the user's function.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from types import FunctionType

import numpy as np

from . import derive
from .errors import IrgradError
from .rules.registry import lookup
from .runtime import _local as _cells, fresh_cell_cotangents, fwd_call, restore_cell_cotangents

__all__ = ["pullback", "gradient", "withgradient", "jacobian", "code_adjoint", "cache_info", "clear_cache"]


def _project(x, dx):
    """Give a cotangent the form of its primal: a float for a Python float, an array of x's shape for an array."""
    if dx is None:
        return None
    tx = type(x)
    if tx is np.ndarray:
        if type(dx) is np.ndarray and dx.shape == x.shape:
            return dx
    elif tx is tuple or tx is list or tx is dict or (tx is float and type(dx) is float):
        return dx
    if isinstance(x, float) and not isinstance(dx, float):
        if np.iscomplexobj(dx):
            return complex(dx)
        return float(dx)
    if isinstance(x, complex) and not isinstance(dx, complex):
        return complex(dx)
    if isinstance(x, np.ndarray) and isinstance(dx, (np.ndarray, np.generic, float, int)):
        dx = np.asarray(dx)
        if dx.shape != x.shape:
            dx = np.broadcast_to(dx, x.shape).copy()
        return dx
    return dx


# ---------------------------------------------------------------------------------------------------------------
# The steady state: a Python function (or a bound method, a callable object) called with exactly its positional
# parameters, whose derivation a guard (see derive.py) proves applies.  The same steps `_pullback` below takes
# through `call_derived`, without the binding, the keys and the closures; anything else takes that general path.

_entry_guards = derive._entry_guards
_stats = derive._stats
_F64 = np.float64
_ONE64 = np.float64(1.0)


def _steady(f, args, seeded: bool, value: bool = True):
    """None unless the fast path applies; then, `seeded`, (y, gradients) as `withgradient` returns them, else
    (y, back) as `pullback` does.  Without `value` (`gradient`), y may be None: the forward that leaves out what
    only the result needed runs where there is one (value_free.py)."""
    if type(f) is FunctionType:
        func, lead = f, ()
    else:  # a bound method, a callable object: its function, with self first
        target = derive.python_target(f)
        if target is None:
            return None
        func, lead, _ = target
    code = func.__code__
    gs = _entry_guards.get(id(code))
    if gs is None or len(lead) + len(args) != code.co_argcount or func.__dict__:
        return None  # (a non-empty __dict__ may hold a __wrapped__ or __signature__ the binding would follow)
    closure = code.co_freevars
    entry = (func, *lead, *args) if closure else (*lead, *args) if lead else args
    for g in gs:
        if g.check(func, entry):
            if g.ruled and lookup(f)[0] is not None:
                return None
            break
    else:
        return None
    _stats["hits"] += 1
    d = g.d
    skip = len(lead) + 1 if closure else len(lead)  # the cotangents nobody asked for: the closure's, self's
    if not value:
        vf = d.value_free
        if vf is None:
            vf = derive.value_free_forward(d)
        if vf:  # the result is a float64 scalar (its seed np.float64(1.0)), not computed
            forward, adjoint, cell_free = vf
            return None, _steady_back(args, skip, d, forward(*entry)[1], _ONE64, adjoint, cell_free)
    y, tape = d.forward(*entry)
    if not seeded:
        return y, partial(_steady_back, args, skip, d, tape)
    ty = type(y)
    dy = 1.0 if ty is float else _ONE64 if ty is _F64 else _seed(y, f)
    if dy is None:
        return y, (None,) * len(args)
    return y, _steady_back(args, skip, d, tape, dy)


def _steady_back(args, skip, d, tape, dy, adjoint=None, cell_free=False):
    if dy is None:
        return (None,) * len(args)
    if adjoint is None:
        adjoint, cell_free = d.adjoint, d.cell_free
    if cell_free:
        cts = adjoint(tape, dy)
    else:
        prev = _cells.cells  # runtime.fresh_cell_cotangents and restore_cell_cotangents, inline
        _cells.cells = None
        try:
            cts = adjoint(tape, dy)
        finally:
            _cells.cells = prev
    if len(args) == 1:
        return (_project(args[0], cts[skip]),)
    if skip:
        cts = cts[skip:]
    return tuple(map(_project, args, cts))


def pullback(f, /, *args, **kwargs):
    """(y, back) where back(dy) returns one cotangent per positional argument (None for zero)."""
    r = _steady(f, args, False) if not kwargs else None
    return r if r is not None else _pullback(f, args, kwargs)


def _pullback(f, args, kwargs):
    target = derive.python_target(f)
    if target is not None and lookup(f)[0] is None:
        # The top-level function's own cotangent (what a closure captured) is not asked for: not computed.
        y, pb = derive.call_derived(f, target, args, kwargs, closure_active=False)
    else:
        y, pb = fwd_call(f, *args, **kwargs)
    n = len(args)

    def back(dy):
        prev = fresh_cell_cotangents()
        try:
            d = pb(dy)
        finally:
            restore_cell_cotangents(prev)
        return tuple(_project(x, dx) for x, dx in zip(args, d[1:1 + n]))
    return y, back


_NO_NAME = object()


def _seed(y, f):
    if type(y) is float:
        return 1.0
    if isinstance(y, (float, np.floating)) or (isinstance(y, np.ndarray) and y.ndim == 0 and y.dtype.kind == "f"):
        return type(y)(1.0) if not isinstance(y, np.ndarray) else np.ones_like(y)
    if isinstance(y, (int, bool, np.integer)):
        return None
    shape = getattr(y, "shape", None)
    fname = getattr(f, "__qualname__", _NO_NAME)
    if fname is _NO_NAME:
        fname = repr(f)
    raise IrgradError(
        f"gradient needs {fname} to return a real scalar, but it returned {type(y).__name__}"
        + (f" of shape {shape}" if shape is not None else "")
        + ". For a vector-valued function use irgrad.pullback(f, *args) and call back(dy) with a cotangent of "
          "that shape, or irgrad.jacobian(f, *args).")


def _withgradient(f, args, kwargs):
    y, back = _pullback(f, args, kwargs)
    dy = _seed(y, f)
    if dy is None:
        return y, (None,) * len(args)
    return y, back(dy)


def withgradient(f, /, *args, **kwargs):
    """(value, gradients): `gradients` has one entry per positional argument (None where zero)."""
    r = _steady(f, args, True) if not kwargs else None
    return r if r is not None else _withgradient(f, args, kwargs)


def gradient(f, /, *args, **kwargs):
    """The gradient of a real-scalar function: a tuple with one cotangent per positional argument, as in Zygote.
    Floats and arrays get floats and arrays, objects an `irgrad.Tangent`, tuples/lists/dicts the same container,
    and ints, bools, strings and anything the result does not depend on `None`."""
    r = _steady(f, args, True, False) if not kwargs else None
    return (r if r is not None else _withgradient(f, args, kwargs))[1]


def jacobian(f, /, *args, **kwargs):
    """Jacobians of an array- (or scalar-) valued function with respect to each positional float or array
    argument: for output shape S and argument shape A, an array of shape S + A (None for other arguments)."""
    y, back = pullback(f, *args, **kwargs)
    y_arr = np.asarray(y)
    if y_arr.dtype.kind not in "fc":
        raise IrgradError(f"jacobian needs a float output, got {y_arr.dtype}")
    out = [None] * len(args)
    rows = []
    for k in range(y_arr.size):
        e = np.zeros(y_arr.size)
        e[k] = 1.0
        dy = e.reshape(y_arr.shape) if isinstance(y, np.ndarray) else float(e[0])
        rows.append(back(dy))
    for i, x in enumerate(args):
        if not (isinstance(x, (float, np.ndarray)) and np.asarray(x).dtype.kind in "fc"):
            continue
        xs = np.shape(x)
        J = np.stack([np.zeros(xs) if r[i] is None else np.asarray(r[i], dtype=float).reshape(xs) for r in rows])
        out[i] = J.reshape(y_arr.shape + xs)
    return tuple(out)


@dataclass
class AdjointIR:
    """The forward and adjoint IR of a function at a signature; prints like `@code_adjoint`."""

    primal: object
    forward: object
    adjoint: object

    def __repr__(self):
        return f"# primal\n{self.primal!r}\n\n# forward\n{self.forward!r}\n\n# adjoint\n{self.adjoint!r}"


def code_adjoint(f, /, *args, **kwargs) -> AdjointIR:
    """The forward and adjoint IR irgrad derives for `f` at these arguments' types."""
    target = derive.python_target(f)
    if target is None:
        raise IrgradError(f"code_adjoint needs a Python function, got {f!r}")
    func, lead, _ = target
    full = lead + args
    plan = derive.binding_plan(func, len(full), tuple(kwargs))
    entry = derive.bind(plan, full, kwargs)
    if func.__code__.co_freevars:
        entry = [func] + entry
    t = derive.derived(func, entry).transform
    return AdjointIR(t.primal, t.forward, t.adjoint)


def cache_info() -> dict:
    """Entries, hits, misses and traces of the derivation cache."""
    return derive.cache_info()


def clear_cache() -> None:
    derive.clear_cache()
