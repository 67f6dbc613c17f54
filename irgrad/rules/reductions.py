"""Rules for NumPy reductions (`sum`, `mean`, `prod`, `max`, `min`, `std`, `var`, `linalg.norm`, `average`) and
scans (`cumsum`, `cumprod`), as functions and as array methods, with `axis` (int, tuple, None, negative) and
`keepdims`.

Each rule parses NumPy's own parameter list (`_bind`), so `np.sum(x, 0)` and `np.sum(x, axis=0)` read the same;
positional arguments after the array (axis, dtype, ddof ...) get `None` cotangents.  A reduction's pullback
first puts back the reduced axes of `dy` (`_expand`) and then broadcasts it over them.
"""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedError
from .elementwise import (differentiable, fit_cotangent, keyword_signature, named, refuse_complex, refuse_out,
                          stand_in)
from .registry import non_differentiable, rrule

# ---------------------------------------------------------------------------------------------------------------
# Non-differentiable: indices, counts, truth values

non_differentiable(
    np.argmax, np.argmin, np.ndarray.argmax, np.ndarray.argmin, np.any, np.all, np.ndarray.any, np.ndarray.all,
    np.count_nonzero, np.argsort, np.ndarray.argsort, np.nonzero, np.ndarray.nonzero, np.flatnonzero,
)

# ---------------------------------------------------------------------------------------------------------------
# Helpers

SUM_PARAMS = ("axis", "dtype", "out", "keepdims", "initial", "where")     # sum, prod
MEAN_PARAMS = ("axis", "dtype", "out", "keepdims")
MAX_PARAMS = ("axis", "out", "keepdims", "initial", "where")              # max, min, amax, amin
VAR_PARAMS = ("axis", "dtype", "out", "ddof", "keepdims")                 # var, std
SCAN_PARAMS = ("axis", "dtype", "out")                                     # cumsum, cumprod


def _bind(name, params, args, kwargs) -> dict:
    """NumPy's parameters after the array, by name, from the positional and keyword arguments of a call."""
    if len(args) > len(params):
        raise TypeError(f"{name} takes at most {len(params) + 1} positional arguments")
    p = dict(zip(params, args))
    p.update(kwargs)
    return p


def _axes(axis, ndim) -> tuple:
    """`axis` as a sorted tuple of non-negative axes (None: all of them)."""
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(sorted(a % ndim if ndim else a for a in axes))


def _expand(dy, axes, keepdims):
    """dy with the reduced axes put back as length-1 axes, ready to broadcast against the input."""
    return np.asarray(dy) if keepdims or not axes else np.expand_dims(dy, axes)


def _count(shape, axes) -> int:
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


def _full(e, shape):
    """A fresh (writable) array of `shape` from the broadcastable `e`."""
    return np.array(np.broadcast_to(e, shape))


def _reduction(fn, name, params, back, short=None, shape_only=False):
    """Register the rule of a reduction `fn(x, *args, **kwargs)`.  `back(x, y, p, dy)` is its pullback for the
    array argument, given the bound parameters `p`; it runs only when `x` can carry a cotangent.  With
    `shape_only`, the pullback keeps only the shape and dtype of `x` and not `y` (sums, means, cumulative sums)."""
    short = short or fn.__name__

    def reduction_rrule(x, *args, **kwargs):
        p = _bind(name, params, args, kwargs)
        refuse_out(name, p)
        y = fn(x, *args, **kwargs)
        n = 1 + len(args)
        kept_x, kept_y = (stand_in(x), None) if shape_only else (x, y)

        def pullback(dy):
            if dy is None or not differentiable(kept_x):
                return (None,) * n
            with np.errstate(divide="ignore", invalid="ignore"):
                return (fit_cotangent(kept_x, back(np.asarray(kept_x), kept_y, p, dy)),) + (None,) * (n - 1)
        return y, named(pullback, short)
    reduction_rrule.__name__ = reduction_rrule.__qualname__ = f"{short}_rrule"
    rrule(fn)(reduction_rrule)


# ---------------------------------------------------------------------------------------------------------------
# sum, mean: dy spread over the reduced axes (divided by their size for the mean)


def _sum_back(x, y, p, dy):
    axes = _axes(p.get("axis"), x.ndim)
    return _full(_expand(dy, axes, p.get("keepdims", False)), x.shape)


def _mean_back(x, y, p, dy):
    axes = _axes(p.get("axis"), x.ndim)
    return _full(_expand(dy, axes, p.get("keepdims", False)), x.shape) / _count(x.shape, axes)


for _fn, _name in [(np.sum, "numpy.sum"), (np.ndarray.sum, "ndarray.sum")]:
    _reduction(_fn, _name, SUM_PARAMS, _sum_back, shape_only=True)
for _fn, _name in [(np.mean, "numpy.mean"), (np.ndarray.mean, "ndarray.mean")]:
    _reduction(_fn, _name, MEAN_PARAMS, _mean_back, shape_only=True)

# ---------------------------------------------------------------------------------------------------------------
# prod: dx_i = dy * (product of the other elements of its group), from exclusive products from the left and from
# the right, so zeros in the input need no division.


def _products_of_others(x, axes):
    keep = [a for a in range(x.ndim) if a not in axes]
    perm = keep + list(axes)
    xt = np.transpose(x, perm)
    flat = xt.reshape(xt.shape[:len(keep)] + (-1,))
    if flat.shape[-1] == 0:
        return np.zeros_like(x)
    ones = np.ones(flat.shape[:-1] + (1,), dtype=flat.dtype)
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.flip(np.cumprod(np.concatenate([ones, np.flip(flat, -1)[..., :-1]], axis=-1), axis=-1), -1)
    return np.transpose((left * right).reshape(xt.shape), np.argsort(perm))


def _prod_back(x, y, p, dy):
    axes = _axes(p.get("axis"), x.ndim)
    initial = p.get("initial", np._NoValue)
    others = _products_of_others(x, axes)
    if initial is not np._NoValue:
        others = others * initial
    return _expand(dy, axes, p.get("keepdims", False)) * others


for _fn, _name in [(np.prod, "numpy.prod"), (np.ndarray.prod, "ndarray.prod")]:
    _reduction(_fn, _name, SUM_PARAMS, _prod_back)

# ---------------------------------------------------------------------------------------------------------------
# max, min: dy goes to the elements equal to the result, shared equally among ties (as JAX and autograd do)


def _extremum_back(x, y, p, dy):
    refuse_complex("max/min", x)
    axes, keepdims = _axes(p.get("axis"), x.ndim), p.get("keepdims", False)
    mask = x == _expand(y, axes, keepdims)
    count = np.maximum(np.sum(mask, axis=axes, keepdims=True), 1)   # 0 when `initial=` won
    return _expand(dy, axes, keepdims) * mask / count


for _fn, _name in [(np.max, "numpy.max"), (np.amax, "numpy.amax"), (np.ndarray.max, "ndarray.max"),
                   (np.min, "numpy.min"), (np.amin, "numpy.amin"), (np.ndarray.min, "ndarray.min")]:
    _reduction(_fn, _name, MAX_PARAMS, _extremum_back)

# ---------------------------------------------------------------------------------------------------------------
# var, std.  var = sum |c|^2 / (N - ddof) with c = x - mean(x); the mean's own variation drops out because
# sum(c) = 0, so dx = dy * 2 conj(c) / (N - ddof);  std = sqrt(var): dx = dy * conj(c) / ((N - ddof) std).


def _var_parts(x, p):
    if p.get("mean", np._NoValue) is not np._NoValue:
        raise UnsupportedError("numpy.var/std(..., mean=...): a precomputed mean is not differentiated; leave it out")
    axes, keepdims = _axes(p.get("axis"), x.ndim), p.get("keepdims", False)
    ddof = p.get("ddof", 0)
    if ddof is np._NoValue or ddof is None:
        ddof = 0
    corr = p.get("correction", np._NoValue)
    if corr is not np._NoValue and corr is not None:
        ddof = corr
    c = np.conj(x - np.mean(x, axis=axes, keepdims=True))
    return axes, keepdims, c, _count(x.shape, axes) - ddof


def _var_back(x, y, p, dy):
    axes, keepdims, c, denom = _var_parts(x, p)
    return _expand(dy, axes, keepdims) * 2.0 * c / denom


def _std_back(x, y, p, dy):
    axes, keepdims, c, denom = _var_parts(x, p)
    return _expand(dy, axes, keepdims) * c / (denom * _expand(y, axes, keepdims))


for _fn, _name in [(np.var, "numpy.var"), (np.ndarray.var, "ndarray.var")]:
    _reduction(_fn, _name, VAR_PARAMS, _var_back)
for _fn, _name in [(np.std, "numpy.std"), (np.ndarray.std, "ndarray.std")]:
    _reduction(_fn, _name, VAR_PARAMS, _std_back)

# ---------------------------------------------------------------------------------------------------------------
# linalg.norm: vector norms along one axis, matrix norms over two, the 2-norm of everything by default


def _dabs(x):
    """d|x| as a cotangent factor: sign(x) for real x, conj(x)/|x| for complex; 0 at 0 (a subgradient)."""
    if not np.iscomplexobj(x):
        return np.sign(x)
    a = np.abs(x)
    return np.where(a == 0, 0.0, np.conj(x) / np.where(a == 0, 1.0, a))


def _shared(values, target, axis):
    """Weights of the entries of `values` equal to `target` along `axis`, ties sharing equally."""
    mask = values == target
    return mask / np.maximum(np.sum(mask, axis=axis, keepdims=True), 1)


def _vector_norm_back(x, y, ord, axis, e):
    """x reduced along `axis` (a tuple; `e` = dy and y with that axis kept)."""
    dy, y = e
    if ord is None or ord == 2:
        return dy * np.where(y == 0, 0.0, np.conj(x) / np.where(y == 0, 1.0, y))
    if ord == 0:                       # the number of nonzeros: piecewise constant
        return None
    if ord == 1:
        return dy * _dabs(x)
    if ord in (np.inf, -np.inf):
        return dy * _dabs(x) * _shared(np.abs(x), y, axis)
    # general p: y = (sum |x|^p)^(1/p), dy/dx = |x|^(p-1) d|x| / y^(p-1)
    return dy * np.abs(x) ** (ord - 1) * _dabs(x) / y ** (ord - 1)


def _matrix_norm_back(x, y, ord, axes, e):
    """x reduced over the two `axes` (rows, columns)."""
    dy, y = e
    if ord in (None, "fro"):
        return dy * np.where(y == 0, 0.0, np.conj(x) / np.where(y == 0, 1.0, y))
    r, c = axes
    if ord in (1, -1):                 # max (min) over columns of the column sums of |x|
        sums = np.sum(np.abs(x), axis=r, keepdims=True)
        return dy * _dabs(x) * _shared(sums, y, c)
    if ord in (np.inf, -np.inf):       # max (min) over rows of the row sums of |x|
        sums = np.sum(np.abs(x), axis=c, keepdims=True)
        return dy * _dabs(x) * _shared(sums, y, r)
    if ord in (2, -2, "nuc"):
        # x = U S V^T: d sigma_k = u_k v_k^T (for a simple singular value); the nuclear norm sums them.
        refuse_complex(f"numpy.linalg.norm(ord={ord!r})", x)
        xm = np.moveaxis(x, (r, c), (-2, -1))
        u, _, vt = np.linalg.svd(xm, full_matrices=False)
        if ord == "nuc":
            g = u @ vt
        else:
            k = 0 if ord == 2 else u.shape[-1] - 1      # singular values come sorted, largest first
            g = u[..., :, k:k + 1] @ vt[..., k:k + 1, :]
        return dy * np.moveaxis(g, (-2, -1), (r, c))
    raise UnsupportedError(f"numpy.linalg.norm(ord={ord!r}): no rule for this matrix norm")


@rrule(np.linalg.norm)
def norm_rrule(x, *args, **kwargs):
    p = _bind("numpy.linalg.norm", ("ord", "axis", "keepdims"), args, kwargs)
    y = np.linalg.norm(x, *args, **kwargs)
    ord, axis, keepdims = p.get("ord"), p.get("axis"), p.get("keepdims", False)
    n = 1 + len(args)

    def norm_pullback(dy):
        if dy is None or not differentiable(x):
            return (None,) * n
        xa = np.asarray(x)
        axes = _axes(axis, xa.ndim)
        e = (_expand(dy, axes, keepdims), _expand(y, axes, keepdims))
        with np.errstate(divide="ignore", invalid="ignore"):
            if axis is None and ord is None:
                dx = _vector_norm_back(xa, y, None, axes, e)
            elif len(axes) == 1:
                dx = _vector_norm_back(xa, y, ord, axes, e)
            else:
                dx = _matrix_norm_back(xa, y, ord, tuple(_axes(axis, xa.ndim) if axis is None else
                                                           (a % xa.ndim for a in axis)), e)
        return (fit_cotangent(x, dx),) + (None,) * (n - 1)
    return y, norm_pullback


# ---------------------------------------------------------------------------------------------------------------
# Scans.  cumsum: dx = the reversed cumulative sum of dy.  cumprod: dx_i = sum_{j >= i} dy_j prod_{k <= j, k != i}
# x_k, which is revcumsum(dy * y) / x_i when no x is zero.


def _scan_axis(x, p):
    """The scanned axis and the input viewed as the scan sees it (flattened when axis is None)."""
    axis = p.get("axis")
    return (0, x.reshape(-1)) if axis is None else (axis % max(x.ndim, 1), x)


def _revcumsum(g, axis):
    return np.flip(np.cumsum(np.flip(g, axis), axis), axis)


def _cumsum_back(x, y, p, dy):
    axis, _ = _scan_axis(x, p)
    return _revcumsum(np.asarray(dy), axis).reshape(x.shape)


def _cumprod_back(x, y, p, dy):
    axis, xs = _scan_axis(x, p)
    dy = np.asarray(dy)
    if np.all(xs != 0):
        return (_revcumsum(dy * y, axis) / xs).reshape(x.shape)
    # With zeros: the products prod_{k <= j, k != i} x_k for all i, j at once (x_i replaced by 1 in row i).
    xm, gm = np.moveaxis(xs, axis, -1), np.moveaxis(dy, axis, -1)
    n = xm.shape[-1]
    eye = np.eye(n, dtype=bool)
    rows = np.where(eye, 1.0, xm[..., None, :])              # rows[..., i, k] = x_k, or 1 where k == i
    partial = np.cumprod(rows, axis=-1)                       # partial[..., i, j] = prod_{k <= j, k != i} x_k
    upper = np.triu(np.ones((n, n), dtype=bool))              # only j >= i contributes
    dx = np.sum(np.where(upper, partial * gm[..., None, :], 0.0), axis=-1)
    return np.moveaxis(dx, -1, axis).reshape(x.shape)


for _fn, _name in [(np.cumsum, "numpy.cumsum"), (np.ndarray.cumsum, "ndarray.cumsum")]:
    _reduction(_fn, _name, SCAN_PARAMS, _cumsum_back, shape_only=True)
for _fn, _name in [(np.cumprod, "numpy.cumprod"), (np.ndarray.cumprod, "ndarray.cumprod")]:
    _reduction(_fn, _name, SCAN_PARAMS, _cumprod_back)


# ---------------------------------------------------------------------------------------------------------------
# ufunc methods: `np.add.reduce(x)` is a sum along axis 0 unless told otherwise, `np.add.accumulate` a cumsum.
# The bound methods compare equal on every access, so they key the registry themselves.


def _along_axis0(back):
    return lambda x, y, p, dy: back(x, y, {"axis": 0, **p}, dy)


for _uf, _back in [(np.add, _sum_back), (np.multiply, _prod_back), (np.maximum, _extremum_back),
                   (np.minimum, _extremum_back), (np.fmax, _extremum_back), (np.fmin, _extremum_back)]:
    _reduction(_uf.reduce, f"numpy.{_uf.__name__}.reduce", SUM_PARAMS, _along_axis0(_back),
               short=f"{_uf.__name__}_reduce")
for _uf, _back in [(np.add, _cumsum_back), (np.multiply, _cumprod_back)]:
    _reduction(_uf.accumulate, f"numpy.{_uf.__name__}.accumulate", SCAN_PARAMS, _along_axis0(_back),
               short=f"{_uf.__name__}_accumulate")


# ---------------------------------------------------------------------------------------------------------------
# average(a, axis, weights): y = sum(w a) / sum(w).  da = dy w / sum(w);  dw = dy (a - y) / sum(w).


@rrule(np.average)
@keyword_signature("a", axis=None, weights=None)
def average_rrule(a, *args, **kwargs):
    """Weights passed positionally get a cotangent (NumPy's order: a, axis, weights, returned)."""
    p = _bind("numpy.average", ("axis", "weights", "returned", "keepdims"), args, kwargs)
    y = np.average(a, *args, **kwargs)
    n = 1 + len(args)
    w, axis, keepdims, returned = p.get("weights"), p.get("axis"), p.get("keepdims", False), p.get("returned")
    if keepdims is np._NoValue:
        keepdims = False

    def average_pullback(dy):
        d_avg, d_sw = (dy if dy is not None else (None, None)) if returned else (dy, None)
        if d_avg is None and d_sw is None:
            return (None,) * n
        x = np.asarray(a)
        axes = _axes(axis, x.ndim)
        if w is None:
            wb = np.ones(x.shape)
        else:
            wa = np.asarray(w)
            # 1-D weights along a single axis are laid out along that axis
            wb = wa if wa.shape == x.shape else np.reshape(wa, [-1 if i == axes[0] else 1 for i in range(x.ndim)])
        sw = np.sum(np.broadcast_to(wb, x.shape), axis=axes, keepdims=True)
        g = 0.0 if d_avg is None else _expand(d_avg, axes, keepdims)
        avg = np.asarray(y[0] if returned else y)
        da = g * wb / sw
        dw = g * (x - _expand(avg, axes, keepdims)) / sw
        if d_sw is not None:
            dw = dw + _expand(d_sw, axes, keepdims)
        out = [fit_cotangent(a, _full(da, x.shape)) if differentiable(a) else None]
        if len(args) >= 2 and differentiable(w):
            dw = _full(dw, x.shape)
            if np.shape(w) != x.shape:
                other = tuple(i for i in range(x.ndim) if i != axes[0])
                dw = np.sum(dw, axis=other)
            out.append(None)
            out.append(fit_cotangent(w, dw))
        return tuple(out + [None] * (n - len(out)))
    return y, average_pullback
