"""The four examples in their fast modes, asserting the seeds' figures; the command line.  matplotlib and
scikit-learn are imported, not skipped: they come with the `examples` extra that CI installs."""
import gzip
import math
import os
import subprocess
import sys

import matplotlib  # noqa: F401  (the pictures are part of what is tested)
import numpy as np
import pytest
import sklearn  # noqa: F401  (the autoencoder's embedded digits)

from irgrad.examples import EXAMPLES, autoencoder, load, main, moons, polyfit, spiral

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def assert_pngs(files, *names):
    for name in names:
        path = next((f for f in files if os.path.basename(f) == name), None)
        assert path is not None, f"{name} not written; got {files}"
        with open(path, "rb") as fh:
            assert fh.read(8) == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"


def test_polyfit_gradient_descent_reaches_the_least_squares_loss(tmp_path, capsys):
    result = polyfit.run(out=tmp_path, fast=True)
    rows = result["rows"]
    best = rows["least squares"][0]
    (gd_loss, gd_coeffs), = [v for k, v in rows.items() if k.startswith("gradient descent")]
    assert best <= gd_loss <= 1.01 * best
    assert best < rows["target"][0]              # least squares beats the curve the data came from
    np.testing.assert_allclose(gd_coeffs, rows["least squares"][1], rtol=0.2, atol=0.5)
    assert "least squares" in capsys.readouterr().out
    assert_pngs(result["files"], "curves.png", "history.png")


def test_moons_reaches_full_accuracy(tmp_path, capsys):
    result = moons.run(out=tmp_path)
    assert result["accuracy"] == 1.0
    assert len(result["history"]) == 200 and result["history"][-1] < 0.1 * result["history"][0]
    assert "training accuracy: 100.0%" in capsys.readouterr().out
    assert_pngs(result["files"], "history.png", "decision_boundary.png")


def test_spiral_starts_at_ln3_and_classifies_the_training_set(tmp_path, capsys):
    result = spiral.run(out=tmp_path, fast=True)
    history = result["history"]
    assert history[0] == pytest.approx(math.log(3), abs=1e-3)
    assert history[-1] < 0.3
    assert result["accuracy"] >= 0.98
    out = capsys.readouterr().out
    assert "loss: 1.098" in out and "(step 3000)" in out
    dot = next(f for f in result["files"] if f.endswith("loss_ir.dot"))
    with open(dot) as fh:
        text = fh.read()
    assert text.lstrip().startswith("digraph") and "logit_cross_entropy" in text
    assert_pngs(result["files"], "decision_boundary.png", "history.png")


def test_autoencoder_loss_falls_by_half_on_the_digits(tmp_path):
    result = autoencoder.run(out=tmp_path, fast=True)
    losses = result["losses"]
    assert result["sizes"] == (64, 32, 16, 64) and len(losses) == 3
    assert losses[-1] <= 0.5 * losses[0]
    assert_pngs(result["files"], "history.png", "reconstructions.png")


def test_autoencoder_on_mnist_files(tmp_path):
    """The seed's 784-300-100-784 on a small MNIST-shaped file: 28x28 strokes the model can learn."""
    rng = np.random.default_rng(0)
    images = np.zeros((48, 28, 28), dtype=np.uint8)
    for k, img in enumerate(images):
        img[4:24, 6 + k % 12: 10 + k % 12] = 255             # a vertical bar at one of 12 places
    header = bytes([0, 0, 8, 3]) + np.array(images.shape, dtype=">u4").tobytes()
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as fh:
        fh.write(header + images[rng.permutation(48)].tobytes())
    result = autoencoder.run(out=tmp_path / "out", mnist=str(tmp_path), epochs=3, batch=8, lr=0.5)
    assert result["sizes"] == (784, 300, 100, 784)
    assert result["losses"][-1] <= 0.5 * result["losses"][0]
    assert_pngs(result["files"], "reconstructions.png")


def test_cli_runs_an_example_in_a_fresh_process(tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "irgrad.examples", "polyfit", "--fast", "--out", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "least squares" in proc.stdout and "pictures:" in proc.stdout
    assert sorted(os.listdir(tmp_path)) == ["curves.png", "history.png"]


def test_cli_refuses_unknown_names_and_options(capsys):
    with pytest.raises(SystemExit) as info:
        main(["mnist"])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        main(["moons", "--epochs", "3"])
    assert "invalid choice" in capsys.readouterr().err
    assert set(EXAMPLES) == {"polyfit", "moons", "spiral", "autoencoder"}
    with pytest.raises(KeyError, match="no example 'nope'"):
        load("nope")


def test_cli_reports_a_missing_mnist_folder_in_one_line(tmp_path, capsys):
    assert main(["autoencoder", "--mnist", str(tmp_path), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "train-images-idx3-ubyte" in err and str(tmp_path) in err


def test_without_matplotlib_an_example_still_trains_and_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(moons, "have_matplotlib", lambda: False)
    result = moons.run(out=tmp_path, steps=5)
    assert result["files"] == [] and os.listdir(tmp_path) == []
    assert "matplotlib is not installed" in capsys.readouterr().out


def test_without_graphviz_the_loss_graph_stays_dot_text(tmp_path, capsys, monkeypatch):
    rng = np.random.default_rng(0)
    model = spiral.build_model(rng, hidden=4)
    X, Y = rng.standard_normal((2, 6)), np.eye(3)[:, [0, 1, 2, 0, 1, 2]]
    monkeypatch.setattr(spiral.shutil, "which", lambda name: None)
    files = spiral._loss_graph(model, X, Y, str(tmp_path))
    assert [os.path.basename(f) for f in files] == ["loss_ir.dot"]
    assert "left as DOT text" in capsys.readouterr().out
