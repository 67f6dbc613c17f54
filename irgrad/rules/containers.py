"""Rules for the IR's own operations on containers, objects and closures (`irgrad.ops`, `getattr`).

Cotangent forms: a tuple's is a tuple, a list's a list, a dict's a dict (None entries are zero); an object's is
an `irgrad.Tangent` of its attributes; a function's is a `Tangent` of the variables its closure captured; a
closure cell is transparent (its cotangent is its contents'); a bound method's is its `self`'s.
"""
from __future__ import annotations

import inspect
import types

import numpy as np

from .. import ops
from ..errors import UnsupportedError
from ..runtime import cell_cotangents
from ..tangent import Tangent
from .registry import non_differentiable, rrule

non_differentiable(ops.format_value, ops.build_string, ops.assert_fail, ops.not_contains, ops.contains)


def _nones(n):
    return (None,) * n


def _as_tuple(dy, n):
    return tuple(dy) if dy is not None else _nones(n)


# ---------------------------------------------------------------------------------------------------------------
# Building and unpacking

@rrule(ops.build_tuple)
def build_tuple_rrule(*xs):
    n = len(xs)

    def build_tuple_pullback(dy):
        return _as_tuple(dy, n)
    return xs, build_tuple_pullback


@rrule(ops.build_list)
def build_list_rrule(*xs):
    n = len(xs)

    def build_list_pullback(dy):
        return _as_tuple(dy, n)
    return list(xs), build_list_pullback


@rrule(ops.build_set)
def build_set_rrule(*xs):
    return set(xs), lambda dy: _nones(len(xs))


@rrule(ops.build_dict)
def build_dict_rrule(*kvs):
    keys = kvs[0::2]

    def build_dict_pullback(dy):
        out = []
        for k in keys:
            out += [None, dy.get(k) if isinstance(dy, dict) else None]
        return tuple(out)
    return ops.build_dict(*kvs), build_dict_pullback


def container_cotangent(x, items):
    """Assemble per-item cotangents into the cotangent form of container `x`."""
    if all(d is None for d in items):
        return None
    if isinstance(x, tuple):
        return tuple(items)
    if isinstance(x, list):
        return list(items)
    if isinstance(x, np.ndarray):
        return np.stack([np.zeros(x.shape[1:]) if d is None else np.asarray(d, dtype=float) for d in items])
    if isinstance(x, dict):
        return dict(zip(x, items))
    return None


@rrule(ops.unpack_sequence)
def unpack_sequence_rrule(x, n):
    y = ops.unpack_sequence(x, n)

    def unpack_sequence_pullback(dy):
        return container_cotangent(x, _as_tuple(dy, n)), None
    return y, unpack_sequence_pullback


@rrule(ops.unpack_ex)
def unpack_ex_rrule(x, before, after):
    y = ops.unpack_ex(x, before, after)
    nmid = len(y[before])

    def unpack_ex_pullback(dy):
        if dy is None:
            return None, None, None
        mid = dy[before] if dy[before] is not None else [None] * nmid
        items = list(dy[:before]) + list(mid) + list(dy[before + 1:])
        return container_cotangent(x, items), None, None
    return y, unpack_ex_pullback


@rrule(ops.list_to_tuple)
def list_to_tuple_rrule(lst):
    return tuple(lst), lambda dy: (list(dy) if dy is not None else None,)


@rrule(ops.list_append)
def list_append_rrule(lst, x):
    n = len(lst)
    y = ops.list_append(lst, x)

    def list_append_pullback(dy):
        if dy is None:
            return None, None
        return list(dy[:n]), (dy[n] if len(dy) > n else None)
    return y, list_append_pullback


@rrule(ops.list_extend)
def list_extend_rrule(lst, xs):
    n = len(lst)
    m = len(xs) if hasattr(xs, "__len__") else None
    src = xs
    y = ops.list_extend(lst, xs)

    def list_extend_pullback(dy):
        if dy is None:
            return None, None
        tail = list(dy[n:n + (m if m is not None else len(dy) - n)])
        return list(dy[:n]), container_cotangent(src, tail)
    return y, list_extend_pullback


@rrule(ops.dict_setitem)
def dict_setitem_rrule(d, k, v):
    had = k in d
    y = ops.dict_setitem(d, k, v)

    def dict_setitem_pullback(dy):
        if dy is None:
            return None, None, None
        rest = {kk: vv for kk, vv in dy.items() if kk != k}
        return (rest if had or rest else None), None, dy.get(k)
    return y, dict_setitem_pullback


def _dict_join_rule(join):
    """`d.update(other)` and `f(**d, **other)`: each key's cotangent goes to the dict its value came from."""
    def dict_join_rrule(d, other):
        keys_o = list(other)
        y = join(d, other)

        def dict_join_pullback(dy):
            if dy is None:
                return None, None
            return ({k: v for k, v in dy.items() if k not in keys_o}, {k: dy.get(k) for k in keys_o})
        return y, dict_join_pullback
    return dict_join_rrule


dict_update_rrule = rrule(ops.dict_update)(_dict_join_rule(ops.dict_update))
dict_merge_rrule = rrule(ops.dict_merge)(_dict_join_rule(ops.dict_merge))


# ---------------------------------------------------------------------------------------------------------------
# Attributes

def _user_code_attribute(x, name):
    """What runs user code when `x.name` is read: a property's getter (returned), or None for a plain read.
    Other descriptors and `__getattr__` are refused: their cotangent is not a field of x."""
    cls = type(x)
    try:
        attr = inspect.getattr_static(cls, name)
    except AttributeError:
        attr = None
    if isinstance(attr, property):
        return attr.fget
    d = getattr(x, "__dict__", None)
    if isinstance(d, dict) and name in d:
        return None  # an instance attribute shadows a non-data descriptor
    if attr is not None and hasattr(type(attr), "__get__") and type(attr).__module__ not in ("builtins",) \
            and not isinstance(attr, (types.FunctionType, staticmethod, classmethod)):
        raise UnsupportedError(f"reading {cls.__qualname__}.{name} runs the descriptor {type(attr).__qualname__}; "
                               "irgrad differentiates plain attributes and properties only")
    if attr is None and isinstance(d, dict) and not hasattr(cls, "__slots__") and hasattr(cls, "__getattr__"):
        raise UnsupportedError(f"reading {cls.__qualname__}.{name} runs {cls.__qualname__}.__getattr__; irgrad "
                               "differentiates plain attributes and properties only")
    return None


@rrule(getattr)
def getattr_rrule(x, name, *default):
    if not isinstance(x, (np.ndarray, types.ModuleType, type)) and type(name) is str:
        getter = _user_code_attribute(x, name)
        if getter is not None:  # a property: differentiate through its getter, like any call
            from ..runtime import fwd_call
            y, pb = fwd_call(getter, x)

            def property_pullback(dy):
                if dy is None:
                    return (None, None) + _nones(len(default))
                return (pb(dy)[1], None) + _nones(len(default))
            return y, property_pullback
    y = getattr(x, name, *default)
    if isinstance(x, np.ndarray):
        return _array_attribute(x, name, y)
    if isinstance(y, types.MethodType) and y.__self__ is x or \
            isinstance(y, types.BuiltinMethodType) and getattr(y, "__self__", None) is x:
        # A bound method's cotangent is its self's: pass it straight through.
        return y, lambda dy: (dy, None) + _nones(len(default))
    if isinstance(x, types.ModuleType) or isinstance(x, type):
        return y, lambda dy: (None, None) + _nones(len(default))

    def getattr_pullback(dy):
        if dy is None:
            return (None, None) + _nones(len(default))
        return (Tangent({name: dy}), None) + _nones(len(default))
    return y, getattr_pullback


def _array_attribute(x, name, y):
    if name == "T":
        def T_pullback(dy):
            return (None if dy is None else np.transpose(dy), None)
        return y, T_pullback
    if name == "real":
        return y, lambda dy: (None if dy is None else np.asarray(dy).real.astype(x.dtype, copy=False)
                              if x.dtype.kind != "c" else np.asarray(dy).real + 0j, None)
    if name == "imag":
        if x.dtype.kind != "c":
            return y, lambda dy: (None, None)
        return y, lambda dy: (None if dy is None else -1j * np.asarray(dy).real, None)
    if name in ("shape", "ndim", "dtype", "size", "itemsize", "nbytes", "strides", "flags"):
        return y, lambda dy: (None, None)
    if callable(y):  # a bound method: its cotangent is the array's
        return y, lambda dy: (dy, None)
    raise NotImplementedError(f"no rule for the ndarray attribute {name!r}")


# ---------------------------------------------------------------------------------------------------------------
# Closures
#
# A closure cell is a mutable box that a closure reads when it runs, not when it is made, so cotangents of cell
# reads are not sent back through the closure's data flow: each read adds its cotangent to the cell's entry in the
# pullback's cell store (`runtime.cell_cotangents`), and each write (`new_cell(v)`, `cell_set`) takes what the reads
# after it left there.  Reverse order makes this exact: the reads after a write are pulled back before it.

@rrule(ops.freevar)
def freevar_rrule(func, index):
    cell = func.__closure__[index]

    def freevar_pullback(dy):
        if dy is not None:
            cell_cotangents().add(cell, dy)
        return None, None
    return cell.cell_contents, freevar_pullback


@rrule(ops.new_cell)
def new_cell_rrule(*value):
    cell = ops.new_cell(*value)

    def new_cell_pullback(dy):
        d = cell_cotangents().take(cell)
        return (d,) if value else ()
    return cell, new_cell_pullback


@rrule(ops.cell_get)
def cell_get_rrule(cell):
    def cell_get_pullback(dy):
        if dy is not None:
            cell_cotangents().add(cell, dy)
        return (None,)
    return ops.cell_get(cell), cell_get_pullback


@rrule(ops.make_function)
def make_function_rrule(code, globals_, defaults=None, kwdefaults=None, closure=None, annotations=None):
    # What the new function captured is pulled back through its cells (above); its defaults are constants.
    f = ops.make_function(code, globals_, defaults, kwdefaults, closure, annotations)
    return f, lambda dy: (None,) * 6


# ---------------------------------------------------------------------------------------------------------------
# Calls with * and **

@rrule(ops.call_ex)
def call_ex_rrule(f, args, kwargs=None):
    from ..runtime import fwd_call
    kwargs = kwargs or {}
    names = list(kwargs)
    y, pb = fwd_call(f, *args, **kwargs)
    n = len(args)

    def call_ex_pullback(dy):
        d = pb(dy)
        dkw = dict(zip(names, d[1 + n:]))
        return d[0], (tuple(d[1:1 + n]) if isinstance(args, tuple) else list(d[1:1 + n])), dkw
    return y, call_ex_pullback


# ---------------------------------------------------------------------------------------------------------------
# Dict views: iterated as lists (the differentiated code sees a list where Python gives a view), so each value's
# cotangent can go back to its key.

non_differentiable(dict.keys)


@rrule(dict.values)
def dict_values_rrule(d):
    keys = list(d)

    def dict_values_pullback(dy):
        return (None if dy is None else dict(zip(keys, dy)),)
    return list(d.values()), dict_values_pullback


@rrule(dict.items)
def dict_items_rrule(d):
    keys = list(d)

    def dict_items_pullback(dy):
        if dy is None:
            return (None,)
        return ({k: (None if item is None else item[1]) for k, item in zip(keys, dy)},)
    return list(d.items()), dict_items_pullback


@rrule(dict.get)
def dict_get_rrule(d, key, *default):
    has = key in d
    y = d.get(key, *default)

    def dict_get_pullback(dy):
        if has:
            return ({key: dy}, None) + _nones(len(default))
        return (None, None) + ((dy,) if default else ())
    return y, dict_get_pullback


# ---------------------------------------------------------------------------------------------------------------
# NumPy scalar constructors: the cotangent passes through, as a Python float or complex

def _scalar_type_rule(t):
    @rrule(t)
    def scalar_type_rrule(x=0.0):
        y = t(x)

        def scalar_type_pullback(dy):
            if dy is None or not isinstance(x, (float, complex, np.floating, np.complexfloating, np.ndarray)):
                return (None,)
            d = np.asarray(dy)
            if not np.iscomplexobj(x):
                d = d.real
            return (d.reshape(np.shape(x)) if isinstance(x, np.ndarray) else d.item(),)
        return y, scalar_type_pullback


for _t in (np.float64, np.float32, np.float16, np.complex128, np.complex64):
    _scalar_type_rule(_t)
