"""The table of rule specs: which callable, at which inputs, with which keyword arguments and tolerances.

`tests/test_rule_table.py` runs `irgrad.testing.check_rrule` over every entry of `SPECS` here and of `SPECS` in
`tests/rule_specs_shapes.py` (shapes, indexing, linear algebra; merged when that file exists), and checks that
every differentiable callable in the registry has at least one spec.

An entry's `args` is a tuple or a function `rng -> tuple`.  Inside a tuple, a `Draw` (made by `arr`, `pos`,
`flt` ...) is replaced by a random input drawn when the spec runs, from a generator seeded by the spec's name, so
a run is reproducible.  Keep points inside the function's domain and away from kinks (ties of max, zeros of abs).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

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
        if self.python_float:
            return "float"
        return "x".join(map(str, self.shape)) if self.shape else "0d"


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
        fn = callable_name(self.fn).replace("numpy.", "np.")
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


SPECS: list = []  # filled by the tables below, grouped by rule module
