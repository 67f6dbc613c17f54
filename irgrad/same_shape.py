"""Which array variables certainly have the same shape, from the IR alone (no shapes are known while tracing).

An inline rule sums an array operand's cotangent back to the operand's shape (`sum_like`) whenever another array
operand may have broadcast it.  Where every array operand and the result are in one class below, nothing was
broadcast: the cotangent is the operand's as it is, and its shape need not be kept.  The classes:

- the columns `float_columns` makes from one `zip` (arrays of one length by construction: the vectorised loops);
- the result of an elementwise operation (arithmetic, a ufunc of one or two inputs) whose array operands are all
  in one class, its other operands scalars: the class of its operands.

Everything else is in a class of its own.  That covers the vectorised loops (`y = y * x + c` over the columns),
where four of five unbroadcasts were checks that never summed anything.
"""
from __future__ import annotations

import operator

import numpy as np

from .ir import IR, Const, Var
from .rules.sequences import entry_float_columns, float_columns
from .types import Array, Constant, Scalar

_ARITHMETIC = frozenset((operator.add, operator.sub, operator.mul, operator.truediv, operator.pow,
                         operator.neg, operator.pos))


def _elementwise(fn) -> bool:
    if isinstance(fn, np.ufunc):
        return fn.nout == 1 and fn.nin in (1, 2)
    try:
        return fn in _ARITHMETIC
    except TypeError:
        return False


def _scalar(x, typemap) -> bool:
    if isinstance(x, Const):
        return type(x.value) in (int, float, bool)
    return isinstance(typemap.get(x), Scalar) or isinstance(typemap.get(x), Constant) and \
        type(typemap.get(x).value) in (int, float, bool)


def shape_classes(ir: IR, typemap: dict) -> dict:
    """Var -> a class token, for the array variables known to share a shape with others (see above)."""
    classes: dict = {}
    columns: set = set()  # the tuples float_columns returned
    for b in ir.blocks:
        for s in b.stmts:
            fn = s.fn.value if isinstance(s.fn, Const) else None
            if fn is float_columns or fn is entry_float_columns:
                columns.add(s.var)
                continue
            if not isinstance(typemap.get(s.var), Array) or s.kwargs:
                continue
            if fn is operator.getitem and s.args and s.args[0] in columns and isinstance(s.args[1], Const):
                classes[s.var] = ("columns", s.args[0])
            elif fn is not None and _elementwise(fn):
                arrays = [a for a in s.args if not _scalar(a, typemap)]
                if arrays and all(isinstance(a, Var) and a in classes for a in arrays) \
                        and len({classes[a] for a in arrays}) == 1:
                    classes[s.var] = classes[arrays[0]]
    return classes


def unbroadcast_free(s, typemap: dict, classes: dict) -> bool:
    """Are the result and every array operand of statement s in one class (so nothing was broadcast)?"""
    c = classes.get(s.var)
    if c is None:
        return False
    return all(_scalar(a, typemap) or (isinstance(a, Var) and classes.get(a) == c) for a in s.args)
