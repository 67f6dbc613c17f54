"""irgrad agrees with autograd (a second, independent reference) on the same source code: each function below is
compiled twice, once over NumPy for irgrad and once over autograd.numpy for autograd."""
import textwrap

import numpy as np
import pytest

import irgrad

autograd = pytest.importorskip("autograd")
import autograd.numpy as anp  # noqa: E402

SOURCES = {
    "mlp": """
        def f(W1, b1, W2, x):
            h = np.tanh(W1 @ x + b1)
            return np.sum(np.exp(-(W2 @ h) ** 2))
    """,
    "softmax_xent": """
        def f(W, x, y):
            z = W @ x
            z = z - np.max(z, axis=0, keepdims=True)
            logp = z - np.log(np.sum(np.exp(z), axis=0, keepdims=True))
            return -np.mean(np.sum(y * logp, axis=0))
    """,
    "loop_and_branch": """
        def f(x, y):
            s = 0.0
            for i in range(5):
                if i % 2 == 0:
                    s = s + np.sum(np.sin(x * i) * y)
                else:
                    s = s - np.mean(x ** 2) / (i + 1)
            return s
    """,
    "shapes": """
        def f(A, v):
            B = np.concatenate([A, A.T], axis=0)
            C = np.reshape(B, (-1,))[:5]
            return np.sum(np.outer(C, v) ** 2) + np.linalg.norm(A)
    """,
    "reductions": """
        def f(A):
            return np.sum(np.max(A, axis=1)) + np.prod(A[0]) + np.std(A) + np.var(A, axis=0).sum()
    """,
}


def _compile(src, module):
    ns = {"np": module}
    exec(textwrap.dedent(src), ns)
    return ns["f"]


rng = np.random.default_rng(3)
ARGS = {
    "mlp": (rng.standard_normal((4, 3)), rng.standard_normal((4, 1)), rng.standard_normal((2, 4)),
            rng.standard_normal((3, 5))),
    "softmax_xent": (rng.standard_normal((3, 4)), rng.standard_normal((4, 6)),
                     np.eye(3)[:, rng.integers(0, 3, 6)]),
    "loop_and_branch": (rng.standard_normal(4), rng.standard_normal(4)),
    "shapes": (rng.standard_normal((2, 2)), rng.standard_normal(3)),
    "reductions": (rng.standard_normal((3, 4)) + 2.0,),
}


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_agrees_with_autograd(name):
    f_np = _compile(SOURCES[name], np)
    f_ag = _compile(SOURCES[name], anp)
    args = ARGS[name]
    ours = irgrad.gradient(f_np, *args)
    for i in range(len(args)):
        theirs = autograd.grad(f_ag, i)(*args)
        np.testing.assert_allclose(ours[i], theirs, rtol=1e-9, atol=1e-12)
