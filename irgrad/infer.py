"""Type inference by abstract interpretation, from the argument types over the whole control-flow graph.

`infer(ir, argtypes)` sets `Block.argtypes` and `Stmt.type` in place.  It sweeps the blocks in reverse post-order,
joining the types that reach each block argument (`types.join`), and repeats until nothing changes; a type still
changing after `WIDEN_AFTER` sweeps becomes `Any`, so loops terminate.

The type of a call comes from, in order:
1. a rule in `infer_rules.RULES` keyed by the callable (containers, iteration, attributes, builtins with simple answers);
2. for the shape-polymorphic NumPy, `operator` and `math` callables listed in `infer_rules.SPECIMEN_OK`, the
   *specimen* trick: call the function on tiny stand-in values of the argument types (arrays whose every dimension
   is 1, `1.0` for a float ...) and take the type of what comes back, so dtype promotion, broadcasting of ndim,
   reductions with `axis`/`keepdims`, `@` and basic indexing are NumPy's own answers;
3. for Python functions, methods and callable objects, inference through the callee's own IR (memoised per
   argument types, with a guard against recursion);
4. otherwise `Any`.  Correctness of the IR never depends on these types.
"""
from __future__ import annotations

import inspect
import types as _pytypes

import numpy as np

from . import cfg
from .errors import IrgradError, UnsupportedError
from .infer_rules import RULES, const_type, random_call, specimen_call, specimen_method_ok, specimen_ok
from .ir import IR, Return, Var
from .types import ANY, Array, Constant, Dict, Instance, List, Method, Scalar, Tuple, Type, join, join_all, typeof

WIDEN_AFTER = 6  # sweeps after which a type that still changes is widened to Any
MAX_DEPTH = 6  # nesting of inference through callees


class _Context:
    """Shared by one top-level `infer` and all the callees it looks into."""

    def __init__(self):
        self.memo: dict = {}  # (function, argtypes) -> return type
        self.active: list = []  # callee keys being inferred (the recursion guard)


def infer(ir: IR, argtypes=None, *, _ctx: _Context | None = None) -> IR:
    """Infer the types of `ir` from `argtypes` (one per entry block argument; default: those already set)."""
    if argtypes is not None:
        argtypes = list(argtypes)
        if len(argtypes) != len(ir.entry.args):
            raise IrgradError(f"{ir.where()}: {len(argtypes)} argument types given for "
                              f"{len(ir.entry.args)} arguments {ir.meta.argnames}")
        ir.entry.argtypes = argtypes
    _Inference(ir, _ctx or _Context()).run()
    return ir


def return_type(ir: IR) -> Type:
    """The join of the types of every value the IR returns (Any when it never returns)."""
    env = ir.types()
    ts = []
    for b in ir.blocks:
        if isinstance(b.term, Return):
            v = b.term.value
            ts.append(env.get(v, ANY) if isinstance(v, Var) else const_type(v.value))
    return join_all(ts)


class _Inference:
    def __init__(self, ir: IR, ctx: _Context):
        self.ir = ir
        self.ctx = ctx
        self.env: dict = {}

    def run(self) -> None:
        ir, env = self.ir, self.env
        order = cfg.reverse_postorder(ir)
        intypes: dict = {ir.entry: list(ir.entry.argtypes)}
        for rnd in range(10 * WIDEN_AFTER + 10):
            changed = False
            for b in order:
                ins = intypes.get(b)
                if ins is None:
                    continue  # not reached yet
                env.update(zip(b.args, ins))
                for s in b.stmts:
                    t = self.stmt_type(s)
                    old = env.get(s.var)
                    if old != t:
                        if rnd >= WIDEN_AFTER and old is not None:
                            t = ANY
                        if old != t:
                            env[s.var] = t
                            changed = True
                for target, args in b.term.edges():
                    new = [self.operand(a, missing=None) for a in args]
                    old = intypes.get(target)
                    if old is None:
                        merged = [ANY if t is None else t for t in new]
                    else:
                        merged = [o if n is None else join(o, n) for o, n in zip(old, new)]
                        if rnd >= WIDEN_AFTER:
                            merged = [o if o == m else ANY for o, m in zip(old, merged)]
                    if merged != old:
                        intypes[target] = merged
                        changed = True
            if not changed:
                break
        for b in ir.blocks:
            if b in intypes:
                b.argtypes = list(intypes[b])
            for s in b.stmts:
                s.type = env.get(s.var, ANY)

    def operand(self, x, missing=ANY):
        if isinstance(x, Var):
            return self.env.get(x, missing)
        return const_type(x.value)

    def stmt_type(self, s) -> Type:
        try:
            return self.call(self.operand(s.fn), [self.operand(a) for a in s.args],
                             {k: self.operand(v) for k, v in s.kwargs})
        except RecursionError:
            return ANY

    # -----------------------------------------------------------------------------------------------------------
    # Calls

    def call(self, ft: Type, args: list, kwargs: dict) -> Type:
        """The type of calling a value of type `ft` with arguments of these types."""
        if isinstance(ft, Method):
            return self.call(Constant(ft.func), [ft.self] + args, kwargs)
        if isinstance(ft, Instance):
            call = inspect.getattr_static(ft.cls, "__call__", None)
            if isinstance(call, _pytypes.FunctionType):
                return self.through(call, [ft] + args, kwargs)
            return ANY
        if not isinstance(ft, Constant):
            return ANY
        f = ft.value
        try:
            rule = RULES.get(f)
        except TypeError:  # an unhashable callable
            rule = None
        if rule is not None:
            t = rule(self, args, kwargs)
            if t is not None:
                return t
        if specimen_method_ok(f):
            return random_call(f, args, kwargs)
        if specimen_ok(f):
            return specimen_call(f, args, kwargs)
        if isinstance(f, _pytypes.MethodType):
            return self.call(Constant(f.__func__), [const_type(f.__self__)] + args, kwargs)
        if isinstance(f, _pytypes.FunctionType):
            return self.through(f, args, kwargs)
        if isinstance(f, type) and f.__module__ not in ("builtins", "numpy"):
            return Instance(f)
        return ANY

    def through(self, f, args: list, kwargs: dict) -> Type:
        """Return type of the Python function `f` by inferring its own IR for these argument types."""
        key = (f, tuple(args), tuple(sorted(kwargs.items(), key=lambda kv: kv[0])))
        try:
            hash(key)
        except TypeError:
            return ANY
        if key in self.ctx.memo:
            return self.ctx.memo[key]
        if key in self.ctx.active or len(self.ctx.active) >= MAX_DEPTH:
            return ANY
        self.ctx.active.append(key)
        try:
            t = self._through(f, args, kwargs)
        finally:
            self.ctx.active.pop()
        self.ctx.memo[key] = t
        return t

    def _through(self, f, args, kwargs) -> Type:
        from .frontend import trace  # the frontend comes before inference in the pipeline
        from .passes import simplify
        argtypes = bind_types(f, args, kwargs)
        if argtypes is None:
            return ANY  # the call would raise TypeError
        try:
            ir = trace(f)
        except (UnsupportedError, IrgradError):
            return ANY
        if ir.meta.has_self:
            argtypes = [Constant(f)] + argtypes
        if len(argtypes) != len(ir.entry.args):
            return ANY
        simplify(ir)
        infer(ir, argtypes, _ctx=self.ctx)
        return return_type(ir)

    # -----------------------------------------------------------------------------------------------------------
    # Attributes

    def getattr(self, t: Type, name: str) -> Type:
        if isinstance(t, Instance):
            a = t.attr(name)
            if a is not None:
                return a
            return self.class_attr(t.cls, name, t)
        if isinstance(t, Constant):
            v = t.value
            if isinstance(v, type):
                return self.class_attr(v, name, None)
            try:
                static = inspect.getattr_static(v, name)
            except AttributeError:
                return ANY
            if isinstance(v, _pytypes.ModuleType) or not hasattr(type(static), "__get__"):
                value = getattr(v, name)
                return const_type(value) if callable(value) or isinstance(value, (type, _pytypes.ModuleType)) \
                    else typeof(value)
            return Constant(getattr(v, name)) if callable(static) else ANY
        if isinstance(t, (Array, Scalar)):
            owner = np.ndarray if isinstance(t, Array) else t.pytype
            try:
                static = inspect.getattr_static(owner, name)
            except AttributeError:
                return ANY
            if callable(static) and not isinstance(static, type):
                return Method(static, t)
            return specimen_call(getattr, [t, Constant(name)], {})
        if isinstance(t, (List, Tuple, Dict)):
            owner = {List: list, Tuple: tuple, Dict: dict}[type(t)]
            static = getattr(owner, name, None)
            return Method(static, t) if callable(static) else ANY
        return ANY

    def class_attr(self, cls, name, self_type) -> Type:
        try:
            a = inspect.getattr_static(cls, name)
        except AttributeError:
            return ANY
        if isinstance(a, staticmethod):
            return Constant(a.__func__)
        if isinstance(a, classmethod):
            return Method(a.__func__, Constant(cls))
        if isinstance(a, property):
            return self.through(a.fget, [self_type], {}) if self_type is not None and a.fget else ANY
        if isinstance(a, _pytypes.FunctionType):
            return Method(a, self_type) if self_type is not None else Constant(a)
        if hasattr(type(a), "__get__"):
            return ANY  # another descriptor: unknown
        return const_type(a) if callable(a) else typeof(a)


def bind_types(f, args: list, kwargs: dict):
    """The entry argument types of `f` for a call with these argument types (defaults taken by `typeof`), in the
    IR's parameter order; None when the call does not bind."""
    try:
        sig = inspect.signature(f, follow_wrapped=False)
    except (TypeError, ValueError):
        return None
    slots = [_Slot(t) for t in args]
    try:
        bound = sig.bind(*slots, **{k: _Slot(t) for k, t in kwargs.items()})
    except TypeError:
        return None
    bound.apply_defaults()
    out = []
    for name, p in sig.parameters.items():
        v = bound.arguments[name]
        if p.kind is p.VAR_POSITIONAL:
            out.append(Tuple(tuple(_slot_type(x) for x in v)))
        elif p.kind is p.VAR_KEYWORD:
            out.append(Dict(Scalar(str), join_all([_slot_type(x) for x in v.values()])) if v else Dict(ANY, ANY))
        else:
            out.append(_slot_type(v))
    return out


class _Slot:
    __slots__ = ("t",)

    def __init__(self, t):
        self.t = t


def _slot_type(x) -> Type:
    return x.t if isinstance(x, _Slot) else typeof(x)


