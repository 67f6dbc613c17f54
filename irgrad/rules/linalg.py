"""Rules for linear algebra: products (dot, matmul, outer, inner, tensordot, einsum, kron, cross), diagonals and
triangles, `np.linalg` (inv, solve, det, slogdet, cholesky, eigh) and polynomials (polyval).

Products are bilinear, so each operand's cotangent is the same kind of product of dy with the other operand,
with the axes put back in the operand's order.  Complex values follow JAX's and autograd's convention: the
cotangent is the transpose of the derivative, with no conjugation.  `matmul_rrule` serves `np.matmul` here and
is what the rule of the `@` operator (`operator.matmul`) calls for arrays.
"""
from __future__ import annotations

import string

import numpy as np

from ..errors import UnsupportedError
from ..tangent import unbroadcast
from .registry import rrule
from .shapes import in_form, input_form, nones, static_arg



def _mT(a):
    return np.swapaxes(a, -1, -2)


def _refuse_complex(fn_name, a):
    # the rules of Hermitian decompositions and of the sign of a determinant are written for real matrices
    if np.iscomplexobj(a):
        raise UnsupportedError(f"{fn_name} of a complex matrix has no rule (its derivative is not holomorphic); "
                               f"register one with irgrad.rrule")


def _no_out(fn_name, args, kwargs, position):
    if static_arg(args, kwargs, position, "out", None) is not None:
        raise UnsupportedError(f"{fn_name} with out= writes into an array, which irgrad does not differentiate")


# ---------------------------------------------------------------------------------------------------------------
# Products
# ---------------------------------------------------------------------------------------------------------------

def _tensordot_axes(a_ndim, b_ndim, axes):
    """np.tensordot's `axes` (an int N, or a pair of ints or sequences) as two lists of paired, non-negative axes."""
    if np.ndim(axes) == 0:
        n = int(axes)
        return list(range(a_ndim - n, a_ndim)), list(range(n))
    ia, ib = axes
    ia, ib = np.atleast_1d(ia).tolist(), np.atleast_1d(ib).tolist()
    return [i % a_ndim for i in ia], [i % b_ndim for i in ib]


def _tensordot_pullback_parts(a, b, ia, ib):
    """The two halves of the pullback of y = tensordot(a, b, (ia, ib)), y's axes being a's free then b's free."""
    fa = [i for i in range(np.ndim(a)) if i not in ia]
    fb = [i for i in range(np.ndim(b)) if i not in ib]
    y_a, y_b = list(range(len(fa))), list(range(len(fa), len(fa) + len(fb)))
    # tensordot(dy, b) has a's free axes, then b's contracted axes in b's order, each standing for its partner in a
    by_b = sorted(range(len(ib)), key=lambda j: ib[j])
    a_perm = np.argsort(fa + [ia[j] for j in by_b])
    by_a = sorted(range(len(ia)), key=lambda j: ia[j])
    b_perm = np.argsort([ib[j] for j in by_a] + fb)

    def da(dy):
        return np.transpose(np.tensordot(dy, b, axes=(y_b, fb)), a_perm)

    def db(dy):
        return np.transpose(np.tensordot(a, dy, axes=(fa, y_a)), b_perm)

    return da, db


def _bilinear_result(dy, da, db, a_form, b_form):
    if dy is None:
        return None, None
    return (None if a_form is None else in_form(da(dy), a_form),
            None if b_form is None else in_form(db(dy), b_form))


@rrule(np.tensordot)
def tensordot_rrule(a, b, *args, **kwargs):
    y = np.tensordot(a, b, *args, **kwargs)
    ia, ib = _tensordot_axes(np.ndim(a), np.ndim(b), static_arg(args, kwargs, 0, "axes", 2))
    da, db = _tensordot_pullback_parts(a, b, ia, ib)
    a_form, b_form, n = input_form(a), input_form(b), len(args)

    def tensordot_pullback(dy):
        return _bilinear_result(dy, da, db, a_form, b_form) + nones(n)

    return y, tensordot_pullback


def _scalar_product(a, b, label):
    """y = a * b with one factor 0-d (np.dot and np.inner of a scalar)."""
    a_shape, b_shape, a_form, b_form = np.shape(a), np.shape(b), input_form(a), input_form(b)

    def pullback(dy):
        return _bilinear_result(dy, lambda d: unbroadcast(a_shape, d * b), lambda d: unbroadcast(b_shape, d * a),
                                a_form, b_form)

    pullback.__name__ = pullback.__qualname__ = f"{label}_pullback"
    return pullback


@rrule(np.dot)
def dot_rrule(a, b, *args, **kwargs):
    _no_out("np.dot", args, kwargs, 0)
    y = np.dot(a, b)
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return y, _scalar_product(a, b, "dot")
    # dot contracts a's last axis with b's second-to-last (its only one when b is a vector): a tensordot
    da, db = _tensordot_pullback_parts(a, b, [np.ndim(a) - 1], [max(np.ndim(b) - 2, 0)])
    a_form, b_form = input_form(a), input_form(b)

    def dot_pullback(dy):
        return _bilinear_result(dy, da, db, a_form, b_form)

    return y, dot_pullback


rrule(np.ndarray.dot)(dot_rrule)


@rrule(np.inner)
def inner_rrule(a, b):
    y = np.inner(a, b)
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return y, _scalar_product(a, b, "inner")
    da, db = _tensordot_pullback_parts(a, b, [np.ndim(a) - 1], [np.ndim(b) - 1])
    a_form, b_form = input_form(a), input_form(b)

    def inner_pullback(dy):
        return _bilinear_result(dy, da, db, a_form, b_form)

    return y, inner_pullback


@rrule(np.matmul)
def matmul_rrule(a, b, **kwargs):
    """The rule of `a @ b` on arrays.  A 1-d operand is a row (left) or a column (right) that matmul drops again,
    and the leading (batch) axes broadcast, so each cotangent is unbroadcast to its operand's shape."""
    _no_out("np.matmul", (), kwargs, 0)
    y = np.matmul(a, b, **kwargs)
    a_shape, b_shape, a_form, b_form = np.shape(a), np.shape(b), input_form(a), input_form(b)
    a2 = a if len(a_shape) > 1 else np.reshape(a, (1, -1))
    b2 = b if len(b_shape) > 1 else np.reshape(b, (-1, 1))

    def matmul_pullback(dy):
        if dy is None:
            return None, None
        dy2 = dy if len(b_shape) > 1 else np.expand_dims(dy, -1)
        dy2 = dy2 if len(a_shape) > 1 else np.expand_dims(dy2, -2)
        da = None if a_form is None else in_form(
            np.reshape(unbroadcast(np.shape(a2), np.matmul(dy2, _mT(b2))), a_shape), a_form)
        db = None if b_form is None else in_form(
            np.reshape(unbroadcast(np.shape(b2), np.matmul(_mT(a2), dy2)), b_shape), b_form)
        return da, db

    return y, matmul_pullback


@rrule(np.outer)
def outer_rrule(a, b, *args, **kwargs):
    _no_out("np.outer", args, kwargs, 0)
    y = np.outer(a, b)
    a_shape, b_shape, a_form, b_form = np.shape(a), np.shape(b), input_form(a), input_form(b)
    av, bv = np.ravel(a), np.ravel(b)   # outer flattens both inputs

    def outer_pullback(dy):
        return _bilinear_result(dy, lambda d: np.reshape(d @ bv, a_shape), lambda d: np.reshape(av @ d, b_shape),
                                a_form, b_form)

    return y, outer_pullback


@rrule(np.cross)
def cross_rrule(a, b, *args, **kwargs):
    # <dy, a x b> = <a, b x dy> = <b, dy x a> for 3-vectors along the last axis (broadcast over the others)
    if args or kwargs:
        raise UnsupportedError("np.cross has a rule for 3-vectors along the last axis only (no axisa/axisb/axisc)")
    if np.shape(a)[-1:] != (3,) or np.shape(b)[-1:] != (3,):
        raise UnsupportedError("np.cross has a rule for 3-vectors only")
    y = np.cross(a, b)
    a_shape, b_shape, a_form, b_form = np.shape(a), np.shape(b), input_form(a), input_form(b)

    def cross_pullback(dy):
        return _bilinear_result(dy, lambda d: unbroadcast(a_shape, np.cross(b, d)),
                                lambda d: unbroadcast(b_shape, np.cross(d, a)), a_form, b_form)

    return y, cross_pullback


@rrule(np.kron)
def kron_rrule(a, b):
    # With both shapes padded to the same length d, y viewed as (a0, b0, a1, b1, ...) is a ⊗ b elementwise, so
    # each cotangent contracts that view of dy with the other operand.
    y = np.kron(a, b)
    d = max(np.ndim(a), np.ndim(b))
    a_shape, b_shape = np.shape(a), np.shape(b)
    sa, sb = (1,) * (d - len(a_shape)) + a_shape, (1,) * (d - len(b_shape)) + b_shape
    la, lb = string.ascii_letters[:d], string.ascii_letters[d:2 * d]
    view = "".join(p + q for p, q in zip(la, lb))
    a_form, b_form = input_form(a), input_form(b)

    def kron_pullback(dy):
        dyv = np.reshape(dy, [n for pair in zip(sa, sb) for n in pair]) if dy is not None else None
        return _bilinear_result(
            dyv, lambda g: np.reshape(np.einsum(f"{view},{lb}->{la}", g, np.reshape(b, sb)), a_shape),
            lambda g: np.reshape(np.einsum(f"{view},{la}->{lb}", g, np.reshape(a, sa)), b_shape), a_form, b_form)

    return y, kron_pullback


# ---------------------------------------------------------------------------------------------------------------
# Diagonals and triangles
# ---------------------------------------------------------------------------------------------------------------

def _diagonal_scatter(x_shape, offset, axis1, axis2, values):
    """The adjoint of np.diagonal: zeros of x_shape with `values` (the other axes, then the diagonal) put on the
    diagonal `offset` of the axes axis1, axis2."""
    nd = len(x_shape)
    axis1, axis2 = axis1 % nd, axis2 % nd
    rest = [n for i, n in enumerate(x_shape) if i not in (axis1, axis2)]
    values = np.asarray(values)
    out = np.zeros(rest + [x_shape[axis1], x_shape[axis2]], dtype=values.dtype)
    k = values.shape[-1]
    rows = np.arange(k) + max(-offset, 0)
    out[..., rows, rows + offset] = values
    return np.moveaxis(out, (-2, -1), (axis1, axis2))


def _diag_args(args, kwargs):
    return tuple(static_arg(args, kwargs, i, name, default)
                 for i, (name, default) in enumerate((("offset", 0), ("axis1", 0), ("axis2", 1))))


@rrule(np.diagonal)
def diagonal_rrule(a, *args, **kwargs):
    y = np.diagonal(a, *args, **kwargs)
    offset, axis1, axis2 = _diag_args(args, kwargs)
    x_shape, form, n = np.shape(a), input_form(a), len(args)

    def diagonal_pullback(dy):
        if dy is None or form is None:
            return nones(1 + n)
        return (in_form(_diagonal_scatter(x_shape, offset, axis1, axis2, dy), form),) + nones(n)

    return y, diagonal_pullback


rrule(np.ndarray.diagonal)(diagonal_rrule)


@rrule(np.trace)
def trace_rrule(a, *args, **kwargs):
    _no_out("np.trace", args, kwargs, 4)
    y = np.trace(a, *args, **kwargs)
    offset, axis1, axis2 = _diag_args(args, kwargs)
    x_shape, form, n = np.shape(a), input_form(a), len(args)
    k = np.diagonal(np.empty(x_shape, dtype=bool), offset, axis1, axis2).shape[-1]

    def trace_pullback(dy):
        if dy is None or form is None:
            return nones(1 + n)
        values = np.broadcast_to(np.expand_dims(dy, -1), np.shape(dy) + (k,))   # the sum's adjoint: dy everywhere
        return (in_form(_diagonal_scatter(x_shape, offset, axis1, axis2, values), form),) + nones(n)

    return y, trace_pullback


rrule(np.ndarray.trace)(trace_rrule)


@rrule(np.diag)
def diag_rrule(v, *args, **kwargs):
    y = np.diag(v, *args, **kwargs)
    k, n = static_arg(args, kwargs, 0, "k", 0), len(args)
    x_shape, form = np.shape(v), input_form(v)

    def diag_pullback(dy):
        if dy is None or form is None:
            return nones(1 + n)
        if len(x_shape) == 1:       # v was put on a diagonal: read it back
            return (in_form(np.diagonal(dy, k).copy(), form),) + nones(n)
        return (in_form(_diagonal_scatter(x_shape, k, 0, 1, dy), form),) + nones(n)

    return y, diag_pullback


def _triangle(fn):
    # a mask: its own adjoint
    def rule(m, *args, **kwargs):
        y = fn(m, *args, **kwargs)
        form, n = input_form(m), len(args)

        def pullback(dy):
            return (None if dy is None or form is None else in_form(fn(dy, *args, **kwargs), form),) + nones(n)

        pullback.__name__ = pullback.__qualname__ = f"{fn.__name__}_pullback"
        return y, pullback

    rule.__name__ = rule.__qualname__ = f"{fn.__name__}_rrule"
    rrule(fn)(rule)


_triangle(np.tril)
_triangle(np.triu)


# ---------------------------------------------------------------------------------------------------------------
# einsum: the cotangent of operand i is an einsum of dy with the other operands, onto operand i's labels
# ---------------------------------------------------------------------------------------------------------------

def _einsum_labels(subscripts: str, shapes):
    """Operand label strings and the output's, with '...' replaced by fresh letters (right-aligned, as NumPy
    broadcasts them) and the implicit output (labels seen once, sorted, after the ellipsis) made explicit."""
    subscripts = subscripts.replace(" ", "")
    ins, arrow, out = subscripts.partition("->")
    ins = ins.split(",")
    if len(ins) != len(shapes):
        raise UnsupportedError(f"np.einsum: {subscripts!r} names {len(ins)} operands, got {len(shapes)}")
    used = set(subscripts)
    fresh = [c for c in string.ascii_letters if c not in used]
    n_ell = max((len(s) - len(t.replace("...", "")) for t, s in zip(ins, shapes) if "..." in t), default=0)
    ell = "".join(fresh[:n_ell])
    labels = [t.replace("...", ell[n_ell - (len(s) - len(t.replace("...", ""))):]) for t, s in zip(ins, shapes)]
    if arrow:
        out = out.replace("...", ell)
    else:
        seen = "".join(labels)
        out = ell + "".join(sorted(c for c in set(seen) if seen.count(c) == 1 and c not in ell))
    return labels, out


def _einsum_operand_cotangent(dy, out, labels, operands, i, shape):
    """d operand i = einsum(dy, the others -> operand i's labels).  Labels found only in operand i are summed in
    the primal, so its cotangent is broadcast along them; a repeated label (a diagonal, 'ii') gets the cotangent
    on that diagonal; a label broadcast from length 1 is summed back."""
    mine = labels[i]
    unique = "".join(dict.fromkeys(mine))
    size = {c: n for c, n in zip(mine, shape)}
    others = [j for j in range(len(operands)) if j != i]
    reachable = set(out).union(*(labels[j] for j in others))
    present = "".join(c for c in unique if c in reachable)
    spec = ",".join([out] + [labels[j] for j in others]) + "->" + present
    g = np.einsum(spec, dy, *(operands[j] for j in others), optimize=len(others) > 1)
    g = np.reshape(g, [g.shape[present.index(c)] if c in present else 1 for c in unique])
    summed = tuple(k for k, c in enumerate(unique) if size[c] == 1 and g.shape[k] != 1)
    g = np.sum(g, axis=summed, keepdims=True) if summed else g
    g = np.broadcast_to(g, [size[c] for c in unique])
    if len(unique) == len(mine):
        return np.array(g)
    dx = np.zeros(shape, dtype=g.dtype)     # a repeated label: write g onto the diagonal of those axes
    grid = np.indices(g.shape, sparse=True)
    dx[tuple(grid[unique.index(c)] for c in mine)] = g
    return dx


@rrule(np.einsum)
def einsum_rrule(subscripts, *operands, **kwargs):
    if not isinstance(subscripts, str):
        raise UnsupportedError("np.einsum has a rule for the subscripts-string form only, not the interleaved "
                               "form einsum(a, [0, 1], b, [1, 2])")
    if kwargs.get("out") is not None:
        raise UnsupportedError("np.einsum with out= writes into an array, which irgrad does not differentiate")
    y = np.einsum(subscripts, *operands, **kwargs)
    shapes = [np.shape(x) for x in operands]
    labels, out = _einsum_labels(subscripts, shapes)
    forms = [input_form(x) for x in operands]

    def einsum_pullback(dy):
        if dy is None:
            return nones(1 + len(operands))
        return (None,) + tuple(
            None if forms[i] is None else
            in_form(_einsum_operand_cotangent(dy, out, labels, operands, i, shapes[i]), forms[i])
            for i in range(len(operands)))

    return y, einsum_pullback


# ---------------------------------------------------------------------------------------------------------------
# np.linalg (real matrices, batched over leading axes)
# ---------------------------------------------------------------------------------------------------------------

@rrule(np.linalg.inv)
def inv_rrule(a):
    # d(A^-1) = -A^-1 dA A^-1, so dA = -A^-T dY A^-T
    y = np.linalg.inv(a)

    def inv_pullback(dy):
        if dy is None:
            return (None,)
        yT = _mT(y)
        return (-(yT @ dy @ yT),)

    return y, inv_pullback


@rrule(np.linalg.solve)
def solve_rrule(a, b):
    # x = A^-1 b: db = A^-T dx and dA = -db x^T.  b is a stack of vectors exactly when x has one axis fewer
    # than A (NumPy 1 and 2 tell vectors from matrices differently; the result's shape says which it was).
    x = np.linalg.solve(a, b)
    vector = np.ndim(x) == np.ndim(a) - 1
    a_shape, b_shape, b_form = np.shape(a), np.shape(b), input_form(b)

    def solve_pullback(dy):
        if dy is None:
            return None, None
        d, xm = (dy[..., None], x[..., None]) if vector else (dy, x)
        db = np.linalg.solve(_mT(a), d)
        da = unbroadcast(a_shape, -(db @ _mT(xm)))
        db = unbroadcast(b_shape, db[..., 0] if vector else db)
        return da, (None if b_form is None else in_form(db, b_form))

    return x, solve_pullback


@rrule(np.linalg.det)
def det_rrule(a):
    # d det(A) = det(A) tr(A^-1 dA), so dA = dy det(A) A^-T
    y = np.linalg.det(a)

    def det_pullback(dy):
        if dy is None:
            return (None,)
        scale = np.asarray(dy * y)[..., None, None]
        return (scale * _mT(np.linalg.inv(a)),)

    return y, det_pullback


@rrule(np.linalg.slogdet)
def slogdet_rrule(a):
    # log|det A| has derivative A^-T; the sign is piecewise constant
    _refuse_complex("np.linalg.slogdet", a)
    y = np.linalg.slogdet(a)

    def slogdet_pullback(dy):
        dlogdet = None if dy is None else dy[1]
        if dlogdet is None:
            return (None,)
        return (np.asarray(dlogdet)[..., None, None] * _mT(np.linalg.inv(a)),)

    return y, slogdet_pullback


def _lower_only(g):
    """The cotangent of a symmetric-matrix function that reads the lower triangle of its argument only (as
    cholesky and eigh do): entry (i, j), i > j, stands for both (i, j) and (j, i)."""
    return np.tril(g + _mT(g)) - g * np.eye(g.shape[-1])


@rrule(np.linalg.cholesky)
def cholesky_rrule(a, **kwargs):
    # Murray (2016): with L = chol(A) and Φ(X) = tril(X) with its diagonal halved, dL = L Φ(L^-1 dA L^-T), so
    # <dy, dL> = <G, dA> with G = L^-T Φ(L^T dy) L^-1.
    _refuse_complex("np.linalg.cholesky", a)
    upper = kwargs.get("upper", False)
    y = np.linalg.cholesky(a, **kwargs)
    low = _mT(y) if upper else y

    def cholesky_pullback(dy):
        if dy is None:
            return (None,)
        dl = _mT(dy) if upper else dy
        p = np.tril(_mT(low) @ dl)
        p = p - 0.5 * p * np.eye(p.shape[-1])
        q = np.linalg.solve(_mT(low), p)                 # L^-T Φ
        g = _mT(np.linalg.solve(_mT(low), _mT(q)))       # (L^-T (L^-T Φ)^T)^T = L^-T Φ L^-1
        g = _lower_only(g)
        return (_mT(g) if upper else g,)

    return y, cholesky_pullback


@rrule(np.linalg.eigh)
def eigh_rrule(a, *args, **kwargs):
    # With A = V diag(w) V^T: dw = diag(V^T dA V) and dV = V (F ∘ V^T dA V), F_ij = 1/(w_j - w_i) off the
    # diagonal, so the cotangent is V (diag(dw) + F ∘ V^T dV) V^T (distinct eigenvalues assumed).
    _refuse_complex("np.linalg.eigh", a)
    uplo = static_arg(args, kwargs, 0, "UPLO", "L")
    w, v = y = np.linalg.eigh(a, *args, **kwargs)
    gap = w[..., None, :] - w[..., :, None]
    eye = np.eye(w.shape[-1], dtype=bool)
    f = np.where(eye, 0.0, 1.0 / np.where(eye, 1.0, gap))
    n = len(args)

    def eigh_pullback(dy):
        dw, dv = (None, None) if dy is None else dy
        if dw is None and dv is None:
            return nones(1 + n)
        inner = np.zeros(np.shape(a), dtype=v.dtype)
        if dw is not None:
            inner = inner + np.asarray(dw)[..., None, :] * np.eye(w.shape[-1])
        if dv is not None:
            inner = inner + f * (_mT(v) @ dv)
        g = _lower_only(v @ inner @ _mT(v))
        return (_mT(g) if uplo in ("U", "u") else g,) + nones(n)

    return y, eigh_pullback


# ---------------------------------------------------------------------------------------------------------------
# Polynomials: polyval (highest power first) and numpy.polynomial.polynomial.polyval (lowest first, like
# Julia's evalpoly)
# ---------------------------------------------------------------------------------------------------------------

def _poly_pullback_parts(c, x, powers):
    """For y = sum_k c[k] x^powers[k] (c 1-d): dc[k] = sum(dy x^powers[k]), dx = dy sum_k powers[k] c[k] x^(p-1)."""
    c = np.asarray(c)
    x_arr = np.asarray(x)
    if c.ndim != 1:
        raise UnsupportedError("polyval has a rule for a 1-d array or list of coefficients only")

    def dc(dy):
        vander = x_arr[..., None] ** powers
        return np.tensordot(np.asarray(dy), vander, axes=np.ndim(dy))

    def dx(dy):
        nz = powers > 0
        slope = np.sum(c[nz] * powers[nz] * x_arr[..., None] ** (powers[nz] - 1), axis=-1)
        return dy * slope

    return dc, dx


@rrule(np.polyval)
def polyval_rrule(p, x):
    y = np.polyval(p, x)
    n = len(p)
    dp, dx = _poly_pullback_parts(p, x, np.arange(n - 1, -1, -1))
    p_form, x_form = input_form(p), input_form(x)

    def polyval_pullback(dy):
        return _bilinear_result(dy, dp, dx, p_form, x_form)

    return y, polyval_pullback


@rrule(np.polynomial.polynomial.polyval)
def polynomial_polyval_rrule(x, c, *args, **kwargs):
    y = np.polynomial.polynomial.polyval(x, c, *args, **kwargs)
    dc, dx = _poly_pullback_parts(c, x, np.arange(len(c)))
    x_form, c_form, n = input_form(x), input_form(c), len(args)

    def polyval_pullback(dy):
        return _bilinear_result(dy, dx, dc, x_form, c_form) + nones(n)

    return y, polyval_pullback
