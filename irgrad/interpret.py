"""The reference interpreter: runs any IR (raw, typed, forward or adjoint) by walking its blocks.

It is the semantics the other backends are tested against, so it is deliberately plain: an environment from
`Var` to value, one Python call per statement, and a loop over blocks following the terminators.
"""
from __future__ import annotations

from .errors import IRVerifyError
from .ir import IR, Br, CondBr, Const, Raise, Return

__all__ = ["run"]


def run(ir: IR, *args, call=None):
    """Run `ir` on the entry block's arguments (see `frontend.bind_args`); returns what its `Return` returns and
    raises what its `Raise` (or any call) raises.  `call(fn, args, kwargs)`, when given, makes every call of the IR
    (for instance to run the callees' own IR too); by default a call is an ordinary Python call."""
    block = ir.entry
    if len(args) != len(block.args):
        raise IRVerifyError(f"{ir.where()}: the IR takes {len(block.args)} arguments, {len(args)} given")
    env = dict(zip(block.args, args))

    def value(x):
        return x.value if isinstance(x, Const) else env[x]

    while True:
        for s in block.stmts:
            fn = value(s.fn)
            if call is not None:
                env[s.var] = call(fn, [value(a) for a in s.args], {k: value(v) for k, v in s.kwargs})
            elif s.kwargs:
                env[s.var] = fn(*[value(a) for a in s.args], **{k: value(v) for k, v in s.kwargs})
            else:
                env[s.var] = fn(*[value(a) for a in s.args])
        t = block.term
        if isinstance(t, Br):
            target, passed = t.target, t.args
        elif isinstance(t, CondBr):
            if value(t.cond):
                target, passed = t.then_, t.then_args
            else:
                target, passed = t.else_, t.else_args
        elif isinstance(t, Return):
            return value(t.value)
        elif isinstance(t, Raise):
            exc = value(t.value)
            if t.cause is None:
                raise exc
            raise exc from value(t.cause)
        else:
            raise IRVerifyError(f"{ir.where()}: a block has no terminator")
        # Evaluate every passed value before binding any: a block may pass its own arguments, permuted, to itself.
        new = [value(a) for a in passed]
        env.update(zip(target.args, new))
        block = target
