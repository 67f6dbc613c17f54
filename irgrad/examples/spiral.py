"""Seed 004: CS231n's spiral, three classes of 100 points, a hidden relu layer of 100, softmax loss with L2.

    python -m irgrad.examples spiral [--out DIR] [--fast] [--seed N]

Weights start as 0.01 * N(0, 1), biases at zero; 10,000 steps of gradient descent of size 1.0 on the mean softmax
(logit cross-entropy) loss plus 0.5 * 1e-3 * sum(W^2) over both weight matrices.  Prints the loss at step 1 and
every 1,000 steps (1.0986 = ln 3 at the start, since every class is equally likely) and the training accuracy;
saves `decision_boundary.png`, `history.png`, and the IR of the loss as a graph: `loss_ir.dot`, and `loss_ir.png`
when Graphviz's `dot` is installed.  `--fast` runs 3,000 steps, enough for the accuracy.
"""
from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np

from .. import datasets, nn, optim
from .common import grid_over, have_matplotlib, new_figure, note, output_dir, plot_history, save_figure

NAME = "spiral"
DEFAULT_SEED = 1
REG = 1e-3


def add_arguments(parser):
    parser.add_argument("--steps", type=int, default=None, help="steps of size 1.0 (default 10,000; 3,000 fast)")


def spiral_loss(model, X, Y, reg):
    """Mean softmax loss over the columns plus the L2 penalty 0.5 * reg * sum(W^2) on every layer's weight."""
    data_loss = nn.logit_cross_entropy(model(X), Y)
    penalty = 0.0
    for layer in model.layers:
        penalty = penalty + np.sum(layer.weight * layer.weight)
    return data_loss + 0.5 * reg * penalty


def build_model(rng, hidden=100, classes=3):
    init = nn.scaled_normal(0.01)
    return nn.Chain(nn.Dense(2, hidden, nn.relu, rng=rng, init=init),
                    nn.Dense(hidden, classes, nn.identity, rng=rng, init=init))


def run(out=None, fast=False, seed=DEFAULT_SEED, steps=None, plots=True):
    """Returns the figures: `history` (loss per step), `accuracy`, and the `files` written."""
    steps = steps if steps is not None else (3_000 if fast else 10_000)
    rng = np.random.default_rng(seed)
    X, y = datasets.make_spiral(100, 3, rng=rng)
    Y = nn.onehot(y, 3)
    model = build_model(rng)
    note(f"spiral: 3 classes x 100 points, model {model}, step 1.0, L2 {REG}, {steps} steps")

    history = optim.train(spiral_loss, model, optim.Descent(1.0), steps, X, Y, REG, desc="spiral")
    for k in [1] + list(range(1000, steps + 1, 1000)):
        note(f"  loss: {history[k - 1]}   (step {k})")
    accuracy = nn.accuracy(model(X), y)
    note(f"training accuracy: {accuracy}")

    files = []
    folder = output_dir(NAME, out) if plots else None
    if plots and have_matplotlib():
        files.append(_plot_boundary(model, X, y, folder))
        files.append(plot_history(history, folder, "history.png", "spiral: training history"))
    elif plots:
        note("matplotlib is not installed: no plots (pip install 'irgrad[examples]')")
    if plots:
        files.extend(_loss_graph(model, X, Y, folder))
        note("pictures: " + ", ".join(files))
    return {"history": history, "accuracy": accuracy, "files": files}


def _plot_boundary(model, X, y, folder):
    """Seed 004's picture: the predicted class over the plane (a filled contour plot), the points on top."""
    points, xs, ys = grid_over(X, margin=0.3)
    z = np.argmax(model(points), axis=0).reshape(len(ys), len(xs))
    fig, ax = new_figure(5.2, 4.6)
    ax.contourf(xs, ys, z, levels=[-0.5, 0.5, 1.5, 2.5], cmap="Spectral", alpha=0.8)
    ax.scatter(X[0], X[1], c=y, cmap="Spectral", edgecolors="k", linewidths=0.5, s=20)
    ax.set_aspect("equal")
    ax.set_title("spiral: decision boundary")
    return save_figure(fig, folder, "decision_boundary.png")


def _loss_graph(model, X, Y, folder):
    """The computational graph of the loss: irgrad's IR of `spiral_loss` as Graphviz DOT, rendered to PNG when
    the `dot` program is installed."""
    from .. import dump
    from ..pipeline import code_ir

    ir = code_ir(spiral_loss, model, X, Y, REG)
    dot_path = os.path.join(folder, "loss_ir.dot")
    with open(dot_path, "w") as fh:
        fh.write(dump.to_dot(ir))
    files = [dot_path]
    dot = shutil.which("dot")
    if dot is None:
        note("Graphviz's dot is not installed: the loss's IR is left as DOT text in " + dot_path)
        return files
    png_path = os.path.join(folder, "loss_ir.png")
    subprocess.run([dot, "-Tpng", "-Gdpi=72", "-o", png_path, dot_path], check=True)
    files.append(png_path)
    return files
