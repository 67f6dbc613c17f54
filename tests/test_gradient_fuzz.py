"""Property test: random numeric programs (expressions, branches, loops over ranges, while loops, early returns,
calls of a helper) get the same gradient from irgrad as from autograd, which differentiates by running the same
source over its own array type.  Both follow the branch the inputs take, so no finite-difference step can cross a
kink; the two are independent implementations."""
import math
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import irgrad

autograd = pytest.importorskip("autograd")
import autograd.numpy as anp  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Output seems independent of input")

UNARY = ("np.sin({})", "np.cos({})", "np.tanh({})", "np.exp(np.tanh({}))", "({}) ** 2", "-({})",
         "np.sqrt(({}) ** 2 + 1.0)", "h({}, 0.5)")
BINARY = ("({} + {})", "({} - {})", "({} * {})", "({} / (1.5 + np.tanh({}) ** 2))")


@st.composite
def expressions(draw, names, depth=0):
    if depth >= 3 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(names + ("0.5", "2.0", "-1.25")))
    kind = draw(st.integers(0, 1))
    if kind == 0:
        return draw(st.sampled_from(UNARY)).format(draw(expressions(names, depth + 1)))
    a, b = draw(expressions(names, depth + 1)), draw(expressions(names, depth + 1))
    return draw(st.sampled_from(BINARY)).format(a, b)


@st.composite
def statements(draw, names, indent, depth=0):
    pad = "    " * indent
    kind = draw(st.integers(0, 5 if depth < 2 else 1))
    target = draw(st.sampled_from(("s", "t")))
    if kind <= 1:
        return [f"{pad}{target} = {draw(expressions(names))}"]
    if kind == 2:
        body = draw(st.lists(statements(names + ("i",), indent + 1, depth + 1), min_size=1, max_size=3))
        return [f"{pad}for i in range({draw(st.integers(0, 4))}):"] + sum(body, [])
    if kind == 3:
        cond = f"{draw(expressions(names))} > {draw(expressions(names))}"
        then = draw(st.lists(statements(names, indent + 1, depth + 1), min_size=1, max_size=2))
        other = draw(st.lists(statements(names, indent + 1, depth + 1), min_size=1, max_size=2))
        return [f"{pad}if {cond}:"] + sum(then, []) + [f"{pad}else:"] + sum(other, [])
    if kind == 4:
        return [f"{pad}k = 0", f"{pad}while k < {draw(st.integers(0, 3))}:",
                f"{pad}    {target} = {target} * 0.9 + {draw(expressions(names))}", f"{pad}    k = k + 1"]
    # an early return (always a float: `i` alone would be an int)
    return [f"{pad}if {draw(expressions(names))} > 1.5:", f"{pad}    return s * 0.5 + {draw(expressions(names))}"]


@st.composite
def programs(draw):
    names = ("a", "b", "s", "t")
    body = draw(st.lists(statements(names, 1), min_size=1, max_size=5))
    lines = ["def f(a, b):", "    s = a", "    t = b"] + sum(body, []) + ["    return s * t + s"]
    return "\n".join(lines)


HELPER = """
def h(x, w):
    return w * x + np.tanh(x)
"""


def _compile(source, module):
    ns = {"np": module}
    exec(textwrap.dedent(HELPER), ns)
    exec(source, ns)
    return ns["f"]


@settings(max_examples=150, deadline=None)
@given(programs(), st.floats(-2.0, 2.0), st.floats(-2.0, 2.0))
def test_random_programs_agree_with_autograd(source, a, b):
    f_np, f_ag = _compile(source, np), _compile(source, anp)
    try:
        value = f_np(a, b)
    except (OverflowError, ZeroDivisionError) as e:
        # the program overflows (a loop squaring a value) or divides by zero: irgrad raises what the code raises
        with pytest.raises(type(e)):
            irgrad.gradient(f_np, a, b)
        return
    ours = irgrad.gradient(f_np, a, b)
    if not math.isfinite(value):
        return  # inf or NaN: nothing to compare
    if isinstance(value, int):
        # a program can end up returning the loop counter's arithmetic, which depends on neither argument
        # (autograd refuses an int result): no gradient at all
        assert ours == (None, None), f"{source}\nirgrad {ours}"
        return
    theirs = (autograd.grad(f_ag, 0)(a, b), autograd.grad(f_ag, 1)(a, b))
    for o, t in zip(ours, theirs):
        o = 0.0 if o is None else o
        if not (math.isfinite(o) and math.isfinite(t)):  # an intermediate overflowed: both must say so
            assert not math.isfinite(o) and not math.isfinite(t), f"{source}\nirgrad {ours} autograd {theirs}"
            continue
        assert abs(o - t) <= 1e-9 * max(1.0, abs(t)), f"{source}\nirgrad {ours} autograd {theirs}"
