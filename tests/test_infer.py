"""Type inference: a table of small functions with the type each must return, fixed points around loops, inference
through callees, and soundness on the whole corpus (every value the interpreter computes fits its inferred type)."""
import copy

import numpy as np
import pytest
from hypothesis import given

from irgrad import ops
from irgrad.frontend import bind_args
from irgrad.infer import infer, return_type
from irgrad.ir import IR, Br, CondBr, Const, Raise, Return
from irgrad.pipeline import code_ir, typed_ir
from irgrad.types import (ANY, Array, Constant, Dict, Instance, Iterator, List, Method, Scalar, Tuple, float_,
                          int_, ndarray, typeof)

from corpus import CASES

M = ndarray("float64", 2)
V = ndarray("float64", 1)


def rt(f, *args, **kwargs) -> str:
    """The inferred return type of f for these example arguments, as printed."""
    return str(return_type(code_ir(f, *args, **kwargs)))


def helper_square(x):
    return x * x


class Affine:
    def __init__(self):
        self.w = np.ones((3, 2))
        self.b = 0.5

    def __call__(self, x):
        return self.w @ x + self.b

    def forward(self, x):
        return self(x).sum(axis=0)

    @property
    def scale(self):
        return self.b * 2


TABLE = [
    # Python scalars
    (lambda x, y: x + y, (1.0, 2), "float"),
    (lambda x, y: x / y, (1, 2), "float"),
    (lambda x, y: x // y, (7, 2), "int"),
    (lambda x, y: x + y, (True, True), "int"),
    (lambda x: -x if x > 0 else x * 2, (3,), "int"),
    (lambda x: x if x > 0 else 2.5, (3,), "float"),
    (lambda x: abs(x) + len([x, x]), (-2.0,), "float"),
    (lambda x: (x, 1)[0], (1.5,), "float"),
    (lambda s: s + "!", ("a",), "str"),
    (lambda x: x > 1, (2.0,), "bool"),
    # arrays: dtype promotion and broadcasting
    (lambda x: x + 1, (M,), "ndarray[float64, 2]"),
    (lambda x, v: x * v, (M, V), "ndarray[float64, 2]"),
    (lambda x: x * 2.0, (ndarray("float32", 2),), "ndarray[float32, 2]"),
    (lambda x: x / 2, (ndarray("int64", 1),), "ndarray[float64, 1]"),
    (lambda x: x > 0, (M,), "ndarray[bool, 2]"),
    (lambda x: np.exp(x) + np.sin(x), (V,), "ndarray[float64, 1]"),
    (lambda x, y: np.maximum(0, x) - y, (M, 1.0), "ndarray[float64, 2]"),
    (lambda x: np.where(x > 0, x, 0.0), (M,), "ndarray[float64, 2]"),
    # matmul and products
    (lambda a, b: a @ b, (M, M), "ndarray[float64, 2]"),
    (lambda a, v: a @ v, (M, V), "ndarray[float64, 1]"),
    (lambda v: v @ v, (V,), "float64"),
    (lambda a, v: np.dot(a, v), (M, V), "ndarray[float64, 1]"),
    (lambda u, v: np.outer(u, v), (V, V), "ndarray[float64, 2]"),
    # reductions with axis and keepdims
    (lambda x: x.sum(), (M,), "float64"),
    (lambda x: np.sum(x, axis=0), (M,), "ndarray[float64, 1]"),
    (lambda x: np.sum(x, axis=1, keepdims=True), (M,), "ndarray[float64, 2]"),
    (lambda x: x.mean(axis=(0, 1)), (ndarray("float64", 3),), "ndarray[float64, 1]"),
    (lambda x: x.max(axis=-1), (M,), "ndarray[float64, 1]"),
    (lambda x: np.argmax(x, axis=0), (M,), "ndarray[int64, 1]"),
    (lambda x: (x > 0).sum(), (M,), "int64"),
    (lambda x: np.linalg.norm(x), (M,), "float64"),
    # indexing and shapes
    (lambda x: x[0], (M,), "ndarray[float64, 1]"),
    (lambda x: x[0, 1], (M,), "float64"),
    (lambda x: x[:, 1:], (M,), "ndarray[float64, 2]"),
    (lambda x: x[None], (M,), "ndarray[float64, 3]"),
    (lambda x: x[x > 0], (M,), "ndarray[float64, 1]"),
    (lambda x, i: x[i], (M, 1), "ndarray[float64, 1]"),
    (lambda x: x.T, (M,), "ndarray[float64, 2]"),
    (lambda x: x.shape, (M,), "tuple[int, int]"),
    (lambda x: x.shape[0] * 2, (M,), "int"),
    (lambda x: x.reshape(-1), (M,), "ndarray[float64, 1]"),
    (lambda x: x.reshape(2, 1, 3), (M,), "ndarray[float64, 3]"),
    (lambda x: np.reshape(x, (6,)), (M,), "ndarray[float64, 1]"),
    (lambda x: np.squeeze(x, axis=0), (M,), "ndarray[float64, 1]"),
    (lambda x: np.concatenate([x, x], axis=0), (M,), "ndarray[float64, 2]"),
    (lambda x: np.stack([x, x]), (V,), "ndarray[float64, 2]"),
    (lambda x: np.expand_dims(x, 0), (V,), "ndarray[float64, 2]"),
    # creation
    (lambda n: np.zeros((n, 3)), (4,), "ndarray[float64, 2]"),
    (lambda n: np.ones(n, dtype=np.float32), (4,), "ndarray[float32, 1]"),
    (lambda n: np.arange(n), (4,), "ndarray[int64, 1]"),
    (lambda n: np.eye(n), (4,), "ndarray[float64, 2]"),
    (lambda x: np.zeros_like(x), (V,), "ndarray[float64, 1]"),
    (lambda: np.random.randn(3, 4), (), "ndarray[float64, 2]"),
    # tuples, lists, dicts
    (lambda x, y: (x, y), (1.0, V), "tuple[float, ndarray[float64, 1]]"),
    (lambda t: t[1], ((1, 2.0),), "float"),
    (lambda t: t[1:], ((1, 2.0, "a"),), "tuple[float, str]"),
    (lambda t: t[0] + t[1], ((1, 2.0),), "float"),
    (lambda x: [x, x], (1.0,), "list[float]"),
    (lambda xs: xs[0], ([1.0, 2.0],), "float"),
    (lambda xs: xs[1:], ([1.0, 2.0],), "list[float]"),
    (lambda d: d["a"], ({"a": 1.0},), "float"),
    (lambda x: {"a": x}, (V,), "dict[str, ndarray[float64, 1]]"),
    # objects: attributes, methods, properties, callable objects
    (lambda m: m.w, (Affine(),), "ndarray[float64, 2]"),
    (lambda m, x: m(x), (Affine(), M), "ndarray[float64, 2]"),
    (lambda m, x: m.forward(x), (Affine(), M), "ndarray[float64, 1]"),
    (lambda m: m.scale, (Affine(),), "float"),
    # calls of Python functions
    (lambda x: helper_square(x) + 1, (V,), "ndarray[float64, 1]"),
    (lambda x: helper_square(helper_square(x)), (2,), "int"),
    # min/max return one of their arguments, which one depends on the values
    (lambda a, b: min(a, b), (3, 2.5), "float"),
    (lambda a, b: max(a, b), (True, 2), "int"),
    # unknown stays unknown
    (lambda f, x: f(x), (ANY, 1.0), "Any"),
    (lambda x: x.anything, (ANY,), "Any"),
]


@pytest.mark.parametrize("f, args, expected", TABLE, ids=[f"{i}:{e}" for i, (_, _, e) in enumerate(TABLE)])
def test_return_types(f, args, expected):
    assert rt(f, *args) == expected


def test_argument_types_on_the_entry_block():
    ir = code_ir(lambda x, *rest, k=2, **kw: x, 1.0, 2, "s", k=3.0, z=None)
    assert [str(t) for t in ir.entry.argtypes] == ["float", "tuple[int, str]", "float", "dict[str, None]"]


def test_loop_reaches_a_fixed_point():
    def f(x, n):
        s = 0
        acc = x[0]
        i = 0
        while i < n:
            s = s + 0.5  # int then float: float
            acc = acc + x  # ndarray 1 then 2: widened to ndarray[float64, ?]
            i += 1
        return s, acc, i

    ir = code_ir(f, np.ones((2, 3)), 3)
    assert str(return_type(ir)) == "tuple[float, ndarray[float64, ?], int]"
    header = ir.blocks[1]
    assert sorted(map(str, header.argtypes)) == ["float", "int", "ndarray[float64, ?]"]


def test_for_loop_items_and_enumerate():
    def f(xs, m):
        total = 0.0
        for i, x in enumerate(xs):
            total = total + x * i
        for row in m:
            total = total + row.sum()
        return total

    ir = code_ir(f, [1.0, 2.0], np.ones((2, 2)))
    types = {str(s.type) for _, s in ir.stmts()}
    assert "iterator[tuple[int, float]]" in types and "iterator[ndarray[float64, 1]]" in types
    assert str(return_type(ir)) == "float"


def test_widening_terminates_on_growing_types():
    def f(n):
        t = ()
        for i in range(n):
            t = (t, i)
        return t

    ir = code_ir(f, 3)
    assert isinstance(return_type(ir), (Tuple, type(ANY)))


def test_recursion_terminates():
    def fact(n):
        return 1 if n <= 1 else n * fact(n - 1)

    fact.__globals__["fact"] = fact
    assert rt(fact, 5) in ("int", "Any")


def test_inference_never_draws_from_the_users_generator():
    rng = np.random.default_rng(0)
    state = copy.deepcopy(rng.bit_generator.state)
    global_state = np.random.get_state()[1].copy()
    assert rt(lambda: rng.normal(size=(2, 3)) + np.random.rand(2)) == "ndarray[float64, 2]"
    assert rng.bit_generator.state == state
    assert (np.random.get_state()[1] == global_state).all()


def test_types_stand_in_for_values_and_methods_bind_self():
    a = Affine()
    ir = code_ir(a.forward, ndarray("float64", 2))
    assert isinstance(ir.entry.argtypes[0], Instance) and ir.entry.argtypes[0].cls is Affine
    assert str(return_type(ir)) == "ndarray[float64, 1]"
    assert str(return_type(code_ir(a, M))) == "ndarray[float64, 2]"


def test_infer_on_hand_built_ir_and_bad_arity():
    ir = IR()
    b1, b2, b3 = (ir.new_block() for _ in range(3))
    x = b1.add_arg()
    b1.term = CondBr(b1.push(np.greater, x, 0), b2, (x,), b3, ())
    y = b2.add_arg()
    b2.term = Return(b2.push(np.sin, y))
    b3.term = Raise(Const(ValueError("negative")))
    infer(ir, [V])
    assert str(b2.argtypes[0]) == "ndarray[float64, 1]" and str(b2.stmts[0].type) == "ndarray[float64, 1]"
    assert str(b1.stmts[0].type) == "ndarray[bool, 1]"
    from irgrad import IrgradError
    with pytest.raises(IrgradError, match="2 argument types given for 1 arguments"):
        infer(ir, [V, V])


def test_unreached_blocks_keep_any():
    ir = IR()
    b1, b2 = ir.new_block(), ir.new_block()
    x = b1.add_arg()
    b1.term = Return(x)
    b2.add_arg()
    b2.term = Br(b2, (b2.args[0],))
    infer(ir, [float_])
    assert b2.argtypes == [ANY]


def test_types_module_lattice():
    from irgrad.types import join
    assert join(Scalar(float), Scalar(np.float64)) == float_
    assert join(Iterator(int_), Iterator(float_)) == Iterator(float_)
    assert join(Dict(int_, int_), Dict(int_, float_)) == Dict(int_, float_)
    assert join(Method(len, int_), Method(len, float_)) == Method(len, float_)
    assert join(Array("float64", 1), Array("float32", 1)) == ANY
    assert join(Array("float64", 1), Scalar(np.float64)) == Array("float64", None)
    assert str(Iterator(List(int_))) == "iterator[list[int]]"


# ---------------------------------------------------------------------------------------------------------------
# soundness on the corpus

def conforms(v, t) -> bool:
    if t == ANY:
        return True
    if isinstance(t, Constant):
        return v is t.value or (type(v) is type(t.value) and not isinstance(v, np.ndarray) and v == t.value)
    if isinstance(t, Scalar):  # the numeric tower: float holds any real number, complex any number
        tower = {float: (int, float, np.floating, np.integer), complex: (int, float, complex, np.number)}
        return isinstance(v, tower.get(t.pytype, t.pytype))
    if isinstance(t, Array):
        if t.ndim is None and isinstance(v, np.generic):  # ndarray[d, ?] holds the 0-d results too
            return v.dtype.name == t.dtype
        return isinstance(v, np.ndarray) and v.dtype.name == t.dtype and (t.ndim is None or v.ndim == t.ndim)
    if isinstance(t, Tuple):
        return type(v) is tuple and len(v) == len(t.elts) and all(conforms(x, e) for x, e in zip(v, t.elts))
    if isinstance(t, List):
        return type(v) is list  # items may have been appended since: checked where read
    if isinstance(t, Dict):
        return type(v) is dict
    if isinstance(t, Instance):
        return type(v) is t.cls and all(conforms(getattr(v, k), a) for k, a in t.attrs if hasattr(v, k))
    if isinstance(t, Iterator):
        return hasattr(v, "__next__")
    if isinstance(t, Method):
        return callable(v)
    return False


class Misfit(Exception):
    """A value that does not fit its inferred type."""


def check(ok, msg):
    if not ok:
        raise Misfit(msg)


def run_checking_types(ir, *args):
    """The reference semantics (interpret.run) with a check of every value against its inferred type."""
    env = {}

    def value(x):
        return x.value if isinstance(x, Const) else env[x]

    block, passed = ir.entry, args
    while True:
        for v, t, x in zip(block.args, block.argtypes, passed):
            check(conforms(x, t), f"block argument {x!r} does not fit {t}\n{ir}")
            env[v] = x
        for s in block.stmts:
            y = value(s.fn)(*[value(a) for a in s.args], **{k: value(v) for k, v in s.kwargs})
            env[s.var] = y
            if not (y is ops.STOP and value(s.fn) is ops.next_or_stop):  # STOP only reaches the exit test
                check(conforms(y, s.type), f"{y!r} does not fit {s.type} in\n{ir}")
        t = block.term
        if isinstance(t, Br):
            block, passed = t.target, [value(a) for a in t.args]
        elif isinstance(t, CondBr):
            block, passed = (t.then_, [value(a) for a in t.then_args]) if value(t.cond) else \
                (t.else_, [value(a) for a in t.else_args])
        elif isinstance(t, Return):
            return value(t.value)
        else:
            raise value(t.value)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_inferred_types_hold_at_run_time(case):
    args, kwargs = copy.deepcopy((case.args, case.kwargs))
    ir = code_ir(case.fn, *args, **kwargs)
    try:
        run_checking_types(ir, *bind_args(case.fn, args, kwargs))
    except Misfit:
        raise
    except Exception:  # the corpus's own exceptions
        pass


def test_inference_is_informative_on_the_corpus():
    known = total = 0
    for case in CASES:
        ir = code_ir(case.fn, *copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        for _, s in ir.stmts():
            total += 1
            known += s.type != ANY
    assert known > 0.8 * total


def test_typed_ir_raw_keeps_the_frontend_output():
    ir = typed_ir(helper_square, [V], raw=True)
    assert ir.entry.argtypes == [V] and all(s.type == ANY for _, s in ir.stmts())
    assert typeof(np.ones(2)) == V


# ---------------------------------------------------------------------------------------------------------------
# soundness on random programs (the frontend's fuzzer: branches, loops, break/continue, early returns, lambdas)

def _load_fuzzer():
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parent.parent / "tools" / "fuzz_programs.py"
    spec = importlib.util.spec_from_file_location("fuzz_programs_for_infer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fuzz = _load_fuzzer()


@given(fuzz.programs())
def test_random_programs_keep_behaviour_and_types(program):
    """Through every pass and type inference, each value fits its type and the result is CPython's."""
    source, args = program
    f = fuzz.compile_program(source)
    expected = fuzz.outcome(lambda: f(*args))
    ir = code_ir(f, *args)
    got = fuzz.outcome(lambda: run_checking_types(ir, *bind_args(f, args)))
    assert got[0] != "raised" or got[1][0] is not Misfit, got[1][1]
    assert expected == got or repr(expected) == repr(got), f"\n{source}\nargs={args}\n{expected}\n{got}\n{ir}"
