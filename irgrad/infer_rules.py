"""The tables of type inference (see `infer.py`): the callables whose result type comes from calling them on
specimens, and the rules for the callables that need their own answer.

A rule is `rule(inf, args, kwargs) -> Type`, called with the argument types (a `Constant` where the operand is a
constant) and the `infer._Inference` asking, for rules that must look further (a call through `call_ex`, an
attribute).  A specimen is a tiny value of a type: every dimension of an array is 1, a number is `unit`.
"""
from __future__ import annotations

import builtins
import math
import operator
import types as _pytypes
import warnings

import numpy as np

from . import ops
from .types import (ANY, Array, Constant, Dict, Instance, Iterator, List, Scalar, Tuple, Type, bool_, int_, join,
                    join_all, none, str_, typeof)

_IMMUTABLE = (bool, int, float, complex, str, bytes, type(None), slice, type(Ellipsis), np.generic)


def const_type(value) -> Type:
    """The type of a constant operand: small immutable values and callables, modules and classes stay
    `Constant`; arrays and other objects get the type of their value."""
    if isinstance(value, _IMMUTABLE) or (isinstance(value, tuple) and all(isinstance(v, _IMMUTABLE) for v in value)):
        return Constant(value)
    if callable(value) or isinstance(value, (_pytypes.ModuleType, np.random.Generator, np.random.RandomState)):
        return Constant(value)
    return typeof(value)


def value_type(t: Type) -> Type:
    """A `Constant` holding data seen as the type of its value (Constant(1.0) -> float)."""
    if isinstance(t, Constant) and not callable(t.value) and not isinstance(t.value, _pytypes.ModuleType):
        return typeof(t.value)
    return t


# ---------------------------------------------------------------------------------------------------------------
# Specimens

class _NoSpecimen(Exception):
    pass


def specimen_ok(f) -> bool:
    if isinstance(f, np.ufunc):
        return True
    try:
        if f in SPECIMEN_OK:
            return True
    except TypeError:
        return False
    return False


def specimen(t: Type, unit: int = 1, unknown_ndim: int = 2):
    """A tiny value of type `t`: arrays with every dimension 1 filled with `unit`, numbers equal to `unit`."""
    if isinstance(t, Constant):
        return t.value
    if isinstance(t, Array):
        return np.full((1,) * (unknown_ndim if t.ndim is None else t.ndim), unit, dtype=t.dtype)
    if isinstance(t, Scalar):
        p = t.pytype
        if p is type(None):
            return None
        if p is str:
            return "a"
        if p is bool or (isinstance(p, type) and issubclass(p, np.bool_)):
            return p(True)
        return p(unit)
    if isinstance(t, Tuple):
        return tuple(specimen(e, unit) for e in t.elts)
    if isinstance(t, List):
        return [specimen(t.elt, unit)]
    raise _NoSpecimen


def _has_unknown_ndim(t: Type) -> bool:
    if isinstance(t, Array):
        return t.ndim is None
    if isinstance(t, Tuple):
        return any(_has_unknown_ndim(e) for e in t.elts)
    if isinstance(t, List):
        return _has_unknown_ndim(t.elt)
    return False


def _forget_ndim(t: Type) -> Type:
    if isinstance(t, Array):
        return Array(t.dtype, None)
    if isinstance(t, (Tuple, List)):
        return ANY  # a shape tuple or a list of unknown length
    return t


_SPECIMEN_CACHE: dict = {}
_CACHE_LIMIT = 20000


def specimen_call(f, args: list, kwargs: dict, unit: int = 1) -> Type:
    """The type of `f(*args, **kwargs)` found by calling `f` on specimens of the argument types."""
    key = (f, tuple(args), tuple(sorted(kwargs.items(), key=lambda kv: kv[0])), unit)
    try:
        return _SPECIMEN_CACHE[key]
    except KeyError:
        pass
    except TypeError:
        key = None
    t = _specimen_call(f, args, kwargs, unit)
    if key is not None:
        if len(_SPECIMEN_CACHE) > _CACHE_LIMIT:
            _SPECIMEN_CACHE.clear()
        _SPECIMEN_CACHE[key] = t
    return t


def _specimen_call(f, args, kwargs, unit) -> Type:
    if f in (min, max) and len(args) > 1 and not kwargs:
        # the result is one of the arguments, which one depends on the values: min(1, 2.5) is an int,
        # min(3, 2.5) a float (a specimen call would see only the first)
        ts = [value_type(a) for a in args]
        if all(isinstance(t, Scalar) for t in ts):
            return join_all(ts)
    try:
        vals = [specimen(a, unit) for a in args]
        kw = {k: specimen(v, unit) for k, v in kwargs.items()}
    except _NoSpecimen:
        return ANY
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = f(*vals, **kw)
    except Exception:
        return ANY
    t = _result_type(r)
    if any(_has_unknown_ndim(a) for a in args) or any(_has_unknown_ndim(v) for v in kwargs.values()):
        t = _forget_ndim(t)
    return t


def _result_type(r) -> Type:
    """The type of a specimen result: only data types (a callable or an object made from a specimen says nothing
    about the real call)."""
    t = typeof(r)
    if isinstance(t, (Scalar, Array)):
        return t
    if isinstance(t, Tuple) and all(isinstance(e, (Scalar, Array)) for e in t.elts):
        return t
    if isinstance(t, List) and isinstance(t.elt, (Scalar, Array)):
        return t
    return ANY


# ---------------------------------------------------------------------------------------------------------------
# The tables

_NP_SPECIMEN = (
    # reductions and scans
    "sum", "mean", "prod", "max", "min", "amax", "amin", "std", "var", "argmax", "argmin", "any", "all", "cumsum",
    "cumprod", "median", "average", "nansum", "nanmean", "ptp", "count_nonzero",
    # linear algebra and products
    "dot", "matmul", "outer", "inner", "tensordot", "einsum", "trace", "diag", "vdot", "kron", "cross",
    # shapes that do not depend on values
    "transpose", "swapaxes", "moveaxis", "expand_dims", "ravel", "concatenate", "stack", "hstack", "vstack",
    "broadcast_to", "tile", "repeat", "flip", "atleast_1d", "atleast_2d", "atleast_3d", "diff",
    # elementwise functions that are not ufuncs
    "where", "clip", "round", "around", "polyval", "real", "imag", "angle", "nan_to_num", "isclose",
    # creation
    "zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like", "full_like", "eye", "identity",
    "arange", "linspace", "asarray", "array", "copy", "ascontiguousarray", "sort", "argsort", "cov",
)
_LINALG = ("norm", "inv", "det", "solve", "slogdet", "cholesky", "pinv", "eigh", "svd", "qr", "matrix_power")
_NDARRAY_METHODS = (
    "sum", "mean", "prod", "max", "min", "std", "var", "argmax", "argmin", "any", "all", "cumsum", "cumprod",
    "dot", "transpose", "swapaxes", "copy", "astype", "clip", "flatten", "ravel", "round", "conj", "conjugate",
    "item", "trace", "diagonal", "__getitem__",
)
_PY_SPECIMEN = (abs, round, min, max, divmod, pow, sum, float, int, bool, complex)
_OPERATORS = (
    "add", "sub", "mul", "matmul", "truediv", "floordiv", "mod", "pow", "neg", "pos", "abs", "invert", "not_",
    "lt", "le", "eq", "ne", "gt", "ge", "and_", "or_", "xor", "lshift", "rshift", "truth",
    "iadd", "isub", "imul", "imatmul", "itruediv", "ifloordiv", "imod", "ipow", "iand", "ior", "ixor",
)

SPECIMEN_OK = set(_PY_SPECIMEN)
SPECIMEN_OK |= {getattr(operator, n) for n in _OPERATORS}
SPECIMEN_OK |= {getattr(np, n) for n in _NP_SPECIMEN if hasattr(np, n)}
SPECIMEN_OK |= {getattr(np.linalg, n) for n in _LINALG}
SPECIMEN_OK |= {getattr(np.ndarray, n) for n in _NDARRAY_METHODS}
SPECIMEN_OK |= {getattr(math, n) for n in dir(math) if callable(getattr(math, n)) and not n.startswith("_")}

# Drawing from a random generator: the specimen call goes to a fresh generator of the same kind, never the user's.
_RANDOM = ("normal", "uniform", "standard_normal", "randn", "rand", "random", "integers", "randint", "choice",
           "permutation", "random_sample", "binomial", "poisson", "exponential")


def specimen_method_ok(f) -> bool:
    owner = getattr(f, "__self__", None)
    return isinstance(owner, (np.random.Generator, np.random.RandomState)) and getattr(f, "__name__", "") in _RANDOM


def random_call(f, args, kwargs):
    fresh = np.random.default_rng(0) if isinstance(f.__self__, np.random.Generator) else np.random.RandomState(0)
    return specimen_call(getattr(fresh, f.__name__), args, kwargs)


def element_type(t: Type) -> Type:
    """The type of the items of an iterable of type `t`."""
    t = value_type(t)
    if isinstance(t, List):
        return t.elt
    if isinstance(t, Tuple):
        return join_all(t.elts)
    if isinstance(t, Iterator):
        return t.elt
    if isinstance(t, Dict):
        return t.key
    if isinstance(t, Array):
        if t.ndim is None:
            return ANY
        return Scalar(np.dtype(t.dtype).type) if t.ndim == 1 else Array(t.dtype, t.ndim - 1)
    if isinstance(t, Instance) and t.cls is range:
        return int_
    if isinstance(t, Scalar) and t.pytype is str:
        return str_
    return ANY


def _getitem(inf, args, kwargs):
    if len(args) != 2:
        return ANY
    c, i = value_type(args[0]), args[1]
    idx = i.value if isinstance(i, Constant) else None
    if isinstance(c, Tuple):
        if type(idx) is int and -len(c.elts) <= idx < len(c.elts):
            return c.elts[idx]
        if isinstance(idx, slice):
            return Tuple(c.elts[idx])
        return join_all(c.elts)
    if isinstance(c, List):
        return c if isinstance(idx, slice) else c.elt
    if isinstance(c, Dict):
        return c.value
    if isinstance(c, (Array, Scalar)):
        # Specimen arrays have every dimension 1: constant integer indices become 0, which fits.
        if isinstance(i, Constant):
            i = Constant(_zero_ints(i.value))
        return specimen_call(operator.getitem, [c, i], {}, unit=0)
    return ANY


def _zero_ints(index):
    if isinstance(index, tuple):
        return tuple(_zero_ints(x) for x in index)
    return 0 if type(index) is int else index


def _getattr(inf, args, kwargs):
    if len(args) == 2 and isinstance(args[1], Constant) and isinstance(args[1].value, str):
        return inf.getattr(args[0], args[1].value)
    return ANY


def _reshape_ndim(inf, args, kwargs):
    """`np.reshape(x, shape)` and `x.reshape(*shape)`: the ndim is the length of the shape."""
    x = value_type(args[0]) if args else ANY
    shape = args[1:] if len(args) != 2 else [args[1]]
    if "shape" in kwargs or "newshape" in kwargs:
        shape = [kwargs.get("shape", kwargs.get("newshape"))]
    if not isinstance(x, Array):
        return ANY
    if len(shape) == 1:
        s = value_type(shape[0])
        if isinstance(s, Tuple):
            return Array(x.dtype, len(s.elts))
        if isinstance(s, Scalar) and s.pytype in (int, np.int64):
            return Array(x.dtype, 1)
        return Array(x.dtype, None)
    return Array(x.dtype, len(shape))


def _squeeze(inf, args, kwargs):
    x = value_type(args[0]) if args else ANY
    axis = args[1] if len(args) > 1 else kwargs.get("axis")
    if not isinstance(x, Array):
        return ANY
    if isinstance(axis, Constant) and x.ndim is not None:
        n = len(axis.value) if isinstance(axis.value, tuple) else 1
        return Array(x.dtype, x.ndim - n)
    return Array(x.dtype, None)


def _iter(inf, args, kwargs):
    return Iterator(element_type(args[0])) if len(args) == 1 else ANY


def _next_or_stop(inf, args, kwargs):
    # The STOP marker only ever reaches the loop's exit test (`next_or_stop(it) is STOP`): the loop body sees items.
    return element_type(args[0])


def _unpack_sequence(inf, args, kwargs):
    x, n = value_type(args[0]), args[1]
    if not isinstance(n, Constant) or type(n.value) is not int:
        return ANY
    if isinstance(x, Tuple):
        return x if len(x.elts) == n.value else ANY
    e = element_type(x)
    return Tuple((e,) * n.value)


def _list_append(inf, args, kwargs):
    lst = value_type(args[0])
    return List(join(lst.elt, value_type(args[1]))) if isinstance(lst, List) else ANY


def _build_dict(inf, args, kwargs):
    keys, values = args[0::2], args[1::2]
    return Dict(join_all([value_type(k) for k in keys]), join_all([value_type(v) for v in values])) if args \
        else Dict(ANY, ANY)


def _call_ex(inf, args, kwargs):
    f, pos = args[0], value_type(args[1]) if len(args) > 1 else Tuple(())
    kw = value_type(args[2]) if len(args) > 2 else Constant(None)
    if isinstance(pos, Tuple) and (kw == Constant(None) or kw == Dict(ANY, ANY)):
        return inf.call(f, list(pos.elts), {})
    return ANY


def _freevar(inf, args, kwargs):
    f, i = args
    if isinstance(f, Constant) and isinstance(i, Constant) and getattr(f.value, "__closure__", None):
        try:
            v = f.value.__closure__[i.value].cell_contents
        except (IndexError, ValueError, TypeError):
            return ANY
        # A cell can be rebound: its current value is no constant, its type is what we know.
        return typeof(v) if isinstance(v, _IMMUTABLE) else const_type(v)
    return ANY


def _fixed(t):
    return lambda inf, args, kwargs: t


def _sequence_of(kind):
    def rule(inf, args, kwargs):
        if not args:
            return Tuple(()) if kind is tuple else List(ANY)
        x = value_type(args[0])
        if kind is tuple and isinstance(x, Tuple):
            return x
        return List(element_type(x)) if kind is list else ANY
    return rule


def _zip(inf, args, kwargs):
    return Iterator(Tuple(tuple(element_type(a) for a in args)))


def _enumerate(inf, args, kwargs):
    return Iterator(Tuple((int_, element_type(args[0])))) if args else ANY


def _reversed(inf, args, kwargs):
    return Iterator(element_type(args[0])) if args else ANY


RULES = {
    getattr: _getattr,
    operator.getitem: _getitem,
    operator.setitem: _fixed(none), setattr: _fixed(none), operator.delitem: _fixed(none),
    operator.is_: _fixed(bool_), operator.is_not: _fixed(bool_), operator.contains: _fixed(bool_),
    ops.contains: _fixed(bool_), ops.not_contains: _fixed(bool_),
    isinstance: _fixed(bool_), issubclass: _fixed(bool_), hasattr: _fixed(bool_), callable: _fixed(bool_),
    len: _fixed(int_), str: _fixed(str_), repr: _fixed(str_), print: _fixed(none),
    ops.format_value: _fixed(str_), ops.build_string: _fixed(str_),
    ops.build_tuple: lambda inf, args, kwargs: Tuple(tuple(args)),
    ops.build_list: lambda inf, args, kwargs: List(join_all([value_type(a) for a in args])),
    ops.build_dict: _build_dict,
    ops.list_append: _list_append,
    ops.list_extend: lambda inf, args, kwargs: List(join(value_type(args[0]).elt, element_type(args[1])))
    if isinstance(value_type(args[0]), List) else ANY,
    ops.unpack_sequence: _unpack_sequence,
    ops.call_ex: _call_ex,
    ops.freevar: _freevar,
    ops.assert_fail: _fixed(Instance(AssertionError)),
    ops.cell_set: _fixed(none),
    iter: _iter, ops.next_or_stop: _next_or_stop, zip: _zip, enumerate: _enumerate, reversed: _reversed,
    range: _fixed(Instance(range)),
    tuple: _sequence_of(tuple), list: _sequence_of(list),
    list.append: _fixed(none), list.extend: _fixed(none), list.insert: _fixed(none),
    list.pop: lambda inf, args, kwargs: value_type(args[0]).elt if isinstance(value_type(args[0]), List) else ANY,
    np.reshape: _reshape_ndim, np.ndarray.reshape: _reshape_ndim,
    np.squeeze: _squeeze, np.ndarray.squeeze: _squeeze,
    builtins.sorted: lambda inf, args, kwargs: List(element_type(args[0])) if args else ANY,
}
