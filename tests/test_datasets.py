"""The data sets: generated ones against their definitions, the IDX loaders on small files written here."""
import gzip
import os
import sys

import numpy as np
import pytest

from irgrad import IrgradError
from irgrad.datasets import (POLY_TARGET, DatasetError, load_digits, load_idx, load_mnist, make_moons,
                             make_polynomial, make_spiral)


# ---------------------------------------------------------------------------------------------------------------
# Generated data
# ---------------------------------------------------------------------------------------------------------------

def test_moons_without_noise_lie_on_their_half_circles():
    X, y = make_moons(101, rng=0)
    assert X.shape == (2, 101) and y.shape == (101,)
    assert (y[:50] == 0).all() and (y[50:] == 1).all()
    outer, inner = X[:, y == 0], X[:, y == 1]
    np.testing.assert_allclose(outer[0] ** 2 + outer[1] ** 2, 1.0)
    assert (outer[1] >= 0).all()
    np.testing.assert_allclose((inner[0] - 1) ** 2 + (inner[1] - 0.5) ** 2, 1.0)
    assert (inner[1] <= 0.5).all()


def test_moons_are_reproducible_and_noise_moves_points():
    a, _ = make_moons(50, noise=0.1, rng=3)
    b, _ = make_moons(50, noise=0.1, rng=np.random.default_rng(3))
    c, _ = make_moons(50, rng=3)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert np.abs(a - c).max() < 1.0


def test_spiral_radii_and_labels():
    X, y = make_spiral(50, 4, rng=0)
    assert X.shape == (2, 200)
    np.testing.assert_array_equal(y, np.repeat(np.arange(4), 50))
    for k in range(4):
        radius = np.hypot(*X[:, y == k])
        np.testing.assert_allclose(radius, np.linspace(0, 1, 50), atol=1e-12)


def test_spiral_angles_without_noise_are_evenly_spaced():
    X, y = make_spiral(20, 3, noise=0.0, rng=0)
    angle = np.arctan2(X[0, y == 1], X[1, y == 1])[1:]      # x = r sin t, y = r cos t; t = 0 at r = 0 is lost
    expected = np.linspace(4.0, 8.0, 20)[1:]
    np.testing.assert_allclose(np.exp(1j * angle), np.exp(1j * expected), atol=1e-12)


def test_polynomial_data_follow_the_target():
    x, y = make_polynomial(64, noise=0.0, rng=1)
    assert x.shape == y.shape == (64,) and (np.abs(x) <= 5).all()
    np.testing.assert_allclose(y, sum(c * x ** k for k, c in enumerate(POLY_TARGET)))
    _, noisy = make_polynomial(64, rng=1)
    assert 0 < np.std(noisy - y) < np.mean(np.abs(y))


@pytest.mark.parametrize("call", [lambda: make_moons(1), lambda: make_moons(2.5), lambda: make_spiral(0),
                                  lambda: make_spiral(10, classes=0), lambda: make_polynomial(True),
                                  lambda: make_moons(10, rng="seed")])
def test_bad_sizes_and_seeds_are_refused(call):
    with pytest.raises(IrgradError):
        call()


# ---------------------------------------------------------------------------------------------------------------
# IDX files
# ---------------------------------------------------------------------------------------------------------------

_CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}


def idx_bytes(array):
    array = np.asarray(array)
    code = _CODES[array.dtype.str[1:]]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path, data, compress=False):
    with (gzip.open if compress else open)(path, "wb") as fh:
        fh.write(data)
    return str(path)


@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "f4", "f8"])
@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, dtype, compress):
    array = (np.arange(60).reshape(3, 4, 5) - 20).astype(dtype) if dtype != "u1" else \
        np.arange(60, dtype="u1").reshape(3, 4, 5)
    path = write(tmp_path / "a.idx", idx_bytes(array), compress)
    got = load_idx(path)
    assert got.shape == (3, 4, 5) and got.dtype == np.dtype(dtype)
    assert got.dtype.isnative
    np.testing.assert_array_equal(got, array)


@pytest.mark.parametrize("data, message", [
    (b"", "not an IDX file"),
    (b"PK\x03\x04rest", "not an IDX file"),
    (bytes([0, 0, 0x42, 1, 0, 0, 0, 1, 7]), "not an IDX file"),
    (bytes([0, 0, 8, 3, 0, 0, 0, 2]), "truncated IDX header"),
    (bytes([0, 0, 8, 1, 0, 0, 0, 5, 1, 2, 3]), "truncated"),
    (bytes([0, 0, 8, 1, 0, 0, 0, 2, 1, 2, 3]), "trailing bytes"),
])
def test_bad_idx_files_are_refused(tmp_path, data, message):
    path = write(tmp_path / "bad.idx", data)
    with pytest.raises(DatasetError, match=message) as info:
        load_idx(path)
    assert path in str(info.value)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        load_idx(tmp_path / "nothing.idx")
    good = gzip.compress(idx_bytes(np.zeros((2, 2), "u1")))
    path = write(tmp_path / "cut.gz", good[: len(good) // 2])
    with pytest.raises(DatasetError, match="gzip"):
        load_idx(path)
    assert issubclass(DatasetError, IrgradError)


def mnist_like(n, rows=4, cols=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, rows, cols), dtype=np.uint8), rng.integers(0, 10, size=n).astype("u1")


@pytest.mark.parametrize("compress", [False, True])
def test_load_mnist_from_a_folder(tmp_path, compress):
    images, labels = mnist_like(7)
    suffix = ".gz" if compress else ""
    write(tmp_path / f"train-images-idx3-ubyte{suffix}", idx_bytes(images), compress)
    write(tmp_path / f"train-labels-idx1-ubyte{suffix}", idx_bytes(labels), compress)
    X, y = load_mnist(tmp_path)
    assert X.shape == (12, 7) and X.dtype == np.float64
    np.testing.assert_allclose(X[:, 2], images[2].ravel() / 255.0)
    np.testing.assert_array_equal(y, labels)
    with pytest.raises(DatasetError, match="t10k-images"):
        load_mnist(tmp_path, kind="t10k")


def test_load_mnist_from_a_file_with_and_without_labels(tmp_path):
    images, labels = mnist_like(5, seed=1)
    path = write(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(images))
    X, y = load_mnist(path)
    assert X.shape == (12, 5) and y is None
    write(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(labels))
    _, y = load_mnist(path)
    np.testing.assert_array_equal(y, labels)


def test_load_mnist_checks_shapes(tmp_path):
    images, labels = mnist_like(5)
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(images))
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(labels[:4]))
    with pytest.raises(DatasetError, match="4 labels for 5 images|\\(4,\\) labels for 5 images"):
        load_mnist(tmp_path)
    os.remove(tmp_path / "train-labels-idx1-ubyte")
    flat = write(tmp_path / "flat-images-idx3-ubyte", idx_bytes(np.zeros((3, 4), "u1")))
    with pytest.raises(DatasetError, match="expected images"):
        load_mnist(flat)


def test_load_digits_without_scikit_learn_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)     # makes the import fail
    with pytest.raises(DatasetError, match="scikit-learn"):
        load_digits()


def test_load_digits_is_scaled_with_samples_as_columns():
    X, y = load_digits()
    assert X.shape == (64, 1797) and y.shape == (1797,)
    assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y)) == set(range(10))
