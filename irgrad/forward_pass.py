"""The forward IR: the primal IR where each differentiated statement also records what its adjoint needs.

Every block that records anything pushes one tuple per execution onto its own stack: the number of the
predecessor it was entered from (when it has several), then per differentiated statement its pullback (a rule's,
or the derived one of Python code through `fwd_call`), a store's `back` function, or the values an inline rule
saves (none at all for `+`, the operands for `*` ...).  The forward returns `(y, tape)`, the tape being the index of
the block that returned and every stack.
"""
from __future__ import annotations

import operator

from . import ops
from .ir import IR, Block, Br, CondBr, Const, Raise, Return, Stmt, Var
from .rules.registry import lookup
from .derive import OperandMask
from .runtime import STORES, fwd_call, fwd_call_masked, rule_call
from .types import Scalar


def forward_ir(ir: IR, active: set, plans: list, meta) -> IR:
    from .adjoint import predecessors
    fwd = IR(meta=meta)
    vmap: dict = {}
    blocks = [Block() for _ in ir.blocks]
    entry = Block()
    fwd.blocks = [entry] + blocks
    # A new entry creates one stack per recording block, then jumps into the primal entry.
    params = [entry.add_arg(t, v.hint) for v, t in zip(ir.entry.args, ir.entry.argtypes)]
    stacks = {p.index: entry.push(ops.build_list, hint=f"stack{p.index + 1}") for p in plans
              if p.stack and not p.direct}  # the direct record (see BlockPlan.direct) takes its place below
    preds = predecessors(ir)
    edge_ids = {}  # (id(pred), edge index, id(target)) -> predecessor number at the target
    for b in ir.blocks:
        for n, (p, k, _) in enumerate(preds[id(b)]):
            edge_ids[(id(p), k, id(b))] = n

    def m(x):
        return vmap[x] if isinstance(x, Var) else x

    for b, nb, plan in zip(ir.blocks, blocks, plans):
        for v, t in zip(b.args, b.argtypes):
            vmap[v] = nb.add_arg(t, v.hint)
        came_from = nb.add_arg(Scalar(int), "from") if plan.npreds > 1 else None
        recorded = {id(s): k for k, s in enumerate(plan.stmts)}
        pullbacks = {}
        for s in b.stmts:
            args = tuple(m(a) for a in s.args)
            kwargs = tuple((k, m(v)) for k, v in s.kwargs)
            k = recorded.get(id(s))
            kind = plan.kinds[k] if k is not None else None
            if kind in (None, "inline", "tuple"):
                # Runs as it is; what an inline rule needs is recorded at the end of the block.
                nv = Var(s.var.hint)
                nb.stmts.append(Stmt(nv, m(s.fn), args, kwargs, s.type, s.line))
                vmap[s.var] = nv
                continue
            if kind == "store":
                pair = nb.push(STORES[s.fn.value], *args, line=s.line)
            elif kind == "rule":
                rule, _ = lookup(s.fn.value)
                if kwargs:
                    pair = nb.push(rule_call, Const(rule), *args, kwargs=kwargs, line=s.line)
                else:
                    pair = nb.push(rule, *args, line=s.line)
            else:
                pos = [isinstance(o, Var) and o in active for o in s.args]
                kws = {k: isinstance(o, Var) and o in active for k, o in s.kwargs}
                if all(pos) and all(kws.values()):
                    pair = nb.push(fwd_call, m(s.fn), *args, kwargs=kwargs, line=s.line)
                else:  # tell the callee which operands are differentiated
                    mask = Const(OperandMask(pos, kws))
                    pair = nb.push(fwd_call_masked, mask, m(s.fn), *args, kwargs=kwargs, line=s.line)
            vmap[s.var] = nb.push(operator.getitem, pair, 0, type=s.type, line=s.line, hint=s.var.hint)
            pullbacks[k] = nb.push(operator.getitem, pair, 1, line=s.line)
        if plan.stack:
            values = [came_from if e[0] == "from" else m(e[1]) if e[0] == "value" else pullbacks[e[1]]
                      for e in plan.layout]
            rec = values[0] if plan.width == 1 else nb.push(ops.build_tuple, *values)
            plan.record_stmt = nb.stmts[-1] if plan.width > 1 else None  # for adjoint.prune_records
            if plan.direct:
                stacks[plan.index] = rec
            else:
                nb.push(ops.list_append, stacks[plan.index], rec)
        nb.term = _terminator(b.term, b, blocks, ir, m, edge_ids, stacks, plans)
    entry.term = Br(blocks[0], tuple(params) + ((Const(0),) if plans[0].npreds > 1 else ()))
    return fwd


def _terminator(t, b, blocks, ir, m, edge_ids, stacks, plans):
    index = {id(x): i for i, x in enumerate(ir.blocks)}

    def edge(k, target, args):
        i = index[id(target)]
        extra = (Const(edge_ids[(id(b), k, id(target))]),) if plans[i].npreds > 1 else ()
        return blocks[i], tuple(m(a) for a in args) + extra

    if isinstance(t, Br):
        tb, ta = edge(0, t.target, t.args)
        return Br(tb, ta, t.line)
    if isinstance(t, CondBr):
        tb, ta = edge(0, t.then_, t.then_args)
        eb, ea = edge(1, t.else_, t.else_args)
        return CondBr(m(t.cond), tb, ta, eb, ea, t.line)
    if isinstance(t, Return):
        nb = blocks[index[id(b)]]
        tape = nb.push(ops.build_tuple, Const(index[id(b)]), *[stacks[k] for k in sorted(stacks)])
        return Return(nb.push(ops.build_tuple, m(t.value), tape), t.line)
    if isinstance(t, Raise):
        return Raise(m(t.value), m(t.cause) if t.cause is not None else None, t.line)
    raise AssertionError(f"unknown terminator {t!r}")
