"""Bytecode to raw SSA IR: `trace(f)` walks the `bytecode` package's control-flow graph of `f.__code__`, simulating
the value stack block by block; one handler per opcode lives in `opcodes.py`.

How locals and stack slots become SSA (IRTools' style, block arguments as phi nodes):

- Every bytecode block gets one IR block.  Its block arguments are the local slots live at its entry (a backward
  liveness pass over the bytecode) followed by the stack slots it is entered with.  Stack slots holding a static
  marker (the NULL of a call sequence, FOR_ITER's exit placeholder) are the same on every edge by construction
  of CPython's compiler, so they are not passed.
- A local that is not bound on every path into a block (`bytecode_flow.maybe_unbound`) may hold `ops.UNBOUND`
  at run time; loading it goes through `ops.check_bound`, which raises UnboundLocalError exactly as CPython
  does.  Bound locals are loaded with no check; closure cells that may still be empty likewise go through
  `ops.check_cell`.
- Globals and builtins resolve now, to `Const`, and each resolution is recorded in `meta.assumptions`.  A name
  found nowhere becomes a call of `ops.name_error`, so the NameError happens when (and only if) the code runs.
- Exception-table edges are never followed: the only handlers CPython emits in supported code are the clean-up
  handlers of 3.12's inlined comprehensions, which only re-raise.  A handler that catches (`PUSH_EXC_INFO`) is
  try/except/finally and refused.
"""
from __future__ import annotations

import functools
import inspect
import keyword
import types

from bytecode import Bytecode, ControlFlowGraph
from bytecode.instr import TryBegin, TryEnd

from . import ops
from .bytecode_flow import Graph, liveness, maybe_empty_cells, maybe_unbound, parameters
from .errors import UnsupportedError, where
from .ir import IR, Br, CondBr, Const, Meta, Var
from .opcodes import CO_FLAGS_UNSUPPORTED, HANDLERS, unsupported

__all__ = ["trace", "bind_args", "resolve_callable"]


class Marker:
    """A stack item that is not a value: NULL (CPython's call-sequence slot) or FOR_ITER's exit placeholder."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


NULL = Marker("NULL")
EXIT_PLACEHOLDER = Marker("EXIT")


class PendingFunction:
    """3.13's MAKE_FUNCTION: the function object is built once all its SET_FUNCTION_ATTRIBUTEs are known."""

    __slots__ = ("code", "attrs")

    def __init__(self, code):
        self.code = code
        self.attrs = {}


# ---------------------------------------------------------------------------------------------------------------
# Public entry points

def resolve_callable(f):
    """`(python_function, leading_args)` for anything callable with Python code behind it."""
    if isinstance(f, types.FunctionType):
        return f, ()
    if isinstance(f, types.MethodType) and isinstance(f.__func__, types.FunctionType):
        return f.__func__, (f.__self__,)
    call = getattr(type(f), "__call__", None)
    if isinstance(call, types.FunctionType):
        return call, (f,)
    raise UnsupportedError(f"cannot trace {f!r} of type {type(f).__name__}: it is not a Python function, method "
                           "or object with a Python __call__ (a builtin needs a rule; see docs/internals.md)")


def bind_args(func, args=(), kwargs=None) -> tuple:
    """The entry block's arguments for the call `func(*args, **kwargs)`: positional parameters, `*args` (a tuple),
    keyword-only parameters, `**kwargs` (a dict), defaults applied; the function object first when the code has
    free variables.  Bound methods and callable objects get their `self` in front.  A call that does not fit the
    signature raises the TypeError CPython raises, message included."""
    fn, lead = resolve_callable(func)
    binder_code = _binder_code(fn.__code__)
    if binder_code is None:
        out = _bind_by_signature(fn, (*lead, *args), kwargs or {})
    else:
        # A fresh function object per call: defaults differ between functions sharing one code object.
        binder = types.FunctionType(binder_code, {}, fn.__name__, fn.__defaults__)
        binder.__kwdefaults__, binder.__qualname__ = fn.__kwdefaults__, fn.__qualname__
        out = binder(*lead, *args, **(kwargs or {}))
    return (fn, *out) if fn.__code__.co_freevars else out


@functools.lru_cache(maxsize=512)
def _binder_code(code):
    """The code of a function with `code`'s signature that returns its parameters in the IR's order, so that
    CPython itself binds the arguments (and words the errors); None when a parameter name is not an identifier
    (the `.0` of a 3.11 comprehension)."""
    names = code.co_varnames
    npos, nposonly, nkw = code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount
    order = parameters(code)
    if not all(n.isidentifier() and not keyword.iskeyword(n) for n in order):
        return None
    parts = list(names[:nposonly]) + (["/"] if nposonly else []) + list(names[nposonly:npos])
    i = npos + nkw
    if code.co_flags & inspect.CO_VARARGS:
        parts.append("*" + names[i])
        i += 1
    elif nkw:
        parts.append("*")
    parts += names[npos:npos + nkw]
    if code.co_flags & inspect.CO_VARKEYWORDS:
        parts.append("**" + names[i])
    namespace = {}
    exec(f"def binder({', '.join(parts)}):\n    return ({''.join(n + ', ' for n in order)})", namespace)
    return namespace["binder"].__code__


def _bind_by_signature(fn, args, kwargs) -> tuple:
    sig = inspect.signature(fn, follow_wrapped=False)
    bound = sig.bind(*args, **kwargs)
    bound.apply_defaults()
    out = []
    for name, p in sig.parameters.items():
        v = bound.arguments[name]
        out.append(tuple(v) if p.kind is p.VAR_POSITIONAL else dict(v) if p.kind is p.VAR_KEYWORD else v)
    return tuple(out)


def trace(func) -> IR:
    """The raw IR of `func` (a function, bound method or callable object: its Python code); all types `ANY`."""
    fn, _ = resolve_callable(func)
    return Tracer(fn).run()


# ---------------------------------------------------------------------------------------------------------------
# The tracer

class Layout:
    """How a block is entered: the live locals passed in, and per stack slot a static marker or `None` (passed)."""

    def __init__(self, block, local_names, stack_kinds, maybe_unbound_stack):
        self.block = block
        self.local_names = local_names
        self.stack_kinds = stack_kinds
        self.maybe_unbound_stack = maybe_unbound_stack


class Tracer:
    """Traces one Python function: data-flow facts first, then each reachable block in reverse postorder (so a
    block's layout is fixed by an edge from an already simulated block), then the blocks in source order."""

    def __init__(self, func):
        self.func = func
        self.code = func.__code__
        self.globals = func.__globals__
        self.builtins = func.__builtins__ if isinstance(func.__builtins__, dict) else vars(func.__builtins__)
        self.ir = IR(meta=Meta(name=self.code.co_qualname, filename=self.code.co_filename,
                               firstlineno=self.code.co_firstlineno, argnames=tuple(parameters(self.code)),
                               code=self.code, has_self=bool(self.code.co_freevars)))
        self.layouts = {}  # id(bytecode block) -> Layout
        self._resolved = {}

    # -- errors --------------------------------------------------------------------------------------------------
    def unsupported(self, construct: str, line=None):
        raise UnsupportedError(f"{construct} is not supported: {where(self.code, line)}; "
                               "see docs/limitations.md for what irgrad traces")

    # -- globals ---------------------------------------------------------------------------------------------------
    def resolve_global(self, name):
        """Const of a global or builtin, recording the assumption; None when the name is found nowhere."""
        if name in self._resolved:
            return self._resolved[name]
        for ns in (self.globals, self.builtins):
            if name in ns:
                value = ns[name]
                self.ir.meta.assumptions.append((ns, name, value))
                self._resolved[name] = Const(value)
                return self._resolved[name]
        # Absent now: the trace assumes it stays absent, recorded as `(globals, name, None)` since
        # `globals.get(name)` is None for a missing name (and the NameError is raised only if the code runs).
        self.ir.meta.assumptions.append((self.globals, name, None))
        self._resolved[name] = None
        return None

    # -- the driver ------------------------------------------------------------------------------------------------
    def run(self) -> IR:
        code = self.code
        for flag, construct, opnames in CO_FLAGS_UNSUPPORTED:
            if code.co_flags & flag:
                self.unsupported(construct, self._first_line_of(opnames))
        cfg = ControlFlowGraph.from_bytecode(Bytecode.from_code(code))
        graph = Graph(cfg)
        self.live_in = liveness(graph)
        params = parameters(code)
        self.maybe_unbound_in = maybe_unbound(graph, self.live_in, params)
        self.maybe_empty_in = maybe_empty_cells(graph, code, params)

        entry_bc = graph.order[0]
        if graph.pred[id(entry_bc)]:  # never on 3.11+, where RESUME opens every function
            raise UnsupportedError(f"the first block of {where(code)} is a jump target")
        entry = self.ir.new_block()
        self_var = entry.add_arg(hint="#self#") if self.ir.meta.has_self else None
        self.layouts[id(entry_bc)] = Layout(entry, None, [], [])
        self._entry_state = ({name: entry.add_arg(hint=name) for name in params}, self_var)

        for bc in graph.order:
            layout = self.layouts.get(id(bc))
            if layout is None:
                continue  # reachable in the static graph only through a path the simulation never takes
            frame = self._frame_for(bc, layout)
            frame.simulate(bc)
        # Blocks in bytecode order (the order of the source), the entry first.
        position = {id(self.layouts[id(bc)].block): i for i, bc in enumerate(cfg) if id(bc) in self.layouts}
        rest = sorted((b for b in self.ir.blocks if b is not entry), key=lambda b: position[id(b)])
        self.ir.blocks = [entry] + rest
        return self.ir

    def _frame_for(self, bc, layout) -> "Frame":
        if layout.local_names is None:  # the entry block itself
            state, self_var = self._entry_state
            return Frame(self, layout.block, dict(state), [], set(), self_var)
        block = layout.block
        maybe = set()
        state = {}
        for name, v in zip(layout.local_names, block.args):
            state[name] = v
            if name in self.maybe_unbound_in[id(bc)]:
                maybe.add(v)
        stack = []
        args = iter(block.args[len(layout.local_names):])
        for kind, mu in zip(layout.stack_kinds, layout.maybe_unbound_stack):
            if kind is None:
                v = next(args)
                stack.append(v)
                if mu:
                    maybe.add(v)
            else:
                stack.append(kind)
        return Frame(self, block, state, stack, maybe, self.ir.entry.args[0] if self.ir.meta.has_self else None)

    def layout_for(self, bc, stack, frame) -> Layout:
        """The layout of `bc`, fixed by the first edge that reaches it."""
        layout = self.layouts.get(id(bc))
        if layout is None:
            block = self.ir.new_block()
            names = sorted(self.live_in[id(bc)])
            for n in names:
                block.add_arg(hint=n)
            kinds, mus = [], []
            for item in stack:
                if isinstance(item, Marker):
                    kinds.append(item)
                    mus.append(False)
                else:
                    block.add_arg()
                    kinds.append(None)
                    mus.append(frame.maybe_unbound(item))
            layout = self.layouts[id(bc)] = Layout(block, names, kinds, mus)
        elif len(layout.stack_kinds) != len(stack) or any(
                (k is None) != (not isinstance(s, Marker)) for k, s in zip(layout.stack_kinds, stack)):
            raise UnsupportedError(f"inconsistent stack at a block boundary in {where(self.code, frame.line)} "
                                   "(a bytecode pattern irgrad does not know)")
        return layout

    def _first_line_of(self, opnames):
        for ins in Bytecode.from_code(self.code):
            if getattr(ins, "name", None) in opnames and getattr(ins, "lineno", None):
                return ins.lineno
        return self.code.co_firstlineno


class Frame:
    """The abstract state while simulating one bytecode block: the stack of operands and the local slots."""

    NULL = NULL
    EXIT_PLACEHOLDER = EXIT_PLACEHOLDER
    PendingFunction = PendingFunction

    def __init__(self, tracer: Tracer, block, state, stack, maybe_unbound, self_var):
        self.tracer = tracer
        self.code = tracer.code
        self.block = block
        self.locals = state
        self.stack = stack
        self._maybe = maybe_unbound
        self.self_var = self_var
        self.line = None
        self.kwnames = None  # KW_NAMES (3.11, 3.12) for the next CALL
        self.bc = None

    # -- stack -----------------------------------------------------------------------------------------------------
    def push(self, x):
        self.stack.append(x)

    def pop(self):
        """Pop a value, building a pending function object first (3.13's MAKE_FUNCTION)."""
        return self.materialize(self.stack.pop())

    def pop_raw(self):
        return self.stack.pop()

    def popn(self, n):
        if n == 0:
            return []
        items = [self.materialize(x) for x in self.stack[-n:]]
        del self.stack[-n:]
        return items

    def materialize(self, x):
        if isinstance(x, PendingFunction):
            a = x.attrs
            return self.emit(ops.make_function, x.code, Const(self.tracer.globals), a.get("defaults"),
                             a.get("kwdefaults"), a.get("closure"), a.get("annotations"))
        return x

    # -- statements ------------------------------------------------------------------------------------------------
    def emit(self, fn, *args, kwargs=(), hint=None):
        return self.block.push(fn, *args, kwargs=kwargs, line=self.line, hint=hint)

    def unsupported(self, construct):
        self.tracer.unsupported(construct, self.line)

    # -- locals ----------------------------------------------------------------------------------------------------
    def maybe_unbound(self, x) -> bool:
        return (isinstance(x, Const) and x.value is ops.UNBOUND) or (isinstance(x, Var) and x in self._maybe)

    def load_local(self, name):
        """The value of a local slot, checked (raising UnboundLocalError at run time) where it may be unbound."""
        v = self.locals.get(name, Const(ops.UNBOUND))
        if self.maybe_unbound(v):
            v = self.emit(ops.check_bound, v, name, hint=name)
            self.locals[name] = v
        return v

    def peek_local(self, name):
        """The raw slot content, unbound or not (LOAD_FAST_AND_CLEAR, MAKE_CELL)."""
        return self.locals.get(name, Const(ops.UNBOUND))

    def store_local(self, name, value):
        if isinstance(value, Var) and value.hint is None:
            value.hint = name
        self.locals[name] = value

    def load_cell_contents(self, name):
        """LOAD_DEREF of one of this function's own cells, checked where the cell may still be empty."""
        cell = self.load_local(name)
        if name in self.maybe_empty:
            cell = self.emit(ops.check_cell, cell, name)
            self.maybe_empty.discard(name)
        return self.emit(ops.cell_get, cell, hint=name)

    def load_free(self, name, cell=False):
        idx = self.code.co_freevars.index(name)
        return self.emit(ops.freecell if cell else ops.freevar, self.self_var, idx, hint=None if cell else name)

    # -- control flow ----------------------------------------------------------------------------------------------
    def _edge(self, bc, stack):
        stack = [self.materialize(x) for x in stack]
        layout = self.tracer.layout_for(bc, stack, self)
        args = [self.locals.get(n, Const(ops.UNBOUND)) for n in layout.local_names]
        args += [x for x in stack if not isinstance(x, Marker)]
        return layout.block, tuple(args)

    def jump(self, bc, stack=None):
        target, args = self._edge(bc, self.stack if stack is None else stack)
        self.block.term = Br(target, args, line=self.line)

    def branch(self, cond, then_bc, then_stack, else_bc, else_stack):
        t, targs = self._edge(then_bc, then_stack)
        e, eargs = self._edge(else_bc, else_stack)
        self.block.term = CondBr(cond, t, targs, e, eargs, line=self.line)

    def jump_target(self):
        return self.bc.get_jump()

    def fallthrough(self):
        return self.bc.next_block

    # -- the loop over one block -----------------------------------------------------------------------------------
    def simulate(self, bc):
        self.bc = bc
        self.maybe_empty = set(self.tracer.maybe_empty_in[id(bc)])
        catching = False
        for ins in bc:
            if isinstance(ins, TryBegin):
                # CPython puts a NOP carrying the `try:` line just before the protected range.
                if self._catches(ins) and self.line is not None:
                    self.unsupported("try/except/finally")
                catching = catching or self._catches(ins)
                continue
            if isinstance(ins, TryEnd):
                continue
            if ins.lineno is not None:
                self.line = ins.lineno
            if catching:
                self.unsupported("try/except/finally")
            handler = HANDLERS.get(ins.name)
            if handler is None:
                unsupported(self, ins)
            handler(self, ins)
            if self.block.term is not None:
                return
        if catching:
            self.unsupported("try/except/finally")
        if self.block.term is None:
            self.jump(bc.next_block)

    @staticmethod
    def _catches(tb) -> bool:
        """Does this exception handler catch (try/except/finally), as opposed to 3.12's comprehension clean-up,
        which only restores a local and re-raises?"""
        first = next((i for i in tb.target if not isinstance(i, (TryBegin, TryEnd))), None)
        return first is not None and first.name == "PUSH_EXC_INFO"
