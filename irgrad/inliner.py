"""Inlining of calls to Python functions known while tracing (a resolved global such as `dense` or `horner`).

The callee's typed IR, specialised to the caller's operand types, is spliced into the caller: the calling block is
split at the call, jumps into a copy of the callee's blocks, and every `return` of the callee jumps to the rest of
the calling block with the returned value as its block argument.  The derived code then runs as one function: no
per-call dispatch, binding, signature or cache look-up, and the AD pass sees (and can inline the rules of) every
operation.  Callees with a registered rule, recursive callees, and large ones stay calls; so does any callee the
frontend cannot trace (its error is raised when the call actually runs, as before).

The caller's cache entry takes over the callee's assumptions (its resolved globals), so rebinding a global the
callee used makes the caller derive again.
"""
from __future__ import annotations

import types

from . import ops
from .errors import IrgradError
from .ir import IR, Block, Br, CondBr, Const, Raise, Return, Stmt, Var
from .rules.registry import lookup
from .runtime import STORES
from .types import ANY, Constant, Instance, Method, typeof

MAX_STMTS = 400  # a callee larger than this (after its own inlining) stays a call
MAX_DEPTH = 4


def _inlinable(f) -> bool:
    # irgrad's own runtime operations (ops.cell_set ...) are primitives of the IR, never inlined.
    return isinstance(f, types.FunctionType) and lookup(f)[0] is None and \
        f.__module__ not in _PRIMITIVE_MODULES and f not in STORES


_PRIMITIVE_MODULES = ("irgrad.ops", "irgrad.runtime")


def inline_calls(ir: IR, _stack: tuple = ()) -> IR:
    """Inline, in place, every call of a constant Python function that qualifies; returns the IR."""
    if len(_stack) >= MAX_DEPTH:
        return ir
    code = ir.meta.code
    stack = _stack + ((code,) if code is not None else ())
    typemap = ir.types()
    defs = {s.var: s for _, s in ir.stmts()}
    failed: set = set()
    work = list(ir.blocks)
    while work:
        b = work.pop(0)
        for j, s in enumerate(b.stmts):
            _fix_callee(s, typemap)
            target = _static_callee(s, typemap, defs)
            if target is None:
                continue
            f, lead = target
            if f.__code__ in stack or f.__code__ in failed:
                continue
            if lead:  # a method or callable object: the callee takes self first
                s = Stmt(s.var, Const(f), tuple(lead) + s.args, s.kwargs, s.type, s.line)
            found = _callee_ir(f, s, typemap, stack)
            if found is None:
                failed.add(f.__code__)
                continue
            callee, pre, operands = found
            post = _splice(ir, b, j, s, callee, pre, operands)
            ir.meta.assumptions.extend(callee.meta.assumptions)
            typemap.update(callee.types())
            defs.update({cs.var: cs for cs in post.stmts})
            work.insert(0, post)
            break
    return ir


def _fix_callee(s: Stmt, typemap) -> None:
    """A call through a variable whose type is one known callable that is not Python code (a ufunc, a builtin)
    calls that callable directly, so its rule (or inline rule) is chosen now, not on each call."""
    if isinstance(s.fn, Var):
        t = typemap.get(s.fn)
        if isinstance(t, Constant) and callable(t.value) and not _inlinable(t.value) \
                and not isinstance(t.value, types.MethodType):
            s.fn = Const(t.value)


def _static_callee(s: Stmt, typemap, defs):
    """(function, leading operands) when the statement calls Python code that is fixed by the IR's types: a
    constant function, a variable typed as a known function, a bound method, or an instance of a class whose
    `__call__` is Python.  The types come from the derivation's signature, so they hold on every call."""
    fn = s.fn
    if isinstance(fn, Const):
        return (fn.value, ()) if _inlinable(fn.value) else None
    t = typemap.get(fn)
    if isinstance(t, Constant):
        v = t.value
        if _inlinable(v):
            return v, ()
        if isinstance(v, types.MethodType) and _inlinable(v.__func__):
            return v.__func__, (Const(v.__self__),)
        return None
    if isinstance(t, Method) and _inlinable(t.func):
        src = defs.get(fn)  # `%m = getattr(%obj, 'name')`: the method's self is %obj
        if src is not None and src.fn == Const(getattr) and len(src.args) == 2:
            return t.func, (src.args[0],)
        return None
    if isinstance(t, Instance) and not issubclass(t.cls, type):
        call = getattr(t.cls, "__call__", None)
        if _inlinable(call):
            return call, (fn,)
    return None


def _operand_type(x, typemap):
    if isinstance(x, Var):
        return typemap.get(x, ANY)
    return typeof(x.value)


def _entry_operands(f, s: Stmt):
    """The callee's entry-block operands for this call (defaults as constants, *args/**kwargs built)."""
    from .derive import binding_plan
    kwnames = tuple(k for k, _ in s.kwargs)
    kwvals = dict(s.kwargs)
    try:
        plan = binding_plan(f, len(s.args), kwnames)
    except TypeError:
        return None  # the call does not bind: let it raise at run time
    out = [Const(f)] if f.__code__.co_freevars else []
    pre = []
    for kind, src in plan:
        if kind == "pos":
            out.append(s.args[src])
        elif kind == "kw":
            out.append(kwvals[src])
        elif kind == "default":
            out.append(Const(src))
        elif kind == "varpos":
            v = Var("args")
            pre.append(Stmt(v, Const(ops.build_tuple), tuple(s.args[i] for i in src), (), ANY, s.line))
            out.append(v)
        else:
            v = Var("kwargs")
            kv = []
            for k, name in src:
                kv += [Const(k), kwvals[name]]
            pre.append(Stmt(v, Const(ops.build_dict), tuple(kv), (), ANY, s.line))
            out.append(v)
    return pre, out


def _callee_ir(f, s: Stmt, typemap, stack):
    """(typed callee IR, statements that build its *args/**kwargs, its entry operands), or None."""
    from .pipeline import typed_ir
    bound = _entry_operands(f, s)
    if bound is None:
        return None
    pre, operands = bound
    argtypes = [_operand_type(o, typemap) for o in operands]
    try:
        callee = typed_ir(f, argtypes)
    except IrgradError:
        return None
    inline_calls(callee, stack)
    if sum(len(b.stmts) for b in callee.blocks) > MAX_STMTS:
        return None
    return callee, pre, operands


def _splice(ir: IR, b: Block, j: int, s: Stmt, callee: IR, pre: list, operands: list) -> Block:
    """Split `b` at statement j (the call `s`), splice a copy of `callee` in between; returns the block that holds
    the rest of `b` (its block argument is the call's own variable)."""
    vmap: dict = {}

    def m(x):
        return vmap.get(x, x) if isinstance(x, Var) else x

    copies = [Block() for _ in callee.blocks]
    bmap = {id(cb): nb for cb, nb in zip(callee.blocks, copies)}
    post = Block(args=[s.var], argtypes=[s.type], stmts=b.stmts[j + 1:], term=b.term)
    for cb, nb in zip(callee.blocks, copies):
        for v, t in zip(cb.args, cb.argtypes):
            vmap[v] = nb.add_arg(t, v.hint)
        for cs in cb.stmts:
            nv = Var(cs.var.hint)
            vmap[cs.var] = nv
            nb.stmts.append(Stmt(nv, cs.fn, cs.args, cs.kwargs, cs.type, cs.line))
    for cb, nb in zip(callee.blocks, copies):
        for ns in nb.stmts:
            ns.map_operands(m)
        t = cb.term
        if isinstance(t, Return):
            nb.term = Br(post, (m(t.value),), t.line)
        elif isinstance(t, Br):
            nb.term = Br(bmap[id(t.target)], tuple(m(a) for a in t.args), t.line)
        elif isinstance(t, CondBr):
            nb.term = CondBr(m(t.cond), bmap[id(t.then_)], tuple(m(a) for a in t.then_args),
                             bmap[id(t.else_)], tuple(m(a) for a in t.else_args), t.line)
        elif isinstance(t, Raise):
            nb.term = Raise(m(t.value), m(t.cause) if t.cause is not None else None, t.line)
    b.stmts = b.stmts[:j] + pre
    b.term = Br(copies[0], tuple(operands), s.line)
    at = ir.blocks.index(b) + 1
    ir.blocks[at:at] = copies + [post]
    return post
