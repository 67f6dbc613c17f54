"""Data sets for the examples: the moons (seed 001), the CS231n spiral (seed 004), noisy polynomial data (seed 002),
MNIST from IDX files (seed 003) and scikit-learn's 8x8 digits as the embedded stand-in for MNIST.

Layout: every function returns samples as columns, as `irgrad.nn` expects: `X` is `(features, n)` and `y` an int
vector of `n` labels numbered from 0.  (Seed 004 keeps samples in rows; its X is our `X.T`.)  Randomness comes
from `rng`, a seed or a `numpy.random.Generator`.
"""
from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

from .errors import IrgradError
from .nn import as_generator

__all__ = ["make_moons", "make_spiral", "make_polynomial", "load_idx", "load_mnist", "load_digits",
           "DatasetError"]


class DatasetError(IrgradError, ValueError):
    """A data file that is missing, of the wrong format or truncated, or a generator given bad sizes."""


def _count(what, n, minimum=1) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < minimum:
        raise DatasetError(f"{what} must be an int of at least {minimum}, not {n!r}")
    return int(n)


# ---------------------------------------------------------------------------------------------------------------
# Generated data
# ---------------------------------------------------------------------------------------------------------------

def make_moons(n_samples=100, noise=None, rng=None):
    """Two interleaving half circles (seed 001, after scikit-learn).  Returns `X` (2, n_samples) and `y`: the first
    n_samples // 2 columns are the outer moon (label 0), the rest the inner one (label 1).  Angles are drawn
    uniformly at random, as in the seed; `noise` is the standard deviation of Gaussian noise added to X."""
    n = _count("make_moons: n_samples", n_samples, 2)
    rng = as_generator(rng)
    n_outer = n // 2
    n_inner = n - n_outer
    t_outer = rng.random(n_outer) * np.pi
    t_inner = rng.random(n_inner) * np.pi
    outer = np.stack([np.cos(t_outer), np.sin(t_outer)])
    inner = np.stack([1.0 - np.cos(t_inner), 1.0 - np.sin(t_inner) - 0.5])
    X = np.concatenate([outer, inner], axis=1)
    if noise is not None:
        X = X + noise * rng.standard_normal(X.shape)
    y = np.concatenate([np.zeros(n_outer, dtype=np.int64), np.ones(n_inner, dtype=np.int64)])
    return X, y


def make_spiral(n_per_class=100, classes=3, noise=0.2, rng=None):
    """CS231n's spiral (seed 004): class j has radii evenly spaced on [0, 1] and angles evenly spaced on
    [4j, 4(j + 1)] plus N(0, noise^2).  Returns `X` (2, n_per_class * classes) and `y` (class j in columns
    j * n_per_class ...)."""
    n = _count("make_spiral: n_per_class", n_per_class, 2)
    k = _count("make_spiral: classes", classes)
    rng = as_generator(rng)
    r = np.linspace(0.0, 1.0, n)
    columns = []
    for j in range(k):
        t = np.linspace(4.0 * j, 4.0 * (j + 1), n) + noise * rng.standard_normal(n)
        columns.append(np.stack([r * np.sin(t), r * np.cos(t)]))
    return np.concatenate(columns, axis=1), np.repeat(np.arange(k), n)


# Seed 002's target: y = 15 - 2.1 x + 13.9 x^2 + 1.5 x^3, coefficients lowest degree first like Julia's evalpoly.
POLY_TARGET = (15.0, -2.1, 13.9, 1.5)


def make_polynomial(n_samples=100, coeffs=POLY_TARGET, noise=0.2, x_range=(-5.0, 5.0), rng=None):
    """Seed 002's curve-fitting data: x uniform on `x_range`, y = sum(coeffs[k] x^k) plus Gaussian noise whose
    standard deviation is `noise` times mean(|y|).  Returns the vectors `x` and `y` (n_samples,)."""
    n = _count("make_polynomial: n_samples", n_samples)
    rng = as_generator(rng)
    lo, hi = x_range
    x = lo + (hi - lo) * rng.random(n)
    y = np.polynomial.polynomial.polyval(x, np.asarray(coeffs, dtype=np.float64))
    return x, y + rng.standard_normal(n) * noise * np.mean(np.abs(y))


# ---------------------------------------------------------------------------------------------------------------
# IDX files (MNIST's format): two zero bytes, a type byte, the number of dimensions, then each dimension as a
# big-endian uint32, then the data, big-endian.
# ---------------------------------------------------------------------------------------------------------------

_IDX_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def _read_bytes(path) -> bytes:
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DatasetError(f"no such file: {path}")
    with open(path, "rb") as fh:
        head = fh.read(2)
        fh.seek(0)
        raw = fh.read()
    if head == b"\x1f\x8b":     # the gzip magic number
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DatasetError(f"{path}: not a readable gzip file ({exc})") from None
    return raw


def load_idx(path) -> np.ndarray:
    """The array stored in an IDX file, raw or gzip-compressed, in native byte order."""
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise DatasetError(f"{path}: not an IDX file (magic number {data[:4].hex() or 'missing'}; expected "
                           f"00 00 <type> <ndim>, type one of {', '.join(f'{t:02x}' for t in _IDX_TYPES)})")
    dtype, ndim = _IDX_TYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{path}: truncated IDX header ({len(data)} bytes, {ndim} dimensions need {header})")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = header + dtype.itemsize * int(np.prod(shape, dtype=np.int64))
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "has trailing bytes"
        raise DatasetError(f"{path}: {what}: shape {shape} of {dtype.name} needs {expected} bytes, the file has "
                           f"{len(data)}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find(directory, stem):
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate):
            return candidate
    return None


def load_mnist(path, kind="train"):
    """MNIST images and labels from IDX files the user has.  `path` is a directory holding the standard files
    (`train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`; `kind="t10k"` for the test set), or an images
    file itself (its labels file is looked for beside it).  Returns `X` (rows * cols, n) float64 scaled to [0, 1]
    and `y` (n,) int labels, or None when there is no labels file."""
    path = os.fspath(path)
    if os.path.isdir(path):
        images = _find(path, f"{kind}-images-idx3-ubyte")
        if images is None:
            raise DatasetError(f"no {kind}-images-idx3-ubyte[.gz] in {path}")
        labels = _find(path, f"{kind}-labels-idx1-ubyte")
    else:
        images = path
        name = os.path.basename(path).replace("images", "labels").replace("idx3", "idx1")
        guess = os.path.join(os.path.dirname(path), name)
        labels = guess if guess != path and os.path.isfile(guess) else None
    raw = load_idx(images)
    if raw.ndim != 3:
        raise DatasetError(f"{images}: expected images (n, rows, cols), got an array of shape {raw.shape}")
    X = raw.reshape(raw.shape[0], -1).T.astype(np.float64) / 255.0
    if labels is None:
        return X, None
    y = load_idx(labels)
    if y.shape != (raw.shape[0],):
        raise DatasetError(f"{labels}: {y.shape} labels for {raw.shape[0]} images")
    return X, y.astype(np.int64)


def load_digits():
    """scikit-learn's 1797 8x8 digits (shipped inside scikit-learn, no download): `X` (64, 1797) scaled to [0, 1]
    and `y` (1797,) labels 0-9."""
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError:
        raise DatasetError("load_digits needs scikit-learn: pip install 'irgrad[examples]'") from None
    digits = sk_load_digits()
    return digits.data.T.astype(np.float64) / 16.0, digits.target.astype(np.int64)
