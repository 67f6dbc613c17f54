"""The bytecode's control-flow graph and the data-flow facts the tracer needs before it simulates a block:

- which local slots are live at each block's entry (they become the block's arguments);
- which of those may be unbound there (their loads raise UnboundLocalError as CPython's do);
- which closure cells of the function may still be empty (their reads raise likewise).

Only normal edges count: exception-table edges lead to handlers that irgrad refuses or that merely re-raise.
"""
from __future__ import annotations

import inspect

from bytecode import ControlFlowGraph
from bytecode.instr import TryBegin, TryEnd

__all__ = ["Graph", "parameters", "liveness", "maybe_unbound", "maybe_empty_cells", "slot_effects"]


def slot_name(arg):
    """Slot name of a LOAD_FAST/LOAD_DEREF... argument (`bytecode` gives a str or a CellVar/FreeVar)."""
    return getattr(arg, "name", arg)


def is_free(arg) -> bool:
    return type(arg).__name__ == "FreeVar"


def slot_effects(ins) -> list:
    """[('r' | 'w', slot name)] in order: the instruction's reads and writes of local slots (cells included)."""
    n, a = ins.name, getattr(ins, "arg", None)
    if n in ("LOAD_FAST", "LOAD_FAST_CHECK", "LOAD_CLOSURE"):
        return [("r", slot_name(a))] if not is_free(a) else []
    if n in ("LOAD_DEREF", "STORE_DEREF", "DELETE_DEREF"):
        return [] if is_free(a) else [("r", slot_name(a))]
    if n in ("STORE_FAST", "STORE_FAST_MAYBE_NULL", "DELETE_FAST"):
        return [("w", slot_name(a))]
    if n in ("LOAD_FAST_AND_CLEAR", "MAKE_CELL"):
        return [("r", slot_name(a)), ("w", slot_name(a))]
    if n == "LOAD_FAST_LOAD_FAST":
        return [("r", a[0]), ("r", a[1])]
    if n == "STORE_FAST_LOAD_FAST":
        return [("w", a[0]), ("r", a[1])]
    if n == "STORE_FAST_STORE_FAST":
        return [("w", a[0]), ("w", a[1])]
    return []


def parameters(code) -> list:
    """Parameter slot names in the IR's order: positional, *args, keyword-only, **kwargs."""
    names = code.co_varnames
    npos, nkw = code.co_argcount, code.co_kwonlyargcount
    out = list(names[:npos])
    i = npos + nkw
    if code.co_flags & inspect.CO_VARARGS:
        out.append(names[i])
        i += 1
    out.extend(names[npos:npos + nkw])
    if code.co_flags & inspect.CO_VARKEYWORDS:
        out.append(names[i])
    return out


def _real(block):
    return [i for i in block if not isinstance(i, (TryBegin, TryEnd))]


class Graph:
    """Successors over normal edges, reachability and reverse postorder of a bytecode CFG."""

    def __init__(self, cfg: ControlFlowGraph):
        self.cfg = cfg
        self.succ = {}
        self.instrs = {}  # id(block) -> its instructions without the exception-table markers
        self.effects = {}  # id(block) -> [('r' | 'w', local slot)] in order
        for b in cfg:
            out = []
            self.instrs[id(b)] = real = _real(b)
            self.effects[id(b)] = [e for ins in real for e in slot_effects(ins)]
            last = real[-1] if real else None
            if last is not None and last.has_jump():
                out.append(b.get_jump())
            if b.next_block is not None and not (last is not None and (last.is_uncond_jump() or last.is_final())):
                out.append(b.next_block)
            self.succ[id(b)] = out
        self.order = self._rpo(cfg[0])
        self.pred = {id(b): [] for b in self.order}
        for b in self.order:
            for s in self.succ[id(b)]:
                self.pred[id(s)].append(b)

    def _rpo(self, entry):
        seen, post = {id(entry)}, []
        stack = [(entry, iter(self.succ[id(entry)]))]
        while stack:
            b, it = stack[-1]
            for s in it:
                if id(s) not in seen:
                    seen.add(id(s))
                    stack.append((s, iter(self.succ[id(s)])))
                    break
            else:
                stack.pop()
                post.append(b)
        return post[::-1]


def liveness(graph: Graph) -> dict:
    """id(block) -> set of local slots live at its entry."""
    use, defs = {}, {}
    for b in graph.order:
        u, d = set(), set()
        for kind, name in graph.effects[id(b)]:
            if kind == "r" and name not in d:
                u.add(name)
            elif kind == "w":
                d.add(name)
        use[id(b)], defs[id(b)] = u, d
    live_in = {id(b): set() for b in graph.order}
    changed = True
    while changed:
        changed = False
        for b in reversed(graph.order):
            out = set()
            for s in graph.succ[id(b)]:
                out |= live_in[id(s)]
            new = use[id(b)] | (out - defs[id(b)])
            if new != live_in[id(b)]:
                live_in[id(b)], changed = new, True
    return live_in


def maybe_unbound(graph: Graph, live_in: dict, params) -> dict:
    """id(block) -> the live local slots that may be unbound at its entry.

    A slot may be unbound at B when some path from the entry reaches B with no write to it.  Every block on such a
    path has the slot live at its entry too (liveness flows back through blocks that do not write it), so only
    the slots live at the function's entry need a search, and only through blocks that do not write them.  Slots
    that LOAD_FAST_AND_CLEAR touches (3.12+ comprehension variables, saved and restored around the comprehension)
    may be unbound wherever they are live."""
    entry = graph.order[0]
    writes = {id(b): {name for kind, name in graph.effects[id(b)] if kind == "w"} for b in graph.order}
    cleared = {getattr(ins.arg, "name", ins.arg) for b in graph.order for ins in graph.instrs[id(b)]
               if ins.name == "LOAD_FAST_AND_CLEAR"}
    out = {id(b): live_in[id(b)] & cleared for b in graph.order}
    for name in live_in[id(entry)] - set(params):
        _mark_until_written(graph, entry, name, writes, out)
    return out


def _mark_until_written(graph: Graph, entry, name, writes: dict, out: dict) -> None:
    """Add `name` to out[block] for every block reachable from the entry on a path that does not write it."""
    stack, seen = [entry], {id(entry)}
    while stack:
        b = stack.pop()
        out[id(b)].add(name)
        if name in writes[id(b)]:
            continue
        for s in graph.succ[id(b)]:
            if id(s) not in seen:
                seen.add(id(s))
                stack.append(s)


def maybe_empty_cells(graph: Graph, code, params) -> dict:
    """id(block) -> the cell variables whose cell may be empty at its entry (read before any STORE_DEREF on some
    path).  A cell made from a parameter starts full; 3.12+ comprehensions make fresh cells mid-function, so
    their variables are always treated as possibly empty."""
    entry = graph.order[0]
    stores = {id(b): {ins.arg.name for ins in graph.instrs[id(b)] if ins.name == "STORE_DEREF"}
              for b in graph.order}
    remade = {getattr(ins.arg, "name", ins.arg) for b in graph.order for ins in graph.instrs[id(b)]
              if ins.name == "LOAD_FAST_AND_CLEAR"}
    out = {id(b): set(remade & set(code.co_cellvars)) for b in graph.order}
    for name in set(code.co_cellvars) - set(params) - remade:
        _mark_until_written(graph, entry, name, stores, out)
    return out
