"""Each construct irgrad refuses raises UnsupportedError naming the construct, the function and file:line."""
import inspect

import pytest

import irgrad
from irgrad.frontend import trace

G = 0


def _line_of(fn, marker):
    """The absolute line number of the first source line of `fn` containing `marker`."""
    lines, start = inspect.getsourcelines(fn)
    for i, text in enumerate(lines):
        if marker in text:
            return start + i
    raise AssertionError(marker)


def check(fn, construct, marker):
    with pytest.raises(irgrad.UnsupportedError) as info:
        trace(fn)
    msg = str(info.value)
    assert isinstance(info.value, irgrad.IrgradError)
    assert construct in msg, msg
    assert fn.__name__ in msg, msg
    assert f"{__file__}:{_line_of(fn, marker)}" in msg, msg


def test_try_except():
    def uses_try(x):
        y = x + 1
        try:  # construct
            y = 1 / x
        except ZeroDivisionError:
            y = 0
        return y
    check(uses_try, "try/except/finally", "construct")


def test_try_finally():
    def uses_finally(x):
        try:  # construct
            return x + 1
        finally:
            x = 0
    check(uses_finally, "try/except/finally", "construct")


def test_with():
    def uses_with(lock):
        with lock:  # construct
            return 1
    check(uses_with, "with statement", "construct")


def test_yield():
    def uses_yield(n):
        for i in range(n):
            yield i  # construct
    check(uses_yield, "yield", "construct")


def test_await():
    async def uses_await(x):
        return await x  # construct
    check(uses_await, "async def / await", "construct")


def test_generator_expression():
    def uses_genexpr(xs):
        return sum(x * x for x in xs)  # construct
    check(uses_genexpr, "generator expression", "construct")


def test_import_inside_function():
    def uses_import(x):
        import math  # construct
        return math.sin(x)
    check(uses_import, "import inside the function", "construct")


def test_global_store():
    def uses_global(x):
        global G
        G = x  # construct
        return G
    check(uses_global, "global statement", "construct")


def test_nonlocal_store():
    def outer():
        y = 0

        def uses_nonlocal(x):
            nonlocal y
            y = x  # construct
            return y
        return uses_nonlocal
    check(outer(), "nonlocal statement", "construct")


def test_del_local():
    def uses_del(x):
        y = x
        del y  # construct
        return x
    check(uses_del, "del statement", "construct")


def test_del_subscript():
    def uses_del_item(d):
        del d["k"]  # construct
        return d
    check(uses_del_item, "del statement", "construct")


def test_not_a_python_function():
    with pytest.raises(irgrad.UnsupportedError, match="len"):
        trace(len)


def test_match_statement():
    def uses_match(x):
        match x:
            case [a, b]:  # construct (the pattern is where CPython tests the shape)
                return a + b
        return 0
    check(uses_match, "match statement", "construct")


def test_class_definition_inside():
    def defines_class(x):
        class Local:  # construct
            pass
        return Local
    check(defines_class, "class definition", "construct")


def test_unknown_opcode_is_an_error_not_a_skip(monkeypatch):
    from irgrad import opcodes

    def unknown_opcode(x, y):
        z = x * 2
        return z + y  # construct
    monkeypatch.delitem(opcodes.HANDLERS, "BINARY_OP")
    with pytest.raises(irgrad.UnsupportedError) as info:
        trace(unknown_opcode)
    msg = str(info.value)
    assert "opcode BINARY_OP" in msg and "unknown_opcode" in msg
    assert f"{__file__}:{_line_of(unknown_opcode, 'z = x * 2')}" in msg, msg


def test_tracing_a_nested_generator_function_names_it():
    def outer(n):
        def countdown(k):
            while k > 0:
                yield k  # construct
                k -= 1
        return countdown
    trace(outer)  # defining it is fine: the generator runs natively, as any callee without IR
    check(outer(3), "yield", "construct")


def test_zero_argument_super_outside_a_method():
    def not_a_method(x):
        return super().f(x)  # construct
    check(not_a_method, "super() without arguments outside a method", "construct")
