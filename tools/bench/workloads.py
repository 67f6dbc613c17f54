"""The four benchmark workloads: their data and their loss functions, written as plain Python + NumPy.

Each loss is `loss(params, data)` written the way a user would write it, with no in-place mutation of arrays:
this is the code irgrad differentiates.  The same functions run under autograd and JAX by rebinding the global
`np` (see `peers.rebind_numpy`), so every implementation computes the same thing.  Everything is float64.

| workload | model | params | data |
|---|---|---|---|
| moons | MLP 2-16-16-2, relu on every layer as in seed 001, logit cross-entropy | (W1, b1, W2, b2, W3, b3) | X 2x200 (columns are samples), one-hot Y 2x200 |
| spiral | CS231n 2-100-3, relu, softmax loss + L2 1e-3 (seed 004) | (W1, b1, W2, b2) | X 300x2 (rows are samples), labels y |
| autoencoder | 784-300-100-784, sigmoid, squared error (seed 003) | (We1, b1, We2, b2, Wd) | X 784x64, random data of MNIST's shape |
| scalar-poly | degree-4 polynomial by Horner over 100 Python floats (seed 002) | 5 float coefficients | (xs, ys) lists |
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

# ---------------------------------------------------------------------------------------------------------------
# moons (seed 001): Dense layers with relu, logit cross-entropy over the columns
# ---------------------------------------------------------------------------------------------------------------


def relu(x):
    return np.maximum(x, 0.0)


def dense(W, b, x):
    return relu(W @ x + b)


def logsoftmax(x):
    return x - np.log(np.sum(np.exp(x), axis=0, keepdims=True))


def logit_cross_entropy(x, Y):
    return np.mean(-np.sum(Y * logsoftmax(x), axis=0))


def moons_loss(params, data):
    W1, b1, W2, b2, W3, b3 = params
    X, Y = data
    h1 = dense(W1, b1, X)
    h2 = dense(W2, b2, h1)
    out = dense(W3, b3, h2)
    return logit_cross_entropy(out, Y)


# ---------------------------------------------------------------------------------------------------------------
# spiral (seed 004): the CS231n two-layer network, rows are samples
# ---------------------------------------------------------------------------------------------------------------

REG = 1e-3  # L2 regularisation strength, as in CS231n


def spiral_loss(params, data):
    W1, b1, W2, b2 = params
    X, y = data
    hidden = np.maximum(0, X @ W1 + b1)
    scores = hidden @ W2 + b2
    exp_scores = np.exp(scores)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    n = X.shape[0]
    correct_logprobs = -np.log(probs[np.arange(n), y])
    data_loss = np.sum(correct_logprobs) / n
    reg_loss = 0.5 * REG * np.sum(W1 * W1) + 0.5 * REG * np.sum(W2 * W2)
    return data_loss + reg_loss


# ---------------------------------------------------------------------------------------------------------------
# autoencoder (seed 003): two sigmoid encoder layers, one sigmoid decoder layer, summed squared error
# ---------------------------------------------------------------------------------------------------------------


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def autoencoder_loss(params, X):
    We1, b1, We2, b2, Wd = params
    first = sigmoid(We1 @ X + b1)
    encoded = sigmoid(We2 @ first + b2)
    reconstructed = sigmoid(Wd @ encoded)
    return np.sum((X - reconstructed) ** 2)


# ---------------------------------------------------------------------------------------------------------------
# scalar-poly (seed 002): Horner's rule in a Python loop over Python floats, mean squared error
# ---------------------------------------------------------------------------------------------------------------


def horner(coeffs, x):
    """coeffs[0] + coeffs[1] x + ... + coeffs[-1] x^(n-1), like Julia's evalpoly."""
    y = coeffs[-1]
    for k in range(len(coeffs) - 2, -1, -1):
        y = y * x + coeffs[k]
    return y


def poly_loss(coeffs, data):
    xs, ys = data
    total = 0.0
    for x, y in zip(xs, ys):
        total += (horner(coeffs, x) - y) ** 2
    return total / len(xs)


# ---------------------------------------------------------------------------------------------------------------
# data: one fixed seed, so every implementation and every run sees the same numbers
# ---------------------------------------------------------------------------------------------------------------


def make_moons(rng, n_samples=200, noise=0.1):
    """scikit-learn's make_moons as in seed 001, transposed: a 2 x n_samples matrix and one-hot labels 2 x n."""
    n = n_samples // 2
    t_outer = rng.random(n) * np.pi
    t_inner = rng.random(n) * np.pi
    X = np.vstack([np.concatenate([np.cos(t_outer), 1.0 - np.cos(t_inner)]),
                   np.concatenate([np.sin(t_outer), 1.0 - np.sin(t_inner) - 0.5])])
    X = X + noise * rng.standard_normal(X.shape)
    Y = np.zeros((2, n_samples))
    Y[0, :n] = 1.0
    Y[1, n:] = 1.0
    return X, Y


def glorot_uniform(rng, fan_in, fan_out):
    return (rng.random((fan_out, fan_in)) - 0.5) * np.sqrt(24.0 / (fan_in + fan_out))


def moons_data(rng):
    X, Y = make_moons(rng)
    sizes = [(2, 16), (16, 16), (16, 2)]
    params = []
    for fan_in, fan_out in sizes:
        # small random biases (not zeros as at initialisation) so that every gradient entry is exercised
        params += [glorot_uniform(rng, fan_in, fan_out), 0.1 * rng.standard_normal((fan_out, 1))]
    return tuple(params), (X, Y)


def make_spiral(rng, points_per_class=100, classes=3):
    """The CS231n spiral: X is (points_per_class * classes) x 2, y the integer class of each row."""
    N, K = points_per_class, classes
    X = np.zeros((N * K, 2))
    y = np.zeros(N * K, dtype=np.int64)
    for j in range(K):
        ix = range(N * j, N * (j + 1))
        r = np.linspace(0.0, 1.0, N)
        t = np.linspace(j * 4, (j + 1) * 4, N) + rng.standard_normal(N) * 0.2
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[ix] = j
    return X, y


def spiral_data(rng):
    X, y = make_spiral(rng)
    h = 100
    params = (0.01 * rng.standard_normal((2, h)), 0.01 * rng.standard_normal((1, h)),
              0.01 * rng.standard_normal((h, 3)), 0.01 * rng.standard_normal((1, 3)))
    return params, (X, y)


def autoencoder_data(rng, batch=64):
    X = rng.random((784, batch))  # pixel intensities in [0, 1), MNIST's shape
    params = (0.1 * rng.standard_normal((300, 784)), 0.1 * rng.standard_normal((300, 1)),
              0.1 * rng.standard_normal((100, 300)), 0.1 * rng.standard_normal((100, 1)),
              0.1 * rng.standard_normal((784, 100)))
    return params, X


def poly_data(rng, n=100):
    true_coeffs = (0.5, -1.0, 2.0, 0.3, -0.7)
    xs = [float(v) for v in rng.uniform(-1.0, 1.0, n)]
    ys = [horner(true_coeffs, x) + 0.05 * float(rng.standard_normal()) for x in xs]
    coeffs = tuple(float(v) for v in rng.standard_normal(5))
    return coeffs, (xs, ys)


# ---------------------------------------------------------------------------------------------------------------
# the table the harness walks
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    loss: Callable[[Any, Any], float]
    make_data: Callable[[np.random.Generator], tuple]
    scalar_params: bool = False  # params are Python floats, not arrays

    def data(self, seed=0):
        """(params, data), the same for every implementation."""
        return self.make_data(np.random.default_rng(seed))


WORKLOADS = {w.name: w for w in [
    Workload("moons", "MLP 2-16-16-2 with relu, logit cross-entropy over 200 samples (columns)",
             moons_loss, moons_data),
    Workload("spiral", "CS231n spiral, 300 samples, 2-100-3, softmax loss with L2 1e-3",
             spiral_loss, spiral_data),
    Workload("autoencoder", "784-300-100-784 with sigmoid, squared error, batch 64",
             autoencoder_loss, autoencoder_data),
    Workload("scalar-poly", "degree-4 polynomial by Horner over 100 Python floats, MSE, gradient w.r.t. 5 coefficients",
             poly_loss, poly_data, scalar_params=True),
]}
