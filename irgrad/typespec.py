"""Type specs written as text (`irdump --types`), parsed by hand, never by `eval`:

    spec   := NAME ('.' NAME)* ['[' param (',' param)* ']'] ['{' NAME ':' spec (',' NAME ':' spec)* '}']
    param  := spec | INT | '?'

Built-in names: `float int bool complex str None Any`, NumPy scalar types (`float64`, `int32` ...),
`ndarray[dtype, ndim]` (`ndarray[float64, ?]` or `ndarray[float64]` when ndim is unknown), `tuple[...]`,
`list[T]`, `dict[K, V]`.  Any other (dotted) name is looked up in `namespace` (the module of the function being
dumped): a class gives an instance of it, whose attribute types may follow in braces
(`Dense{weight: ndarray[float64, 2], bias: ndarray[float64, 2], activation: relu}`); another value (a function)
gives that constant.

    >>> parse("ndarray[float64, 2], float, tuple[int, float]")
    [Array(dtype='float64', ndim=2), Scalar(pytype=<class 'float'>), Tuple(elts=(Scalar(pytype=<class 'int'>), Scalar(pytype=<class 'float'>)))]
"""
from __future__ import annotations

import re

import numpy as np

from .errors import TypeSpecError
from .types import ANY, Array, Constant, Dict, Instance, Iterator, List, Scalar, Tuple, Type

__all__ = ["parse", "format_types"]

_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<int>\d+)|(?P<punct>[\[\]{},:.?]))")

_SCALARS = {"float": float, "int": int, "bool": bool, "complex": complex, "str": str,
            "None": type(None), "NoneType": type(None)}


def parse(text: str, namespace: dict | None = None) -> list:
    """The list of types in a comma-separated spec; raises `TypeSpecError` pointing at the position of a fault."""
    return _Parser(text, namespace or {}).specs()


def format_types(types) -> str:
    """The spec text of a list of types (the inverse of `parse` for built-in names)."""
    return ", ".join(map(str, types))


class _Parser:
    def __init__(self, text: str, namespace: dict):
        self.text = text
        self.namespace = namespace
        self.tokens = []  # (kind, value, position)
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if m is None:
                start = len(text) - len(text[pos:].lstrip())
                self.fail(f"unexpected character {text[start]!r}", start)
            kind = m.lastgroup
            self.tokens.append((kind, m.group(kind), m.start(kind)))
            pos = m.end()
        self.i = 0

    def fail(self, msg: str, pos: int | None = None):
        if pos is None:
            pos = self.tokens[self.i][2] if self.i < len(self.tokens) else len(self.text)
        raise TypeSpecError(f"{msg} at position {pos} of the type spec\n  {self.text}\n  {' ' * pos}^")

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else ("end", "", len(self.text))

    def take(self, value=None, kind=None):
        k, v, p = self.peek()
        if (value is not None and v != value) or (kind is not None and k != kind) or k == "end":
            want = repr(value) if value is not None else f"a {kind}" if kind else "more"
            self.fail(f"expected {want}, found {repr(v) if k != 'end' else 'the end'}", p)
        self.i += 1
        return v

    def accept(self, value) -> bool:
        if self.peek()[1] == value and self.peek()[0] == "punct":
            self.i += 1
            return True
        return False

    def specs(self) -> list:
        out = []
        if self.peek()[0] == "end":
            return out
        out.append(self.spec())
        while self.accept(","):
            out.append(self.spec())
        if self.peek()[0] != "end":
            self.fail(f"expected ',' or the end, found {self.peek()[1]!r}")
        return out

    def params(self) -> list:
        """The parameters in brackets (the '[' already taken): types, integers or '?'."""
        out = []
        if self.accept("]"):
            return out
        while True:
            k, v, p = self.peek()
            if k == "int":
                self.i += 1
                out.append((int(v), p))
            elif v == "?":
                self.i += 1
                out.append((None, p))
            else:
                out.append((self.spec(), p))
            if self.accept("]"):
                return out
            if not self.accept(","):
                k, v, p = self.peek()
                self.fail(f"expected ',' or ']', found {repr(v) if k != 'end' else 'the end'}", p)

    def spec(self) -> Type:
        _, name, pos = self.peek()
        name = self.take(kind="name")
        while self.accept("."):
            name += "." + self.take(kind="name")
        params = self.params() if self.accept("[") else None
        t = self.build(name, params, pos)
        if self.accept("{"):
            t = self.attrs(t, pos)
        return t

    def attrs(self, t: Type, pos: int) -> Type:
        if not isinstance(t, Instance):
            self.fail(f"attribute types in braces need a class, not {t}", pos)
        attrs = {}
        while not self.accept("}"):
            if attrs:
                self.take(",")
            key = self.take(kind="name")
            self.take(":")
            attrs[key] = self.spec()
        return Instance(t.cls, tuple(sorted(attrs.items())))

    def types_of(self, name, params, pos, n=None) -> list:
        params = params or []
        if n is not None and len(params) != n:
            self.fail(f"{name}[...] takes {n} type{'s' if n > 1 else ''}, got {len(params)}", pos)
        for t, p in params:
            if not isinstance(t, Type):
                self.fail(f"expected a type inside {name}[...], found {t if t is not None else '?'}", p)
        return [t for t, _ in params]

    def build(self, name: str, params, pos: int) -> Type:
        if name in _SCALARS and params is None:
            return Scalar(_SCALARS[name])
        if name == "Any" and params is None:
            return ANY
        if name == "ndarray":
            return self.ndarray(params or [], pos)
        if name == "tuple":
            return Tuple(tuple(self.types_of(name, params, pos)))
        if name == "list":
            return List(*self.types_of(name, params, pos, 1))
        if name == "dict":
            return Dict(*self.types_of(name, params, pos, 2))
        if name == "iterator":
            return Iterator(*self.types_of(name, params, pos, 1))
        if params is not None:
            self.fail(f"{name} takes no parameters in brackets", pos)
        if hasattr(np, name) and isinstance(getattr(np, name), type) and issubclass(getattr(np, name), np.generic):
            return Scalar(getattr(np, name))
        return self.lookup(name, pos)

    def ndarray(self, params, pos) -> Type:
        if len(params) > 2:
            self.fail(f"ndarray[dtype, ndim] takes at most 2 parameters, got {len(params)}", pos)
        dtype, ndim = "float64", None
        if params:
            t, p = params[0]
            dtype = self.dtype_name(t, p)
        if len(params) == 2:
            ndim, p = params[1]
            if ndim is not None and not isinstance(ndim, int):
                self.fail(f"the ndim of ndarray must be an integer or '?', found {ndim}", p)
        return Array(dtype, ndim)

    def dtype_name(self, t, p) -> str:
        if isinstance(t, Scalar):
            try:
                return np.dtype(t.pytype).name
            except TypeError:
                pass
        self.fail(f"not a NumPy dtype: {t if t is not None else '?'}", p)

    def lookup(self, name: str, pos: int) -> Type:
        parts = name.split(".")
        if parts[0] not in self.namespace:
            self.fail(f"unknown type name {name!r} (not a built-in type spec, nor a name of the module)", pos)
        value = self.namespace[parts[0]]
        for part in parts[1:]:
            if not hasattr(value, part):
                self.fail(f"{name!r}: no attribute {part!r}", pos)
            value = getattr(value, part)
        if isinstance(value, type):
            return Instance(value)
        return Constant(value)
