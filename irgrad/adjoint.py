"""Typed primal IR -> forward IR + adjoint IR, as a short chain of named steps (Zygote's `Adjoint(ir)`):

    rewrite_mutating_methods   `lst.append(x)` and friends become stores the adjoint can follow
    check_stores               in-place changes it cannot follow (of an argument, through an alias) are refused
    activity                   which variables carry derivative information (forwards from the arguments)
    plan_blocks                per statement: an inline rule, tuple bookkeeping, a rule's pullback, a store, or a
                               call of Python code (recursing into its own derived adjoint)
    forward_ir                 (forward_pass.py) the primal, recording per block what its adjoint needs
    adjoint_ir                 (reverse_pass.py) one adjoint block per primal block, in reverse

Both outputs are ordinary IR, run by the interpreter or compiled by codegen.  A loop's adjoint is a loop: each
block's stack keeps one record per execution, so one trace serves every trip count ("Don't Unroll Adjoint",
Innes 2018).
"""
from __future__ import annotations

import operator
import types
from dataclasses import dataclass

import numpy as np

from . import inline_rules, ops
from .forward_pass import forward_ir
from .errors import UnsupportedError
from .ir import IR, Const, Meta, Stmt, Var
from .passes import _plain_attribute, simplify
from .reverse_pass import adjoint_ir, drop_unread_fields, fold_zero_sums, in_place_masks
from .rules.registry import NONDIFF, lookup
from .same_shape import shape_classes
from .runtime import MUTATING_METHODS, STORES, mutating_method, static_nondiff
from .types import AnyType, Array, Constant, Instance, Method, Scalar, Tuple

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
    """What the forward pass records for one primal block, and so what its adjoint pops.  The record is a tuple
    laid out by `layout`: the predecessor number ("from", when the block has several), primal values that inline
    rules need (each once, however many rules need it), and pullbacks or store `back` functions (one per 'rule',
    'dyn' or 'store' statement).  'tuple' statements (tuple indexing, unpacking and building, and plain
    attribute reads of objects) record nothing but a run-time index; they are pulled back element by element
    (field by field for attributes)."""

    index: int
    stmts: list  # the primal statements that are differentiated, in order
    kinds: list  # 'rule' | 'dyn' | 'store' | 'inline' | 'tuple', per statement
    info: list  # per statement: the InlineRule ('inline'), the tuple facts ('tuple'), else None
    where: list  # per statement: its position in the record (an int), or {save: position} for an inline rule
    layout: list  # the record: ("from",) | ("value", primal Var) | ("pullback", statement number)
    npreds: int

    @property
    def width(self) -> int:
        """Values in the record (a record of one value is pushed bare, not in a tuple)."""
        return len(self.layout)

    @property
    def stack(self) -> bool:
        """Does this block push a record?"""
        return bool(self.layout)

    @property
    def direct(self) -> bool:
        """The entry block with no predecessors runs exactly once per call: its record goes into the tape itself,
        no stack."""
        return self.index == 0 and self.npreds == 0


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


def _tuple_facts(s: Stmt, typemap):
    """('getitem', n, i) / ('unpack',) / ('build',) for tuple operations whose shape the types fix, else None."""
    if not isinstance(s.fn, Const) or s.kwargs:
        return None
    f = s.fn.value
    if f is ops.build_tuple:
        return ("build",)
    if len(s.args) != 2 or not isinstance(s.args[0], Var):
        return None
    t = typemap.get(s.args[0])
    if not isinstance(t, Tuple):
        return None
    if f is operator.getitem and isinstance(s.args[1], Var) and typemap.get(s.args[1]) == Scalar(int):
        return ("getitem_at", len(t.elts))  # a tuple indexed by an int known only at run time
    if not isinstance(s.args[1], Const):
        return None
    n, i = len(t.elts), s.args[1].value
    if f is operator.getitem and type(i) is int and -n <= i < n:
        return ("getitem", n, i % n)
    if f is ops.unpack_sequence and i == n:
        return ("unpack",)
    return None


def _attr_facts(s: Stmt, typemap):
    """('attr', name) for `getattr(obj, 'name')` of a plain instance attribute (obj typed `Instance` with `name`
    among its attributes, no property, descriptor or `__getattr__` on its class, not a bound method): nothing is
    recorded, the adjoint keeps obj's cotangent field by field (`SymTangent`), exactly getattr_rrule's
    `Tangent({name: dy})`.  Anything else (slots, properties, methods, arrays, modules) keeps the rule."""
    if s.fn != Const(getattr) or s.kwargs or len(s.args) != 2 or not isinstance(s.args[0], Var) \
            or not isinstance(s.args[1], Const) or type(s.args[1].value) is not str:
        return None
    t, name = typemap.get(s.args[0]), s.args[1].value
    if not isinstance(t, Instance) or not isinstance(t.cls, type) \
            or issubclass(t.cls, (np.ndarray, type, types.ModuleType)):
        return None
    at = t.attr(name)
    if at is None or isinstance(at, (Method, AnyType)) or not _plain_attribute(t.cls, name):
        return None
    if isinstance(at, Constant) and (callable(at.value) or hasattr(at.value, "__self__")):
        return None  # a function or bound method kept on the instance: the rule decides what its cotangent is
    return ("attr", name)


def _needs_pullback(s: Stmt, active: set) -> bool:
    return s.var in active or (isinstance(s.fn, Const) and s.fn.value in STORES and any(
        isinstance(o, Var) and o in active for o in s.operands()))


def inline_saved(s: Stmt, rule) -> list:
    """The values an inline rule's forward records: the saved operands that are variables, and the output "y" (for
    an array output always: the adjoint may need its shape for a zero cotangent)."""
    saved = [p for p in rule.saves if p == "y" or isinstance(s.args[p], Var)]
    return saved + ["y"] if rule.out_cat == "a" and "y" not in saved else saved


def plan_blocks(ir: IR, active: set) -> list:
    preds = predecessors(ir)
    typemap = ir.types()
    classes = shape_classes(ir, typemap)
    plans = []
    for i, b in enumerate(ir.blocks):
        stmts = [s for s in b.stmts if _needs_pullback(s, active)]
        npreds = len(preds[id(b)])
        layout = [("from",)] if npreds > 1 else []
        value_pos: dict = {}

        def value(v):
            if v not in value_pos:
                value_pos[v] = len(layout)
                layout.append(("value", v))
            return value_pos[v]

        kinds, info, where = [], [], []
        for k, s in enumerate(stmts):
            facts = _tuple_facts(s, typemap) or _attr_facts(s, typemap)
            rule = inline_rules.find(s, typemap, active, classes) if facts is None and s.var in active else None
            if facts is not None:
                kinds.append("tuple")
                info.append(facts)
                where.append(value(s.args[1]) if facts[0] == "getitem_at" else None)
            elif rule is not None:
                kinds.append("inline")
                info.append(rule)
                where.append({p: value(s.var if p == "y" else s.args[p]) for p in inline_saved(s, rule)})
            else:
                kinds.append(_kind(s))
                info.append(None)
                where.append(len(layout))
                layout.append(("pullback", k))
        plans.append(BlockPlan(i, stmts, kinds, info, where, layout, npreds))
    return plans


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


# Operations that keep a reference to their operands (all of them, or all but the first, a container they grow).
_RETAIN_ALL = (ops.build_tuple, ops.build_list, ops.build_set, ops.build_dict, ops.make_function, ops.call_ex)
_RETAIN_REST = (ops.list_append, ops.list_extend, ops.set_add, ops.dict_setitem)
# Operations whose result is (part of) their first operand, not a copy.
_REACHING = (getattr, operator.getitem, iter, ops.next_or_stop, ops.unpack_sequence, ops.freevar)


def check_stores(ir: IR) -> IR:
    """Refuse the in-place changes the adjoint cannot follow, rather than risk a wrong gradient: a change to an
    argument of the function (its caller's object: the caller's adjoint would not see it), and a change to a list,
    dict or object that is also held elsewhere (put in a container, captured, or passed to Python code), since the
    cotangent reaching it through the other reference would miss the change."""
    targets = {}
    for _, s in ir.stmts():
        if isinstance(s.fn, Const) and s.fn.value in STORES and s.fn.value is not ops.cell_set \
                and s.args and isinstance(s.args[0], Var):
            targets.setdefault(s.args[0], s)
    if not targets:
        return ir
    names = dict(zip(ir.entry.args, ir.meta.argnames[-len(ir.entry.args):] if ir.meta.argnames else ()))
    # Values reached from the arguments (or from what a closure captured) without a copy belong to the caller.
    outside = set(ir.entry.args)
    changed = True
    while changed:
        changed = False
        for _, s in ir.stmts():
            if s.var not in outside and isinstance(s.fn, Const) and s.fn.value in _REACHING and s.args \
                    and isinstance(s.args[0], Var) and (s.args[0] in outside or s.fn.value is ops.freevar):
                outside.add(s.var)
                changed = True
    for t, s in targets.items():
        if t in outside:
            raise UnsupportedError(
                f"{ir.where()}: line {s.line} changes {names.get(t, t.hint or 'a value')!r}, which belongs to its "
                "caller (an argument, part of one, or a captured value), in place; irgrad differentiates functions "
                "that build new values. Work on a copy (list(x), dict(x), copy.copy(obj)).")
    for _, s in ir.stmts():
        f = s.fn.value if isinstance(s.fn, Const) else None
        if f in STORES or f in _RETAIN_REST:
            held = s.args[1:]
        elif f in _RETAIN_ALL or f is None or _kind(s) == "dyn":
            held = list(s.args) + [v for _, v in s.kwargs]
        else:
            continue
        for o in held:
            if isinstance(o, Var) and o in targets:
                raise UnsupportedError(
                    f"{ir.where()}: {o.hint or 'a value'!r} is changed in place at line {targets[o].line} and is "
                    f"also held elsewhere (line {s.line}); irgrad cannot follow a change through two references. "
                    "Build a new value instead of changing it in place.")
    return ir


def prune_records(fwd: IR, adj: IR, plans: list) -> None:
    """Record fields the final adjoint never reads (an output kept for a zero cotangent that never came, a Fill's
    `like`) are not recorded: the forward's record tuple loses them and the adjoint's reads are renumbered."""
    reads: dict = {}
    other: set = set()
    for b in adj.blocks:
        for s in b.stmts:
            first = s.args[0] if s.args else None
            if s.fn == Const(operator.getitem) and isinstance(s.args[1], Const) and type(s.args[1].value) is int:
                reads.setdefault(first, []).append(s)
                rest = list(s.args[1:]) + [v for _, v in s.kwargs]
            else:
                rest = list(s.operands())
            other.update(o for o in rest if isinstance(o, Var))
        if b.term is not None:
            other.update(o for o in b.term.operands() if isinstance(o, Var))
    in_forward = {id(s) for _, s in fwd.stmts()}
    for p in plans:
        st, var = getattr(p, "record_stmt", None), getattr(p, "record_var", None)
        if st is None or var is None or var in other or id(st) not in in_forward or st.fn != Const(ops.build_tuple) \
                or len(st.args) != p.width:
            continue
        used = sorted({s.args[1].value for s in reads.get(var, ())})
        if len(used) == p.width or any(not 0 <= i < p.width for i in used):
            continue
        position = {old: new for new, old in enumerate(used)}
        st.args = tuple(st.args[i] for i in used)
        for s in reads.get(var, ()):
            s.args = (s.args[0], Const(position[s.args[1].value]))


def transform(ir: IR, active_args) -> Transform:
    """The named steps: list methods as stores, activity, block plans, forward IR, adjoint IR."""
    rewrite_mutating_methods(ir)
    check_stores(ir)
    active = activity(ir, active_args)
    plans = plan_blocks(ir, active)
    fwd = simplify(forward_ir(ir, active, plans, _meta(ir, "forward")))
    adj = in_place_masks(drop_unread_fields(simplify(fold_zero_sums(simplify(adjoint_ir(ir, active, plans, _meta(ir, "adjoint")))))))
    prune_records(fwd, adj, plans)
    return Transform(ir, fwd, adj, active, plans, len(ir.entry.args))


__all__ = ["transform", "activity", "forward_ir", "adjoint_ir", "Transform"]
