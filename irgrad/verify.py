"""Well-formedness of an `IR`, checked after every pass in the tests (JAX's `check_jaxpr`).

`verify(ir)` checks that
- every block ends in exactly one terminator and holds only statements before it;
- every branch targets a block of this IR and passes as many operands as the target has block arguments;
- every variable is defined once (a block argument or a statement) and every use is dominated by its definition:
  earlier in the same block, or in a block that dominates the user;
- operands are `Var` or `Const`, and `argtypes` runs parallel to `args`.

A malformed IR is a bug in irgrad, never the user's fault; the error shows the IR around the fault.
"""
from __future__ import annotations

from .cfg import Dominance, reachable
from .errors import IRVerifyError
from .ir import IR, Br, CondBr, Const, Raise, Return, Stmt, Var
from .printer import Namer, format_ir

_CONTEXT = 4  # lines of IR shown either side of the fault


def verify(ir: IR) -> IR:
    """Raise `IRVerifyError` at the first fault; return the IR unchanged when it is well formed."""
    _Verifier(ir).run()
    return ir


class _Verifier:
    def __init__(self, ir: IR):
        self.ir = ir
        self.index = {id(b): i for i, b in enumerate(ir.blocks)}

    def fail(self, msg: str, block=None, line: int | None = None):
        """`line` is the position in the block: -1 for its header, 0.. for statements, len(stmts) for the
        terminator."""
        raise IRVerifyError(f"{msg}\n  in {self.ir.where()}\n{self.excerpt(block, line)}")

    def excerpt(self, block, line) -> str:
        try:
            text = format_ir(self.ir).split("\n")
        except Exception as e:  # the IR may be too broken to print in full
            return f"  (cannot print the IR: {type(e).__name__}: {e})"
        if block is None:
            return "\n".join("    " + t for t in text)
        # Where the block starts in the printed text: a header, one line per statement, one or two for the
        # terminator (the printer's layout).
        start = 0
        for b in self.ir.blocks:
            if b is block:
                break
            start += 1 + len(b.stmts) + (2 if isinstance(b.term, CondBr) else 1)
        at = start + 1 + (line if line is not None else -1)
        lo, hi = max(0, at - _CONTEXT), min(len(text), at + _CONTEXT + 1)
        return "\n".join((">>> " if i == at else "    ") + text[i] for i in range(lo, hi))

    def run(self):
        ir = self.ir
        if not ir.blocks:
            self.fail("the IR has no blocks")
        self.check_shapes()
        defs = self.check_definitions()
        live = reachable(ir)
        dom = Dominance(ir)
        namer = Namer(ir)
        for b in ir.blocks:
            local = set(b.args)
            for pos, s in enumerate(b.stmts):
                for op in s.operands():
                    self.check_use(op, b, pos, local, defs, dom, live, namer)
                local.add(s.var)
            for op in b.term.operands():
                self.check_use(op, b, len(b.stmts), local, defs, dom, live, namer)

    def check_shapes(self):
        for b in self.ir.blocks:
            if len(b.argtypes) != len(b.args):
                self.fail(f"block {self.name(b)} has {len(b.args)} arguments but {len(b.argtypes)} argument types",
                          b, -1)
            for v in b.args:
                if not isinstance(v, Var):
                    self.fail(f"block {self.name(b)} has an argument that is not a Var: {v!r}", b, -1)
            for pos, s in enumerate(b.stmts):
                if not isinstance(s, Stmt):
                    self.fail(f"block {self.name(b)} holds {type(s).__name__} among its statements "
                              "(a terminator must be the block's `term`)", b, pos)
                if not isinstance(s.var, Var):
                    self.fail(f"statement defines {s.var!r}, not a Var", b, pos)
                for op in s.operands():
                    if not isinstance(op, (Var, Const)):
                        self.fail(f"operand {op!r} is neither a Var nor a Const", b, pos)
            t = b.term
            if t is None:
                self.fail(f"block {self.name(b)} has no terminator", b, len(b.stmts))
            if not isinstance(t, (Br, CondBr, Return, Raise)):
                self.fail(f"block {self.name(b)} ends in {type(t).__name__}, not a terminator", b, len(b.stmts))
            for op in t.operands():
                if not isinstance(op, (Var, Const)):
                    self.fail(f"terminator operand {op!r} is neither a Var nor a Const", b, len(b.stmts))
            for target, args in t.edges():
                if id(target) not in self.index:
                    self.fail(f"block {self.name(b)} branches to a block that is not part of this IR",
                              b, len(b.stmts))
                if len(args) != len(target.args):
                    self.fail(f"block {self.name(b)} passes {len(args)} arguments to block {self.name(target)}, "
                              f"which takes {len(target.args)}", b, len(b.stmts))

    def check_definitions(self) -> dict:
        """Var -> defining block; each variable defined once."""
        defs: dict = {}
        for b in self.ir.blocks:
            for v in b.args:
                if v in defs:
                    self.fail(f"variable {v!r} is defined twice", b, -1)
                defs[v] = b
            for pos, s in enumerate(b.stmts):
                if s.var in defs:
                    self.fail(f"variable {s.var!r} is defined twice", b, pos)
                defs[s.var] = b
        return defs

    def check_use(self, op, b, pos, local, defs, dom, live, namer):
        if not isinstance(op, Var) or op in local:
            return
        where = defs.get(op)
        if where is None:
            self.fail(f"{namer(op)} ({op!r}) is used in block {self.name(b)} but defined nowhere in the IR", b, pos)
        if where is b:
            self.fail(f"{namer(op)} is used in block {self.name(b)} before its definition", b, pos)
        # In an unreachable block dominance means nothing; a definition somewhere is all we can ask.
        if b in live and not dom.dominates(where, b):
            self.fail(f"{namer(op)} is used in block {self.name(b)} but its definition in block "
                      f"{self.name(where)} does not dominate it", b, pos)

    def name(self, b) -> str:
        i = self.index.get(id(b))
        return "?" if i is None else str(i + 1)
