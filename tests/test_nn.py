"""Layers, activations and losses: their values, and their gradients through irgrad against finite differences
(the layers are plain Python, so these are gradients irgrad derives from their code)."""
import numpy as np
import pytest

import irgrad
from irgrad import IrgradError, Tangent
from irgrad.nn import (Chain, Dense, ModelError, accuracy, as_generator, cross_entropy, glorot_uniform,
                       identity, logit_cross_entropy, logsoftmax, mse, onehot, relu, scaled_normal, sigmoid,
                       softmax, tanh)
from irgrad.testing import assert_close, check_grad, numerical_vjp


# ---------------------------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------------------------

def test_glorot_uniform_shape_bounds_and_seed():
    w = glorot_uniform(30, 50, rng=0)
    bound = np.sqrt(6 / 80)
    assert w.shape == (50, 30)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert abs(np.var(w) - bound ** 2 / 3) < 0.1 * bound ** 2 / 3     # the variance of U(-s, s) is s^2 / 3
    np.testing.assert_array_equal(w, glorot_uniform(30, 50, rng=np.random.default_rng(0)))
    assert not np.array_equal(w, glorot_uniform(30, 50, rng=1))


def test_scaled_normal():
    w = scaled_normal(0.01)(200, 100, np.random.default_rng(0))
    assert w.shape == (100, 200) and abs(np.std(w) - 0.01) < 0.001


def test_dense_forward_and_layout():
    layer = Dense(3, 4, rng=0)
    assert layer.weight.shape == (4, 3) and layer.activation is relu
    np.testing.assert_array_equal(layer.bias, np.zeros((4, 1)))
    layer.bias = np.arange(4.0).reshape(4, 1) - 2
    x = np.random.default_rng(1).standard_normal((3, 5))
    np.testing.assert_allclose(layer(x), np.maximum(layer.weight @ x + layer.bias, 0))
    assert repr(layer) == "Dense(3 => 4, relu)"


def test_chain_composes_in_order():
    model = Chain(np.cos, np.sin)          # seed 001: Chain(cos, sin)(0.9) == 0.5823
    assert isinstance(model.layers, tuple)
    assert round(model(0.9), 4) == 0.5823
    rng = np.random.default_rng(0)
    mlp = Chain(Dense(2, 5, rng=rng), Dense(5, 3, sigmoid, rng=rng))
    x = rng.random((2, 7))
    np.testing.assert_allclose(mlp(x), mlp.layers[1](mlp.layers[0](x)))
    assert repr(mlp) == "Chain(Dense(2 => 5, relu), Dense(5 => 3, sigmoid))"


def test_activations():
    x = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_array_equal(relu(x), [[0.0, 0.0, 3.0]])
    np.testing.assert_allclose(sigmoid(x), 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(tanh(x), np.tanh(x))
    assert identity(x) is x


def test_softmax_and_logsoftmax_columns():
    x = np.random.default_rng(0).standard_normal((4, 6)) * 3
    p = softmax(x)
    np.testing.assert_allclose(p.sum(axis=0), 1.0)
    np.testing.assert_allclose(p, np.exp(x) / np.exp(x).sum(axis=0))
    np.testing.assert_allclose(logsoftmax(x), np.log(p))
    big = np.array([[1000.0], [999.0]])
    assert np.isfinite(softmax(big)).all() and np.isfinite(logsoftmax(big)).all()


def test_losses():
    y = onehot([0, 1, 2, 1], 3)
    assert logit_cross_entropy(np.zeros((3, 4)), y) == pytest.approx(np.log(3))
    x = np.random.default_rng(0).standard_normal((3, 4))
    expected = -np.mean(np.log(softmax(x))[[0, 1, 2, 1], range(4)])
    assert logit_cross_entropy(x, y) == pytest.approx(expected)
    assert cross_entropy(softmax(x), y) == pytest.approx(expected)
    assert mse(np.array([1.0, 2.0]), np.array([0.0, 4.0])) == pytest.approx(2.5)


def test_onehot_and_accuracy():
    np.testing.assert_array_equal(onehot([1, 0, 1], 2), [[0, 1, 0], [1, 0, 1]])
    np.testing.assert_array_equal(onehot(["b", "a"], ["a", "b"]), [[0, 1], [1, 0]])
    assert accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), [1, 1]) == 0.5
    with pytest.raises(ModelError, match="label 3 is not one of"):
        onehot([0, 3], 3)
    with pytest.raises(ModelError, match="one-dimensional"):
        onehot([[0]], 1)


@pytest.mark.parametrize("call", [lambda: Dense(0, 3), lambda: Dense(2, 3.0), lambda: Dense(2, 3, activation=5),
                                  lambda: Chain(Dense(2, 2), "relu"), lambda: as_generator(1.5),
                                  lambda: glorot_uniform(2, 2, rng="x")])
def test_bad_arguments_raise_model_error(call):
    with pytest.raises(ModelError) as info:
        call()
    assert isinstance(info.value, IrgradError)


# ---------------------------------------------------------------------------------------------------------------
# Gradients, derived by irgrad from the code above
# ---------------------------------------------------------------------------------------------------------------

def parameter_fd(loss_of_model, model, owner, name):
    """Central finite differences of `loss_of_model(model)` in the array `owner.<name>`."""
    original = getattr(owner, name)

    def loss_at(value):
        setattr(owner, name, value)
        try:
            return loss_of_model(model)
        finally:
            setattr(owner, name, original)
    return numerical_vjp(loss_at, (original,), 0, 1.0)


def mlp(rng, out_activation=identity):
    return Chain(Dense(2, 6, relu, rng=rng), Dense(6, 5, tanh, rng=rng), Dense(5, 3, out_activation, rng=rng))


def test_seed_001_mlp_gradient_with_respect_to_the_model():
    rng = np.random.default_rng(0)
    model = mlp(rng)
    for layer in model.layers:
        layer.bias = rng.standard_normal(layer.bias.shape) * 0.1     # nonzero, so relu kinks are unlikely at 0
    X, Y = rng.standard_normal((2, 8)), onehot(rng.integers(0, 3, 8), 3)

    def loss(m):
        return logit_cross_entropy(m(X), Y)

    (g,) = irgrad.gradient(loss, model)
    assert isinstance(g, Tangent) and isinstance(g.layers, tuple) and len(g.layers) == 3
    for layer, gl in zip(model.layers, g.layers):
        assert gl.activation is None
        for name in ("weight", "bias"):
            assert_close(getattr(gl, name), parameter_fd(loss, model, layer, name), what=f"{layer}.{name}")


def test_seed_001_chain_of_cos_and_sin():
    y, back = irgrad.pullback(lambda m, x: m(x), Chain(np.cos, np.sin), 0.9)
    g_model, g_x = back(1.0)
    assert round(y, 4) == 0.5823 and round(g_x, 4) == -0.6368     # -cos(cos 0.9) sin 0.9
    assert g_model is None or all(g is None for g in g_model.layers)     # functions carry no parameters


def test_dense_pullback_gives_layer_and_input_cotangents():
    rng = np.random.default_rng(1)
    layer = Dense(3, 4, sigmoid, rng=rng)
    x = rng.standard_normal((3, 5))
    y, back = irgrad.pullback(lambda l, x: l(x), layer, x)
    np.testing.assert_allclose(y, layer(x))
    dy = rng.standard_normal(y.shape)
    g_layer, g_x = back(dy)
    z = layer.weight @ x + layer.bias
    dz = dy * sigmoid(z) * (1 - sigmoid(z))
    assert_close(g_layer.weight, dz @ x.T)
    assert_close(g_layer.bias, dz.sum(axis=1, keepdims=True))
    assert_close(g_x, layer.weight.T @ dz)
    _, back_x = irgrad.pullback(layer, x)      # the layer as the function: cotangents for x alone
    (only_x,) = back_x(dy)
    assert_close(only_x, g_x)


@pytest.mark.parametrize("act", [relu, sigmoid, tanh, softmax, logsoftmax])
def test_activation_gradients(act):
    x = np.random.default_rng(2).standard_normal((3, 4)) + 0.05     # keep relu away from its kink

    def f(x):
        return np.sum(np.sin(act(x)))        # sin gives every output element its own cotangent
    check_grad(f, x)


@pytest.mark.parametrize("loss", [logit_cross_entropy, mse])
def test_loss_gradients(loss):
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((3, 5)), onehot(rng.integers(0, 3, 5), 3)
    check_grad(loss, x, y)


def test_cross_entropy_gradient():
    rng = np.random.default_rng(4)
    p, y = softmax(rng.standard_normal((3, 5))), onehot([0, 1, 2, 2, 1], 3)
    check_grad(cross_entropy, p, y)
