"""Seed 002: fitting a cubic to noisy data by gradient descent, against the analytic least-squares fit.

    python -m irgrad.examples polyfit [--out DIR] [--fast] [--seed N]

The data are 100 points with x uniform on [-5, 5] around y = 15 - 2.1x + 13.9x^2 + 1.5x^3.  Prints the table of
mean squared error and coefficients for the target, the least-squares solution (pseudo-inverse), gradient descent
in the seed's setting (raw x, learning rate 1e-5, 10,000 steps: it stops short, x^3 dominates the gradient), and
gradient descent on x scaled to [-1, 1] (learning rate 0.5), which reaches the least-squares loss.  Saves
`curves.png` and `history.png`.
"""
from __future__ import annotations

import numpy as np

from .. import datasets, nn, optim
from .common import have_matplotlib, new_figure, note, output_dir, save_figure

NAME = "polyfit"
DEFAULT_SEED = 0
X_SCALE = 5.0           # half the width of x's range: x / X_SCALE lies in [-1, 1]


def add_arguments(parser):
    parser.add_argument("--steps", type=int, default=None,
                        help="steps of gradient descent on scaled x (default 1000, 300 with --fast)")


class Polynomial:
    """y = w[0] + w[1] x + ... + w[p] x^p, lowest degree first like Julia's `evalpoly`, by Horner's rule in a
    Python loop (irgrad differentiates the loop as it stands)."""

    def __init__(self, weights):
        self.weights = np.array(weights, dtype=np.float64)

    def __call__(self, x):
        w = self.weights
        y = np.zeros_like(x)
        for k in range(len(w) - 1, -1, -1):
            y = y * x + w[k]
        return y


def least_squares(x, y, degree):
    """Coefficients (lowest degree first) minimising the squared error: the pseudo-inverse solution of seed 002."""
    V = np.vander(x, degree + 1, increasing=True)
    return np.linalg.lstsq(V, y, rcond=None)[0]


def run(out=None, fast=False, seed=DEFAULT_SEED, steps=None, plots=True):
    """Returns the figures: `rows` (method -> (loss, coefficients)), `histories` (method -> loss history) and
    `files`.  With `fast`, the seed-setting run (10,000 steps that do not converge) is left out."""
    rng = np.random.default_rng(seed)
    x, y = datasets.make_polynomial(100, rng=rng)
    target = np.array(datasets.POLY_TARGET)
    degree = len(target) - 1
    steps = steps if steps is not None else (300 if fast else 1000)

    def loss_of(coeffs):
        return float(nn.mse(Polynomial(coeffs)(x), y))

    rows = {"target": target, "least squares": least_squares(x, y, degree)}
    histories = {}
    if not fast:
        model = Polynomial(rng.random(degree + 1))
        histories["gradient descent (seed: raw x, lr 1e-5)"] = optim.gradient_descent(
            model, nn.mse, x, y, learning_rate=1e-5, max_iters=10_000)
        rows["gradient descent (seed: raw x, lr 1e-5)"] = model.weights
    model = Polynomial(rng.random(degree + 1))
    label = f"gradient descent (x / {X_SCALE:g}, lr 0.5)"
    histories[label] = optim.gradient_descent(model, nn.mse, x / X_SCALE, y, learning_rate=0.5, max_iters=steps)
    rows[label] = model.weights / X_SCALE ** np.arange(degree + 1)     # back to coefficients of x itself

    rows = {method: (loss_of(c), c) for method, c in rows.items()}
    note(f"polyfit: 100 points, cubic target {_formula(target)}")
    width = max(len(m) for m in rows)
    note(f"  {'method':<{width}}  {'loss':>9}  coefficients (x^0 ... x^3)")
    for method, (loss, c) in rows.items():
        note(f"  {method:<{width}}  {loss:9.2f}  ({', '.join(f'{v:.2f}' for v in c)})")
    for method, h in histories.items():
        note(f"  {method}: loss {h[0]:.4g} at step 1, {h[-1]:.4g} at step {len(h)}")

    files = []
    if plots and have_matplotlib():
        folder = output_dir(NAME, out)
        files = [_plot_curves(x, y, rows, folder), _plot_histories(histories, folder)]
        note("pictures: " + ", ".join(files))
    elif plots:
        note("matplotlib is not installed: no pictures (pip install 'irgrad[examples]')")
    return {"rows": rows, "histories": histories, "files": files}


def _formula(c):
    out = f"y = {c[0]:.1f}"
    for k, v in enumerate(c[1:], start=1):
        out += f" {'-' if v < 0 else '+'} {abs(v):.1f}x" + (f"^{k}" if k > 1 else "")
    return out


def _plot_curves(x, y, rows, folder):
    fig, ax = new_figure(6.4, 4.2)
    ax.scatter(x, y, s=10, c="0.5", label="data")
    grid = np.linspace(x.min(), x.max(), 300)
    for (method, (loss, c)), style in zip(rows.items(), ["-", "-", "-", ":"]):     # the last lies on least squares
        ax.plot(grid, Polynomial(c)(grid), style, lw=1.8, label=f"{method} ({loss:.1f})")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("polyfit: fitted curves (mean squared error)")
    ax.legend(fontsize=7)
    return save_figure(fig, folder, "curves.png")


def _plot_histories(histories, folder):
    fig, ax = new_figure(6.4, 3.6)
    for method, h in histories.items():
        ax.plot(np.arange(1, len(h) + 1), h, lw=1.5, label=method)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("mean squared error")
    ax.set_title("polyfit: training history")
    ax.legend(fontsize=7)
    return save_figure(fig, folder, "history.png")
