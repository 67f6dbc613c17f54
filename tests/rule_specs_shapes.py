"""Rule specs for shapes, indexing, linear algebra and creation functions (the table format of `rule_specs.py`).

`check_rrule` checks the cotangents of the float arguments; the arrays inside a list argument (concatenate,
stack, polyval's coefficient list) are checked by `tests/test_rules_shapes.py` and `test_rules_linalg.py`.
"""
from __future__ import annotations

import inspect
import operator

import numpy as np

from rule_specs import RuleSpec, arr, flt, pos, spec

_nd = np.ndarray


def made(fn, factory, name, tol=None, **kwargs) -> RuleSpec:
    """A spec whose arguments `factory(rng)` makes (matrices inside a function's domain)."""
    return RuleSpec(fn, factory, dict(kwargs), dict(tol or {}), name)


def _square(n, *batch):
    """A well-conditioned square matrix (or a stack of them)."""
    return lambda rng: (rng.uniform(-1, 1, batch + (n, n)) + n * np.eye(n),)


def _spd(n, *batch):
    """A symmetric positive definite matrix, with noise above the diagonal (cholesky and eigh read below it)."""
    def make(rng):
        b = rng.uniform(-1, 1, batch + (n, n))
        return (b @ np.swapaxes(b, -1, -2) + n * np.eye(n) + np.triu(rng.uniform(-1, 1, (n, n)), 1),)
    return make


def _separated_symmetric(n):
    """A symmetric matrix with well separated eigenvalues (eigh's derivative divides by their gaps)."""
    def make(rng):
        q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        return (q @ np.diag(np.arange(1.0, n + 1) * 1.5) @ q.T,)
    return make


SHAPES = [
    spec(np.reshape, arr(2, 3, 4), (6, 4)),
    spec(np.reshape, arr(2, 3, 4), (4, -1), "F", name="np.reshape(order=F)"),
    spec(np.reshape, arr(6), (2, 3), order="A"),
    spec(np.reshape, flt(), (1, 1)),
    spec(_nd.reshape, arr(2, 3, 4), 6, 4),
    spec(_nd.reshape, arr(2, 3, 4), (4, 6)),
    spec(_nd.reshape, arr(2, 6), -1, order="F"),
    spec(np.ravel, arr(2, 3, 4)),
    spec(np.ravel, arr(3, 4), "F"),
    spec(_nd.ravel, arr(3, 4)),
    spec(_nd.flatten, arr(3, 4), "F"),
    spec(np.expand_dims, arr(2, 3), (0, 3)),
    spec(np.squeeze, arr(2, 1, 3, 1)),
    spec(np.squeeze, arr(2, 1, 3, 1), axis=1),
    spec(_nd.squeeze, arr(1, 3)),
    spec(np.atleast_1d, flt()),
    spec(np.atleast_2d, arr(3)),
    spec(np.atleast_3d, arr(2, 3)),
    spec(np.atleast_2d, arr(3), arr(2, 2), name="np.atleast_2d(several)"),
    spec(np.transpose, arr(2, 3)),
    spec(np.transpose, arr(2, 3, 4), (2, 0, 1)),
    spec(np.transpose, arr(2, 3, 4), axes=(-1, 0, 1)),
    spec(_nd.transpose, arr(2, 3, 4)),
    spec(_nd.transpose, arr(2, 3, 4), 1, 2, 0),
    spec(_nd.transpose, arr(2, 3, 4), (1, 2, 0), name="ndarray.transpose(tuple)"),
    spec(np.swapaxes, arr(2, 3, 4), 0, 2),
    spec(_nd.swapaxes, arr(2, 3, 4), -1, 1),
    spec(np.moveaxis, arr(2, 3, 4), 0, -1),
    spec(np.moveaxis, arr(2, 3, 4, 5), (0, 1), (3, 0)),
    spec(np.flip, arr(3, 4)),
    spec(np.flip, arr(2, 3, 4), (0, 2)),
    spec(np.fliplr, arr(3, 4)),
    spec(np.flipud, arr(3, 4)),
    spec(np.roll, arr(5), 2),
    spec(np.roll, arr(3, 4), (1, -1), axis=(0, 1)),
    spec(np.roll, arr(3, 4), 5),
    spec(np.rot90, arr(3, 4)),
    spec(np.rot90, arr(2, 3, 4), 3, (1, 2)),
    spec(np.sort, arr(7)),
    spec(np.sort, arr(3, 4), axis=0),
    spec(np.sort, arr(3, 4), axis=None),
    spec(np.copy, arr(3, 2)),
    spec(np.copy, flt()),
    spec(np.asarray, arr(4)),
    spec(np.asarray, flt()),
    spec(np.array, arr(2, 2)),
    spec(np.array, arr(3), ndmin=3),
    spec(np.array, arr(3), dtype=complex),
    spec(np.asanyarray, arr(3)),
    spec(np.ascontiguousarray, arr(3, 4)),
    spec(np.asfortranarray, arr(3, 4)),
    spec(np.broadcast_to, arr(3), (2, 3)),
    spec(np.broadcast_to, arr(2, 1), (4, 2, 3)),
    spec(np.broadcast_to, flt(), (2, 2)),
    spec(np.tile, arr(3), 2),
    spec(np.tile, arr(2, 3), (2, 1, 2)),
    spec(np.tile, arr(2, 3, 2), (3, 2)),
    spec(np.repeat, arr(3), 2),
    spec(np.repeat, arr(2, 3), 2, axis=1),
    spec(np.repeat, arr(2, 3), [1, 0, 3], axis=1),
    spec(np.repeat, arr(2, 3), [2, 1, 2, 0, 1, 1]),
    spec(_nd.repeat, arr(2, 3), 3, 0),
    spec(np.concatenate, [arr(2, 3), arr(1, 3)]),
    spec(np.concatenate, (arr(2, 3), arr(2, 2)), axis=1),
    spec(np.concatenate, [arr(2, 3), arr(4)], axis=None),
    spec(np.stack, [arr(3), arr(3)]),
    spec(np.stack, (arr(2, 3), arr(2, 3), arr(2, 3)), axis=-1),
    spec(np.vstack, [arr(3), arr(2, 3)]),
    spec(np.hstack, (arr(2), flt(), arr(3))),
    spec(np.hstack, [arr(2, 1), arr(2, 3)]),
    spec(np.dstack, [arr(2, 3), arr(2, 3, 2)]),
    spec(np.column_stack, [arr(3), arr(3, 2)]),
    spec(np.split, arr(6, 2), 3),
    spec(np.split, arr(2, 7), [1, 4], axis=1),
    spec(np.array_split, arr(7), 3),
    spec(np.hsplit, arr(2, 4), 2),
    spec(np.vsplit, arr(4, 3), [1]),
    spec(np.dsplit, arr(2, 2, 4), 2),
    spec(np.append, arr(3), arr(2)),
    spec(np.append, arr(2, 3), arr(2, 2), axis=1),
    spec(np.append, arr(2, 3), flt()),
    spec(np.pad, arr(3, 4), 2),
    spec(np.pad, arr(3, 4), ((1, 2), (0, 3)), "reflect"),
    spec(np.pad, arr(3, 4), 2, mode="wrap"),
    spec(np.pad, arr(5), (3, 1), "edge"),
    spec(np.pad, arr(3, 2), 2, "symmetric"),
    spec(np.pad, arr(3), 1, constant_values=2.0),
    spec(np.diff, arr(5)),
    spec(np.diff, arr(3, 5), 2, 0),
    spec(np.diff, arr(3, 5), prepend=1.0, append=np.ones((3, 2))),
    spec(np.diff, arr(3, 5), n=3, axis=1, prepend=np.zeros((3, 1))),
]

INDEXING = [
    spec(operator.getitem, arr(5), 2),
    spec(operator.getitem, arr(5), -1, name="getitem(5;-1)"),
    spec(operator.getitem, arr(3, 4), (1, slice(None, None, -2))),
    spec(operator.getitem, arr(3, 4, 5), (Ellipsis, None, 1)),
    spec(operator.getitem, arr(5), [0, 0, 3, 0], name="getitem(repeated int list)"),
    spec(operator.getitem, arr(3, 4), (np.array([2, 2, 0]), np.array([1, 1, 3])), name="getitem(repeated pairs)"),
    spec(operator.getitem, arr(3, 4), (slice(None), np.array([[0, 3], [3, 3]])), name="getitem(2-d int array)"),
    spec(operator.getitem, arr(4), np.array([True, False, True, True]), name="getitem(mask)"),
    spec(operator.getitem, arr(2, 3), (np.array([True, False]), slice(1, None)), name="getitem(mask, slice)"),
    spec(operator.getitem, arr(2, 3), np.array([[True, False, True], [False, False, True]]),
         name="getitem(2-d mask)"),
    spec(operator.getitem, arr(3, 4, 5), (slice(None), [3, 3, 1], slice(1, 3)), name="getitem(mixed)"),
    spec(operator.getitem, arr(3, 4, 5), ([0, 2], Ellipsis, [4, 4]), name="getitem(split advanced)"),
    spec(operator.getitem, arr(), (), name="getitem(0-d, ())"),
    spec(operator.getitem, (flt(), flt(), 3), 1, name="getitem(tuple)"),
    spec(operator.getitem, [flt(), arr(2), flt()], slice(0, 3, 2), name="getitem(list slice)"),
    made(operator.getitem, lambda rng: ({"a": rng.uniform(), "b": 2}, "a"), "getitem(dict)"),
    spec(_nd.__getitem__, arr(3, 4), (slice(1, None), 2)),
    spec(operator.setitem, [1, 2, 3], 0, 5, name="setitem(list of ints)"),
    spec(_nd.__setitem__, np.arange(3), 1, 7, name="ndarray.__setitem__(int array)"),
    spec(np.take, arr(5), [4, 0, 4]),
    spec(np.take, arr(3, 4), np.array([[0, 3], [3, 3]]), axis=1),
    spec(np.take, arr(3, 4), [7, -1, 12], mode="wrap"),
    spec(np.take, arr(3, 4), [5, -1], 0, None, "clip", name="np.take(clip, positional)"),
    spec(_nd.take, arr(3, 4), [0, 0], 1),
    spec(np.take_along_axis, arr(3, 4), np.array([[0, 0], [3, 1], [2, 2]]), axis=1),
    spec(np.take_along_axis, arr(3, 4), np.array([[2, 0, 2, 1]]), 0),
    spec(np.take_along_axis, arr(6), np.array([5, 5, 0]), None),
]

LINALG = [
    spec(np.dot, arr(3), arr(3)),
    spec(np.dot, arr(2, 3), arr(3)),
    spec(np.dot, arr(3), arr(3, 4)),
    spec(np.dot, arr(2, 3), arr(3, 4)),
    spec(np.dot, arr(2, 3, 4), arr(5, 4, 2)),
    spec(np.dot, flt(), arr(2, 3)),
    spec(np.dot, arr(2, 2), arr()),
    spec(_nd.dot, arr(2, 3), arr(3, 2)),
    spec(_nd.dot, arr(4), arr(4)),
    spec(np.matmul, arr(3), arr(3)),
    spec(np.matmul, arr(2, 3), arr(3)),
    spec(np.matmul, arr(3), arr(3, 4)),
    spec(np.matmul, arr(2, 3), arr(3, 4)),
    spec(np.matmul, arr(5, 2, 3), arr(3, 4)),
    spec(np.matmul, arr(2, 3), arr(5, 1, 3, 4)),
    spec(np.matmul, arr(3), arr(5, 3, 4)),
    spec(np.matmul, arr(5, 2, 3), arr(3)),
    spec(np.outer, arr(3), arr(4)),
    spec(np.outer, arr(2, 2), arr(3)),
    spec(np.outer, flt(), arr(3)),
    spec(np.inner, arr(3), arr(3)),
    spec(np.inner, arr(2, 3), arr(4, 3)),
    spec(np.inner, flt(), arr(2, 3)),
    spec(np.tensordot, arr(2, 3, 4), arr(3, 4, 5)),
    spec(np.tensordot, arr(2, 3), arr(4, 5), axes=0),
    spec(np.tensordot, arr(2, 3, 4), arr(4, 3, 5), axes=([1, 2], [1, 0])),
    spec(np.tensordot, arr(2, 3, 4), arr(4, 2), ([2, 0], [0, 1])),
    spec(np.tensordot, arr(3, 4), arr(4, 3), axes=(-1, 0)),
    spec(np.einsum, "ij,jk->ik", arr(2, 3), arr(3, 4)),
    spec(np.einsum, "ij,jk", arr(2, 3), arr(3, 4)),
    spec(np.einsum, "ii", arr(3, 3)),
    spec(np.einsum, "ii->i", arr(3, 3)),
    spec(np.einsum, "iji->j", arr(3, 2, 3)),
    spec(np.einsum, "ij->", arr(2, 3)),
    spec(np.einsum, "ij->j", arr(2, 3)),
    spec(np.einsum, "ijk->kji", arr(2, 3, 4)),
    spec(np.einsum, "i,i", arr(3), arr(3)),
    spec(np.einsum, "i,j->ij", arr(3), arr(2)),
    spec(np.einsum, "ij,j->ij", arr(2, 3), arr(3)),
    spec(np.einsum, "ii,i->", arr(3, 3), arr(3)),
    spec(np.einsum, "bij,bjk->bik", arr(4, 2, 3), arr(4, 3, 2)),
    spec(np.einsum, "...ij,...jk->...ik", arr(5, 2, 3), arr(3, 2)),
    spec(np.einsum, "...ij,...jk", arr(5, 1, 2, 3), arr(4, 3, 2)),
    spec(np.einsum, "ij,ij->", arr(2, 3), arr(1, 3)),
    spec(np.einsum, "ij,jk,kl->il", arr(2, 3), arr(3, 4), arr(4, 2)),
    spec(np.einsum, ",i->i", flt(), arr(3)),
    spec(np.cross, arr(3), arr(3)),
    spec(np.cross, arr(4, 3), arr(3)),
    spec(np.kron, arr(2, 3), arr(4, 2)),
    spec(np.kron, arr(3), arr(2, 2)),
    spec(np.trace, arr(3, 3)),
    spec(np.trace, arr(3, 4), 1),
    spec(np.trace, arr(4, 3), offset=-2),
    spec(np.trace, arr(3, 4, 5), 1, 2, 0),
    spec(_nd.trace, arr(3, 3)),
    spec(np.diagonal, arr(3, 4)),
    spec(np.diagonal, arr(3, 4, 5), -1, 2, 1),
    spec(_nd.diagonal, arr(4, 3), 1),
    spec(np.diag, arr(3)),
    spec(np.diag, arr(3), 1),
    spec(np.diag, arr(3, 4), -1),
    spec(np.diag, arr(4, 3), k=1),
    spec(np.tril, arr(3, 4)),
    spec(np.tril, arr(2, 3, 3), k=-1),
    spec(np.triu, arr(3, 4), 1),
    made(np.linalg.inv, _square(3), "inv(3x3)"),
    made(np.linalg.inv, _square(2, 4), "inv(4x2x2)"),
    made(np.linalg.solve, lambda rng: _square(3)(rng) + (rng.standard_normal(3),), "solve(3x3, 3)"),
    made(np.linalg.solve, lambda rng: _square(3)(rng) + (rng.standard_normal((3, 2)),), "solve(3x3, 3x2)"),
    made(np.linalg.solve, lambda rng: _square(3, 2)(rng) + (rng.standard_normal((2, 3, 4)),), "solve(2x3x3, 2x3x4)"),
    made(np.linalg.solve, lambda rng: _square(3, 2)(rng) + (rng.standard_normal((1, 3, 4)),),
         "solve(2x3x3, 1x3x4 broadcast)"),
    made(np.linalg.det, _square(3), "det(3x3)"),
    made(np.linalg.det, _square(2, 3), "det(3x2x2)"),
    made(np.linalg.slogdet, _square(3), "slogdet(3x3)"),
    made(np.linalg.slogdet, lambda rng: (-_square(3)(rng)[0],), "slogdet(negative det)"),
    made(np.linalg.slogdet, _square(4, 2), "slogdet(2x4x4)"),
    made(np.linalg.cholesky, _spd(3), "cholesky(3x3)"),
    made(np.linalg.cholesky, _spd(4, 2), "cholesky(2x4x4)"),
    # cholesky(upper=True) from NumPy 2.0 on.  (A C-ordered copy: testing.numerical_vjp perturbs a copy of the
    # input in the input's own memory order.)
    *([made(np.linalg.cholesky, lambda rng: (np.ascontiguousarray(_spd(3)(rng)[0].T),), "cholesky(upper)",
            upper=True)] if "upper" in inspect.signature(np.linalg.cholesky).parameters else []),
    made(np.linalg.eigh, _separated_symmetric(4), "eigh(4x4)"),
    made(np.linalg.eigh, lambda rng: (_separated_symmetric(3)(rng)[0] + np.triu(rng.uniform(-1, 1, (3, 3)), 1),),
         "eigh(reads lower triangle)"),
    made(np.linalg.eigh, lambda rng: (_separated_symmetric(3)(rng)[0] + np.tril(rng.uniform(-1, 1, (3, 3)), -1),
                                      "U"), "eigh(UPLO=U)"),
    spec(np.polyval, arr(4), arr(3, 2)),
    spec(np.polyval, arr(1), flt(), name="polyval(constant)"),
    spec(np.polyval, arr(5), flt()),
    spec(np.polynomial.polynomial.polyval, arr(6), arr(5)),
    spec(np.polynomial.polynomial.polyval, flt(), arr(3)),
]

CREATION = [
    spec(np.full, (2, 3), flt()),
    spec(np.full, (2, 3), arr(3)),
    spec(np.full_like, arr(2, 3), arr(2, 1)),
    spec(np.full_like, arr(2), flt()),
    spec(np.arange, 4.5),
    spec(np.arange, 0.3, 4.1),
    spec(np.arange, 0.5, 3.1, 0.25),
    spec(np.linspace, flt(), flt(3, 4), 7),
    spec(np.linspace, arr(2), arr(3, 1), 5, endpoint=False, axis=1),
    spec(np.linspace, flt(), flt(3, 4), 6, retstep=True),
    spec(np.logspace, flt(0, 1), flt(1, 2), 4),
    spec(np.logspace, flt(0, 1), flt(1, 2), 4, True, pos()),
    spec(np.meshgrid, arr(3), arr(4)),
    spec(np.meshgrid, arr(3), arr(4), arr(2), indexing="ij"),
    spec(np.meshgrid, arr(3), arr(4), sparse=True),
    spec(np.bincount, np.array([0, 1, 1, 3, 1]), arr(5)),
    spec(np.unique, np.array([3.5, 1.0, 2.5, 2.0]), name="unique(distinct floats)"),
    spec(np.unique, np.array([3, 1, 3]), name="unique(ints)"),
]

SPECS = SHAPES + INDEXING + LINALG + CREATION
