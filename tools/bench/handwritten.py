"""Hand-written forward and backward passes: the practical limit every other row is divided by.

Each `<workload>_grad(params, data)` returns the gradient of `workloads.<workload>_loss` with respect to `params`,
in the same structure (a tuple of arrays, or a tuple of floats for scalar-poly).  They are written for speed the
way an expert would write them: in-place updates of temporaries, masks instead of `where`, the algebra of the
loss simplified by hand (softmax minus one-hot).  `run.py` checks them against central finite differences before
anything is timed.
"""
from __future__ import annotations

import numpy as np

from workloads import REG


def moons_grad(params, data):
    W1, b1, W2, b2, W3, b3 = params
    X, Y = data
    n = X.shape[1]
    h1 = W1 @ X
    h1 += b1
    np.maximum(h1, 0.0, out=h1)
    h2 = W2 @ h1
    h2 += b2
    np.maximum(h2, 0.0, out=h2)
    out = W3 @ h2
    out += b3
    np.maximum(out, 0.0, out=out)
    # loss = mean_j(-sum_i Y_ij (out_ij - log sum_r exp out_rj)); the columns of Y sum to one, so
    # dloss/dout = (softmax(out) - Y) / n, then through the output relu.
    p = np.exp(out)
    p /= p.sum(axis=0)
    p -= Y
    p *= 1.0 / n
    p *= out > 0
    dW3 = p @ h2.T
    db3 = p.sum(axis=1, keepdims=True)
    d2 = W3.T @ p
    d2 *= h2 > 0
    dW2 = d2 @ h1.T
    db2 = d2.sum(axis=1, keepdims=True)
    d1 = W2.T @ d2
    d1 *= h1 > 0
    dW1 = d1 @ X.T
    db1 = d1.sum(axis=1, keepdims=True)
    return dW1, db1, dW2, db2, dW3, db3


def spiral_grad(params, data):
    """CS231n's own backward pass (the 'neural network case study'), with the L2 term."""
    W1, b1, W2, b2 = params
    X, y = data
    n = X.shape[0]
    hidden = X @ W1
    hidden += b1
    np.maximum(hidden, 0.0, out=hidden)
    scores = hidden @ W2
    scores += b2
    probs = np.exp(scores)
    probs /= probs.sum(axis=1, keepdims=True)
    probs[np.arange(n), y] -= 1.0  # d data_loss / d scores = (probs - onehot) / n
    probs *= 1.0 / n
    dW2 = hidden.T @ probs
    dW2 += REG * W2
    db2 = probs.sum(axis=0, keepdims=True)
    dhidden = probs @ W2.T
    dhidden *= hidden > 0
    dW1 = X.T @ dhidden
    dW1 += REG * W1
    db1 = dhidden.sum(axis=0, keepdims=True)
    return dW1, db1, dW2, db2


def _sigmoid_inplace(z):
    np.negative(z, out=z)
    np.exp(z, out=z)
    z += 1.0
    np.reciprocal(z, out=z)
    return z


def autoencoder_grad(params, X):
    We1, b1, We2, b2, Wd = params
    a1 = We1 @ X
    a1 += b1
    _sigmoid_inplace(a1)
    a2 = We2 @ a1
    a2 += b2
    _sigmoid_inplace(a2)
    r = _sigmoid_inplace(Wd @ a2)
    # d/dr sum((X - r)^2) = 2 (r - X); sigmoid' = s (1 - s)
    dz3 = r - X
    dz3 *= 2.0 * r
    dz3 *= 1.0 - r
    dWd = dz3 @ a2.T
    dz2 = Wd.T @ dz3
    dz2 *= a2
    dz2 *= 1.0 - a2
    dWe2 = dz2 @ a1.T
    db2 = dz2.sum(axis=1, keepdims=True)
    dz1 = We2.T @ dz2
    dz1 *= a1
    dz1 *= 1.0 - a1
    dWe1 = dz1 @ X.T
    db1 = dz1.sum(axis=1, keepdims=True)
    return dWe1, db1, dWe2, db2, dWd


def poly_grad(coeffs, data):
    """Vectorised: the 100 floats become one array, the powers x^0..x^4 a 5 x 100 matrix, then two products.

    On 100 points this beats the plain loop (`poly_grad_loop`) by about half: one NumPy call costs about a
    microsecond, a Python float operation about 20 ns, and the loop does fifteen of them per point.
    """
    xs, ys = data
    x = np.array(xs)
    powers = np.empty((5, x.size))
    powers[0] = 1.0
    powers[1] = x
    np.multiply(x, x, out=powers[2])
    np.multiply(powers[2], x, out=powers[3])
    np.multiply(powers[2], powers[2], out=powers[4])
    r = np.array(coeffs) @ powers  # residuals: polynomial minus target
    r -= ys
    g = powers @ r
    g *= 2.0 / len(xs)
    return tuple(g.tolist())


def poly_grad_loop(coeffs, data):
    """The same gradient as one fused pass over the Python floats: the form irgrad's generated code can reach."""
    xs, ys = data
    c0, c1, c2, c3, c4 = coeffs
    g0 = g1 = g2 = g3 = g4 = 0.0
    for x, y in zip(xs, ys):
        x2 = x * x
        r = (((c4 * x + c3) * x + c2) * x + c1) * x + c0 - y
        g0 += r
        g1 += r * x
        g2 += r * x2
        g3 += r * x2 * x
        g4 += r * x2 * x2
    s = 2.0 / len(xs)
    return s * g0, s * g1, s * g2, s * g3, s * g4


HANDWRITTEN = {
    "moons": moons_grad,
    "spiral": spiral_grad,
    "autoencoder": autoencoder_grad,
    "scalar-poly": poly_grad,
}

# further hand-written rows, shown below the main one: (workload, row name, gradient)
HANDWRITTEN_EXTRA = [
    ("scalar-poly", "hand-written, plain Python loop", poly_grad_loop),
]
