"""Seed 003: a sigmoid autoencoder trained by stochastic gradient descent to reproduce its input.

    python -m irgrad.examples autoencoder [--out DIR] [--fast] [--seed N] [--mnist PATH] [--epochs N]

By default it trains 64-32-16-64 on scikit-learn's 8x8 digits (shipped with scikit-learn, no download).  With
`--mnist PATH` (a folder holding `train-images-idx3-ubyte[.gz]`, or that file itself) it trains the seed's
784-300-100-784 on MNIST.  The loss is the squared reconstruction error summed over pixels, averaged over a
mini-batch; every layer is `Dense(..., sigmoid)`.  Prints the loss over the whole training set before training and
after each epoch; saves `history.png` and `reconstructions.png` (inputs on top, reconstructions below).
"""
from __future__ import annotations

import numpy as np

from .. import datasets, nn, optim
from .common import have_matplotlib, new_figure, note, output_dir, plot_history, save_figure

NAME = "autoencoder"
DEFAULT_SEED = 0
DIGITS_SIZES = (64, 32, 16, 64)
MNIST_SIZES = (784, 300, 100, 784)


def add_arguments(parser):
    parser.add_argument("--mnist", metavar="PATH", help="train 784-300-100-784 on MNIST IDX files at PATH")
    parser.add_argument("--epochs", type=int, default=None, help="passes over the data (default 10; 2 fast)")
    parser.add_argument("--batch", type=int, default=16, help="mini-batch size (default 16; the seed used 1)")
    parser.add_argument("--lr", type=float, default=1.0, help="learning rate (default 1.0)")
    parser.add_argument("--limit", type=int, default=None, help="train on the first N samples only")


def reconstruction_loss(model, x):
    """Squared error between the batch `x` (features, n) and its reconstruction, summed over features and
    averaged over the n samples (seed 003's `sum((input - reconstructed).^2)` per sample)."""
    d = model(x) - x
    return np.sum(d * d) / x.shape[1]


def build_model(sizes, rng):
    return nn.Chain(*[nn.Dense(a, b, nn.sigmoid, rng=rng) for a, b in zip(sizes[:-1], sizes[1:])])


def run(out=None, fast=False, seed=DEFAULT_SEED, mnist=None, epochs=None, batch=16, lr=1.0, limit=None,
        plots=True):
    """Returns the figures: `losses` (whole-set loss before training, then after each epoch), `sizes`, `files`."""
    epochs = epochs if epochs is not None else (2 if fast else 10)
    if mnist is not None:
        X, _ = datasets.load_mnist(mnist)
        sizes, source = MNIST_SIZES, f"MNIST ({mnist})"
    else:
        X, _ = datasets.load_digits()
        sizes, source = DIGITS_SIZES, "scikit-learn's 8x8 digits"
    if limit is not None:
        X = X[:, :limit]
    if X.shape[0] != sizes[0]:
        raise datasets.DatasetError(f"autoencoder: images of {X.shape[0]} pixels, the model expects {sizes[0]}")
    rng = np.random.default_rng(seed)
    model = build_model(sizes, rng)
    opt = optim.Descent(lr)
    n = X.shape[1]
    note(f"autoencoder: {source}, {n} samples, model {model}, SGD lr {lr}, batch {batch}, {epochs} epochs")

    losses = [float(reconstruction_loss(model, X))]
    note(f"  epoch {0:3d}  loss {losses[0]:.4f}")
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            optim.step(opt, reconstruction_loss, model, X[:, order[start:start + batch]])
        losses.append(float(reconstruction_loss(model, X)))
        note(f"  epoch {epoch:3d}  loss {losses[-1]:.4f}")
    note(f"loss fell from {losses[0]:.4f} to {losses[-1]:.4f} ({losses[-1] / losses[0]:.1%} of the start)")

    files = []
    if plots and have_matplotlib():
        folder = output_dir(NAME, out)
        files.append(plot_history(losses, folder, "history.png", "autoencoder: loss over the training set",
                                  xlabel="epoch", start=0))
        files.append(_plot_reconstructions(model, X, rng, folder))
        note("pictures: " + ", ".join(files))
    elif plots:
        note("matplotlib is not installed: no pictures (pip install 'irgrad[examples]')")
    return {"losses": losses, "sizes": sizes, "files": files}


def _plot_reconstructions(model, X, rng, folder, count=10):
    side = int(round(np.sqrt(X.shape[0])))
    picks = rng.choice(X.shape[1], size=count, replace=False)
    originals, rebuilt = X[:, picks], model(X[:, picks])
    fig, axes = new_figure(count * 0.9, 2.1, ncols=count)
    fig.get_layout_engine().set(w_pad=0.01, h_pad=0.01)
    for k, ax in enumerate(axes):
        gap = np.zeros((max(1, side // 8), side))       # a white line between input and reconstruction
        pair = np.concatenate([originals[:, k].reshape(side, side), gap, rebuilt[:, k].reshape(side, side)])
        ax.imshow(pair, cmap="gray_r", vmin=0.0, vmax=1.0)
        ax.set_axis_off()
    fig.suptitle("autoencoder: inputs (top) and reconstructions (bottom)", fontsize=9)
    return save_figure(fig, folder, "reconstructions.png")
