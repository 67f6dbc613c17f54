"""Typed primal IR -> forward IR + adjoint IR, as a short chain of named steps (Zygote's `Adjoint(ir)`).

    activity   which variables carry derivative information (from the differentiated arguments, forwards)
    forward    the primal IR where each active call also returns its pullback; each block pushes a record
               (which predecessor it came from, the pullbacks it made) on its own stack; returns (y, tape)
    adjoint    one adjoint block per primal block, in reverse: pop the block's record, call its pullbacks in
               reverse order accumulating cotangents, then branch to the adjoint of the predecessor it came from

Both outputs are ordinary IR, run by the interpreter or compiled by codegen.  A loop's adjoint is a loop: the
per-block stacks (`stacks.py`) keep one record per iteration, so one trace serves every trip count
("Don't Unroll Adjoint", Innes 2018).

Cotangents of variables that cross block boundaries live in accumulator slots passed as block arguments between
adjoint blocks; a variable's slot is reset to zero once the adjoint has passed its definition, so each loop
iteration's value gets its own cotangent.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass

from . import ops
from .errors import UnsupportedError
from .passes import simplify
from .ir import IR, Block, Br, CondBr, Const, Meta, Raise, Return, Stmt, Var
from .rules.registry import NONDIFF, lookup
from .tangent import accum as accum_ct
from .runtime import MUTATING_METHODS, STORES, fwd_call, mutating_method, rule_call, static_nondiff
from .types import ANY, Array, Constant, Scalar, Tuple

NONE = Const(None)


# ---------------------------------------------------------------------------------------------------------------
# Activity

_NONDIFF_SCALARS = (int, bool, str, bytes, type(None), slice, range, type(Ellipsis))


def type_may_carry(t) -> bool:
    """False only when a value of type `t` certainly has no cotangent (ints, bools, strings, int arrays...)."""
    if isinstance(t, Scalar):
        return not (t.pytype in _NONDIFF_SCALARS or t.pytype is ops._Stop)
    if isinstance(t, Array):
        return t.dtype.startswith(("float", "complex", "longdouble", "clongdouble"))
    if isinstance(t, Tuple):
        return any(type_may_carry(e) for e in t.elts)
    if isinstance(t, Constant):
        v = t.value
        if isinstance(v, (bool, int, str, bytes, type(None), type, range, slice)):
            return False
        if callable(v):
            return bool(getattr(v, "__closure__", None)) or hasattr(v, "__self__") and not isinstance(
                getattr(v, "__self__"), type(operator))
        return True
    return True


def activity(ir: IR, active_args) -> set:
    """The set of active variables: derived, through calls and block arguments, from the active arguments."""
    active = {v for v, a in zip(ir.entry.args, active_args) if a}
    preds = predecessors(ir)
    changed = True
    while changed:
        changed = False
        for b in ir.blocks:
            for v, t in zip(b.args, b.argtypes):
                if v in active or not type_may_carry(t):
                    continue
                if any(isinstance(a, Var) and a in active for _, _, args in preds[id(b)] for a in args):
                    active.add(v)
                    changed = True
            for s in b.stmts:
                if isinstance(s.fn, Const) and s.fn.value in STORES and s.args and isinstance(s.args[0], Var) \
                        and s.args[0] not in active and any(isinstance(o, Var) and o in active for o in s.args[1:]):
                    active.add(s.args[0])  # storing an active value into a container makes the container active
                    changed = True
                if s.var in active or not type_may_carry(s.type):
                    continue
                if isinstance(s.fn, Const) and static_nondiff(s.fn.value):
                    continue
                if any(isinstance(o, Var) and o in active for o in s.operands()):
                    active.add(s.var)
                    changed = True
    return active


def predecessors(ir: IR) -> dict:
    """id(block) -> [(pred_block, edge_index, edge_args)] in a stable order."""
    out = {id(b): [] for b in ir.blocks}
    for b in ir.blocks:
        if b.term is None:
            continue
        for k, (target, args) in enumerate(b.term.edges()):
            out[id(target)].append((b, k, args))
    return out


# ---------------------------------------------------------------------------------------------------------------
# Forward

@dataclass
class BlockPlan:
    """What the forward pass records for one primal block, and so what its adjoint pops."""

    index: int
    pullbacks: list  # primal Stmts whose pullbacks are recorded, in order
    kinds: list  # 'rule' | 'dyn' | 'handler' per recorded statement
    npreds: int
    stack: bool  # does this block push a record?


@dataclass
class Transform:
    primal: IR
    forward: IR
    adjoint: IR
    active: set
    plans: list
    nargs: int


def _kind(s: Stmt) -> str:
    if isinstance(s.fn, Const):
        f = s.fn.value
        if f in STORES:
            return "store"
        rule, self = lookup(f)
        if rule is not None and rule is not NONDIFF and self is None:
            return "rule"
    return "dyn"


def _needs_pullback(s: Stmt, active: set) -> bool:
    return s.var in active or (isinstance(s.fn, Const) and s.fn.value in STORES and any(
        isinstance(o, Var) and o in active for o in s.operands()))


def plan_blocks(ir: IR, active: set) -> list:
    preds = predecessors(ir)
    plans = []
    for i, b in enumerate(ir.blocks):
        stmts = [s for s in b.stmts if _needs_pullback(s, active)]
        kinds = [_kind(s) for s in stmts]
        npreds = len(preds[id(b)])
        plans.append(BlockPlan(i, stmts, kinds, npreds, bool(stmts) or npreds > 1))
    return plans


def forward_ir(ir: IR, active: set, plans: list) -> IR:
    """The primal IR, each active call returning its pullback too; returns build_tuple(y, tape)."""
    fwd = IR(meta=_meta(ir, "forward"))
    vmap: dict = {}
    blocks = [Block() for _ in ir.blocks]
    entry = Block()
    fwd.blocks = [entry] + blocks
    # New entry: create one stack per recording block, then jump into the primal entry.
    params = [entry.add_arg(t, v.hint) for v, t in zip(ir.entry.args, ir.entry.argtypes)]
    stacks = {p.index: entry.push(ops.build_list, hint=f"stack{p.index + 1}") for p in plans if p.stack}
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
        recorded = {id(s): k for k, s in enumerate(plan.pullbacks)}
        pbs = []
        for s in b.stmts:
            args = tuple(m(a) for a in s.args)
            kwargs = tuple((k, m(v)) for k, v in s.kwargs)
            if id(s) not in recorded:
                nv = Var(s.var.hint)
                nb.stmts.append(Stmt(nv, m(s.fn), args, kwargs, s.type, s.line))
                vmap[s.var] = nv
                continue
            kind = plan.kinds[recorded[id(s)]]
            if kind == "store":
                pair = nb.push(STORES[s.fn.value], *args, line=s.line)
            elif kind == "rule":
                rule, _ = lookup(s.fn.value)
                if kwargs:
                    pair = nb.push(rule_call, Const(rule), *args, kwargs=kwargs, line=s.line)
                else:
                    pair = nb.push(rule, *args, line=s.line)
            else:
                pair = nb.push(fwd_call, m(s.fn), *args, kwargs=kwargs, line=s.line)
            nv = nb.push(operator.getitem, pair, 0, type=s.type, line=s.line, hint=s.var.hint)
            vmap[s.var] = nv
            pbs.append(nb.push(operator.getitem, pair, 1, line=s.line))
        if plan.stack:
            rec = nb.push(ops.build_tuple, *(([came_from] if came_from is not None else []) + pbs))
            nb.push(ops.list_append, stacks[plan.index], rec)
        nb.term = _forward_term(b.term, blocks, ir, m, edge_ids, b, stacks, plans)
    entry.term = Br(blocks[0], tuple(params) + ((Const(0),) if plans[0].npreds > 1 else ()))
    return fwd


def _forward_term(t, blocks, ir, m, edge_ids, b, stacks, plans):
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
        # The tape: which return block (by index), then every stack.
        nb = blocks[index[id(b)]]
        tape = nb.push(ops.build_tuple, Const(index[id(b)]), *[stacks[k] for k in sorted(stacks)])
        out = nb.push(ops.build_tuple, m(t.value), tape)
        return Return(out, t.line)
    if isinstance(t, Raise):
        return Raise(m(t.value), m(t.cause) if t.cause is not None else None, t.line)
    raise AssertionError(f"unknown terminator {t!r}")


# ---------------------------------------------------------------------------------------------------------------
# Adjoint

def _uses(ir: IR) -> dict:
    """Var -> set of id(block) where it is used; an edge argument counts as used in a virtual block (-1), a
    returned value in a virtual exit (0), so both always get an accumulator slot."""
    uses: dict = {}
    for b in ir.blocks:
        for s in b.stmts:
            for o in s.operands():
                if isinstance(o, Var):
                    uses.setdefault(o, set()).add(id(b))
        t = b.term
        if isinstance(t, (Br, CondBr)):
            if isinstance(t, CondBr) and isinstance(t.cond, Var):
                uses.setdefault(t.cond, set()).add(id(b))
            for target, args in t.edges():
                for a in args:
                    if isinstance(a, Var):  # an edge argument's cotangent always crosses a block boundary
                        uses.setdefault(a, set()).add(-1)
        elif isinstance(t, Return) and isinstance(t.value, Var):
            uses.setdefault(t.value, set()).add(0)
        elif isinstance(t, Raise):
            for o in t.operands():
                if isinstance(o, Var):
                    uses.setdefault(o, set()).add(id(b))
    return uses


def adjoint_ir(ir: IR, active: set, plans: list) -> IR:
    """adjoint(tape, dy) -> tuple of cotangents, one per entry-block argument of the primal."""
    adj = IR(meta=_meta(ir, "adjoint"))
    defined_in = {}
    for b in ir.blocks:
        for v in b.args:
            defined_in[v] = id(b)
        for s in b.stmts:
            defined_in[s.var] = id(b)
    uses = _uses(ir)
    slots = [v for v in defined_in if v in active and any(u != defined_in[v] for u in uses.get(v, ()))]
    slot_index = {v: i for i, v in enumerate(slots)}
    preds = predecessors(ir)
    index = {id(b): i for i, b in enumerate(ir.blocks)}
    recording = sorted(p.index for p in plans if p.stack)
    stack_pos = {bi: 2 + k for k, bi in enumerate(recording)}  # in the entry block: tape[1 + k]

    entry = adj.new_block()
    tape = entry.add_arg(ANY, "tape")
    dy = entry.add_arg(ANY, "dy")
    # The adjoint pops copies of the stacks, so a pullback can be called more than once (jacobian rows).
    stackvars = {bi: entry.push(list, entry.push(operator.getitem, tape, stack_pos[bi] - 1), hint=f"stack{bi + 1}")
                 for bi in recording}
    ret_id = entry.push(operator.getitem, tape, 0, hint="ret")

    bars = [Block() for _ in ir.blocks]  # the adjoint block of each primal block
    for nb in bars:
        for v in slots:
            nb.add_arg(ANY, f"d{v.hint}" if v.hint else None)

    # Entry: dispatch on which block returned, with dy in the returned value's slot.
    returns = [b for b in ir.blocks if isinstance(b.term, Return)]
    cur = entry
    for k, rb in enumerate(returns):
        env = [NONE] * len(slots)
        rv = rb.term.value
        if isinstance(rv, Var) and rv in slot_index:
            env[slot_index[rv]] = dy
        target = bars[index[id(rb)]]
        if k == len(returns) - 1:
            cur.term = Br(target, tuple(env))
        else:
            c = cur.push(operator.eq, ret_id, index[id(rb)])
            nxt = Block()
            cur.term = CondBr(c, target, tuple(env), nxt, ())
            cur = nxt
            adj.blocks.append(nxt)
    if not returns:  # the function always raises: nothing to differentiate
        entry.term = Return(entry.push(ops.build_tuple, *([NONE] * len(ir.entry.args))))

    edge_blocks = []
    for b, nb, plan in zip(ir.blocks, bars, plans):
        env = {v: a for v, a in zip(slots, nb.args)}

        def get(v):
            return env.get(v, NONE)

        def add(v, d):
            if d is NONE or not (isinstance(v, Var) and v in active):
                return
            old = get(v)
            env[v] = d if old is NONE else nb.push(accum_ct, old, d)

        rec = None
        if plan.stack:
            rec = nb.push(list.pop, stackvars[plan.index], hint="rec")
        offset = 1 if plan.npreds > 1 else 0
        recorded = {id(s): k for k, s in enumerate(plan.pullbacks)}
        for s in reversed(b.stmts):
            k = recorded.get(id(s))
            if k is None:
                continue
            kind = plan.kinds[k]
            dv = get(s.var)
            if s.var in slot_index:
                env[s.var] = NONE  # the definition is passed: an earlier iteration's value starts from zero
            else:
                env.pop(s.var, None)
            if kind == "store":
                # A store replaces what its target held: the target's cotangent so far is rewritten.
                target = s.args[0]
                tct = get(target)
                if tct is NONE and dv is NONE and s.fn.value is not ops.cell_set:  # cells: see the cell store
                    continue
                back = nb.push(operator.getitem, rec, offset + k, hint="back")
                res = nb.push(back, tct, dv)
                if isinstance(target, Var) and target in active:
                    env[target] = nb.push(operator.getitem, res, 0)
                for j, o in enumerate(s.args[1:]):
                    if isinstance(o, Var) and o in active:
                        add(o, nb.push(operator.getitem, res, 1 + j))
                continue
            if dv is NONE:
                continue
            pb = nb.push(operator.getitem, rec, offset + k, hint="pb")
            d = nb.push(pb, dv)
            operands = list(s.args) + [v for _, v in s.kwargs]
            if kind == "dyn":
                operands = [s.fn] + operands
            for j, o in enumerate(operands):
                if isinstance(o, Var) and o in active:
                    add(o, nb.push(operator.getitem, d, j))
        dargs = [get(v) for v in b.args]
        for v in b.args:
            if v in slot_index:
                env[v] = NONE
        out_slots = tuple(get(v) for v in slots)
        # Branch to the adjoint of the predecessor this block was entered from.
        ps = preds[id(b)]
        if not ps:
            if b is ir.entry:
                nb.term = Return(nb.push(ops.build_tuple, *dargs))
                continue
            nb.term = Return(nb.push(ops.build_tuple, *([NONE] * len(ir.entry.args))))  # unreachable block
            continue
        came_from = nb.push(operator.getitem, rec, 0, hint="from") if len(ps) > 1 else None
        targets = []
        for (p, k, args) in ps:
            eb = Block()
            e_slots = [eb.add_arg(ANY) for _ in slots]
            e_dargs = [eb.add_arg(ANY) for _ in dargs]
            eenv = dict(zip(slots, e_slots))
            for a, da in zip(args, e_dargs):
                if isinstance(a, Var) and a in active:
                    old = eenv.get(a, NONE)
                    eenv[a] = da if old is NONE else eb.push(accum_ct, old, da)
            eb.term = Br(bars[index[id(p)]], tuple(eenv.get(v, NONE) for v in slots))
            edge_blocks.append(eb)
            targets.append(eb)
        args_out = out_slots + tuple(dargs)
        if len(targets) == 1:
            nb.term = Br(targets[0], args_out)
        else:
            cur = nb
            for n, eb in enumerate(targets):
                if n == len(targets) - 1:
                    cur.term = Br(eb, args_out)
                    break
                c = cur.push(operator.eq, came_from, n)
                nxt = Block()
                for _ in args_out:
                    nxt.add_arg(ANY)
                cur.term = CondBr(c, eb, args_out, nxt, args_out)
                edge_blocks.append(nxt)
                args_out = tuple(nxt.args)
                cur = nxt
    adj.blocks.extend(reversed(bars))
    adj.blocks.extend(edge_blocks)
    return adj


def _meta(ir: IR, what: str) -> Meta:
    m = ir.meta
    return Meta(name=f"{what} of {m.name}", filename=m.filename, firstlineno=m.firstlineno,
                argnames=m.argnames, code=m.code, assumptions=m.assumptions, has_self=m.has_self)


def rewrite_mutating_methods(ir: IR) -> IR:
    """`%m = getattr(%l, 'append'); %r = %m(%x)` -> `%r = mutating_method(%l, 'append', %x)`, so that the
    adjoint sees a store into `%l` (for `append`, `extend`, `pop`, `insert`)."""
    uses: dict = {}
    for _, s in ir.stmts():
        for o in s.operands():
            if isinstance(o, Var):
                uses[o] = uses.get(o, 0) + 1
    for b in ir.blocks:
        for o in b.term.operands() if b.term is not None else ():
            if isinstance(o, Var):
                uses[o] = uses.get(o, 0) + 1
    for b in ir.blocks:
        methods = {}
        for s in b.stmts:
            if s.fn == Const(getattr) and len(s.args) == 2 and isinstance(s.args[1], Const) \
                    and s.args[1].value in MUTATING_METHODS and uses.get(s.var, 0) == 1:
                methods[s.var] = s
        if not methods:
            continue
        dead = set()
        for s in b.stmts:
            g = methods.get(s.fn) if isinstance(s.fn, Var) else None
            if g is not None and not s.kwargs:
                s.fn = Const(mutating_method)
                s.args = (g.args[0], g.args[1]) + s.args
                dead.add(id(g))
        b.stmts = [s for s in b.stmts if id(s) not in dead]
    return ir


def transform(ir: IR, active_args) -> Transform:
    """The named steps: list methods as stores, activity, block plans, forward IR, adjoint IR."""
    rewrite_mutating_methods(ir)
    active = activity(ir, active_args)
    plans = plan_blocks(ir, active)
    fwd = simplify(forward_ir(ir, active, plans))
    adj = simplify(adjoint_ir(ir, active, plans))
    return Transform(ir, fwd, adj, active, plans, len(ir.entry.args))


__all__ = ["transform", "activity", "forward_ir", "adjoint_ir", "Transform", "UnsupportedError"]
