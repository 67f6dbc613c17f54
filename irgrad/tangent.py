"""Cotangents: `None` is zero; `Tangent` is the cotangent of an object (attribute name -> cotangent), like
Zygote's named tuples; a tuple's cotangent is a tuple, a list's a list, a dict's a dict.  `accum` adds two
cotangents structurally; `unbroadcast` sums a cotangent back to the shape of the operand that was broadcast."""
from __future__ import annotations

import numpy as np


class Tangent:
    """The cotangent of an object: `g.weight`, `g.layers[0].bias`.  Missing attributes are zero (None)."""

    __slots__ = ("_fields",)

    def __init__(self, fields=None, **kw):
        d = dict(fields or {})
        d.update(kw)
        object.__setattr__(self, "_fields", d)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._fields.get(name)

    def __setattr__(self, name, value):
        raise AttributeError("Tangent is immutable; build a new one")

    def fields(self) -> dict:
        return dict(self._fields)

    def __iter__(self):
        return iter(self._fields.items())

    def __eq__(self, other):
        return isinstance(other, Tangent) and self._fields.keys() == other._fields.keys() and all(
            _eq(self._fields[k], other._fields[k]) for k in self._fields)

    __hash__ = None

    def __repr__(self):
        inner = ", ".join(f"{k}={_short(v)}" for k, v in self._fields.items())
        return f"Tangent({inner})"


def _eq(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b)
    return a == b


def _short(v):
    if isinstance(v, np.ndarray):
        return f"array{v.shape}"
    return repr(v)


_NUMBERS = (float, np.ndarray, np.float64, complex, int)


def accum(a, b):
    """a + b for cotangents, structurally; None is zero."""
    if a is None:
        return b
    if b is None:
        return a
    if type(a) in _NUMBERS:  # the common case first
        return a + b
    if isinstance(a, Tangent) and isinstance(b, Tangent):
        out = dict(a._fields)
        for k, v in b._fields.items():
            out[k] = accum(out.get(k), v)
        return Tangent(out)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return tuple(accum(x, y) for x, y in zip(a, b))
    if isinstance(a, list) and isinstance(b, list):
        # Lists grow by appending: a shorter cotangent is of an earlier, shorter state of the same list.
        if len(a) < len(b):
            a, b = b, a
        return [accum(x, y) for x, y in zip(a, b)] + a[len(b):]
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = accum(out.get(k), v)
        return out
    return a + b


_KEPT_AXES: dict = {}  # (dx's shape, x's shape) -> the axes a same-ndim unbroadcast sums
_add_reduce = np.add.reduce
_F64 = np.dtype(np.float64)
_ONES: dict = {}  # n -> a read-only vector of n float64 ones


def sum_kept(dx, axes):
    """`dx` summed over `axes`, the reduced axes kept (the cotangent of a broadcast operand).  A float64 matrix
    summed over one axis is a matrix-vector product with a vector of ones: BLAS does it in a third of the time of
    NumPy's pairwise reduction at 300 x 100 (and never slower on the small ones).  Its rounding is a dot
    product's, not pairwise summation's: the same as any matmul in the adjoint, and only cotangents come here."""
    if len(axes) == 1 and dx.ndim == 2 and dx.dtype is _F64 and type(dx) is np.ndarray:
        k = axes[0]
        ones = ones_vector(dx.shape[k])
        return (ones @ dx)[None, :] if k == 0 else (dx @ ones)[:, None]
    return _add_reduce(dx, axis=axes, keepdims=True)


def ones_vector(n: int):
    """A shared read-only vector of n float64 ones (the other operand of a sum done as a product)."""
    ones = _ONES.get(n)
    if ones is None:
        if len(_ONES) > 256:
            _ONES.clear()
        ones = _ONES[n] = np.ones(n)
        ones.flags.writeable = False
    return ones


def unbroadcast(x_shape, dx):
    """Sum `dx` over the axes along which an operand of shape `x_shape` was broadcast (the seed's `unbroadcast`).
    `x_shape` is `()` for a Python or NumPy scalar."""
    if dx is None:
        return None
    dshape = np.shape(dx)
    if dshape == tuple(x_shape):
        return dx
    lead = len(dshape) - len(x_shape)
    if lead == 0 and type(dx) is np.ndarray:  # the common case (a bias column): one reduction, kept dims
        key = (dshape, tuple(x_shape))
        axes = _KEPT_AXES.get(key)
        if axes is None:
            axes = _KEPT_AXES[key] = tuple(i for i, n in enumerate(x_shape) if n == 1 and dshape[i] != 1)
            if len(_KEPT_AXES) > 4096:
                _KEPT_AXES.clear()
        return sum_kept(dx, axes)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(x_shape) if n == 1 and dshape[i + lead] != 1)
    out = np.sum(dx, axis=axes) if axes else dx
    return np.reshape(out, x_shape) if np.shape(out) != tuple(x_shape) else out


def zeros_like_cotangent(x):
    """A materialised zero cotangent for x (only where a consumer needs an array, never by default)."""
    if isinstance(x, np.ndarray):
        return np.zeros_like(x, dtype=np.result_type(x.dtype, np.float64) if x.dtype.kind not in "fc" else x.dtype)
    if isinstance(x, (float, int, np.number)):
        return 0.0
    return None
