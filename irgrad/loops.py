"""Loop rewrites of the typed primal IR (see `rewrites`), each exact: the rewritten code computes what the
user's loop computes, to the bit, and raises what it raises.

1. `unroll`: a `for` over `range(a, b, c)` whose bounds are constants (after `passes.fold_constants` folded
   `len` of a tuple, whose type fixes its length) with at most `MAX_TRIPS` trips and a straight-line body becomes
   straight-line code, the loop variable a constant in each copy (Horner's inner loop over 5 coefficients).
   Loops whose trip count depends on values stay loops.

2. `vectorise`: a map-reduce loop over lists of floats

       for x, y in zip(xs, ys):          # or `for x in xs`
           acc = acc + expr(x, y, c...)  # or acc += ..., acc - ..., acc -= ...

   whose body is straight-line float arithmetic (+, -, *, /, unary -, ** with a small integer constant, the math
   functions of `sequences.MATH`) of the items and loop-invariant values, and whose only loop-carried values are
   accumulators not otherwise read in the body, becomes array code: `rules.sequences.float_columns` makes float64
   arrays of the lists, the body runs on the arrays (NumPy's +, -, *, / round exactly like Python's float
   operators), `seq_pow` and `seq_map` compute what Python's `**` and the math function give per element (the C
   library's `pow`, by `np.float_power` where a self-check proved it the same), and `seq_sum` adds the terms to
   the accumulator left to right as the loop does (`seq_sum_pow` for `acc += e ** n`).  The original loop stays
   in the IR as the fallback, taken when `seq_ok` says the array code did not apply: a list holding anything but
   exact floats, lists of different lengths, an empty list, or a non-finite result of an operation that raises
   in Python (division by zero, overflow of `**`) or of an accumulator.  Exceptions and values are then the
   loop's own.

`ENABLED` (or the environment variable `IRGRAD_LOOPS=0`) switches the rewrites off; derivations already cached
keep what they were derived with (`irgrad.clear_cache()`).
"""
from __future__ import annotations

import operator
import os

from . import cfg, ops, passes
from .ir import Br, CondBr, Const, Stmt, Var
from .rules import sequences as seq
from .types import ANY, Array, List, Scalar, Tuple, typeof

ENABLED = True
MAX_TRIPS = 8  # a constant loop with more trips stays a loop
MAX_UNROLLED = 200  # statements an unrolled loop may produce
MAX_POW = 8  # `x ** n` is vectorised for integer constants |n| <= MAX_POW

FLOAT = Scalar(float)
VEC = Array("float64", 1)


def rewrite(ir):
    if not ENABLED or os.environ.get("IRGRAD_LOOPS") == "0":
        return ir
    if unroll(ir):
        # Each unrolled trip has the types of its own item (a model's layers may differ): infer again, so calls
        # that the join of the items left dynamic become static, and inline those.
        from .infer import infer
        from .inliner import inline_calls
        passes.simplify(ir)
        inline_calls(infer(ir))
        passes.simplify(ir)
    if vectorise(ir):
        passes.simplify(ir)
    return ir


# ---------------------------------------------------------------------------------------------------------------
# The shape shared by both: a `for` loop with a straight-line body
#
#   P: ... %it = iter(%src) ... br H (init...)
#   H: (%phi...)   %item = next_or_stop(%it); %done = is_(%item, STOP); br B unless %done; br X (exit args)
#   B: ... br H (next...)
#   X: (only reached from H)

class _ForLoop:
    def __init__(self, header, body, pre, exit_, item, it, iter_stmt, iter_block):
        self.header, self.body, self.pre, self.exit = header, body, pre, exit_
        self.item, self.it, self.iter_stmt, self.iter_block = item, it, iter_stmt, iter_block

    @property
    def init(self):
        return self.pre.term.args

    @property
    def next(self):
        return self.body.term.args


def _for_loops(ir) -> list:
    """The `for` loops of the shape above, innermost (smallest) first."""
    preds = cfg.predecessors(ir)
    defs = {s.var: (b, s) for b in ir.blocks for s in b.stmts}
    uses = ir.use_counts()
    out = []
    for loop in reversed(cfg.natural_loops(ir)):
        h = loop.header
        if len(loop.body) != 2 or len(loop.latches) != 1:
            continue
        (body,) = loop.body - {h}
        if loop.latches[0] is not body or body.args or not isinstance(body.term, Br) or body.term.target is not h:
            continue
        if len(h.stmts) != 2 or not isinstance(h.term, CondBr):
            continue
        nxt, test = h.stmts
        if not (_is_call(nxt, ops.next_or_stop, 1) and isinstance(nxt.args[0], Var)
                and _is_call(test, operator.is_, 2) and test.args[0] is nxt.var
                and isinstance(test.args[1], Const) and test.args[1].value is ops.STOP):
            continue
        t = h.term
        if t.cond is not test.var or t.else_ is not body or t.else_args or t.then_ in loop.body:
            continue
        exit_ = t.then_
        outside = [p for p in preds.get(h, ()) if p is not body]
        if len(outside) != 1 or preds.get(exit_) != [h] or exit_ is ir.blocks[0]:
            continue
        pre = outside[0]
        if not isinstance(pre.term, Br) or pre.term.target is not h:
            continue
        item, it = nxt.var, nxt.args[0]
        if any(x is item for x in t.then_args) or uses.get(it) != 1 or it not in defs:
            continue
        # the item and the test are read only in the loop
        if uses.get(test.var) != 1 or _used_outside(ir, item, {h, body}):
            continue
        iter_block, iter_stmt = defs[it]
        if not _is_call(iter_stmt, iter, 1):
            continue
        out.append(_ForLoop(h, body, pre, exit_, item, it, iter_stmt, iter_block))
    return out


def _is_call(s, fn, nargs) -> bool:
    return isinstance(s.fn, Const) and s.fn.value is fn and len(s.args) == nargs and not s.kwargs


def _used_outside(ir, v, blocks) -> bool:
    for b in ir.blocks:
        if b in blocks:
            continue
        for s in b.stmts:
            if any(x is v for x in s.operands()):
                return True
        if any(x is v for x in b.term.operands()):
            return True
    return False


def _remove_blocks(ir, blocks) -> None:
    ir.blocks = [b for b in ir.blocks if b not in blocks]


# ---------------------------------------------------------------------------------------------------------------
# Unrolling of loops over a range of constants

def unroll(ir) -> bool:
    changed = False
    while True:
        for loop in _for_loops(ir):
            if _unroll(ir, loop):
                changed = True
                break
        else:
            return changed


def _constant_range(ir, src):
    """The range a `for` iterates over, when its bounds are constants."""
    if isinstance(src, Const):
        return src.value if type(src.value) is range else None
    for b in ir.blocks:
        for s in b.stmts:
            if s.var is src:
                if isinstance(s.fn, Const) and s.fn.value is range and not s.kwargs and 1 <= len(s.args) <= 3 \
                        and all(isinstance(a, Const) and type(a.value) is int for a in s.args):
                    return range(*(a.value for a in s.args))
                return None
    return None


def _tuple_items(ir, src):
    """The element types of the tuple a `for` iterates over, when its type fixes its length (a model's
    `for layer in self.layers`)."""
    t = ir.types().get(src) if isinstance(src, Var) else None
    return t.elts if isinstance(t, Tuple) else None


def _unroll(ir, loop: _ForLoop) -> bool:
    src = loop.iter_stmt.args[0]
    r = _constant_range(ir, src)
    elts = None
    if r is None:
        elts = _tuple_items(ir, src)
        if elts is None:
            return False
        r = range(len(elts))
    if len(r) > MAX_TRIPS or len(r) * max(1, len(loop.body.stmts)) > MAX_UNROLLED:
        return False
    h, body, pre = loop.header, loop.body, loop.pre
    current = dict(zip(h.args, pre.term.args))
    emitted = []
    for k in r:
        env = dict(current)
        if elts is None:
            env[loop.item] = Const(k)
        else:  # the k-th element, typed as the tuple says (the loop's item had the join of them all)
            item = Stmt(Var(loop.item.hint), Const(operator.getitem), (src, Const(k)), (), elts[k],
                        loop.iter_stmt.line)
            emitted.append(item)
            env[loop.item] = item.var

        def get(x, env=env):
            return env.get(x, x) if isinstance(x, Var) else x
        for s in body.stmts:
            c = Stmt(Var(s.var.hint), s.fn, s.args, s.kwargs, s.type, s.line)
            c.map_operands(get)
            env[s.var] = c.var
            emitted.append(c)
        current = {phi: get(x) for phi, x in zip(h.args, body.term.args)}
    exit_args = tuple(current.get(x, x) if isinstance(x, Var) else x for x in h.term.then_args)
    pre.stmts.extend(emitted)
    pre.term = Br(loop.exit, exit_args, h.term.line)
    loop.iter_block.stmts.remove(loop.iter_stmt)  # `iter` of a range: no effect
    _remove_blocks(ir, {h, body})
    passes.substitute(ir, current)  # the accumulators' uses after the loop read their last values
    return True


# ---------------------------------------------------------------------------------------------------------------
# Vectorisation of map-reduce loops over lists of floats

_ARITH = {
    operator.add: operator.add, operator.iadd: operator.add,
    operator.sub: operator.sub, operator.isub: operator.sub,
    operator.mul: operator.mul, operator.imul: operator.mul,
    operator.truediv: operator.truediv, operator.itruediv: operator.truediv,
}
_UNARY = {operator.neg: operator.neg, operator.pos: operator.pos}
_RAISES = {operator.truediv}  # Python raises (x / 0.0) where NumPy gives inf or NaN
_ACCUMULATE = {operator.add: seq.seq_sum, operator.iadd: seq.seq_sum,
               operator.sub: seq.seq_diff, operator.isub: seq.seq_diff}


class _Refuse(Exception):
    pass


def vectorise(ir) -> bool:
    changed = False
    while True:
        for loop in _for_loops(ir):
            try:
                plan = _vector_plan(ir, loop)
            except _Refuse:
                continue
            _vectorise(ir, loop, plan)
            changed = True
            break
        else:
            return changed


def _list_operand(x, types) -> bool:
    t = types.get(x) if isinstance(x, Var) else (typeof(x.value) if isinstance(x.value, list) else None)
    return isinstance(t, List) and t.elt == FLOAT


def _vector_plan(ir, loop: _ForLoop):
    """What the loop computes, as a plan for array code; raises _Refuse when the loop does not qualify."""
    types = ir.types()
    uses = ir.use_counts()
    defs = {s.var: s for _, s in ir.stmts()}
    src = loop.iter_stmt.args[0]
    zip_stmt = defs.get(src) if isinstance(src, Var) else None
    if zip_stmt is not None and _is_call(zip_stmt, zip, len(zip_stmt.args)) and zip_stmt.args:
        lists, zipped = list(zip_stmt.args), True
        if uses.get(src) != 1:
            raise _Refuse
    else:
        lists, zipped, zip_stmt = [src], False, None
    if not all(_list_operand(x, types) for x in lists):
        raise _Refuse
    h, body = loop.header, loop.body
    if not all(t == FLOAT for t in h.argtypes) or not h.args:
        raise _Refuse
    inside = {s.var for s in body.stmts} | set(h.args) | {loop.item}

    # What each variable of the body is: ('col', j) an item column, ('vec', None) an array, ('row', None) the
    # zipped item tuple, ('inv', None) a loop-invariant value, ('acc', phi) an updated accumulator.
    kind: dict = {}
    if zipped:
        kind[loop.item] = "row"
    else:
        kind[loop.item] = ("col", 0)
    hoisted, vector, updates, checked = [], [], {}, []
    phis = set(h.args)

    def operand_kind(x):
        if isinstance(x, Const):
            v = x.value
            if type(v) is float or (type(v) is int and abs(v) <= 2 ** 53):
                return "inv"
            raise _Refuse
        if x in phis:
            return "phi"
        if x not in inside:
            return "inv"
        k = kind.get(x)
        if k is None:
            raise _Refuse
        return k

    for s in body.stmts:
        fn = s.fn.value if isinstance(s.fn, Const) else None
        if fn is None or s.kwargs:
            raise _Refuse
        if fn is ops.unpack_sequence and len(s.args) == 2 and s.args[0] is loop.item and zipped \
                and s.args[1] == Const(len(lists)):
            kind[s.var] = "row"
            continue
        if fn is operator.getitem and len(s.args) == 2 and isinstance(s.args[0], Var) \
                and kind.get(s.args[0]) == "row" and isinstance(s.args[1], Const) \
                and type(s.args[1].value) is int and -len(lists) <= s.args[1].value < len(lists):
            kind[s.var] = ("col", s.args[1].value % len(lists))
            continue
        argkinds = [operand_kind(a) for a in s.args]
        if "row" in argkinds:
            raise _Refuse
        if "phi" in argkinds:  # an accumulator update: acc = acc + term, term + acc, acc - term
            acc = _accumulator_update(s, fn, argkinds, kind)
            if acc is None or acc in updates:
                raise _Refuse
            updates[acc] = s
            kind[s.var] = ("acc", acc)
            continue
        if any(isinstance(k, tuple) and k[0] == "acc" for k in argkinds):
            raise _Refuse  # an updated accumulator read again in the body
        if all(k == "inv" for k in argkinds):
            # no item involved: pure and unable to raise (a constant index into a tuple, float arithmetic), so
            # computing it once before the loop is what computing it on every trip does
            if not passes.is_pure(s, types):
                raise _Refuse
            kind[s.var] = "inv"
            hoisted.append(s)
            continue
        if s.type != FLOAT:
            raise _Refuse
        if any(k == "inv" and isinstance(a, Var) and types.get(a) != FLOAT for a, k in zip(s.args, argkinds)):
            raise _Refuse  # an int (or anything but a float) meets an item: Python's int arithmetic is not NumPy's
        if fn in _ARITH and len(s.args) == 2:
            vector.append((s, _ARITH[fn], s.args))
            if _ARITH[fn] in _RAISES:
                checked.append(s.var)
        elif fn in _UNARY and len(s.args) == 1:
            vector.append((s, _UNARY[fn], s.args))
        elif fn in (operator.pow, operator.ipow) and len(s.args) == 2 and argkinds[1] == "inv" \
                and isinstance(s.args[1], Const) and type(s.args[1].value) is int \
                and abs(s.args[1].value) <= MAX_POW and argkinds[0] != "inv":
            vector.append((s, seq.seq_pow, s.args))
            checked.append(s.var)
        elif fn in seq.MATH and len(s.args) == 1 and argkinds[0] != "inv":
            vector.append((s, seq.seq_map, (Const(fn), s.args[0])))
            checked.append(s.var)
        else:
            raise _Refuse
        kind[s.var] = "vec"
    # every accumulator is updated once and passes its update round the back edge; nothing else is carried
    for phi, nxt in zip(h.args, body.term.args):
        if phi not in updates or updates[phi].var is not nxt:
            raise _Refuse
        if uses.get(phi) != 1 + sum(1 for x in h.term.then_args if x is phi) + _uses_outside(ir, phi, {h, body}):
            raise _Refuse  # the accumulator is read in the body other than by its update
        if uses.get(nxt) != 1:
            raise _Refuse
    # acc += b ** n with the power read nowhere else: the powers and the sum in one primitive (seq_sum_pow)
    fused = {}
    for phi, s in updates.items():
        term = s.args[1] if s.args[0] is phi else s.args[0]
        entry = next((e for e in vector if e[0].var is term), None)
        if entry is not None and entry[1] is seq.seq_pow and uses.get(term) == 1:
            fused[phi] = entry
    vector = [e for e in vector if e not in fused.values()]
    checked = [v for v in checked if all(e[0].var is not v for e in fused.values())]
    # Where Python raises in `**` or a math function, seq_pow and seq_map give NaN, and NaN goes through +, -, *, /,
    # the math functions and ** n (n != 0) to the sum: a power or a math function whose NaN reaches an accumulator
    # needs no check of its own.  A quotient does (1 / (1 / 0.0) is 0.0).
    reaches = {s.args[1] if s.args[0] in phis else s.args[0] for s in updates.values()}
    reaches |= {e[2][0] for e in fused.values() if e[2][1].value != 0}
    for s, fn, args in reversed(vector):
        if s.var in reaches and not (fn is seq.seq_pow and args[1].value == 0):
            reaches.update(a for a in args if isinstance(a, Var))
    checked = [v for v, (s, fn, _) in zip(checked, [_def_of(vector, v) for v in checked])
               if not (fn in (seq.seq_pow, seq.seq_map) and v in reaches)]
    return lists, zip_stmt, kind, hoisted, vector, updates, checked, fused


def _def_of(vector, v):
    for entry in vector:
        if entry[0].var is v:
            return entry
    raise KeyError(v)


def _uses_outside(ir, v, blocks) -> int:
    n = 0
    for b in ir.blocks:
        if b in blocks:
            continue
        for s in b.stmts:
            n += sum(1 for x in s.operands() if x is v)
        n += sum(1 for x in b.term.operands() if x is v)
    return n


def _accumulator_update(s, fn, argkinds, kind):
    if fn not in _ACCUMULATE or len(s.args) != 2 or s.type != FLOAT:
        return None
    a, b = s.args
    ka, kb = argkinds
    if ka == "phi" and _is_term(kb):
        return a
    if kb == "phi" and _is_term(ka) and fn in (operator.add, operator.iadd):  # x + acc is acc + x, to the bit
        return b
    return None


def _is_term(k) -> bool:
    return k == "vec" or (isinstance(k, tuple) and k[0] == "col")


def _vectorise(ir, loop: _ForLoop, plan) -> None:
    lists, zip_stmt, kind, hoisted, vector, updates, checked, fused = plan
    h, body, pre, exit_ = loop.header, loop.body, loop.pre, loop.exit
    line = h.term.line
    stmts = []

    def emit(fn, *args, type, hint=None):
        v = Var(hint)
        stmts.append(Stmt(v, Const(fn), tuple(args), (), type, line))
        return v

    quiet = emit(seq.seq_quiet, type=ANY, hint="errstate")
    columns = seq.entry_float_columns if _verified_at_entry(ir, pre, lists) else seq.float_columns
    cols_tuple = emit(columns, *lists, type=Tuple((VEC,) * len(lists)), hint="cols")
    cols = [emit(operator.getitem, cols_tuple, Const(j), type=VEC, hint="col") for j in range(len(lists))]
    env: dict = {}
    for v, k in kind.items():
        if isinstance(k, tuple) and k[0] == "col":
            env[v] = cols[k[1]]

    def get(x):
        return env.get(x, x) if isinstance(x, Var) else x

    for s in hoisted:
        c = Stmt(Var(s.var.hint), s.fn, s.args, s.kwargs, s.type, s.line)
        c.map_operands(get)
        env[s.var] = c.var
        stmts.append(c)
    for s, fn, args in vector:
        env[s.var] = emit(fn, *(get(a) for a in args), type=VEC, hint=s.var.hint)
    finals = {}
    for phi, init in zip(h.args, pre.term.args):
        s = updates[phi]
        if phi in fused:
            _, _, (base, n) = fused[phi]
            fn = seq.seq_sum_pow if _ACCUMULATE[s.fn.value] is seq.seq_sum else seq.seq_diff_pow
            finals[phi] = emit(fn, init, get(base), n, type=FLOAT, hint=phi.hint)
            continue
        term = s.args[1] if s.args[0] is phi else s.args[0]
        finals[phi] = emit(_ACCUMULATE[s.fn.value], init, get(term), type=FLOAT, hint=phi.hint)
    ok = emit(seq.seq_ok, cols[0], *finals.values(), *(env[v] for v in checked), type=Scalar(bool))
    emit(seq.seq_loud, quiet, type=Scalar(type(None)))

    # the exit block takes the accumulators as new arguments: from the array code or from the loop
    after = [exit_.add_arg(FLOAT, phi.hint) for phi in h.args]
    _replace_outside(ir, dict(zip(h.args, after)), {h, body})
    h.term.then_args = tuple(h.term.then_args) + tuple(h.args)
    fallback = ir.new_block()
    move = [s for s in (zip_stmt, loop.iter_stmt) if s is not None]
    if loop.iter_block is pre and all(s in pre.stmts for s in move):
        for s in move:
            pre.stmts.remove(s)
        fallback.stmts.extend(move)
    fallback.term = Br(h, pre.term.args, pre.term.line)
    exit_args = tuple(finals.get(x, x) if isinstance(x, Var) else x for x in h.term.then_args[:-len(h.args)])
    pre.stmts.extend(stmts)
    pre.term = CondBr(ok, exit_, exit_args + tuple(finals[phi] for phi in h.args), fallback, (), line)


# What may run between the entry and the array code without changing a list's elements: reads of closure cells
# and of tuples, and the loop's own zip and iter (anything `passes.is_pure` also).
_READS_ONLY = {ops.freevar, operator.getitem, ops.unpack_sequence, zip, iter}


def _verified_at_entry(ir, pre, lists) -> bool:
    """Were the lists' elements proved exact floats by the check that let this call run the derivation (its
    guard, or the cache key: both scan a list of floats element by element), with nothing since that could change
    them?  So: the array code is in the entry block, after only reads of tuples and closure cells (and pure
    statements); each list is typed list[float] and is an entry argument or read from one through tuples and
    cells, never a constant of the trace (a global's list, checked by identity only)."""
    if pre is not ir.blocks[0]:
        return False
    types = ir.types()
    defs = {s.var: s for s in pre.stmts}
    for s in pre.stmts:
        fn = s.fn.value if isinstance(s.fn, Const) else None
        if passes.is_pure(s, types) or fn is zip or fn is iter or fn is ops.freevar:
            continue
        if fn in (operator.getitem, ops.unpack_sequence) and s.args and isinstance(types.get(s.args[0]), Tuple):
            continue
        return False
    entry_args = set(pre.args)
    for v in lists:
        if types.get(v) != List(FLOAT):
            return False
        while v not in entry_args:
            s = defs.get(v) if isinstance(v, Var) else None
            if s is None or not isinstance(s.fn, Const) or s.fn.value not in _READS_ONLY or not s.args:
                return False
            v = s.args[0]
    return True


def _replace_outside(ir, subst, blocks) -> None:
    def get(x):
        return subst.get(x, x) if isinstance(x, Var) else x
    for b in ir.blocks:
        if b in blocks:
            continue
        for s in b.stmts:
            s.map_operands(get)
        b.term.map_operands(get)
