"""Seed 001: a 2-16-16-2 relu MLP trained on the moons by gradient descent on the logit cross-entropy.

    python -m irgrad.examples moons [--out DIR] [--seed N]

Prints the loss history every 20 steps and the training accuracy (100% in the seed's setting: 200 points with
noise 0.1, learning rate 0.9, 200 steps); saves `history.png` and `decision_boundary.png`.  As in the seed, the
last layer has a relu too: for some seeds that kills both logits of a region and training stalls near 0.35.
"""
from __future__ import annotations

import numpy as np

from .. import datasets, nn, optim
from .common import grid_over, have_matplotlib, new_figure, note, output_dir, plot_history, save_figure

NAME = "moons"
DEFAULT_SEED = 3


def add_arguments(parser):
    parser.add_argument("--samples", type=int, default=200, help="points in the data set (default 200)")
    parser.add_argument("--steps", type=int, default=200, help="gradient-descent steps (default 200)")


def build_model(rng):
    """Seed 001's model, relu on every layer, the output included."""
    return nn.Chain(nn.Dense(2, 16, nn.relu, rng=rng), nn.Dense(16, 16, nn.relu, rng=rng),
                    nn.Dense(16, 2, nn.relu, rng=rng))


def run(out=None, fast=False, seed=DEFAULT_SEED, samples=200, steps=200, learning_rate=0.9, plots=True):
    """Train and report; returns the figures: `history`, `accuracy`, and the `files` written.  The seed's setting
    is already fast, so `fast` changes nothing here."""
    rng = np.random.default_rng(seed)
    X, y = datasets.make_moons(samples, noise=0.1, rng=rng)
    Y = nn.onehot(y, 2)
    model = build_model(rng)
    note(f"moons: {samples} points, model {model}, learning rate {learning_rate}, {steps} steps")

    history = optim.gradient_descent(model, nn.logit_cross_entropy, X, Y, learning_rate=learning_rate,
                                     max_iters=steps)
    for k in range(0, steps, 20):
        note(f"  step {k + 1:4d}  loss {history[k]:.4f}")
    note(f"  step {steps:4d}  loss {history[-1]:.4f}")
    accuracy = nn.accuracy(model(X), y)
    note(f"training accuracy: {accuracy:.1%}")

    files = []
    if plots and have_matplotlib():
        folder = output_dir(NAME, out)
        files.append(plot_history(history, folder, "history.png", "moons: training history"))
        files.append(_plot_boundary(model, X, y, folder))
        note("pictures: " + ", ".join(files))
    elif plots:
        note("matplotlib is not installed: no pictures (pip install 'irgrad[examples]')")
    return {"history": history, "accuracy": accuracy, "files": files}


def _plot_boundary(model, X, y, folder):
    """Seed 001's picture: the probability of the first class over the plane, with the points on top."""
    points, xs, ys = grid_over(X, margin=0.25)
    p = nn.softmax(model(points))[0].reshape(len(ys), len(xs))
    fig, ax = new_figure(6.4, 4.2)
    mesh = ax.pcolormesh(xs, ys, p, cmap="RdBu", vmin=0.0, vmax=1.0, shading="auto")
    fig.colorbar(mesh, ax=ax, label="p(class 0)")
    ax.scatter(X[0], X[1], c=y, cmap="coolwarm", edgecolors="k", linewidths=0.5, s=18)
    ax.set_aspect("equal")
    ax.set_title("moons: decision boundary")
    return save_figure(fig, folder, "decision_boundary.png")
