"""Time per training step of the moons and spiral examples (irgrad.nn + irgrad.optim, exactly as the examples
run them) against the same loop written with hand-written NumPy gradients, and write the table into
docs/performance.md (between the markers below; the rest of that file is tools/bench's).

    python tools/bench_train_step.py [--steps 300]

One process, one BLAS thread where threadpoolctl is installed, the two loops interleaved in rounds so noise hits
both alike; the hand-written gradients are checked against irgrad's before timing.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import irgrad  # noqa: E402
from irgrad import datasets, nn, optim  # noqa: E402
from irgrad.examples import moons, spiral  # noqa: E402

BEGIN, END = "<!-- train-step: begin -->", "<!-- train-step: end -->"


# ---------------------------------------------------------------------------------------------------------------
# Hand-written NumPy backward passes of the two examples' losses (columns are samples)

def moons_handwritten(model, X, Y):
    """Gradient of logit_cross_entropy(model(X), Y) for a Chain of relu Dense layers."""
    acts, pre = [X], []
    for layer in model.layers:
        z = layer.weight @ acts[-1] + layer.bias
        pre.append(z)
        acts.append(np.maximum(z, 0.0))
    out = acts[-1]
    shifted = out - out.max(axis=0, keepdims=True)
    e = np.exp(shifted)
    p = e / e.sum(axis=0, keepdims=True)
    n = X.shape[1]
    d = (p * Y.sum(axis=0, keepdims=True) - Y) / n
    grads = []
    for i in reversed(range(len(model.layers))):
        d = d * (pre[i] > 0)
        grads.append((d @ acts[i].T, d.sum(axis=1, keepdims=True)))
        d = model.layers[i].weight.T @ d
    return list(reversed(grads))


def spiral_handwritten(model, X, Y, reg):
    """Gradient of spiral_loss: relu hidden layer, identity output, softmax loss, L2 on the weights."""
    l1, l2 = model.layers
    z1 = l1.weight @ X + l1.bias
    h = np.maximum(z1, 0.0)
    s = l2.weight @ h + l2.bias
    s = s - s.max(axis=0, keepdims=True)
    e = np.exp(s)
    p = e / e.sum(axis=0, keepdims=True)
    d2 = (p - Y) / X.shape[1]
    dW2 = d2 @ h.T + reg * l2.weight
    db2 = d2.sum(axis=1, keepdims=True)
    d1 = (l2.weight.T @ d2) * (z1 > 0)
    dW1 = d1 @ X.T + reg * l1.weight
    db1 = d1.sum(axis=1, keepdims=True)
    return [(dW1, db1), (dW2, db2)]


def _apply(model, grads, lr):
    for layer, (dW, db) in zip(model.layers, grads):
        layer.weight = layer.weight - lr * dW
        layer.bias = layer.bias - lr * db


# ---------------------------------------------------------------------------------------------------------------

def setups():
    rng = np.random.default_rng(3)
    X, y = datasets.make_moons(200, noise=0.1, rng=rng)
    Y = nn.onehot(y, 2)
    m_ir, m_hw = moons.build_model(np.random.default_rng(1)), moons.build_model(np.random.default_rng(1))
    opt = optim.Descent(0.9)
    yield ("moons", lambda: optim.update(opt, m_ir, irgrad.gradient(lambda m: nn.logit_cross_entropy(m(X), Y),
                                                                     m_ir)[0]),
           lambda: _apply(m_hw, moons_handwritten(m_hw, X, Y), 0.9),
           lambda: (irgrad.gradient(lambda m: nn.logit_cross_entropy(m(X), Y), m_ir)[0],
                    moons_handwritten(m_ir, X, Y)))
    rng = np.random.default_rng(1)
    X, y = datasets.make_spiral(100, 3, rng=rng)
    Y = nn.onehot(y, 3)
    s_ir, s_hw = spiral.build_model(np.random.default_rng(2)), spiral.build_model(np.random.default_rng(2))
    opt2 = optim.Descent(1.0)
    yield ("spiral", lambda: optim.update(opt2, s_ir, irgrad.gradient(
        lambda m: spiral.spiral_loss(m, X, Y, spiral.REG), s_ir)[0]),
           lambda: _apply(s_hw, spiral_handwritten(s_hw, X, Y, spiral.REG), 1.0),
           lambda: (irgrad.gradient(lambda m: spiral.spiral_loss(m, X, Y, spiral.REG), s_ir)[0],
                    spiral_handwritten(s_ir, X, Y, spiral.REG)))


def check(pair):
    g, hw = pair()
    for layer_g, (dW, db) in zip(g.layers, hw):
        np.testing.assert_allclose(layer_g.weight, dW, rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(layer_g.bias, db, rtol=1e-8, atol=1e-12)


def time_interleaved(a, b, steps, rounds=7):
    ta, tb = [], []
    for _ in range(rounds):
        for fn, out in ((a, ta), (b, tb)):
            t = time.perf_counter()
            for _ in range(steps):
                fn()
            out.append((time.perf_counter() - t) / steps)
    return statistics.median(ta), statistics.median(tb)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--out", default=str(ROOT / "docs" / "performance.md"))
    args = ap.parse_args()
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except ImportError:
        pass
    rows = []
    for name, step_ir, step_hw, pair in setups():
        check(pair)
        step_ir()  # the first call traces
        t_ir, t_hw = time_interleaved(step_ir, step_hw, args.steps)
        rows.append(f"| {name} | {t_hw * 1e6:,.0f} µs | {t_ir * 1e6:,.0f} µs | {t_ir / t_hw:.2f}× |")
        print(rows[-1])
    env = " ".join(f"{k}={os.environ[k]}" for k in ("MALLOC_TOP_PAD_", "MALLOC_TRIM_THRESHOLD_",
                                                     "OPENBLAS_NUM_THREADS") if k in os.environ)
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    pin = f"taskset -c {cores[0]} " if len(cores) == 1 else ""
    command = f"{env + ' ' if env else ''}{pin}python tools/bench_train_step.py"
    table = "\n".join([
        BEGIN,
        "## Time per training step of the examples",
        "",
        "One step of `python -m irgrad.examples moons` / `spiral` (irgrad.nn model, `irgrad.gradient`,",
        "`irgrad.optim.update`) against the same step with hand-written NumPy gradients, medians of interleaved",
        f"rounds of {args.steps} steps, measured with `{command}`",
        "(the malloc padding as in tools/bench: without it the spiral's temporaries are faulted in on each step):",
        "",
        "| example | hand-written NumPy | irgrad | ratio |",
        "|---|---|---|---|",
        *rows,
        END,
    ])
    out = pathlib.Path(args.out)
    text = out.read_text() if out.exists() else "# Performance\n"
    if BEGIN in text:
        text = text[:text.index(BEGIN)] + table + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + table + "\n"
    out.write_text(text)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
