"""Derived forward and adjoint functions for Python code, one per signature, cached.

A signature is (code object, the abstract type of every entry argument, which arguments are active).  A cache
entry also remembers what its trace assumed about the world (`IR.meta.assumptions`: each global, builtin and
module attribute it resolved) and the rule registry's version; a rebinding or a new rule makes the next call
derive again, so a stale derivative is never run.
"""
from __future__ import annotations

import inspect
import operator
import threading
import types

import numpy as np
from dataclasses import dataclass

from . import types as T
from .errors import UnsupportedError
from .ir import Const
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

class _Pos:
    __slots__ = ("i",)

    def __init__(self, i):
        self.i = i


class _Kw:
    __slots__ = ("k",)

    def __init__(self, k):
        self.k = k


# Binding plans by code object: (id(code), nargs, kwnames) -> (code, __defaults__, copy of __kwdefaults__, plan).
# Keyed by the code, not the function, so closures made afresh share a plan and are not kept alive by the cache;
# a plan holds default values, so it is reused only while the function's defaults are the very same objects.
_plan_cache: dict = {}
# Function attributes through which `inspect.signature` would not read the signature off the code and defaults.
_SIGNATURE_ATTRS = ("__wrapped__", "__signature__", "_partialmethod", "__partialmethod__")
_MISSING = object()


def _same_kwdefaults(saved, now) -> bool:
    if saved is None or now is None:
        return saved is now
    return len(saved) == len(now) and all(now.get(k, _MISSING) is v for k, v in saved.items())


def binding_plan(func, nargs: int, kwnames: tuple):
    """For each parameter of `func` in order: where its value comes from (a positional index, a keyword name, a
    default, or for *args/**kwargs a tuple/dict of those)."""
    code = func.__code__
    dct = func.__dict__
    by_code = not dct or not any(a in dct for a in _SIGNATURE_ATTRS)
    if by_code:
        key = (id(code), nargs, kwnames)
        hit = _plan_cache.get(key)
        if hit is not None and hit[0] is code and hit[1] is func.__defaults__ \
                and _same_kwdefaults(hit[2], func.__kwdefaults__):
            return hit[3]
    sig = inspect.signature(func)
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
    if by_code:
        kwd = func.__kwdefaults__
        _plan_cache[key] = (code, func.__defaults__, None if kwd is None else dict(kwd), plan)
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
    # `gradient`'s forward when it need not compute the result (value_free.py): made on first use, False if none
    value_free: object = None
    # The adjoint calls nothing made at run time (no pullback closure from the tape): then it cannot reach the
    # cotangents of closure cells, and a top-level call need not give it a store of its own (api._steady_back).
    cell_free: bool = False

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


# ---------------------------------------------------------------------------------------------------------------
# Guards: the cache probe of the steady state
#
# A guard is generated Python, one per cache entry, in the style of torch.dynamo's: straight-line checks that hold
# only when the keyed probe would find the entry's derivation (the same globals dict, and `fast_key` of every entry
# argument and captured value equal to the stored one, checked as `type(x) is ndarray and x.dtype is ...` without
# building keys; see _GuardSource) and the derivation is still valid (the rule registry's version, then each
# assumption of the trace as `ns[name] is value`).  Guards are found by the code object's identity and tried newest first;
# when none holds, `derived` takes the keyed path, which is the reference.  A guard that raises does not hold.

_guards: dict = {}  # (id(code), closure_active, mask) -> tuple of _Guard, newest first
# id(code) -> _guards[id(code), False, None] for code whose parameters are exactly its positional ones, so that a
# top-level call binds its arguments as they are (the fast path of `api.gradient`)
_entry_guards: dict = {}
MAX_GUARDS = 16  # per code object and activity: the keyed cache serves the rest
_unguarded: set = set()  # cache keys served by the keyed path alone (see _install_guard)


class _Guard:
    __slots__ = ("key", "code", "d", "check", "source", "ruled")

    def __init__(self, key, code, d, check, source):
        self.key, self.code, self.d, self.check, self.source = key, code, d, check, source
        # Does a callable running this code (a function, a bound method, a callable object) have a rule of its own?
        # Then a caller must look its callable up; if not, a rule registered later changes the registry's version,
        # which the guard checks.
        self.ruled = any(t is not None and t[0].__code__ is code for t in map(python_target, registry.registered()))


class _GuardSource:
    """Writes the checks under which a value has a given `fast_key`, one statement a line, each returning False
    when it fails.  Each check is exact for the key shapes it handles (the type, then what the key holds: an
    array's dtype and ndim, a tuple's items by unpacking, an object's attributes), and any other shape is compared
    with `fast_key` itself, so a guard never holds where the key would differ."""

    def __init__(self):
        self.consts = {"_fast_key": fast_key, "_ndarray": np.ndarray, "_count": operator.countOf, "_map": map,
                       "_type": type, "_len": len, "_tuple": tuple, "_dict": dict, "_list": list}
        self.lines = []
        self.nvars = 0

    def const(self, value) -> str:
        for name, v in self.consts.items():
            if v is value:
                return name
        name = f"_k{len(self.consts)}"
        self.consts[name] = value
        return name

    def var(self) -> str:
        self.nvars += 1
        return f"_v{self.nvars}"

    def fail_if(self, cond: str) -> None:
        self.lines.append(f"if {cond}: return False")

    def unpack(self, v: str, n: int) -> list:
        """Names for the n items of the sequence v (a ValueError, so no guard, when it has more or fewer)."""
        if n == 0:
            self.fail_if(v)
            return []
        names = [self.var() for _ in range(n)]
        self.lines.append(f"{', '.join(names)}, = {v}")
        return names

    def value(self, v: str, key, depth: int) -> None:
        """Checks that the value named `v` has fast_key(value, depth) == key."""
        if isinstance(key, type) and not issubclass(key, _OWNED):
            self.fail_if(f"_type({v}) is not {self.const(key)}")
            return
        if type(key) is _Identity:
            self.fail_if(f"{v} is not {self.const(key.obj)}")
            return
        if type(key) is tuple and key and depth < T.MAX_DEPTH:
            t = key[0]
            if t is np.ndarray and len(key) == 3:
                dt = self.const(key[1])
                self.fail_if(f"_type({v}) is not _ndarray or not ({v}.dtype is {dt} or {v}.dtype == {dt}) "
                             f"or {v}.ndim != {key[2]!r}")
                return
            if t is tuple:
                self.fail_if(f"_type({v}) is not _tuple")
                for name, k in zip(self.unpack(v, len(key) - 1), key[1:]):
                    self.value(name, k, depth + 1)
                return
            if t is list and len(key) == 2 and key[1] in _PLAIN_SCALARS:
                self.fail_if(f"_type({v}) is not _list or not {v} "
                             f"or _count(_map(_type, {v}), {self.const(key[1])}) != _len({v})")
                return
            if t is list and len(key) >= 2 and type(key[1]) is int:
                self.fail_if(f"_type({v}) is not _list")
                for name, k in zip(self.unpack(v, key[1]), key[2:]):
                    self.value(name, k, depth + 1)
                return
            if (isinstance(t, type) and t not in (tuple, list, dict) and not issubclass(t, _OWNED)
                    and all(type(e) is tuple and len(e) == 2 and type(e[0]) is str for e in key[1:])):
                # An object keyed by its __dict__: its class, as many attributes, each name found and its value's
                # key.  Not the attributes' order, which the key holds but `typeof` (which sorts them) and
                # `has_float_data` (true of any such object) ignore: the derivation is the one for this key.
                self.fail_if(f"_type({v}) is not {self.const(t)}")
                dv = self.var()
                self.lines.append(f"{dv} = {v}.__dict__")
                self.fail_if(f"_type({dv}) is not _dict or _len({dv}) != {len(key) - 1}")
                for name, k in key[1:]:
                    a = self.var()
                    self.lines.append(f"{a} = {dv}[{name!r}]")
                    self.value(a, k, depth + 1)
                return
        self.fail_if(f"not _fast_key({v}, {depth}) == {self.const(key)}")


# Types whose fast_key depends on more than the type (a bound method: on what it is bound to).
_OWNED = (types.MethodType, types.BuiltinMethodType)


def _make_guard(key, func, entry, keys, d) -> _Guard:
    g = _GuardSource()
    closure = bool(func.__code__.co_freevars)
    g.fail_if(f"func.__globals__ is not {g.const(func.__globals__)}")
    # (how many entry arguments and cells there are is fixed by the code: unpacking checks it all the same)
    names = g.unpack("entry", len(keys))
    for i, (v, k) in enumerate(zip(names, keys)):
        if i == 0 and closure:
            for c, ck in zip(g.unpack("func.__closure__", len(k)), k):
                if ck is _EMPTY_CELL:
                    g.consts["_empty"] = _cell_is_empty
                    g.fail_if(f"not _empty({c})")
                else:
                    x = g.var()
                    g.lines.append(f"{x} = {c}.cell_contents")  # a ValueError when empty: no guard
                    g.value(x, ck, 0)
        else:
            g.value(v, k, 0)
    # validity: the registry's version, then the assumptions (each namespace and name once)
    g.fail_if(f"{g.const(registry._version)}[0] != {d.version!r}")
    seen = set()
    for ns, name, value in d.assumptions:
        if (id(ns), name, id(value)) in seen:
            continue
        seen.add((id(ns), name, id(value)))
        n, v = g.const(ns), g.const(value)
        if value is None or type(ns) is not dict or type(name) is not str:
            g.fail_if(f"{n}.get({g.const(name)}) is not {v}")
        else:
            g.fail_if(f"{n}[{name!r}] is not {v}")
    body = "".join(f"        {line}\n" for line in g.lines)
    src = (f"def guard(func, entry):\n"
           f"    try:\n"
           f"{body}"
           f"    except Exception:\n"
           f"        return False\n"
           f"    return True\n")
    ns = dict(g.consts)
    exec(compile(src, f"<irgrad guard {func.__qualname__}>", "exec"), ns)
    return _Guard(key, func.__code__, d, ns["guard"], src)


def _cell_is_empty(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return True
    return False


def probe(func, entry, closure_active: bool = True, mask=None):
    """The derivation a guard proves applies to this call, or None (then `derived` decides)."""
    gs = _guards.get((id(func.__code__), closure_active, mask))
    if gs is not None:
        for g in gs:
            if g.check(func, entry):
                _stats["hits"] += 1
                return g.d
    return None


def _install_guard(key, func, entry, keys, closure_active, mask, d) -> None:
    gkey = (id(func.__code__), closure_active, mask)
    old = _guards.get(gkey, ())
    if any(g.d is d for g in old) or key in _unguarded:
        return
    keep = tuple(o for o in old if o.key != key and o.d.valid())
    g = None if len(keep) >= MAX_GUARDS else _make_guard(key, func, entry, keys, d)
    if g is None or not g.check(func, entry):
        # Many signatures of one code (evicting guards would compile them on and on), or a value whose key the
        # guard cannot read back: the keyed path serves this key from now on.
        _unguarded.add(key)
        return
    _guards[gkey] = gs = (g,) + keep
    code = func.__code__
    if not closure_active and mask is None and not code.co_kwonlyargcount \
            and not code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS):
        _entry_guards[id(code)] = gs


def derived(func, entry, closure_active: bool = True, mask=None) -> Derived:
    """The derivation for these entry arguments; `mask` (one bool per entry argument) marks the ones the caller
    wants cotangents for (None: all).  Probed by the guards, then with `fast_key`; Types are built only on a miss."""
    d = probe(func, entry, closure_active, mask)
    if d is not None:
        return d
    closure = bool(func.__code__.co_freevars)
    keys = tuple(closure_key(v) if (i == 0 and closure) else fast_key(v) for i, v in enumerate(entry))
    # The globals dict is part of the key: the same code run with other globals resolves names differently.
    key = (func.__code__, _Identity(func.__globals__), keys, mask, closure_active)
    d = _cache.get(key)
    if d is not None and d.valid():
        _stats["hits"] += 1
        with _lock:
            _install_guard(key, func, entry, keys, closure_active, mask, d)
        return d
    with _lock:
        d = _cache.get(key)
        if d is not None and d.valid():
            _install_guard(key, func, entry, keys, closure_active, mask, d)
            return d
        _stats["misses"] += 1
        active = tuple(has_float_data(v) for v in entry)
        if mask is not None:
            active = tuple(a and m for a, m in zip(active, mask))
        if not closure_active and closure:
            active = (False,) + active[1:]
        d = _derive(func, entry_types(func, entry), active)
        _cache[key] = d
        _install_guard(key, func, entry, keys, closure_active, mask, d)
        return d


def specialised_ir(func, argtypes):
    """The primal IR the AD transform sees for these entry types: typed, calls fixed by the types inlined,
    simplified, rewritten (loops, idioms).  What runs, and what `irdump --adjoint/--python` show."""
    from .inliner import inline_calls
    from .passes import simplify
    from .pipeline import typed_ir
    from .rewrites import rewrite
    return rewrite(simplify(inline_calls(typed_ir(func, list(argtypes)))))


def value_free_forward(d: Derived):
    """(forward, adjoint, cell_free) of d without the result (`value_free.py`), compiled on first use; False when
    there is none (the result is not certainly a float64 scalar, or nothing would be left out).  Where a
    cross-entropy's log-probabilities are read by nothing else, the primal is transformed again with the two merged
    (its own forward and adjoint); otherwise d's adjoint serves."""
    if d.value_free is None:
        from .adjoint import transform
        from .execute import executable
        from .value_free import merge_cross_entropy, value_free_ir
        with _lock:
            if d.value_free is None:
                t = d.transform
                primal = t.primal.copy()
                if merge_cross_entropy(primal):
                    t = transform(primal, tuple(a in d.transform.active for a in primal.entry.args))
                ir = value_free_ir(t.forward)
                if ir is None:
                    d.value_free = False
                elif t is d.transform:
                    d.value_free = (executable(ir), d.adjoint, d.cell_free)
                else:
                    d.value_free = (executable(ir), executable(t.adjoint), _cell_free(t))
    return d.value_free


def _cell_free(t) -> bool:
    return all(isinstance(st.fn, Const) for _, st in t.adjoint.stmts())


def _derive(func, argtypes, active) -> Derived:
    from .adjoint import transform
    from .execute import executable
    _stats["traces"] += 1
    version = registry.version()
    ir = specialised_ir(func, argtypes)
    if len(ir.entry.args) != len(argtypes):
        raise UnsupportedError(f"{func.__qualname__}: the traced IR takes {len(ir.entry.args)} arguments, "
                               f"the call binds {len(argtypes)}")
    t = transform(ir, active)
    return Derived(t, executable(t.forward), executable(t.adjoint), list(ir.meta.assumptions), version,
                   cell_free=_cell_free(t))


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
        _guards.clear()
        _entry_guards.clear()
        _unguarded.clear()
        for k in _stats:
            _stats[k] = 0
