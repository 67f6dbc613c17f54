"""The seeds' examples as tests of reverse mode: seed 001's MLP pulled back with respect to the model, seed 002's
polynomial fitted by gradient descent, seed 003's dual-number example as a gradient."""
import math

import numpy as np

import irgrad
from irgrad.nn import Chain, Dense, logit_cross_entropy, onehot, relu
from irgrad.testing import assert_close, numerical_vjp


def _perturbed_loss(model, loss, path, value):
    """loss(model) with one array of the model (layer index, attribute) replaced by `value`."""
    i, name = path
    layer = model.layers[i]
    old = getattr(layer, name)
    setattr(layer, name, value)
    try:
        return loss(model)
    finally:
        setattr(layer, name, old)


def test_seed001_mlp_pullback_gives_tangent():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((2, 8))
    Y = onehot(rng.integers(0, 2, 8), 2)
    model = Chain(Dense(2, 16, relu, rng=rng), Dense(16, 16, relu, rng=rng), Dense(16, 2, relu, rng=rng))
    for layer in model.layers:  # a nonzero bias, so that no relu sits exactly at its kink
        layer.bias = 0.1 * rng.standard_normal(layer.bias.shape)

    def loss(m):
        return logit_cross_entropy(m(X), Y)

    l, back = irgrad.pullback(lambda m: loss(m), model)
    assert abs(l - loss(model)) < 1e-15
    (g,) = back(1.0)
    assert isinstance(g, irgrad.Tangent)
    assert isinstance(g.layers, tuple) and len(g.layers) == 3
    for i in range(3):
        assert g.layers[i].activation is None
        for name in ("weight", "bias"):
            x0 = getattr(model.layers[i], name)
            expected = numerical_vjp(lambda v: _perturbed_loss(model, loss, (i, name), v), (x0,), 0, 1.0)
            assert_close(getattr(g.layers[i], name), expected, 1e-6, 1e-8, what=f"layers[{i}].{name}")


def test_seed001_chain_of_functions():
    # model = Chain(cos, sin); pullback at 0.9 gives -0.6368 (seed 001, from part 1)
    model = Chain(math.cos, math.sin)
    y, back = irgrad.pullback(model, 0.9)
    assert abs(y - 0.5823) < 1e-4
    (dx,) = back(1.0)
    assert abs(dx - (-0.6368)) < 1e-4


def evalpoly(x, coeffs):
    # Horner's rule, as the seed's `evalpoly`
    y = 0.0
    for c in reversed(coeffs):
        y = y * x + c
    return y


def test_seed002_polynomial_fit_reaches_least_squares():
    rng = np.random.default_rng(2)
    xs = np.linspace(-1.0, 1.0, 40)
    target = np.array([0.5, -1.0, 2.0, 0.3])
    ys = np.polyval(target[::-1], xs) + 0.05 * rng.standard_normal(xs.size)
    V = np.vander(xs, 4, increasing=True)

    def loss(w):
        return np.mean((V @ w - ys) ** 2)

    w_ls = np.linalg.lstsq(V, ys, rcond=None)[0]
    best = loss(w_ls)
    w = np.zeros(4)
    for _ in range(4000):
        (g,) = irgrad.gradient(loss, w)
        w = w - 0.5 * g
    assert loss(w) <= best * 1.01


def test_seed002_scalar_horner_gradient():
    coeffs = [1.0, -2.0, 0.5, 3.0]
    (g_x, g_c) = irgrad.gradient(evalpoly, 0.7, coeffs)
    assert abs(g_x - (-2.0 + 2 * 0.5 * 0.7 + 3 * 3.0 * 0.49)) < 1e-12
    assert_close(np.array(g_c), np.array([0.7 ** k for k in range(4)]), 1e-12, 1e-12)


def test_seed003_dual_number_example():
    # f(x, y) = 2x + x*y^3 + sin(x) at (3, 5): partials 126.01 and 225.0
    def f(x, y):
        return 2 * x + x * y ** 3 + math.sin(x)

    gx, gy = irgrad.gradient(f, 3.0, 5.0)
    assert abs(gx - 126.01) < 0.005 and abs(gy - 225.0) < 1e-9
