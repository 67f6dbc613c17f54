"""Neural-network layers, activations and losses, written as plain Python and NumPy (seed 001, after Flux.jl).

Nothing here knows about irgrad: the model code paths (`Dense.__call__`, `Chain.__call__`, the activations and the
losses) are ordinary user code that irgrad traces and differentiates like any other, with no special case and no
hand-written gradient.  So they use only NumPy functions that have rules, and never mutate an array in place.

Layout: columns are samples.  A batch of `n` inputs of size `d` is a `(d, n)` matrix; `Dense(d, m)` maps it to
`(m, n)`; class scores and one-hot labels are `(classes, n)`.  A single sample is a `(d, 1)` column.

    model = Chain(Dense(2, 16, relu, rng=0), Dense(16, 16, relu, rng=1), Dense(16, 2, relu, rng=2))
    loss = logit_cross_entropy(model(X), onehot(y, 2))
"""
from __future__ import annotations

import numbers

import numpy as np

from .errors import IrgradError

__all__ = [
    "Dense", "Chain", "relu", "sigmoid", "tanh", "identity", "softmax", "logsoftmax",
    "logit_cross_entropy", "cross_entropy", "mse", "onehot", "glorot_uniform", "scaled_normal",
    "accuracy", "as_generator", "ModelError",
]


class ModelError(IrgradError, ValueError):
    """A layer, a loss or a random seed was given something it cannot use."""


def as_generator(rng=None) -> np.random.Generator:
    """A `numpy.random.Generator` from a seed (int), a Generator (returned as is) or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise ModelError(f"rng must be an int seed, a numpy.random.Generator or None, not {type(rng).__name__}")


# ---------------------------------------------------------------------------------------------------------------
# Initialisers: (fan_in, fan_out, rng) -> a (fan_out, fan_in) weight matrix
# ---------------------------------------------------------------------------------------------------------------

def glorot_uniform(fan_in: int, fan_out: int, rng=None) -> np.ndarray:
    """Uniform on [-s, s] with s = sqrt(6 / (fan_in + fan_out)), shape (fan_out, fan_in).  Seed 001 writes it as
    (U(0, 1) - 0.5) * sqrt(24 / (fan_in + fan_out)): half of sqrt(24) is sqrt(6)."""
    fan_in, fan_out = _size("fan_in", fan_in), _size("fan_out", fan_out)
    scale = np.sqrt(24.0 / (fan_in + fan_out))
    return (as_generator(rng).random((fan_out, fan_in)) - 0.5) * scale


def scaled_normal(std: float):
    """An initialiser drawing N(0, std^2) weights, as CS231n's `0.01 * randn(D, h)` (seed 004)."""
    def init(fan_in, fan_out, rng=None):
        return std * as_generator(rng).standard_normal((_size("fan_out", fan_out), _size("fan_in", fan_in)))
    init.__name__ = f"scaled_normal({std!r})"
    return init


def _size(what, n) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ModelError(f"{what} must be a positive int, not {n!r}")
    return int(n)


# ---------------------------------------------------------------------------------------------------------------
# Activations (elementwise)
# ---------------------------------------------------------------------------------------------------------------

def relu(x):
    """max(x, 0) elementwise (seed 001's `max.(0, x)`)."""
    return np.maximum(x, 0.0)


def sigmoid(x):
    """1 / (1 + exp(-x)) elementwise (seed 003's layers)."""
    return 1.0 / (1.0 + np.exp(-x))


def tanh(x):
    return np.tanh(x)


def identity(x):
    """No activation: a linear layer."""
    return x


# ---------------------------------------------------------------------------------------------------------------
# Softmax and losses; classes run down axis 0, samples along axis 1
# ---------------------------------------------------------------------------------------------------------------

def softmax(x):
    """exp(x) / sum(exp(x)) down each column.  The column maximum is subtracted first so exp cannot overflow; the
    shift cancels in the ratio, so its own derivative contributes exactly zero."""
    e = np.exp(x - np.max(x, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)


def logsoftmax(x):
    """x - log(sum(exp(x))) down each column (seed 001), computed as a shifted log-sum-exp so it cannot overflow."""
    shifted = x - np.max(x, axis=0, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=0, keepdims=True))


def logit_cross_entropy(x, y):
    """Mean over samples of -sum(y * logsoftmax(x)) for logits `x` and one-hot (or probability) labels `y`, both
    (classes, n): seed 001's eq. 4.4."""
    return np.mean(-np.sum(y * logsoftmax(x), axis=0))


# Flux's crossentropy adds eps(Float64) inside the log so that a probability of exactly 0 gives a finite loss.
_LOG_EPS = 2.220446049250313e-16


def cross_entropy(p, y):
    """Mean over samples of -sum(y * log(p)) for probabilities `p` (e.g. `softmax(x)`) and labels `y`."""
    return np.mean(-np.sum(y * np.log(p + _LOG_EPS), axis=0))


def mse(y_hat, y):
    """Mean squared error over all elements (seed 002)."""
    diff = y_hat - y
    return np.mean(diff * diff)


def onehot(labels, classes) -> np.ndarray:
    """A (classes, n) float matrix with a 1 in row `labels[j]` of column j.  `classes` is a count (labels are
    0 ... classes-1) or the sequence of label values in row order.  Builds its result in place, so call it on the
    labels outside the function being differentiated."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ModelError(f"onehot: labels must be one-dimensional, got shape {labels.shape}")
    if isinstance(classes, numbers.Integral) and not isinstance(classes, bool):
        values = np.arange(_size("onehot: classes", classes))
    else:
        values = np.asarray(list(classes))
    rows = np.full(labels.shape, -1)
    for row, value in enumerate(values):
        rows[labels == value] = row
    if labels.size and rows.min() < 0:
        bad = labels[rows < 0][0].item()
        raise ModelError(f"onehot: label {bad!r} is not one of the classes {values.tolist()}")
    out = np.zeros((len(values), labels.size))
    out[rows, np.arange(labels.size)] = 1.0
    return out


# ---------------------------------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------------------------------

class Dense:
    """`activation(weight @ x + bias)`: weight (out, in), bias (out, 1) zeros, x (in, n) with samples as columns.

    `init(fan_in, fan_out, rng)` draws the weight (default `glorot_uniform`); `rng` is a seed or a Generator."""

    def __init__(self, in_features, out_features, activation=relu, *, rng=None, init=glorot_uniform):
        if not callable(activation):
            raise ModelError(f"Dense: activation must be callable, not {activation!r}")
        self.weight = init(_size("Dense: in_features", in_features), _size("Dense: out_features", out_features),
                           as_generator(rng))
        self.bias = np.zeros((out_features, 1))
        self.activation = activation

    def __call__(self, x):
        return self.activation(self.weight @ x + self.bias)

    def __repr__(self):
        out, in_ = self.weight.shape
        return f"Dense({in_} => {out}, {getattr(self.activation, '__name__', self.activation)})"


class Chain:
    """Layers applied in order: `Chain(f, g)(x) == g(f(x))`.  The layers are kept in a tuple, `chain.layers`, so the
    gradient of a Chain is `Tangent(layers=(g0, g1, ...))`."""

    def __init__(self, *layers):
        for k, layer in enumerate(layers):
            if not callable(layer):
                raise ModelError(f"Chain: layer {k} is not callable: {layer!r}")
        self.layers = tuple(layers)

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def __repr__(self):
        return "Chain(" + ", ".join(repr(layer) for layer in self.layers) + ")"


def accuracy(scores, labels) -> float:
    """Fraction of columns of `scores` whose largest row is the label (labels 0 ... classes-1)."""
    return float(np.mean(np.argmax(scores, axis=0) == np.asarray(labels)))
