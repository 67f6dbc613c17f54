"""The quality of the derived code (issue 4): symbolic fill cotangents for sum/mean, in-place updates of
temporaries the adjoint owns, inline rules for indexing and constant matmuls.  Every path is checked against
central finite differences; the cases where an optimisation must not apply (broadcasting operands, a cotangent
used twice, aliasing) are checked too."""
import numpy as np
import pytest

import irgrad
from irgrad.testing import check_grad

rng = np.random.default_rng(11)
A = rng.standard_normal((3, 4))
COL = rng.standard_normal((3, 1))
ROW = rng.standard_normal((1, 4))
V = rng.standard_normal(4)
POS = np.abs(rng.standard_normal((3, 4))) + 0.5
CONST = rng.standard_normal((3, 4))
DATA = rng.standard_normal((4, 5))


def _adjoint_source(f, *args):
    from irgrad.codegen import source
    return source(irgrad.code_adjoint(f, *args).adjoint)


FILL_CASES = [
    ("sum x*x", lambda x: np.sum(x * x), (A,)),
    ("scaled sum x*x", lambda x: 0.5 * 0.01 * np.sum(x * x), (A,)),
    ("sum pow", lambda x: np.sum((CONST - x) ** 2), (A,)),
    ("sum pow 3", lambda x: np.sum(x ** 3), (A,)),
    ("mean neg", lambda x: -np.mean(x * 3.0), (A,)),
    ("mean axis", lambda x: np.mean(-np.sum(x * CONST, axis=0)), (A,)),
    ("mean axis keepdims", lambda x: np.sum(np.mean(x, axis=1, keepdims=True) * COL), (A,)),
    ("sum of sums", lambda x: np.sum(np.sum(x, axis=0)), (A,)),
    ("mul col", lambda x, c: np.sum(x * c), (A, COL)),
    ("mul row col", lambda r, c: np.sum(r * c), (ROW, COL)),
    ("mul col row", lambda c, r: np.sum(c * r), (COL, ROW)),
    ("mul by scalar", lambda x, s: np.sum(x * s) + np.sum(s * x), (A, 0.7)),
    ("div by scalar", lambda x: np.sum(x / 4.0) / 3.0, (A,)),
    ("div by active scalar", lambda x, s: np.sum(x / s), (A, 1.7)),
    ("add scalar", lambda x: np.sum(x + 2.0) + np.sum(3.0 - x), (A,)),
    ("add active scalar", lambda x, s: np.sum(x - s), (A, 0.3)),
    ("add broadcast", lambda x, r: np.sum(x + r), (A, ROW)),
    ("add same shape", lambda x, y: np.sum(x - y), (A, POS)),
    ("unary", lambda x: np.sum(np.exp(x)) + np.sum(np.log(x)) + np.sum(np.tanh(x)) + np.sum(np.sqrt(x))
     + np.mean(np.sin(x)) + np.mean(np.cos(x)), (POS,)),
    ("relu", lambda x: np.sum(np.maximum(x, 0.0)) + np.mean(np.maximum(0.0, x)), (A,)),
    ("two fills", lambda x: np.sum(x) + np.mean(x) + np.sum(x * x), (A,)),
    ("fill into matmul", lambda x, d: np.sum(x @ d), (A, DATA)),
    ("fill into max", lambda x: np.sum(np.max(x, axis=0)), (A,)),
    ("1-d", lambda v: np.sum(v * v) + np.mean(v), (V,)),
    ("0-d", lambda x: np.sum(x * x) + np.mean(x), (np.array(1.5),)),
    ("reduced value, broadcast operands", lambda r, c: np.sum(np.sum(r * c, axis=0) * V), (ROW, COL)),
    ("reduced value, broadcast operands 2", lambda c, r: np.sum(np.sum(c * r, axis=1) * COL[:, 0]), (COL, ROW)),
    ("keepdims value into mul", lambda x, c: np.sum(np.sum(x * c, axis=1, keepdims=True) * COL), (ROW, COL)),
    ("int constant", lambda x: np.sum(x * 3) + np.sum(x + 1), (A,)),
]


@pytest.mark.parametrize("name, f, args", FILL_CASES, ids=[c[0] for c in FILL_CASES])
def test_fill_cotangents_match_finite_differences(name, f, args):
    check_grad(f, *args)


def test_fill_gradient_is_a_fresh_writable_array():
    g = irgrad.gradient(lambda x: np.sum(x), A)[0]
    assert isinstance(g, np.ndarray) and g.flags.writeable and g.flags.owndata and g.shape == A.shape
    g[:] = 5.0
    g2 = irgrad.gradient(lambda x: np.sum(x), A)[0]
    np.testing.assert_array_equal(g2, np.ones_like(A))
    m = irgrad.gradient(lambda x: np.mean(x * 2.0), A)[0]
    assert m.flags.writeable and m.shape == A.shape
    np.testing.assert_allclose(m, np.full(A.shape, 2.0 / A.size))


def test_fill_float32_keeps_the_old_path():
    x = A.astype(np.float32)
    g = irgrad.gradient(lambda x: np.sum(x * x), x)[0]
    np.testing.assert_allclose(g, 2 * x, rtol=1e-6)
    assert g.shape == x.shape


def test_fill_code_is_lean():
    src = _adjoint_source(lambda x: 0.0005 * np.sum(x * x), A)
    assert "fill_array" not in src and "reduce_adjoint" not in src and "broadcast" not in src
    src = _adjoint_source(lambda x: np.sum((CONST - x) ** 2), A)
    assert "fill_array" not in src and "reduce_adjoint" not in src


def test_reductions_of_arrays_are_method_calls():
    from irgrad import codegen
    from irgrad.pipeline import code_ir

    def f(x, xs):
        return np.sum(x, axis=0, keepdims=True).sum() + np.mean(x) + np.max(x, axis=1).sum() + np.sum(xs)

    src = codegen.source(code_ir(f, A, [1.0, 2.0]))
    assert "x.sum(axis=0, keepdims=True)" in src and "mean_f64(x)" in src and "x.max(axis=1)" in src
    assert "sum(xs)" in src and "xs.sum" not in src  # a list keeps np.sum
    g = codegen.compile_ir(code_ir(f, A, [1.0, 2.0]))
    assert g(A, [1.0, 2.0]) == f(A, [1.0, 2.0])
    check_grad(lambda x: np.sum(x, axis=0, keepdims=True).sum() + np.mean(x) + np.max(x, axis=1).sum(), A)


def _relu_chain(x, w):
    h = np.maximum(w @ x, 0.0)  # its cotangent is made by the adjoint: masked in place
    return np.sum(np.maximum(h * 2.0, 0.0) * h)


MASK_CASES = [
    ("owned temporary", _relu_chain, (A, rng.standard_normal((3, 3)))),
    ("fill value", lambda x: np.sum(np.maximum(np.sum(x, axis=0, keepdims=True) * 0.0 + x, 0.0)), (A,)),
    ("reduced fill into relu", lambda x: np.sum(np.maximum(x, 0.0), axis=0).sum(), (A,)),
    ("cotangent used twice", lambda x: np.sum(np.maximum(x * 3.0, 0.0) + np.maximum(x * 3.0, 0.0) * x), (A,)),
    ("relu of an argument", lambda x: np.sum(np.maximum(x, 0.0) * CONST), (A,)),
    ("relu dy is the gradient seed", lambda x: np.maximum(x, 0.0), (np.array([1.5, -2.0, 3.0]),)),
    ("0-d", lambda x: np.sum(np.maximum(x * 2.0, 0.0) * x), (np.array(1.5),)),
    ("1-d", lambda x, y: np.sum(np.maximum(x * y, 0.0) * y), (V, V[::-1].copy())),
]


@pytest.mark.parametrize("name, f, args", MASK_CASES[:5] + MASK_CASES[6:], ids=[c[0] for c in MASK_CASES[:5] + MASK_CASES[6:]])
def test_relu_masks_match_finite_differences(name, f, args):
    check_grad(f, *args)


def test_relu_mask_in_place_only_on_owned_temporaries():
    w = rng.standard_normal((3, 3))
    src = _adjoint_source(_relu_chain, A, w)
    assert "*=" in src
    # a cotangent that is also read elsewhere is never changed in place
    from irgrad import reverse_pass
    from irgrad.ir import Const
    t = irgrad.code_adjoint(lambda x: np.sum(np.maximum(x * 3.0, 0.0) * x), A)
    assert all(not (isinstance(s.fn, Const) and s.fn.value is reverse_pass.inline_rules.masked)
               for _, s in t.adjoint.stmts())
    # the seed of a pullback belongs to the caller: never changed in place
    y, back = irgrad.pullback(lambda x: np.maximum(x, 0.0), np.array([1.5, -2.0, 3.0]))
    seed = np.array([1.0, 2.0, 3.0])
    (g,) = back(seed)
    np.testing.assert_array_equal(seed, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(g, [1.0, 0.0, 3.0])
    (g2,) = back(seed)
    np.testing.assert_array_equal(g2, [1.0, 0.0, 3.0])


IDX = np.array([0, 2, 2, 1])
GETITEM_CASES = [
    ("fancy rows", lambda p, y: np.sum(np.log(p[np.arange(4), y])), (POS.T.copy(), np.array([0, 2, 1, 2]))),
    ("repeated indices", lambda x: np.sum(x[IDX] ** 2), (A,)),
    ("repeated pairs", lambda x: np.sum(x[(np.array([0, 0, 1]), np.array([1, 1, 3]))] * 3.0), (A,)),
    ("slice", lambda x: np.sum(x[1:, ::2] * x[1:, ::2]), (A,)),
    ("int", lambda x: x[1, 2] * x[0, 0], (A,)),
    ("bool mask", lambda x: np.sum(x[x > 0] ** 2), (A,)),
    ("constant tuple", lambda x: np.sum(x[(slice(None), 1)] * 2.0), (A,)),
    ("1-d int index", lambda v, i: np.sum(v[i] * v[i]), (V, np.array([3, 3, 0]))),
]


@pytest.mark.parametrize("name, f, args", GETITEM_CASES, ids=[c[0] for c in GETITEM_CASES])
def test_getitem_inline_matches_finite_differences(name, f, args):
    check_grad(f, *args)


def test_getitem_inline_has_no_closure():
    t = irgrad.code_adjoint(lambda p, y: np.sum(np.log(p[np.arange(4), y])), POS.T.copy(), np.array([0, 2, 1, 2]))
    assert "rrule" not in repr(t.forward) and "scatter" in repr(t.adjoint)
    g = irgrad.gradient(lambda x: np.sum(x[IDX]), A)[0]
    expected = np.zeros_like(A)
    np.add.at(expected, IDX, 1.0)
    np.testing.assert_array_equal(g, expected)


def test_mean_of_a_float64_array_is_the_methods_to_the_bit():
    import warnings

    from irgrad.codegen import mean_f64
    r = np.random.default_rng(5)
    for k in range(300):
        x = r.standard_normal(int(r.integers(1, 2000))) * 10.0 ** r.uniform(-300, 300)
        x = x.reshape(1, -1) if k % 3 == 0 else x[::2] if k % 3 == 1 else x
        m = mean_f64(x)
        assert type(m) is type(x.mean()) and (m == x.mean() or (m != m and x.mean() != x.mean()))
    # everything else is the method itself: a 0-d array, float32, other byte order, subclasses, empty
    for x in (np.array(2.5), A.astype(np.float32), A.astype(">f8"), np.ma.array(A, mask=A > 0),
              np.matrix(A), np.array([np.inf, -np.inf])):
        a, b = mean_f64(x), x.mean()
        assert type(a) is type(b) and (np.all(a == b) or (np.isnan(a) and np.isnan(b)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert np.isnan(mean_f64(np.empty(0)))
    assert any("Mean of empty slice" in str(w.message) for w in caught)


def test_mean_fast_path_in_derived_code():
    from irgrad import codegen

    def f(x):
        return np.mean(np.tanh(x * CONST)) + np.mean(x, axis=0).sum()
    assert "mean_f64" in codegen.source(irgrad.code_adjoint(f, A).forward)
    y, _ = irgrad.withgradient(f, A)
    assert y == f(A)
    check_grad(f, A)
    # float32 keeps the method (the fast path is for float64 only)
    src = codegen.source(irgrad.code_adjoint(lambda x: np.mean(x * x), A.astype(np.float32)).forward)
    assert "mean_f64" not in src and ".mean()" in src


def test_records_keep_only_what_the_adjoint_reads():
    def f(x, w, b):
        h = np.maximum(w @ x + b, 0.0)
        return np.sum(h * h)

    w, b = rng.standard_normal((3, 3)), rng.standard_normal((3, 1))
    t = irgrad.code_adjoint(f, A, w, b)
    from irgrad import ops
    from irgrad.ir import Const
    records = [s for _, s in t.forward.stmts() if s.fn == Const(ops.build_tuple) and len(s.args) > 2]
    assert records and len(records[0].args) == 5  # w, x, w @ x (its shape), b, h: not w @ x + b
    check_grad(f, A, w, b)
    # a pullback called twice (as jacobian does) reads the same record twice
    y, back = irgrad.pullback(f, A, w, b)
    g1, g2 = back(1.0), back(1.0)
    for u, v in zip(g1, g2):
        np.testing.assert_array_equal(u, v)
    J = irgrad.jacobian(lambda x: np.maximum(w @ x, 0.0)[:, 0], A)
    assert J[0].shape == (3, 3, 4)


def test_relu_mask_in_place_on_what_a_fused_adjoint_returned():
    """The adjoint helpers of fused idioms return new arrays (inline_rules.FRESH_RESULTS): a relu mask applied to
    what one returned is applied in place (moons' last layer), and the gradient stays right."""
    w = rng.standard_normal((3, 3))
    weights = rng.standard_normal((3, A.shape[1]))

    def f(x, w):
        h = np.maximum(w @ x, 0.0)
        return np.sum(weights * (h - np.log(np.sum(np.exp(h), axis=0, keepdims=True))))
    src = _adjoint_source(f, A, w)
    lines = src.splitlines()
    k = next(i for i, line in enumerate(lines) if "= logsoftmax_adjoint(" in line)
    assert any("*=" in line for line in lines[k + 1:]), src
    check_grad(f, A, w)
