"""Optimisers and `update` on hand-built cotangents; training loops through irgrad."""
import io
from collections import namedtuple

import numpy as np
import pytest

import irgrad
from irgrad import IrgradError, Tangent
from irgrad.nn import Chain, Dense, identity, mse
from irgrad.optim import Adam, Descent, Momentum, OptimError, gradient_descent, step, train, update


class Holder:
    """A user object mixing parameters, containers, a scalar and things that are not parameters."""

    def __init__(self):
        self.net = Chain(Dense(2, 3, rng=0), Dense(3, 1, identity, rng=1))
        self.extra = {"scale": np.ones(2), "name": "holder"}
        self.pair = [np.zeros(3), 2.0]
        self.temperature = 1.5
        self.steps = np.arange(3)       # an int array: never trained


def test_update_walks_a_nested_model_in_place():
    m = Holder()
    w0 = m.net.layers[0].weight.copy()
    b1 = m.net.layers[1].bias
    arrays = (m.net.layers[0].weight, m.extra["scale"], m.pair[0], b1)
    g = Tangent(net=Tangent(layers=(Tangent(weight=np.ones((3, 2))), Tangent(bias=np.full((1, 1), 2.0),
                                                                               activation=None))),
                extra={"scale": np.array([1.0, -1.0])},
                pair=[np.full(3, 4.0), 0.5],
                temperature=-1.0,
                steps=None)
    out = update(Descent(0.1), m, g)
    assert out is m
    assert all(a is b for a, b in zip(arrays, (m.net.layers[0].weight, m.extra["scale"], m.pair[0], b1)))
    np.testing.assert_allclose(m.net.layers[0].weight, w0 - 0.1)
    np.testing.assert_allclose(m.net.layers[1].bias, [[-0.2]])
    np.testing.assert_array_equal(m.net.layers[0].bias, np.zeros((3, 1)))       # no cotangent: untouched
    np.testing.assert_allclose(m.extra["scale"], [0.9, 1.1])
    np.testing.assert_allclose(m.pair[0], np.full(3, -0.4))
    assert m.pair[1] == pytest.approx(1.95) and isinstance(m.pair[1], float)
    assert m.temperature == pytest.approx(1.6)
    np.testing.assert_array_equal(m.steps, np.arange(3))


def test_update_rebuilds_tuples_of_scalars():
    Point = namedtuple("Point", "x y")
    out = update(Descent(1.0), (1.0, Point(2.0, np.array([3.0]))), (0.5, Point(None, np.array([1.0]))))
    assert out[0] == 0.5 and isinstance(out[1], Point) and out[1].x == 2.0
    np.testing.assert_array_equal(out[1].y, [2.0])
    assert update(Descent(1.0), 3.0, 1.0) == 2.0
    assert update(Descent(1.0), 3.0, None) == 3.0


def test_momentum_accumulates_velocity_per_parameter():
    a, b = np.zeros(2), np.zeros(2)
    opt = Momentum(lr=0.1, rho=0.5)
    for _ in range(2):
        update(opt, [a, b], [np.ones(2), None])
    np.testing.assert_allclose(a, -0.1 * (1 + 1.5))       # v1 = 0.1 g, v2 = 0.5 v1 + 0.1 g
    np.testing.assert_array_equal(b, 0.0)
    update(opt, [a, b], [None, np.ones(2)])
    np.testing.assert_allclose(b, -0.1)                   # b's velocity is its own


def test_adam_steps():
    x = np.array([1.0, 1.0, 1.0])
    g = np.array([0.5, -2.0, 0.0])
    opt = Adam(lr=0.01)
    update(opt, x, g)
    np.testing.assert_allclose(x, 1.0 - 0.01 * g / (np.abs(g) + 1e-8))   # bias-corrected first step ~ lr * sign(g)
    y = np.array([0.0])
    for _ in range(3000):                                 # minimises (y - 3)^2
        update(opt, y, 2 * (y - 3.0))
    assert abs(y[0] - 3.0) < 1e-2


@pytest.mark.parametrize("model, grad, message", [
    (np.zeros(3), np.zeros(2), "shape"),
    (np.zeros(3, dtype=int), np.zeros(3), "dtype int"),
    ([np.zeros(1)], [np.zeros(1), np.zeros(1)], "sequence of 1"),
    ({"a": np.zeros(1)}, {"b": np.zeros(1)}, "key 'b'"),
    (Dense(2, 2, rng=0), Tangent(weights=np.zeros((2, 2))), "attribute 'weights'"),
    (Dense(2, 2, rng=0), {"weight": np.zeros((2, 2))}, "cannot apply"),
    (Chain(Dense(2, 2, rng=0)), Tangent(layers=(Tangent(bias=np.zeros(2)),)), r"model\.layers\[0\]\.bias"),
])
def test_update_reports_where_a_gradient_does_not_fit(model, grad, message):
    with pytest.raises(OptimError, match=message) as info:
        update(Descent(0.1), model, grad)
    assert isinstance(info.value, IrgradError)


# ---------------------------------------------------------------------------------------------------------------
# Training loops: the gradient comes from irgrad
# ---------------------------------------------------------------------------------------------------------------

class Quadratic:
    def __init__(self):
        self.w = np.array([3.0, -1.0])


def distance(model, target):
    d = model.w - target
    return np.sum(d * d)


def test_train_returns_the_loss_history():
    model, target = Quadratic(), np.array([1.0, 1.0])
    history = train(distance, model, Descent(0.25), 20, target, progress=False)
    assert len(history) == 20 and history[0] == pytest.approx(8.0)
    # each step halves the distance (x -= 0.25 * 2 (x - t)), so the loss falls by a factor of 4
    np.testing.assert_allclose(history[1:], np.array(history[:-1]) / 4)
    np.testing.assert_allclose(model.w, target, atol=1e-5)


def test_a_diverging_run_stops_with_a_clear_error():
    with pytest.raises(OptimError, match="diverged.*learning rate"), np.errstate(over="ignore", invalid="ignore"):
        train(distance, Quadratic(), Descent(1e10), 200, np.zeros(2), progress=False)


def test_gradient_descent_fits_a_linear_model():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 50))
    Y = np.array([[1.0, -2.0, 0.5]]) @ X + 0.3
    model = Chain(Dense(3, 1, identity, rng=rng))
    history = gradient_descent(model, mse, X, Y, learning_rate=0.3, max_iters=300)
    assert len(history) == 300 and history[-1] < 1e-8 < history[0]
    np.testing.assert_allclose(model.layers[0].weight, [[1.0, -2.0, 0.5]], atol=1e-4)
    np.testing.assert_allclose(model.layers[0].bias, [[0.3]], atol=1e-4)


def test_step_returns_the_loss_before_the_update():
    model = Quadratic()
    assert step(Descent(0.5), distance, model, np.zeros(2)) == pytest.approx(10.0)
    np.testing.assert_allclose(model.w, 0.0)


def test_progress_bar_only_when_asked_or_on_a_terminal(capsys, monkeypatch):
    train(distance, Quadratic(), Descent(0.1), 3, np.zeros(2))           # stdout is captured: not a terminal
    assert capsys.readouterr().err == ""
    train(distance, Quadratic(), Descent(0.1), 3, np.zeros(2), progress=True, desc="quad")
    assert "quad" in capsys.readouterr().err

    class FakeTerminal(io.StringIO):
        def isatty(self):
            return True
    monkeypatch.setattr("sys.stdout", FakeTerminal())
    train(distance, Quadratic(), Descent(0.1), 3, np.zeros(2), desc="tty")
    assert "tty" in capsys.readouterr().err


class Mixed:
    """Parameters in a list, a dict and a float attribute, as irgrad's cotangents mirror them."""

    def __init__(self, rng):
        self.blocks = [Dense(2, 4, rng=rng), Dense(4, 2, identity, rng=rng)]
        self.scales = {"out": np.ones((2, 1)), "label": "not a parameter"}
        self.temperature = 1.5

    def __call__(self, x):
        for block in self.blocks:
            x = block(x)
        return x * self.scales["out"] / self.temperature


def test_update_applies_an_irgrad_cotangent_to_a_nested_model():
    rng = np.random.default_rng(0)
    model, X, Y = Mixed(rng), rng.standard_normal((2, 10)), rng.standard_normal((2, 10))

    def loss(m):
        return mse(m(X), Y)

    before = loss(model)
    (g,) = irgrad.gradient(loss, model)
    assert isinstance(g.blocks, list) and isinstance(g.scales, dict) and isinstance(g.temperature, float)
    expected_w = model.blocks[1].weight - 0.01 * g.blocks[1].weight
    expected_t = model.temperature - 0.01 * g.temperature
    update(Descent(0.01), model, g)
    np.testing.assert_allclose(model.blocks[1].weight, expected_w)
    assert model.temperature == pytest.approx(expected_t)
    assert model.scales["label"] == "not a parameter"
    assert loss(model) < before
