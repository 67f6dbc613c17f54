"""The forward of a `gradient` that does not return the value: what only the value needed is not computed.

`gradient(f, x)` returns cotangents alone, so the forward need not compute f's result, only what the adjoint reads
(as JAX's `grad` lets XLA drop the primal output).  From the final forward IR (`value_free_ir`): the result in each
`return (y, tape)` becomes None, and every statement nothing reads any more goes, when it is pure (`passes.is_pure`:
it can neither raise nor have an effect) or one of `DROPPABLE`, operations whose adjoint checks for itself what
the forward would have raised on (the fused cross-entropy checks the shapes of labels and log-probabilities).
Only results that are certainly a NumPy float64 scalar qualify (the cross-entropy, `np.sum` or `np.mean` of a
float64 array), so the seed is np.float64(1.0) as `gradient` would choose from the value itself.
"""
from __future__ import annotations

import numpy as np

from . import ops
from .ir import IR, Const, Return, Var
from .passes import is_pure
from .rules import fused
from .types import Array

# Dead calls that may go although `is_pure` cannot tell they would not raise: their adjoint raises instead.
DROPPABLE = {fused.cross_entropy, fused.logit_cross_entropy}
# Reductions of one array to a number (no keywords): they do not raise on an ndarray (an empty mean warns).
_REDUCTIONS = {np.sum, np.mean}


def _droppable(s, types) -> bool:
    if is_pure(s, types):
        return True
    if not isinstance(s.fn, Const):
        return False
    fn = s.fn.value
    if fn in DROPPABLE:
        return True
    return fn in _REDUCTIONS and len(s.args) == 1 and not s.kwargs and isinstance(s.args[0], Var) and \
        isinstance(types.get(s.args[0]), Array)


def merge_cross_entropy(ir: IR) -> bool:
    """`ls = logsoftmax(x, k); v = cross_entropy(ls, y, k, f)`, ls read by nothing else, becomes
    `v = logit_cross_entropy(x, y, k, f)` (in place, in a copy of the primal IR): the value-free forward then drops
    it whole, and its adjoint recomputes the softmax from x (which a relu before it keeps anyway) rather than the
    forward computing ls for it.  Returns whether anything was merged."""
    uses = ir.use_counts()
    defs = {s.var: (b, s) for b, s in ir.stmts()}
    merged = False
    for b in ir.blocks:
        for s in list(b.stmts):
            if not (isinstance(s.fn, Const) and s.fn.value is fused.cross_entropy and isinstance(s.args[0], Var)):
                continue
            ls = s.args[0]
            d = defs.get(ls)
            if d is None or d[0] is not b or uses.get(ls) != 1:
                continue
            lsm = d[1]
            if not (isinstance(lsm.fn, Const) and lsm.fn.value in (fused.logsoftmax, fused.logsoftmax_shifted)
                    and lsm.args[1] == s.args[2]):
                continue
            b.stmts.remove(lsm)
            shifted = Const(lsm.fn.value is fused.logsoftmax_shifted)
            s.fn, s.args = Const(fused.logit_cross_entropy), (lsm.args[0],) + tuple(s.args[1:]) + (shifted,)
            merged = True
    return merged


def _float64_array(x, types) -> bool:
    t = types.get(x) if isinstance(x, Var) else None
    return isinstance(t, Array) and t.dtype == "float64" and t.ndim is not None


def _scalar_root(s, types) -> bool:
    """Is s certainly a NumPy float64 scalar: the cross-entropy, or np.sum / np.mean of a float64 ndarray?"""
    if s is None or not isinstance(s.fn, Const) or s.kwargs or not s.args:
        return False
    fn = s.fn.value
    if fn is fused.cross_entropy or fn is fused.logit_cross_entropy:
        return _float64_array(s.args[0], types)
    return fn in _REDUCTIONS and len(s.args) == 1 and _float64_array(s.args[0], types)


def value_free_ir(fwd: IR):
    """A copy of forward IR `fwd` that returns (None, tape) and computes nothing only the result needed, or None.
    Only for results that are certainly NumPy float64 scalars (`_scalar_root`), whose seed is np.float64(1.0),
    what `gradient` seeds such a result with: the value is not needed to check or to seed it."""
    ir = fwd.copy()
    defs = {s.var: s for _, s in ir.stmts()}
    types = ir.types()
    for b in ir.blocks:
        if isinstance(b.term, Return):
            pair = defs.get(b.term.value)
            if pair is None or pair.fn != Const(ops.build_tuple) or len(pair.args) != 2 or \
                    not _scalar_root(defs.get(pair.args[0]), types):
                return None
            pair.args = (Const(None), pair.args[1])
    dropped = 0
    while True:
        used = ir.use_counts()
        before = dropped
        for b in ir.blocks:
            keep = [s for s in b.stmts if s.var in used or not _droppable(s, types)]
            dropped += len(b.stmts) - len(keep)
            b.stmts = keep
        if dropped == before:
            return ir if dropped else None
