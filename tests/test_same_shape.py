"""same_shape: the array variables that certainly share a shape, and the unbroadcasts that are left out for them."""
import math

import numpy as np

import irgrad
from irgrad import codegen, derive
from irgrad.same_shape import shape_classes, unbroadcast_free
from irgrad.testing import check_grad
from irgrad.types import typeof


def horner(c, x):
    y = c[-1]
    for k in range(len(c) - 2, -1, -1):
        y = y * x + c[k]
    return y


def poly_loss(c, xs, ys):
    total = 0.0
    for x, y in zip(xs, ys):
        total += (horner(c, x) - y) ** 2
    return total / len(xs)


def broadcasting(a, b):
    return np.sum(np.exp(a * b) - b)


def columns_against_an_argument(c, xs, w):
    total = 0.0
    for x in xs:
        total = total + c * x * w
    return np.sum(total)


def test_the_columns_of_a_vectorised_loop_share_a_class():
    rng = np.random.default_rng(0)
    xs, ys = rng.standard_normal(30).tolist(), rng.standard_normal(30).tolist()
    c = tuple(rng.standard_normal(5).tolist())
    src = codegen.source(irgrad.code_adjoint(poly_loss, c, xs, ys).adjoint)
    assert "float_columns" in codegen.source(irgrad.code_adjoint(poly_loss, c, xs, ys).forward)
    assert "sum_like" not in src  # y * x + c over the columns: nothing is broadcast
    g = irgrad.gradient(poly_loss, c, xs, ys)[0]
    expected = [sum(2 * (horner(c, x) - y) * x ** k for x, y in zip(xs, ys)) / len(xs) for k in range(5)]
    assert np.allclose(g, expected, rtol=1e-12, atol=1e-12)


def test_broadcasting_operands_keep_their_unbroadcast():
    a = np.random.default_rng(1).standard_normal((3, 1))
    b = np.random.default_rng(2).standard_normal((1, 4))
    src = codegen.source(irgrad.code_adjoint(broadcasting, a, b).adjoint)
    assert "sum_like" in src
    check_grad(broadcasting, a, b)


def test_an_argument_array_is_not_in_the_columns_class():
    xs = [0.5, -1.0, 2.0]
    w = np.array([1.0, 2.0, 3.0])
    g = irgrad.gradient(columns_against_an_argument, 1.5, xs, w)
    assert math.isclose(g[0], float(np.sum(sum(x * w for x in xs))), rel_tol=1e-12)
    assert np.allclose(g[2], np.full(3, 1.5 * sum(xs)))


def test_shape_classes_of_an_ir():
    c = (1.0, 2.0, 3.0, 4.0, 5.0)
    ir = derive.specialised_ir(poly_loss, [typeof(c), typeof([1.0, 2.0]), typeof([3.0, 4.0])])
    typemap = ir.types()
    classes = shape_classes(ir, typemap)
    assert len(set(classes.values())) == 1 and len(classes) >= 6  # the two columns and the Horner steps
    free = [s for _, s in ir.stmts() if unbroadcast_free(s, typemap, classes)]
    assert len(free) >= 4
