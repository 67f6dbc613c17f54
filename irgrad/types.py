"""Abstract values: what type inference knows about a variable.

`float`, `int`, `bool`, `complex`, `str`, `NoneType`  -> Scalar(pytype)
`ndarray[float64, 2]`                               -> Array(dtype, ndim)
`tuple[float, int]`                                  -> Tuple(elts)
`list[float]`                                        -> List(elt)
`dict`                                               -> Dict(key, value)
an instance of a user class                          -> Instance(cls, attrs)
a value known while tracing (a function, a module)   -> Constant(value)
an iterator, a bound method                          -> Iterator(elt), Method(func, self)
unknown                                              -> ANY

Types are immutable and hashable: they form part of the cache signature.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any as _PyAny

import numpy as np


class Type:
    """Base of all abstract values."""

    def __str__(self) -> str:  # pragma: no cover - every subclass overrides
        return "Any"


@dataclass(frozen=True)
class AnyType(Type):
    def __str__(self) -> str:
        return "Any"


ANY = AnyType()


@dataclass(frozen=True)
class Scalar(Type):
    """A Python scalar (or NumPy scalar) of type `pytype`: float, int, bool, complex, str, NoneType,
    or a NumPy scalar type such as np.float64.  Numbers follow the numeric tower of PEP 484, which `join` uses
    to widen: `float` holds any real number (int, bool, np.float64 ...), `complex` any number, `int` a bool too."""

    pytype: type

    def __str__(self) -> str:
        if self.pytype is type(None):
            return "None"
        return self.pytype.__name__


@dataclass(frozen=True)
class Array(Type):
    """A NumPy ndarray with known dtype (a string such as 'float64') and number of dimensions.  With ndim None
    (unknown) it also holds the NumPy scalars of that dtype, which is what a 0-d operation returns."""

    dtype: str
    ndim: int | None

    def __str__(self) -> str:
        return f"ndarray[{self.dtype}, {'?' if self.ndim is None else self.ndim}]"


@dataclass(frozen=True)
class Tuple(Type):
    elts: tuple  # of Type

    def __str__(self) -> str:
        return "tuple[" + ", ".join(map(str, self.elts)) + "]"


@dataclass(frozen=True)
class List(Type):
    elt: Type

    def __str__(self) -> str:
        return f"list[{self.elt}]"


@dataclass(frozen=True)
class Dict(Type):
    key: Type
    value: Type

    def __str__(self) -> str:
        return f"dict[{self.key}, {self.value}]"


@dataclass(frozen=True)
class Instance(Type):
    """An instance of a user class; `attrs` is a sorted tuple of (name, Type) of its instance attributes,
    known when the type was taken from an example value."""

    cls: type
    attrs: tuple = ()

    def attr(self, name: str) -> Type | None:
        for k, t in self.attrs:
            if k == name:
                return t
        return None

    def __str__(self) -> str:
        return self.cls.__qualname__


@dataclass(frozen=True, eq=False)
class Constant(Type):
    """A value known while tracing (functions, classes, modules, small constants).  Compared by identity for
    unhashable values and by type and value otherwise."""

    value: _PyAny

    def _key(self):
        v = self.value
        try:
            hash(v)
            return (type(v), v)
        except TypeError:
            return (type(v), id(v))

    def __eq__(self, other):
        return isinstance(other, Constant) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __str__(self) -> str:
        v = self.value
        if callable(v) and hasattr(v, "__name__"):
            kind = type(v).__name__
            return kind if kind in ("function", "builtin_function_or_method", "ufunc", "type") else kind
        if isinstance(v, (int, float, complex, str, bool, type(None))):
            return f"Const({v!r})"
        return type(v).__name__


@dataclass(frozen=True)
class Iterator(Type):
    """What `iter(x)` returns: an iterator whose items have type `elt` (for loops read it with `next_or_stop`)."""

    elt: Type

    def __str__(self) -> str:
        return f"iterator[{self.elt}]"


@dataclass(frozen=True)
class Method(Type):
    """A method bound to a value of type `self`: `x.sum` for an ndarray `x` is Method(np.ndarray.sum, Array(...)),
    `layer.forward` is Method(Dense.forward, Instance(Dense, ...)).  Calling it calls `func(self, ...)`."""

    func: _PyAny
    self: Type

    def __str__(self) -> str:
        return "method"


# ---------------------------------------------------------------------------------------------------------------
# Constructors for type specs written by hand: irgrad.types.ndarray("float64", 2), irgrad.types.float_ ...

def ndarray(dtype: str = "float64", ndim: int | None = None) -> Array:
    return Array(np.dtype(dtype).name, ndim)


float_ = Scalar(float)
int_ = Scalar(int)
bool_ = Scalar(bool)
complex_ = Scalar(complex)
str_ = Scalar(str)
none = Scalar(type(None))

_SCALARS = (bool, int, float, complex, str, type(None))
_DTYPE_NAMES: dict = {}
MAX_DEPTH = 5  # a Chain's layers' attributes are at depth 3


def typeof(value, _depth: int = 0) -> Type:
    """The abstract type of a concrete example value.  A `Type` passed in stands for itself."""
    if isinstance(value, Type):
        return value
    t = type(value)
    if t in _SCALARS:
        return Scalar(t)
    if isinstance(value, np.ndarray):
        name = _DTYPE_NAMES.get(value.dtype)
        if name is None:
            name = _DTYPE_NAMES[value.dtype] = value.dtype.name  # dtype.name is slow: called on every signature
        return Array(name, value.ndim)
    if isinstance(value, np.generic):
        return Scalar(t)
    if _depth >= MAX_DEPTH:
        return ANY
    if t is tuple:
        return Tuple(tuple(typeof(v, _depth + 1) for v in value))
    if t is list:
        if value and type(value[0]) in _SCALARS and all(type(v) is type(value[0]) for v in value):
            return List(Scalar(type(value[0])))  # the common case, without a join per element
        return List(join_all([typeof(v, _depth + 1) for v in value]) if value else ANY)
    if t is dict:
        if not value:
            return Dict(ANY, ANY)
        return Dict(join_all([typeof(k, _depth + 1) for k in value]),
                    join_all([typeof(v, _depth + 1) for v in value.values()]))
    if callable(value) and not hasattr(value, "__dict__") or isinstance(value, (type, np.ufunc)) \
            or t.__name__ in ("function", "module", "builtin_function_or_method", "method"):
        return Constant(value)
    d = getattr(value, "__dict__", None)
    if isinstance(d, dict):
        attrs = tuple(sorted((k, typeof(v, _depth + 1)) for k, v in d.items()
                             if isinstance(k, str)))
        return Instance(t, attrs)
    return Instance(t)


def join(a: Type, b: Type) -> Type:
    """The least type holding both (a coarse lattice: equal types join to themselves, else Any,
    with a few widening steps that keep loops informative)."""
    if a == b:
        return a
    if isinstance(a, Array) and isinstance(b, Array) and a.dtype == b.dtype:
        return Array(a.dtype, None)
    if isinstance(a, Scalar) and isinstance(b, Array):
        a, b = b, a
    if isinstance(a, Array) and isinstance(b, Scalar) and np.dtype(a.dtype).type is b.pytype:
        return Array(a.dtype, None)
    if isinstance(a, Scalar) and isinstance(b, Scalar):
        num = (bool, int, float, complex)
        if a.pytype in num and b.pytype in num:
            return Scalar(num[max(num.index(a.pytype), num.index(b.pytype))])
        # A NumPy scalar joins the Python type it subclasses (np.float64 is a float, np.complex128 a complex).
        for p in num[2:]:
            if issubclass(a.pytype, p) and issubclass(b.pytype, p):
                return Scalar(p)
    if isinstance(a, Constant) and isinstance(b, Constant):
        return join(typeof(a.value), typeof(b.value)) if not callable(a.value) else ANY
    if isinstance(a, Constant):
        return join(typeof(a.value), b) if not callable(a.value) else ANY
    if isinstance(b, Constant):
        return join(a, typeof(b.value)) if not callable(b.value) else ANY
    if isinstance(a, Tuple) and isinstance(b, Tuple) and len(a.elts) == len(b.elts):
        return Tuple(tuple(join(x, y) for x, y in zip(a.elts, b.elts)))
    if isinstance(a, List) and isinstance(b, List):
        return List(join(a.elt, b.elt))
    if isinstance(a, Instance) and isinstance(b, Instance) and a.cls is b.cls:
        if a.attrs and [k for k, _ in a.attrs] == [k for k, _ in b.attrs]:
            # The layers of a Chain: same class, same attributes; keep what their types share.
            return Instance(a.cls, tuple((k, join(x, y)) for (k, x), (_, y) in zip(a.attrs, b.attrs)))
        return Instance(a.cls)
    if isinstance(a, Iterator) and isinstance(b, Iterator):
        return Iterator(join(a.elt, b.elt))
    if isinstance(a, Method) and isinstance(b, Method) and a.func is b.func:
        return Method(a.func, join(a.self, b.self))
    if isinstance(a, Dict) and isinstance(b, Dict):
        return Dict(join(a.key, b.key), join(a.value, b.value))
    return ANY


def join_all(ts) -> Type:
    ts = list(ts)
    if not ts:
        return ANY
    out = ts[0]
    for t in ts[1:]:
        out = join(out, t)
    return out


def is_differentiable(t: Type) -> bool:
    """Can a value of this type carry a nonzero cotangent?  (False only where that is certain.)"""
    if isinstance(t, Scalar):
        return t.pytype is float or t.pytype is complex or (
            isinstance(t.pytype, type) and issubclass(t.pytype, (np.floating, np.complexfloating)))
    if isinstance(t, Array):
        return np.dtype(t.dtype).kind in "fc"
    if isinstance(t, Constant):
        v = t.value
        return isinstance(v, (float, complex, np.ndarray)) and not isinstance(v, bool)
    if isinstance(t, Tuple):
        return any(is_differentiable(e) for e in t.elts)
    if isinstance(t, List):
        return is_differentiable(t.elt)
    return True
