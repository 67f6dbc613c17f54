"""IR to readable Python source, compiled once and registered with `linecache`.

    fn = compile_ir(ir)        # a plain Python function taking the entry block's arguments
    text = source(ir)          # the same source, for reading (`irdump --python`)

One local per SSA variable, named from `Var.hint` (made a valid, unique identifier) or `_N` after the printer's
`%N`.  Constants that are not literals are bound once, as closure variables of a factory function named `_make`,
so the generated function never looks them up in a dict.  The exact callables `operator.add`, `getattr(x, 'a')`,
`operator.getitem`, `ops.build_tuple`... are written as the expressions `a + b`, `x.a`, `x[i]`, `(a, b)`, which is
what makes the generated code as fast as the same function written by hand.  Temporaries read once on the same
line are folded into the expression that reads them; a block argument with one incoming edge is the value passed;
a value passed once to a block argument is computed straight into its name.  Control flow is structured by
`structure.py` into `if`/`else`, `while True:` and `for`; a graph it cannot structure gets a block-dispatch loop.
See docs/codegen.md.

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
from .structure import Hooks, Line, Unstructured, dispatch, render, structure
from .types import Array

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
    exec(compile(text, filename, "exec", dont_inherit=True), namespace)
    fn = namespace[_FACTORY](*gen.const_values)
    fn.__irgrad_source__ = text
    fn.__qualname__ = gen.fname
    # The linecache entry lives as long as the function (the counter keeps filenames unique).
    weakref.finalize(fn, linecache.cache.pop, filename, None)
    return fn


# ── Operators written as Python syntax ───────────────────────────────────────────────────────────────────────────
# An expression is (text, precedence); an operand is parenthesized when it binds less tightly than its place
# needs.  Keyed by the callable's identity: only the exact `operator.add` is written `+`.

ATOM, NUMBER, POW, UNARY, MUL, ADD, SHIFT, BAND, BXOR, BOR, CMP, NOT, ANY = (
    100, 95, 90, 80, 70, 60, 50, 40, 35, 30, 20, 10, 0)  # a number literal cannot take `.attr` unparenthesized

_BINARY = {
    operator.add: ("+", ADD), operator.sub: ("-", ADD), operator.mul: ("*", MUL), operator.truediv: ("/", MUL),
    operator.floordiv: ("//", MUL), operator.mod: ("%", MUL), operator.matmul: ("@", MUL),
    operator.pow: ("**", POW), operator.lshift: ("<<", SHIFT), operator.rshift: (">>", SHIFT),
    operator.and_: ("&", BAND), operator.xor: ("^", BXOR), operator.or_: ("|", BOR),
    operator.lt: ("<", CMP), operator.le: ("<=", CMP), operator.eq: ("==", CMP), operator.ne: ("!=", CMP),
    operator.gt: (">", CMP), operator.ge: (">=", CMP), operator.is_: ("is", CMP), operator.is_not: ("is not", CMP),
}
_INPLACE = {
    operator.iadd: "+=", operator.isub: "-=", operator.imul: "*=", operator.itruediv: "/=",
    operator.ifloordiv: "//=", operator.imod: "%=", operator.ipow: "**=", operator.imatmul: "@=",
    operator.ilshift: "<<=", operator.irshift: ">>=", operator.iand: "&=", operator.ior: "|=",
    operator.ixor: "^=",
}
_UNARY = {operator.neg: ("-", UNARY), operator.pos: ("+", UNARY), operator.invert: ("~", UNARY),
          operator.not_: ("not ", NOT)}


def wrap(e, need: int) -> str:
    return e[0] if e[1] >= need else f"({e[0]})"


def _binary(sym, prec):
    if sym == "**":  # right-associative, and `-x ** 2` is `-(x ** 2)`
        left, right = POW + 1, UNARY
    elif prec == CMP:  # `a < b < c` would chain
        left, right = CMP + 1, CMP + 1
    else:
        left, right = prec, prec + 1
    return lambda a: (f"{wrap(a[0], left)} {sym} {wrap(a[1], right)}", prec) if len(a) == 2 else None


def _unary(sym, prec):
    return lambda a: (f"{sym}{wrap(a[0], prec)}", prec) if len(a) == 1 else None


def _items(a):
    return ", ".join(wrap(x, NOT) for x in a)


def _tuple(a):
    return ("()" if not a else f"({wrap(a[0], NOT)},)" if len(a) == 1 else f"({_items(a)})"), ATOM


def _dict(a):
    if len(a) % 2:
        return None
    pairs = (f"{wrap(a[i], NOT)}: {wrap(a[i + 1], NOT)}" for i in range(0, len(a), 2))
    return "{" + ", ".join(pairs) + "}", ATOM


def _contains(negated):
    word = "not in" if negated else "in"
    return lambda a: (f"{wrap(a[1], CMP + 1)} {word} {wrap(a[0], CMP + 1)}", CMP) if len(a) == 2 else None


_EXPR = {
    **{f: _binary(*spec) for f, spec in _BINARY.items()},
    **{f: _unary(*spec) for f, spec in _UNARY.items()},
    operator.getitem: lambda a: (f"{wrap(a[0], ATOM)}[{a[1][0]}]", ATOM) if len(a) == 2 else None,
    ops.build_tuple: _tuple,
    ops.build_list: lambda a: (f"[{_items(a)}]", ATOM),
    ops.build_set: lambda a: (f"{{{_items(a)}}}", ATOM) if a else None,
    ops.build_dict: _dict,
    ops.contains: _contains(False),
    ops.not_contains: _contains(True),
    ops.cell_get: lambda a: (f"{wrap(a[0], ATOM)}.cell_contents", ATOM) if len(a) == 1 else None,
}
_EXPR_BY_ID = {id(f): (f, t) for f, t in _EXPR.items()}


def _reductions() -> dict:
    """NumPy reductions that equal the ndarray method of the same name on an array (np.sum(a, axis=0) calls
    what a.sum(axis=0) calls, without the dispatch that makes it take twice as long on a small array)."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        return {}
    return {id(f): (f, name) for f, name in ((np.sum, "sum"), (np.mean, "mean"), (np.max, "max"),
                                             (np.min, "min"), (np.amax, "max"), (np.amin, "min"),
                                             (np.prod, "prod"))}


_METHOD_BY_ID = _reductions()
_METHOD_KWARGS = frozenset(("axis", "keepdims", "dtype"))

try:
    from .fast_calls import ZERO_OPERAND_UFUNCS, is_zero_constant, mean_f64, zero_first, zero_second
    from .inline_rules import sum_like as _SUM_LIKE
except ImportError:  # pragma: no cover
    ZERO_OPERAND_UFUNCS = ()
    _SUM_LIKE = None


_INPLACE_BY_ID = {id(f): (f, s) for f, s in _INPLACE.items()}
_STORES_BY_ID = {id(f): (f, True) for f in (setattr, operator.setitem, operator.delitem, ops.cell_set,
                                            ops.dict_setitem, ops.list_append)}
# Operands evaluated in another order than the IR lists them (`x in c` evaluates x first).
_REORDERED = {id(ops.contains): (1, 0), id(ops.not_contains): (1, 0)}


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
        self.suffix: dict = {}  # base -> last suffix tried (a loop variable can have thousands of versions)

    def take(self, base: str) -> str:
        base = _sanitize(base)
        name, k = base, self.suffix.get(base, 0)
        while name in self.used:
            k += 1
            name = f"{base}_{k}"
        self.suffix[base] = k
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
            return _tuple([(x, ATOM) for x in items])[0]
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

class _Generator(Hooks):
    """Writes one IR's source; it is also what the structurer asks for the code of blocks, edges and exits."""

    def __init__(self, ir: IR, name: str | None):
        self.ir = ir
        _check(ir)
        self.file = os.path.basename(ir.meta.filename) if ir.meta.filename not in ("?", "") else None
        self.names = _Names({_FACTORY})
        self.fname = self.names.take(name or (ir.meta.name if ir.meta.name not in ("?", "") else "f"))
        self.uses = ir.use_counts()
        printed = Namer(ir)
        self.alias = _copies(ir)
        self.local = {}
        shared = _coalesce(ir, self.alias, self.uses)
        for b in ir.blocks:
            for v in b.args + [s.var for s in b.stmts]:
                if v not in self.alias and v not in shared:
                    self.local[v] = self.names.take(v.hint if v.hint else "_" + printed(v).lstrip("%?"))
        for v, p in shared.items():
            self.local[v] = self.local[p]
        self.user = _single_users(ir)
        self.types = None  # Var -> type, when first needed
        self.readers = None  # Var -> ids of the blocks that read it, when first needed
        self.folded: dict = {}  # Var read by a terminator -> its expression, written in the `if`/`return` itself
        self.consts: dict = {}  # id(value) -> (name, value)
        self.skip_name = None  # the target of items a native unpack does not keep
        try:
            tree = structure(ir.blocks, self)
        except Unstructured:
            printed = Namer(ir)
            tree = dispatch(ir.blocks, self, printed.block)
        params = ", ".join(self.local[v] for v in ir.entry.args)
        self.const_values = [v for _, v in self.consts.values()]
        header = [f"# generated by irgrad from {ir.meta.name} ({ir.meta.filename}:{ir.meta.firstlineno})",
                  f"def {_FACTORY}({', '.join(n for n, _ in self.consts.values())}):",
                  f"    def {self.fname}({params}):"]
        body: list = []
        render(tree, "        ", body, self._comment)
        self.source = "\n".join(header + body + [f"    return {self.fname}", ""])

    def _comment(self, line) -> str:
        if line is None:
            return ""
        return f"  # {self.file}:{line}" if self.file else f"  # line {line}"

    # ── operands and statements ──

    def const(self, v) -> str:
        text = _literal(v)
        return text if text is not None else self.bound(v)

    def bound(self, v) -> str:
        """The closure variable holding constant `v`."""
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

    def operand(self, x, folded: dict, identity: bool = False) -> tuple:
        """(text, precedence) of an operand: a folded expression, a name or a constant.  With `identity` (an
        operand of `is`), a constant is the very object of the IR, bound, never a literal that makes a new one."""
        if x in folded:
            return folded[x]
        if identity and isinstance(x, Const) and not any(x.value is v for v in _SINGLETONS):
            return self.bound(x.value), ATOM
        text = self.atom(x)
        return text, NUMBER if text[0].isdigit() else ATOM

    def expression(self, s, folded: dict) -> tuple:
        """(text, precedence) of a statement that is an expression (all but the `statement` forms)."""
        fn = s.fn.value if isinstance(s.fn, Const) else None
        identity = fn is operator.is_ or fn is operator.is_not
        a = [self.operand(x, folded, identity) for x in s.args]
        if fn is not None and not s.kwargs:
            template = _lookup(_EXPR_BY_ID, fn)
            e = template(a) if template is not None else None
            if e is not None:
                return e
            n = len(a)
            if fn is getattr and n == 2 and _identifier(s.args[1]):
                return f"{wrap(a[0], ATOM)}.{s.args[1].value}", ATOM
            if fn is ops.next_or_stop and n == 1:
                return f"{self.const(next)}({a[0][0]}, {self.const(ops.STOP)})", ATOM
            if fn is ops.call_ex and n in (2, 3):
                kw = n == 3 and not (isinstance(s.args[2], Const) and s.args[2].value is None)
                star = f"*{wrap(a[1], ATOM)}" + (f", **{wrap(a[2], ATOM)}" if kw else "")
                return f"{wrap(a[0], ATOM)}({star})", ATOM
            if fn is ops.freevar and n == 2 and isinstance(s.args[1], Const) and type(s.args[1].value) is int:
                return f"{wrap(a[0], ATOM)}.__closure__[{a[1][0]}].cell_contents", ATOM
        if fn is _SUM_LIKE and not s.kwargs and len(a) == 2 and all(
                isinstance(x, Var) and x not in folded for x in s.args):
            # a cotangent summed to its operand's shape: most often the shapes already agree (no call then)
            d, like = a[0][0], a[1][0]
            return f"({d} if {d}.shape == {like}.shape else {self.bound(fn)}({d}, {like}))", ATOM
        if fn is not None and not s.kwargs and len(a) == 2 and any(fn is u for u in ZERO_OPERAND_UFUNCS):
            e = self.zero_operand(fn, s.args, a)
            if e is not None:
                return e
        kwargs = [(k, self.operand(v, folded)[0]) for k, v in s.kwargs]
        method = self.method_form(fn, s)
        if method is not None:
            if method == "mean" and not kwargs and self.is_f64_array(s.args[0]):
                return f"{self.bound(mean_f64)}({a[0][0]})", ATOM
            return f"{wrap(a[0], ATOM)}.{method}({_call_args([], kwargs)})", ATOM
        callee = self.operand(s.fn, folded)
        return f"{wrap(callee, ATOM)}({_call_args([e[0] for e in a], kwargs)})", ATOM

    def zero_operand(self, fn, args, a):
        """`np.maximum(0, x)` and the like on a float64 array: `fast_calls.zero_first` / `zero_second`."""
        for k, helper in ((0, zero_first), (1, zero_second)):
            c, x = args[k], args[1 - k]
            if isinstance(c, Const) and is_zero_constant(c.value) and self.is_f64_array(x):
                return f"{self.bound(helper)}({self.bound(fn)}, {a[0][0]}, {a[1][0]})", ATOM
        return None

    def method_form(self, fn, s):
        """`x.sum(axis=0)` for `np.sum(x, axis=0)` when x is certainly an ndarray (its type, or a constant)."""
        if fn is None or len(s.args) != 1 or any(k not in _METHOD_KWARGS for k, _ in s.kwargs):
            return None
        entry = _METHOD_BY_ID.get(id(fn))
        if entry is None or entry[0] is not fn:
            return None
        x = s.args[0]
        if isinstance(x, Const):
            return entry[1] if type(x.value).__name__ == "ndarray" else None
        if self.types is None:
            self.types = self.ir.types()
        return entry[1] if isinstance(self.types.get(x), Array) else None

    def is_f64_array(self, x) -> bool:
        if isinstance(x, Const):
            return False
        if self.types is None:
            self.types = self.ir.types()
        t = self.types.get(x)
        return isinstance(t, Array) and t.dtype == "float64"

    def statement(self, s, folded: dict) -> list:
        """Stores and in-place operators, which Python writes as statements (see `_statement_order`)."""
        fn = s.fn.value
        a = [self.operand(x, folded)[0] for x in s.args]
        base = wrap(self.operand(s.args[0], folded), ATOM)
        target, used = self.local[s.var], self.uses.get(s.var, 0) > 0
        none = [f"{target} = None"] if used else []
        same = [f"{target} = {a[0]}"] if used else []
        if fn is setattr:
            return [f"{base}.{s.args[1].value} = {a[2]}"] + none
        if fn is operator.setitem:
            return [f"{base}[{a[1]}] = {a[2]}"] + none
        if fn is operator.delitem:
            return [f"del {base}[{a[1]}]"] + none
        if fn is ops.cell_set:
            return [f"{base}.cell_contents = {a[1]}"] + none
        if fn is ops.dict_setitem:
            return [f"{base}[{a[1]}] = {a[2]}"] + same
        if fn is ops.list_append:
            return [f"{base}.append({a[1]})"] + same
        # `t = a; t += b` is exactly `t = operator.iadd(a, b)` (in place when `a` supports it).
        first = [f"{target} = {a[0]}"] if target != a[0] else []
        return first + [f"{target} {_lookup(_INPLACE_BY_ID, fn)} {a[1]}"]

    def foldable(self, s, block) -> bool:
        """Is `s` a temporary read once, later in its block and on the same source line?  Then its expression is
        written where it is read: `y = a * x + b` rather than `_3 = a * x` then `y = _3 + b`."""
        v = s.var
        if v.hint or self.uses.get(v) != 1:
            return False
        where = self.user.get(v)
        return where is not None and where[0] is block and (where[1] == s.line or None in (where[1], s.line))

    def edge_code(self, target, args, line) -> list:
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

    def exit_code(self, block) -> list:
        t = block.term
        value = self.folded[t.value][0] if t.value in self.folded else self.atom(t.value)
        if isinstance(t, Return):
            return [Line(f"return {value}", t.line, jump="exit")]
        cause = f" from {self.atom(t.cause)}" if t.cause is not None else ""
        return [Line(f"raise {value}{cause}", t.line, jump="exit")]

    def block_code(self, block) -> list:
        """The block's statements.  Foldable temporaries wait in `pending` (oldest first) until read; a reader
        takes them only if they are the newest pending ones, in the order it evaluates them, so that every call
        still runs in its original order.  Anything else pending is first written out as an assignment."""
        out, pending, folded = [], [], {}

        def flush(keep=0):
            while len(pending) > keep:
                v, line = pending.pop(0)
                out.append(Line(f"{self.local[v]} = {folded.pop(v)[0]}", line))

        def take(operands):
            want = [x for x in operands if isinstance(x, Var) and x in folded]
            if [v for v, _ in pending[len(pending) - len(want):]] == want:
                del pending[len(pending) - len(want):]
            else:
                flush()

        unpacks, taken = self.native_unpacks(block)
        for s in block.stmts:
            if id(s) in taken:
                continue
            if id(s) in unpacks:  # `a, b = x` for unpack_sequence(x, 2) and its item reads
                take(_evaluation_order(s))
                flush()
                out.append(Line(f"{unpacks[id(s)]} = {self.operand(s.args[0], folded)[0]}", s.line))
                continue
            order = _statement_order(s)
            if order is not None:
                take(order)
                flush()
                out.extend(Line(text, s.line) for text in self.statement(s, folded))
                continue
            take(_evaluation_order(s))
            if not self.foldable(s, block):
                flush()
            e = self.expression(s, folded)
            if self.foldable(s, block):
                pending.append((s.var, s.line))
                folded[s.var] = e
            else:
                out.append(Line(f"{self.local[s.var]} = {e[0]}" if self.uses.get(s.var) else e[0], s.line))
        t = block.term
        read = t.value if isinstance(t, Return) or isinstance(t, Raise) and t.cause is None else \
            t.cond if isinstance(t, CondBr) else None
        if pending and pending[-1][0] is read:
            flush(keep=1)
            self.folded[read] = folded[read]
        else:
            flush()
        return out

    def native_unpacks(self, block) -> tuple:
        """`t = unpack_sequence(x, n)` followed at once by reads `t[k]` of distinct constant k, t read nowhere
        else: Python's own `a, _, c = x` (the same ValueError where x has another length).  Returns (id of the
        unpack -> its targets, ids of the reads it takes)."""
        unpacks, taken = {}, set()
        stmts = block.stmts
        for i, s in enumerate(stmts):
            if not (isinstance(s.fn, Const) and s.fn.value is ops.unpack_sequence and len(s.args) == 2
                    and not s.kwargs and isinstance(s.args[1], Const) and type(s.args[1].value) is int):
                continue
            n = s.args[1].value
            reads = {}
            for r in stmts[i + 1:]:
                if not (isinstance(r.fn, Const) and r.fn.value is operator.getitem and len(r.args) == 2
                        and r.args[0] is s.var and isinstance(r.args[1], Const) and type(r.args[1].value) is int):
                    break
                k = r.args[1].value % n if -n <= r.args[1].value < n else None
                if k is None or k in reads or r.var in self.alias:
                    break
                reads[k] = r
            if not reads or self.uses.get(s.var, 0) != len(reads) or s.var in self.alias or n > 32:
                continue
            names = [self.local[reads[k].var] if k in reads and self.uses.get(reads[k].var) else None
                     for k in range(n)]
            used = [t for t in names if t is not None]
            if len(set(used)) != len(used):  # two reads coalesced into one name: leave them as they are
                continue
            if None in names:
                if self.skip_name is None:
                    self.skip_name = self.names.take("_unused")
                names = [self.skip_name if t is None else t for t in names]
            unpacks[id(s)] = ", ".join(names) + ("," if n == 1 else "")
            taken.update(id(r) for r in reads.values())
        return unpacks, taken

    def fresh(self, base: str) -> str:
        return self.names.take(base)

    def cond(self, operand) -> str:
        return self.folded[operand][0] if operand in self.folded else self.atom(operand)

    def for_header(self, block, loop_blocks):
        stmts, t = block.stmts, block.term
        if len(stmts) != 2 or not isinstance(t, CondBr) or t.cond is not stmts[1].var:
            return None
        get, test = stmts
        fn, test_fn = (x.fn.value if isinstance(x.fn, Const) else None for x in (get, test))
        if (fn is not ops.next_or_stop or len(get.args) != 1 or get.kwargs or test.kwargs
                or test_fn not in (operator.is_, operator.is_not) or len(test.args) != 2
                or test.args[0] is not get.var
                or not (isinstance(test.args[1], Const) and test.args[1].value is ops.STOP)
                or self.uses.get(test.var) != 1):
            return None
        # The `for` leaves its target at the last item, not STOP: it must not be read once the loop is done.
        if self.readers is None:
            self.readers = {}
            for b in self.ir.blocks:
                for x in _block_operands(b):
                    self.readers.setdefault(x, set()).add(id(b))
        inside = {id(b) for b in loop_blocks}
        k = 0 if test_fn is operator.is_ else 1  # the exit edge
        if not self.readers.get(get.var, set()) <= inside or any(x is get.var for x in t.edges()[k][1]):
            return None
        return self.local[get.var], self.atom(get.args[0]), k


_SINGLETONS = (None, True, False, Ellipsis)


def _identifier(x) -> bool:
    return isinstance(x, Const) and type(x.value) is str and x.value.isidentifier() and not keyword.iskeyword(x.value)


def _statement_order(s):
    """For a store or in-place operator, the operands in the order its Python statement evaluates them (`a[k] = v`
    evaluates v, a, k); None for any other statement.  The container that `list_append` and `dict_setitem`
    return is read twice, so it is never folded."""
    fn = s.fn.value if isinstance(s.fn, Const) else None
    if fn is None or s.kwargs:
        return None
    a, n = s.args, len(s.args)
    if fn is setattr and n == 3 and _identifier(a[1]):
        return [a[2], a[0]]
    if fn is operator.setitem and n == 3:
        return [a[2], a[0], a[1]]
    if fn is operator.delitem and n == 2:
        return [a[0], a[1]]
    if fn is ops.cell_set and n == 2:
        return [a[1], a[0]]
    if fn is ops.dict_setitem and n == 3:
        return [a[2], a[1]]
    if fn is ops.list_append and n == 2:
        return [a[1]]
    if _lookup(_INPLACE_BY_ID, fn) and n == 2:
        return [a[0], a[1]]
    return None


def _evaluation_order(s) -> list:
    """The operands of a call in the order Python evaluates them in the generated expression."""
    fn = s.fn.value if isinstance(s.fn, Const) else None
    args = list(s.args)
    if fn is ops.contains or fn is ops.not_contains:
        args.reverse()
    return ([s.fn] if isinstance(s.fn, Var) else []) + args + [v for _, v in s.kwargs]


def _call_args(args: list, kwargs: list) -> str:
    parts = list(args)
    plain = [(k, v) for k, v in kwargs if k.isidentifier() and not keyword.iskeyword(k)]
    parts += [f"{k}={v}" for k, v in plain]
    odd = [(k, v) for k, v in kwargs if (k, v) not in plain]
    if odd:
        parts.append("**{" + ", ".join(f"{k!r}: {v}" for k, v in odd) + "}")
    return ", ".join(parts)


# ── Checks and counts ────────────────────────────────────────────────────────────────────────────────────────────

def _coalesce(ir: IR, alias: dict, uses: dict) -> dict:
    """Statement results that can share the name of the block argument they are passed to (`s = s * x + c`
    rather than `s_1 = s * x + c` then `s = s_1`): the value's only use is that jump, and the argument's old
    value is not read between the definition and the jump."""
    def resolve(x):
        while isinstance(x, Var) and x in alias:
            x = alias[x]
        return x

    shared: dict = {}
    for b in ir.blocks:
        t = b.term
        if not isinstance(t, Br):
            continue
        for j, (p, a) in enumerate(zip(t.target.args, t.args)):
            if p in alias or not isinstance(a, Var) or uses.get(a) != 1:
                continue
            where = next((i for i, s in enumerate(b.stmts) if s.var is a), None)
            if where is None:
                continue
            later = [x for s in b.stmts[where + 1:] for x in s.operands()]
            later += [x for k, x in enumerate(t.args) if k != j]
            if all(resolve(x) is not p for x in later):
                shared[a] = p
    return shared


def _block_operands(b):
    for s in b.stmts:
        yield from s.operands()
    yield from b.term.operands()


def _single_users(ir: IR) -> dict:
    """Var -> (block, line) of a read that could take its expression: a statement or the value of a return,
    raise or branch.  A variable passed along a jump maps to None."""
    user: dict = {}
    for b in ir.blocks:
        for s in b.stmts:
            for x in s.operands():
                user[x] = (b, s.line)
        t = b.term
        for x in t.operands():
            user[x] = None
        read = t.cond if isinstance(t, CondBr) else t.value if isinstance(t, (Return, Raise)) else None
        if isinstance(t, Raise) and t.cause is not None:
            read = None
        if read is not None and sum(x is read for x in t.operands()) == 1:
            user[read] = (b, t.line)
    return user


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
        for x in _block_operands(b):
            if isinstance(x, Var) and x not in defined:
                raise IRVerifyError(f"codegen: block {i} of {ir.where()} uses {x!r}, which is never defined\n{ir}")
