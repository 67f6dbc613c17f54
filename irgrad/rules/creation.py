"""Rules for functions that make arrays rather than transform them: constructors, ranges, random draws, and
queries of shape, order and position (argmax, nonzero, searchsorted ...).

Most have no derivative.  Those whose values do depend on a float argument get a rule, so that a gradient
through them is right rather than silently zero: `full` and `full_like` (the fill value), `arange`, `linspace`
and `logspace` (start and stop), `meshgrid` (its vectors), `bincount` (its weights).  Random draws are
non-differentiable: the derivative of a sample with respect to its distribution's parameters is a modelling choice
(write `mu + sigma * rng.standard_normal(n)` for the reparameterised form).  `shuffle` mutates its argument in
place and has no rule.
"""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedError
from ..tangent import unbroadcast
from .registry import non_differentiable, rrule
from .shapes import in_form, input_form, nones, static_arg

# ---------------------------------------------------------------------------------------------------------------
# Non-differentiable
# ---------------------------------------------------------------------------------------------------------------

non_differentiable(
    # constructors whose values do not depend on their arguments' values
    np.zeros, np.ones, np.empty, np.zeros_like, np.ones_like, np.empty_like, np.eye, np.identity, np.tri,
    np.indices, np.tril_indices, np.triu_indices, np.diag_indices, np.unravel_index, np.ravel_multi_index,
    # positions, orders, counts, shapes
    np.argmax, np.argmin, np.argsort, np.nonzero, np.flatnonzero, np.argwhere, np.count_nonzero,
    np.searchsorted, np.digitize, np.shape, np.ndim, np.size, np.array_equiv, np.argpartition, np.lexsort,
    np.isin, np.broadcast_shapes,
    np.ndarray.argmax, np.ndarray.argmin, np.ndarray.argsort, np.ndarray.nonzero,
)

_RANDOM_DRAWS = (
    "rand", "randn", "randint", "random", "random_sample", "ranf", "sample", "standard_normal", "normal",
    "uniform", "choice", "permutation", "permuted", "integers", "exponential", "standard_exponential", "poisson",
    "binomial", "multinomial", "beta", "gamma", "standard_gamma", "laplace", "logistic", "lognormal", "geometric",
    "chisquare", "dirichlet", "multivariate_normal", "bytes", "seed", "default_rng", "get_state", "bit_generator",
    "spawn",
)
# module functions (bound methods of NumPy's global RandomState) and the methods of Generator and RandomState,
# registered on the class attribute and reached from `rng.normal` for any instance `rng`
non_differentiable(*(getattr(owner, name) for owner in (np.random, np.random.Generator, np.random.RandomState)
                     for name in _RANDOM_DRAWS if callable(getattr(owner, name, None))))



_GIVEN_NOT = object()   # a default that tells "not passed" from an explicit None


# ---------------------------------------------------------------------------------------------------------------
# Fills: y = fill_value broadcast to a shape, so d fill_value = dy summed back to its shape
# ---------------------------------------------------------------------------------------------------------------

@rrule(np.full)
def full_rrule(shape, fill_value, *args, **kwargs):
    y = np.full(shape, fill_value, *args, **kwargs)
    v_shape, form, n = np.shape(fill_value), input_form(fill_value), len(args)

    def full_pullback(dy):
        if dy is None or form is None:
            return nones(2 + n)
        return (None, in_form(unbroadcast(v_shape, dy), form)) + nones(n)

    return y, full_pullback


@rrule(np.full_like)
def full_like_rrule(a, fill_value, *args, **kwargs):
    y = np.full_like(a, fill_value, *args, **kwargs)
    v_shape, n = np.shape(fill_value), len(args)
    form = input_form(fill_value) if y.dtype.kind in "fc" else None

    def full_like_pullback(dy):
        if dy is None or form is None:
            return nones(2 + n)
        return (None, in_form(unbroadcast(v_shape, dy), form)) + nones(n)

    return y, full_like_pullback


# ---------------------------------------------------------------------------------------------------------------
# Ranges
# ---------------------------------------------------------------------------------------------------------------

@rrule(np.arange)
def arange_rrule(*args, **kwargs):
    # y[i] = start + i * step; stop only sets the length (piecewise constant), so it gets no cotangent
    y = np.arange(*args, **kwargs)
    if len(args) == 1:
        names = ("stop",)
    else:
        names = ("start", "stop", "step")[:len(args)]
    given = dict(zip(names, args))
    start_form = input_form(given.get("start", kwargs.get("start", 0)))
    step_form = input_form(given.get("step", kwargs.get("step", 1)))
    differentiable = y.dtype.kind in "fc"

    def arange_pullback(dy):
        if dy is None or not differentiable:
            return nones(len(args))
        dy = np.asarray(dy)
        parts = {"start": in_form(np.sum(dy), start_form),
                 "step": in_form(np.sum(dy * np.arange(dy.shape[0])), step_form)}
        return tuple(parts.get(name) for name in names)

    return y, arange_pullback


def _linspace_parts(start, stop, num, endpoint, axis, dlin):
    """Cotangents of start and stop from the cotangent `dlin` of y = start + (stop - start) t, t in [0, 1]."""
    t = np.linspace(0.0, 1.0, num, endpoint=endpoint)
    g = np.moveaxis(np.asarray(dlin), axis, 0)
    t = t.reshape((-1,) + (1,) * (g.ndim - 1))
    return (in_form(unbroadcast(np.shape(start), np.sum(g * (1 - t), axis=0)), input_form(start)),
            in_form(unbroadcast(np.shape(stop), np.sum(g * t, axis=0)), input_form(stop)))


@rrule(np.linspace)
def linspace_rrule(start, stop, *args, **kwargs):
    y = np.linspace(start, stop, *args, **kwargs)
    num, endpoint = static_arg(args, kwargs, 0, "num", 50), static_arg(args, kwargs, 1, "endpoint", True)
    retstep, axis = static_arg(args, kwargs, 2, "retstep", False), static_arg(args, kwargs, 4, "axis", 0)
    div = (num - 1 if endpoint else num) or 1
    samples = y[0] if retstep else y
    differentiable = samples.dtype.kind in "fc" and (input_form(start) or input_form(stop)) is not None

    def linspace_pullback(dy):
        dlin, dstep = (dy if dy is not None else (None, None)) if retstep else (dy, None)
        if not differentiable or (dlin is None and dstep is None):
            return nones(2 + len(args))
        if dlin is None:
            dlin = np.zeros(samples.shape)
        dstart, dstop = _linspace_parts(start, stop, num, endpoint, axis, dlin)
        if dstep is not None:            # step = (stop - start) / div
            dstart = None if dstart is None else dstart - in_form(unbroadcast(np.shape(start), dstep / div),
                                                                   input_form(start))
            dstop = None if dstop is None else dstop + in_form(unbroadcast(np.shape(stop), dstep / div),
                                                              input_form(stop))
        return (dstart, dstop) + nones(len(args))

    return y, linspace_pullback


@rrule(np.logspace)
def logspace_rrule(start, stop, *args, **kwargs):
    # y = base ** lin with lin = linspace(start, stop): d lin = dy y ln(base), d base = sum(dy y lin / base)
    y = np.logspace(start, stop, *args, **kwargs)
    num, endpoint = static_arg(args, kwargs, 0, "num", 50), static_arg(args, kwargs, 1, "endpoint", True)
    base, axis = static_arg(args, kwargs, 2, "base", 10.0), static_arg(args, kwargs, 4, "axis", 0)
    lin = np.linspace(start, stop, num, endpoint=endpoint, axis=axis)
    base_form = input_form(base) if len(args) > 2 else None

    def logspace_pullback(dy):
        if dy is None:
            return nones(2 + len(args))
        dstart, dstop = _linspace_parts(start, stop, num, endpoint, axis, dy * y * np.log(base))
        rest = list(nones(len(args)))
        if base_form is not None:
            rest[2] = in_form(np.sum(dy * y * lin / base), base_form)
        return (dstart, dstop) + tuple(rest)

    return y, logspace_pullback


@rrule(np.meshgrid)
def meshgrid_rrule(*xi, **kwargs):
    # output k is vector k (flattened) laid along one axis and broadcast: its cotangent sums over the others
    y = np.meshgrid(*xi, **kwargs)
    nd = len(xi)
    axis_of = list(range(nd))
    if kwargs.get("indexing", "xy") == "xy" and nd > 1:
        axis_of[0], axis_of[1] = 1, 0
    shapes, forms = [np.shape(x) for x in xi], [input_form(x) for x in xi]

    def meshgrid_pullback(dy):
        if dy is None:
            return nones(nd)
        out = []
        for k, d in enumerate(dy):
            if d is None or forms[k] is None:
                out.append(None)
                continue
            others = tuple(a for a in range(np.ndim(d)) if a != axis_of[k])
            out.append(in_form(np.reshape(np.sum(d, axis=others), shapes[k]), forms[k]))
        return tuple(out)

    return y, meshgrid_pullback


# ---------------------------------------------------------------------------------------------------------------
# Counting and unique values
# ---------------------------------------------------------------------------------------------------------------

@rrule(np.bincount)
def bincount_rrule(x, weights=_GIVEN_NOT, *args, **kwargs):
    # y[k] = sum of the weights w[i] with x[i] == k, so dw[i] = dy[x[i]]
    given = weights is not _GIVEN_NOT
    y = np.bincount(x, weights if given else None, *args, **kwargs)
    form = input_form(weights) if given else None
    n = 1 + given + len(args)

    def bincount_pullback(dy):
        if dy is None or form is None:
            return nones(n)
        return (None, in_form(np.asarray(dy)[np.asarray(x)], form)) + nones(n - 2)

    return y, bincount_pullback


@rrule(np.unique)
def unique_rrule(ar, *args, **kwargs):
    # Each unique value is the element at its first occurrence; the cotangent goes there (a tie, like max's,
    # would split the value, so the derivative is one-sided where values repeat).
    y = np.unique(ar, *args, **kwargs)
    form, x_shape, n = input_form(ar), np.shape(ar), len(args)
    if form is None:
        def unique_pullback(dy):
            return nones(1 + n)
        return y, unique_pullback
    if static_arg(args, kwargs, 3, "axis", None) is not None:
        raise UnsupportedError("np.unique with axis= of a float array has no rule; call it on integer labels, "
                               "or register a rule with irgrad.rrule")
    first = np.unique(ar, return_index=True)[1]

    def unique_pullback(dy):
        d = dy[0] if isinstance(dy, tuple) else dy
        if d is None:
            return nones(1 + n)
        dx = np.zeros(int(np.prod(x_shape)), dtype=np.asarray(d).dtype)
        dx[first] = d
        return (in_form(dx.reshape(x_shape), form),) + nones(n)

    return y, unique_pullback
