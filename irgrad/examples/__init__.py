"""The seeds' examples, runnable as `python -m irgrad.examples NAME [--out DIR] [--fast] [--seed N]`:

    polyfit      seed 002: a cubic fitted by gradient descent against the analytic least-squares fit
    moons        seed 001: a 2-16-16-2 relu MLP on the moons, 100% training accuracy
    spiral       seed 004: CS231n's spiral, softmax loss with L2, 10,000 steps; the loss's IR as a graph
    autoencoder  seed 003: a sigmoid autoencoder trained by SGD on the 8x8 digits, or on MNIST with --mnist PATH

Each prints its figures and, with matplotlib installed, saves PNGs to `--out` (default `./irgrad-out/NAME`).
Each module has `run(out=None, fast=False, seed=..., ...)` returning its figures as a dict.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import IrgradError

EXAMPLES = {
    "polyfit": "seed 002: polynomial curve fitting, gradient descent against least squares",
    "moons": "seed 001: 2-16-16-2 relu MLP on the moons",
    "spiral": "seed 004: CS231n spiral, softmax loss with L2 regularisation",
    "autoencoder": "seed 003: sigmoid autoencoder trained by SGD (digits, or MNIST with --mnist)",
}

__all__ = ["EXAMPLES", "load", "main"]


def load(name):
    """The module of example `name`."""
    if name not in EXAMPLES:
        raise KeyError(f"no example {name!r}; the examples are {', '.join(EXAMPLES)}")
    return importlib.import_module(f"{__name__}.{name}")


def _parser():
    parser = argparse.ArgumentParser(prog="python -m irgrad.examples",
                                     description="Run one of the seeds' examples.")
    sub = parser.add_subparsers(dest="name", required=True, metavar="NAME")
    for name, help_ in EXAMPLES.items():
        module = load(name)
        p = sub.add_parser(name, help=help_, description=module.__doc__.strip().splitlines()[0])
        p.add_argument("--out", metavar="DIR", help=f"folder for the pictures (default ./irgrad-out/{name})")
        p.add_argument("--fast", action="store_true", help="a shorter run, as the test suite does")
        p.add_argument("--seed", type=int, default=module.DEFAULT_SEED,
                       help=f"random seed (default {module.DEFAULT_SEED})")
        module.add_arguments(p)
    return parser


def main(argv=None) -> int:
    """Run the example the command line names; bad input (a missing MNIST file ...) is one line and status 2."""
    args = vars(_parser().parse_args(argv))
    name = args.pop("name")
    try:
        load(name).run(**args)
    except IrgradError as exc:
        print(f"python -m irgrad.examples {name}: {exc}", file=sys.stderr)
        return 2
    return 0
