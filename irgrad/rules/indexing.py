"""Rules for indexing: `operator.getitem` on every container the IR indexes (arrays, tuples, lists, dicts,
strings), `np.take`, `np.take_along_axis`, and `operator.setitem`, which irgrad refuses when it would mutate
differentiable data.

The adjoint of `y = x[idx]` on an array is a scatter: a zero array of x's shape with dy added at idx.  Integer
arrays may pick an element twice (`x[[0, 0]]`), so that case adds with `np.add.at`; a basic index (ints, slices,
None, Ellipsis) or a boolean mask never repeats an element and takes the fast `dx[idx] = dy`.
"""
from __future__ import annotations

import operator
import types

import numpy as np

from ..errors import UnsupportedError
from .registry import rrule
from .shapes import in_form, input_form, is_differentiable, nones, static_arg


# ---------------------------------------------------------------------------------------------------------------
# getitem
# ---------------------------------------------------------------------------------------------------------------

def _never_repeats(idx) -> bool:
    """True when indexing with `idx` reaches no element twice: no integer arrays or lists among its parts."""
    for part in (idx if isinstance(idx, tuple) else (idx,)):
        if part is None or part is Ellipsis or isinstance(part, (slice, bool, np.bool_, int, np.integer)):
            continue
        arr = np.asarray(part)
        if arr.dtype.kind != "b" and arr.ndim > 0:
            return False
    return True


def _scatter(x_shape, x_dtype, idx, dy):
    dy = np.asarray(dy)
    dx = np.zeros(x_shape, dtype=np.result_type(x_dtype, dy.dtype))
    if _never_repeats(idx):
        dx[idx] = dy
    else:
        np.add.at(dx, idx, dy)
    return dx


def _array_getitem(x, idx):
    y = x[idx]
    x_shape, x_dtype, form = x.shape, x.dtype, input_form(x)

    def getitem_pullback(dy):
        if dy is None or form is None:
            return None, None
        return in_form(_scatter(x_shape, x_dtype, idx, dy), form), None

    return y, getitem_pullback


def _sequence_getitem(x, idx):
    # the cotangent of a tuple or list is one of the same kind: dy at the picked positions, None elsewhere
    y = x[idx]
    n, kind = len(x), (list if isinstance(x, list) else tuple)
    picked = range(n)[idx] if isinstance(idx, slice) else None

    def getitem_pullback(dy):
        if dy is None:
            return None, None
        dx = [None] * n
        if picked is None:
            dx[idx] = dy
        else:
            for i, d in zip(picked, dy):
                dx[i] = d
        return kind(dx), None

    return y, getitem_pullback


def _dict_getitem(x, key):
    y = x[key]

    def getitem_pullback(dy):
        return (None if dy is None else {key: dy}), None

    return y, getitem_pullback


def _nondiff_getitem(x, idx):
    def getitem_pullback(dy):
        return None, None
    return x[idx], getitem_pullback


@rrule(operator.getitem)
def getitem_rrule(x, idx):
    if isinstance(x, (np.ndarray, np.generic)):
        return _array_getitem(x, idx)
    if isinstance(x, (list, tuple)):
        return _sequence_getitem(x, idx)
    if isinstance(x, dict):
        return _dict_getitem(x, idx)
    if isinstance(x, (str, bytes, range)):
        return _nondiff_getitem(x, idx)
    raise UnsupportedError(
        f"operator.getitem on a {type(x).__name__} has no rule: indexing is differentiated for NumPy arrays, "
        f"tuples, lists, dicts and strings; give {type(x).__name__}.__getitem__ Python code or register a rule "
        f"with @irgrad.rrule")


rrule(np.ndarray.__getitem__)(getitem_rrule)


# ---------------------------------------------------------------------------------------------------------------
# take and take_along_axis: getitem with the index built from the arguments
# ---------------------------------------------------------------------------------------------------------------

def _take_index(x_shape, indices, axis, mode):
    """The getitem index equal to np.take(x, indices, axis, mode=mode) on x of x_shape (raveled if axis is None)."""
    n = int(np.prod(x_shape)) if axis is None else x_shape[axis]
    indices = np.asarray(indices)
    if mode == "wrap":
        indices = indices % n
    elif mode == "clip":
        indices = np.clip(indices, 0, n - 1)
    if axis is None:
        return indices
    return (slice(None),) * (axis % len(x_shape)) + (indices,)



@rrule(np.take)
def take_rrule(a, indices, *args, **kwargs):
    axis, mode = static_arg(args, kwargs, 0, "axis", None), static_arg(args, kwargs, 2, "mode", "raise")
    if static_arg(args, kwargs, 1, "out", None) is not None:
        raise UnsupportedError("np.take with out= writes into an array, which irgrad does not differentiate")
    y = np.take(a, indices, *args, **kwargs)
    x_shape, x_dtype, form, n = np.shape(a), np.asarray(a).dtype, input_form(a), 2 + len(args)
    idx = _take_index(x_shape, indices, axis, mode)

    def take_pullback(dy):
        if dy is None or form is None:
            return nones(n)
        flat = (int(np.prod(x_shape)),) if axis is None else x_shape
        return (in_form(_scatter(flat, x_dtype, idx, dy).reshape(x_shape), form),) + nones(n - 1)

    return y, take_pullback


rrule(np.ndarray.take)(take_rrule)


@rrule(np.take_along_axis)
def take_along_axis_rrule(arr, indices, *args, **kwargs):
    y = np.take_along_axis(arr, indices, *args, **kwargs)
    axis, n = static_arg(args, kwargs, 0, "axis", -1), 2 + len(args)
    x_shape, x_dtype, form = arr.shape, arr.dtype, input_form(arr)
    if axis is None:
        idx, flat = np.asarray(indices), (arr.size,)
    else:
        # the same elements by fancy indexing: the indices on `axis`, open ranges on the other axes
        axis %= arr.ndim
        idx = tuple(np.asarray(indices) if d == axis else
                    np.arange(m).reshape((1,) * d + (m,) + (1,) * (arr.ndim - d - 1))
                    for d, m in enumerate(x_shape))
        flat = x_shape

    def take_along_axis_pullback(dy):
        if dy is None or form is None:
            return nones(n)
        return (in_form(_scatter(flat, x_dtype, idx, dy).reshape(x_shape), form),) + nones(n - 1)

    return y, take_along_axis_pullback


# ---------------------------------------------------------------------------------------------------------------
# setitem: mutation, refused where it touches differentiable data
# ---------------------------------------------------------------------------------------------------------------

_PLAIN = (bool, int, str, bytes, range, slice, np.bool_, np.integer, type, types.FunctionType,
          types.BuiltinFunctionType, types.MethodType, types.ModuleType, np.ufunc)


def _holds_differentiable(v) -> bool:
    if isinstance(v, np.ndarray):
        return v.dtype.kind in "fcO"
    if v is None or isinstance(v, _PLAIN):
        return False
    if is_differentiable(v):
        return True
    if isinstance(v, (list, tuple, set, frozenset)):
        return any(_holds_differentiable(e) for e in v)
    if isinstance(v, dict):
        return any(_holds_differentiable(e) for e in v.values())
    return True   # an object of unknown content: assume it may hold arrays


_SETITEM_FIXES = {
    "ndarray": "write it without mutation: np.where(mask, v, x), np.concatenate([x[:i], [v], x[i + 1:]]), "
               "or collect the values in a list and build the array with np.array(...) or np.stack(...)",
    "list": "build a new list instead (xs = xs[:i] + [v] + xs[i + 1:]) or collect values with append",
    "dict": "build a new dict instead ({**d, key: v})",
}


@rrule(operator.setitem)
def setitem_rrule(container, index, value):
    kind = "ndarray" if isinstance(container, np.ndarray) else type(container).__name__
    if _holds_differentiable(container) or _holds_differentiable(value):
        fix = _SETITEM_FIXES.get(kind, "build a new value instead of assigning into this one")
        raise UnsupportedError(
            f"in-place assignment `x[i] = v` into a {kind} holding differentiable values is not differentiated "
            f"(irgrad does not track mutation); {fix}.  See docs/limitations.md")
    operator.setitem(container, index, value)

    def setitem_pullback(dy):
        return None, None, None

    return None, setitem_pullback


rrule(np.ndarray.__setitem__)(setitem_rrule)


# ---------------------------------------------------------------------------------------------------------------
# Other in-place writes into arrays: refused on differentiable data, run as they are otherwise
# ---------------------------------------------------------------------------------------------------------------

def _refuse_in_place(fn, label, fix):
    def rule(target, *args, **kwargs):
        if _holds_differentiable(target) or any(_holds_differentiable(a) for a in args + tuple(kwargs.values())):
            raise UnsupportedError(f"{label} changes an array in place, which irgrad does not differentiate; "
                                   f"{fix}.  See docs/limitations.md")
        y = fn(target, *args, **kwargs)

        def pullback(dy):
            return nones(1 + len(args))

        pullback.__name__ = pullback.__qualname__ = f"{label.replace('.', '_')}_pullback"
        return y, pullback

    rule.__name__ = rule.__qualname__ = f"{label.replace('.', '_')}_rrule"
    rrule(fn)(rule)


for _fn, _label, _fix in (
        (np.ndarray.sort, "ndarray.sort", "use y = np.sort(x, axis) instead"),
        (np.ndarray.partition, "ndarray.partition", "use y = np.partition(x, k) or np.sort instead"),
        (np.ndarray.fill, "ndarray.fill", "use np.full_like(x, value) instead"),
        (np.ndarray.put, "ndarray.put", "build the array with np.where or np.concatenate instead"),
        (np.ndarray.resize, "ndarray.resize", "use np.resize(x, shape) or np.reshape instead"),
        (np.put, "np.put", "build the array with np.where or np.concatenate instead"),
        (np.put_along_axis, "np.put_along_axis", "build the array with np.where instead"),
        (np.place, "np.place", "use np.where(mask, values, x) instead"),
        (np.copyto, "np.copyto", "use np.where(mask, src, dst) instead"),
        (np.fill_diagonal, "np.fill_diagonal", "add a diagonal instead: x + np.diag(v - np.diag(x))"),
        (np.ufunc.at, "ufunc.at", "np.add.at and friends write into their first argument; build a fresh array "
                                  "with np.bincount(idx, weights=v, minlength=n) instead")):
    _refuse_in_place(_fn, _label, _fix)
