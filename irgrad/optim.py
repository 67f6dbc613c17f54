"""Optimisers and training loops (after Optimisers.jl and Flux).

An optimiser turns a gradient into a step.  `update(opt, model, grads)` walks the model and its cotangent
together (a `Tangent` for an object, a tuple for a tuple, a list for a list, a dict for a dict, `None` for zero)
and updates every float array it reaches *in place*; float scalars held in an object, a list or a dict are
replaced.  The optimiser keeps its state (momentum, Adam's moments) per array, and per position in the model for
scalars.

`train(objective, model, opt, steps, *args)` minimises `objective(model, *args)`, one `irgrad.withgradient` call
per step, and returns the loss history; `gradient_descent(model, loss, X, Y)` is seed 001's `gradient_descent!`.
"""
from __future__ import annotations

import math
import sys

import numpy as np

import irgrad
from .errors import IrgradError
from .tangent import Tangent

__all__ = ["Descent", "Momentum", "Adam", "update", "value_and_grad", "step", "train", "gradient_descent", "OptimError"]


class OptimError(IrgradError, ValueError):
    """A gradient that does not fit the model, or a training run that diverged."""


# ---------------------------------------------------------------------------------------------------------------
# Optimisers: `init(x)` makes the state of one parameter, `apply(state, x, g)` returns (delta, state); the parameter
# then becomes x - delta.
# ---------------------------------------------------------------------------------------------------------------

class Descent:
    """Plain gradient descent: x -= lr * g."""

    def __init__(self, lr=0.1):
        self.lr = lr
        self.state = {}

    def init(self, x):
        return None

    def apply(self, state, x, g):
        return self.lr * g, state

    def __repr__(self):
        return f"Descent(lr={self.lr})"


class Momentum:
    """Gradient descent with momentum: v = rho * v + lr * g; x -= v."""

    def __init__(self, lr=0.01, rho=0.9):
        self.lr, self.rho = lr, rho
        self.state = {}

    def init(self, x):
        return np.zeros_like(x)

    def apply(self, v, x, g):
        v = self.rho * v + self.lr * g
        return v, v

    def __repr__(self):
        return f"Momentum(lr={self.lr}, rho={self.rho})"


class Adam:
    """Adam (Kingma and Ba 2015) with bias-corrected moment estimates."""

    def __init__(self, lr=0.001, b1=0.9, b2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps = lr, b1, b2, eps
        self.state = {}

    def init(self, x):
        return (np.zeros_like(x), np.zeros_like(x), 0)

    def apply(self, state, x, g):
        m, v, t = state
        t += 1
        m = self.b1 * m + (1 - self.b1) * g
        v = self.b2 * v + (1 - self.b2) * (g * g)
        m_hat = m / (1 - self.b1 ** t)
        v_hat = v / (1 - self.b2 ** t)
        return self.lr * m_hat / (np.sqrt(v_hat) + self.eps), (m, v, t)

    def __repr__(self):
        return f"Adam(lr={self.lr}, b1={self.b1}, b2={self.b2}, eps={self.eps})"


# ---------------------------------------------------------------------------------------------------------------
# Walking a model and its cotangent together
# ---------------------------------------------------------------------------------------------------------------

def update(opt, model, grads):
    """Apply one step of `opt` to every parameter of `model` that `grads` gives a cotangent for.  Arrays are
    updated in place; the (possibly rebuilt) model is returned, which matters only when the model itself is a
    scalar or a tuple of scalars."""
    return _update(opt, model, grads, ())


def _update(opt, x, g, path):
    if g is None:
        return x
    if isinstance(x, np.ndarray):
        return _update_array(opt, x, g, path)
    if _is_float_scalar(x):
        return _update_scalar(opt, x, g, path)
    if isinstance(x, (tuple, list)):
        if not isinstance(g, (tuple, list)) or len(g) != len(x):
            raise OptimError(f"update: the gradient at {_where(path)} should be a sequence of {len(x)}, got "
                             f"{_describe(g)}")
        new = [_update(opt, xi, gi, path + (f"[{i}]",)) for i, (xi, gi) in enumerate(zip(x, g))]
        if isinstance(x, list):
            x[:] = new          # the list object stays the same: whoever holds it sees the update
            return x
        if all(a is b for a, b in zip(new, x)):
            return x
        return tuple(new) if type(x) is tuple else type(x)(*new)     # a namedtuple takes its fields positionally
    if isinstance(x, dict):
        if not isinstance(g, dict):
            raise OptimError(f"update: the gradient at {_where(path)} should be a dict, got {_describe(g)}")
        for key, gk in g.items():
            if key not in x:
                raise OptimError(f"update: the gradient has key {key!r} that the dict at {_where(path)} lacks")
            x[key] = _update(opt, x[key], gk, path + (f"[{key!r}]",))
        return x
    if isinstance(g, Tangent):
        for name, gn in g:
            if gn is None:
                continue
            if not hasattr(x, name):
                raise OptimError(f"update: the gradient has attribute {name!r} that {type(x).__name__} at "
                                 f"{_where(path)} lacks")
            old = getattr(x, name)
            new = _update(opt, old, gn, path + (f".{name}",))
            if new is not old:
                setattr(x, name, new)
        return x
    raise OptimError(f"update: cannot apply a gradient {_describe(g)} to {type(x).__name__} at {_where(path)}")


def _update_array(opt, x, g, path):
    if x.dtype.kind not in "fc":
        raise OptimError(f"update: the array at {_where(path)} has dtype {x.dtype}; only float arrays are trained")
    g = np.asarray(g)
    if g.shape != x.shape:
        raise OptimError(f"update: the gradient at {_where(path)} has shape {g.shape}, the parameter {x.shape}")
    # An array keeps its identity (it is updated in place), so its state is keyed by the array itself, as Flux's
    # IdDict does; the entry holds the array so that its id cannot be reused by another one.
    key = ("array", id(x))
    _, state = opt.state.get(key) or (x, opt.init(x))
    delta, state = opt.apply(state, x, g)
    opt.state[key] = (x, state)
    x -= delta
    return x


def _update_scalar(opt, x, g, path):
    if not _is_float_scalar(g) and np.ndim(g) != 0:
        raise OptimError(f"update: the gradient at {_where(path)} is {_describe(g)}, the parameter a scalar")
    key = ("scalar", path)        # a new float every step: its state is keyed by where it sits in the model
    state = opt.state[key] if key in opt.state else opt.init(np.float64(x))
    delta, opt.state[key] = opt.apply(state, x, g)
    return type(x)(x - delta)


def _is_float_scalar(x):
    return isinstance(x, (float, np.floating))


def _where(path):
    """`model.layers[0].weight` from the path of attribute, index and key steps `_update` took."""
    return "model" + "".join(path) if path else "the top of the model"


def _describe(g):
    if isinstance(g, np.ndarray):
        return f"an array of shape {g.shape}"
    return f"a {type(g).__name__}"


# ---------------------------------------------------------------------------------------------------------------
# Training loops
# ---------------------------------------------------------------------------------------------------------------

def value_and_grad(objective, model, *args):
    """(objective(model, *args), its cotangent with respect to `model`): the one call to irgrad per step."""
    value, grads = irgrad.withgradient(objective, model, *args)
    return value, grads[0]


def step(opt, objective, model, *args) -> float:
    """One optimisation step on `objective(model, *args)`; returns the loss before the step."""
    value, grad = value_and_grad(objective, model, *args)
    value = float(value)
    if not math.isfinite(value):
        raise OptimError(f"the loss is {value}: training diverged; try a smaller learning rate than {opt!r}")
    update(opt, model, grad)
    return value


def train(objective, model, opt, steps, *args, progress=None, desc=None) -> list:
    """Minimise `objective(model, *args)` for `steps` steps of `opt`; returns the loss at each step (before its
    update).  `progress` shows a tqdm bar: None means only when stdout is a terminal and tqdm is installed."""
    history = []
    with _progress_bar(steps, progress, desc) as bar:
        for _ in range(steps):
            history.append(step(opt, objective, model, *args))
            bar.update(history[-1])
    return history


def gradient_descent(model, loss, X, Y, *, learning_rate=0.1, max_iters=100, opt=None, progress=None) -> list:
    """Seed 001's `gradient_descent!`: minimise `loss(model(X), Y)` by `max_iters` steps of `Descent(learning_rate)`
    (or of `opt`), updating `model` in place; returns the loss history."""
    def objective(m):
        return loss(m(X), Y)
    return train(objective, model, opt if opt is not None else Descent(learning_rate), max_iters,
                 progress=progress, desc="gradient descent")


class _progress_bar:
    """A tqdm bar showing the last loss, or nothing."""

    def __init__(self, total, progress, desc):
        if progress is None:
            progress = sys.stdout.isatty()
        self.bar = None
        if progress:
            try:
                from tqdm import tqdm
            except ImportError:     # tqdm is an optional extra: no bar without it
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, desc=desc, leave=False)

    def __enter__(self):
        return self

    def update(self, loss):
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{loss:.4g}", refresh=False)
            self.bar.update(1)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
