"""Random small Python programs for checking the frontend and the interpreter against CPython.

`programs()` is a hypothesis strategy of `(source, args)`: the source of a function `f(a, b, n)` built from
assignments, augmented assignments, tuple swaps, if/elif/else, conditional expressions, and/or/not, chained
comparisons, `for` over ranges, counted `while` loops, `break`, `continue`, early returns, list appends and
subscripts, f-strings, list unpacking, calls of a helper `h` with positional, keyword, default, `*args` and
`**kwargs` arguments, a few builtin calls, list comprehensions (whose variable may shadow a local) and lambdas (which turn the locals
they read into closure cells).  Locals are sometimes left unassigned or assigned on one branch only, so reads of
unbound locals and empty cells (and the UnboundLocalError or NameError they raise) are exercised too; so are
division by zero and its ZeroDivisionError.

Run as a script to print a few programs, or to check many without pytest:

    python tools/fuzz_programs.py --show 3
    python tools/fuzz_programs.py --check 1000
"""
from __future__ import annotations

import argparse
import functools
import random

from hypothesis import strategies as st

PARAMS = ("a", "b", "n")
LOCALS = ("x", "y", "z")  # may be unbound where they are read
INT_CONSTS = tuple(range(-5, 10))
FLOAT_CONSTS = (0.5, -1.25, 2.0, 3.5)
BINOPS = ("+", "-", "*", "//", "%", "/")
COMPARES = ("<", "<=", "==", "!=", ">", ">=")
MAX_DEPTH = 2
FILENAME = "<fuzz_programs>"  # the programs' code objects say where they came from


@functools.lru_cache(maxsize=None)
def _integers(lo, hi):
    return st.integers(lo, hi)


class Choices:
    """The generator's source of choices: hypothesis's `draw` (shrinkable) or a seeded `random.Random`."""

    def __init__(self, draw=None, rng=None):
        self._draw, self._rng = draw, rng

    def int(self, lo, hi):
        if self._draw is None:
            return self._rng.randint(lo, hi)
        return self._draw(_integers(lo, hi))

    def pick(self, seq):
        seq = tuple(seq)
        return seq[self.int(0, len(seq) - 1)]

    def coin(self):
        return self.int(0, 1) == 1


class Scope:
    """What the generator knows at a point of the program: loop variables in scope and loop nesting."""

    def __init__(self, loop_vars=(), in_loop=False, depth=0):
        self.loop_vars = tuple(loop_vars)
        self.in_loop = in_loop
        self.depth = depth

    def inner(self, loop_var=None):
        lv = self.loop_vars + ((loop_var,) if loop_var else ())
        return Scope(lv, self.in_loop or loop_var is not None, self.depth + 1)


def _name(choose, scope: Scope) -> str:
    return choose.pick(PARAMS + LOCALS + scope.loop_vars)


# A helper every program can call, with every way of passing arguments.
HELPER = "def h(p, q=2, *rest, k=1, **kw):\n    return p * q - k + len(rest) + len(kw)\n\n\n"
CALL_FORMS = ("h({0})", "h({0}, {1})", "h({0}, k={1})", "h({0}, {1}, {2}, k={1}, z={2})",
              "h(*[{0}, {1}], **{{'k': {2}}})", "h({0}, *({1},), k={2})")


def expression(choose, scope: Scope, size: int = 2) -> str:
    kind = choose.int(0, 14 if size > 0 else 2)
    if kind <= 1:
        return _name(choose, scope)
    if kind == 2:
        return repr(choose.pick(INT_CONSTS + FLOAT_CONSTS))
    sub = size - 1
    if kind <= 5:
        op = choose.pick(BINOPS)
        return f"({expression(choose, scope, sub)} {op} {expression(choose, scope, sub)})"
    if kind == 6:
        return f"({expression(choose, scope, sub)} if {condition(choose, scope, sub)} else {expression(choose, scope, sub)})"
    if kind == 7:
        fn = choose.pick(["abs", "min", "max"])
        if fn == "abs":
            return f"abs({expression(choose, scope, sub)})"
        return f"{fn}({expression(choose, scope, sub)}, {expression(choose, scope, sub)})"
    if kind == 8:
        return f"(-{expression(choose, scope, sub)})"
    if kind == 10:
        # The comprehension variable may shadow a local (3.12+ saves and restores it around the loop).
        var = choose.pick(LOCALS + ("c",))
        inner = Scope(scope.loop_vars + (var,), scope.in_loop, scope.depth)
        return f"sum([{expression(choose, inner, sub)} for {var} in range({choose.int(0, 3)})])"
    if kind == 12:
        # Arguments may hold conditional expressions, so call sequences span blocks.
        return choose.pick(CALL_FORMS).format(*(expression(choose, scope, sub) for _ in range(3)))
    if kind == 13:
        return f"(out[{choose.pick(['-1', '0', 'len(out) // 2'])}] if out else {expression(choose, scope, sub)})"
    if kind == 14:
        # Only leaves inside: an f-string nested in an f-string with the same quotes needs 3.12.
        return f'len(f"{{{expression(choose, scope, 0)}}}|{{{_name(choose, scope)}!r:>4}}")'
    if kind == 11:
        # A lambda makes every local it reads a closure cell of `f`.
        inner = Scope(scope.loop_vars + ("q",), scope.in_loop, scope.depth)
        return f"(lambda q: {expression(choose, inner, sub)})({expression(choose, scope, sub)})"
    op = choose.pick(["and", "or"])
    return f"({expression(choose, scope, sub)} {op} {expression(choose, scope, sub)})"


def condition(choose, scope: Scope, size: int = 2) -> str:
    kind = choose.int(0, 4)
    e1, e2 = expression(choose, scope, size - 1), expression(choose, scope, size - 1)
    if kind == 0:
        return f"{e1} {choose.pick(COMPARES)} {e2}"
    if kind == 1:
        return f"{e1} < {e2} <= {expression(choose, scope, 0)}"
    if kind == 2:
        return f"not ({e1} {choose.pick(COMPARES)} {e2})"
    if kind == 3:
        return f"{e1} {choose.pick(COMPARES)} {e2} {choose.pick(['and', 'or'])} {e2}"
    return e1


def statements(choose, scope: Scope, indent: int, count: int | None = None) -> list:
    n = count if count is not None else choose.int(1, 3)
    return [line for _ in range(n) for line in statement(choose, scope, indent)]


def statement(choose, scope: Scope, indent: int) -> list:
    pad = "    " * indent
    nested = scope.depth < MAX_DEPTH
    choices = ["assign", "assign", "augassign", "swap", "append"]
    if nested:
        choices += ["if", "if", "for", "while"]
    if scope.in_loop:
        choices += ["break", "continue"]
    choices.append("return")
    kind = choose.pick(choices)
    if kind == "assign":
        target = choose.pick(LOCALS + ("a", "b"))
        return [f"{pad}{target} = {expression(choose, scope)}"]
    if kind == "augassign":
        target = choose.pick(LOCALS + ("a", "b"))
        op = choose.pick(["+", "-", "*"])
        return [f"{pad}{target} {op}= {expression(choose, scope, 1)}"]
    if kind == "swap":
        if choose.coin():
            return [f"{pad}a, b = b, a"]
        return [f"{pad}{choose.pick(LOCALS)}, {choose.pick(('a', 'b'))} = [{expression(choose, scope, 1)}, "
                f"{expression(choose, scope, 1)}]"]
    if kind == "append":
        return [f"{pad}out.append({expression(choose, scope, 1)})"]
    if kind == "break":
        return [f"{pad}if {condition(choose, scope, 1)}:", f"{pad}    break"]
    if kind == "continue":
        return [f"{pad}if {condition(choose, scope, 1)}:", f"{pad}    continue"]
    if kind == "return":
        return [f"{pad}if {condition(choose, scope, 1)}:", f"{pad}    return {expression(choose, scope, 1)}, out"]
    if kind == "if":
        lines = [f"{pad}if {condition(choose, scope)}:"] + statements(choose, scope.inner(), indent + 1)
        for _ in range(choose.int(0, 2)):
            lines += [f"{pad}elif {condition(choose, scope)}:"] + statements(choose, scope.inner(), indent + 1)
        if choose.coin():
            lines += [f"{pad}else:"] + statements(choose, scope.inner(), indent + 1)
        return lines
    if kind == "for":
        var = f"i{scope.depth}"
        bound = choose.pick(("0", "1", "2", "3", "4", "n", "n"))
        lines = [f"{pad}for {var} in range({bound}):"] + statements(choose, scope.inner(var), indent + 1)
        if choose.int(0, 4) == 0:
            lines += [f"{pad}else:"] + statements(choose, scope.inner(), indent + 1, 1)
        return lines
    # A counted while loop: the counter moves first, so `continue` cannot make it spin.
    w = f"w{scope.depth}"
    bound = choose.int(0, 4)
    return ([f"{pad}{w} = 0", f"{pad}while {w} < {bound}:", f"{pad}    {w} += 1"]
            + statements(choose, scope.inner(w), indent + 1))


@st.composite
def programs(draw):
    """A hypothesis strategy of (source of `def f(a, b, n)`, (a, b, n))."""
    return program(Choices(draw=draw))


def random_program(seed):
    """The same generator driven by `random.Random(seed)` (fast; no shrinking)."""
    return program(Choices(rng=random.Random(seed)))


def program(choose: Choices):
    # Most programs start with their locals bound, so that most runs get past the first read.
    prelude = [f"    {v} = {choose.pick(INT_CONSTS + FLOAT_CONSTS)!r}" for v in LOCALS if choose.int(0, 5)]
    body = prelude + statements(choose, Scope(), 1, choose.int(1, 5))
    result = choose.pick(["a", "b", "(a, b)", "(a, x)", "(y, z, a)"])
    source = HELPER + "\n".join(["def f(a, b, n):", "    out = []"] + body + [f"    return {result}, out", ""])
    args = (choose.pick(tuple(range(-4, 7)) + FLOAT_CONSTS), choose.int(-3, 5), choose.int(0, 4))
    return source, args


def compile_program(source: str):
    """The function `f` defined by `source` (compiled under a file name that says where it came from)."""
    namespace = {}
    exec(compile(source, FILENAME, "exec"), namespace)
    return namespace["f"]


def outcome(call):
    try:
        return "value", call()
    except Exception as e:  # the program's own exceptions are behaviour to compare
        return "raised", (type(e), str(e))


def check_roundtrip(source: str, args: tuple):
    """Assert the traced and interpreted program behaves as CPython does, the lambdas and (on 3.11) comprehension
    bodies it makes running through their own traced IR too; returns the outcome."""
    from irgrad.frontend import bind_args, trace
    from irgrad.interpret import run

    traces = {}  # code object -> IR: a lambda made in a loop is traced once

    def call(fn, fargs, fkwargs):
        code = getattr(fn, "__code__", None)
        if code is None or code.co_filename != FILENAME:
            return fn(*fargs, **fkwargs)
        if code not in traces:
            traces[code] = trace(fn)
        return run(traces[code], *bind_args(fn, fargs, fkwargs), call=call)

    f = compile_program(source)
    expected = outcome(lambda: f(*args))
    got = outcome(lambda: call(f, args, {}))
    same = expected == got or (expected[0] == got[0] == "value" and repr(expected[1]) == repr(got[1]))
    assert same, f"\n{source}\nargs={args}\nCPython: {expected}\nirgrad:  {got}"
    return expected


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", type=int, default=0, help="print this many programs")
    parser.add_argument("--check", type=int, default=0, help="check the round trip on this many programs")
    opts = parser.parse_args(argv)
    from hypothesis import given, settings

    for _ in range(opts.show):
        source, args = programs().example()
        print(source, "args =", args, "\n")
    if opts.check:
        @settings(max_examples=opts.check, deadline=None, database=None)
        @given(programs())
        def run_checks(program):
            check_roundtrip(*program)
        run_checks()
        print(f"{opts.check} programs: round trip holds")


if __name__ == "__main__":
    main()
