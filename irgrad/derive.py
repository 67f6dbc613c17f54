"""Derived forward and adjoint functions for Python code, one per signature, cached.

A signature is (code object, the abstract type of every entry argument, which arguments are active).  A cache
entry also remembers what its trace assumed about the world (`IR.meta.assumptions`: each global, builtin and
module attribute it resolved) and the rule registry's version; a rebinding or a new rule makes the next call
derive again, so a stale derivative is never run.
"""
from __future__ import annotations

import inspect
import threading
import types

import numpy as np
from dataclasses import dataclass

from . import types as T
from .errors import UnsupportedError
from .runtime import has_float_data
from .rules import registry


# ---------------------------------------------------------------------------------------------------------------
# Which Python function a callable runs, and with which leading arguments

def python_target(f):
    """(function, leading_args, kind) when calling `f` runs Python code irgrad can trace; None otherwise.
    kind is 'function' (the callee's own cotangent is its closure's) or 'method' (it is its self's)."""
    if isinstance(f, types.FunctionType):
        return f, (), "function"
    if isinstance(f, types.MethodType) and isinstance(f.__func__, types.FunctionType):
        return f.__func__, (f.__self__,), "method"
    if not isinstance(f, type):
        call = getattr(type(f), "__call__", None)
        if isinstance(call, types.FunctionType):
            return call, (f,), "method"
    return None


# ---------------------------------------------------------------------------------------------------------------
# Binding a call's arguments to the entry block's arguments, and cotangents back

_sig_cache: dict = {}


def _signature(func):
    s = _sig_cache.get(func)
    if s is None:
        s = _sig_cache[func] = inspect.signature(func)
    return s


class _Pos:
    __slots__ = ("i",)

    def __init__(self, i):
        self.i = i


class _Kw:
    __slots__ = ("k",)

    def __init__(self, k):
        self.k = k


_plan_cache: dict = {}


def binding_plan(func, nargs: int, kwnames: tuple):
    """For each parameter of `func` in order: where its value comes from (a positional index, a keyword name, a
    default, or for *args/**kwargs a tuple/dict of those)."""
    key = (func, nargs, kwnames)
    plan = _plan_cache.get(key)
    if plan is not None:
        return plan
    sig = _signature(func)
    bound = sig.bind(*[_Pos(i) for i in range(nargs)], **{k: _Kw(k) for k in kwnames})
    plan = []
    for name, p in sig.parameters.items():
        if name in bound.arguments:
            v = bound.arguments[name]
            if p.kind is p.VAR_POSITIONAL:
                plan.append(("varpos", tuple(x.i for x in v)))
            elif p.kind is p.VAR_KEYWORD:
                plan.append(("varkw", tuple((k, x.k) for k, x in v.items())))
            else:
                plan.append(("pos", v.i) if isinstance(v, _Pos) else ("kw", v.k))
        elif p.kind is p.VAR_POSITIONAL:
            plan.append(("varpos", ()))
        elif p.kind is p.VAR_KEYWORD:
            plan.append(("varkw", ()))
        else:
            plan.append(("default", p.default))
    plan = tuple(plan)
    _plan_cache[key] = plan
    return plan


def bind(plan, args, kwargs) -> list:
    out = []
    for kind, src in plan:
        if kind == "pos":
            out.append(args[src])
        elif kind == "kw":
            out.append(kwargs[src])
        elif kind == "default":
            out.append(src)
        elif kind == "varpos":
            out.append(tuple(args[i] for i in src))
        else:
            out.append({k: kwargs[name] for k, name in src})
    return out


def unbind(plan, cts, nargs: int, kwnames: tuple):
    """Cotangents of the entry parameters -> (cotangents of positional args, of keyword args in order)."""
    dargs = [None] * nargs
    dkw = {}
    for (kind, src), ct in zip(plan, cts):
        if kind == "pos":
            dargs[src] = ct
        elif kind == "kw":
            dkw[src] = ct
        elif kind == "varpos":
            for j, i in enumerate(src):
                dargs[i] = ct[j] if ct is not None else None
        elif kind == "varkw":
            for k, name in src:
                dkw[name] = ct.get(k) if isinstance(ct, dict) else None
    return dargs, [dkw.get(k) for k in kwnames]


# ---------------------------------------------------------------------------------------------------------------
# The cache

@dataclass
class Derived:
    transform: object  # adjoint.Transform
    forward: object  # callable(*entry) -> (y, tape)
    adjoint: object  # callable(tape, dy) -> tuple of entry cotangents
    assumptions: list
    version: int

    def valid(self) -> bool:
        if self.version != registry.version():
            return False
        for ns, name, value in self.assumptions:
            if ns.get(name) is not value:  # a name missing at trace time was recorded as None
                return False
        return True


_cache: dict = {}
_lock = threading.RLock()
_stats = {"hits": 0, "misses": 0, "traces": 0}


def entry_types(func, entry) -> tuple:
    """Abstract types of the entry arguments."""
    out = []
    for i, v in enumerate(entry):
        # A closure stands for itself (inference reads the types of what it captured); the cache key holds those
        # types (`closure_key`), never the function's identity, so closures made afresh share the derivation.
        out.append(T.Constant(v) if i == 0 and func.__code__.co_freevars else T.typeof(v))
    return tuple(out)


_EMPTY_CELL = object()


def closure_key(func) -> tuple:
    """fast_key of what each closure cell holds now."""
    out = []
    for cell in func.__closure__ or ():
        try:
            out.append(fast_key(cell.cell_contents))
        except ValueError:  # an empty cell
            out.append(_EMPTY_CELL)
    return tuple(out)


_PLAIN_SCALARS = (float, int, bool, complex, str, type(None))


def fast_key(v, depth: int = 0):
    """A cheap, hashable key of a value's abstract type: equal keys imply equal `types.typeof` (a key may be finer
    than the type, never coarser), so the cache can be probed without building Types."""
    t = type(v)
    if t in _PLAIN_SCALARS:
        return t
    if t is np.ndarray:
        return (t, v.dtype, v.ndim)
    if isinstance(v, np.generic):
        return t
    if isinstance(v, (types.MethodType, types.BuiltinMethodType)):
        owner = v.__self__
        if owner is not None and not isinstance(owner, types.ModuleType):
            return (t, _Identity(owner), v.__name__)  # made afresh on each access: keyed by what it binds
    if isinstance(v, (types.FunctionType, types.BuiltinFunctionType, type, types.ModuleType, np.ufunc)):
        return _Identity(v)  # typeof gives Constant(v)
    if depth >= T.MAX_DEPTH:
        return t  # typeof gives Any this deep
    if t is tuple:
        return (t,) + tuple(fast_key(x, depth + 1) for x in v)
    if t is list:
        if v and type(v[0]) in _PLAIN_SCALARS and all(type(x) is type(v[0]) for x in v):
            return (t, type(v[0]))
        return (t, len(v)) + tuple(fast_key(x, depth + 1) for x in v)
    if t is dict:
        return (t,) + tuple((fast_key(k, depth + 1), fast_key(x, depth + 1)) for k, x in v.items())
    dct = getattr(v, "__dict__", None)
    if isinstance(dct, dict):
        return (t,) + tuple((k, fast_key(x, depth + 1)) for k, x in dct.items())
    return _Identity(v)


class _Identity:
    """A key that is the object itself, compared by identity (and holding it, so its id is never reused)."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __hash__(self):
        return id(self.obj)

    def __eq__(self, other):
        return isinstance(other, _Identity) and other.obj is self.obj


def derived(func, entry, closure_active: bool = True, mask=None) -> Derived:
    """The derivation for these entry arguments; `mask` (one bool per entry argument) marks the ones the caller
    wants cotangents for (None: all).  Probed with `fast_key`; Types are built only on a miss."""
    closure = bool(func.__code__.co_freevars)
    keys = tuple(closure_key(v) if (i == 0 and closure) else fast_key(v) for i, v in enumerate(entry))
    # The globals dict is part of the key: the same code run with other globals resolves names differently.
    key = (func.__code__, _Identity(func.__globals__), keys, mask, closure_active)
    d = _cache.get(key)
    if d is not None and d.valid():
        _stats["hits"] += 1
        return d
    with _lock:
        d = _cache.get(key)
        if d is not None and d.valid():
            return d
        _stats["misses"] += 1
        active = tuple(has_float_data(v) for v in entry)
        if mask is not None:
            active = tuple(a and m for a, m in zip(active, mask))
        if not closure_active and closure:
            active = (False,) + active[1:]
        d = _derive(func, entry_types(func, entry), active)
        _cache[key] = d
        return d


def _derive(func, argtypes, active) -> Derived:
    from .adjoint import transform
    from .inliner import inline_calls
    from .passes import simplify
    from .execute import executable
    from .pipeline import typed_ir
    from .rewrites import rewrite
    _stats["traces"] += 1
    version = registry.version()
    ir = rewrite(simplify(inline_calls(typed_ir(func, list(argtypes)))))
    if len(ir.entry.args) != len(argtypes):
        raise UnsupportedError(f"{func.__qualname__}: the traced IR takes {len(ir.entry.args)} arguments, "
                               f"the call binds {len(argtypes)}")
    t = transform(ir, active)
    return Derived(t, executable(t.forward), executable(t.adjoint), list(ir.meta.assumptions), version)


def entry_mask(plan, nlead: int, mask) -> tuple:
    """The caller's per-operand activity (positional operands, then keyword operands in order) mapped onto the
    entry parameters; leading arguments (a bound method's self) count as active, defaults as constants."""
    out = []
    for kind, src in plan:
        if kind == "pos":
            out.append(src < nlead or mask[src - nlead])
        elif kind == "kw":
            out.append(mask.kw(src))
        elif kind == "default":
            out.append(False)
        elif kind == "varpos":
            out.append(any(i < nlead or mask[i - nlead] for i in src))
        else:
            out.append(any(mask.kw(name) for _, name in src))
    return tuple(out)


class OperandMask(tuple):
    """Activity of a call's operands: positional ones by index, keyword ones by name (`kw`)."""

    def __new__(cls, positional, keywords: dict):
        self = super().__new__(cls, positional)
        self.keywords = keywords
        return self

    def kw(self, name) -> bool:
        return self.keywords.get(name, True)


def call_derived(f, target, args, kwargs, closure_active: bool = True, mask=None):
    """(y, pullback) for a call of Python code; pullback(dy) -> (df, *dargs, *dkwargs).  With `closure_active`
    false (a top-level call, whose own cotangent nobody asks for) what a closure captured is not differentiated."""
    func, lead, kind = target
    kwnames = tuple(kwargs)
    full = lead + args
    plan = binding_plan(func, len(full), kwnames)
    entry = bind(plan, full, kwargs)
    closure = bool(func.__code__.co_freevars)
    if closure:
        entry = [func] + entry
    emask = None
    if mask is not None:
        emask = entry_mask(plan, len(lead), mask)
        if closure:
            emask = (True,) + emask
    d = derived(func, entry, closure_active, emask)
    y, tape = d.forward(*entry)
    nlead = len(lead)

    def pullback(dy):
        if dy is None:  # a zero cotangent: the adjoint itself is never run with None
            return (None,) * (1 + len(args) + len(kwnames))
        cts = d.adjoint(tape, dy)
        dfunc = None
        if closure:
            dfunc, cts = cts[0], cts[1:]
        dargs, dkw = unbind(plan, cts, len(full), kwnames)
        if kind == "method":
            dfunc = dargs[0]
        return (dfunc, *dargs[nlead:], *dkw)
    return y, pullback


def cache_info() -> dict:
    return {"entries": len(_cache), **_stats}


def clear_cache() -> None:
    with _lock:
        _cache.clear()
        _plan_cache.clear()
        _sig_cache.clear()
        for k in _stats:
            _stats[k] = 0
