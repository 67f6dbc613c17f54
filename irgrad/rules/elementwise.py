"""Rules for NumPy ufuncs and elementwise functions, and the array methods that are elementwise.

Conventions (see `registry.py`): a pullback returns one cotangent per positional argument, `None` for zero.
Every cotangent goes through `fit_cotangent(x, dx)`, which undoes broadcasting and gives each argument a
cotangent of its own kind: an ndarray of its shape and dtype, a Python float for a Python float, `None` for ints,
bools and integer arrays.

Complex numbers follow JAX and autograd: cotangents pair bilinearly (`Re(sum(dx * t))`), so a holomorphic `f`
has the pullback `dy * f'(x)` with no conjugate; `abs`, `real`, `imag`, `conj`, `angle` have their own rules.
Functions that are not defined or not holomorphic on complex numbers (`maximum`, `clip`, `hypot` ...) refuse
complex input with `UnsupportedError` rather than return a wrong gradient.
"""
from __future__ import annotations

import inspect
import numbers

import numpy as np

from ..errors import UnsupportedError
from ..tangent import unbroadcast
from .registry import non_differentiable, rrule

# ---------------------------------------------------------------------------------------------------------------
# Helpers shared by the rule modules (operators, pymath, reductions)


def differentiable(x) -> bool:
    """Can `x` carry a nonzero cotangent?  Floats, complex numbers, inexact arrays, and lists/tuples of them."""
    if isinstance(x, (bool, np.bool_)):
        return False
    if isinstance(x, (float, complex, np.inexact)):
        return True
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "fc"
    if isinstance(x, (list, tuple)):
        return any(differentiable(v) for v in x)
    return False


def fit_cotangent(x, dx):
    """`dx` made into the cotangent of the argument `x`: broadcasting undone, real part for a real `x`, cast to
    `x`'s dtype; a Python float for a Python float; a list or tuple for a list or tuple; None for non-floats."""
    if dx is None or not differentiable(x):
        return None
    if isinstance(x, (list, tuple)):
        parts = unbroadcast(np.shape(x), dx)
        out = [fit_cotangent(v, d) for v, d in zip(x, parts)]
        return type(x)(out) if any(d is not None for d in out) else None
    shape = np.shape(x)
    if np.ndim(dx) < len(shape):      # a scalar cotangent for a (size-1) array, e.g. of float(x)
        dx = np.full(shape, dx)
    dx = unbroadcast(shape, dx)
    if isinstance(x, np.ndarray):
        if x.dtype.kind == "f" and np.iscomplexobj(dx):
            dx = np.real(dx)
        return np.asarray(dx, dtype=x.dtype)
    if isinstance(x, np.generic):       # before float: np.float64 is a subclass of float
        return x.dtype.type(np.real(dx) if x.dtype.kind == "f" else dx)
    if isinstance(x, complex):
        return complex(dx)
    return float(np.real(dx))


def is_numeric(x) -> bool:
    """A number, NumPy scalar or array: what arithmetic rules handle (as opposed to lists, strings, objects)."""
    return isinstance(x, (numbers.Number, np.ndarray, np.generic))


def refuse_complex(name, *xs):
    """For rules of functions that are not holomorphic: never return a wrong gradient for complex input."""
    for x in xs:
        if x is not None and np.iscomplexobj(x):
            raise UnsupportedError(
                f"{name} of a complex value: irgrad has no rule for it (it is not holomorphic); "
                "write it with real and imaginary parts, or register your own with irgrad.rrule")


def refuse_out(name, kwargs):
    """`out=` writes into an existing array and `where=` leaves parts of it untouched: mutation is not
    differentiated."""
    if kwargs.get("out") is not None:
        raise UnsupportedError(
            f"{name}(..., out=...) writes into an existing array; irgrad does not differentiate mutation: "
            f"write `y = {name}(...)` instead")
    w = kwargs.get("where", True)
    if not (w is True or (isinstance(w, (bool, np.bool_)) and w)):
        raise UnsupportedError(
            f"{name}(..., where=...) leaves part of its output unset; irgrad has no rule for it: "
            "use np.where(cond, f(x), other) instead")


def named(pullback, fn_name):
    """Name a pullback made by a factory `<fn>_pullback`, so tracebacks and dumps say which rule it is."""
    pullback.__name__ = pullback.__qualname__ = f"{fn_name}_pullback"
    return pullback


def stand_in(x):
    """What a pullback keeps of an argument whose values it does not need: for an array, a zero-strided view of
    the same shape and dtype (no memory); anything else as it is."""
    if isinstance(x, np.ndarray):
        return np.broadcast_to(np.zeros((), x.dtype), x.shape)
    return x


def binary_pullback(name, a, b, y, da, db):
    """The pullback of `y = f(a, b)` from the two partial cotangent maps `da(dy, a, b, y)`, `db(dy, a, b, y)`,
    each computed only when its argument can carry a cotangent.  Sums and differences keep only shapes."""
    if (da, db) in (ADD, SUB, FLOORDIV):
        a, b, y = stand_in(a), stand_in(b), None

    def pullback(dy):
        if dy is None:
            return (None, None)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (fit_cotangent(a, da(dy, a, b, y)) if differentiable(a) else None,
                    fit_cotangent(b, db(dy, a, b, y)) if differentiable(b) else None)
    return named(pullback, name)


# ---------------------------------------------------------------------------------------------------------------
# Non-differentiable: piecewise constant, boolean, integer-valued

non_differentiable(
    np.sign, np.heaviside, np.floor, np.ceil, np.trunc, np.rint, np.round, np.around, np.fix, np.floor_divide,
    np.isnan, np.isinf, np.isfinite, np.isneginf, np.isposinf, np.signbit, np.isclose, np.allclose,
    np.array_equal, np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor, np.isreal, np.iscomplex,
)

# ---------------------------------------------------------------------------------------------------------------
# Unary: y = f(x), dx = dy * f'(x).  `deriv(x, y)` gives f'(x) from the input or the output, whichever is cheaper.


def _unary(fn, deriv, real_only=False, linear=False):
    """Register dx = dy * deriv(x, y).  A `linear` function's derivative is a constant: its pullback keeps only
    the shape and dtype of x."""
    name = f"numpy.{fn.__name__}"

    def unary_rrule(x, *out, **kwargs):
        refuse_out(name, dict(kwargs, out=out) if out else kwargs)     # np.sin(x, out) passes `out` by position
        if real_only:
            refuse_complex(name, x)
        y = fn(x, **kwargs)
        kept_x, kept_y = (stand_in(x), None) if linear else (x, y)

        def pullback(dy):
            if dy is None or not differentiable(kept_x):
                return (None,)
            with np.errstate(divide="ignore", invalid="ignore"):
                return (fit_cotangent(kept_x, dy * deriv(kept_x, kept_y)),)
        return y, named(pullback, fn.__name__)
    unary_rrule.__name__ = unary_rrule.__qualname__ = f"{fn.__name__}_rrule"
    rrule(fn)(unary_rrule)


_LN2, _LN10 = np.log(2.0), np.log(10.0)

_unary(np.negative, lambda x, y: -1.0, linear=True)
_unary(np.positive, lambda x, y: 1.0, linear=True)
_unary(np.square, lambda x, y: 2.0 * x)
_unary(np.sqrt, lambda x, y: 0.5 / y)
_unary(np.cbrt, lambda x, y: 1.0 / (3.0 * y * y), real_only=True)     # y = x^(1/3): y' = 1 / (3 y^2)
_unary(np.reciprocal, lambda x, y: -y * y)
_unary(np.exp, lambda x, y: y)
_unary(np.exp2, lambda x, y: y * _LN2)
_unary(np.expm1, lambda x, y: y + 1.0)
_unary(np.log, lambda x, y: 1.0 / x)
_unary(np.log2, lambda x, y: 1.0 / (x * _LN2))
_unary(np.log10, lambda x, y: 1.0 / (x * _LN10))
_unary(np.log1p, lambda x, y: 1.0 / (1.0 + x))
_unary(np.sin, lambda x, y: np.cos(x))
_unary(np.cos, lambda x, y: -np.sin(x))
_unary(np.tan, lambda x, y: 1.0 + y * y)
_unary(np.arcsin, lambda x, y: 1.0 / np.sqrt(1.0 - x * x))
_unary(np.arccos, lambda x, y: -1.0 / np.sqrt(1.0 - x * x))
_unary(np.arctan, lambda x, y: 1.0 / (1.0 + x * x))
_unary(np.sinh, lambda x, y: np.cosh(x))
_unary(np.cosh, lambda x, y: np.sinh(x))
_unary(np.tanh, lambda x, y: 1.0 - y * y)
_unary(np.arcsinh, lambda x, y: 1.0 / np.sqrt(x * x + 1.0))
_unary(np.arccosh, lambda x, y: 1.0 / np.sqrt(x * x - 1.0))
_unary(np.arctanh, lambda x, y: 1.0 / (1.0 - x * x))
_unary(np.deg2rad, lambda x, y: np.pi / 180.0, real_only=True, linear=True)
_unary(np.radians, lambda x, y: np.pi / 180.0, real_only=True, linear=True)
_unary(np.rad2deg, lambda x, y: 180.0 / np.pi, real_only=True, linear=True)
_unary(np.degrees, lambda x, y: 180.0 / np.pi, real_only=True, linear=True)
_unary(np.fabs, lambda x, y: np.sign(x), real_only=True)            # 0 at the kink, as JAX and autograd


def _sinc_deriv(x, y):
    # sinc(x) = sin(pi x) / (pi x):  sinc'(x) = (cos(pi x) - sinc(x)) / x, and 0 at x = 0.
    safe = np.where(x == 0, 1.0, x)
    return np.where(x == 0, 0.0, (np.cos(np.pi * x) - y) / safe)


_unary(np.sinc, _sinc_deriv, real_only=True)


@rrule(np.absolute)
def absolute_rrule(x, **kwargs):
    refuse_out("numpy.absolute", kwargs)
    y = np.absolute(x, **kwargs)
    return y, abs_pullback_of(x, y)


def abs_pullback_of(x, y):
    """|x| for real x: dy * sign(x) (0 at the kink).  For complex x, |x| = sqrt(x conj(x)) is real and its
    pullback under the bilinear pairing is dy * conj(x) / |x| (0 at 0), as autograd's."""
    def abs_pullback(dy):
        if dy is None or not differentiable(x):
            return (None,)
        if np.iscomplexobj(x):
            with np.errstate(divide="ignore", invalid="ignore"):
                g = np.where(y == 0, 0.0, np.conj(x) / np.where(y == 0, 1.0, y))
            return (fit_cotangent(x, np.real(dy) * g),)
        return (fit_cotangent(x, dy * np.sign(x)),)
    return abs_pullback


@rrule(np.conjugate)
def conjugate_rrule(x, **kwargs):
    refuse_out("numpy.conjugate", kwargs)

    def conjugate_pullback(dy):
        return (None,) if dy is None else (fit_cotangent(x, np.conj(dy)),)
    return np.conjugate(x, **kwargs), conjugate_pullback


@rrule(np.real)
def real_rrule(x):
    # Re is linear: the pairing Re(dy * Re(t)) = Re(dy * t) for a real dy, so dx = dy.
    def real_pullback(dy):
        return (None,) if dy is None else (fit_cotangent(x, np.real(dy)),)
    return np.real(x), real_pullback


@rrule(np.imag)
def imag_rrule(x):
    # Im(t) = Re(-i t): dx = -i dy.  The imaginary part of a real value is the constant 0.
    def imag_pullback(dy):
        if dy is None or not np.iscomplexobj(x):
            return (None,)
        return (fit_cotangent(x, -1j * np.real(dy)),)
    return np.imag(x), imag_pullback


@rrule(np.angle)
def angle_rrule(z, *args, **kwargs):
    # angle(z) = Im(log z): d angle = Im(dz / z) = Re(-i dz / z), so dz = -i dy / z.  Constant for real z.
    y = np.angle(z, *args, **kwargs)
    scale = 180.0 / np.pi if (args[0] if args else kwargs.get("deg", False)) else 1.0

    def angle_pullback(dy):
        out = (None,) * (1 + len(args))
        if dy is None or not np.iscomplexobj(z):
            return out
        return (fit_cotangent(z, -1j * scale * np.real(dy) / z),) + out[1:]
    return y, angle_pullback


# ---------------------------------------------------------------------------------------------------------------
# Binary: y = f(a, b).  Each entry is the pair of partial maps (dy, a, b, y) -> cotangent before unbroadcasting.
# Each binary ufunc's `outer` method gets a rule too (`np.subtract.outer(x, y)` for pairwise differences).


def _ties(a, b, y):
    """Weights of `a` in y = max/min(a, b): 1 where `a` alone is the result, 1/2 on ties (as autograd's
    `balanced_eq`), 0 where `b` is; NaN results give 0 to both."""
    wa, wb = (a == y), (b == y)
    return np.where(wa & wb, 0.5, wa.astype(float))


def _pow_base(dy, a, b, y):
    # d(a^b)/da = b a^(b-1); exactly 0 where b == 0 (avoids 0 * inf at a == 0).  A real base with a complex
    # result (a negative float to a fractional power in Python) is differentiated as a complex number.
    base = np.asarray(a, dtype=complex) if np.iscomplexobj(y) and not np.iscomplexobj(a) else np.asarray(a)
    return dy * np.where(np.asarray(b) == 0, 0.0, b * base ** (b - 1))


def _pow_exponent(dy, a, b, y):
    # d(a^b)/db = a^b log(a); taken as 0 where a == 0 (the limit from a > 0 for b > 0), as JAX does.
    base = np.asarray(a, dtype=complex) if np.iscomplexobj(y) and not np.iscomplexobj(a) else np.asarray(a)
    return dy * np.where(base == 0, 0.0, y * np.log(np.where(base == 0, 1.0, base)))


def _same(dy, a, b, y):
    return dy


def _zero(dy, a, b, y):
    return None


ADD = (_same, _same)
SUB = (_same, lambda dy, a, b, y: -dy)
MUL = (lambda dy, a, b, y: dy * b, lambda dy, a, b, y: dy * a)
DIV = (lambda dy, a, b, y: dy / b, lambda dy, a, b, y: -dy * y / b)
POW = (_pow_base, _pow_exponent)
# a mod b = a - b floor(a / b), floor piecewise constant (JAX's rule); fmod truncates instead.
MOD = (_same, lambda dy, a, b, y: -dy * np.floor_divide(a, b))
FMOD = (_same, lambda dy, a, b, y: -dy * np.trunc(np.divide(a, b)))
FLOORDIV = (_zero, _zero)
ARCTAN2 = (lambda dy, a, b, y: dy * b / (a * a + b * b), lambda dy, a, b, y: -dy * a / (a * a + b * b))
HYPOT = (lambda dy, a, b, y: dy * np.where(y == 0, 0.0, a / np.where(y == 0, 1.0, y)),
         lambda dy, a, b, y: dy * np.where(y == 0, 0.0, b / np.where(y == 0, 1.0, y)))
# logaddexp: y = log(e^a + e^b), dy/da = e^(a - y); logaddexp2 likewise in base 2.
LOGADDEXP = (lambda dy, a, b, y: dy * np.exp(a - y), lambda dy, a, b, y: dy * np.exp(b - y))
LOGADDEXP2 = (lambda dy, a, b, y: dy * np.exp2(a - y), lambda dy, a, b, y: dy * np.exp2(b - y))
EXTREMUM = (lambda dy, a, b, y: dy * _ties(a, b, y), lambda dy, a, b, y: dy * _ties(b, a, y))
# copysign(a, b) = |a| sign(b): +-1 in a, piecewise constant in b.
COPYSIGN = (lambda dy, a, b, y: dy * np.where(np.signbit(a) == np.signbit(y), 1.0, -1.0), _zero)


def _binary(fn, partials, real_only=False):
    name = f"numpy.{fn.__name__}"

    def binary_rrule(a, b, *out, **kwargs):
        refuse_out(name, dict(kwargs, out=out) if out else kwargs)
        if real_only:
            refuse_complex(name, a, b)
        y = fn(a, b, **kwargs)
        return y, binary_pullback(fn.__name__, a, b, y, *partials)
    binary_rrule.__name__ = binary_rrule.__qualname__ = f"{fn.__name__}_rrule"
    rrule(fn)(binary_rrule)

    def outer_rrule(a, b, *out, **kwargs):
        """fn.outer(a, b) = fn(a[..., None, ...], b): the binary rule with `a` given trailing axes for `b`."""
        refuse_out(f"{name}.outer", dict(kwargs, out=out) if out else kwargs)
        if real_only:
            refuse_complex(f"{name}.outer", a, b)
        y = fn.outer(a, b, **kwargs)
        a_col = np.reshape(a, np.shape(a) + (1,) * np.ndim(b))
        back = binary_pullback(f"{fn.__name__}_outer", a_col, b, y, *partials)

        def outer_pullback(dy):
            da, db = back(dy)
            return (None if da is None else fit_cotangent(a, np.reshape(da, np.shape(a))), db)
        return y, named(outer_pullback, f"{fn.__name__}_outer")
    outer_rrule.__name__ = outer_rrule.__qualname__ = f"{fn.__name__}_outer_rrule"
    rrule(fn.outer)(outer_rrule)       # the bound method `np.add.outer` compares equal on every access


_binary(np.add, ADD)
_binary(np.subtract, SUB)
_binary(np.multiply, MUL)
_binary(np.true_divide, DIV)          # np.divide is the same ufunc
_binary(np.power, POW)
_binary(np.float_power, POW)
_binary(np.remainder, MOD, real_only=True)           # np.mod is the same ufunc
_binary(np.fmod, FMOD, real_only=True)
_binary(np.arctan2, ARCTAN2, real_only=True)
_binary(np.hypot, HYPOT, real_only=True)
_binary(np.logaddexp, LOGADDEXP, real_only=True)
_binary(np.logaddexp2, LOGADDEXP2, real_only=True)
_binary(np.maximum, EXTREMUM, real_only=True)        # ties: half to each argument
_binary(np.minimum, EXTREMUM, real_only=True)
_binary(np.fmax, EXTREMUM, real_only=True)           # NaN-ignoring: the non-NaN argument is the result
_binary(np.fmin, EXTREMUM, real_only=True)
_binary(np.copysign, COPYSIGN, real_only=True)


# ---------------------------------------------------------------------------------------------------------------
# where, clip


@rrule(np.where)
def where_rrule(condition, *xy):
    """np.where(cond, x, y) routes dy to x where cond holds and to y elsewhere; the one-argument form returns
    indices (no derivative)."""
    y = np.where(condition, *xy)
    if not xy:
        return y, named(lambda dy: (None,), "where")
    x1, x2 = xy

    def where_pullback(dy):
        if dy is None:
            return (None, None, None)
        return (None,
                fit_cotangent(x1, np.where(condition, dy, 0.0)) if differentiable(x1) else None,
                fit_cotangent(x2, np.where(condition, 0.0, dy)) if differentiable(x2) else None)
    return y, where_pullback


def keyword_signature(first, **named):
    """Decorator: give a rule written as `rule(x, *args, **kwargs)` (which counts its positional arguments, one
    cotangent each) the signature `(first, name=default, ..., **kwargs)`, so that the AD can bind a
    differentiable keyword argument (`np.clip(x, a_min=lo)`) to its position, pass it positionally, and collect
    its cotangent."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    params = [inspect.Parameter(first, kind)]
    params += [inspect.Parameter(name, kind, default=default) for name, default in named.items()]
    params.append(inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD))

    def decorate(rule):
        rule.__signature__ = inspect.Signature(params)
        return rule
    return decorate


def clip_pullback_of(x, lo, hi, nargs):
    """clip(x, lo, hi) = min(max(x, lo), hi), as NumPy computes it: dy goes to x where lo <= x <= hi, to lo where
    x < lo (and lo <= hi), to hi where the upper bound won.  A bound of None passes everything."""
    def clip_pullback(dy):
        if dy is None:
            return (None,) * nargs
        pass_lo = True if lo is None else (x >= lo)
        m = x if lo is None else np.where(pass_lo, x, lo)
        pass_hi = True if hi is None else (m <= hi)
        out = (fit_cotangent(x, np.where(pass_lo & pass_hi, dy, 0.0)),
               None if lo is None else fit_cotangent(lo, np.where(~np.asarray(pass_lo) & pass_hi, dy, 0.0)),
               None if hi is None else fit_cotangent(hi, np.where(pass_hi, 0.0, dy)))
        return out[:nargs]
    return clip_pullback


def _bounds(bounds, kwargs, names):
    """The lower and upper bounds of a clip call, given positionally or by any of their keyword names."""
    lo = bounds[0] if len(bounds) > 0 else next((kwargs[k] for k in names[0] if k in kwargs), None)
    hi = bounds[1] if len(bounds) > 1 else next((kwargs[k] for k in names[1] if k in kwargs), None)
    return lo, hi


@rrule(np.clip)
@keyword_signature("a", a_min=None, a_max=None)
def clip_rrule(a, *bounds, **kwargs):
    refuse_out("numpy.clip", kwargs)
    lo, hi = _bounds(bounds, kwargs, (("a_min", "min"), ("a_max", "max")))
    refuse_complex("numpy.clip", a, lo, hi)
    return np.clip(a, *bounds, **kwargs), clip_pullback_of(a, lo, hi, 1 + len(bounds))


@rrule(np.ndarray.clip)
@keyword_signature("self", min=None, max=None)
def ndarray_clip_rrule(self, *bounds, **kwargs):
    refuse_out("ndarray.clip", kwargs)
    lo, hi = _bounds(bounds, kwargs, (("min",), ("max",)))
    refuse_complex("ndarray.clip", self, lo, hi)
    return self.clip(*bounds, **kwargs), clip_pullback_of(self, lo, hi, 1 + len(bounds))


# ---------------------------------------------------------------------------------------------------------------
# Elementwise array methods


@rrule(np.ndarray.conj)
def ndarray_conj_rrule(self):
    def conj_pullback(dy):
        return (None,) if dy is None else (fit_cotangent(self, np.conj(dy)),)
    return self.conj(), conj_pullback


rrule(np.ndarray.conjugate)(ndarray_conj_rrule)


@rrule(np.ndarray.copy)
def ndarray_copy_rrule(self, *args, **kwargs):
    n = 1 + len(args)

    def copy_pullback(dy):
        return (fit_cotangent(self, dy),) + (None,) * (n - 1)
    return self.copy(*args, **kwargs), copy_pullback


@rrule(np.ndarray.astype)
def ndarray_astype_rrule(self, *args, **kwargs):
    """A cast: the cotangent is cast back to the source dtype (its real part for a real source); a cast to an
    integer or boolean type has no derivative."""
    y = self.astype(*args, **kwargs)
    n = 1 + len(args)

    def astype_pullback(dy):
        if dy is None or y.dtype.kind not in "fc":
            return (None,) * n
        return (fit_cotangent(self, dy),) + (None,) * (n - 1)
    return y, astype_pullback


@rrule(np.ndarray.item)
def ndarray_item_rrule(self, *args):
    """x.item() (size-1 array) or x.item(i) / x.item(i, j): one element as a Python scalar."""
    y = self.item(*args)
    shape, n = self.shape, 1 + len(args)

    def item_pullback(dy):
        if dy is None or not differentiable(self):
            return (None,) * n
        dx = np.zeros(shape, dtype=np.result_type(self.dtype, np.asarray(dy).dtype))
        if not args:
            dx.reshape(-1)[0] = dy
        elif len(args) == 1 and not isinstance(args[0], tuple):
            dx.reshape(-1)[args[0]] = dy       # a flat index
        else:
            dx[args[0] if len(args) == 1 else args] = dy
        return (fit_cotangent(self, dx),) + (None,) * (n - 1)
    return y, item_pullback


def _nested_to_array(d, shape):
    """A nested list of cotangents (None for zero) as an array of `shape`."""
    if d is None:
        return np.zeros(shape)
    if not shape:
        return np.asarray(d)
    return np.stack([_nested_to_array(v, shape[1:]) for v in d]) if shape[0] else np.zeros(shape)


@rrule(np.ndarray.tolist)
def ndarray_tolist_rrule(self):
    """x.tolist(): nested lists of Python scalars; their cotangents (a nested list, None for zero) stack back."""
    def tolist_pullback(dy):
        if dy is None or not differentiable(self):
            return (None,)
        return (fit_cotangent(self, _nested_to_array(dy, self.shape)),)
    return self.tolist(), tolist_pullback
