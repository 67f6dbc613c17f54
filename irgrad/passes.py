"""Clean-up passes over the IR, each in place, each returning the IR:

- `remove_unreachable`: drops blocks no path from the entry reaches;
- `fold_constants`: resolves `getattr(<module>, 'name')` to a constant (recording the assumption), evaluates pure
  operations whose operands are all constants, folds `len` of a value whose type fixes its length (a tuple), and
  turns a branch on a constant into a jump;
- `prune_args`: IRTools' `prune!` -- a block argument to which every incoming edge passes the same value (or the
  argument itself) is replaced by that value;
- `merge_blocks`: a block that jumps to a block with no other predecessor absorbs it;
- `dce`: dead-code elimination of pure statements and of block arguments nothing reads;
- `order_blocks`: blocks in a topological order of the forward edges, keeping the frontend's order where it can.

`simplify` runs them in order.  A statement is removed only when the purity table below says that, with the
types of its operands, it can neither have an effect nor raise (so before type inference little goes, and the
pipeline runs `dce` again after it); a call of user code, a method, `setattr`, `list_append` ... always stays.
Constant folding evaluates only the callables of `FOLDABLE`, on immutable constants, and leaves a call that
raises to raise at run time.
"""
from __future__ import annotations

import inspect
import math
import operator
import types as _pytypes

import numpy as np

from . import cfg, ops
from .ir import IR, Br, CondBr, Const, Var

# ---------------------------------------------------------------------------------------------------------------
# Purity table

# A dead call is removed only when it can neither have an effect nor raise.  Most operations raise on some
# operands (`1 // 0`, `None + 1`, arrays that do not broadcast, `bool` of an array), so purity is decided per
# statement from the operand types: `_PURE` maps a callable to the test its statement must pass.  In-place
# operators, setitem, setattr, calls of user code and every list/dict/set mutation helper are absent on purpose.

def _always(s, types) -> bool:
    return True


def _kind(x, types):
    """'real', 'complex' or 'array' for a number or ndarray operand of known type, else None."""
    from .types import Array, Constant, Scalar
    t = types.get(x) if isinstance(x, Var) else Constant(x.value)
    v = t.value if isinstance(t, Constant) else None
    p = t.pytype if isinstance(t, Scalar) else type(v) if isinstance(t, Constant) else None
    if isinstance(t, Array):
        return "array"
    if p is None or not isinstance(p, type):
        return None
    if issubclass(p, (bool, int, float, np.bool_, np.integer, np.floating)):
        return "real"
    if issubclass(p, (complex, np.complexfloating)):
        return "complex"
    return None


def _elementwise(ordered: bool):
    """Numbers and at most one array (so nothing has to broadcast), no keywords; no complex if `ordered`."""
    def test(s, types) -> bool:
        kinds = [_kind(a, types) for a in s.args]
        if s.kwargs or not kinds or None in kinds or kinds.count("array") > 1:
            return False
        return not (ordered and "complex" in kinds)
    return test


def _scalar_only(allow_complex: bool):
    def test(s, types) -> bool:
        if len(s.args) != 1 or s.kwargs:
            return False
        k = _kind(s.args[0], types)
        return k == "real" or (allow_complex and k == "complex")
    return test


def _sized(s, types) -> bool:
    from .types import Array, Dict, List, Scalar, Tuple
    t = types.get(s.args[0]) if len(s.args) == 1 and isinstance(s.args[0], Var) else None
    return isinstance(t, (Tuple, List, Dict)) or (isinstance(t, Array) and t.ndim not in (None, 0)) or (
        isinstance(t, Scalar) and t.pytype is str)


def _isinstance(s, types) -> bool:
    if len(s.args) != 2 or not isinstance(s.args[1], Const):
        return False
    c = s.args[1].value
    return isinstance(c, type) or (isinstance(c, tuple) and all(isinstance(x, type) for x in c))


def _range(s, types) -> bool:
    return 1 <= len(s.args) <= 3 and not s.kwargs and all(_kind(a, types) == "real" for a in s.args) and all(
        _is_int(a, types) for a in s.args)


def _is_int(x, types) -> bool:
    from .types import Scalar
    t = types.get(x) if isinstance(x, Var) else None
    v = x.value if isinstance(x, Const) else None
    return isinstance(v, int) or (isinstance(t, Scalar) and t.pytype in (int, bool))


_PURE = {
    operator.is_: _always, operator.is_not: _always, slice: _always, type: _always,
    ops.build_tuple: _always, ops.build_list: _always, ops.build_string: _always, ops.list_to_tuple: _always,
    ops.make_function: _always, ops.assert_fail: _always,
    getattr: lambda s, types: _getattr_is_pure(s, types),
    operator.getitem: lambda s, types: _getitem_is_pure(s, types),
    len: _sized, isinstance: _isinstance, range: _range,
    abs: _scalar_only(True), bool: _scalar_only(True), float: _scalar_only(False),
    operator.not_: _scalar_only(True), operator.truth: _scalar_only(True),
    operator.neg: _elementwise(False), operator.pos: _elementwise(False), operator.abs: _elementwise(False),
    operator.add: _elementwise(False), operator.sub: _elementwise(False), operator.mul: _elementwise(False),
    operator.eq: _elementwise(False), operator.ne: _elementwise(False),
    operator.lt: _elementwise(True), operator.le: _elementwise(True), operator.gt: _elementwise(True),
    operator.ge: _elementwise(True),
}
_UFUNC_TEST = _elementwise(False)  # NumPy ufuncs: warnings, not errors, for 1/0 and log(0) (unless np.seterr)

# Evaluated at trace time when every operand is a constant: the result must be an immutable value, and an
# operation that raises is left to raise at run time.
_OPERATOR_FOLD = (
    "add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "neg", "pos", "abs", "invert", "not_",
    "lt", "le", "eq", "ne", "gt", "ge", "is_", "is_not", "and_", "or_", "xor", "lshift", "rshift", "truth",
    "getitem", "index",
)
FOLDABLE = {getattr(operator, n) for n in _OPERATOR_FOLD} | {
    ops.build_tuple, len, abs, min, max, round, float, int, bool, complex, isinstance, divmod, slice,
} | {getattr(math, n) for n in dir(math) if callable(getattr(math, n)) and not n.startswith("_")}

_IMMUTABLE = (int, float, complex, bool, str, bytes, type(None), slice, np.generic, type(Ellipsis))


def is_pure(s, types: dict) -> bool:
    """Can statement `s` be removed when nothing uses its value?  `types`: Var -> Type (Any where unknown)."""
    if not isinstance(s.fn, Const):
        return False
    fn = s.fn.value
    if isinstance(fn, np.ufunc):
        return _UFUNC_TEST(s, types)
    try:
        test = _PURE.get(fn)
    except TypeError:  # an unhashable callable
        return False
    return test is not None and test(s, types)


def _getattr_is_pure(s, types: dict) -> bool:
    """`getattr(x, 'name')` reads without effects unless it runs a property or `__getattr__`: a read from a
    module, from an ndarray, or of an instance attribute or method of a known class is pure."""
    from .types import Array, Constant, Instance
    if len(s.args) != 2 or s.kwargs or not isinstance(s.args[1], Const) or not isinstance(s.args[1].value, str):
        return False
    obj, name = s.args[0], s.args[1].value
    if isinstance(obj, Const):
        v = obj.value
        return (isinstance(v, _pytypes.ModuleType) and name in v.__dict__) or (
            _plain_attribute(type(v), name) and hasattr(v, name))
    t = types.get(obj)
    if isinstance(t, Array):
        return hasattr(np.ndarray, name)
    if isinstance(t, Instance):
        return (t.attr(name) is not None or hasattr(t.cls, name)) and _plain_attribute(t.cls, name)
    if isinstance(t, Constant):
        return _plain_attribute(type(t.value), name) and hasattr(t.value, name)
    return False


def _getitem_is_pure(s, types: dict) -> bool:
    """`x[i]` cannot fail when x is a tuple of known length and i a constant index inside it."""
    from .types import Tuple
    if len(s.args) != 2 or s.kwargs or not isinstance(s.args[1], Const) or type(s.args[1].value) is not int:
        return False
    t = types.get(s.args[0]) if isinstance(s.args[0], Var) else None
    return isinstance(t, Tuple) and -len(t.elts) <= s.args[1].value < len(t.elts)


def _plain_attribute(cls, name) -> bool:
    """No property, no `__getattr__`: reading `name` from an instance of `cls` runs no user code."""
    if hasattr(cls, "__getattr__") and cls is not _pytypes.ModuleType:
        return False
    try:
        attr = inspect.getattr_static(cls, name)
    except AttributeError:
        return True  # an instance attribute
    return not hasattr(type(attr), "__get__") or isinstance(attr, (_pytypes.FunctionType, staticmethod,
                                                                       classmethod))


# ---------------------------------------------------------------------------------------------------------------
# Substitution

def substitute(ir: IR, subst: dict) -> None:
    """Replace every use of a key of `subst` (a Var) by its value (after following chains)."""
    if not subst:
        return

    def resolve(x):
        seen = 0
        while isinstance(x, Var) and x in subst:
            x = subst[x]
            seen += 1
            if seen > len(subst):  # a cycle: only arguments passing each other around; leave as is
                break
        return x

    for b in ir.blocks:
        for s in b.stmts:
            s.map_operands(resolve)
        if b.term is not None:
            b.term.map_operands(resolve)


# ---------------------------------------------------------------------------------------------------------------
# The passes

def remove_unreachable(ir: IR) -> IR:
    live = cfg.reachable(ir)
    ir.blocks = [b for b in ir.blocks if b in live]
    return ir


def fold_constants(ir: IR) -> IR:
    """Fold module attributes, pure operations on constants and branches on constants, in block order."""
    subst: dict = {}
    types = ir.types()

    def resolve(x):
        return subst.get(x, x) if isinstance(x, Var) else x

    for b in cfg.reverse_postorder(ir):
        kept = []
        for s in b.stmts:
            s.map_operands(resolve)
            value = _fold(ir, s, types)
            if value is not _NO:
                subst[s.var] = Const(value)
            else:
                kept.append(s)
        b.stmts = kept
        if b.term is not None:
            b.term.map_operands(resolve)
            t = b.term
            if isinstance(t, CondBr) and isinstance(t.cond, Const) and isinstance(t.cond.value, _IMMUTABLE):
                try:
                    taken = bool(t.cond.value)
                except Exception:
                    continue
                target, args = (t.then_, t.then_args) if taken else (t.else_, t.else_args)
                b.term = Br(target, args, t.line)
    substitute(ir, subst)  # uses in blocks visited before their definitions' blocks (none in reducible IR)
    return remove_unreachable(ir)


_NO = object()


def _fold(ir: IR, s, types=None):
    """The constant value of statement `s`, or _NO."""
    if not isinstance(s.fn, Const):
        return _NO
    fn = s.fn.value
    if fn is len and len(s.args) == 1 and not s.kwargs and isinstance(s.args[0], Var) and types:
        return _fixed_length(types.get(s.args[0]))
    if not all(isinstance(a, Const) for a in s.args) or not all(isinstance(v, Const) for _, v in s.kwargs):
        return _NO
    args = [a.value for a in s.args]
    kwargs = {k: v.value for k, v in s.kwargs}
    if fn is getattr and len(args) == 2 and not kwargs and isinstance(args[0], _pytypes.ModuleType) \
            and isinstance(args[1], str):
        return _fold_module_attribute(ir, args[0], args[1])
    try:
        if fn not in FOLDABLE:
            return _NO
    except TypeError:
        return _NO
    if not all(_is_immutable(a) for a in args) or not all(_is_immutable(v) for v in kwargs.values()):
        return _NO
    try:
        value = fn(*args, **kwargs)
    except Exception:  # it raises at run time: leave it to raise there
        return _NO
    return value if _is_immutable(value) else _NO


def _fixed_length(t):
    """`len` of a value whose type fixes its length: a tuple (its type lists every element)."""
    from .types import Tuple
    return len(t.elts) if isinstance(t, Tuple) else _NO


def _fold_module_attribute(ir: IR, module, name):
    try:
        value = getattr(module, name)
    except AttributeError:
        return _NO
    # Only a plain entry of the module's namespace can be checked later by the cache (`ns.get(name) is value`);
    # names served by a module `__getattr__` stay dynamic.
    if module.__dict__.get(name, _NO) is not value:
        return _NO
    ir.meta.assumptions.append((module.__dict__, name, value))
    return value


def _is_immutable(v) -> bool:
    if isinstance(v, tuple):
        return all(_is_immutable(x) for x in v)
    if isinstance(v, frozenset):
        return True
    return isinstance(v, _IMMUTABLE)


def prune_args(ir: IR) -> IR:
    """Remove block arguments that receive one value from every incoming edge (ignoring the argument passed to
    itself around a loop), replacing their uses by that value.  Repeats until nothing changes."""
    entry = ir.blocks[0] if ir.blocks else None
    subst: dict = {}

    def resolve(x):
        while isinstance(x, Var) and x in subst:
            x = subst[x]
        return x

    changed = True
    while changed:
        changed = False
        incoming = cfg.incoming(ir)
        for b in ir.blocks:
            if b is entry or not b.args:
                continue
            edges = incoming.get(b, [])
            keep = []
            for i, v in enumerate(b.args):
                values = []
                for _, args in edges:
                    x = resolve(args[i])
                    if x is not v and not any(_same(x, y) for y in values):
                        values.append(x)
                if len(values) == 1:
                    subst[v] = values[0]
                    changed = True
                else:
                    keep.append(i)
            if len(keep) < len(b.args):
                _drop_args(b, keep, edges)
    substitute(ir, subst)
    return ir


def _same(x, y) -> bool:
    if isinstance(x, Var) or isinstance(y, Var):
        return x is y
    return x == y


def _drop_args(b, keep: list, edges) -> None:
    """Keep only the block arguments of `b` at positions `keep`, and the matching operands of every edge into it."""
    b.args = [b.args[i] for i in keep]
    b.argtypes = [b.argtypes[i] for i in keep]
    for pred, _ in edges:
        t = pred.term
        if isinstance(t, Br) and t.target is b:
            t.args = tuple(t.args[i] for i in keep)
        elif isinstance(t, CondBr):
            if t.then_ is b:
                t.then_args = tuple(t.then_args[i] for i in keep)
            if t.else_ is b:
                t.else_args = tuple(t.else_args[i] for i in keep)


def dce(ir: IR) -> IR:
    """Remove pure statements whose results nothing uses, and block arguments (of blocks other than the entry)
    whose values nothing uses, by marking what is live from the effects: impure calls, conditions, returned and
    raised values."""
    defs: dict = {}  # Var -> ('stmt', Stmt) | ('arg', Block, index)
    for b in ir.blocks:
        for i, v in enumerate(b.args):
            defs[v] = ("arg", b, i)
        for s in b.stmts:
            defs[s.var] = ("stmt", s)
    incoming = cfg.incoming(ir)
    types = ir.types()
    live: set = set()
    work: list = []

    def mark(x):
        if isinstance(x, Var) and x not in live:
            live.add(x)
            work.append(x)

    for b in ir.blocks:
        for s in b.stmts:
            if not is_pure(s, types):
                mark(s.var)
        t = b.term
        if isinstance(t, CondBr):
            mark(t.cond)
        elif t is not None and not isinstance(t, Br):
            for x in t.operands():
                mark(x)
    for v in ir.blocks[0].args if ir.blocks else ():
        mark(v)
    while work:
        v = work.pop()
        d = defs.get(v)
        if d is None:
            continue
        if d[0] == "stmt":
            for x in d[1].operands():
                mark(x)
        else:
            _, b, i = d
            for _, args in incoming.get(b, ()):
                mark(args[i])
    for b in ir.blocks:
        b.stmts = [s for s in b.stmts if s.var in live]
        if b is not ir.blocks[0] and not all(v in live for v in b.args):
            _drop_args(b, [i for i, v in enumerate(b.args) if v in live], incoming.get(b, ()))
    return ir


def merge_blocks(ir: IR) -> IR:
    """Merge each block that ends in a jump with its target when that target has no other incoming edge: the
    target's arguments become the jump's operands and its statements move up."""
    if not ir.blocks:
        return ir
    count: dict = {}
    for b in ir.blocks:
        for target, _ in (b.term.edges() if b.term is not None else ()):
            count[target] = count.get(target, 0) + 1
    entry, gone, subst = ir.blocks[0], set(), {}
    for b in ir.blocks:
        if b in gone:
            continue
        while isinstance(b.term, Br) and b.term.target is not b and b.term.target is not entry \
                and count.get(b.term.target) == 1:
            t, args = b.term.target, b.term.args
            subst.update(zip(t.args, args))
            b.stmts.extend(t.stmts)
            b.term = t.term
            gone.add(t)
    ir.blocks = [b for b in ir.blocks if b not in gone]
    substitute(ir, subst)
    return ir


def order_blocks(ir: IR) -> IR:
    """Reachable blocks in topological order of the forward edges (see `cfg.topological_order`)."""
    ir.blocks = cfg.topological_order(ir)
    return ir


def simplify(ir: IR) -> IR:
    """The clean-up passes in order."""
    remove_unreachable(ir)
    fold_constants(ir)
    prune_args(ir)
    merge_blocks(ir)
    dce(ir)
    order_blocks(ir)
    return ir
