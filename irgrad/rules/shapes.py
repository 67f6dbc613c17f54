"""Rules for functions that move elements without changing them: reshapes, transposes, joins, repeats, flips.

Each of these is linear in its array argument, so its pullback applies the adjoint map to `dy`: a reshape back,
the inverse permutation of the axes, a split of a join, a sum over the copies of a repeat or a broadcast.  The
pullbacks keep shapes and static arguments only, never the arrays.  Indexing lives in `indexing.py`.
"""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedError
from ..tangent import unbroadcast
from .registry import rrule


# ---------------------------------------------------------------------------------------------------------------
# Helpers shared by the rule modules of shapes, indexing, linear algebra and creation
# ---------------------------------------------------------------------------------------------------------------

def is_differentiable(x) -> bool:
    """True for float and complex values: scalars, arrays, and sequences holding one."""
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "fc"
    if isinstance(x, (bool, np.bool_)):
        return False
    if isinstance(x, (float, complex, np.floating, np.complexfloating)):
        return True
    if isinstance(x, (list, tuple)):
        return any(is_differentiable(v) for v in x)
    return False


def nones(n: int) -> tuple:
    return (None,) * n


REAL_ARRAY, COMPLEX_ARRAY = object(), object()   # markers of input_form


def input_form(x):
    """What a pullback keeps to give its cotangent the form of the input `x`: a marker for a float or complex
    array, None for data with no derivative, else `x` itself (a scalar or a small nested sequence)."""
    if isinstance(x, np.ndarray):
        return {"f": REAL_ARRAY, "c": COMPLEX_ARRAY}.get(x.dtype.kind)
    return x if is_differentiable(x) else None


def output_is_differentiable(y) -> bool:
    """False for an integer or boolean array result (np.array(x, dtype=int)), which passes no derivative back."""
    return not isinstance(y, np.ndarray) or y.dtype.kind in "fc"


def in_form(dx, form):
    """`dx` (an array of the input's shape) as the cotangent of an input of this `input_form`: the array itself,
    a NumPy scalar for a Python scalar, a list or tuple for a (nested) sequence, None where there is no derivative."""
    if form is None or dx is None:
        return None
    if form is COMPLEX_ARRAY:
        return dx
    if form is REAL_ARRAY:
        return np.real(dx) if np.iscomplexobj(dx) else dx
    if isinstance(form, (list, tuple)):
        parts = [in_form(dx[i], input_form(v)) for i, v in enumerate(form)]
        return parts if isinstance(form, list) else tuple(parts)
    dx = np.asarray(dx)
    if dx.dtype.kind == "c" and not isinstance(form, (complex, np.complexfloating)):
        dx = dx.real
    return dx[()]


def _name(rule, pullback_name: str):
    rule.__name__ = rule.__qualname__ = pullback_name.replace("_pullback", "_rrule")
    return rule


def _linear(fn, adjoint, name=None):
    """Register the rule of `fn(x, *static, **kw)`, linear in `x`, whose adjoint is `adjoint(dy, x_shape, *static,
    **kw)`; the other arguments take no cotangent."""
    label = name or fn.__name__

    def rule(x, *args, **kwargs):
        y = fn(x, *args, **kwargs)
        x_shape, n = np.shape(x), 1 + len(args)
        form = input_form(x) if output_is_differentiable(y) else None

        def pullback(dy):
            if dy is None or form is None:
                return nones(n)
            return (in_form(adjoint(dy, x_shape, *args, **kwargs), form),) + nones(n - 1)

        pullback.__name__ = pullback.__qualname__ = f"{label}_pullback"
        return y, pullback

    rrule(fn)(_name(rule, f"{label}_pullback"))
    return rule


def static_arg(args, kwargs, i, name, default):
    """Argument `name` of a NumPy function given at position `i` of the static `args` or by keyword."""
    return args[i] if len(args) > i else kwargs.get(name, default)


def _layout(order, x) -> str:
    """The order 'C' or 'F' in which `order` ('A', 'K' included) reads the elements of `x`."""
    if order in (None, "C", "c"):
        return "C"
    if order in ("F", "f"):
        return "F"
    x = np.asarray(x)
    if x.flags.c_contiguous:
        return "C"
    if x.flags.f_contiguous:
        return "F"
    if order in ("A", "a"):
        return "C"
    raise UnsupportedError(f"order={order!r} on an array that is neither C- nor F-contiguous has no rule; "
                           f"make it contiguous first (np.ascontiguousarray)")


# ---------------------------------------------------------------------------------------------------------------
# Reshapes: the adjoint reshapes back (in the same order)
# ---------------------------------------------------------------------------------------------------------------

def _reshape_back(fn_name, order_of):
    """A rule for a reshape-like `fn` whose element order is `order_of(x, args, kwargs)`."""
    def make(fn):
        def rule(x, *args, **kwargs):
            y = fn(x, *args, **kwargs)
            x_shape, form, n = np.shape(x), input_form(x), 1 + len(args)
            order = order_of(x, args, kwargs)

            def pullback(dy):
                if dy is None or form is None:
                    return nones(n)
                return (in_form(np.reshape(dy, x_shape, order=order), form),) + nones(n - 1)

            pullback.__name__ = pullback.__qualname__ = f"{fn_name}_pullback"
            return y, pullback

        rrule(fn)(_name(rule, f"{fn_name}_pullback"))
        return rule
    return make


def _order_kw(x, args, kwargs):
    return _layout(kwargs.get("order", "C"), x)


def _order_at(i):
    return lambda x, args, kwargs: _layout(static_arg(args, kwargs, i, "order", "C"), x)


def _c_order(x, args, kwargs):
    return "C"


_reshape_back("reshape", _order_at(1))(np.reshape)
_reshape_back("ndarray_reshape", _order_kw)(np.ndarray.reshape)        # x.reshape(2, 3) and x.reshape((2, 3))
_reshape_back("ravel", _order_at(0))(np.ravel)
_reshape_back("ndarray_ravel", _order_at(0))(np.ndarray.ravel)
_reshape_back("ndarray_flatten", _order_at(0))(np.ndarray.flatten)
for _fn in (np.expand_dims, np.squeeze, np.ndarray.squeeze):
    # these only add or drop axes of length one, so the elements keep their C order
    _reshape_back(_fn.__name__, _c_order)(_fn)


def _atleast(fn):
    """np.atleast_1d(*arys) and friends: one array in, one out; several in, a tuple out."""
    label = fn.__name__

    def rule(*arys):
        y = fn(*arys)
        shapes, forms = [np.shape(x) for x in arys], [input_form(x) for x in arys]

        def pullback(dy):
            if dy is None:
                return nones(len(arys))
            dys = (dy,) if len(arys) == 1 else dy
            return tuple(None if d is None else in_form(np.reshape(d, s), f) for d, s, f in zip(dys, shapes, forms))

        pullback.__name__ = pullback.__qualname__ = f"{label}_pullback"
        return y, pullback

    rrule(fn)(_name(rule, f"{label}_pullback"))


for _fn in (np.atleast_1d, np.atleast_2d, np.atleast_3d):
    _atleast(_fn)


# ---------------------------------------------------------------------------------------------------------------
# Permutations of axes and of elements: the adjoint applies the inverse permutation
# ---------------------------------------------------------------------------------------------------------------

def _inverse_axes(axes, ndim):
    if axes is None:
        return None
    return tuple(np.argsort([a % ndim for a in axes]))


def _transpose_adjoint(dy, x_shape, axes=None):
    return np.transpose(dy, _inverse_axes(axes, len(x_shape)))


def _method_transpose_adjoint(dy, x_shape, *axes):
    # x.transpose(), x.transpose(None), x.transpose(1, 0, 2), x.transpose((1, 0, 2))
    if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
        axes = axes[0]
    return np.transpose(dy, _inverse_axes(axes or None, len(x_shape)))


_linear(np.transpose, _transpose_adjoint)
_linear(np.ndarray.transpose, _method_transpose_adjoint, name="ndarray_transpose")
_linear(np.swapaxes, lambda dy, x_shape, axis1, axis2: np.swapaxes(dy, axis1, axis2))
_linear(np.ndarray.swapaxes, lambda dy, x_shape, axis1, axis2: np.swapaxes(dy, axis1, axis2),
        name="ndarray_swapaxes")
_linear(np.moveaxis, lambda dy, x_shape, source, destination: np.moveaxis(dy, destination, source))
_linear(np.flip, lambda dy, x_shape, axis=None: np.flip(dy, axis))
_linear(np.fliplr, lambda dy, x_shape: np.fliplr(dy))
_linear(np.flipud, lambda dy, x_shape: np.flipud(dy))
_linear(np.roll, lambda dy, x_shape, shift, axis=None: np.roll(dy, np.negative(shift), axis))
_linear(np.rot90, lambda dy, x_shape, k=1, axes=(0, 1): np.rot90(dy, -k, axes))


@rrule(np.sort)
def sort_rrule(a, *args, **kwargs):
    # a permutation of each slice along `axis`: the adjoint puts each dy back where its element came from
    y = np.sort(a, *args, **kwargs)
    axis = static_arg(args, kwargs, 0, "axis", -1)
    perm = np.argsort(a, axis=axis, kind="stable")
    x_shape, form, n = np.shape(a), input_form(a), 1 + len(args)

    def sort_pullback(dy):
        if dy is None or form is None:
            return nones(n)
        dx = np.zeros(x_shape if axis is not None else (int(np.prod(x_shape)),), dtype=np.asarray(dy).dtype)
        np.put_along_axis(dx, perm, dy, axis=axis if axis is not None else 0)
        return (in_form(dx.reshape(x_shape), form),) + nones(n - 1)

    return y, sort_pullback


# ---------------------------------------------------------------------------------------------------------------
# Copies and conversions: the identity, cast back to the input's kind
# ---------------------------------------------------------------------------------------------------------------

def _identity_adjoint(dy, x_shape, *args, **kwargs):
    return np.reshape(dy, x_shape)   # np.array(x, ndmin=3) and ascontiguousarray of a 0-d array add axes


for _fn in (np.copy, np.asarray, np.array, np.asanyarray, np.ascontiguousarray, np.asfortranarray):
    _linear(_fn, _identity_adjoint)


# ---------------------------------------------------------------------------------------------------------------
# Broadcasts and repeats: the adjoint sums over the copies
# ---------------------------------------------------------------------------------------------------------------

_linear(np.broadcast_to, lambda dy, x_shape, *args, **kwargs: unbroadcast(x_shape, dy))


def _tile_adjoint(dy, x_shape, reps):
    # Both shapes padded with leading ones to the same length d; y's axis i holds reps[i] copies of x's axis i,
    # so view dy as (reps[0], x[0], reps[1], x[1], ...) and sum the reps axes.
    reps = tuple(np.atleast_1d(reps))
    d = max(len(x_shape), len(reps))
    xs = (1,) * (d - len(x_shape)) + tuple(x_shape)
    rs = (1,) * (d - len(reps)) + reps
    split = np.reshape(dy, [n for pair in zip(rs, xs) for n in pair])
    return np.reshape(np.sum(split, axis=tuple(range(0, 2 * d, 2))), x_shape)


def _repeat_adjoint(dy, x_shape, repeats, axis=None):
    dy = np.asarray(dy)
    if axis is None:                 # x was flattened first
        return np.reshape(_repeat_adjoint(dy, (int(np.prod(x_shape)),), repeats, 0), x_shape)
    axis %= len(x_shape)
    n = x_shape[axis]
    if np.ndim(repeats) == 0 or np.size(repeats) == 1:     # every element copied r times in a row
        r = int(np.ravel(repeats)[0])
        split = np.reshape(dy, x_shape[:axis] + (n, r) + x_shape[axis + 1:])
        return np.sum(split, axis=axis + 1)
    owner = np.repeat(np.arange(n), repeats)               # which element of x each slice of y copies
    dx = np.zeros((n,) + x_shape[:axis] + x_shape[axis + 1:], dtype=dy.dtype)
    np.add.at(dx, owner, np.moveaxis(dy, axis, 0))
    return np.moveaxis(dx, 0, axis)


_linear(np.tile, _tile_adjoint)
_linear(np.repeat, _repeat_adjoint)
_linear(np.ndarray.repeat, _repeat_adjoint, name="ndarray_repeat")


# ---------------------------------------------------------------------------------------------------------------
# Joins: each input is reshaped (atleast_1d, expand_dims ...) and concatenated along an axis, so the adjoint
# splits dy along that axis and reshapes each piece back
# ---------------------------------------------------------------------------------------------------------------

def _join(fn, prepare, axis_of):
    """Register the rule of a join `fn(arrays, ...)`: `prepare(x, args, kwargs)` is what `fn` makes of each input
    before concatenating along `axis_of(prepared, args, kwargs)`."""
    label = fn.__name__

    def rule(arrays, *args, **kwargs):
        y = fn(arrays, *args, **kwargs)
        prepared = [prepare(x, args, kwargs) for x in arrays]
        axis = axis_of(prepared, args, kwargs) % np.ndim(y)
        bounds = np.cumsum([np.shape(p)[axis] for p in prepared])[:-1]
        shapes = [np.shape(x) for x in arrays]
        forms = [input_form(x) for x in arrays]
        kind, n = type(arrays), 1 + len(args)

        def pullback(dy):
            if dy is None or not any(f is not None for f in forms):
                return nones(n)
            pieces = np.split(dy, bounds, axis=axis)
            parts = [in_form(np.reshape(p, s), f) for p, s, f in zip(pieces, shapes, forms)]
            return (parts if kind is list else tuple(parts),) + nones(n - 1)

        pullback.__name__ = pullback.__qualname__ = f"{label}_pullback"
        return y, pullback

    rrule(fn)(_name(rule, f"{label}_pullback"))
    return rule


def _concatenate_prepare(x, args, kwargs):
    return np.ravel(x) if static_arg(args, kwargs, 0, "axis", 0) is None else np.asarray(x)


def _concatenate_axis(prepared, args, kwargs):
    axis = static_arg(args, kwargs, 0, "axis", 0)
    return 0 if axis is None else axis


def _stack_prepare(x, args, kwargs):
    return np.expand_dims(x, static_arg(args, kwargs, 0, "axis", 0))


def _column(x, args, kwargs):
    x = np.asarray(x)
    return x.reshape(-1, 1) if x.ndim < 2 else x


_join(np.concatenate, _concatenate_prepare, _concatenate_axis)
_join(np.stack, _stack_prepare, lambda prepared, args, kwargs: static_arg(args, kwargs, 0, "axis", 0))
_join(np.vstack, lambda x, a, k: np.atleast_2d(x), lambda prepared, a, k: 0)
_join(np.hstack, lambda x, a, k: np.atleast_1d(x), lambda prepared, a, k: 0 if np.ndim(prepared[0]) == 1 else 1)
_join(np.dstack, lambda x, a, k: np.atleast_3d(x), lambda prepared, a, k: 2)
_join(np.column_stack, _column, lambda prepared, a, k: 1)


# ---------------------------------------------------------------------------------------------------------------
# Splits and appends: the adjoint of a split concatenates the pieces' cotangents (zeros for unused pieces)
# ---------------------------------------------------------------------------------------------------------------

def _split(fn, axis_of):
    label = fn.__name__

    def rule(ary, *args, **kwargs):
        y = fn(ary, *args, **kwargs)
        axis = axis_of(ary, args, kwargs) % max(np.ndim(ary), 1)
        shapes, x_shape, form, n = [np.shape(p) for p in y], np.shape(ary), input_form(ary), 1 + len(args)

        def pullback(dy):
            if dy is None or form is None or all(d is None for d in dy):
                return nones(n)
            parts = [np.zeros(s) if d is None else d for d, s in zip(dy, shapes)]
            return (in_form(np.reshape(np.concatenate(parts, axis=axis), x_shape), form),) + nones(n - 1)

        pullback.__name__ = pullback.__qualname__ = f"{label}_pullback"
        return y, pullback

    rrule(fn)(_name(rule, f"{label}_pullback"))


_split(np.split, lambda x, args, kwargs: static_arg(args, kwargs, 1, "axis", 0))
_split(np.array_split, lambda x, args, kwargs: static_arg(args, kwargs, 1, "axis", 0))
_split(np.hsplit, lambda x, args, kwargs: 1 if np.ndim(x) > 1 else 0)
_split(np.vsplit, lambda x, args, kwargs: 0)
_split(np.dsplit, lambda x, args, kwargs: 2)


@rrule(np.append)
def append_rrule(arr, values, *args, **kwargs):
    # concatenate((arr, values), axis), both raveled first when axis is None
    y = np.append(arr, values, *args, **kwargs)
    axis = static_arg(args, kwargs, 0, "axis", None)
    a_shape, v_shape, a_form, v_form = np.shape(arr), np.shape(values), input_form(arr), input_form(values)
    cut = int(np.prod(a_shape)) if axis is None else a_shape[axis]

    def append_pullback(dy):
        if dy is None:
            return nones(2 + len(args))
        da, dv = np.split(dy, [cut], axis=0 if axis is None else axis)
        return (in_form(np.reshape(da, a_shape), a_form), in_form(np.reshape(dv, v_shape), v_form)) + nones(len(args))

    return y, append_pullback


# ---------------------------------------------------------------------------------------------------------------
# Padding and differences
# ---------------------------------------------------------------------------------------------------------------

_COPYING_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


@rrule(np.pad)
def pad_rrule(array, pad_width, *args, **kwargs):
    # Every padded element is a copy of an element of `array` (or the constant, which takes no cotangent here),
    # so padding an array of element numbers the same way says where each element of y came from.
    mode = static_arg(args, kwargs, 0, "mode", "constant")
    if mode not in _COPYING_PAD_MODES or kwargs.get("reflect_type", "even") != "even":
        raise UnsupportedError(f"np.pad with mode={mode!r} has no rule; modes {_COPYING_PAD_MODES} do")
    y = np.pad(array, pad_width, *args, **kwargs)
    x_shape, form, n = np.shape(array), input_form(array), 2 + len(args)
    size = int(np.prod(x_shape))
    numbers = np.arange(size).reshape(x_shape)
    source = (np.pad(numbers, pad_width, "constant", constant_values=-1) if mode == "constant"
              else np.pad(numbers, pad_width, mode)).ravel()
    inside = source >= 0

    def pad_pullback(dy):
        if dy is None or form is None:
            return nones(n)
        dy = np.asarray(dy).ravel()
        dx = np.zeros(size, dtype=dy.dtype)
        np.add.at(dx, source[inside], dy[inside])
        return (in_form(dx.reshape(x_shape), form),) + nones(n - 1)

    return y, pad_pullback


def _diff_adjoint(dy, x_shape, n=1, axis=-1, prepend=np._NoValue, append=np._NoValue):
    # one difference y[i] = x[i+1] - x[i] has the adjoint dx = -diff(dy) with a zero before and after
    g = dy
    for _ in range(n):
        g = -np.diff(g, axis=axis, prepend=0, append=0)
    if prepend is np._NoValue and append is np._NoValue:
        return g
    # the differences ran over concatenate((prepend, x, append)): keep x's part
    before = 0 if prepend is np._NoValue else (1 if np.ndim(prepend) == 0 else np.shape(prepend)[axis])
    return np.take(g, np.arange(before, before + x_shape[axis]), axis=axis)


_linear(np.diff, _diff_adjoint)
