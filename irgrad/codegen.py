"""IR to readable Python source, compiled once and registered with `linecache`.

    fn = compile_ir(ir)        # a plain Python function taking the entry block's arguments
    text = source(ir)          # the same source, for reading (`irdump --python`)

One local per SSA variable, named from `Var.hint` (made a valid, unique identifier) or `_N` after the printer's
`%N`.  Constants that are not literals are bound once, as closure variables of a factory function named `_make`,
so the generated function never looks them up in a dict.  The exact callables `operator.add`, `getattr(x, 'a')`,
`operator.getitem`, `ops.build_tuple`... are written as the expressions `a + b`, `x.a`, `x[i]`, `(a, b)`, which is
what makes the generated code as fast as the same function written by hand.  Control flow is structured by
`structure.py` into `if`/`else` and `while True:`; a graph it cannot structure gets a block-dispatch loop.

Each line carries a comment `# file.py:line` pointing back at the user's source (`Stmt.line`), and the source is
registered under a filename such as `<irgrad generated f#3>` so tracebacks and debuggers show it.
"""
from __future__ import annotations

import builtins
import itertools
import keyword
import linecache
import math
import operator
import os
import re
import weakref

from . import ops
from .errors import IRVerifyError
from .ir import IR, Br, CondBr, Const, Raise, Return, Var
from .printer import Namer
from .structure import If, Line, Unstructured, While, negate, structure

__all__ = ["compile_ir", "source"]

_counter = itertools.count(1)
_FACTORY = "_make"


def source(ir: IR, name: str | None = None) -> str:
    """The Python source codegen writes for `ir` (a factory `_make(constants...)` around the function)."""
    return _Generator(ir, name).source


def compile_ir(ir: IR, name: str | None = None):
    """Compile `ir` to a Python function taking the entry block's arguments in order (the parameters as
    `frontend.bind_args` lays them out).  Its source is in `fn.__irgrad_source__` and in `linecache`."""
    gen = _Generator(ir, name)
    filename = f"<irgrad generated {gen.fname}#{next(_counter)}>"
    text = gen.source
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace: dict = {"__builtins__": builtins}
    exec(compile(text, filename, "exec"), namespace)
    fn = namespace[_FACTORY](*gen.const_values)
    fn.__irgrad_source__ = text
    fn.__qualname__ = gen.fname
    # The linecache entry lives as long as the function (the counter keeps filenames unique).
    weakref.finalize(fn, linecache.cache.pop, filename, None)
    return fn


# ── Operators written as Python syntax ───────────────────────────────────────────────────────────────────────────
# Each template takes the rendered positional arguments (all atoms: names or literals) and returns an expression,
# or None when the call does not fit (wrong arity).  Keyed by the callable's identity.

def _binary(sym):
    return lambda a: f"{a[0]} {sym} {a[1]}" if len(a) == 2 else None


def _unary(sym):
    return lambda a: f"{sym}{a[0]}" if len(a) == 1 else None


_BINARY = {
    operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/", operator.floordiv: "//",
    operator.mod: "%", operator.pow: "**", operator.matmul: "@", operator.lshift: "<<", operator.rshift: ">>",
    operator.and_: "&", operator.or_: "|", operator.xor: "^",
    operator.lt: "<", operator.le: "<=", operator.eq: "==", operator.ne: "!=", operator.gt: ">",
    operator.ge: ">=", operator.is_: "is", operator.is_not: "is not",
}
_INPLACE = {
    operator.iadd: "+=", operator.isub: "-=", operator.imul: "*=", operator.itruediv: "/=",
    operator.ifloordiv: "//=", operator.imod: "%=", operator.ipow: "**=", operator.imatmul: "@=",
    operator.ilshift: "<<=", operator.irshift: ">>=", operator.iand: "&=", operator.ior: "|=",
    operator.ixor: "^=",
}
_UNARY = {operator.neg: "-", operator.pos: "+", operator.invert: "~", operator.not_: "not "}


def _tuple(a):
    return "()" if not a else f"({a[0]},)" if len(a) == 1 else f"({', '.join(a)})"


def _dict(a):
    return "{" + ", ".join(f"{a[i]}: {a[i + 1]}" for i in range(0, len(a), 2)) + "}" if len(a) % 2 == 0 else None


_EXPR = {
    **{f: _binary(s) for f, s in _BINARY.items()},
    **{f: _unary(s) for f, s in _UNARY.items()},
    operator.getitem: lambda a: f"{a[0]}[{a[1]}]" if len(a) == 2 else None,
    ops.build_tuple: _tuple,
    ops.build_list: lambda a: f"[{', '.join(a)}]",
    ops.build_set: lambda a: f"{{{', '.join(a)}}}" if a else None,
    ops.build_dict: _dict,
    ops.contains: lambda a: f"{a[1]} in {a[0]}" if len(a) == 2 else None,
    ops.not_contains: lambda a: f"{a[1]} not in {a[0]}" if len(a) == 2 else None,
    ops.cell_get: lambda a: f"{a[0]}.cell_contents" if len(a) == 1 else None,
}
_EXPR_BY_ID = {id(f): (f, t) for f, t in _EXPR.items()}
_INPLACE_BY_ID = {id(f): (f, s) for f, s in _INPLACE.items()}


def _lookup(table: dict, fn):
    entry = table.get(id(fn))
    return entry[1] if entry is not None and entry[0] is fn else None


# ── Names ────────────────────────────────────────────────────────────────────────────────────────────────────────

_NOT_IDENT = re.compile(r"\W")
_MODULE_ALIASES = {"numpy": "np"}


def _sanitize(hint: str) -> str:
    s = _NOT_IDENT.sub("_", hint.strip("<>")) or "_"
    if s[0].isdigit():
        s = "_" + s
    if keyword.iskeyword(s) or keyword.issoftkeyword(s):
        s += "_"
    return s


class _Names:
    """Unique identifiers in one function: `x`, `x_1`, `x_2` ..."""

    def __init__(self, reserved=()):
        self.used = set(reserved)

    def take(self, base: str) -> str:
        base = _sanitize(base)
        name, k = base, 0
        while name in self.used:
            k += 1
            name = f"{base}_{k}"
        self.used.add(name)
        return name


def _literal(v) -> str | None:
    """Source text for a constant that can be written inline, else None (it gets bound as a closure variable)."""
    t = type(v)
    if v is None or t is bool or v is Ellipsis:
        return repr(v)
    if t is int or (t is float and math.isfinite(v)):
        return f"({v!r})" if v < 0 or repr(v).startswith("-") else repr(v)
    if t is complex and math.isfinite(v.real) and math.isfinite(v.imag):
        return f"({v!r})" if repr(v).startswith("-") else repr(v)
    if t is str or t is bytes:
        return repr(v)
    if t is tuple:
        items = [_literal(x) for x in v]
        if all(x is not None for x in items):
            return _tuple(items)
    return None


def _const_base(v) -> str:
    """A readable name for a bound constant."""
    if isinstance(v, type(os)):
        top = v.__name__.rsplit(".", 1)[-1]
        return _MODULE_ALIASES.get(v.__name__, top)
    if v is ops.STOP:
        return "STOP"
    if type(v) is float:  # the non-finite ones
        return "nan" if v != v else "inf" if v > 0 else "neg_inf"
    name = getattr(v, "__name__", None)
    if isinstance(name, str) and name and callable(v):
        return name
    return "c_" + type(v).__name__


# ── The generator ────────────────────────────────────────────────────────────────────────────────────────────────

class _Generator:
    def __init__(self, ir: IR, name: str | None):
        self.ir = ir
        _check(ir)
        self.file = os.path.basename(ir.meta.filename) if ir.meta.filename not in ("?", "") else None
        self.names = _Names({_FACTORY})
        self.fname = self.names.take(name or (ir.meta.name if ir.meta.name not in ("?", "") else "f"))
        self.uses = _use_counts(ir)
        printed = Namer(ir)
        self.alias = _copies(ir)
        self.local = {}
        for b in ir.blocks:
            for v in b.args + [s.var for s in b.stmts]:
                if v not in self.alias:
                    self.local[v] = self.names.take(v.hint if v.hint else "_" + printed(v).lstrip("%?"))
        self.folded: dict = {}  # branch condition Var -> its expression, written in the `if` itself
        self.consts: dict = {}  # id(value) -> (name, value)
        self.hooks = _Hooks(self)
        try:
            tree = structure(ir.blocks, self.hooks)
        except Unstructured:
            tree = self.dispatch()
        params = ", ".join(self.local[v] for v in ir.entry.args)
        self.const_values = [v for _, v in self.consts.values()]
        header = [f"# generated by irgrad from {ir.meta.name} ({ir.meta.filename}:{ir.meta.firstlineno})",
                  f"def {_FACTORY}({', '.join(n for n, _ in self.consts.values())}):",
                  f"    def {self.fname}({params}):"]
        body: list = []
        _render(tree, "        ", body, self._comment)
        self.source = "\n".join(header + body + [f"    return {self.fname}", ""])

    def _comment(self, line) -> str:
        if line is None:
            return ""
        return f"  # {self.file}:{line}" if self.file else f"  # line {line}"

    # ── operands and statements ──

    def const(self, v) -> str:
        text = _literal(v)
        if text is not None:
            return text
        entry = self.consts.get(id(v))
        if entry is None:
            entry = self.consts[id(v)] = (self.names.take(_const_base(v)), v)
        return entry[0]

    def atom(self, x) -> str:
        if isinstance(x, Var):
            if x in self.alias:
                return self.atom(self.alias[x])
            return self.local[x]
        return self.const(x.value)

    def stmt(self, s) -> list:
        """The lines of one statement `var = fn(args..., k=v...)`."""
        target = self.local[s.var]
        used = self.uses.get(s.var, 0) > 0
        args = [self.atom(a) for a in s.args]
        fn = s.fn.value if isinstance(s.fn, Const) else None
        if fn is not None and not s.kwargs:
            special = self.special(fn, s, args, target, used)
            if special is not None:
                return [Line(t, s.line) for t in special]
            template = _lookup(_EXPR_BY_ID, fn)
            expr = template(args) if template is not None else None
            if expr is not None:
                return [Line(f"{target} = {expr}" if used else expr, s.line)]
        expr = f"{self.callee(s.fn)}({_call_args(args, [(k, self.atom(v)) for k, v in s.kwargs])})"
        return [Line(f"{target} = {expr}" if used else expr, s.line)]

    def callee(self, fn) -> str:
        text = self.atom(fn)
        return f"({text})" if isinstance(fn, Const) and _literal(fn.value) is not None else text

    def special(self, fn, s, args, target, used):
        """Statements that become Python statements rather than expressions: stores, in-place operators,
        attribute access, the iteration and call helpers.  None when `fn` is not one of them."""
        n = len(args)
        const_str = [isinstance(a, Const) and type(a.value) is str and a.value.isidentifier()
                     and not keyword.iskeyword(a.value) for a in s.args]

        def attr(i):
            base = args[0] if isinstance(s.args[0], Var) else f"({args[0]})"
            return f"{base}.{s.args[i].value}"

        def assign_none(lines):
            return lines + [f"{target} = None"] if used else lines

        if fn is getattr and n == 2 and const_str[1]:
            return [f"{target} = {attr(1)}" if used else attr(1)]
        if fn is setattr and n == 3 and const_str[1]:
            return assign_none([f"{attr(1)} = {args[2]}"])
        if fn is operator.setitem and n == 3:
            return assign_none([f"{args[0]}[{args[1]}] = {args[2]}"])
        if fn is operator.delitem and n == 2:
            return assign_none([f"del {args[0]}[{args[1]}]"])
        if fn is ops.cell_set and n == 2:
            return assign_none([f"{args[0]}.cell_contents = {args[1]}"])
        if fn is ops.dict_setitem and n == 3:
            return [f"{args[0]}[{args[1]}] = {args[2]}"] + ([f"{target} = {args[0]}"] if used else [])
        if fn is ops.list_append and n == 2:
            return [f"{args[0]}.append({args[1]})"] + ([f"{target} = {args[0]}"] if used else [])
        if fn is ops.next_or_stop and n == 1:
            expr = f"{self.const(next)}({args[0]}, {self.const(ops.STOP)})"
            return [f"{target} = {expr}" if used else expr]
        if fn is ops.call_ex and n in (2, 3):
            star = f"*{args[1]}" + (f", **{args[2]}" if n == 3 and args[2] != "None" else "")
            expr = f"{args[0]}({star})"
            return [f"{target} = {expr}" if used else expr]
        if fn is ops.freevar and n == 2 and isinstance(s.args[1], Const) and type(s.args[1].value) is int:
            expr = f"{args[0]}.__closure__[{args[1]}].cell_contents"
            return [f"{target} = {expr}" if used else expr]
        symbol = _lookup(_INPLACE_BY_ID, fn)
        if symbol is not None and n == 2:
            # `t = a; t += b` is exactly `t = operator.iadd(a, b)` (in place when `a` supports it).
            return [f"{target} = {args[0]}", f"{target} {symbol} {args[1]}"]
        return None

    def edge(self, target, args, line) -> list:
        """Block-argument assignments for a jump, with parallel-assignment semantics."""
        pairs = [(self.atom(p), self.atom(a)) for p, a in zip(target.args, args)]
        pairs = [(p, a) for p, a in pairs if p != a]
        if not pairs:
            return []
        targets, sources = {p for p, _ in pairs}, {a for _, a in pairs}
        alone = [(p, a) for p, a in pairs if p not in sources and a not in targets]
        tied = [pair for pair in pairs if pair not in alone]
        out = [Line(f"{p} = {a}", line) for p, a in alone]
        if len(tied) == 1:
            out.append(Line(f"{tied[0][0]} = {tied[0][1]}", line))
        elif tied:
            # Values that move between the arguments (a swap, a rotation): one assignment reads them all first.
            out.append(Line(f"{', '.join(p for p, _ in tied)} = {', '.join(a for _, a in tied)}", line))
        return out

    def exit(self, block) -> list:
        t = block.term
        if isinstance(t, Return):
            return [Line(f"return {self.atom(t.value)}", t.line, jump="exit")]
        cause = f" from {self.atom(t.cause)}" if t.cause is not None else ""
        return [Line(f"raise {self.atom(t.value)}{cause}", t.line, jump="exit")]

    def block_lines(self, block) -> list:
        stmts = block.stmts
        t = block.term
        if (isinstance(t, CondBr) and stmts and stmts[-1].var is t.cond and self.uses.get(t.cond) == 1
                and isinstance(stmts[-1].fn, Const) and not stmts[-1].kwargs):
            # `c = i < n; if c:` is written `if i < n:` (same order of evaluation: it is the block's last).
            template = _lookup(_EXPR_BY_ID, stmts[-1].fn.value)
            expr = template([self.atom(a) for a in stmts[-1].args]) if template is not None else None
            if expr is not None:
                self.folded[t.cond] = expr
                stmts = stmts[:-1]
        out = []
        for s in stmts:
            out.extend(self.stmt(s))
        return out

    def cond(self, operand) -> str:
        return self.folded.get(operand) or self.atom(operand)

    # ── the fallback for graphs the structurer cannot handle ──

    def dispatch(self) -> list:
        """`while True: if _b == 1: ... elif _b == 2: ...`, one arm per block (numbered as the printer does)."""
        printed = Namer(self.ir)
        var = self.names.take("_b")
        num = {id(b): printed.block(b) for b in self.ir.blocks}
        chain: list = []
        for b in reversed(self.ir.blocks):
            arm = self.block_lines(b)
            t = b.term
            if isinstance(t, (Return, Raise)):
                arm += self.exit(b)
            elif isinstance(t, Br):
                arm += self.edge(t.target, t.args, t.line) + [Line(f"{var} = {num[id(t.target)]}", t.line)]
            else:
                arms = [self.edge(tb, ta, t.line) + [Line(f"{var} = {num[id(tb)]}", t.line)]
                        for tb, ta in t.edges()]
                arm.append(If(self.hooks.cond(t.cond), arms[0], arms[1], t.line))
            chain = [If(f"{var} == {num[id(b)]}", arm, chain)]
        return [Line(f"{var} = {num[id(self.ir.entry)]}"), While(chain)]


class _Hooks:
    """The structurer's view of the generator."""

    def __init__(self, gen: _Generator):
        self.gen = gen

    def block_code(self, block):
        return self.gen.block_lines(block)

    def edge_code(self, target, args, line):
        return self.gen.edge(target, args, line)

    def exit_code(self, block):
        return self.gen.exit(block)

    def cond(self, operand):
        return self.gen.cond(operand)

    def fresh(self, base):
        return self.gen.names.take(base)


def _call_args(args: list, kwargs: list) -> str:
    parts = list(args)
    plain = [(k, v) for k, v in kwargs if k.isidentifier() and not keyword.iskeyword(k)]
    parts += [f"{k}={v}" for k, v in plain]
    odd = [(k, v) for k, v in kwargs if (k, v) not in plain]
    if odd:
        parts.append("**{" + ", ".join(f"{k!r}: {v}" for k, v in odd) + "}")
    return ", ".join(parts)


# ── Printing the statement tree ──────────────────────────────────────────────────────────────────────────────────

def _render(seq: list, indent: str, out: list, comment) -> None:
    for node in seq:
        if isinstance(node, Line):
            out.append(f"{indent}{node.text}{comment(node.line)}")
        elif isinstance(node, If):
            _render_if(node, indent, out, comment, "if")
        else:
            out.append(f"{indent}while True:")
            body = _strip_continue(node.body)
            _render(body or [Line("pass")], indent + "    ", out, comment)


def _render_if(node: If, indent: str, out: list, comment, word: str) -> None:
    out.append(f"{indent}{word} {node.cond}:{comment(node.line)}")
    _render(node.then or [Line("pass")], indent + "    ", out, comment)
    if len(node.orelse) == 1 and isinstance(node.orelse[0], If):
        _render_if(node.orelse[0], indent, out, comment, "elif")
    elif node.orelse:
        out.append(f"{indent}else:")
        _render(node.orelse, indent + "    ", out, comment)


def _strip_continue(seq: list) -> list:
    """A `continue` at the very end of a loop body is implicit: drop it (also at the ends of a final `if`)."""
    if not seq:
        return seq
    last = seq[-1]
    if isinstance(last, Line) and last.jump == "continue":
        return seq[:-1]
    if isinstance(last, If):
        then, orelse = _strip_continue(last.then), _strip_continue(last.orelse)
        if not then and orelse:
            return seq[:-1] + [If(negate(last.cond), orelse, [], last.line)]
        return seq[:-1] + [If(last.cond, then, orelse, last.line)]
    return seq


# ── Checks and counts ────────────────────────────────────────────────────────────────────────────────────────────

def _use_counts(ir: IR) -> dict:
    uses: dict = {}
    for b in ir.blocks:
        for s in b.stmts:
            for x in s.operands():
                if isinstance(x, Var):
                    uses[x] = uses.get(x, 0) + 1
        if b.term is not None:
            for x in b.term.operands():
                if isinstance(x, Var):
                    uses[x] = uses.get(x, 0) + 1
    return uses


def _copies(ir: IR) -> dict:
    """Block arguments that are plain copies: a block with exactly one incoming edge receives the same value on
    every entry, so its argument is written as the operand passed (SSA copy propagation; dominance still holds)."""
    incoming: dict = {}
    for b in ir.blocks:
        for target, args in b.term.edges():
            incoming.setdefault(id(target), []).append(args)
    alias: dict = {}
    for b in ir.blocks[1:]:
        edges = incoming.get(id(b), [])
        if len(edges) == 1:
            alias.update(zip(b.args, edges[0]))
    # Resolve chains (a copy of a copy), stopping at anything that is not itself a copy.
    for v in list(alias):
        seen = {v}
        x = alias[v]
        while isinstance(x, Var) and x in alias and x not in seen:
            seen.add(x)
            x = alias[x]
        alias[v] = x
    return {v: x for v, x in alias.items() if x is not v}


def _check(ir: IR) -> None:
    """What codegen relies on: every block ends in a terminator, jumps stay inside the IR with the right number of
    block arguments, every variable used is defined somewhere."""
    if not ir.blocks:
        raise IRVerifyError(f"codegen: {ir.where()} has no blocks")
    known = {id(b): i + 1 for i, b in enumerate(ir.blocks)}
    defined = {v for b in ir.blocks for v in b.args} | {s.var for b in ir.blocks for s in b.stmts}
    for i, b in enumerate(ir.blocks, 1):
        if b.term is None:
            raise IRVerifyError(f"codegen: block {i} of {ir.where()} has no terminator\n{ir}")
        for target, args in b.term.edges():
            if id(target) not in known:
                raise IRVerifyError(f"codegen: block {i} of {ir.where()} jumps to a block not in the IR\n{ir}")
            if len(args) != len(target.args):
                raise IRVerifyError(f"codegen: block {i} of {ir.where()} passes {len(args)} arguments to block "
                                    f"{known[id(target)]}, which takes {len(target.args)}\n{ir}")
        operands = [x for s in b.stmts for x in s.operands()] + list(b.term.operands())
        for x in operands:
            if isinstance(x, Var) and x not in defined:
                raise IRVerifyError(f"codegen: block {i} of {ir.where()} uses {x!r}, which is never defined\n{ir}")
