"""The IR: SSA with typed block arguments, in the manner of IRTools.jl.

An `IR` is a list of `Block`s.  The first block takes the function's arguments as its block arguments.  A block
holds `Stmt`s and ends in exactly one terminator: `Br` (jump, passing block arguments), `CondBr` (two-way branch),
`Return` or `Raise`.  Every Python operation is a statement calling a plain Python callable
(`operator.add`, `getattr`, the resolved global function itself, or an SSA variable holding a callable); branches
and returns are the only special forms.

Operands are `Var` (an SSA variable) or `Const` (a value known while tracing: a constant, a resolved global...).
Variables are plain objects compared by identity; the printer numbers them at print time.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Union

from .types import ANY, Type


class Var:
    """An SSA variable.  `hint` is an optional source name (a local's name) used only for printing."""

    __slots__ = ("hint",)

    def __init__(self, hint: str | None = None):
        self.hint = hint

    def __repr__(self) -> str:
        return f"Var({self.hint or hex(id(self))})"


class Const:
    """A value known while tracing."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __eq__(self, other):
        return isinstance(other, Const) and _same_const(self.value, other.value)

    def __hash__(self):
        try:
            return hash((type(self.value), self.value))
        except TypeError:
            return id(self.value)

    def __repr__(self) -> str:
        return f"Const({self.value!r})"


def _same_const(a, b) -> bool:
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    try:
        return bool(a == b)
    except Exception:
        return False


Operand = Union[Var, Const]


@dataclass(eq=False)
class Stmt:
    """`var = fn(*args, **dict(kwargs))`, with the inferred type of `var` and the source line."""

    var: Var
    fn: Operand
    args: tuple = ()
    kwargs: tuple = ()  # ((name, Operand), ...)
    type: Type = ANY
    line: int | None = None

    def operands(self) -> Iterator[Operand]:
        yield self.fn
        yield from self.args
        for _, v in self.kwargs:
            yield v

    def map_operands(self, f) -> None:
        self.fn = f(self.fn)
        self.args = tuple(f(a) for a in self.args)
        self.kwargs = tuple((k, f(v)) for k, v in self.kwargs)


@dataclass(eq=False)
class Br:
    """Unconditional jump to `target`, binding its block arguments to `args`."""

    target: "Block"
    args: tuple = ()
    line: int | None = None

    def operands(self) -> Iterator[Operand]:
        yield from self.args

    def map_operands(self, f) -> None:
        self.args = tuple(f(a) for a in self.args)

    def successors(self) -> list:
        return [self.target]

    def edges(self) -> list:
        return [(self.target, self.args)]


@dataclass(eq=False)
class CondBr:
    """`if cond: goto then_ else: goto else_`.  Printed IRTools-style as `br else unless cond; br then`."""

    cond: Operand
    then_: "Block"
    then_args: tuple
    else_: "Block"
    else_args: tuple
    line: int | None = None

    def operands(self) -> Iterator[Operand]:
        yield self.cond
        yield from self.then_args
        yield from self.else_args

    def map_operands(self, f) -> None:
        self.cond = f(self.cond)
        self.then_args = tuple(f(a) for a in self.then_args)
        self.else_args = tuple(f(a) for a in self.else_args)

    def successors(self) -> list:
        return [self.then_, self.else_]

    def edges(self) -> list:
        return [(self.then_, self.then_args), (self.else_, self.else_args)]


@dataclass(eq=False)
class Return:
    value: Operand
    line: int | None = None

    def operands(self) -> Iterator[Operand]:
        yield self.value

    def map_operands(self, f) -> None:
        self.value = f(self.value)

    def successors(self) -> list:
        return []

    def edges(self) -> list:
        return []


@dataclass(eq=False)
class Raise:
    """Raise `value` (an exception instance or class); `cause` is the `from` operand or None."""

    value: Operand
    cause: Operand | None = None
    line: int | None = None

    def operands(self) -> Iterator[Operand]:
        yield self.value
        if self.cause is not None:
            yield self.cause

    def map_operands(self, f) -> None:
        self.value = f(self.value)
        if self.cause is not None:
            self.cause = f(self.cause)

    def successors(self) -> list:
        return []

    def edges(self) -> list:
        return []


Terminator = Union[Br, CondBr, Return, Raise]


@dataclass(eq=False)
class Block:
    args: list = field(default_factory=list)  # [Var]
    argtypes: list = field(default_factory=list)  # [Type], parallel to args
    stmts: list = field(default_factory=list)  # [Stmt]
    term: Terminator | None = None

    def add_arg(self, type: Type = ANY, hint: str | None = None) -> Var:
        v = Var(hint)
        self.args.append(v)
        self.argtypes.append(type)
        return v

    def push(self, fn, *args, kwargs=(), type: Type = ANY, line=None, hint=None) -> Var:
        """Append `fn(*args, **kwargs)`; plain Python values are wrapped as `Const`."""
        v = Var(hint)
        self.stmts.append(Stmt(v, _op(fn), tuple(_op(a) for a in args),
                               tuple((k, _op(x)) for k, x in kwargs), type, line))
        return v

    def successors(self) -> list:
        return self.term.successors() if self.term is not None else []


def _op(x) -> Operand:
    return x if isinstance(x, (Var, Const)) else Const(x)


@dataclass(eq=False)
class Meta:
    """Where the IR came from: for printing and for error messages."""

    name: str = "?"
    filename: str = "?"
    firstlineno: int = 0
    argnames: tuple = ()
    code: Any = None  # the code object traced
    # What the trace assumed about the world: (namespace dict, name, value) for every global, builtin and module
    # attribute it resolved to a constant.  The cache checks `namespace.get(name) is value` before reusing.
    assumptions: list = field(default_factory=list)
    has_self: bool = False  # block 1's first argument is the function object itself (for free variables)


@dataclass(eq=False)
class IR:
    blocks: list = field(default_factory=list)
    meta: Meta = field(default_factory=Meta)

    def new_block(self) -> Block:
        b = Block()
        self.blocks.append(b)
        return b

    @property
    def entry(self) -> Block:
        return self.blocks[0]

    @property
    def args(self) -> list:
        return self.entry.args

    def stmts(self) -> Iterator[tuple]:
        """(block, stmt) for every statement."""
        for b in self.blocks:
            for s in b.stmts:
                yield b, s

    def copy(self) -> "IR":
        """A copy of the blocks, statements and terminators (to rewrite one without the other); the variables,
        constants and meta are shared."""
        new = {id(b): Block(list(b.args), list(b.argtypes), [replace(s) for s in b.stmts]) for b in self.blocks}
        fields = ("target", "then_", "else_")
        for b in self.blocks:
            t = b.term
            if t is not None:
                t = replace(t, **{f: new[id(getattr(t, f))] for f in fields if hasattr(t, f)})
            new[id(b)].term = t
        return IR([new[id(b)] for b in self.blocks], self.meta)

    def use_counts(self) -> dict:
        """Var -> how many operands of statements and terminators it is."""
        uses: dict = {}
        for b in self.blocks:
            for s in b.stmts:
                for o in s.operands():
                    if isinstance(o, Var):
                        uses[o] = uses.get(o, 0) + 1
            if b.term is not None:
                for o in b.term.operands():
                    if isinstance(o, Var):
                        uses[o] = uses.get(o, 0) + 1
        return uses

    def types(self) -> dict:
        """Var -> Type for every variable defined in the IR."""
        out = {}
        for b in self.blocks:
            out.update(zip(b.args, b.argtypes))
            for s in b.stmts:
                out[s.var] = s.type
        return out

    def where(self) -> str:
        return f"{self.meta.name} at {self.meta.filename}:{self.meta.firstlineno}"

    def __repr__(self) -> str:
        from .printer import format_ir
        return format_ir(self)
