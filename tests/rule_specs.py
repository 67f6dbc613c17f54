"""The table of rule specs: which callable, at which inputs, with which keyword arguments and tolerances.

`tests/test_rule_table.py` runs `irgrad.testing.check_rrule` over every entry of `SPECS` here and of `SPECS` in
`tests/rule_specs_shapes.py` (shapes, indexing, linear algebra; merged when that file exists), and checks that
every differentiable callable in the registry has at least one spec.

An entry's `args` is a tuple or a function `rng -> tuple`.  Inside a tuple, a `Draw` (made by `arr`, `pos`,
`flt` ...) is replaced by a random input drawn when the spec runs, from a generator seeded by the spec's name, so
a run is reproducible.  Keep points inside the function's domain and away from kinks (ties of max, zeros of abs).
"""
from __future__ import annotations

import math
import operator
import zlib
from dataclasses import dataclass, field

import numpy as np

from irgrad import ops
from irgrad.rules import fused, sequences
from irgrad.printer import callable_name


@dataclass(frozen=True)
class Draw:
    """A random input: a float64 array of `shape` with entries uniform in [lo, hi); a Python float when
    `python_float`; `abs_ge` pushes entries away from zero (|v| >= abs_ge) for kinks at 0."""
    shape: tuple = ()
    lo: float = -2.0
    hi: float = 2.0
    python_float: bool = False
    abs_ge: float = 0.0

    def __call__(self, rng):
        v = rng.uniform(self.lo, self.hi, size=self.shape)
        if self.abs_ge:
            v = np.where(np.abs(v) < self.abs_ge, np.copysign(self.abs_ge, v) + v, v)
        if self.python_float:
            return float(v)
        return np.asarray(v, dtype=np.float64)

    def __repr__(self):
        out = "float" if self.python_float else "x".join(map(str, self.shape)) if self.shape else "0d"
        if (self.lo, self.hi) != (-2.0, 2.0):
            out += f"[{self.lo:g},{self.hi:g}]"
        return out + (f"|>={self.abs_ge:g}" if self.abs_ge else "")


def arr(*shape, lo=-2.0, hi=2.0, abs_ge=0.0) -> Draw:
    """A float64 array of this shape (no dimensions: a 0-d array)."""
    return Draw(tuple(shape), lo, hi, False, abs_ge)


def pos(*shape, lo=0.5, hi=2.0) -> Draw:
    """A positive float64 array (domain of log, sqrt ...)."""
    return Draw(tuple(shape), lo, hi)


def unit(*shape) -> Draw:
    """Entries in (-0.9, 0.9) (domain of arcsin, arctanh ...)."""
    return Draw(tuple(shape), -0.9, 0.9)


def flt(lo=-2.0, hi=2.0, abs_ge=0.0) -> Draw:
    """A Python float."""
    return Draw((), lo, hi, True, abs_ge)


def as_float(draw_fn) -> Draw:
    """A Python float from the domain of an array-making function (`pos`, `unit` ...)."""
    d = draw_fn()
    return Draw((), d.lo, d.hi, True, d.abs_ge)


def _draw(a, rng):
    if isinstance(a, Draw):
        return a(rng)
    if isinstance(a, list):
        return [_draw(v, rng) for v in a]
    if isinstance(a, tuple):
        return tuple(_draw(v, rng) for v in a)
    return a


def _describe(a) -> str:
    if isinstance(a, np.ndarray):
        return "x".join(map(str, a.shape)) or "0d"
    if isinstance(a, (list, tuple)):
        br = "[]" if isinstance(a, list) else "()"
        return br[0] + ",".join(_describe(v) for v in a) + br[1]
    if isinstance(a, Draw):
        return repr(a)
    if callable(a):
        return callable_name(a)
    return repr(a) if len(repr(a)) <= 12 else type(a).__name__


def fn_name(fn) -> str:
    """`np.sin`, `operator.add`, `ndarray.sum`, `np.add.outer` (a method of a ufunc names the ufunc)."""
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, np.ufunc):
        return f"np.{owner.__name__}.{fn.__name__}"
    return callable_name(fn).replace("numpy.", "np.")


@dataclass(frozen=True)
class RuleSpec:
    """One check of the rule of `fn`: `check_rrule(fn, *args, **kwargs, **tol)`."""
    fn: object
    args: object = ()             # a tuple (may hold Draws) or a function rng -> tuple
    kwargs: dict = field(default_factory=dict)
    tol: dict = field(default_factory=dict)   # rtol, atol, eps for check_rrule
    name: str = ""

    @property
    def id(self) -> str:
        if self.name:
            return self.name
        fn = fn_name(self.fn)
        args = "factory" if callable(self.args) else ",".join(_describe(a) for a in self.args)
        kw = ",".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"{fn}({args}{';' + kw if kw else ''})"

    def make_args(self) -> tuple:
        rng = np.random.default_rng(zlib.crc32(self.id.encode()))
        if callable(self.args):
            return tuple(self.args(rng))
        return _draw(tuple(self.args), rng)


def spec(fn, *args, name="", tol=None, **kwargs) -> RuleSpec:
    """Shorthand: `spec(np.sum, arr(3, 4), axis=0)`."""
    return RuleSpec(fn, tuple(args), dict(kwargs), dict(tol or {}), name)


def drawn(fn, factory, name="", tol=None, **kwargs) -> RuleSpec:
    """A spec whose arguments come from `factory(rng) -> tuple` (booleans, fixed values, ties ...)."""
    return RuleSpec(fn, factory, dict(kwargs), dict(tol or {}), name)


def merge_tables(*tables) -> list:
    """One list from several tables; two entries with the same id are an error (name one of them)."""
    out, seen = [], {}
    for table in tables:
        for s in table:
            if s.id in seen:
                raise ValueError(f"two rule specs have the id {s.id!r}; give one of them a name=")
            seen[s.id] = s
            out.append(s)
    return out


# ---------------------------------------------------------------------------------------------------------------
# NumPy elementwise (irgrad/rules/elementwise.py)

# unary ufuncs with the domain to draw from: (fn, draw for a shape)
_UNARY_DOMAINS = [
    (np.negative, arr), (np.positive, arr), (np.square, arr), (np.sqrt, pos), (np.reciprocal, pos),
    (np.exp, arr), (np.exp2, arr), (np.expm1, arr), (np.log, pos), (np.log2, pos), (np.log10, pos),
    (np.log1p, pos), (np.sin, arr), (np.cos, arr), (np.tan, unit), (np.arcsin, unit), (np.arccos, unit),
    (np.arctan, arr), (np.sinh, arr), (np.cosh, arr), (np.tanh, arr), (np.arcsinh, arr),
    (np.arccosh, lambda *s: arr(*s, lo=1.2, hi=3.0)), (np.arctanh, unit), (np.deg2rad, arr), (np.radians, arr),
    (np.rad2deg, arr), (np.degrees, arr), (np.sinc, arr),
    (np.cbrt, lambda *s: arr(*s, abs_ge=0.3)), (np.fabs, lambda *s: arr(*s, abs_ge=0.1)),
    (np.absolute, lambda *s: arr(*s, abs_ge=0.1)), (np.conjugate, arr), (np.real, arr), (np.imag, arr),
    (np.angle, arr),
]

ELEMENTWISE = [spec(fn, draw(3, 4)) for fn, draw in _UNARY_DOMAINS]
ELEMENTWISE += [spec(fn, draw()) for fn, draw in _UNARY_DOMAINS]                # 0-d arrays
ELEMENTWISE += [spec(fn, as_float(draw)) for fn, draw in _UNARY_DOMAINS]       # Python floats

# binary ufuncs: same shapes, broadcasting both ways, a Python float on either side
_BINARY_DOMAINS = [
    (np.add, arr, arr), (np.subtract, arr, arr), (np.multiply, arr, arr), (np.true_divide, arr, pos),
    (np.power, pos, arr), (np.float_power, pos, arr), (np.arctan2, arr, pos), (np.hypot, arr, arr),
    (np.logaddexp, arr, arr), (np.logaddexp2, arr, arr), (np.maximum, arr, arr), (np.minimum, arr, arr),
    (np.fmax, arr, arr), (np.fmin, arr, arr), (np.copysign, lambda *s: arr(*s, abs_ge=0.1), arr),
    (np.remainder, arr, lambda *s: pos(*s, lo=0.7, hi=1.3)), (np.fmod, arr, lambda *s: pos(*s, lo=0.7, hi=1.3)),
]
for fn, da, db in _BINARY_DOMAINS:
    ELEMENTWISE += [spec(fn, da(3, 4), db(3, 4)), spec(fn, da(3, 4), db(4)), spec(fn, da(2, 1, 3), db(4, 1)),
                    spec(fn, da(3, 1), db()), spec(fn, as_float(da), db(2, 3)), spec(fn, da(2, 3), as_float(db)),
                    spec(fn.outer, da(3), db(2, 2)), spec(fn.outer, da(2, 1), as_float(db))]
ELEMENTWISE += [
    drawn(np.maximum, lambda rng: (np.array([1.0, 2.0, -3.0]), np.array([1.0, 0.5, -3.0])), name="numpy.maximum(ties)"),
    drawn(np.fmin, lambda rng: (np.array([1.0, np.nan, -3.0]), np.array([1.0, 0.5, np.nan])), name="numpy.fmin(nan)"),
    spec(np.power, pos(3, 4), 3), spec(np.power, arr(3, 4), 2),
    drawn(np.where, lambda rng: (rng.uniform(size=(3, 4)) > 0.5, rng.normal(size=(3, 4)), rng.normal(size=(4,)))),
    drawn(np.where, lambda rng: (rng.uniform(size=(3, 1)) > 0.5, rng.normal(size=(3, 4)), 1.5),
         name="numpy.where(scalar branch)"),
    drawn(np.where, lambda rng: (rng.uniform(size=5) > 0.5,), name="numpy.where(one argument)"),
    spec(np.clip, arr(3, 4), -0.5, 0.5), spec(np.clip, arr(3, 4), arr(4, lo=-1.0, hi=-0.2), arr(3, 1, lo=0.2, hi=1.0)),
    spec(np.clip, arr(3, 4), None, 0.3), spec(np.clip, arr(5), -0.3, None),
    spec(np.clip, arr(5), a_min=-0.4, a_max=0.4),
    spec(np.clip, arr(5), -0.2, a_max=0.4),
    spec(np.ndarray.clip, arr(3, 4), -0.5, 0.5), spec(np.ndarray.clip, arr(3, 4), arr(4, lo=-1.0, hi=-0.2)),
    spec(np.ndarray.clip, arr(3, 4), max=0.1),
    spec(np.ndarray.conj, arr(3, 4)), spec(np.ndarray.conjugate, arr(2, 3)), spec(np.ndarray.copy, arr(3, 4)),
    spec(np.ndarray.copy, arr(3, 4), "F"),
    spec(np.ndarray.astype, arr(3, 4), np.float64), spec(np.ndarray.astype, arr(3, 4), np.complex128),
    spec(np.ndarray.astype, arr(3, 4), np.int64), spec(np.ndarray.astype, arr(2, 2), "float64"),
    spec(np.ndarray.item, arr(1, 1)), spec(np.ndarray.item, arr(3, 4), 5), spec(np.ndarray.item, arr(3, 4), -1),
    spec(np.ndarray.item, arr(3, 4), (1, 2)), spec(np.ndarray.item, arr(3, 4), 2, 3),
    spec(np.ndarray.tolist, arr(3, 4)), spec(np.ndarray.tolist, arr(5)), spec(np.ndarray.tolist, arr()),
    spec(np.exp, arr(2, 3), dtype=np.float64), spec(np.add, arr(2, 3), arr(3), dtype=np.float64),
]

# ---------------------------------------------------------------------------------------------------------------
# Python operators and builtins (irgrad/rules/operators.py)

_OPERATOR_DOMAINS = [
    (operator.add, arr, arr), (operator.sub, arr, arr), (operator.mul, arr, arr), (operator.truediv, arr, pos),
    (operator.pow, pos, arr), (operator.mod, arr, lambda *s: pos(*s, lo=0.7, hi=1.3)),
    (operator.floordiv, arr, lambda *s: pos(*s, lo=0.7, hi=1.3)),
]
_INPLACE = {operator.add: operator.iadd, operator.sub: operator.isub, operator.mul: operator.imul,
            operator.truediv: operator.itruediv, operator.pow: operator.ipow, operator.mod: operator.imod,
            operator.floordiv: operator.ifloordiv}
OPERATORS = []
for fn, da, db in _OPERATOR_DOMAINS:
    fa, fb = as_float(da), as_float(db)
    OPERATORS += [spec(fn, da(3, 4), db(3, 4)), spec(fn, da(3, 4), db(4)), spec(fn, da(2, 1, 3), db(4, 1)),
                  spec(fn, fa, db(2, 3)), spec(fn, da(2, 3), fb), spec(fn, fa, fb), spec(fn, da(), db()),
                  spec(fn, da(3), 2), spec(fn, 3, db(3))]
    # in place: the same as the plain form when the left operand is not a float array
    OPERATORS += [spec(_INPLACE[fn], fa, fb), spec(_INPLACE[fn], fa, db(3, 2)), spec(_INPLACE[fn], 2, db(3))]
OPERATORS += [
    spec(operator.pow, arr(3, abs_ge=0.2), 2), spec(operator.pow, flt(abs_ge=0.2), 3), spec(operator.pow, 2, flt()),
    spec(operator.matmul, arr(3, 4), arr(4, 2)), spec(operator.matmul, arr(3, 4), arr(4)),
    spec(operator.matmul, arr(3), arr(3, 4)), spec(operator.matmul, arr(4), arr(4)),
    spec(operator.matmul, arr(2, 1, 3, 4), arr(5, 4, 2)), spec(operator.matmul, arr(2, 3, 4), arr(4)),
    spec(operator.matmul, arr(4), arr(2, 4, 3)),
    spec(operator.imatmul, [1.5, -0.5, 2.0], arr(3, 2)), spec(operator.imatmul, 3 * [[1.0, 2.0]], arr(2, 2)),
    spec(operator.neg, arr(3, 4)), spec(operator.neg, flt()), spec(operator.neg, arr()),
    spec(operator.pos, arr(3, 4)), spec(operator.pos, flt()),
    spec(operator.abs, arr(3, 4, abs_ge=0.1)), spec(operator.abs, flt(abs_ge=0.1)),
    spec(abs, arr(3, 4, abs_ge=0.1)), spec(abs, flt(abs_ge=0.1)), spec(abs, arr(abs_ge=0.1)),
    spec(pow, pos(3), arr(3)), spec(pow, flt(0.5, 2.0), flt()), spec(pow, flt(abs_ge=0.3), 3), spec(pow, 5, 3, 7),
    spec(float, flt()), spec(float, arr()), spec(float, 3), spec(float, "2.5"),
    drawn(float, lambda rng: (np.float64(rng.normal()),), name="float(np.float64)"),
    spec(complex, flt()), spec(complex, flt(), flt()), spec(complex, arr(), 2),
    spec(sum, arr(5)), spec(sum, arr(3, 4)), spec(sum, arr(5), flt()), spec(sum, arr(3, 4), arr(2, 1, 4)),
    spec(sum, (1.0, 2.0), flt(), name="sum(tuple,start)"),
    spec(max, flt(), flt(), flt()), spec(max, arr(6)), spec(max, flt(), 2), spec(max, arr(6), key=abs),
    spec(min, flt(), flt(), flt()), spec(min, arr(6)), spec(min, arr(6), key=abs), spec(min, 1, flt()),
    spec(divmod, flt(), flt(0.7, 1.3)), spec(divmod, flt(), 2), spec(sorted, arr(6)),
    spec(sorted, arr(6), key=abs, reverse=True),
]

# ---------------------------------------------------------------------------------------------------------------
# The math module (irgrad/rules/pymath.py): Python floats

_MATH_DOMAINS = [
    (math.sin, flt()), (math.cos, flt()), (math.tan, flt(-1.0, 1.0)), (math.asin, flt(-0.9, 0.9)),
    (math.acos, flt(-0.9, 0.9)), (math.atan, flt()), (math.sinh, flt()), (math.cosh, flt()), (math.tanh, flt()),
    (math.asinh, flt()), (math.acosh, flt(1.2, 3.0)), (math.atanh, flt(-0.9, 0.9)), (math.exp, flt()),
    (math.exp2, flt()), (math.expm1, flt()), (math.log1p, flt(0.5, 2.0)), (math.log2, flt(0.5, 2.0)),
    (math.log10, flt(0.5, 2.0)), (math.sqrt, flt(0.5, 2.0)), (math.cbrt, flt(abs_ge=0.3)), (math.erf, flt()),
    (math.erfc, flt()), (math.fabs, flt(abs_ge=0.1)), (math.degrees, flt()), (math.radians, flt()),
]
PYMATH = [spec(fn, d) for fn, d in _MATH_DOMAINS] + [spec(fn, 1) for fn, _ in _MATH_DOMAINS[:3]] + [
    spec(math.log, flt(0.5, 2.0)), spec(math.log, flt(0.5, 2.0), flt(1.5, 3.0)), spec(math.log, flt(0.5, 2.0), 10),
    spec(math.pow, flt(0.5, 2.0), flt()), spec(math.pow, flt(abs_ge=0.2), 3), spec(math.atan2, flt(), flt()),
    spec(math.atan2, flt(), 1), spec(math.copysign, flt(abs_ge=0.1), flt(abs_ge=0.1)),
    spec(math.fmod, flt(), flt(0.7, 1.3)), spec(math.hypot, flt(), flt()), spec(math.hypot, flt(), flt(), flt()),
    spec(math.hypot, flt()), spec(math.fsum, arr(5)),
    drawn(math.exp, lambda rng: (np.float64(rng.normal()),), name="math.exp(np.float64)"),
]

# ---------------------------------------------------------------------------------------------------------------
# Reductions (irgrad/rules/reductions.py): axis int, negative, tuple, None; keepdims; methods

_AXES = [{}, {"axis": 0}, {"axis": -1}, {"axis": (0, 2)}, {"axis": 1, "keepdims": True},
         {"axis": None, "keepdims": True}]
REDUCTIONS = []
for fn in [np.sum, np.ndarray.sum, np.mean, np.ndarray.mean, np.prod, np.ndarray.prod, np.max, np.amax,
           np.ndarray.max, np.min, np.amin, np.ndarray.min, np.var, np.ndarray.var, np.std, np.ndarray.std]:
    REDUCTIONS += [spec(fn, arr(2, 3, 4), **kw) for kw in _AXES] + [spec(fn, arr(5))]
REDUCTIONS += [
    spec(np.sum, arr(3, 4), 1), spec(np.ndarray.sum, arr(3, 4), 0), spec(np.sum, flt()), spec(np.sum, arr()),
    spec(np.sum, arr(3, 4), initial=2.0), spec(np.mean, arr(3, 4), (0, 1)), spec(np.max, arr(3, 4), 1),
    drawn(np.prod, lambda rng: (np.array([[1.5, 0.0, 2.0], [0.0, 0.0, 3.0]]),), name="numpy.prod(zeros)"),
    drawn(np.prod, lambda rng: (np.array([[1.5, 0.0, 2.0], [0.0, 0.5, 3.0]]),), axis=1,
          name="numpy.prod(zeros;axis=1)"),
    spec(np.prod, arr(3, 4), initial=1.5),
    # ties share dy equally: central differences agree (half the elements' step moves the maximum)
    drawn(np.max, lambda rng: (np.array([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]]),), name="numpy.max(ties)"),
    drawn(np.min, lambda rng: (np.array([[1.0, 3.0, 1.0], [2.0, 2.0, 5.0]]),), axis=1, name="numpy.min(ties;axis=1)"),
    spec(np.max, arr(3, 4), initial=-5.0),
    spec(np.var, arr(3, 4), ddof=1), spec(np.std, arr(3, 4), axis=0, ddof=1), spec(np.ndarray.var, arr(3, 4), 1, None,
                                                                                    None, 1),
    spec(np.var, arr(3, 4), axis=1, correction=1),
    spec(np.cumsum, arr(3, 4)), spec(np.cumsum, arr(3, 4), axis=0), spec(np.cumsum, arr(2, 3, 4), -1),
    spec(np.ndarray.cumsum, arr(3, 4), 1), spec(np.cumprod, arr(3, 4)), spec(np.cumprod, arr(3, 4), axis=1),
    spec(np.ndarray.cumprod, arr(2, 3, 4), 0),
    drawn(np.cumprod, lambda rng: (np.array([[1.5, 0.0, 2.0, -1.0], [0.0, 0.5, 0.0, 3.0]]),), axis=1,
          name="numpy.cumprod(zeros;axis=1)"),
    spec(np.average, arr(3, 4)), spec(np.average, arr(3, 4), 0), spec(np.average, arr(3, 4), 1, pos(4)),
    spec(np.average, arr(3, 4), None, pos(3, 4)), spec(np.average, arr(3, 4), 0, pos(3), True),
    spec(np.average, arr(3, 4), axis=1, keepdims=True),
]
REDUCTIONS += [spec(uf.reduce, arr(3, 4)) for uf in (np.add, np.multiply, np.maximum, np.minimum, np.fmax, np.fmin)]
REDUCTIONS += [spec(np.add.reduce, arr(2, 3, 4), axis=(0, 2), keepdims=True), spec(np.multiply.reduce, arr(3, 4), 1),
               spec(np.maximum.reduce, arr(2, 3), axis=None), spec(np.add.accumulate, arr(3, 4)),
               spec(np.add.accumulate, arr(3, 4), 1), spec(np.multiply.accumulate, arr(3, 4)),
               spec(np.multiply.accumulate, arr(2, 3), axis=-1)]
_NORMS = [{}, {"ord": 2}, {"ord": 1}, {"ord": np.inf}, {"ord": -np.inf}, {"ord": 3}, {"ord": 0.5}, {"ord": 0}]
REDUCTIONS += [spec(np.linalg.norm, arr(5, abs_ge=0.1), **kw) for kw in _NORMS]
REDUCTIONS += [spec(np.linalg.norm, arr(3, 4, abs_ge=0.1), **kw)
               for kw in [{}, {"ord": "fro"}, {"ord": 1}, {"ord": -1}, {"ord": np.inf}, {"ord": -np.inf},
                          {"ord": 2}, {"ord": -2}, {"ord": "nuc"}, {"axis": 1}, {"axis": -2, "ord": 1},
                          {"axis": 0, "keepdims": True}, {"keepdims": True}]]
REDUCTIONS += [spec(np.linalg.norm, arr(2, 3, 4, abs_ge=0.1), **kw)
               for kw in [{}, {"axis": (1, 2)}, {"axis": (2, 0), "ord": 1}, {"axis": (0, 1), "ord": "nuc"},
                          {"axis": (1, 2), "ord": 2, "keepdims": True}, {"axis": 2, "ord": np.inf}]]
REDUCTIONS += [spec(np.linalg.norm, arr(3, 4, abs_ge=0.1), 1, 0), spec(np.linalg.norm, flt(abs_ge=0.1))]

# ---------------------------------------------------------------------------------------------------------------
# The IR's own operations (rules in irgrad/rules/containers.py and iteration.py), checked where `check_rrule` can
# perturb an argument.  The others take or return iterators, cells, functions, sets or dicts, or mutate their
# argument (so repeated calls do not evaluate the same function), which it cannot handle;
# they are named in COVERED_BY_GRADIENT_TESTS (the whole-function gradient tests exercise them), so that a new
# rule still needs a spec or a deliberate entry there.

PLUMBING = [
    spec(ops.build_tuple, flt(), arr(3)), spec(ops.build_list, arr(2, 2), flt(), 3),
    spec(getattr, arr(3, 4), "T"), spec(ops.unpack_sequence, arr(3), 3), spec(ops.unpack_sequence, arr(3, 2), 3),
    spec(ops.unpack_ex, arr(5), 1, 2), spec(list, arr(3)), spec(list, arr(3, 2)), spec(tuple, arr(4)),
    spec(np.float64, flt()), spec(np.complex128, flt()),
    spec(np.float32, flt(), tol={"eps": 1e-2, "rtol": 1e-4, "atol": 1e-4}),
    spec(np.complex64, flt(), tol={"eps": 1e-2, "rtol": 1e-4, "atol": 1e-4}),
    spec(np.float16, flt(), tol={"eps": 0.25, "rtol": 1e-2, "atol": 1e-2}),
]

COVERED_BY_GRADIENT_TESTS = {
    ops.build_dict, ops.build_set, ops.call_ex, ops.cell_get, ops.new_cell, ops.freevar, ops.make_function,
    ops.dict_setitem, ops.dict_update, ops.dict_merge, ops.list_to_tuple, ops.list_append, ops.list_extend,
    ops.next_or_stop, dict.get, dict.items, dict.values, iter, enumerate, zip, reversed,
    # vectorised loops (tests/test_loops.py checks them with check_rrule and through whole gradients)
    sequences.float_columns, sequences.entry_float_columns, sequences.seq_sum, sequences.seq_diff, sequences.seq_pow,
    sequences.seq_sum_pow,
    sequences.seq_diff_pow, sequences.seq_map,
    # fused idioms (tests/test_idioms.py checks them with check_rrule and through whole gradients)
    fused.sigmoid, fused.sigmoid_math, fused.softmax, fused.logsoftmax, fused.log_softmax_pick, fused.cross_entropy,
    fused.logit_cross_entropy, fused.logsoftmax_shifted,
}

SPECS: list = merge_tables(ELEMENTWISE, OPERATORS, PYMATH, REDUCTIONS, PLUMBING)


# ---------------------------------------------------------------------------------------------------------------
# Complex arguments: `check_rrule` perturbs along the reals only, so complex cotangents are checked here.  With
# the bilinear pairing Re(sum(dx * t)), a step t = eps along the reals measures Re(dx) and a step t = i eps
# measures -Im(dx).


def _pair(dy, y) -> float:
    return float(np.real(np.sum(np.asarray(dy) * np.asarray(y))))


def check_complex_rrule(fn, *args, rtol=1e-6, atol=1e-6, eps=1e-6, seed=0, **kwargs):
    """Check the rule of `fn` at arguments some of which are complex, against central differences taken along
    the real and the imaginary direction of every element."""
    from irgrad.rules.registry import lookup
    from irgrad.testing import assert_close
    rule, _ = lookup(fn)
    y, pullback = rule(*args, **kwargs)
    assert_close(y, fn(*args, **kwargs), 1e-12, 1e-12, what="primal")
    rng = np.random.default_rng(seed)
    shape = np.shape(y)
    dy = rng.standard_normal(shape) + (1j * rng.standard_normal(shape) if np.iscomplexobj(y) else 0.0)
    if not shape:
        dy = complex(dy) if np.iscomplexobj(y) else float(dy)
    dxs = pullback(dy)
    assert len(dxs) == len(args)
    for i, x in enumerate(args):
        if not np.iscomplexobj(x):
            continue
        base = np.array(x, dtype=complex, order="C")
        expected = np.zeros_like(base)
        for j in range(base.size):
            for step, part in ((eps, 1.0), (1j * eps, -1j)):
                vals = []
                for sgn in (1, -1):
                    xj = base.copy()
                    xj.reshape(-1)[j] += sgn * step
                    a = list(args)
                    a[i] = complex(xj) if not isinstance(x, np.ndarray) else xj
                    vals.append(_pair(dy, fn(*a, **kwargs)))
                expected.reshape(-1)[j] += part * (vals[0] - vals[1]) / (2 * eps)
        assert np.shape(dxs[i]) == np.shape(x), f"cotangent {i} has shape {np.shape(dxs[i])}"
        assert np.iscomplexobj(dxs[i]), f"cotangent {i} of a complex argument is real: {dxs[i]!r}"
        assert_close(dxs[i], expected, rtol, atol, what=f"complex cotangent {i} of {fn!r}")
