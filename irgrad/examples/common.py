"""What the examples share: the output folder, figures drawn with matplotlib when it is installed (the `examples`
extra), and a decision-boundary grid.  Figures are made with `matplotlib.figure.Figure` directly, never through
pyplot's global state, so running an example neither opens a window nor needs a display."""
from __future__ import annotations

import importlib.util
import os

import numpy as np

__all__ = ["output_dir", "have_matplotlib", "new_figure", "save_figure", "grid_over", "plot_history", "note"]


def output_dir(name, out=None) -> str:
    """The folder an example writes to: `out`, or `./irgrad-out/<name>`; created when missing."""
    path = os.fspath(out) if out is not None else os.path.join("irgrad-out", name)
    os.makedirs(path, exist_ok=True)
    return path


def have_matplotlib() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def new_figure(width=6.4, height=4.0, ncols=1):
    """A figure and its axes (a tuple when ncols > 1)."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(1, ncols)
    return fig, axes


def save_figure(fig, out, filename, dpi=80) -> str:
    path = os.path.join(out, filename)
    fig.savefig(path, dpi=dpi)
    return path


def grid_over(X, margin=0.5, steps=200):
    """A (2, steps * steps) matrix of points covering the 2-D data `X` (2, n) with a margin, and the two
    coordinate vectors, for drawing a decision boundary."""
    (x0, y0), (x1, y1) = X.min(axis=1) - margin, X.max(axis=1) + margin
    xs, ys = np.linspace(x0, x1, steps), np.linspace(y0, y1, steps)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()]), xs, ys


def plot_history(history, out, filename, title, xlabel="step", start=1):
    """The loss against the step (or epoch) numbered from `start`; a log scale when it spans decades."""
    fig, ax = new_figure(6.0, 3.6)
    ax.plot(np.arange(start, start + len(history)), history, lw=1.5, marker="o" if len(history) < 30 else None)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if min(history) > 0 and max(history) / min(history) > 50:
        ax.set_yscale("log")
    return save_figure(fig, out, filename)


def note(text):
    """One line of an example's report."""
    print(text, flush=True)
