"""The one text format of the IR, in the style of IRTools' `@code_ir`.  Variables are numbered while printing."""
from __future__ import annotations

import builtins
import operator

import numpy as np

from . import ops
from .ir import IR, Br, CondBr, Const, Raise, Return, Var

_MAX_CONST = 40


def callable_name(f) -> str:
    """A short, readable name for a callable in the IR: `operator.add`, `numpy.sin`, `getattr`, `build_tuple`."""
    name = getattr(f, "__qualname__", None) or getattr(f, "__name__", None)
    if name is None:
        return _short(repr(f))
    if isinstance(f, np.ufunc):
        return f"numpy.{f.__name__}"
    mod = getattr(f, "__module__", None)
    if mod is None and isinstance(getattr(f, "__self__", None), type(np)):
        mod = f.__self__.__name__
    if getattr(builtins, name, None) is f or mod == ops.__name__:
        return name
    if getattr(operator, name, None) is f:
        return f"operator.{name}"
    if mod in (None, "builtins"):
        return name
    if mod.startswith("numpy"):
        mod = "numpy" if getattr(np, name, None) is f else mod
    return f"{mod}.{name}"


def _short(s: str) -> str:
    return s if len(s) <= _MAX_CONST else s[: _MAX_CONST - 3] + "..."


def format_const(v) -> str:
    if callable(v) and (hasattr(v, "__qualname__") or hasattr(v, "__name__")) and not isinstance(v, type(np)):
        return callable_name(v)
    if isinstance(v, type(np)):
        return v.__name__
    if isinstance(v, np.ndarray):
        return _short(f"array({np.array2string(v, threshold=6, separator=', ')})".replace("\n", ""))
    return _short(repr(v))


class Namer:
    """Numbers variables in order of first definition; blocks by position."""

    def __init__(self, ir: IR):
        self.names: dict = {}
        n = 0
        for b in ir.blocks:
            for v in b.args:
                n += 1
                self.names[v] = f"%{n}"
            for s in b.stmts:
                n += 1
                self.names[s.var] = f"%{n}"
        self.blocks = {id(b): i + 1 for i, b in enumerate(ir.blocks)}

    def __call__(self, x) -> str:
        if isinstance(x, Var):
            return self.names.get(x, f"%?{x.hint or ''}")
        if isinstance(x, Const):
            return format_const(x.value)
        return repr(x)

    def block(self, b) -> str:
        return str(self.blocks.get(id(b), "?"))


def _args(names, args) -> str:
    return "(" + ", ".join(names(a) for a in args) + ")" if args else ""


def format_ir(ir: IR, lines: bool = False) -> str:
    names = Namer(ir)
    out = []
    for b in ir.blocks:
        params = ", ".join(f"{names(v)} :: {t}" for v, t in zip(b.args, b.argtypes))
        out.append(f"{names.block(b)}: ({params})")
        for s in b.stmts:
            fn = names(s.fn)
            args = [names(a) for a in s.args] + [f"{k}={names(v)}" for k, v in s.kwargs]
            text = f"  {names(s.var)} = {fn}({', '.join(args)}) :: {s.type}"
            if lines and s.line is not None:
                text += f"  # line {s.line}"
            out.append(text)
        t = b.term
        if isinstance(t, Return):
            out.append(f"  return {names(t.value)}")
        elif isinstance(t, Raise):
            out.append(f"  raise {names(t.value)}" + (f" from {names(t.cause)}" if t.cause is not None else ""))
        elif isinstance(t, Br):
            out.append(f"  br {names.block(t.target)} {_args(names, t.args)}".rstrip())
        elif isinstance(t, CondBr):
            out.append(f"  br {names.block(t.else_)} {_args(names, t.else_args)}".rstrip()
                       + f" unless {names(t.cond)}")
            out.append(f"  br {names.block(t.then_)} {_args(names, t.then_args)}".rstrip())
        elif t is None:
            out.append("  <no terminator>")
    return "\n".join(out)
