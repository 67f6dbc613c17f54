"""The adjoint IR: `adjoint(tape, dy)` -> one cotangent per entry-block argument of the primal.

One adjoint block per primal block, in reverse: pop the block's record, pull each differentiated statement back in
reverse order, accumulating cotangents, then branch (through a small edge block that hands the block arguments'
cotangents to the values the predecessor passed) to the adjoint of the predecessor the block was entered from.

Cotangents of variables that cross block boundaries live in accumulator slots, passed as block arguments between
adjoint blocks; a slot is reset to zero once the adjoint has passed the variable's definition, so that each loop
iteration's value gets its own cotangent.  Within a block, `CotangentEnv` tracks each variable's cotangent as an
adjoint operand, knows which are certainly not None (so inline rules can emit plain arithmetic), and keeps the
cotangent of a tuple as a `SymTuple` of per-element operands until something needs it whole (added to a tuple
cotangent known only at run time, a `SymAdded`: one `add_items` call for all the elements).
"""
from __future__ import annotations

import operator

import numpy as np

from . import inline_rules, ops
from .ir import IR, Block, Br, CondBr, Const, Return, Var
from .passes import substitute
from .tangent import Tangent, accum
from .types import ANY

Fill = inline_rules.Fill
NONE = Const(None)
ZERO = Const(0.0)  # the zero cotangent of a float that crosses blocks: keeps loops in plain arithmetic


class SymTuple:
    """The cotangent of a tuple, element by element, while it is built up (not materialised)."""

    __slots__ = ("items",)

    def __init__(self, items):
        self.items = list(items)


class SymTangent:
    """The cotangent of an object read by plain attribute reads (adjoint 'attr' facts): field name -> cotangent,
    kept field by field (in the order the reads are pulled back, as `accum` of the rule's Tangents orders them)
    until something needs the `Tangent` whole (`tangent_of`)."""

    __slots__ = ("fields",)

    def __init__(self, fields):
        self.fields = dict(fields)


class SymAdded:
    """The cotangent of a tuple known only at run time (`base`, an adjoint operand) with the per-element
    cotangents `items` (a SymTuple's) still to be added: materialised once, by `add_items`, when something needs it
    whole, however many elements were added one by one (a loop body reading each coefficient of a tuple)."""

    __slots__ = ("base", "items")

    def __init__(self, base, items):
        self.base = base
        self.items = list(items)


_SYMBOLIC = (SymTuple, SymTangent, SymAdded)


class CotangentEnv:
    """The cotangents of primal variables while one adjoint block is emitted."""

    def __init__(self, block: Block, active: set, definite: set, initial: dict, zeros: dict):
        self.block = block
        self.active = active
        self.definite = definite  # adjoint Vars certainly not None
        self.env = dict(initial)
        self.zeros = zeros  # variables whose zero cotangent is 0.0 rather than None (float slots)
        self.structured = set()  # adjoint Vars holding a tuple (or Tangent) cotangent: summed by accum, never `+`

    def push(self, fn, *args, hint=None):
        return self.block.push(fn, *args, hint=hint)

    def push_definite(self, fn, *args):
        v = self.block.push(fn, *args)
        self.definite.add(v)
        return v

    def get(self, v):
        return self.env.get(v, self.zeros.get(v, NONE))

    def is_definite(self, d) -> bool:
        return isinstance(d, Fill) or d in self.definite or (isinstance(d, Const) and d.value is not None)

    def real(self, d):
        """An adjoint operand for a cotangent (a SymTuple is built into a tuple here)."""
        if isinstance(d, SymTuple):
            if all(x is NONE for x in d.items):
                return NONE
            v = self.push_definite(ops.build_tuple, *[self.real(x) for x in d.items])
            self.structured.add(v)
            return v
        if isinstance(d, SymTangent):
            items = [(k, self.real(x)) for k, x in d.fields.items()]
            items = [(k, x) for k, x in items if x is not NONE]
            if not items:
                return NONE
            # not marked definite: a Tangent is summed by accum, and tangent_of is None when every field is
            return self.push(tangent_of, tuple(k for k, _ in items), *[x for _, x in items])
        if isinstance(d, SymAdded):
            items = [self.real(x) for x in d.items]
            if all(x is NONE for x in items):
                return d.base
            v = self.push_definite(add_items, d.base, *items)
            self.structured.add(v)
            return v
        if isinstance(d, Fill):
            return self.push_definite(inline_rules.fill_array, d.value, d.like)
        return d

    def take(self, v):
        """The cotangent of v, leaving zero in its place (the adjoint has reached v's definition)."""
        d = self.get(v)
        if v in self.env:
            self.env[v] = self.zeros.get(v, NONE)
        return d

    def set(self, v, d):
        self.env[v] = d

    def _sum(self, a, b):
        if a is NONE or (a is ZERO and self.is_definite(b)):
            return b
        if b is NONE or b is ZERO:
            return a
        if isinstance(a, Fill) and isinstance(b, Fill) and a.like is b.like:
            return Fill(self.push_definite(operator.add, a.value, b.value), a.like, a.scalar and b.scalar)
        if isinstance(a, Fill) != isinstance(b, Fill):
            f, o = (a, b) if isinstance(a, Fill) else (b, a)
            if not isinstance(o, _SYMBOLIC) and self.is_definite(o):
                # a real cotangent of the same array has its full shape: the fill's value broadcasts into it
                return self.push_definite(operator.add, o, f.value)
        if isinstance(a, SymTuple) and isinstance(b, SymTuple) and len(a.items) == len(b.items):
            return SymTuple(self._sum(x, y) for x, y in zip(a.items, b.items))
        if isinstance(a, SymTangent) and isinstance(b, SymTangent):
            out = dict(a.fields)  # accum of two Tangents: a's fields, then b's new ones
            for k, x in b.fields.items():
                out[k] = self._sum(out.get(k, NONE), x)
            return SymTangent(out)
        if isinstance(b, SymTuple) and not isinstance(a, SymTuple):
            a, b = b, a
        if isinstance(a, SymTuple) and isinstance(b, SymAdded) and len(a.items) == len(b.items):
            return SymAdded(b.base, (self._sum(x, y) for x, y in zip(b.items, a.items)))
        if isinstance(a, SymTuple) and not isinstance(b, _SYMBOLIC + (Fill,)):
            # elements into a tuple cotangent known only at run time: added when it is needed whole (add_items)
            return SymAdded(b, a.items)
        structured = isinstance(a, _SYMBOLIC) or isinstance(b, _SYMBOLIC)
        a, b = self.real(a), self.real(b)
        structured = structured or a in self.structured or b in self.structured
        if self.is_definite(a) and self.is_definite(b) and not structured:
            return self.push_definite(operator.add, a, b)
        v = self.push(accum, a, b)
        if structured:
            self.structured.add(v)
        if self.is_definite(a) or self.is_definite(b):
            self.definite.add(v)
        return v

    def add(self, v, d):
        """Accumulate cotangent d into primal variable v (if v is active)."""
        if d is NONE or d is None or not (isinstance(v, Var) and v in self.active):
            return
        self.env[v] = self._sum(self.get(v), d)


class Record:
    """The record a block popped: a tuple of `width` values, or the value itself when there is only one."""

    def __init__(self, var, width: int):
        self.var = var
        self.width = width
        self.fields: dict = {}  # position -> the adjoint variable already holding it

    def field(self, push, i: int, hint: str):
        if self.width == 1:
            return self.var
        if i not in self.fields:
            self.fields[i] = push(operator.getitem, self.var, i, hint=hint)
        return self.fields[i]


class LazySaved(dict):
    """What an inline rule saved, read from the record only when the derivative uses it; constant operands are
    their own value."""

    def __init__(self, rec, push, where: dict, args):
        super().__init__()
        self.rec, self.push, self.where, self.args = rec, push, where, args

    def __missing__(self, p):
        v = self.rec.field(self.push, self.where[p], "saved") if p in self.where else self.args[p]
        self[p] = v
        return v


class _Emitter:
    """How inline rules emit into an adjoint block: every value they make is certainly not None."""

    def __init__(self, env: CotangentEnv):
        self.call = env.push_definite


def _uses(ir: IR) -> dict:
    """Var -> where it is used: id(block), -1 for an edge argument, 0 for a returned value (so both of those always
    get an accumulator slot)."""
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
            for _, args in t.edges():
                for a in args:
                    if isinstance(a, Var):
                        uses.setdefault(a, set()).add(-1)
        elif isinstance(t, Return) and isinstance(t.value, Var):
            uses.setdefault(t.value, set()).add(0)
    return uses


def adjoint_ir(ir: IR, active: set, plans: list, meta) -> IR:
    from .adjoint import predecessors
    adj = IR(meta=meta)
    defined_in = {}
    for b in ir.blocks:
        for v in b.args:
            defined_in[v] = id(b)
        for s in b.stmts:
            defined_in[s.var] = id(b)
    uses = _uses(ir)
    slots = [v for v in defined_in if v in active and any(u != defined_in[v] for u in uses.get(v, ()))]
    slot_index = {v: i for i, v in enumerate(slots)}
    typemap = ir.types()
    zeros = {v: ZERO for v in slots if inline_rules.category(v, typemap.get(v)) == "f"}
    slot_zeros = tuple(zeros.get(v, NONE) for v in slots)
    preds = predecessors(ir)
    index = {id(b): i for i, b in enumerate(ir.blocks)}
    recording = sorted(p.index for p in plans if p.stack)

    entry = adj.new_block()
    tape = entry.add_arg(ANY, "tape")
    dy = entry.add_arg(ANY, "dy")
    # The adjoint pops copies of the stacks, so a pullback can be called more than once (jacobian rows).
    direct = {p.index for p in plans if p.stack and p.direct}  # records in the tape itself, read, not popped
    stackvars = {bi: entry.push(list, entry.push(operator.getitem, tape, 1 + k), hint=f"stack{bi + 1}")
                 for k, bi in enumerate(recording) if bi not in direct}
    tape_at = {bi: 1 + k for k, bi in enumerate(recording)}
    bars = [Block() for _ in ir.blocks]  # the adjoint block of each primal block
    for nb in bars:
        for v in slots:
            nb.add_arg(ANY, f"d{v.hint}" if v.hint else None)
    _dispatch_returns(ir, adj, entry, tape, bars, index, slot_zeros)

    edge_blocks = []
    definite = {dy}  # the adjoint is never called with dy=None (see derive.call_derived)
    for nb in bars:  # float slots hold 0.0 or a sum, never None
        definite.update(a for v, a in zip(slots, nb.args) if v in zeros)
    for b, nb, plan in zip(ir.blocks, bars, plans):
        if isinstance(b.term, Return):
            # Only the adjoint's entry jumps here: start from dy in the returned value's slot.
            initial = {v: zeros.get(v, NONE) for v in slots}
            if isinstance(b.term.value, Var) and b.term.value in active:
                initial[b.term.value] = dy
        else:
            initial = dict(zip(slots, nb.args))
        env = CotangentEnv(nb, active, definite, initial, zeros)
        rec = None
        if plan.stack:
            rec = Record(env.push(operator.getitem, tape, tape_at[plan.index], hint="rec") if plan.index in direct
                         else env.push(list.pop, stackvars[plan.index], hint="rec"), plan.width)
            plan.record_var = rec.var  # for adjoint.prune_records
        _pull_back_block(b, plan, env, rec, slot_index)
        dargs = [env.real(env.take(v) if v in slot_index else env.get(v)) for v in b.args]
        out_slots = tuple(env.real(env.get(v)) for v in slots)
        ps = preds[id(b)]
        if not ps:  # the entry (or an unreachable block): return the arguments' cotangents
            if b is not ir.entry:
                dargs = [NONE] * len(ir.entry.args)
            nb.term = Return(nb.push(ops.build_tuple, *dargs))
            continue
        targets = []
        for (p, _, args) in ps:
            eb = Block()
            e_slots = [eb.add_arg(ANY) for _ in slots]
            e_dargs = [eb.add_arg(ANY) for _ in dargs]
            definite.update(e for e, d in zip(e_dargs, dargs) if env.is_definite(d))
            eenv = CotangentEnv(eb, active, definite, dict(zip(slots, e_slots)), zeros)
            definite.update(a for v, a in zip(slots, e_slots) if v in zeros)
            for a, da in zip(args, e_dargs):
                eenv.add(a, da)
            eb.term = Br(bars[index[id(p)]], tuple(eenv.get(v) for v in slots))
            edge_blocks.append(eb)
            targets.append(eb)
        _branch_to_predecessor(nb, rec, targets, out_slots + tuple(dargs), edge_blocks)
    adj.blocks.extend(reversed(bars))
    adj.blocks.extend(edge_blocks)
    return adj


# Operations whose result is a new array the adjoint owns (when it is an array at all).
_FRESH = (operator.mul, operator.add, operator.sub, operator.truediv, operator.neg, operator.matmul,
          inline_rules.fill_array)


def _registered_fresh(f) -> bool:
    try:
        return f in inline_rules.FRESH_RESULTS
    except TypeError:  # an unhashable callable
        return False


def in_place_masks(ir: IR) -> IR:
    """`masked(g, m)` (a cotangent times a bool mask of its shape, see inline_rules) becomes `g *= m` when g is a
    temporary the adjoint made itself in the same block (by arithmetic: never dy, a saved value or what a helper
    may have passed through) that nothing else reads, else `g * m`."""
    uses = ir.use_counts()
    for b in ir.blocks:
        owned = set()
        for s in b.stmts:
            f = s.fn.value if isinstance(s.fn, Const) else None
            if f is inline_rules.masked:
                g = s.args[0]
                inplace = g in owned and uses.get(g, 0) == 1
                s.fn = Const(operator.imul if inplace else operator.mul)
                if inplace:
                    owned.add(s.var)
            elif (f in _FRESH or _registered_fresh(f)) and any(isinstance(a, Var) for a in s.args):
                owned.add(s.var)
    return ir


def drop_unread_fields(ir: IR) -> IR:
    """Reads of a record's fields (and `x.size`) whose value nothing uses: a Fill's `like` that was never made an
    array, a saved value a rule ended up not needing."""
    tape = ir.entry.args[0]
    pops = {s.var for _, s in ir.stmts() if s.fn == Const(list.pop) or (
        s.fn == Const(operator.getitem) and s.args[0] is tape and isinstance(s.args[1], Const))} | {tape}
    while True:
        used = ir.use_counts()
        dropped = False
        for b in ir.blocks:
            keep = [s for s in b.stmts if s.var in used or not (
                s.fn == Const(operator.getitem) and s.args[0] in pops and isinstance(s.args[1], Const))]
            dropped |= len(keep) != len(b.stmts)
            b.stmts = keep
        if not dropped:
            return ir


def _dispatch_returns(ir, adj, entry, tape, bars, index, slot_zeros):
    """The adjoint's entry jumps to the adjoint of the block that returned (tape[0] says which)."""
    returns = [b for b in ir.blocks if isinstance(b.term, Return)]
    if not returns:  # the function always raises: nothing to differentiate
        entry.term = Return(entry.push(ops.build_tuple, *([NONE] * len(ir.entry.args))))
        return
    ret_id = entry.push(operator.getitem, tape, 0, hint="ret") if len(returns) > 1 else None
    cur = entry
    for k, rb in enumerate(returns):
        target = bars[index[id(rb)]]
        if k == len(returns) - 1:
            cur.term = Br(target, slot_zeros)
            break
        nxt = Block()
        cur.term = CondBr(cur.push(operator.eq, ret_id, index[id(rb)]), target, slot_zeros, nxt, ())
        adj.blocks.append(nxt)
        cur = nxt


def _branch_to_predecessor(nb, rec, targets, args_out, edge_blocks):
    if len(targets) == 1:
        nb.term = Br(targets[0], args_out)
        return
    came_from = rec.field(nb.push, 0, "from")
    cur = nb
    for n, eb in enumerate(targets):
        if n == len(targets) - 1:
            cur.term = Br(eb, args_out)
            return
        nxt = Block()
        for _ in args_out:
            nxt.add_arg(ANY)
        cur.term = CondBr(cur.push(operator.eq, came_from, n), eb, args_out, nxt, args_out)
        edge_blocks.append(nxt)
        args_out = tuple(nxt.args)
        cur = nxt


def _pull_back_block(b, plan, env: CotangentEnv, rec, slot_index):
    recorded = {id(s): k for k, s in enumerate(plan.stmts)}
    for s in reversed(b.stmts):
        k = recorded.get(id(s))
        if k is None:
            continue
        kind = plan.kinds[k]
        dv = env.take(s.var) if s.var in slot_index else env.env.pop(s.var, NONE)
        at = plan.where[k]
        if kind == "store":
            _pull_back_store(s, env, rec, at, dv)
            continue
        if dv is NONE or dv is ZERO:
            continue
        if kind == "tuple" and plan.info[k][0] == "getitem_at":
            target = s.args[0]
            if target in env.active:
                index = rec.field(env.push, at, "index")
                total = env.push_definite(add_at, env.real(env.get(target)), plan.info[k][1], index, env.real(dv))
                env.structured.add(total)
                env.set(target, total)
        elif kind == "tuple":
            _pull_back_tuple(s, plan.info[k], env, dv)
        elif kind == "inline":
            rule = plan.info[k]
            saved = LazySaved(rec, env.push, at, s.args)
            cts = inline_rules.emit_fill(rule, s, _Emitter(env), dv, saved) if isinstance(dv, Fill) else None
            if cts is not None:
                for o, d in zip(s.args, cts):
                    if d is not None:
                        env.add(o, d)
                continue
            dv = env.real(dv)
            if not env.is_definite(dv):  # may be None at run time (a rule's zero): make it a real zero
                dv = env.push_definite(*((zeros_if_none, dv, saved["y"]) if rule.out_cat == "a"
                                         else (zero_if_none, dv)))
            cts = rule.emit(_Emitter(env), dv, saved)
            for o, d in zip(s.args, cts):
                if d is not None:
                    env.add(o, d)
        else:
            d = env.push(rec.field(env.push, at, "pb"), env.real(dv))
            operands = list(s.args) + [v for _, v in s.kwargs]
            if kind == "dyn":
                operands = [s.fn] + operands
            for j, o in enumerate(operands):
                if isinstance(o, Var) and o in env.active:
                    env.add(o, env.push(operator.getitem, d, j))


def _pull_back_store(s, env, rec, at, dv):
    """A store replaces what its target held: the target's cotangent so far is rewritten."""
    target = s.args[0]
    tct = env.real(env.get(target))
    if tct is NONE and dv is NONE and s.fn.value is not ops.cell_set:  # cells: see the cell store
        return
    res = env.push(rec.field(env.push, at, "back"), tct, env.real(dv))
    if isinstance(target, Var) and target in env.active:
        env.set(target, env.push(operator.getitem, res, 0))
    for j, o in enumerate(s.args[1:]):
        if isinstance(o, Var) and o in env.active:
            env.add(o, env.push(operator.getitem, res, 1 + j))


def _pull_back_tuple(s, info, env, dv):
    """Tuples, element by element: getitem with a constant index, unpacking, building."""
    what = info[0]
    if what == "getitem":
        n, i = info[1], info[2]
        items = [NONE] * n
        items[i] = dv
        env.add(s.args[0], SymTuple(items))
    elif what == "attr":  # a plain attribute read: what getattr_rrule's pullback gives, Tangent({name: dv})
        env.add(s.args[0], SymTangent({info[1]: dv}))
    elif what == "unpack":
        env.add(s.args[0], dv)  # a tuple unpacked into a tuple: the cotangent is the same
    elif what == "build":
        if isinstance(dv, SymAdded):
            dv = env.real(dv)
        for i, o in enumerate(s.args):
            if isinstance(dv, SymTuple):
                env.add(o, dv.items[i])
            elif isinstance(o, Var) and o in env.active:
                env.add(o, env.push(item_or_none, dv, i))


def add_at(ct, n, i, d):
    """A tuple's cotangent `ct` (None is zero) with `d` added at position i (an int known only at run time)."""
    items = [None] * n if ct is None else list(ct)
    old = items[i]
    items[i] = d if old is None else old + d if type(old) is float and type(d) is float else accum(old, d)
    return tuple(items)


def add_items(ct, *items):
    """A tuple's cotangent `ct` (None is zero) with `items[i]` added at each position i (None adds nothing): floats
    as floats, anything else by `accum`.  One call in place of one `add_at` (a copy of the tuple) per element."""
    if ct is None:
        return items
    if type(ct) is not tuple or len(ct) != len(items):
        return accum(ct, items)
    return tuple([o if d is None else d if o is None else o + d if type(o) is float and type(d) is float
                  else accum(o, d) for o, d in zip(ct, items)])


def fold_zero_sums(ir: IR) -> IR:
    """Cotangent sums with a constant zero, left where pruning put a slot's 0.0 or None in: `0.0 + d` and
    `accum(None, d)` are `d` (exact for cotangents, which are never ints)."""
    subst = {}
    for b in ir.blocks:
        keep = []
        for s in b.stmts:
            if isinstance(s.fn, Const) and len(s.args) == 2 and not s.kwargs and (
                    (s.fn.value is operator.add and _is_const(s.args[0], 0.0)) or
                    (s.fn.value is accum and _is_const(s.args[0], None))):
                subst[s.var] = s.args[1]
                continue
            keep.append(s)
        b.stmts = keep
    substitute(ir, subst)
    return ir


def _is_const(x, value) -> bool:
    return isinstance(x, Const) and type(x.value) is type(value) and x.value == value


def zeros_if_none(d, y):
    return np.zeros_like(y) if d is None else d


def zero_if_none(d):
    return 0.0 if d is None else d


def tangent_of(names, *values):
    """The Tangent of an object whose fields `names` have cotangents `values`; a None field is left out and no
    field at all is None, as the sum (`accum`) of getattr_rrule's pullbacks would give."""
    fields = {k: v for k, v in zip(names, values) if v is not None}
    return Tangent(fields) if fields else None


def item_or_none(t, i):
    """Element i of a tuple's cotangent (None is zero)."""
    return None if t is None else t[i]
