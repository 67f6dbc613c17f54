"""The derivatives written straight into the adjoint (inline_rules.py): each entry of the table is exercised on
float scalars, arrays and broadcasting, checked against finite differences, and seen to be used."""
import math

import numpy as np
import pytest

import irgrad
from irgrad import inline_rules
from irgrad.testing import check_grad

rng = np.random.default_rng(7)
A = rng.standard_normal((3, 4))
B = rng.standard_normal((4, 2))
ROW = rng.standard_normal((1, 4))
POS = np.abs(rng.standard_normal((3, 4))) + 0.5
CONST = rng.standard_normal((3, 4))

CASES = [
    ("add", lambda x, y: np.sum(x + y), (A, ROW)),
    ("add scalar", lambda x, s: np.sum(x + s), (A, 0.5)),
    ("sub", lambda x, y: np.sum((x - y) ** 2), (A, ROW)),
    ("mul", lambda x, y: np.sum(x * y), (A, ROW)),
    ("mul const array", lambda x: np.sum(x * CONST), (A,)),
    ("truediv", lambda x, y: np.sum(x / y), (A, POS)),
    ("truediv scalar", lambda x, s: np.sum(s / x), (POS, 1.5)),
    ("neg", lambda x: np.sum(-x * x), (A,)),
    ("pow", lambda x: np.sum(x ** 3), (A,)),
    ("matmul", lambda x, y: np.sum(np.tanh(x @ y)), (A, B)),
    ("exp log", lambda x: np.sum(np.log(np.exp(x) + 1.0)), (A,)),
    ("tanh sqrt", lambda x: np.sum(np.tanh(x) * np.sqrt(x)), (POS,)),
    ("sin cos", lambda x: np.sum(np.sin(x) * np.cos(x)), (A,)),
    ("relu", lambda x: np.sum(np.maximum(x, 0.0) * x), (A,)),
    ("sum axis", lambda x: np.sum(np.sum(x, axis=0) ** 2), (A,)),
    ("sum keepdims", lambda x: np.sum(x / np.sum(x, axis=1, keepdims=True)), (POS,)),
    ("mean", lambda x: np.mean(x ** 2) + np.sum(np.mean(x, axis=1) ** 2), (A,)),
    ("max", lambda x: np.sum(np.max(x, axis=0) ** 2) + np.max(x), (A,)),
    ("min keepdims", lambda x: np.sum(x - np.min(x, axis=1, keepdims=True)), (A,)),
    ("math", lambda x, y: math.exp(x) * math.sin(y) + math.log(x) * math.cos(y) + math.sqrt(x) * math.tanh(y),
     (0.7, 0.3)),
    ("float loop", lambda x: sum([x * k for k in range(4)]) / x, (1.3,)),
]


@pytest.mark.parametrize("name, f, args", CASES, ids=[c[0] for c in CASES])
def test_inline_rule_matches_finite_differences(name, f, args):
    check_grad(f, *args)


def test_inline_rules_are_used():
    def f(x, y):
        return np.sum(np.tanh(x @ y) * 2.0)

    t = irgrad.code_adjoint(f, A, B)
    assert "rrule" not in repr(t.forward)  # no rule closures made in the forward pass
    assert "operator.matmul" in repr(t.adjoint)  # the matmul derivative is emitted into the adjoint


def test_every_inline_rule_has_a_case():
    names = {getattr(fn, "__name__", "") for fn, (_, make) in inline_rules.RULES.items()
             if make.__module__ == inline_rules.__name__}  # other modules' entries (rules/fused.py) test themselves
    covered = "add sub mul truediv neg pow matmul exp log tanh sqrt sin cos maximum sum mean max min amax amin " \
              "iadd isub imul itruediv seq_sum_pow seq_diff_pow"
    assert names <= set(covered.split())


def test_reciprocal_and_sigmoid():
    check_grad(lambda x: np.sum(1.0 / (1.0 + np.exp(-x))), A)
    check_grad(lambda x, r: np.sum(1.0 / (r + x * x)), A, ROW)
    check_grad(lambda s: 1.0 / (1.0 + s * s), 0.7)
